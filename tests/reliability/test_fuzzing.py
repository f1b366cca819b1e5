"""Every entry point, fed malformed and adversarial input: a defined outcome, and the table stays sound."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circuit_sandbox.aws.worker import Context
from circuitctl import cli
from tests.reliability.conftest import assert_invariants, count, handler_environment, items

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
NAMES = st.sampled_from(["orders", "payments", "", "ORDERS", "orders\u0000", "ørders", "o" * 2000]) | st.text(
    max_size=30
)
ALARMS = st.sampled_from(["orders-downstream", "orders-healthcheck", "payments-downstream", ""]) | st.text(max_size=300)
STATES = st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA", "alarm", ""]) | st.text(max_size=20) | JSON
TIMES = (
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    )
    | st.text(max_size=40)
    | JSON
)


CONTEXT = Context("fuzz", "fuzz-request", 30, "us-east-1")

alarm_messages = st.fixed_dictionaries(
    {},
    optional={
        "AlarmName": ALARMS,
        "NewStateValue": STATES,
        "StateChangeTime": TIMES,
        "OldStateValue": STATES,
        "Trigger": JSON,
        "AlarmDescription": st.text(max_size=5000),
    },
)
sns_records = (
    st.fixed_dictionaries(
        {
            "EventSource": st.just("aws:sns"),
            "Sns": st.fixed_dictionaries(
                {"Message": alarm_messages.map(json.dumps) | st.text(max_size=200) | st.just("x" * 300_000)}
            ),
        }
    )
    | JSON
)
sns_events = st.fixed_dictionaries({"Records": st.lists(sns_records, max_size=4)}) | JSON


@pytest.mark.usefixtures("circuits")
def test_alarm_handler_survives_anything_sns_could_deliver():
    lambda_handler = handler_environment("alarm_handler").handler

    @given(event=sns_events)
    def example(event):
        before = items()
        lambda_handler(event, CONTEXT)  # skips what it cannot use; raises only on store errors
        assert_invariants(before, items())
        count("fuzzed examples: alarm_handler")

    example()


check_events = (
    st.fixed_dictionaries(
        {},
        optional={
            "circuit": NAMES,
            "caller": JSON,
            "input": st.fixed_dictionaries({}, optional={"circuit": NAMES | JSON}) | JSON,
        },
    )
    | JSON
)


@pytest.mark.usefixtures("circuits")
def test_state_check_answers_or_refuses_clearly():
    check = handler_environment("check_circuit")
    lambda_handler, refusal = check.handler, check.module.InvalidCircuitRequest

    @given(event=check_events)
    def example(event):
        before = items()
        try:
            decision = lambda_handler(event, CONTEXT)
            assert decision["action"] in ("call", "call_and_record", "short_circuit")
            assert decision["circuit"] in ("orders", "orders-eu")
        except refusal:
            count("fuzzed refusals: check_circuit")
        assert_invariants(before, items())
        count("fuzzed examples: check_circuit")

    example()


outcome_events = (
    st.fixed_dictionaries(
        {},
        optional={
            "circuit": NAMES,
            "generation": st.integers(-5, 2**70) | JSON,
            "probe": st.booleans() | JSON,
            "error": st.sampled_from([None, "DependencyUnavailable", "States.Timeout"]) | st.text(max_size=600) | JSON,
        },
    )
    | JSON
)


@pytest.mark.usefixtures("circuits")
def test_outcome_recording_never_fails_the_execution():
    lambda_handler = handler_environment("record_outcome", failure_threshold=3).handler

    @given(event=outcome_events)
    def example(event):
        before = items()
        result = lambda_handler(event, CONTEXT)
        assert set(result) == {"recorded", "outcome"}
        assert_invariants(before, items())
        count("fuzzed examples: record_outcome")

    example()


WORDS = st.sampled_from(
    [
        "list",
        "show",
        "force-open",
        "force-closed",
        "release",
        "orders",
        "payments",
        "--table",
        "orders-circuits",
        "--reason",
        "--by",
        "--expires-in",
        "2h",
        "0s",
        "-1m",
        "--json",
        "--create",
        "--help",
        "x" * 500,
        "\u202e",
    ]
) | st.text(max_size=20)


@pytest.mark.usefixtures("circuits")
def test_circuitctl_reports_bad_arguments_and_never_touches_other_circuits(capsys):
    @given(argv=st.lists(WORDS, max_size=8))
    def example(argv):
        before = items()
        try:
            status = cli.main(argv)
        except SystemExit as exit_:  # argparse: usage errors and --help
            status = exit_.code
        assert status in (0, 1, 2)
        capsys.readouterr()
        operator_targets_other = "payments" in argv and any(
            word in argv for word in ("force-open", "force-closed", "release")
        )
        assert_invariants(before, items(), other_may_change=operator_targets_other)
        count("fuzzed examples: circuitctl")

    example()


class RecordingEvents:
    def __init__(self) -> None:
        self.entries: list[dict] = []

    def put_events(self, Entries):
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(len(self.entries))} for _ in Entries]}


class SentEventsTable:
    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def get_item(self, TableName, Key, ConsistentRead):
        item = self.items.get(Key["id"]["S"])
        return {"Item": item} if item else {}

    def put_item(self, TableName, Item):
        self.items[Item["id"]["S"]] = Item


TYPED = st.one_of(
    st.fixed_dictionaries({"S": st.sampled_from(["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "open"]) | JSON}),
    st.fixed_dictionaries({"N": st.sampled_from(["0", "1", "7", "-1", "1e400", "abc", "NaN"]) | JSON}),
    st.fixed_dictionaries({"NULL": st.booleans()}),
    JSON,
)
ATTRIBUTES = ["id", "state", "override", "generation", "reason", "updated_at", "failure_count"]
IMAGES = st.fixed_dictionaries(
    {"state": st.sampled_from(["CLOSED", "OPEN", "HALF_OPEN"]).map(lambda state: {"S": state})},
    optional={
        "override": st.sampled_from(["FORCED_OPEN", "FORCED_CLOSED"]).map(lambda override: {"S": override}),
        "generation": st.integers(0, 2**53).map(lambda generation: {"N": str(generation)}),
        "reason": st.text(max_size=50).map(lambda reason: {"S": reason}),
    },
) | st.dictionaries(st.sampled_from(ATTRIBUTES) | st.text(max_size=8), TYPED, max_size=6)
stream_records = st.fixed_dictionaries(
    {
        "eventID": st.text(min_size=1, max_size=12),
        "eventName": st.sampled_from(["INSERT", "MODIFY", "REMOVE", "UPSERT"]),
        "dynamodb": st.fixed_dictionaries(
            {"Keys": st.just({"id": {"S": "orders"}}) | JSON, "SequenceNumber": st.text(min_size=1, max_size=6)},
            optional={
                "OldImage": IMAGES,
                "NewImage": IMAGES,
                "ApproximateCreationDateTime": st.integers(0, 4_000_000_000) | JSON,
                "StreamViewType": st.sampled_from(["NEW_AND_OLD_IMAGES", "KEYS_ONLY"]),
            },
        ),
    }
)


@given(st.lists(stream_records | JSON, max_size=5))
def test_circuit_events_publish_or_skip_whatever_a_stream_could_deliver(records):
    from circuit_breaker.events import STATUS_LEVELS, EventSettings, Publisher

    events, sent = RecordingEvents(), SentEventsTable()
    publisher = Publisher(EventSettings("default", "circuit-breaker", "sent", "orders"), events, sent)
    # A record is published or skipped, never retried for what it holds; replaying the batch sends nothing more.
    assert publisher.process(records) == {"batchItemFailures": []}
    published = len(events.entries)
    assert publisher.process(records) == {"batchItemFailures": []}
    assert len(events.entries) == published
    for entry in events.entries:
        detail = json.loads(entry["Detail"])
        assert detail["status"] in STATUS_LEVELS and detail["previousStatus"] in STATUS_LEVELS
        now, before = detail["state"], detail["previousState"]
        assert (now["value"], now["override"]) != (before["value"], before["override"])
    count("fuzzed examples: circuit_events")
    count("fuzzed events published: circuit_events", published)
