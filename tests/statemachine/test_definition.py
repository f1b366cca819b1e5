"""The definition Terraform deployed: statelint passes it, and moto's interpreter runs every path of it.

The executions use the handlers Terraform deployed. The examples' definitions (a qualified
downstream among them) are linted where they are applied, in tests/terraform/test_apply.py.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from statelint.config import Config
from statelint.linter import Linter
from statelint.problem import ProblemType

from circuit_sandbox.aws.cloudwatch import LambdaMetrics
from circuit_sandbox.aws.runner import Invocation
from tests.statemachine.conftest import FALLBACK_PAYLOAD

# statelint wants BackoffRate written as a float (2.0); the service accepts 2, and Terraform's
# jsonencode writes 2.0 as 2, so that one check is stricter than AWS and is left out.
LINT = Config(ignored_problem_types={ProblemType.FLOAT})

# The healthy path: the state machine reads the circuit itself, calls the downstream, and reads the circuit again
# (a success completing while failures are pending resets them); nothing pending, nothing is written.
AFTER_SUCCESS = ["ReadAfterCall", "Settle", "ReturnDownstreamResult"]
HEALTHY = ["ReadCircuit", "Route", "CallDownstream", *AFTER_SUCCESS]
RESETTING = [
    "ReadCircuit",
    "Route",
    "CallDownstream",
    "ReadAfterCall",
    "Settle",
    "ResetFailures",
    "ReturnDownstreamResult",
]
# A timed OPEN circuit asks the state check, which may elect a probe.
SHORT_CIRCUITED = ["ReadCircuit", "Route", "CheckCircuit", "Decide", "ShortCircuit"]
FORCED_OPEN = ["ReadCircuit", "Route", "ForcedOpen", "ShortCircuit"]
# Every failure on a closed circuit is counted, failures pending or not, in the order the calls complete.
FAILING = ["ReadCircuit", "Route", "CallDownstream", "RecordFailure", "DownstreamFailed"]
PROBE_SUCCESS = ["ReadCircuit", "Route", "CheckCircuit", "Decide", "CallDownstreamAndRecord", "RecordSuccess"]
PROBE_FAILURE = [
    "ReadCircuit",
    "Route",
    "CheckCircuit",
    "Decide",
    "CallDownstreamAndRecord",
    "RecordFailure",
    "DownstreamFailed",
]


def lint(definition: str) -> list[str]:
    return list(Linter.validate(definition, LINT))


def deployed(instances) -> dict[str, str]:
    return {
        name: stack.sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"]
        for name, stack in instances.items()
    }


def test_every_deployed_definition_passes_statelint(instances):
    definitions = deployed(instances)
    assert {name: lint(definition) for name, definition in definitions.items()} == {name: [] for name in definitions}
    # The instances cover what changes the definition: the fallback modes, and the input choosing the circuit.
    settings = [stack.settings() for stack in instances.values()]
    assert {s.fallback_mode for s in settings} == {"fail", "payload", "function"}
    assert {bool(s.allowed_circuits) for s in settings} == {False, True}
    starts = {json.loads(definition)["StartAt"] for definition in definitions.values()}
    assert starts == {"ReadCircuit", "CheckCircuit"}
    # Results are classified only where failure_result is set.
    classifying = {
        name for name, definition in definitions.items() if "RecordBadResult" in json.loads(definition)["States"]
    }
    assert classifying == {name for name, stack in instances.items() if name == "bad-results"}


def test_statelint_catches_a_broken_definition(instances):
    definition = deployed(instances)["healthy"]
    broken = definition.replace('"Next":"Decide"', '"Next":"Nowhere"').replace('"Next": "Decide"', '"Next": "Nowhere"')
    assert broken != definition
    assert any("Nowhere" in problem for problem in lint(broken))


def end_open_duration(stack) -> None:
    """Move open_until into the past instead of sleeping through it."""
    stack.ddb.update_item(
        TableName=stack.table_name,
        Key=stack.table_key.of(stack.circuit),
        UpdateExpression="SET open_until = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )


def trip(stack) -> None:
    stack.set_health(False)
    for _ in range(stack.settings().failure_threshold):
        assert stack.call()["status"] == "FAILED"
    assert stack.item()["state"] == "OPEN"


def test_healthy_call_reads_twice_writes_nothing_and_returns_the_downstream_result(instances):
    stack = instances["healthy"]
    result = stack.call({"order": 42})
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"ok": True, "request": {"order": 42}}
    assert result["states"] == HEALTHY
    assert stack.item() == {}  # zero writes on the healthy path


@pytest.mark.parametrize(
    "item, states",
    [
        # Written by Powertools' @circuit_breaker on the same table: no generation, closed, nothing pending.
        ({"state": {"S": "CLOSED"}, "failure_count": {"N": "0"}, "opened_at": {"N": "0"}}, HEALTHY),
        # Pending failures: straight to the downstream, and the success resets them.
        (
            {
                "state": {"S": "CLOSED"},
                "failure_count": {"N": "2"},
                "failures_total": {"N": "2"},
                "generation": {"N": "4"},
            },
            RESETTING,
        ),
        # Powertools opened it a long time ago: the state check elects a probe.
        ({"state": {"S": "OPEN"}, "failure_count": {"N": "5"}, "opened_at": {"N": "1"}}, PROBE_SUCCESS),
        # An item without a state (never written by this module, but possible): the state check reads it as CLOSED.
        (
            {"failure_count": {"N": "0"}},
            ["ReadCircuit", "Route", "CheckCircuit", "Decide", "CallDownstream", *AFTER_SUCCESS],
        ),
        # A forced-closed override goes straight to the downstream; one with an expiry asks the state check.
        ({"state": {"S": "CLOSED"}, "override": {"S": "FORCED_CLOSED"}, "generation": {"N": "1"}}, HEALTHY),
        (
            {
                "state": {"S": "CLOSED"},
                "override": {"S": "FORCED_CLOSED"},
                "override_expires_at": {"N": "9999999999"},
                "generation": {"N": "1"},
            },
            ["ReadCircuit", "Route", "CheckCircuit", "Decide", "CallDownstream", *AFTER_SUCCESS],
        ),
    ],
    ids=["powertools-closed", "failures-pending", "powertools-open", "no-state", "forced-closed", "timed-override"],
)
def test_every_route_of_the_circuit_read(instances, item, states):
    stack = instances["healthy"]
    stack.ddb.put_item(TableName=stack.table_name, Item={"id": {"S": stack.circuit}, **item})
    result = stack.call({"order": 7})
    assert (result["status"], result["states"]) == ("SUCCEEDED", states)
    assert json.loads(result["output"]) == {"ok": True, "request": {"order": 7}}


def test_failures_trip_the_circuit_after_exactly_failure_threshold_calls(instances):
    stack = instances["failing"]
    assert stack.settings().failure_threshold == 3
    since = len(stack.runner.invocations)
    stack.set_health(False)
    results = [stack.call() for _ in range(4)]
    assert [r["states"] for r in results[:3]] == [FAILING] * 3
    assert [r["error"] for r in results[:3]] == ["DependencyUnavailable"] * 3
    assert "dependency is failing" in results[0]["cause"]  # the downstream's own cause, unchanged
    assert results[3]["states"] == SHORT_CIRCUITED
    assert results[3]["error"] == "CircuitOpen"
    cause = json.loads(results[3]["cause"])
    assert cause.pop("retry_after_seconds") > 0
    assert cause == {
        "circuit": "failing",
        "action": "short_circuit",
        "state": "OPEN",
        "reason": "3 consecutive failures (last: DependencyUnavailable)",
    }
    downstream_calls = [i for i in stack.runner.invocations[since:] if i.function == stack.function_names["downstream"]]
    assert len(downstream_calls) == 3


def rounds_up_the_time_to(retry_after: int, moment: float, result: dict) -> bool:
    """retry_after_seconds is `moment` less the time of the state check, rounded up. That time lies within the
    execution, so the bound holds however long a busy machine takes between the check and the end."""
    return moment - result["stopDate"].timestamp() <= retry_after < moment - result["startDate"].timestamp() + 1


def test_a_short_circuit_says_when_to_retry_within_a_second_of_open_until(instances):
    """Retry-After: the CircuitOpen cause is JSON, and its retry_after_seconds is open_until rounded up."""
    from circuit_breaker.caller import CircuitOpenError
    from circuit_breaker.caller import result as outcome

    stack = instances["failing"]
    trip(stack)
    open_until = float(stack.item()["open_until"])
    for _ in range(3):
        result = stack.call()
        assert (result["error"], result["states"]) == ("CircuitOpen", SHORT_CIRCUITED)
        retry_after = json.loads(result["cause"])["retry_after_seconds"]
        assert isinstance(retry_after, int) and rounds_up_the_time_to(retry_after, open_until, result)
        with pytest.raises(CircuitOpenError) as raised:
            outcome(result)
        assert (raised.value.state, raised.value.retry_after_seconds) == ("OPEN", retry_after)
        time.sleep(1)


def circuitctl(stack, *args: str) -> None:
    from circuitctl.cli import run

    run(["--table", stack.table_name, *args])


def test_a_forced_open_circuit_with_an_expiry_says_when_it_ends(instances):
    stack = instances["healthy"]
    circuitctl(stack, "force-open", stack.circuit, "--reason", "upgrade", "--create", "--expires-in", "10m")
    expires_at = float(stack.item()["override_expires_at"])
    result = stack.call()
    assert (result["error"], result["states"]) == ("CircuitOpen", SHORT_CIRCUITED)  # the state check watches the expiry
    cause = json.loads(result["cause"])
    assert cause["state"] == "FORCED_OPEN" and rounds_up_the_time_to(cause["retry_after_seconds"], expires_at, result)


def test_ignored_errors_fail_the_call_but_do_not_count(instances):
    stack = instances["fallback-payload"]  # failure_threshold 1, ValidationError ignored
    assert stack.settings().ignored_errors == {"ValidationError"}
    result = stack.call({"invalid": True})
    assert (result["status"], result["error"]) == ("FAILED", "ValidationError")
    assert stack.item().get("state") in (None, "CLOSED")


def test_with_counted_errors_only_the_listed_errors_count(instances):
    stack = instances["counted"]  # failure_threshold 1, only DependencyUnavailable counts
    assert stack.settings().counted_errors == {"DependencyUnavailable"}
    result = stack.call({"invalid": True})
    assert (result["status"], result["error"]) == ("FAILED", "ValidationError")
    assert stack.item().get("state") in (None, "CLOSED")
    trip(stack)  # one DependencyUnavailable opens it


OPEN_DURATION_ENDS = "the open duration ends"
# Healthy, an outage past the threshold, the open duration over, a failing probe, the open duration over, recovery.
OUTAGE = [True, True, *[False] * 5, OPEN_DURATION_ENDS, False, OPEN_DURATION_ENDS, True, True, True]


def seeded_traffic(seed: int) -> list[bool | str]:
    """Calls whose outcomes a seed draws: 10 % errors, a 25-call outage, then 50 % errors, then 10 % again, with
    the open duration ending every 8 calls."""
    rng = random.Random(seed)
    steps: list[bool | str] = []
    for n, failing in enumerate([0.1] * 20 + [1.0] * 25 + [0.5] * 20 + [0.1] * 15):
        if n % 8 == 7:
            steps.append(OPEN_DURATION_ENDS)
        steps.append(rng.random() >= failing)
    return steps


def play(stack, steps: list[bool | str]) -> list[dict]:
    """Play the same calls on any instance: each step is a call to a healthy (True) or failing (False) downstream,
    or the open duration ending. Each call's status, error, states, and the circuit after it."""
    played = []
    for n, step in enumerate(steps):
        if step == OPEN_DURATION_ENDS:
            end_open_duration(stack)
            continue
        stack.set_health(step)
        result = stack.call({"n": n})
        item = stack.item()
        played.append(
            {
                "status": result["status"],
                "error": result.get("error"),
                "states": result["states"],
                "circuit": (item.get("state", "CLOSED"), item.get("generation", 0), item.get("failure_count", 0)),
            }
        )
    return played


def downstream_calls(stack, since: int) -> int:
    name = stack.function_names["downstream"]
    return sum(1 for i in stack.runner.invocations[since:] if i.function == name)


def test_observe_mode_trips_and_recovers_as_enforce_mode_and_every_call_reaches_the_downstream(instances):
    enforcing, observing = instances["failing"], instances["observing"]
    assert [s.settings().mode for s in (enforcing, observing)] == ["enforce", "observe"]
    since = {id(stack): len(stack.runner.invocations) for stack in (enforcing, observing)}
    enforced, observed = play(enforcing, OUTAGE), play(observing, OUTAGE)
    # The same transitions, call by call: state, generation and count after each.
    assert [c["circuit"] for c in observed] == [c["circuit"] for c in enforced]
    assert [c["circuit"][0] for c in enforced] == ["CLOSED"] * 4 + ["OPEN"] * 4 + ["CLOSED"] * 3
    # Enforced: 2 calls short-circuited while OPEN. Observed: none; those calls reached the failing downstream.
    assert [c["error"] for c in enforced].count("CircuitOpen") == 2
    assert "CircuitOpen" not in [c["error"] for c in observed]
    would_have_been = [c for c, e in zip(observed, enforced, strict=True) if e["error"] == "CircuitOpen"]
    assert {(c["error"], c["states"][-2]) for c in would_have_been} == {("DependencyUnavailable", "ShortCircuit")}
    assert downstream_calls(observing, since[id(observing)]) == 11
    assert downstream_calls(enforcing, since[id(enforcing)]) == 11 - 2


def test_observe_and_enforce_mode_make_the_same_transitions_over_seeded_traffic(instances):
    """80 calls whose outcomes a seed draws, through both modes: the same transitions, call by call, and no call
    short-circuited in observe mode."""
    enforcing, observing = instances["failing"], instances["observing"]
    steps = seeded_traffic(seed=22)
    enforced, observed = play(enforcing, steps), play(observing, steps)
    transitions = [c["circuit"] for c in enforced]
    assert [c["circuit"] for c in observed] == transitions
    assert {"OPEN", "HALF_OPEN"} & {state for state, _, _ in transitions}  # the traffic did trip the circuit
    assert transitions[-1][0] == "CLOSED"
    short_circuited = [c for c in enforced if c["error"] == "CircuitOpen"]
    assert len(short_circuited) > 10
    assert [c for c in observed if c["error"] == "CircuitOpen"] == []


def move_the_ramp_back(stack, seconds: float) -> float:
    """Start the running ramp `seconds` ago instead of waiting; returns when it now ends."""
    item = stack.item()
    length = float(item["ramp_until"]) - float(item["ramp_started_at"])
    started_at = time.time() - seconds
    stack.ddb.update_item(
        TableName=stack.table_name,
        Key=stack.table_key.of(stack.circuit),
        UpdateExpression="SET ramp_started_at = :started_at, ramp_until = :until",
        ExpressionAttributeValues={
            ":started_at": {"N": f"{started_at:.3f}"},
            ":until": {"N": f"{started_at + length:.3f}"},
        },
    )
    return started_at + length


RAMP_CALLS = 300  # per step


def test_a_recovery_admits_each_ramp_step_its_share_and_then_every_call_on_the_healthy_path(instances):
    """Over 300 calls in each step the admitted share is within 5 points of the step's; the rest are told to come
    back when the next step starts. After the ramp, the healthy path is back: no function, no write.

    Each environment draws evenly (EvenDraws): over 300 calls spread at random across 10 environments, 60,000
    simulated steps strayed from the share by 3 points at most."""
    from circuit_breaker.breaker import RAMP_SHARES

    stack = instances["ramping"]
    trip(stack)
    end_open_duration(stack)
    stack.set_health(True)
    probe = stack.call()
    assert probe["status"] == "SUCCEEDED" and stack.item()["state"] == "CLOSED"
    step_seconds = stack.settings().ramp_up_seconds / len(RAMP_SHARES)
    for step, share in enumerate(RAMP_SHARES):
        # 100 s into the step: its calls end long before the next one starts.
        next_step_at = move_the_ramp_back(stack, step * step_seconds + 100) - (2 - step) * step_seconds
        since = len(stack.runner.invocations)
        results = stack.run(RAMP_CALLS)
        admitted = [r for r in results if r["status"] == "SUCCEEDED"]
        assert abs(len(admitted) / RAMP_CALLS - share) <= 0.05, (share, len(admitted))
        assert downstream_calls(stack, since) == len(admitted)
        held_back = [r for r in results if r not in admitted]
        assert {r["error"] for r in held_back} == {"CircuitOpen"}
        causes = [json.loads(r["cause"]) for r in held_back]
        reason = f"ramping up after recovery: {share:.0%} of calls admitted"
        assert {(c["state"], c["reason"]) for c in causes} == {("CLOSED", reason)}
        assert all(
            rounds_up_the_time_to(c["retry_after_seconds"], next_step_at, r)
            for c, r in zip(causes, held_back, strict=True)
        )
    move_the_ramp_back(stack, 3 * step_seconds)
    generation = stack.item()["generation"]
    assert stack.call()["states"] == [
        "ReadCircuit",
        "Route",
        "CheckCircuit",
        "Decide",
        "CallDownstream",
        *AFTER_SUCCESS,
    ]
    assert stack.call()["states"] == HEALTHY  # the first call after the ramp removed it
    item = stack.item()
    assert (item["state"], item["generation"], "ramp_until" in item) == ("CLOSED", generation, False)


def test_a_circuit_in_a_single_table_counts_resets_trips_and_recovers_through_its_composite_key(instances):
    """Powertools' single-table layout: every read and write of the state machine and the functions goes to the
    item at the shared partition value and the circuit's name, and leaves the app's other items alone."""
    stack = instances["single-table"]
    assert (stack.table_key.partition_key, stack.table_key.sort_key) == ("pk", "sk")
    order = {"pk": {"S": "order#1"}, "sk": {"S": stack.circuit}, "state": {"S": "OPEN"}}  # no circuit, same name
    stack.ddb.put_item(TableName=stack.table_name, Item=order)
    assert stack.call()["states"] == HEALTHY
    stack.set_health(False)
    assert stack.call()["status"] == "FAILED"
    assert stack.item()["failure_count"] == 1
    stack.set_health(True)
    assert stack.call()["states"] == RESETTING
    assert stack.item()["failure_count"] == 0
    trip(stack)
    result = stack.call()
    assert (result["error"], result["states"]) == ("CircuitOpen", SHORT_CIRCUITED)
    end_open_duration(stack)
    stack.set_health(True)
    assert stack.call()["status"] == "SUCCEEDED"
    assert stack.item()["state"] == "CLOSED"
    key = {"pk": order["pk"], "sk": order["sk"]}
    assert stack.ddb.get_item(TableName=stack.table_name, Key=key)["Item"] == order


def test_probe_success_closes_the_circuit(instances):
    stack = instances["failing"]
    trip(stack)
    stack.set_health(True)
    assert stack.call()["states"] == SHORT_CIRCUITED
    end_open_duration(stack)
    result = stack.call({"probe": 1})
    assert result["states"] == PROBE_SUCCESS
    assert json.loads(result["output"]) == {"ok": True, "request": {"probe": 1}}
    assert stack.item()["state"] == "CLOSED"
    assert stack.call()["states"] == HEALTHY


def test_probe_failure_reopens_with_a_longer_open_duration(instances):
    stack = instances["failing"]
    base = stack.settings().open_duration_seconds
    trip(stack)
    first = stack.item()
    assert float(first["open_until"]) - float(first["opened_at"]) == pytest.approx(base, abs=1)
    end_open_duration(stack)
    result = stack.call()
    assert result["states"] == PROBE_FAILURE and result["error"] == "DependencyUnavailable"
    reopened = stack.item()
    assert reopened["state"] == "OPEN" and reopened["open_count"] == 1
    # Doubled with full jitter: between the base and twice it, from the reopen (not from now, which is later).
    assert base <= float(reopened["open_until"]) - float(reopened["opened_at"]) <= 2 * base + 1


def test_forced_open_short_circuits_and_forced_closed_calls(instances):
    stack = instances["healthy"]
    circuitctl(stack, "force-open", stack.circuit, "--reason", "maintenance", "--create", "--by", "ana")
    result = stack.call()
    assert (result["error"], result["states"]) == ("CircuitOpen", FORCED_OPEN)
    principal = boto3.client("sts").get_caller_identity()["Arn"]  # who acted, as AWS knows it
    assert json.loads(result["cause"]) == {
        "circuit": stack.circuit,
        "action": "short_circuit",
        "state": "FORCED_OPEN",
        "reason": f"forced open by {principal} (for ana): maintenance",
        "retry_after_seconds": None,  # until an operator releases it
    }
    invocations = len(stack.runner.invocations)
    stack.call()
    assert len(stack.runner.invocations) == invocations  # no function runs for a forced-open call
    circuitctl(stack, "force-closed", stack.circuit, "--reason", "known noise", "--by", "ana")
    stack.set_health(False)
    for _ in range(stack.settings().failure_threshold + 1):
        assert stack.call()["states"] == FAILING  # forced closed: failures are not even counted
    assert stack.item()["state"] == "CLOSED"


def counted(output: str, metric: str) -> list[tuple[str, float]]:
    """(circuit, value) of every EMF count of `metric` the functions printed (they run in this process)."""
    return [
        (blob["circuit"], blob[metric])
        for line in output.splitlines()
        if line.startswith("{") and "_aws" in (blob := json.loads(line)) and metric in blob
    ]


@pytest.mark.parametrize(
    "policy, status, states",
    [
        (
            "fail_open",
            "SUCCEEDED",
            ["ReadCircuit", "CheckCircuit", "Decide", "CallDownstream", "ReadAfterCall", "ReturnDownstreamResult"],
        ),
        ("fail_closed", "FAILED", ["ReadCircuit", "CheckCircuit", "Decide", "ShortCircuit"]),
    ],
)
def test_an_unreadable_circuit_is_counted_and_follows_on_store_error(instances, capsys, policy, status, states):
    """A missing table: the state check reads again, counts StoreErrors for the circuit, and applies the policy."""
    stack = instances[f"store-{policy.replace('_', '-')}"]  # its table does not exist
    capsys.readouterr()
    result = stack.call()
    assert (result["status"], result["states"]) == (status, states)
    if status == "FAILED":
        assert result["error"] == "CircuitOpen"
        assert json.loads(result["cause"]) == {
            "circuit": stack.circuit,
            "action": "short_circuit",
            "state": "UNKNOWN",
            "reason": "circuit store unavailable (fail_closed)",
            "retry_after_seconds": None,
        }
    assert counted(capsys.readouterr().out, "StoreErrors") == [(stack.circuit, [1.0])]


def test_the_circuit_read_retries_throttles_with_jitter(instances):
    definition = json.loads(deployed(instances)["healthy"])
    for name in ("ReadCircuit", "ReadAfterCall", "ResetFailures"):
        [retry] = definition["States"][name]["Retry"]
        assert "DynamoDB.ProvisionedThroughputExceededException" in retry["ErrorEquals"]
        assert retry["JitterStrategy"] == "FULL" and retry["MaxAttempts"] >= 1
    # A read that still fails goes to the state check, which counts it; never straight to the policy.
    assert definition["States"]["ReadCircuit"]["Catch"][0]["Next"] == "CheckCircuit"


@pytest.mark.parametrize(
    "policy, status, tail",
    [
        ("fail_open", "SUCCEEDED", ["Decide", "CallDownstream", *AFTER_SUCCESS]),
        ("fail_closed", "FAILED", ["Decide", "ShortCircuit"]),
    ],
)
def test_a_failing_state_check_is_counted_and_follows_on_store_error(instances, tmp_path, policy, status, tail):
    """Throttled, broken or timed out: whatever makes the check function itself fail, the state machine counts a
    store error of the circuit (PutMetricData in the functions' namespace) and the policy decides."""
    from circuit_sandbox.aws.runner import FunctionSpec

    stack = instances["healthy" if policy == "fail_open" else "fail-closed"]
    assert stack.settings().on_store_error == policy
    (tmp_path / "broken.py").write_text("def lambda_handler(event, context):\n    raise RuntimeError('throttled')\n")
    stack.runner.register(FunctionSpec(stack.function_names["check_circuit"], "broken.lambda_handler", tmp_path))
    # An item without a state: the state check must answer.
    stack.ddb.put_item(TableName=stack.table_name, Item={"id": {"S": stack.circuit}, "failure_count": {"N": "0"}})
    cloudwatch = boto3.client(
        "cloudwatch", endpoint_url=stack.ddb.meta.endpoint_url, region_name=stack.ddb.meta.region_name
    )
    # The service is the instance's name, which is also its circuit's here.
    dimensions = [{"Name": "circuit", "Value": stack.circuit}, {"Name": "service", "Value": stack.circuit}]
    before = store_errors(cloudwatch, dimensions)
    result = stack.call({"order": 1})
    assert (result["status"], result["states"]) == (
        status,
        ["ReadCircuit", "Route", "CheckCircuit", "CountStoreError", "StoreUnavailable", *tail],
    )
    if status == "FAILED":
        assert result["error"] == "CircuitOpen"
        assert json.loads(result["cause"]) == {
            "circuit": stack.circuit,
            "action": "short_circuit",
            "state": "UNKNOWN",
            "reason": "circuit state unavailable (fail_closed)",
            "retry_after_seconds": None,
        }
    else:
        assert json.loads(result["output"]) == {"ok": True, "request": {"order": 1}}
    assert store_errors(cloudwatch, dimensions) == before + 1


def store_errors(cloudwatch, dimensions: list[dict]) -> float:
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="CircuitBreaker",
        MetricName="StoreErrors",
        Dimensions=dimensions,
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(point["Sum"] for point in points)


def test_a_success_leaves_counted_only_the_failures_counted_after_its_read(instances):
    """ResetFailures as deployed, against the emulator's DynamoDB: a failure counted between a success's read and its
    reset stays counted; a reset that read less than an earlier reset took off, or read an older generation, changes
    nothing; and a later success's reset applies even though an earlier one came first."""
    stack = instances["healthy"]
    reset = json.loads(deployed(instances)["healthy"])["States"]["ResetFailures"]["Parameters"]

    def item(count: int, total: int, cleared: int | None = None, generation: int = 4) -> dict:
        stored = {"failure_count": count, "failures_total": total, "generation": generation}
        if cleared is not None:
            stored["failures_cleared"] = cleared
        return {name: {"N": str(value)} for name, value in stored.items()}

    def apply(stored: dict, seen: dict) -> dict:
        stack.ddb.put_item(
            TableName=stack.table_name, Item={"id": {"S": stack.circuit}, "state": {"S": "CLOSED"}, **stored}
        )
        values = {
            **{k: v for k, v in reset["ExpressionAttributeValues"].items() if not k.endswith(".$")},
            ":seen": seen["failures_total"],
            ":generation": seen["generation"],
        }
        parameters = {k: v for k, v in reset.items() if k not in ("Key", "ExpressionAttributeValues")}
        with contextlib.suppress(stack.ddb.exceptions.ConditionalCheckFailedException):
            stack.ddb.update_item(**parameters, Key={"id": {"S": stack.circuit}}, ExpressionAttributeValues=values)
        return {k: stack.item().get(k) for k in ("failure_count", "failures_total", "failures_cleared")}

    counted = {"failure_count": 0, "failures_total": 2, "failures_cleared": 2}
    assert apply(item(2, 2), seen=item(2, 2)) == counted
    # One more failure after the read: it stays.
    assert apply(item(3, 3), seen=item(2, 2)) == {**counted, "failure_count": 1, "failures_total": 3}
    # Two successes read 2 pending and 3 (a failure came between their reads); the first reset applied. The second
    # success completed after that failure, so its reset takes it off: the count is 0, not 1.
    assert apply(item(1, 3, cleared=2), seen=item(3, 3)) == {
        "failure_count": 0,
        "failures_total": 3,
        "failures_cleared": 3,
    }
    # A reset that read less than a reset already took off changes nothing.
    assert apply(item(1, 3, cleared=2), seen=item(1, 1)) == {
        "failure_count": 1,
        "failures_total": 3,
        "failures_cleared": 2,
    }
    # The circuit moved on (tripped and closed) since the read: nothing.
    assert apply(item(2, 4, generation=6), seen=item(2, 2)) == {
        "failure_count": 2,
        "failures_total": 4,
        "failures_cleared": None,
    }


def test_a_failure_that_completes_after_others_still_counts(instances, tmp_path):
    """Counting in completion order: a slow call admitted while nothing was pending fails after faster failures
    started a count; its failure adds to that count and trips the circuit (it used to be dropped as "admitted
    before the count started", so slow failures took twice their duration to trip)."""
    from circuit_sandbox.aws.runner import FunctionSpec

    stack = instances["failing"]  # failure_threshold 3
    started, go = tmp_path / "started", tmp_path / "go"
    (tmp_path / "slow_failure.py").write_text(
        "import os, pathlib, time\n"
        "STARTED, GO = os.environ['STARTED'], os.environ['GO']\n"
        "def lambda_handler(event, context):\n"
        "    pathlib.Path(STARTED).touch()\n"
        "    deadline = time.monotonic() + 60\n"
        "    while not os.path.exists(GO) and time.monotonic() < deadline:\n"
        "        time.sleep(0.01)\n"
        "    raise RuntimeError('timed out talking to the dependency')\n"
    )
    stack.runner.register(
        FunctionSpec(
            stack.function_names["downstream"],
            "slow_failure.lambda_handler",
            tmp_path,
            {"STARTED": str(started), "GO": str(go)},
        )
    )
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(stack.call)  # admitted on an empty circuit: nothing pending
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started.exists()
        # Meanwhile two faster failures completed and were counted.
        stack.ddb.put_item(
            TableName=stack.table_name,
            Item={
                "id": {"S": stack.circuit},
                "state": {"S": "CLOSED"},
                "failure_count": {"N": "2"},
                "failures_total": {"N": "2"},
            },
        )
        go.touch()
        result = slow.result(timeout=90)
    assert (result["error"], result["states"]) == ("RuntimeError", FAILING)
    item = stack.item()
    assert item["state"] == "OPEN" and item["reason"] == "3 consecutive failures (last: RuntimeError)"


def test_a_result_marked_as_a_failure_is_counted_and_returned(instances):
    stack = instances["bad-results"]  # failure_result: $.request.status at least 500; failure_threshold 2
    bad = {"status": 503}
    first = stack.call(bad)
    assert first["status"] == "SUCCEEDED" and json.loads(first["output"]) == {"ok": True, "request": bad}
    assert first["states"] == [
        "ReadCircuit",
        "Route",
        "CallDownstream",
        "ReadAfterCall",
        "Settle",
        "RecordBadResult",
        "ReturnDownstreamResult",
    ]
    assert stack.item()["failure_count"] == 1
    # A result below the mark, or without the field, is a success: it resets the pending failure.
    assert stack.call({"status": 200})["states"] == RESETTING
    assert stack.call({"other": "x"})["states"] == HEALTHY
    assert stack.item()["failure_count"] == 0
    stack.call(bad)
    stack.call(bad)
    item = stack.item()
    assert item["state"] == "OPEN" and item["reason"] == "2 consecutive failures (last: FailureResult)"
    # A probe whose result is marked failed reopens the circuit, and its caller still gets the result.
    end_open_duration(stack)
    probe = stack.call(bad)
    assert probe["states"] == [
        "ReadCircuit",
        "Route",
        "CheckCircuit",
        "Decide",
        "CallDownstreamAndRecord",
        "ClassifyProbe",
        "RecordProbeBadResult",
        "ReturnDownstreamResult",
    ]
    assert json.loads(probe["output"]) == {"ok": True, "request": bad}
    assert stack.item()["state"] == "OPEN" and stack.item()["open_count"] == 1
    end_open_duration(stack)
    assert stack.call({"status": 200})["states"][-2:] == ["ClassifyProbe", "RecordSuccess"]
    assert stack.item()["state"] == "CLOSED"


def open_seconds(item: dict) -> float:
    return float(item["open_until"]) - float(item["opened_at"])  # opened_at is in whole seconds


def test_a_result_asking_to_wait_keeps_the_circuit_open_that_long_and_says_so(instances):
    stack = instances["bad-results"]  # failure_threshold 2; the hint at $.request.retry_after_seconds
    assert stack.settings().open_duration_seconds < 120 < stack.settings().max_open_duration_seconds
    for _ in range(2):
        result = stack.call({"status": 503, "retry_after_seconds": "120"})  # a string, as a Retry-After header
        assert result["states"][-2:] == ["RecordBadResult", "ReturnDownstreamResult"]
    item = stack.item()
    assert item["state"] == "OPEN" and item["reason"].endswith("the downstream asked to retry after 120 s")
    assert 120 <= open_seconds(item) < 121
    short = stack.call({"status": 200})
    assert rounds_up_the_time_to(json.loads(short["cause"])["retry_after_seconds"], float(item["open_until"]), short)
    # A probe asking to wait reopens for that long (never less than the backed-off duration).
    end_open_duration(stack)
    stack.call({"status": 503, "retry_after_seconds": 200})
    reopened = stack.item()
    assert (reopened["state"], reopened["open_count"]) == ("OPEN", 1) and 200 <= open_seconds(reopened) < 201


def test_an_error_asking_to_wait_longer_than_the_maximum_keeps_it_open_for_the_maximum(instances, tmp_path):
    from circuit_sandbox.aws.runner import FunctionSpec

    stack = instances["bad-results"]
    (tmp_path / "throttled.py").write_text(
        "import json\n"
        "class Throttled(Exception):\n    pass\n"
        "def lambda_handler(event, context):\n"
        "    raise Throttled(json.dumps({'request': {'retry_after_seconds': 3600}}))\n"
    )
    stack.runner.register(FunctionSpec(stack.function_names["downstream"], "throttled.lambda_handler", tmp_path))
    for _ in range(2):
        assert stack.call()["error"] == "Throttled"
    item = stack.item()
    assert item["state"] == "OPEN" and "asked to retry after 3600 s" in item["reason"]
    assert (
        stack.settings().max_open_duration_seconds
        <= open_seconds(item)
        < stack.settings().max_open_duration_seconds + 1
    )


def test_ignored_errors_never_reach_the_failure_metric(instances, capsys):
    stack = instances["fallback-payload"]  # failure_threshold 1, ValidationError ignored
    capsys.readouterr()
    stack.call({"invalid": True})
    output = capsys.readouterr().out
    assert counted(output, "Failures") == [] and counted(output, "IgnoredErrors") == [(stack.circuit, [1.0])]
    stack.set_health(False)
    stack.call()
    assert counted(capsys.readouterr().out, "Failures") == [(stack.circuit, [1.0])]


def test_a_client_sending_invalid_requests_does_not_move_the_error_rate_alarm(instances, capsys):
    stack = instances["fallback-payload"]  # failure_threshold 1, ValidationError ignored, the default alarm
    alarm = stack.alarm("downstream")
    downstream = stack.function_names["downstream"]
    since = time.time()
    capsys.readouterr()
    for _ in range(24):
        assert stack.call({"invalid": True})["status"] == "FAILED"
    stack.set_health(False)
    stack.call()  # one failure the breaker counts: 1 in 25 downstream calls
    metrics = LambdaMetrics()
    for invocation in stack.runner.invocations:
        if invocation.function == downstream and invocation.started_at >= since:
            metrics.record(invocation)
    # What CloudWatch Logs would extract from the functions' EMF output (they run in this process).
    metrics.record(Invocation("module functions", b"{}", started_at=since, logs=capsys.readouterr().out))
    # The two series of the alarm Terraform created: 25 downstream invocations, of which 1 failure.
    until = time.time() + 1
    assert len(metrics.values(metric_of(alarm, "invocations"), since, until)) == 25
    assert metrics.values(metric_of(alarm, "failures"), since, until) == [1.0]


def metric_of(alarm: dict, query_id: str) -> dict:
    return next(query["MetricStat"]["Metric"] for query in alarm["Metrics"] if query["Id"] == query_id)


def test_fallback_payload_is_returned_as_success_when_open(instances):
    stack = instances["fallback-payload"]
    trip(stack)
    open_until = float(stack.item()["open_until"])
    result = stack.call()
    assert (result["status"], result["states"]) == ("SUCCEEDED", SHORT_CIRCUITED)
    output = json.loads(result["output"])
    retry_after = output.pop("retry_after_seconds")
    assert output == FALLBACK_PAYLOAD
    assert rounds_up_the_time_to(retry_after, open_until, result)


def test_fallback_function_answers_when_open(instances):
    stack = instances["fallback-fn"]
    trip(stack)
    result = stack.call()
    assert result["status"] == "SUCCEEDED" and result["states"] == SHORT_CIRCUITED
    output = json.loads(result["output"])
    assert output["degraded"] is True and output["circuit"] == "fallback-fn"
    assert output["retry_after_seconds"] > 0  # the fallback function is told when to try again


def test_the_input_may_choose_only_an_allowed_circuit(instances):
    stack = instances["multi"]
    stack.set_health(False)
    for _ in range(stack.settings().failure_threshold):
        stack.call({"circuit": "multi-eu"})
    assert stack.call({"circuit": "multi-eu"})["error"] == "CircuitOpen"
    # With allowed_circuits every call starts at the state check, which validates the circuit.
    assert stack.call({"circuit": "multi"})["states"] == [
        "CheckCircuit",
        "Decide",
        "CallDownstream",
        "RecordFailure",
        "DownstreamFailed",
    ]  # its own circuit has no failures yet
    denied = stack.call({"circuit": "someone-else"})
    assert denied["error"] == "InvalidCircuitRequest" and denied["states"] == ["CheckCircuit", "RejectRequest"]


def test_input_cannot_choose_a_circuit_unless_allowed(instances):
    stack = instances["healthy"]
    result = stack.call({"circuit": "other"})  # without allowed_circuits the input is not even passed
    assert result["status"] == "SUCCEEDED" and result["states"] == HEALTHY
