"""The definition Terraform deployed: statelint passes it, and moto's interpreter runs every path of it.

The executions use the handlers Terraform deployed. The examples' definitions (a qualified
downstream among them) are linted where they are applied, in tests/terraform/test_apply.py.
"""

from __future__ import annotations

import json

import pytest
from statelint.config import Config
from statelint.linter import Linter
from statelint.problem import ProblemType

from tests.statemachine.conftest import FALLBACK_PAYLOAD

# statelint wants BackoffRate written as a float (2.0); the service accepts 2, and Terraform's
# jsonencode writes 2.0 as 2, so that one check is stricter than AWS and is left out.
LINT = Config(ignored_problem_types={ProblemType.FLOAT})

# The healthy path: the state machine reads the circuit itself and calls the downstream.
HEALTHY = ["ReadCircuit", "Route", "CallDownstream"]
# A timed OPEN circuit asks the state check, which may elect a probe.
SHORT_CIRCUITED = ["ReadCircuit", "Route", "CheckCircuit", "Decide", "ShortCircuit"]
FORCED_OPEN = ["ReadCircuit", "Route", "ForcedOpen", "ShortCircuit"]
# A first failure starts the count with what the call read; once failures are pending, calls go
# through the state check and record their success too (to reset the count).
FAILING = ["ReadCircuit", "Route", "CallDownstream", "RecordFailure", "DownstreamFailed"]
FAILING_COUNTED = [
    "ReadCircuit",
    "Route",
    "CheckCircuit",
    "Decide",
    "CallDownstreamAndRecord",
    "RecordFailure",
    "DownstreamFailed",
]
PROBE_SUCCESS = ["ReadCircuit", "Route", "CheckCircuit", "Decide", "CallDownstreamAndRecord", "RecordSuccess"]
PROBE_FAILURE = FAILING_COUNTED


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


def test_statelint_catches_a_broken_definition(instances):
    definition = deployed(instances)["healthy"]
    broken = definition.replace('"Next":"Decide"', '"Next":"Nowhere"').replace('"Next": "Decide"', '"Next": "Nowhere"')
    assert broken != definition
    assert any("Nowhere" in problem for problem in lint(broken))


def end_open_duration(stack) -> None:
    """Move open_until into the past instead of sleeping through it."""
    stack.ddb.update_item(
        TableName=stack.table_name,
        Key={"id": {"S": stack.circuit}},
        UpdateExpression="SET open_until = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )


def trip(stack) -> None:
    stack.set_health(False)
    for _ in range(stack.settings().failure_threshold):
        assert stack.call()["status"] == "FAILED"
    assert stack.item()["state"] == "OPEN"


def test_healthy_call_enters_three_states_and_returns_the_downstream_result(instances):
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
        # Pending failures: the state check must answer, so that a success resets them.
        (
            {"state": {"S": "CLOSED"}, "failure_count": {"N": "2"}, "generation": {"N": "4"}},
            ["ReadCircuit", "Route", "CheckCircuit", "Decide", "CallDownstreamAndRecord", "RecordSuccess"],
        ),
        # Powertools opened it a long time ago: the state check elects a probe.
        ({"state": {"S": "OPEN"}, "failure_count": {"N": "5"}, "opened_at": {"N": "1"}}, PROBE_SUCCESS),
        # An item without a state (never written by this module, but possible): the state check reads it as CLOSED.
        ({"failure_count": {"N": "0"}}, ["ReadCircuit", "Route", "CheckCircuit", "Decide", "CallDownstream"]),
        # A forced-closed override goes straight to the downstream; one with an expiry asks the state check.
        ({"state": {"S": "CLOSED"}, "override": {"S": "FORCED_CLOSED"}, "generation": {"N": "1"}}, HEALTHY),
        (
            {
                "state": {"S": "CLOSED"},
                "override": {"S": "FORCED_CLOSED"},
                "override_expires_at": {"N": "9999999999"},
                "generation": {"N": "1"},
            },
            ["ReadCircuit", "Route", "CheckCircuit", "Decide", "CallDownstream"],
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
    assert [r["states"] for r in results[:3]] == [FAILING, FAILING_COUNTED, FAILING_COUNTED]
    assert [r["error"] for r in results[:3]] == ["DependencyUnavailable"] * 3
    assert "dependency is failing" in results[0]["cause"]  # the downstream's own cause, unchanged
    assert results[3]["states"] == SHORT_CIRCUITED
    assert results[3]["error"] == "CircuitOpen"
    assert results[3]["cause"] == "circuit failing is OPEN: 3 consecutive failures (last: DependencyUnavailable)"
    downstream_calls = [i for i in stack.runner.invocations[since:] if i.function == stack.function_names["downstream"]]
    assert len(downstream_calls) == 3


def test_ignored_errors_fail_the_call_but_do_not_count(instances):
    stack = instances["fallback-payload"]  # failure_threshold 1, ValidationError ignored
    assert stack.settings().ignored_errors == {"ValidationError"}
    result = stack.call({"invalid": True})
    assert (result["status"], result["error"]) == ("FAILED", "ValidationError")
    assert stack.item().get("state") in (None, "CLOSED")


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
    from circuitctl.cli import run

    stack = instances["healthy"]
    run(
        [
            "--table",
            stack.table_name,
            "force-open",
            stack.circuit,
            "--reason",
            "maintenance",
            "--create",
            "--by",
            "ana",
        ]
    )
    result = stack.call()
    assert (result["error"], result["states"]) == ("CircuitOpen", FORCED_OPEN)
    assert result["cause"] == f"circuit {stack.circuit} is FORCED_OPEN: forced open by ana: maintenance"
    invocations = len(stack.runner.invocations)
    stack.call()
    assert len(stack.runner.invocations) == invocations  # no function runs for a forced-open call
    run(["--table", stack.table_name, "force-closed", stack.circuit, "--reason", "known noise", "--by", "ana"])
    stack.set_health(False)
    for _ in range(stack.settings().failure_threshold + 1):
        assert stack.call()["states"] == FAILING  # forced closed: failures are not even counted
    assert stack.item()["state"] == "CLOSED"


@pytest.mark.parametrize(
    "policy, status, states",
    [
        ("fail_open", "SUCCEEDED", ["ReadCircuit", "StoreUnavailable", "Decide", "CallDownstream"]),
        ("fail_closed", "FAILED", ["ReadCircuit", "StoreUnavailable", "Decide", "ShortCircuit"]),
    ],
)
def test_store_errors_follow_on_store_error(instances, policy, status, states):
    stack = instances[f"store-{policy.replace('_', '-')}"]  # its table does not exist
    result = stack.call()
    assert (result["status"], result["states"]) == (status, states)
    if status == "FAILED":
        assert result["error"] == "CircuitOpen" and "circuit state unavailable (fail_closed)" in result["cause"]


@pytest.mark.parametrize(
    "policy, status, states",
    [
        (
            "fail_open",
            "SUCCEEDED",
            ["ReadCircuit", "Route", "CheckCircuit", "StoreUnavailable", "Decide", "CallDownstream"],
        ),
        (
            "fail_closed",
            "FAILED",
            ["ReadCircuit", "Route", "CheckCircuit", "StoreUnavailable", "Decide", "ShortCircuit"],
        ),
    ],
)
def test_a_failing_state_check_follows_on_store_error(instances, tmp_path, policy, status, states):
    """Throttled, broken or timed out: whatever makes the check function itself fail, the policy decides."""
    from sandbox.runner import FunctionSpec

    stack = instances["healthy" if policy == "fail_open" else "fail-closed"]
    assert stack.settings().on_store_error == policy
    (tmp_path / "broken.py").write_text("def lambda_handler(event, context):\n    raise RuntimeError('throttled')\n")
    stack.runner.register(FunctionSpec(stack.function_names["check_circuit"], "broken.lambda_handler", tmp_path))
    stack.ddb.put_item(
        TableName=stack.table_name,
        Item={  # failures pending: the state check must answer
            "id": {"S": stack.circuit},
            "state": {"S": "CLOSED"},
            "failure_count": {"N": "1"},
        },
    )
    result = stack.call({"order": 1})
    assert (result["status"], result["states"]) == (status, states)
    if status == "FAILED":
        assert result["error"] == "CircuitOpen" and "circuit state unavailable (fail_closed)" in result["cause"]
    else:
        assert json.loads(result["output"]) == {"ok": True, "request": {"order": 1}}


def test_fallback_payload_is_returned_as_success_when_open(instances):
    stack = instances["fallback-payload"]
    trip(stack)
    result = stack.call()
    assert (result["status"], json.loads(result["output"]), result["states"]) == (
        "SUCCEEDED",
        FALLBACK_PAYLOAD,
        SHORT_CIRCUITED,
    )


def test_fallback_function_answers_when_open(instances):
    stack = instances["fallback-fn"]
    trip(stack)
    result = stack.call()
    assert result["status"] == "SUCCEEDED" and result["states"] == SHORT_CIRCUITED
    output = json.loads(result["output"])
    assert output["degraded"] is True and output["circuit"] == "fallback-fn"


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
