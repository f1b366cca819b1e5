"""Which writes of the circuit table become events, and what the event says.

The stream records are the ones moto's DynamoDB Streams hands out after the real writers ran:
this module's rules, circuitctl, and Powertools' own @circuit_breaker on the same table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from circuit_breaker.events import DETAIL_TYPE, STATUS_LEVELS, circuit_change, detail, entry, status
from circuit_breaker.exceptions import MalformedRecord
from circuit_breaker.model import CLOSED, FORCED_CLOSED, FORCED_OPEN, HALF_OPEN, OPEN, iso8601
from circuitctl.cli import main as circuitctl
from tests.conftest import load_event
from tests.lambdas.circuit_breaker.test_powertools_compatibility import CIRCUIT, backdate_opened_at, powertools_call


def enable_stream(table: str) -> str:
    return boto3.client("dynamodb").update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )["TableDescription"]["LatestStreamArn"]


class Stream:
    """Reads a table's stream from moto as Lambda's poller would: every record, in order, once."""

    def __init__(self, table: str) -> None:
        self.arn = enable_stream(table)
        # botocore sends stream calls to an account-based host (<account>.streams-ddb...) moto does
        # not route; its classic endpoint reaches moto's DynamoDB Streams.
        self.client = boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
        self.seen = 0

    def all_records(self) -> list[dict]:
        records = []
        for shard in self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            iterator = self.client.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records += self.client.get_records(ShardIterator=iterator)["Records"]
        return [record | {"eventSourceARN": self.arn} for record in records]

    def new_records(self) -> list[dict]:
        records = self.all_records()
        new, self.seen = records[self.seen :], len(records)
        return new


def changes(records: list[dict]) -> list[tuple[str, str]]:
    return [(status(c.previous), status(c.current)) for r in records if (c := circuit_change(r))]


@pytest.fixture
def stream(table) -> Stream:
    return Stream(table)


def test_a_trip_and_a_recovery_by_this_module_are_one_event_each(make_breaker, stream, clock):
    # Given a circuit that fails twice (a count), trips on the third failure, then is probed and closes
    breaker = make_breaker(failure_threshold=3)
    generation = breaker.check(CIRCUIT, "a").generation
    breaker.record(CIRCUIT, generation, False, "Boom")
    breaker.record(CIRCUIT, generation, False, "Boom", failures_seen=1)
    breaker.record(CIRCUIT, generation, False, "Boom", failures_seen=2)
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    breaker.record(CIRCUIT, probe.generation, True, None)
    # When the stream's records are read
    records = stream.new_records()
    # Then only the transitions are changes: the failure counts and the probe's counter are not
    assert changes(records) == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert len(records) > 3


def test_the_detail_follows_cloudwatch_alarm_state_change(make_breaker, stream, table):
    breaker = make_breaker(failure_threshold=1)
    breaker.record(CIRCUIT, 0, False, "DependencyUnavailable")
    [change] = [c for r in stream.new_records() if (c := circuit_change(r))]
    body = detail(change, "orders-breaker")
    assert body["circuitName"] == CIRCUIT and body["circuitBreakerName"] == "orders-breaker"
    assert (body["status"], body["previousStatus"]) == (OPEN, CLOSED)
    assert body["state"]["value"] == OPEN and body["state"]["override"] is None
    assert body["state"]["generation"] == 1 and body["previousState"]["generation"] == 0
    assert "DependencyUnavailable" in body["state"]["reason"]
    assert datetime.fromisoformat(body["state"]["timestamp"]).tzinfo is not None
    assert body["changeId"] == change.change_id
    put = entry(change, "circuit-breaker", "default", "orders-breaker")
    assert (put["Source"], put["DetailType"], put["EventBusName"]) == ("circuit-breaker", DETAIL_TYPE, "default")
    assert put["Resources"] == [f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"]
    assert json.loads(put["Detail"]) == json.loads(json.dumps(body))


def test_an_observing_instances_events_say_so(make_breaker, stream):
    breaker = make_breaker(failure_threshold=1)
    breaker.record(CIRCUIT, 0, False, "DependencyUnavailable")
    [change] = [c for r in stream.new_records() if (c := circuit_change(r))]
    assert detail(change, "orders")["mode"] == "enforce"
    observed = detail(change, "orders", "observe")
    assert observed["mode"] == "observe" and "(observe mode: no call is short-circuited)" in observed["summary"]
    assert json.loads(entry(change, "s", "default", "orders", "observe")["Detail"])["mode"] == "observe"


def test_a_recovery_with_a_ramp_says_until_when_and_the_ramps_end_is_no_event(make_breaker, clock, stream):
    breaker = make_breaker(failure_threshold=1, ramp_up_seconds=120)
    breaker.record(CIRCUIT, 0, False, "DependencyUnavailable")
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    breaker.record(CIRCUIT, probe.generation, True, None)
    closed = [c for r in stream.new_records() if (c := circuit_change(r))][-1]
    body = detail(closed, "orders")
    assert (body["status"], body["state"]["rampUntil"]) == (CLOSED, iso8601(clock.now + 120))
    assert body["previousState"]["rampUntil"] is None
    assert f"ramping up until {iso8601(clock.now + 120)}" in body["summary"]
    clock.advance(120)
    assert breaker.check(CIRCUIT, "caller").action == "call"  # removes the ramp
    removal = stream.new_records()
    assert len(removal) == 1 and circuit_change(removal[0]) is None


def test_the_sample_event_has_the_shape_the_code_produces(make_breaker, stream):
    breaker = make_breaker(failure_threshold=1)
    breaker.record(CIRCUIT, 0, False, "Boom")
    [change] = [c for r in stream.new_records() if (c := circuit_change(r))]
    sample = load_event("circuit_state_change.json")
    produced = detail(change, "orders")
    assert sample["detail-type"] == DETAIL_TYPE
    assert set(sample["detail"]) == set(produced)
    assert set(sample["detail"]["state"]) == set(produced["state"])
    assert set(sample["detail"]["previousState"]) == set(produced["previousState"])


def test_circuitctl_overrides_and_releases_are_events(table, stream, capsys):
    # Given an operator forcing a circuit open, then closed, then releasing it
    for command in (["force-open", CIRCUIT, "--create"], ["force-closed", CIRCUIT], ["release", CIRCUIT]):
        assert circuitctl(["--table", table, *command, "--reason", "maintenance", "--by", "ana"]) == 0
    # Then each is one event, named by its override
    assert changes(stream.new_records()) == [
        (CLOSED, FORCED_OPEN),
        (FORCED_OPEN, FORCED_CLOSED),
        (FORCED_CLOSED, CLOSED),
    ]


def test_the_summary_carries_an_operators_reason_as_written(make_breaker, stream):
    # Given an operator's reason with quotes, a backslash, a newline and non-ASCII letters
    reason = 'the "vendor" said\\wait\nuntil 14:00 (café)'
    make_breaker().force(CIRCUIT, FORCED_OPEN, "ana", reason)
    [change] = [c for r in stream.new_records() if (c := circuit_change(r))]
    put = entry(change, "circuit-breaker", "default", "orders")
    # Then the event's summary, as EventBridge passes it (JSON), reads back exactly
    summary = json.loads(put["Detail"])["summary"]
    assert summary.startswith(f"Circuit {CIRCUIT} is FORCED_OPEN (was CLOSED) since ")
    assert ", circuit breaker orders in us-east-1: " in summary and summary.endswith(reason)


def test_forcing_an_open_circuit_open_is_an_override_change(make_breaker, stream):
    breaker = make_breaker(failure_threshold=1)
    breaker.record(CIRCUIT, 0, False, "Boom")
    breaker.force(CIRCUIT, FORCED_OPEN, "ana", "hold it")
    assert changes(stream.new_records()) == [(CLOSED, OPEN), (OPEN, FORCED_OPEN)]


def test_powertools_transitions_on_the_same_table_are_events(table, stream, clock):
    # Given Powertools' @circuit_breaker tripping the circuit, then probing it (3 successes close it)
    calls: list = []
    with pytest.raises(RuntimeError):
        powertools_call(table, calls, fail=True, recovery_timeout=3600)
    backdate_opened_at(table)
    for _ in range(3):
        powertools_call(table, calls, recovery_timeout=1)
    # Then its writes (PUTs and updates without this module's attributes) are the same events
    assert changes(stream.new_records()) == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


def test_powertools_events_carry_generation_0_and_no_reason(table, stream):
    calls: list = []
    with pytest.raises(RuntimeError):
        powertools_call(table, calls, fail=True, recovery_timeout=3600)
    [change] = [c for r in stream.new_records() if (c := circuit_change(r))]
    body = detail(change, "orders")
    assert body["state"]["generation"] == 0 and body["state"]["reason"] is None
    assert body["state"]["timestamp"]  # the stream's time of the change, as no updated_at was written
    # The summary ends with the instance and region when there is no reason: no "null" for a reason
    assert body["summary"].endswith(", circuit breaker orders in us-east-1")


def test_alarm_recordings_are_not_events(make_breaker, stream):
    # Given an OPEN circuit whose downstream alarm is recorded (ALARM while open changes nothing)
    breaker = make_breaker(failure_threshold=1)
    breaker.record(CIRCUIT, 0, False, "Boom")
    breaker.on_alarm("orders-downstream", "ALARM", 1_000)
    breaker.on_alarm("orders-downstream", "OK", 2_000)
    assert changes(stream.new_records()) == [(CLOSED, OPEN)]


def test_the_first_write_creating_a_closed_item_is_no_event(make_breaker, stream):
    make_breaker().on_alarm("orders-downstream", "OK", 1_000)
    records = stream.new_records()
    assert {r["eventName"] for r in records} == {"INSERT"}
    assert changes(records) == []


def test_an_open_record_expired_by_ttl_is_a_change_to_closed():
    record = load_event("circuit_table_stream.json")["Records"][-1]
    change = circuit_change(record)
    assert change is not None and change.removed and change.expired
    assert (status(change.previous), status(change.current)) == (OPEN, CLOSED)
    assert "TTL" in detail(change, "orders")["state"]["reason"]


def test_lambdas_stream_event_sample_gives_one_change_per_transition():
    records = load_event("circuit_table_stream.json")["Records"]
    assert changes(records) == [(CLOSED, OPEN), (OPEN, CLOSED)]
    first = circuit_change(records[1])
    assert first is not None and first.time == datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize("moment", [9.2e18, 6.8e16, -1e20])
def test_a_creation_time_no_clock_can_hold_reads_as_now(moment):
    """Found by the fuzzer: such a time raised OverflowError, OSError or ValueError and stopped the batch."""
    record = json.loads(json.dumps(load_event("circuit_table_stream.json")["Records"][1]))
    record["dynamodb"]["ApproximateCreationDateTime"] = moment
    before = datetime.now(UTC)
    change = circuit_change(record)
    assert change is not None and before <= change.time <= datetime.now(UTC)


KEYS = {"Keys": {"id": {"S": "a"}}}


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"eventID": "1", "eventName": "MODIFY"},
        {"eventID": "1", "eventName": "MODIFY", "dynamodb": {"Keys": {}}},
        {"eventID": "1", "eventName": "UPSERT", "dynamodb": KEYS},
        {"eventID": "1", "eventName": "MODIFY", "dynamodb": KEYS | {"StreamViewType": "KEYS_ONLY"}},
        {"eventID": "1", "eventName": "INSERT", "dynamodb": KEYS | {"NewImage": {"state": {"S": "?"}}}},
        {"eventID": "1", "eventName": "INSERT", "dynamodb": KEYS | {"NewImage": {"state": "OPEN"}}},
    ],
)
def test_a_record_that_is_no_circuit_change_is_malformed(record):
    with pytest.raises(MalformedRecord):
        circuit_change(record)


def test_every_status_has_a_gauge_level():
    assert set(STATUS_LEVELS) == {CLOSED, HALF_OPEN, OPEN, FORCED_OPEN, FORCED_CLOSED}
    assert len(set(STATUS_LEVELS.values())) == len(STATUS_LEVELS)


@pytest.mark.parametrize("key", [None, "orders", ["orders"], {"N": "1"}, {}])
def test_a_record_whose_key_is_not_a_typed_string_is_malformed(key):
    # Found by the long fuzz profile: {"Keys": {"id": null}} raised AttributeError, failing the whole batch
    record = {"eventID": "0", "eventName": "INSERT", "dynamodb": {"Keys": {"id": key}, "SequenceNumber": "0"}}
    with pytest.raises(MalformedRecord):
        circuit_change(record)
