"""Paused event sources: a queue consumer's mappings follow the circuit's changes, from every writer.

The mappings are moto's (an SQS queue feeding a function); the changes are the stream records
moto's DynamoDB Streams hands out after the real writers ran: this module's rules, circuitctl and
Powertools' own @circuit_breaker on the same table.
"""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from circuit_breaker.event_sources import EventSources, admits_calls, mappings_from_json
from circuit_breaker.events import EventSettings, Publisher
from circuit_breaker.model import CLOSED, FORCED_CLOSED, FORCED_OPEN, HALF_OPEN, OPEN, Circuit
from circuitctl.cli import main as circuitctl
from tests.lambdas.circuit_breaker.test_events import Stream
from tests.lambdas.circuit_breaker.test_powertools_compatibility import CIRCUIT, backdate_opened_at, powertools_call

SENT = "sent-circuit-events"


def consumer_mapping(name: str) -> str:
    """A function fed by an SQS queue, as a queue consumer is; the mapping's UUID."""
    role = boto3.client("iam").create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]
            }
        ),
    )["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("consumer.py", "def handler(event, context):\n    return None\n")
    function = boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="consumer.handler",
        Code={"ZipFile": package.getvalue()},
    )["FunctionArn"]
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName=f"{name}-queue")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    return boto3.client("lambda").create_event_source_mapping(EventSourceArn=queue, FunctionName=function)["UUID"]


def enabled(uuid: str) -> bool:
    state = boto3.client("lambda").get_event_source_mapping(UUID=uuid)["State"]
    assert state in ("Enabled", "Disabled")
    return state == "Enabled"


class Recorder:
    """The Lambda client, recording each update it passes on; failing the ones told to."""

    def __init__(self, fail: int = 0) -> None:
        self.client = boto3.client("lambda")
        self.updates: list[tuple[str, bool]] = []
        self.fail = fail

    def get_event_source_mapping(self, **kwargs):
        return self.client.get_event_source_mapping(**kwargs)

    def update_event_source_mapping(self, UUID: str, Enabled: bool):
        if self.fail:
            self.fail -= 1
            raise ClientError({"Error": {"Code": "ResourceInUseException", "Message": "Disabling"}}, "Update")
        self.updates.append((UUID, Enabled))
        return self.client.update_event_source_mapping(UUID=UUID, Enabled=Enabled)


@pytest.fixture
def mapping(table) -> str:
    boto3.client("dynamodb").create_table(
        TableName=SENT,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return consumer_mapping("orders-consumer")


@pytest.fixture
def stream(table) -> Stream:
    return Stream(table)


def publisher(mappings: dict[str, tuple[str, ...]], mode: str = "enforce", client=None) -> Publisher:
    settings = EventSettings("default", "circuit-breaker", SENT, "orders", mode, event_source_mappings=mappings)
    return Publisher(settings, sources=EventSources(mappings, client or boto3.client("lambda")))


def test_the_module_pauses_the_consumer_while_open_and_resumes_it_on_close(make_breaker, stream, mapping, clock):
    events = publisher({CIRCUIT: (mapping,)})
    breaker = make_breaker(failure_threshold=1)
    # When the circuit trips
    breaker.record(CIRCUIT, 0, False, "Boom")
    assert events.process(stream.new_records()) == {"batchItemFailures": []}
    # Then the consumer's mapping is disabled
    assert not enabled(mapping)
    # And while a probe is out (HALF_OPEN) it stays so
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    events.process(stream.new_records())
    assert breaker.store.read(CIRCUIT).state == HALF_OPEN and not enabled(mapping)
    # When the probe's success closes the circuit
    breaker.record(CIRCUIT, probe.generation, True, None)
    events.process(stream.new_records())
    # Then it is enabled again
    assert enabled(mapping)


def test_operators_overrides_pause_and_resume_the_consumer(table, stream, mapping):
    events = publisher({CIRCUIT: (mapping,)})
    seen = []
    commands = (["force-open", CIRCUIT, "--create"], ["force-closed", CIRCUIT], ["release", CIRCUIT])
    for command in (*commands, ["force-open", CIRCUIT], ["release", CIRCUIT]):
        assert circuitctl(["--table", table, *command, "--reason", "maintenance", "--by", "ana"]) == 0
        events.process(stream.new_records())
        seen.append(enabled(mapping))
    # FORCED_OPEN pauses, FORCED_CLOSED resumes and its release (CLOSED) keeps it so; a released
    # force-open is OPEN, waiting for its probe: still paused
    assert seen == [False, True, True, False, False]


def test_powertools_transitions_pause_and_resume_the_consumer(table, stream, mapping):
    events = publisher({CIRCUIT: (mapping,)})
    calls: list = []
    with pytest.raises(RuntimeError):
        powertools_call(table, calls, fail=True, recovery_timeout=3600)
    events.process(stream.new_records())
    assert not enabled(mapping)
    backdate_opened_at(table)
    for _ in range(3):  # three successes close it
        powertools_call(table, calls, recovery_timeout=1)
    events.process(stream.new_records())
    assert enabled(mapping)


def test_only_the_batchs_last_change_of_a_circuit_sets_its_mappings(make_breaker, stream, mapping, clock):
    # Given a trip, a probe and its success in one batch
    breaker = make_breaker(failure_threshold=1)
    breaker.record(CIRCUIT, 0, False, "Boom")
    clock.advance(31)
    probe = breaker.check(CIRCUIT, "probe")
    breaker.record(CIRCUIT, probe.generation, True, None)
    recorder = Recorder()
    # When the batch is handled
    publisher({CIRCUIT: (mapping,)}, client=recorder).process(stream.new_records())
    # Then the mapping is left as the circuit ends (enabled), without a disable undone at once
    assert recorder.updates == [] and enabled(mapping)


def test_a_mapping_that_cannot_be_set_fails_the_record_and_its_retry_sets_it(make_breaker, stream, mapping):
    make_breaker(failure_threshold=1).record(CIRCUIT, 0, False, "Boom")
    make_breaker().force(CIRCUIT, FORCED_OPEN, "ana", "hold")  # a second change after it
    records = stream.new_records()
    failing = Recorder(fail=1)
    events = publisher({CIRCUIT: (mapping,)}, client=failing)
    # When the update is refused (e.g. the mapping is still Enabling)
    response = events.process(records)
    # Then the circuit's last change is reported, so Lambda retries from it
    assert response == {"batchItemFailures": [{"itemIdentifier": records[-1]["dynamodb"]["SequenceNumber"]}]}
    assert enabled(mapping)
    # And the retry of that record disables it
    assert events.process(records[-1:]) == {"batchItemFailures": []}
    assert failing.updates == [(mapping, False)] and not enabled(mapping)
    # And a replay of the whole batch changes nothing more
    assert events.process(records) == {"batchItemFailures": []}
    assert failing.updates == [(mapping, False)]


def test_observe_mode_pauses_nothing(make_breaker, stream, mapping):
    make_breaker(failure_threshold=1).record(CIRCUIT, 0, False, "Boom")
    publisher({CIRCUIT: (mapping,)}, mode="observe").process(stream.new_records())
    assert enabled(mapping)


def test_another_circuits_changes_leave_the_mappings_alone(make_breaker, stream, mapping):
    make_breaker(failure_threshold=1).record("payments", 0, False, "Boom")
    recorder = Recorder()
    publisher({CIRCUIT: (mapping,)}, client=recorder).process(stream.new_records())
    assert recorder.updates == [] and enabled(mapping)


@pytest.mark.parametrize(
    ("state", "override", "admits"),
    [
        (CLOSED, None, True),
        (OPEN, None, False),
        (HALF_OPEN, None, False),
        (OPEN, FORCED_CLOSED, True),
        (CLOSED, FORCED_OPEN, False),
    ],
)
def test_calls_are_admitted_when_closed_or_forced_closed(state, override, admits):
    circuit = Circuit(name=CIRCUIT, state=state, override=override)
    assert admits_calls(circuit) is admits
    assert admits_calls(circuit, mode="observe")


@pytest.mark.parametrize("text", ["[]", '{"orders": "uuid"}', '{"orders": [""]}', '{"orders": [1]}', "{"])
def test_a_malformed_mappings_variable_is_refused_with_its_name(text):
    with pytest.raises(ValueError, match="EVENT_SOURCE_MAPPINGS"):
        mappings_from_json(text)


def test_the_mappings_variable_reads_as_circuit_to_uuids():
    assert mappings_from_json('{"orders": ["a", "b"]}') == {"orders": ("a", "b")}
    assert mappings_from_json("") == {}
