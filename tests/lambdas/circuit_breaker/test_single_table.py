"""Powertools' single-table layout: every circuit under one partition key value, its name in the sort key.

The table also holds items that are no circuits (other entities of the application); the module
reads, writes, lists and publishes only its circuits, and Powertools' @circuit_breaker on the same
composite key sees the same circuits.
"""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.circuit_breaker import (
    CircuitBreakerConfig,
    CircuitBreakerOpenError,
    circuit_breaker,
)
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from circuit_breaker.breaker import CALL, CALL_AND_RECORD, SHORT_CIRCUIT, Breaker
from circuit_breaker.events import circuit_change
from circuit_breaker.exceptions import ConfigurationError
from circuit_breaker.model import CLOSED, OPEN, TableKey
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore
from circuitctl.cli import main as circuitctl
from tests.lambdas.circuit_breaker.test_events import Stream

TABLE = "app"
KEY = TableKey(partition_key="pk", sort_key="sk", partition_value="circuit_breaker#orders")
CIRCUIT = "payments"
ORDER = {"pk": {"S": "order#1"}, "sk": {"S": "payments"}, "total": {"N": "12"}}  # an item of the app: no circuit


@pytest.fixture
def single_table(aws) -> str:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    client.put_item(TableName=TABLE, Item=ORDER)
    return TABLE


@pytest.fixture
def breaker(single_table, clock) -> Breaker:
    settings = Settings(table_name=single_table, circuit_name=CIRCUIT, table_key=KEY, failure_threshold=1)
    return Breaker(settings, CircuitStore(single_table, boto3.client("dynamodb"), KEY), clock=clock)


def raw_item(partition: str = KEY.partition_value or "", name: str = CIRCUIT) -> dict:
    key = {"pk": {"S": partition}, "sk": {"S": name}}
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item", {})


def powertools_call(calls: list, fail: bool = False, recovery_timeout: int = 3600) -> str:
    persistence = CircuitBreakerDynamoDBPersistence(
        table_name=TABLE,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=KEY.partition_value,
        boto3_client=boto3.client("dynamodb"),
    )
    config = CircuitBreakerConfig(failure_threshold=1, recovery_timeout=recovery_timeout, local_cache_max_age=0)

    @circuit_breaker(name=CIRCUIT, persistence_store=persistence, config=config)
    def downstream() -> str:
        calls.append(1)
        if fail:
            raise RuntimeError("downstream down")
        return "ok"

    return downstream()


def test_a_circuit_is_the_item_at_the_shared_partition_and_its_name(breaker):
    breaker.record(CIRCUIT, 0, False, "DependencyUnavailable")
    assert raw_item()["state"] == {"S": OPEN}
    assert raw_item("order#1", "payments") == ORDER  # the app's item of the same sort key is untouched
    assert breaker.check(CIRCUIT, "caller").action == SHORT_CIRCUIT


def test_powertools_sees_a_circuit_this_module_opened_and_this_module_one_powertools_opened(breaker, clock):
    calls: list = []
    breaker.record(CIRCUIT, 0, False, "DependencyUnavailable")
    with pytest.raises(CircuitBreakerOpenError):
        powertools_call(calls)
    assert calls == []
    # This module's probe closes it; Powertools calls again.
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    assert probe.action == CALL_AND_RECORD
    assert breaker.record(CIRCUIT, probe.generation, True, None) == "closed"
    assert powertools_call(calls) == "ok" and calls == [1]
    # Powertools opens it; this module short-circuits.
    with pytest.raises(RuntimeError):
        powertools_call(calls, fail=True)
    assert raw_item()["state"] == {"S": OPEN}
    clock.now = __import__("time").time()
    decision = breaker.check(CIRCUIT, "caller")
    assert (decision.action, decision.state) == (SHORT_CIRCUIT, OPEN)


def test_listing_queries_the_circuits_partition_only(breaker, single_table):
    other = TableKey(partition_key="pk", sort_key="sk", partition_value="circuit_breaker#billing")
    CircuitStore(single_table, boto3.client("dynamodb"), other).update("invoices", _touch())
    breaker.record(CIRCUIT, 0, False, "DependencyUnavailable")
    assert [(c.name, c.state) for c in breaker.store.scan()] == [(CIRCUIT, OPEN)]


def _touch():
    from circuit_breaker.store import Update

    return Update(sets={"state": CLOSED})


def test_a_stream_record_of_another_item_is_no_change_and_a_circuits_is_named_by_its_sort_key(breaker, single_table):
    stream = Stream(single_table)
    boto3.client("dynamodb").put_item(TableName=TABLE, Item=ORDER | {"state": {"S": OPEN}})
    breaker.record(CIRCUIT, 0, False, "DependencyUnavailable")
    order, *circuit = stream.new_records()
    assert circuit_change(order, KEY) is None  # the app's item, though it has a `state`
    [change] = [c for record in circuit if (c := circuit_change(record, KEY))]
    assert (change.circuit, change.current.state) == (CIRCUIT, OPEN)


def test_circuitctl_reads_and_overrides_circuits_with_the_table_key_output(breaker, capsys):
    key = json.dumps({"partition_key": "pk", "sort_key": "sk", "partition_value": KEY.partition_value})
    assert circuitctl(["--table", TABLE, "--table-key", key, "force-open", CIRCUIT, "--reason", "x", "--create"]) == 0
    assert raw_item()["override"] == {"S": "FORCED_OPEN"}
    capsys.readouterr()
    assert circuitctl(["--table", TABLE, "--table-key", key, "--json", "list"]) == 0
    assert [c["circuit"] for c in json.loads(capsys.readouterr().out)] == [CIRCUIT]
    assert circuitctl(["--table", TABLE, "--table-key", '{"sort_key": "sk"}', "list"]) == 2
    assert "argument --table-key: a table key with a sort key needs a partition value" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"sort_key": "sk"}', "needs a partition value"),
        ('{"partition_value": "p"}', "needs a partition value"),
        ('{"partition_key": "k", "sort_key": "k", "partition_value": "p"}', "both 'k'"),
        ('{"hash": "pk"}', "an object with"),
        ('{"partition_key": ""}', "non-empty strings"),
        ("[]", "an object with"),
        ("{", "Expecting"),
    ],
)
def test_a_bad_table_key_fails_the_cold_start_with_what_is_wrong(text, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_environment({"TABLE_NAME": TABLE, "CIRCUIT_NAME": CIRCUIT, "TABLE_KEY": text})


def test_the_default_key_is_the_circuits_name_in_id(breaker):
    assert TableKey().of("orders") == {"id": {"S": "orders"}}
    assert KEY.of("orders") == {"pk": {"S": "circuit_breaker#orders"}, "sk": {"S": "orders"}}
    assert KEY.name_in({"pk": {"S": "order#1"}, "sk": {"S": "orders"}}) is None
    assert Settings.from_environment({"TABLE_NAME": TABLE, "CIRCUIT_NAME": CIRCUIT}).table_key == TableKey()
    assert breaker.check("never-seen", "caller").action == CALL
