"""DynamoDB failing at every call site: the configured policy holds, it is counted, nothing double-applies."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from circuit_breaker import telemetry
from circuit_breaker.breaker import CALL, SHORT_CIRCUIT, Breaker
from circuit_breaker.exceptions import StoreError
from circuit_breaker.model import CLOSED, HALF_OPEN, OPEN
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore
from tests.lambdas.circuit_breaker.conftest import ALARMS, Clock
from tests.reliability.conftest import count, handler_environment

FAULTS = {
    "throttled": lambda: ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}, "UpdateItem"
    ),
    "throttled (request limit)": lambda: ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Slow down"}}, "GetItem"
    ),
    "timed out": lambda: ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
    "unavailable": lambda: EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
}


class FaultyClient:
    """The real (moto) client, except that the named operations raise `fault` while it is armed."""

    def __init__(self, operations: set[str], fault: str, site: str) -> None:
        self._client = boto3.client("dynamodb")
        self.operations, self.fault, self.site, self.armed, self.injected = operations, fault, site, True, 0

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name not in self.operations:
            return attribute

        def call(*args, **kwargs):
            if self.armed:
                self.injected += 1
                count(f"faults injected: {self.site}: {name}")
                raise FAULTS[self.fault]()
            return attribute(*args, **kwargs)

        return call


def breaker(table: str, client, clock: Clock | None = None, **overrides) -> Breaker:
    values: dict[str, Any] = {
        "table_name": table,
        "circuit_name": "orders",
        "open_duration_seconds": 30,
        "alarms": ALARMS,
    }
    values |= overrides
    return Breaker(Settings(**values), CircuitStore(table, client), clock=clock or Clock(), jitter=lambda: 0.5)


def store_errors_counted() -> int:
    counted = telemetry.metrics.metric_set.get("StoreErrors", {}).get("Value", [])
    return int(sum(counted))


@pytest.fixture(autouse=True)
def fresh_metrics():
    telemetry.metrics.clear_metrics()
    yield
    telemetry.metrics.clear_metrics()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("policy, action", [("fail_open", CALL), ("fail_closed", SHORT_CIRCUIT)])
def test_state_check_follows_the_store_error_policy_and_counts_it(circuits, fault, policy, action):
    client = FaultyClient({"get_item"}, fault, "state check")
    decision = breaker(circuits, client, on_store_error=policy).check("orders", "caller")
    assert (decision.action, decision.generation, decision.state) == (action, None, "UNKNOWN")
    assert policy in decision.reason
    assert store_errors_counted() == 1
    assert client.injected == 1


@pytest.mark.parametrize("fault", FAULTS)
def test_probe_election_failing_to_write_is_a_store_error_under_the_policy(circuits, fault):
    clock = Clock()
    healthy = breaker(circuits, boto3.client("dynamodb"), clock, failure_threshold=1)
    healthy.record("orders", 0, False, "Boom")
    clock.advance(31)
    client = FaultyClient({"update_item"}, fault, "probe election")
    decision = breaker(circuits, client, clock, on_store_error="fail_closed").check("orders", "prober")
    assert decision.action == SHORT_CIRCUIT and not decision.probe
    assert healthy.get("orders").state == OPEN  # no half-written election
    assert store_errors_counted() == 1


@pytest.mark.parametrize("fault", FAULTS)
def test_outcome_recording_reports_an_unavailable_store_and_never_fails_the_call(circuits, fault, lambda_context):
    module = handler_environment("record_outcome").module
    module.breaker.store._client = FaultyClient({"update_item", "get_item"}, fault, "outcome recording")
    for outcome in (
        {"circuit": "orders", "generation": 0, "probe": False, "error": "Boom"},
        {"circuit": "orders", "generation": 0, "probe": False, "error": None},
        {"circuit": "orders", "generation": 3, "probe": True, "error": "Boom"},
    ):
        result = module.lambda_handler(outcome, lambda_context)
        assert result in (
            {"recorded": False, "outcome": "circuit store unavailable"},
            {"recorded": True, "outcome": "nothing to reset"},
        )


def test_a_condition_failure_means_someone_else_won_not_an_error(circuits):
    clock = Clock()
    first = breaker(circuits, boto3.client("dynamodb"), clock, failure_threshold=1)
    second = breaker(circuits, boto3.client("dynamodb"), clock, failure_threshold=1)
    assert first.record("orders", 0, False, "Boom") == "tripped"
    assert second.record("orders", 0, False, "Boom") == "stale"  # its conditional write lost: no exception
    clock.advance(31)
    assert first.check("orders", "a").probe
    assert second.check("orders", "b").reason == "a probe is in flight"
    assert store_errors_counted() == 0


@pytest.mark.parametrize("fault", FAULTS)
def test_an_alarm_handler_failure_is_retried_by_sns_without_a_double_transition(circuits, fault, lambda_context):
    module = handler_environment("alarm_handler").module
    client = FaultyClient({"update_item"}, fault, "alarm handler")
    module.breaker.store._client = client
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Message": json.dumps(
                        {
                            "AlarmName": "orders-downstream",
                            "NewStateValue": "ALARM",
                            "StateChangeTime": "2027-01-15T08:00:00.000+0000",
                        }
                    )
                },
            }
        ]
    }
    with pytest.raises(module.StoreError):  # Lambda reports the failure; SNS retries the delivery
        module.lambda_handler(event, lambda_context)
    client.armed = False
    assert module.lambda_handler(event, lambda_context) == {"outcomes": ["CLOSED -> OPEN"]}  # the retry
    assert module.lambda_handler(event, lambda_context) == {"outcomes": ["stale"]}  # SNS delivers it once more
    item = module.breaker.get("orders")
    assert (item.state, item.generation) == (OPEN, 1)  # one transition


def test_a_probe_that_cannot_report_back_is_freed_by_its_lease(circuits):
    clock = Clock()
    fleet = [
        breaker(circuits, boto3.client("dynamodb"), clock, failure_threshold=1, probe_lease_seconds=10)
        for _ in range(2)
    ]
    fleet[0].record("orders", 0, False, "Boom")
    clock.advance(31)
    probe = fleet[0].check("orders", "prober")
    assert probe.probe
    broken = breaker(circuits, FaultyClient({"update_item", "get_item"}, "unavailable", "probe report"), clock)
    with pytest.raises(StoreError):
        broken.record("orders", probe.generation, True, None)  # its outcome never lands
    assert fleet[1].check("orders", "waiter").reason == "a probe is in flight"
    clock.advance(11)  # past the lease
    second = fleet[1].check("orders", "waiter")
    assert second.probe and fleet[1].get("orders").state == HALF_OPEN
    assert fleet[1].record("orders", second.generation, True, None) == "closed"
    assert fleet[1].get("orders").state == CLOSED


@pytest.mark.parametrize(
    "command",
    [["list"], ["show", "orders"], ["force-open", "orders", "--reason", "r"], ["release", "orders", "--reason", "r"]],
)
def test_the_operator_command_reports_an_unavailable_store_with_exit_status_1(circuits, command, capsys):
    from circuitctl import cli

    status = cli.main(["--table", "no-such-table", *command])
    assert status == 1
    assert capsys.readouterr().err.startswith("circuitctl: ")
    count(f"faults injected: operator command: {command[0]}")
