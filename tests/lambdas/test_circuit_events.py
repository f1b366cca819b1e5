"""The circuit events function against moto: stream records in, events on the bus, each change once.

A rule on the default bus delivers the events to an SQS queue, as a user's rule would deliver
them to their own target; the queue shows what was put on the bus, and how many times.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from circuit_breaker.breaker import Breaker
from circuit_breaker.events import DETAIL_TYPE, ENVIRONMENT
from circuit_breaker.model import CLOSED, FORCED_OPEN, OPEN
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore
from circuit_sandbox.aws.runner import FunctionSpec, ModuleEnvironment
from tests.conftest import LAMBDAS, load_event
from tests.hcl import local
from tests.lambdas.circuit_breaker.test_event_sources import consumer_mapping
from tests.lambdas.circuit_breaker.test_events import Stream
from tests.lambdas.circuit_breaker.test_telemetry import emf_blobs

NAME = "orders"
TABLE = f"{NAME}-circuits"
SENT = f"{NAME}-sent-circuit-events"


def create_table(name: str) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )


class Bus:
    """A rule on the default bus matching every circuit event, delivering to a queue."""

    def __init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.queue_url = self.sqs.create_queue(QueueName="circuit-events")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = boto3.client("events")
        pattern = {"source": ["circuit-breaker"], "detail-type": [DETAIL_TYPE]}
        events.put_rule(Name="circuit-events", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="circuit-events", Targets=[{"Id": "queue", "Arn": queue_arn}])

    def received(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            messages += [json.loads(m["Body"]) for m in batch]
            for message in batch:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages


def statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["detail"]["previousStatus"], e["detail"]["status"]) for e in events]


@pytest.fixture
def stream(aws) -> Stream:
    create_table(TABLE)
    create_table(SENT)
    return Stream(TABLE)


@pytest.fixture
def bus(aws) -> Bus:
    return Bus()


@pytest.fixture
def breaker(stream) -> Breaker:
    return Breaker(Settings(table_name=TABLE, circuit_name=NAME, failure_threshold=1), CircuitStore(TABLE))


@pytest.fixture
def handler(stream):
    return events_function()


def events_function(**variables: str) -> Any:
    """A fresh environment of the events function, with its handler string from the HCL."""
    environment = {
        "EVENT_BUS_NAME": "default",
        "EVENT_SOURCE": "circuit-breaker",
        "SENT_EVENTS_TABLE_NAME": SENT,
        "CIRCUIT_BREAKER_NAME": NAME,
        "MODE": "enforce",
        "TABLE_KEY": json.dumps({"partition_key": "id", "sort_key": None, "partition_value": None}),
        "EVENT_SOURCE_MAPPINGS": "{}",
        "POWERTOOLS_SERVICE_NAME": NAME,
    }
    assert set(environment) == {*ENVIRONMENT, "POWERTOOLS_SERVICE_NAME"}
    environment.update(variables)
    handler = local("events.tf", "circuit_events_function")["circuit_events"]["handler"]
    return ModuleEnvironment(FunctionSpec(f"{NAME}-circuit-events", handler, LAMBDAS, environment)).module


def trip_force_release(breaker: Breaker) -> None:
    breaker.record(NAME, 0, False, "DependencyUnavailable")  # CLOSED -> OPEN
    breaker.force(NAME, FORCED_OPEN, "ana", "maintenance")  # OPEN -> FORCED_OPEN
    breaker.release(NAME, "ana", "done")  # FORCED_OPEN -> OPEN (probing next)


def test_each_change_lands_once_on_the_bus_through_a_rule(handler, breaker, stream, bus, lambda_context, capsys):
    # Given a circuit tripped, forced open and released
    trip_force_release(breaker)
    records = stream.new_records()
    capsys.readouterr()
    # When the function gets the stream batch
    response = handler.lambda_handler({"Records": records}, lambda_context)
    # Then every change is one event, in order, with the documented envelope
    assert response == {"batchItemFailures": []}
    events = bus.received()
    assert statuses(events) == [(CLOSED, OPEN), (OPEN, FORCED_OPEN), (FORCED_OPEN, OPEN)]
    sample = load_event("circuit_state_change.json")
    for event in events:
        assert set(event) == set(sample) - {"account"}  # moto's delivery leaves `account` out
        assert (event["source"], event["detail-type"]) == ("circuit-breaker", DETAIL_TYPE)
        assert event["resources"] == [f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"]
        assert event["detail"]["circuitBreakerName"] == NAME
    # And the State gauge records each new status for the dashboard
    levels = [blob["State"] for blob in emf_blobs(capsys.readouterr().out) if "State" in blob]
    assert levels == [[2], [3], [2]]


def test_replaying_a_batch_sends_no_event_twice(handler, breaker, stream, bus, lambda_context):
    # Given a batch whose events were all sent
    trip_force_release(breaker)
    records = stream.new_records()
    handler.lambda_handler({"Records": records}, lambda_context)
    assert len(bus.received()) == 3
    # When Lambda delivers the same batch again (e.g. the invocation timed out after sending)
    response = handler.lambda_handler({"Records": records}, lambda_context)
    # Then nothing is sent again
    assert response == {"batchItemFailures": []}
    assert bus.received() == []
    # And a retried tail of it (bisected, or from a reported failure) sends nothing either
    assert handler.lambda_handler({"Records": records[len(records) // 2 :]}, lambda_context) == {
        "batchItemFailures": []
    }
    assert bus.received() == []


class FailingEvents:
    """The events client, failing the `fail_at`-th PutEvents (1-based) as told."""

    def __init__(self, fail_at: int, how: str = "raise") -> None:
        self.client = boto3.client("events")
        self.calls = 0
        self.fail_at, self.how = fail_at, how

    def put_events(self, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            if self.how == "raise":
                raise ClientError({"Error": {"Code": "InternalException", "Message": "try again"}}, "PutEvents")
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]}
        return self.client.put_events(**kwargs)


@pytest.mark.parametrize("how", ["raise", "refuse"])
def test_a_failed_put_reports_it_and_every_later_record_and_the_retry_completes_in_order(
    handler, breaker, stream, bus, lambda_context, how
):
    trip_force_release(breaker)
    records = stream.new_records()
    handler.publisher._events = FailingEvents(fail_at=2, how=how)
    # When the second event cannot be put
    response = handler.lambda_handler({"Records": records}, lambda_context)
    # Then its record and every later one are reported, so Lambda retries from the first of them
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    first = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == failed[0])
    assert failed == [r["dynamodb"]["SequenceNumber"] for r in records[first:]]
    assert statuses(bus.received()) == [(CLOSED, OPEN)]
    # When Lambda retries from the first reported record
    handler.publisher._events = None
    assert handler.lambda_handler({"Records": records[first:]}, lambda_context) == {"batchItemFailures": []}
    # Then the remaining events follow, each once and in order
    assert statuses(bus.received()) == [(OPEN, FORCED_OPEN), (FORCED_OPEN, OPEN)]


class FailingDynamoDB:
    def __init__(self, operation: str) -> None:
        self.client = boto3.client("dynamodb")
        self.operation = operation

    def __getattr__(self, name):
        if name == self.operation:

            def fail(**kwargs):
                raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, name)

            return fail
        return getattr(self.client, name)


def test_without_the_sent_events_table_nothing_is_sent(handler, breaker, stream, bus, lambda_context):
    breaker.record(NAME, 0, False, "Boom")
    records = stream.new_records()
    handler.publisher._dynamodb = FailingDynamoDB("get_item")
    response = handler.lambda_handler({"Records": records}, lambda_context)
    assert response["batchItemFailures"] and bus.received() == []


def test_a_sent_event_not_remembered_is_not_reported_failed_so_lambda_does_not_resend_it(
    handler, breaker, stream, bus, lambda_context, capsys, caplog
):
    """Remembering failed after the event went out: logged and counted, and the record is done."""
    breaker.record(NAME, 0, False, "Boom")
    records = stream.new_records()
    handler.publisher._dynamodb = FailingDynamoDB("put_item")
    assert handler.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}
    assert len(bus.received()) == 1
    assert "published but not remembered" in caplog.text
    assert '"EventRememberErrors":[1.0]' in capsys.readouterr().out


def test_a_batch_delivered_again_after_a_forgotten_event_sends_it_again_with_the_same_change_id(
    handler, breaker, stream, bus, lambda_context
):
    """The guarantee's window: sent, not remembered, and the batch delivered again (a timeout)."""
    breaker.record(NAME, 0, False, "Boom")
    records = stream.new_records()
    handler.publisher._dynamodb = FailingDynamoDB("put_item")
    handler.lambda_handler({"Records": records}, lambda_context)
    handler.publisher._dynamodb = None
    assert handler.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}
    first, again = bus.received()
    assert first["detail"]["changeId"] == again["detail"]["changeId"]


def test_a_malformed_record_is_skipped_and_counted_not_retried(handler, breaker, stream, bus, lambda_context, capsys):
    breaker.record(NAME, 0, False, "Boom")
    records = stream.new_records()
    broken = json.loads(json.dumps(records[-1], default=str))
    broken["dynamodb"]["NewImage"]["state"] = {"S": "SIDEWAYS"}
    broken["eventID"] = "broken"
    capsys.readouterr()
    response = handler.lambda_handler({"Records": [broken, *records]}, lambda_context)
    assert response == {"batchItemFailures": []}
    assert statuses(bus.received()) == [(CLOSED, OPEN)]
    assert any("MalformedRecords" in blob for blob in emf_blobs(capsys.readouterr().out))


def test_lambdas_sample_stream_event_is_published(handler, bus, lambda_context):
    assert handler.lambda_handler(load_event("circuit_table_stream.json"), lambda_context) == {"batchItemFailures": []}
    events = bus.received()
    assert statuses(events) == [(CLOSED, OPEN), (OPEN, CLOSED)]
    assert events[0]["time"] == "2026-05-01T12:00:05Z"


def test_an_event_without_records_is_nothing_to_do(handler, lambda_context):
    assert handler.lambda_handler({"nothing": True}, lambda_context) == {"batchItemFailures": []}
    assert handler.process_records([]) == {"batchItemFailures": []}


def test_a_paused_consumer_is_logged_and_counted_and_a_failure_to_pause_is_retried(
    stream, breaker, lambda_context, capsys, caplog
):
    # Given the events function of a circuit that pauses a queue consumer's mapping
    mapping = consumer_mapping("orders-consumer")
    function = events_function(EVENT_SOURCE_MAPPINGS=json.dumps({NAME: [mapping]}))
    breaker.record(NAME, 0, False, "DependencyUnavailable")
    records = stream.new_records()
    capsys.readouterr()
    # When Lambda cannot disable it
    lambda_client = function.publisher.sources.client
    function.publisher.sources.client = FailingLambda()
    assert function.lambda_handler({"Records": records}, lambda_context)["batchItemFailures"]
    output = capsys.readouterr().out
    assert "event source mapping not set; to be retried" in caplog.text
    assert [blob["EventSourceErrors"] for blob in emf_blobs(output) if "EventSourceErrors" in blob] == [[1]]
    # When the record is retried and Lambda can
    function.publisher.sources.client = lambda_client
    assert function.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}
    # Then the mapping is paused, logged and counted
    assert boto3.client("lambda").get_event_source_mapping(UUID=mapping)["State"] == "Disabled"
    output = capsys.readouterr().out
    assert "event source mapping paused" in caplog.text
    assert [blob["EventSourcesPaused"] for blob in emf_blobs(output) if "EventSourcesPaused" in blob] == [[1]]


class FailingLambda:
    def get_event_source_mapping(self, **kwargs):
        raise ClientError({"Error": {"Code": "TooManyRequestsException"}}, "GetEventSourceMapping")
