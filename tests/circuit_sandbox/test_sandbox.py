"""The sandbox drives the real state machine and handlers: trips, vetoes, recoveries and races.

The instances are circuit_sandbox/instances, applied once into the shared emulator by the real Terraform,
each made fresh before every test. Their alarm periods are whole minutes, as AWS requires, which
the emulator runs sixty times faster. Nothing here asserts how long anything took.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from circuit_breaker.model import Attr
from circuit_sandbox import stack as stacks
from circuit_sandbox.aws import Emulator
from circuit_sandbox.scenario import wait_for
from circuit_sandbox.stack import Stack

NO_ALARMS = {"downstream_alarm": {"enabled": False}, "healthcheck": False, "circuit_events": False}
# One failed call in a period raises the alarm; a period lasts one second in the emulator.
ERRORS_ALARM = {
    "metric_name": "Errors",
    "period": 60,
    "evaluation_periods": 1,
    "datapoints_to_alarm": 1,
    "threshold": 1,
}
# The default error-rate alarm, evaluated on every period however few its calls.
RATE_ALARM = {"evaluation_periods": 1, "datapoints_to_alarm": 1, "min_invocations": 1}
INSTANCES = {
    "in-band": NO_ALARMS | {"failure_threshold": 3},
    "error-rate": NO_ALARMS
    | {"failure_threshold": 1000, "ignored_errors": ["ValidationError"], "downstream_alarm": RATE_ALARM},
    "downstream-alarm": NO_ALARMS | {"failure_threshold": 1000, "downstream_alarm": ERRORS_ALARM},
    # The healthcheck runs every (scaled) minute; its alarm's period holds two runs, so that a run late
    # under load does not read as "no errors".
    "healthcheck": NO_ALARMS
    | {
        "failure_threshold": 2,
        "open_duration_seconds": 1,
        "healthcheck": {"alarm": {"period": 120, "treat_missing_data": "ignore"}},
    },
    "probe": NO_ALARMS
    | {"failure_threshold": 1, "open_duration_seconds": 1, "max_open_duration_seconds": 8, "slow_seconds": 5},
}


@pytest.fixture(scope="module")
def applied_instances(local_emulator: Emulator) -> dict[str, Stack]:
    return stacks.instances_warmed(local_emulator, INSTANCES)


@pytest.fixture
def instances(
    applied_instances: dict[str, Stack], local_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Stack]]:
    """Every instance, fresh; this test's boto3 clients talk to the emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_emulator.endpoint)
    for stack in applied_instances.values():
        stack.clear()
    yield applied_instances


def invocations(emulator, stack, key: str, since: int = 0):
    name = stack.function_names[key]
    return [i for i in emulator.runner.invocations[since:] if i.function == name]


def state(stack) -> str | None:
    return stack.item().get("state")


def test_in_band_trip_after_exactly_failure_threshold_failures(instances, local_emulator):
    stack = instances["in-band"]
    since = len(local_emulator.runner.invocations)
    stack.set_health(False)
    results = [stack.call() for _ in range(5)]
    assert [r["error"] for r in results] == ["DependencyUnavailable"] * 3 + ["CircuitOpen"] * 2
    downstream = invocations(local_emulator, stack, "downstream", since)
    assert [i.error_type for i in downstream] == ["DependencyUnavailable"] * 3
    assert stack.item()["reason"] == "3 consecutive failures (last: DependencyUnavailable)"


def test_handler_errors_reach_callers_as_lambda_reports_them(instances):
    stack = instances["in-band"]
    response = boto3.client("lambda").invoke(
        FunctionName=stack.function_names["downstream"], Payload=json.dumps({"invalid": True}).encode()
    )
    assert response["FunctionError"] == "Unhandled"
    body = json.loads(response["Payload"].read())
    assert (body["errorType"], body["errorMessage"]) == ("ValidationError", "request rejected: invalid is set")
    execution = stack.call({"invalid": True})
    assert (execution["status"], execution["error"]) == ("FAILED", "ValidationError")
    assert "request rejected" in execution["cause"]


def test_the_downstream_alarm_trips_the_circuit(instances, local_emulator):
    stack = instances["downstream-alarm"]
    since = len(local_emulator.runner.invocations)
    stack.set_health(False)
    assert wait_for(lambda: stack.call()["error"] == "CircuitOpen", timeout=20, step=0)
    item = stack.item()
    assert item["reason"] == f"downstream alarm {stack.alarm_names['downstream']} in ALARM"
    assert item["failure_count"] < 1000  # not the in-band count
    # The alarm itself may be back to OK by now: an open circuit sends the error-rate alarm no calls.
    assert item[Attr.alarm_changed_at("downstream")] > 0  # its ALARM notification reached the handler
    assert invocations(local_emulator, stack, "alarm_handler", since)  # delivered through SNS to the real handler


def test_the_error_rate_alarm_counts_the_breakers_failures_not_a_clients_invalid_requests(instances, local_emulator):
    stack = instances["error-rate"]
    alarm = stack.alarm_names["downstream"]
    period = 60 / local_emulator.time_scale
    started = time.time()
    while time.time() < started + 3 * period:  # every call an invalid request: 100 % of Lambda's Errors
        assert stack.call({"invalid": True})["error"] == "ValidationError"
    evaluations = local_emulator.evaluator.evaluations
    assert wait_for(lambda: local_emulator.evaluator.evaluations >= evaluations + 2, timeout=10 * period)
    assert "ALARM" not in [c.new_state for c in local_emulator.evaluator.changes if c.alarm == alarm]
    assert stack.alarm("downstream")["StateValue"] == "OK"
    assert stack.item().get("state") in (None, "CLOSED")
    # The breaker's own failures, read from the record_outcome logs' EMF, do raise it.
    stack.set_health(False)
    assert wait_for(lambda: stack.call()["error"] == "CircuitOpen", timeout=20, step=0)
    assert stack.item()["reason"] == f"downstream alarm {alarm} in ALARM"


def test_healthcheck_alarm_vetoes_probes_and_its_return_to_ok_closes(instances, local_emulator):
    stack = instances["healthcheck"]
    stack.set_health(False)
    stack.call(), stack.call()
    assert state(stack) == "OPEN"  # in band, or by the healthcheck alarm if a slow machine let it fire first
    assert wait_for(lambda: stack.item().get(Attr.alarm_state("healthcheck")) == "ALARM", timeout=10)
    time.sleep(1.2)  # past the open duration
    called = len(invocations(local_emulator, stack, "downstream"))
    vetoed = stack.call()
    assert vetoed["error"] == "CircuitOpen"
    assert "vetoes probes" in vetoed["cause"]
    assert len(invocations(local_emulator, stack, "downstream")) == called  # no probe reached the downstream

    stack.set_health(True)
    assert wait_for(lambda: state(stack) == "CLOSED", timeout=10)
    assert stack.item()["reason"] == f"healthcheck alarm {stack.alarm_names['healthcheck']} back to OK"
    assert stack.call()["status"] == "SUCCEEDED"


def test_a_failed_probe_reopens_with_backoff_and_a_successful_one_closes(instances):
    stack = instances["probe"]
    stack.set_health(False)
    stack.call()
    time.sleep(1.1)
    failed_probe = stack.call()
    assert (failed_probe["states"][-2:], failed_probe["error"]) == (
        ["RecordFailure", "DownstreamFailed"],
        "DependencyUnavailable",
    )
    reopened = stack.item()
    assert (reopened["state"], reopened["open_count"]) == ("OPEN", 1)
    assert reopened["reason"] == "probe failed (DependencyUnavailable)"
    assert 1 <= reopened["open_until"] - reopened["opened_at"] <= 2 + 1  # doubled with jitter, whole seconds

    stack.set_health(True)
    time.sleep(max(0.0, float(reopened["open_until"]) - time.time()) + 0.1)
    probe = stack.call()
    assert (probe["status"], probe["states"][-1]) == ("SUCCEEDED", "RecordSuccess")
    assert (state(stack), stack.item()["reason"]) == ("CLOSED", "1 probe(s) succeeded")


def test_a_hundred_concurrent_executions_admit_exactly_one_probe(instances, local_emulator):
    # No state cache: an environment still holding the CLOSED it read before the trip would call
    # the downstream without electing itself (the cache's documented lag), which is not a probe.
    stack = instances["probe"]  # its downstream takes 5 s while slow
    stack.set_health(False)
    stack.call()
    stack.set_health("slow")  # the probe stays in flight while the others race
    time.sleep(1.1)
    since = len(local_emulator.runner.invocations)
    with ThreadPoolExecutor(max_workers=25) as pool:
        arns = list(pool.map(lambda _: stack.start(), range(100)))
    results = [stack.wait(arn, timeout=120) for arn in arns]
    decisions = [i.response() for i in invocations(local_emulator, stack, "check_circuit", since)]
    assert len(decisions) == 100
    probes = [d for d in decisions if d.get("probe")]
    assert len(probes) == 1
    # Everyone else failed fast (told to retry in a second, while the probe was in flight), or was called only after
    # the probe had closed the circuit.
    others = [d for d in decisions if not d.get("probe")]
    assert all(
        (d["action"] == "short_circuit" and d["retry_after_seconds"] == 1)
        or (d["state"] == "CLOSED" and d["generation"] > probes[0]["generation"])
        for d in others
    )
    assert {r.get("error") for r in results} <= {None, "CircuitOpen"}
    assert state(stack) == "CLOSED"
    assert local_emulator.runner.environment_count(stack.function_names["check_circuit"]) > 1


def test_duplicate_and_out_of_order_notifications_change_nothing(instances):
    # Times after the evaluator's own notifications, so only these are the newest.
    stack = instances["healthcheck"]
    stack.publish_alarm("healthcheck", "ALARM", "2031-01-01T00:00:10.000+0000")
    tripped = stack.item()
    assert (tripped["state"], tripped["healthcheck_alarm"]) == ("OPEN", "ALARM")
    stack.publish_alarm("healthcheck", "ALARM", "2031-01-01T00:00:10.000+0000")  # SNS delivers it again
    stack.publish_alarm("healthcheck", "OK", "2031-01-01T00:00:05.000+0000", old_state="ALARM")  # an older one, late
    assert stack.item() == tripped


def test_the_runner_runs_the_handler_environment_and_code_the_emulator_holds(instances, local_emulator):
    name = instances["in-band"].function_names["fallback"]
    lam = boto3.client("lambda")
    deployed = lam.get_function_configuration(FunctionName=name)["Handler"]
    # A redeployment the runner learns of only from the emulator: another handler from the same zip.
    lam.update_function_configuration(FunctionName=name, Handler=deployed.replace("fallback.", "downstream."))
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"order": 1}).encode())
    assert json.loads(response["Payload"].read()) == {"ok": True, "request": {"order": 1}}
    spec = local_emulator.runner.functions[name]
    assert spec.handler == "downstream.lambda_handler"
    lam.update_function_configuration(FunctionName=name, Handler=deployed)
    circuit = {"circuit": "c", "state": "OPEN", "reason": "r", "retry_after_seconds": 7}
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"circuit": circuit}).encode())
    assert json.loads(response["Payload"].read()) == {
        "ok": False,
        "degraded": True,
        "circuit": "c",
        "reason": "r",
        "retry_after_seconds": 7,
    }
    spec = local_emulator.runner.functions[name]
    assert spec.handler == "fallback.lambda_handler"
    sha256 = lam.get_function_configuration(FunctionName=name)["CodeSha256"]
    assert spec.code_dir == local_emulator.runner.code.unpack(sha256, b"")  # unpacked once, by its SHA-256
    assert (spec.code_dir / "fallback.py").is_file()
