"""The stream pump against the emulator: each change of a circuit, whoever writes it, is one event.

The module's events function, its mapping and filter are what Terraform applied (events.tf,
through circuit_sandbox/instances); the function runs in a worker process; the pump reads the table's
stream as Lambda's poller would; a rule of the test's own delivers the events to a queue. Waits
are bounded by a multiple of the pump's interval; a check that nothing arrived first lets the pump
catch up (`poll`), so it never passes by being early.
"""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig, circuit_breaker
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from circuit_breaker.breaker import Breaker
from circuit_breaker.events import DETAIL_TYPE
from circuit_breaker.model import CLOSED, FORCED_OPEN, HALF_OPEN, OPEN
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore
from circuit_sandbox.aws import Emulator
from circuit_sandbox.aws.eventbridge import sns_targets
from circuit_sandbox.aws.runner import FunctionSpec
from circuit_sandbox.aws.streams import StreamPump, buffered_streams, first_failure, lambda_record, matches
from circuit_sandbox.circuit_events import CircuitEventObserver
from circuit_sandbox.scenario import wait_for
from circuit_sandbox.stack import instances_warmed
from circuitctl.cli import main as circuitctl
from tests.circuit_sandbox.circuit_events import INTERVAL, CircuitEvents, Circuits, instance_variables
from tests.conftest import load_event

# Generous for a busy machine: a write reaches the queue in one or two intervals when idle.
TIMEOUT = 150 * INTERVAL
_names = itertools.count()


@pytest.fixture(scope="module")
def circuits(local_emulator: Emulator) -> Circuits:
    """One instance with circuit events, applied by the real Terraform, whose circuits the tests share out."""
    [stack] = instances_warmed(local_emulator, {"events": instance_variables()}).values()
    return Circuits(stack)


@pytest.fixture
def instance(endpoint: str, circuits: Circuits, pump: StreamPump) -> CircuitEvents:
    return circuits.next(len(pump.deliveries))


@pytest.fixture
def observer(instance: CircuitEvents) -> Iterator[CircuitEventObserver]:
    with CircuitEventObserver.of_function(instance.function_name, INTERVAL, instance.circuit).running() as running:
        yield running


def breaker(instance: CircuitEvents, failure_threshold: int = 1) -> Breaker:
    name, table = instance.circuit, instance.table_name
    return Breaker(
        Settings(table_name=table, circuit_name=name, failure_threshold=failure_threshold), CircuitStore(table)
    )


def transitions(observer: CircuitEventObserver, count: int) -> list[tuple[str, str]]:
    """Wait for `count` events, then let the pump catch up: the events, exactly, in arrival order."""
    observer.wait_for(count, TIMEOUT)
    return settled(observer)


def settled(observer: CircuitEventObserver) -> list[tuple[str, str]]:
    return [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in observer.events]


@pytest.fixture
def caught_up(pump: StreamPump, observer: CircuitEventObserver) -> Callable[[], list[tuple[str, str]]]:
    """Every record written so far handed to the function, and its events received."""

    def run() -> list[tuple[str, str]]:
        pump.poll()
        observer.drain()
        return settled(observer)

    return run


def test_a_trip_by_the_modules_core_is_one_event_with_the_documented_schema(instance, observer, caught_up):
    # When the module's core trips the circuit
    breaker(instance).record(instance.circuit, 0, False, "DependencyUnavailable")
    # Then one event arrives on a rule of the user's, shaped as docs/events.md's sample
    assert transitions(observer, 1) == [(CLOSED, OPEN)]
    assert caught_up() == [(CLOSED, OPEN)]
    [event] = observer.events
    sample = load_event("circuit_state_change.json")
    assert set(event) == set(sample) - {"account"}  # moto's delivery leaves `account` out
    assert (event["source"], event["detail-type"]) == (sample["source"], DETAIL_TYPE)
    assert set(event["detail"]) == set(sample["detail"])
    assert set(event["detail"]["state"]) == set(sample["detail"]["state"])
    assert (event["detail"]["circuitName"], event["detail"]["circuitBreakerName"]) == (
        instance.circuit,
        instance.circuit_breaker,
    )
    assert event["resources"] == [instance.stream_arn.split("/stream/")[0]]
    assert event["detail"]["state"]["reason"].endswith("DependencyUnavailable)")


def test_circuitctl_force_open_and_release_are_one_event_each(instance, observer, caught_up):
    table, name = instance.table_name, instance.circuit
    for command in (["force-open", name, "--create"], ["release", name]):
        assert circuitctl(["--table", table, *command, "--reason", "maintenance", "--by", "ana"]) == 0
    # A released circuit is OPEN: it probes before it closes
    assert transitions(observer, 2) == [(CLOSED, FORCED_OPEN), (FORCED_OPEN, OPEN)]
    assert caught_up() == [(CLOSED, FORCED_OPEN), (FORCED_OPEN, OPEN)]


def powertools_call(instance: CircuitEvents, fail: bool, recovery_timeout: int) -> None:
    persistence = CircuitBreakerDynamoDBPersistence(
        table_name=instance.table_name, boto3_client=boto3.client("dynamodb")
    )
    config = CircuitBreakerConfig(failure_threshold=1, recovery_timeout=recovery_timeout, local_cache_max_age=0)

    @circuit_breaker(name=instance.circuit, persistence_store=persistence, config=config)
    def downstream() -> str:
        if fail:
            raise RuntimeError("downstream down")
        return "ok"

    downstream()


def test_powertools_on_the_same_table_is_one_event_per_transition(instance, observer, caught_up):
    # Given Powertools' @circuit_breaker tripping the circuit, then probing it once the timeout is past
    with pytest.raises(RuntimeError):
        powertools_call(instance, fail=True, recovery_timeout=3600)
    boto3.client("dynamodb").update_item(
        TableName=instance.table_name,
        Key={"id": {"S": instance.circuit}},
        UpdateExpression="SET opened_at = :t",
        ExpressionAttributeValues={":t": {"N": "1"}},
    )
    for _ in range(3):  # Powertools closes after three successes
        powertools_call(instance, fail=False, recovery_timeout=1)
    # Then its writes are events like any other
    expected = [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert transitions(observer, 3) == expected
    assert caught_up() == expected


def test_a_failure_count_is_no_event(instance, observer, caught_up, pump):
    delivered = pump.counts.records
    # When failures are counted below the threshold (the first creates the CLOSED item)
    counting = breaker(instance, failure_threshold=3)
    counting.record(instance.circuit, 0, False, "Boom")
    counting.record(instance.circuit, 0, False, "Boom", failures_seen=1)
    # Then the function had both records and sent nothing
    assert caught_up() == []
    assert pump.counts.records >= delivered + 2


def test_a_replayed_batch_sends_no_duplicate(instance, observer, caught_up, pump):
    breaker(instance).record(instance.circuit, 0, False, "DependencyUnavailable")
    assert transitions(observer, 1) == [(CLOSED, OPEN)]

    # When Lambda hands the same batches to the function again (the writes may have come in one or two). The event
    # reaches the bus while the function still runs: its delivery is recorded once the function has returned.
    def delivered() -> list:
        return [d for d in pump.deliveries[instance.deliveries_before :] if d.mapping == instance.mapping_uuid]

    assert wait_for(lambda: bool(delivered()), timeout=100 * INTERVAL, step=INTERVAL)
    deliveries = delivered()
    for delivery in deliveries:
        again = pump.replay(delivery)
        # Then each succeeds and sends nothing more
        assert (again.failed, again.response) == (False, {"batchItemFailures": []})
    assert caught_up() == [(CLOSED, OPEN)]


def test_another_circuits_records_are_filtered_out(instance, observer, caught_up, pump):
    filtered = pump.counts.filtered
    # When a circuit this instance does not own changes in the same table
    table = instance.table_name
    Breaker(Settings(table_name=table, circuit_name="other", failure_threshold=1), CircuitStore(table)).record(
        "other", 0, False, "Boom"
    )
    # Then the mapping's filter (from events.tf) keeps it from the function
    assert caught_up() == []
    assert pump.counts.filtered > filtered
    assert not [d for d in pump.deliveries[instance.deliveries_before :] if d.mapping == instance.mapping_uuid]


def test_a_failing_events_function_puts_its_iterator_age_alarm_in_alarm_until_it_recovers(
    local_emulator, instance, observer, pump
):
    cloudwatch, lam = boto3.client("cloudwatch"), boto3.client("lambda")
    alarm = f"{instance.circuit_breaker}-events-iterator-age"
    [described] = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    # Bounds from the alarm as applied: its window of periods plus the age it waits for, in the emulator's time.
    window = described["EvaluationPeriods"] * described["Period"] + described["Threshold"] / 1000
    bound = 10 * window / local_emulator.time_scale

    def state() -> str:
        return cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"]

    configuration = lam.get_function_configuration(FunctionName=instance.function_name)
    variables = configuration["Environment"]["Variables"]
    assert state() != "ALARM"
    # Given an events function that cannot read its sent-events table: every batch fails, and the shard retries it
    lam.update_function_configuration(
        FunctionName=instance.function_name,
        Environment={"Variables": {**variables, "SENT_EVENTS_TABLE_NAME": "no-such-table"}},
    )
    try:
        breaker(instance).record(instance.circuit, 0, False, "DependencyUnavailable")
        # Then the record's age grows with each retry, and the alarm goes to ALARM
        assert wait_for(lambda: state() == "ALARM", timeout=bound, step=INTERVAL), state()
        assert observer.events == []
    finally:
        lam.update_function_configuration(FunctionName=instance.function_name, Environment={"Variables": variables})
    # When the function can publish again, the change goes out and the alarm returns to OK
    assert transitions(observer, 1) == [(CLOSED, OPEN)]
    assert wait_for(lambda: state() == "OK", timeout=bound, step=INTERVAL), state()


# ---------------------------------------------------------------------------- retries

SCRIPTED = """
import json, os
from pathlib import Path

def handler(event, context):
    log = Path(os.environ["LOG"])
    calls = json.loads(log.read_text()) if log.exists() else []
    calls.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
    log.write_text(json.dumps(calls))
    script = json.loads(os.environ["SCRIPT"])
    step = script[len(calls) - 1] if len(calls) <= len(script) else "ok"
    if step == "error":
        raise RuntimeError("scripted failure")
    if step == "ok":
        return {"batchItemFailures": []}
    return {"batchItemFailures": [{"itemIdentifier": calls[-1][step]}]}
"""


@pytest.fixture
def scripted(endpoint: str, local_emulator: Emulator, pump: StreamPump, tmp_path: Path):
    """A table whose stream feeds a function answering as scripted: "ok", "error", or the index of a failed record."""
    (tmp_path / "scripted.py").write_text(SCRIPTED)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scripted.py", SCRIPTED)
    scripted_zip = buffer.getvalue()
    lam, ddb = boto3.client("lambda"), boto3.client("dynamodb")

    def make(script: list, before: int = 0, **mapping) -> tuple[str, Path]:
        name = f"scripted{next(_names)}"
        log = tmp_path / f"{name}.json"
        environment = {"LOG": str(log), "SCRIPT": json.dumps(script)}
        stream = ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        role = boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arn = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="scripted.handler",
            Code={"ZipFile": scripted_zip},
            Environment={"Variables": environment},
        )["FunctionArn"]
        local_emulator.runner.register(FunctionSpec(name, "scripted.handler", tmp_path, environment))
        write(name, before, prefix="before")
        lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=arn, StartingPosition="LATEST", **mapping)
        return name, log

    return make


def write(table: str, count: int, prefix: str = "item") -> None:
    for i in range(count):
        boto3.client("dynamodb").put_item(TableName=table, Item={"id": {"S": f"{prefix}{i}"}})


def calls(log: Path) -> list[list[str]]:
    return json.loads(log.read_text()) if log.exists() else []


def settle(pump: StreamPump, log: Path, invocations: int) -> list[list[str]]:
    """Poll until the function had `invocations` calls (retries wait for a poll each)."""
    for _ in range(invocations + 5):
        pump.poll()
        if len(calls(log)) >= invocations:
            break
    pump.poll()
    return calls(log)


def test_a_latest_mapping_starts_where_the_stream_was_when_it_was_created(scripted, pump):
    # Given records written before the mapping, and one right after it, before any poll
    table, log = scripted(["ok"], before=2)
    write(table, 1)
    # Then only the later one reaches the function
    [batch] = settle(pump, log, 1)
    assert len(batch) == 1 and int(batch[0]) > 0


def test_reported_failures_are_retried_from_the_first(scripted, pump):
    table, log = scripted([1], FunctionResponseTypes=["ReportBatchItemFailures"])
    with pump.paused():
        write(table, 3)
    first, retry = settle(pump, log, 2)
    assert len(first) == 3 and retry == first[1:]


def test_reported_failures_without_report_batch_item_failures_are_success(scripted, pump):
    table, log = scripted([1])
    with pump.paused():
        write(table, 3)
    assert len(settle(pump, log, 1)) == 1


def test_a_function_error_is_bisected_then_retried_until_given_up(scripted, pump):
    retries_before, discarded_before = pump.counts.retries, pump.counts.discarded
    table, log = scripted(
        ["error"] * 20, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1, FunctionResponseTypes=[]
    )
    with pump.paused():
        write(table, 2)
    history = settle(pump, log, 5)
    # The pair fails, its first half fails twice (a retry) and is given up, then the second the same
    assert [len(batch) for batch in history] == [2, 1, 1, 1, 1]
    assert history[1] == history[2] == [history[0][0]] and history[3] == history[4] == [history[0][1]]
    assert pump.counts.discarded == discarded_before + 2
    assert pump.counts.retries >= retries_before + 3  # the halves' retries; the second half starts afresh


# ---------------------------------------------------------------------------- as Lambda reads them


def test_a_record_is_passed_as_lambda_passes_it():
    from datetime import UTC, datetime

    record = {
        "eventID": "1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 5, 1, 12, tzinfo=UTC),
            "Keys": {"b": {"B": b"\x01"}},
        },
    }
    passed = lambda_record(record, "arn:stream")
    assert passed["eventSourceARN"] == "arn:stream"
    assert passed["dynamodb"] == {"ApproximateCreationDateTime": 1777636800, "Keys": {"b": {"B": "AQ=="}}}


def test_filters_are_event_patterns_over_the_record_any_of_which_passes_it():
    record = {"eventName": "MODIFY", "dynamodb": {"Keys": {"id": {"S": "orders"}}}}
    pattern = {"dynamodb": {"Keys": {"id": {"S": ["payments"]}}}}
    assert matches(record, None) and matches(record, {"Filters": []})
    assert not matches(record, {"Filters": [{"Pattern": json.dumps(pattern)}]})
    assert matches(
        record,
        {"Filters": [{"Pattern": json.dumps(pattern)}, {"Pattern": json.dumps({"eventName": ["MODIFY"]})}]},
    )


def test_a_partial_batch_response_lambda_cannot_read_fails_the_whole_batch():
    numbers = ["10", "11", "12"]
    assert first_failure({"batchItemFailures": []}, numbers) is None
    assert first_failure(None, numbers) is None
    assert first_failure({"batchItemFailures": [{"itemIdentifier": "12"}, {"itemIdentifier": "11"}]}, numbers) == 1
    assert first_failure({"batchItemFailures": [{"itemIdentifier": ""}]}, numbers) == 0
    assert first_failure({"batchItemFailures": [{"itemIdentifier": "99"}]}, numbers) == 0


def test_the_emulator_is_as_moto_made_it_after_the_pump():
    from moto.dynamodb.models.table import StreamShard
    from moto.events.models import Rule

    originals = (StreamShard.add, Rule.send_to_targets)
    with buffered_streams(), sns_targets():
        assert (StreamShard.add, Rule.send_to_targets) != originals
    assert (StreamShard.add, Rule.send_to_targets) == originals
