"""Powertools' own @circuit_breaker and this module share one table and see the same circuits."""

from __future__ import annotations

import logging

import boto3
import pytest
from aws_lambda_powertools.utilities.circuit_breaker import (
    CircuitBreakerConfig,
    CircuitBreakerOpenError,
    circuit_breaker,
)
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from circuit.breaker import SHORT_CIRCUIT
from circuit.model import CLOSED, FORCED_OPEN, OPEN
from tests.conftest import load_event
from tests.lambdas.conftest import circuit_item

CIRCUIT = "orders"


def powertools_call(table: str, calls: list, fail: bool = False, recovery_timeout: int = 1):
    persistence = CircuitBreakerDynamoDBPersistence(table_name=table, boto3_client=boto3.client("dynamodb"))
    config = CircuitBreakerConfig(failure_threshold=1, recovery_timeout=recovery_timeout, local_cache_max_age=0)

    @circuit_breaker(name=CIRCUIT, persistence_store=persistence, config=config)
    def downstream():
        calls.append(1)
        if fail:
            raise RuntimeError("downstream down")
        return "ok"

    return downstream()


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
    # Push opened_at far into the past: Powertools' recovery timeout has long elapsed.
    boto3.client("dynamodb").update_item(TableName=table, Key={"id": {"S": CIRCUIT}},
                                         UpdateExpression="SET opened_at = :t", ExpressionAttributeValues={":t": {"N": "1"}})
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


def test_an_alarm_that_changes_nothing_leaves_an_item_powertools_reads(load_handler, orders_table, lambda_context,
                                                                       caplog):
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
