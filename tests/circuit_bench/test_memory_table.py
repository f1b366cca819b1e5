"""The simulator's in-memory table behaves as moto's DynamoDB for everything the circuit does.

Random sequences of circuit operations (checks, outcomes with what their call saw, alarm
notifications, overrides, time passing) run through two Breakers with the same clock and
jitter: one on moto's DynamoDB, one on the memory table. Every answer and the stored item
must be identical after every step.
"""

from __future__ import annotations

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from circuit_bench.memory_table import MemoryTable, condition, update
from circuit_breaker.breaker import Breaker
from circuit_breaker.model import FORCED_CLOSED, FORCED_OPEN
from circuit_breaker.settings import AlarmBinding, Settings
from circuit_breaker.store import CircuitStore, Update
from tests.lambdas.circuit_breaker.conftest import Clock

TABLE = "circuits"
NAME = "orders"
SETTINGS = Settings(
    table_name=TABLE,
    circuit_name=NAME,
    failure_threshold=2,
    success_threshold=2,
    half_open_max_probes=2,
    open_duration_seconds=5,
    max_open_duration_seconds=40,
    probe_lease_seconds=3,
    ignored_errors=frozenset({"ValidationError"}),
    alarms={
        "orders-downstream": AlarmBinding(NAME, "downstream"),
        "orders-healthcheck": AlarmBinding(NAME, "healthcheck"),
    },
)

check = st.tuples(st.just("check"), st.sampled_from(["a", "b", "c"]))
# an outcome for the n-th most recent decision, or for what a healthy-path call read
record = st.tuples(st.just("record"), st.integers(0, 3), st.sampled_from([None, "Boom", "Boom", "ValidationError"]))
advance = st.tuples(st.just("advance"), st.sampled_from([0.5, 2, 6, 50]))
override = st.one_of(
    st.tuples(st.just("force"), st.sampled_from([FORCED_OPEN, FORCED_CLOSED]), st.sampled_from([None, 4])),
    st.tuples(
        st.just("release"),
    ),
)
steps = st.one_of(  # weighted towards calls and outcomes, so that trips, probes and reopens happen
    check,
    check,
    check,
    record,
    record,
    record,
    advance,
    advance,
    st.tuples(st.just("record_read"), st.sampled_from([None, "Boom", "Boom"])),
    st.tuples(
        st.just("alarm"),
        st.sampled_from(["orders-downstream", "orders-healthcheck"]),
        st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA"]),
        st.integers(0, 5),
    ),
    override,
)


def items(moto_client, memory: MemoryTable) -> tuple[dict, dict]:
    deserialize = TypeDeserializer().deserialize
    raw = moto_client.get_item(TableName=TABLE, Key={"id": {"S": NAME}}, ConsistentRead=True).get("Item", {})
    mine = memory.get_item(TableName=TABLE, Key={"id": {"S": NAME}}).get("Item", {})
    return ({k: deserialize(v) for k, v in raw.items()}, {k: deserialize(v) for k, v in mine.items()})


def apply(breaker: Breaker, step: tuple, decisions: list, clock: Clock):
    """One step on one breaker; returns its answer (or the exception type it raised)."""
    kind = step[0]
    try:
        if kind == "check":
            decision = breaker.check(NAME, step[1])
            decisions.append(decision)
            return decision
        if kind == "record":
            if not decisions:
                return None
            seen = decisions[-1 - min(step[1], len(decisions) - 1)]
            return breaker.record(NAME, seen.generation, seen.probe, step[2], seen.failures_seen)
        if kind == "record_read":  # a healthy-path failure: what the call read is its generation and count
            circuit = breaker.store.read(NAME)
            return breaker.record(NAME, circuit.generation, False, step[1], circuit.failure_count)
        if kind == "alarm":
            return breaker.on_alarm(step[1], step[2], 1_000 * (int(clock.now) - step[3]))
        if kind == "force":
            expires = None if step[2] is None else clock.now + step[2]
            return breaker.force(NAME, step[1], "tester", "test", expires).generation
        if kind == "release":
            return breaker.release(NAME, "tester", "test").generation
    except (ValueError, LookupError) as error:
        return type(error).__name__
    raise AssertionError(f"unknown step {step}")


@pytest.fixture(scope="module")
def moto_table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        yield client


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=st.lists(steps, min_size=10, max_size=50))
def test_circuit_operations_leave_identical_items_in_moto_and_in_the_memory_table(moto_table, sequence):
    client = moto_table
    client.delete_item(TableName=TABLE, Key={"id": {"S": NAME}})  # each example starts from no record
    memory = MemoryTable(TABLE)
    clock = Clock()
    real = Breaker(SETTINGS, CircuitStore(TABLE, client), clock=clock, jitter=lambda: 0.25)
    simulated = Breaker(SETTINGS, CircuitStore(TABLE, memory), clock=clock, jitter=lambda: 0.25)
    real_decisions: list = []
    simulated_decisions: list = []
    for number, step in enumerate(sequence):
        if step[0] == "advance":
            clock.advance(step[1])
            continue
        answers = (apply(real, step, real_decisions, clock), apply(simulated, step, simulated_decisions, clock))
        assert answers[0] == answers[1], (number, step)
        in_moto, in_memory = items(client, memory)
        assert in_moto == in_memory, (number, step)


def test_a_failed_condition_raises_what_boto3_raises():
    memory = MemoryTable(TABLE)
    store = CircuitStore(TABLE, memory)
    assert store.update(NAME, Update(sets={"state": "OPEN"}).when("attribute_exists(#state)")) is None
    with pytest.raises(ClientError) as raised:
        memory.update_item(
            TableName=TABLE,
            Key={"id": {"S": NAME}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":s": {"S": "x"}},
            ConditionExpression="attribute_exists(#s)",
        )
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert (memory.writes, memory.eventual_reads, memory.strong_reads) == (2, 0, 0)


@pytest.mark.parametrize(
    "expression",
    [
        "begins_with(#a, :b)",
        "#a BETWEEN :b AND :c",
        "#a IN (:b)",
        "size(#a) > :b",
        "#a = :b OR",
        "(#a = :b",
    ],
)
def test_conditions_outside_what_the_store_generates_are_refused(expression):
    with pytest.raises(ValueError):
        condition(expression)


@pytest.mark.parametrize("expression", ["SET #a = #a + :b", "DELETE #a :b", "SET #a = list_append(#a, :b)"])
def test_updates_outside_what_the_store_generates_are_refused(expression):
    with pytest.raises(ValueError):
        update(expression)


def test_an_eventually_consistent_read_may_miss_a_write_for_up_to_the_lag():
    now = [100.0]
    draws = iter([0.0, 0.5, 0.99, 0.5])
    memory = MemoryTable(TABLE, lag=1.0, clock=lambda: now[0], draw=lambda: next(draws))
    key = {"id": {"S": "orders"}}
    memory.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET #state = :open",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":open": {"S": "OPEN"}},
    )
    now[0] = 100.6
    assert memory.get_item(TableName=TABLE, Key=key)["Item"]["state"] == {"S": "OPEN"}  # as of 100.6
    assert memory.get_item(TableName=TABLE, Key=key)["Item"]["state"] == {"S": "OPEN"}  # as of 100.1
    assert memory.get_item(TableName=TABLE, Key=key) == {}  # as of 99.61: before the write
    assert memory.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]["state"] == {"S": "OPEN"}
    assert memory.stale_reads == 1
    now[0] = 101.5
    assert memory.get_item(TableName=TABLE, Key=key)["Item"]["state"] == {"S": "OPEN"}  # the lag has passed


def test_a_success_reset_subtracts_what_it_read_as_moto_does(moto_table):
    """The state machine's ResetFailures form, `SET #a = #b - :n, #c = :n` under a condition, in both tables:
    operands are the item before the update."""
    memory = MemoryTable(TABLE)
    key = {"id": {"S": "reset"}}
    names = {"#count": "failure_count", "#total": "failures_total", "#cleared": "failures_cleared"}
    reset = "SET #count = #total - :n, #cleared = :n"
    only_later = "attribute_not_exists(#cleared) OR #cleared < :n"
    steps = [
        ("ADD #count :n, #total :n", None, {":n": {"N": "3"}}),
        (reset, only_later, {":n": {"N": "2"}}),
        (reset, only_later, {":n": {"N": "1"}}),
    ]
    moto_table.delete_item(TableName=TABLE, Key=key)
    for expression, condition_expression, values in steps:
        outcomes = []
        for client in (moto_table, memory):
            extra = {"ConditionExpression": condition_expression} if condition_expression else {}
            try:
                client.update_item(
                    TableName=TABLE,
                    Key=key,
                    UpdateExpression=expression,
                    ExpressionAttributeNames={k: v for k, v in names.items() if k in f"{expression} {extra}"},
                    ExpressionAttributeValues=values,
                    **extra,
                )
                outcomes.append("written")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])
            outcomes.append(client.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"])
        assert outcomes[:2] == outcomes[2:], expression
    assert outcomes[1]["failure_count"] == {"N": "1"} and outcomes[1]["failures_cleared"] == {"N": "2"}
    assert outcomes[0] == "ConditionalCheckFailedException"
