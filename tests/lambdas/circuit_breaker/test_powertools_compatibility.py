"""Powertools' own @circuit_breaker and this module share one table and see the same circuits."""

from __future__ import annotations

import logging
from collections.abc import Callable

import boto3
import pytest
from aws_lambda_powertools.utilities.circuit_breaker import (
    CircuitBreakerConfig,
    CircuitBreakerOpenError,
    circuit_breaker,
)
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from circuit_breaker.breaker import CALL_AND_RECORD, SHORT_CIRCUIT
from circuit_breaker.model import CLOSED, FORCED_OPEN, HALF_OPEN, OPEN
from tests.conftest import load_event
from tests.lambdas.conftest import circuit_item

CIRCUIT = "orders"


def powertools_call(
    table: str, calls: list, fail: bool = False, recovery_timeout: int = 1, work: Callable[[], None] = lambda: None
):
    """One call through Powertools' @circuit_breaker; `work` runs inside it, e.g. while it holds the probe."""
    persistence = CircuitBreakerDynamoDBPersistence(table_name=table, boto3_client=boto3.client("dynamodb"))
    config = CircuitBreakerConfig(failure_threshold=1, recovery_timeout=recovery_timeout, local_cache_max_age=0)

    @circuit_breaker(name=CIRCUIT, persistence_store=persistence, config=config)
    def downstream():
        calls.append(1)
        work()
        if fail:
            raise RuntimeError("downstream down")
        return "ok"

    return downstream()


def backdate_opened_at(table: str) -> None:
    """As if the recovery timeout had long elapsed."""
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"id": {"S": CIRCUIT}},
        UpdateExpression="SET opened_at = :t",
        ExpressionAttributeValues={":t": {"N": "1"}},
    )


def test_powertools_sees_a_circuit_this_module_opened_as_open(make_breaker, table):
    breaker = make_breaker(failure_threshold=1)
    breaker.record(CIRCUIT, 0, False, "Boom")
    calls: list = []
    with pytest.raises(CircuitBreakerOpenError):
        powertools_call(table, calls, recovery_timeout=3600)
    assert calls == []


def test_powertools_never_probes_a_forced_open_circuit_even_past_its_recovery_timeout(make_breaker, table, clock):
    breaker = make_breaker()
    breaker.force(CIRCUIT, FORCED_OPEN, "ana", "maintenance")
    backdate_opened_at(table)
    calls: list = []
    for _ in range(5):
        with pytest.raises(CircuitBreakerOpenError):
            powertools_call(table, calls, recovery_timeout=1)
    assert calls == []
    circuit = breaker.store.read(CIRCUIT, consistent=True)
    assert (circuit.state, circuit.override) == (OPEN, FORCED_OPEN)


def test_this_module_honours_a_circuit_powertools_opened(make_breaker, table, clock):
    calls: list = []
    with pytest.raises(RuntimeError):
        powertools_call(table, calls, fail=True, recovery_timeout=3600)
    assert boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": CIRCUIT}})["Item"]["state"]["S"] == OPEN
    clock.now = __import__("time").time()
    decision = make_breaker().check(CIRCUIT, "caller")
    assert (decision.action, decision.state) == (SHORT_CIRCUIT, OPEN)


@pytest.mark.parametrize("max_probes, action, probes_counted", [(1, SHORT_CIRCUIT, None), (2, CALL_AND_RECORD, 2)])
def test_a_probe_powertools_holds_counts_as_a_probe_in_flight(
    load_handler, orders_table, lambda_context, max_probes, action, probes_counted
):
    # Given Powertools tripped the circuit and its recovery timeout has elapsed
    with pytest.raises(RuntimeError):
        powertools_call(orders_table, [], fail=True, recovery_timeout=60)
    backdate_opened_at(orders_table)
    check = load_handler("check_circuit", half_open_max_probes=max_probes)
    seen: list = []

    def state_check_during_powertools_probe() -> None:
        seen.append(circuit_item(orders_table))
        seen.append(check.lambda_handler(load_event("check_circuit.json"), lambda_context))
        seen.append(circuit_item(orders_table))

    # When a state check runs while Powertools' own elected probe is in flight
    powertools_call(orders_table, [], recovery_timeout=60, work=state_check_during_powertools_probe)

    # Then Powertools' probe takes one of the half_open_max_probes slots
    held, decision, after = seen
    assert held["state"] == HALF_OPEN and held["half_open_owner"] and "probes_in_flight" not in held
    assert (decision["action"], decision.get("probe", False)) == (action, action == CALL_AND_RECORD)
    assert after.get("probes_in_flight") == probes_counted


def test_an_alarm_that_changes_nothing_leaves_an_item_powertools_reads(
    load_handler, orders_table, lambda_context, caplog
):
    # Given a new circuit and the first OK after deploy (the alarms have ok_actions), which changes nothing
    alarms = load_handler("alarm_handler")
    assert alarms.lambda_handler(load_event("sns_healthcheck_ok.json"), lambda_context) == {"outcomes": ["recorded"]}
    # When a Powertools @circuit_breaker on the same table calls through it
    calls: list = []
    with caplog.at_level(logging.DEBUG, logger="aws_lambda_powertools.utilities.circuit_breaker"):
        assert powertools_call(orders_table, calls) == "ok"
    # Then Powertools reads a CLOSED circuit, without a read failure
    assert calls == [1]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert circuit_item(orders_table)["state"] == CLOSED
