"""EventBridge in the sandbox: the module's notification rule reaches a topic's subscribers.

moto's EventBridge cannot deliver to SNS; `sns_targets` (entered with the pump) does, with the
target's input transformer. The notification rule, its pattern and its message are read from
events.tf; the topic is the user's, as `notifications.topic_arn` would name it.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator

import boto3
import pytest

from circuit_breaker.breaker import Breaker
from circuit_breaker.model import CLOSED, FORCED_CLOSED, HALF_OPEN, OPEN
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore
from circuit_sandbox.aws import Emulator
from circuit_sandbox.aws.eventbridge import RuleObserver, TopicObserver, target_input, transformed
from circuit_sandbox.aws.streams import StreamPump
from circuit_sandbox.circuit_events import CircuitEventObserver
from circuit_sandbox.stack import instances_warmed
from circuitctl.cli import main as circuitctl
from tests.circuit_sandbox.circuit_events import INTERVAL, CircuitEvents, Circuits, instance_variables

TIMEOUT = 150 * INTERVAL  # bounded, and generous for a busy machine
_names = itertools.count()


@pytest.fixture
def topic_arn(endpoint: str) -> str:
    return boto3.client("sns").create_topic(Name=f"circuit-notifications-{next(_names)}")["TopicArn"]


@pytest.fixture(scope="module")
def circuits(local_emulator: Emulator) -> Circuits:
    """One instance with circuit events and notifications, applied by the real Terraform."""
    [stack] = instances_warmed(local_emulator, {"notified": instance_variables(notifications=True)}).values()
    return Circuits(stack)


@pytest.fixture
def instance(endpoint: str, circuits: Circuits, pump: StreamPump) -> CircuitEvents:
    return circuits.next(len(pump.deliveries))


@pytest.fixture
def subscriber(instance: CircuitEvents) -> Iterator[TopicObserver]:
    assert instance.notification_rule is not None
    with TopicObserver.of_rule(instance.notification_rule, interval=INTERVAL).running() as running:
        yield running


@pytest.fixture
def observer(instance: CircuitEvents) -> Iterator[CircuitEventObserver]:
    with CircuitEventObserver.of_function(instance.function_name, INTERVAL, instance.circuit).running() as running:
        yield running


# An operator's free text: quotes, a backslash, a newline and non-ASCII letters reach the topic as written.
REASON = 'the "all clear" from ops\\eu\nsecond line: café ✓'


def test_open_forced_closed_and_closed_are_notified_with_the_rules_message(instance, subscriber, observer, pump):
    name, table = instance.circuit, instance.table_name
    # Given a circuit tripped by the module, forced closed and released by an operator
    Breaker(Settings(table_name=table, circuit_name=name, failure_threshold=1), CircuitStore(table)).record(
        name, 0, False, "DependencyUnavailable"
    )
    for command in (["force-closed", name], ["release", name]):
        assert circuitctl(["--table", table, *command, "--reason", REASON, "--by", "ana"]) == 0
    # Then the subscriber gets one readable notification per change, the event's summary
    messages = [arrival.body for arrival in subscriber.wait_for(3, TIMEOUT)]
    pump.poll()
    subscriber.drain()
    assert len(subscriber.messages) == 3, subscriber.messages
    pattern = re.compile(
        rf"Circuit {name} is (\w+) \(was (\w+)\) since (\S+), "
        rf"circuit breaker {instance.circuit_breaker} in us-east-1: (.+)",
        re.DOTALL,
    )
    parsed = [pattern.fullmatch(message) for message in messages]
    assert all(parsed), messages
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m.group(3)) for m in parsed if m)
    assert parsed[-1] and parsed[-1].group(4).endswith(REASON)  # the operator's text intact: quotes, newline, unicode
    assert [(m.group(2), m.group(1)) for m in parsed if m] == [
        (CLOSED, OPEN),
        (OPEN, FORCED_CLOSED),
        (FORCED_CLOSED, CLOSED),
    ]
    # And the same changes are on the bus for anyone else's rule
    observer.wait_for(3, TIMEOUT)
    assert observer.transitions() == {(CLOSED, OPEN): 1, (OPEN, FORCED_CLOSED): 1, (FORCED_CLOSED, CLOSED): 1}
    assert observer.to_json() == {"CLOSED -> OPEN": 1, "FORCED_CLOSED -> CLOSED": 1, "OPEN -> FORCED_CLOSED": 1}


def test_a_long_outage_notifies_when_it_opens_and_when_it_closes_not_on_each_failed_probe(
    instance, subscriber, observer, pump
):
    name, table = instance.circuit, instance.table_name
    now = [time.time()]
    breaker = Breaker(
        Settings(table_name=table, circuit_name=name, failure_threshold=1, open_duration_seconds=30),
        CircuitStore(table),
        clock=lambda: now[0],
    )
    # Given a circuit that trips, fails its first probe (a reopen), and closes on the second
    breaker.record(name, 0, False, "DependencyUnavailable")
    for error in ("StillDown", None):
        now[0] += 3600  # past any open duration
        probe = breaker.check(name, f"probe-{error}")
        assert probe.probe
        breaker.record(name, probe.generation, True, error)
    # Then every change is on the bus, and the subscriber hears of the opening and the closing only
    observer.wait_for(5, TIMEOUT)
    assert observer.transitions() == {
        (CLOSED, OPEN): 1,
        (OPEN, HALF_OPEN): 2,
        (HALF_OPEN, OPEN): 1,
        (HALF_OPEN, CLOSED): 1,
    }
    messages = [arrival.body for arrival in subscriber.wait_for(2, TIMEOUT)]
    pump.poll()
    subscriber.drain()
    assert [re.search(r" is (\w+) \(was (\w+)\)", m).groups() for m in subscriber.messages] == [  # type: ignore[union-attr]
        (OPEN, CLOSED),
        (CLOSED, HALF_OPEN),
    ], messages


def test_a_rule_delivers_to_a_topic_and_a_queue_alike(endpoint, pump, topic_arn):
    # Given a rule with a topic (no input transformer: the whole event) and a queue of its own
    events = boto3.client("events")
    with (
        TopicObserver(topic_arn, INTERVAL).running() as subscriber,
        RuleObserver({"source": ["sandbox.test"]}, interval=INTERVAL).running() as observer,
    ):
        rule = f"to-topic-{next(_names)}"
        events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["sandbox.test"]}))
        events.put_targets(Rule=rule, Targets=[{"Id": "topic", "Arn": topic_arn}])
        # When an event is put on the bus
        events.put_events(Entries=[{"Source": "sandbox.test", "DetailType": "Test", "Detail": json.dumps({"n": 1})}])
        # Then the topic's subscriber and the queue each get the event once
        [notified] = [arrival.body for arrival in subscriber.wait_for(1, TIMEOUT)]
        [seen] = observer.events if observer.wait_for(1, TIMEOUT) else []
        assert (notified["source"], notified["detail-type"], notified["detail"]) == ("sandbox.test", "Test", {"n": 1})
        assert set(notified) == {
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        }
        assert seen["detail"] == {"n": 1}
        events.remove_targets(Rule=rule, Ids=["topic"])
        events.delete_rule(Name=rule)


def test_an_input_template_inserts_text_inside_its_strings_unescaped_and_json_elsewhere():
    event = {"detail": {"reason": "said stop now", "n": 2, "state": {"value": "OPEN"}}}
    transformer = {
        "InputPathsMap": {"reason": "$.detail.reason", "n": "$.detail.n", "state": "$.detail.state", "no": "$.x"},
        "InputTemplate": (
            '{"text": "<reason> (<n>, <no>)", "state": <state>, "n": <n>, "event": <aws.events.event.json>}'
        ),
    }
    assert json.loads(transformed(event, transformer)) == {
        "text": "said stop now (2, )",
        "state": {"value": "OPEN"},
        "n": 2,
        "event": event,
    }
    assert json.loads(transformed(event, {"InputTemplate": '"<unknown> stays"'})) == "<unknown> stays"
    assert json.loads(transformed(event, {})) == event
    # As EventBridge: a quote or newline inserted into a string is not escaped, and the text is no longer JSON
    quoted = {"detail": {"reason": 'the "all clear"\nsaid'}}
    text = transformed(quoted, {"InputPathsMap": {"r": "$.detail.reason"}, "InputTemplate": '"<r>"'})
    assert text == '"the "all clear"\nsaid"'
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_an_input_path_passes_the_selected_value_as_json_escaped_as_the_event_holds_it():
    event = {"detail": {"summary": 'the "all clear"\nsaid \u00e9', "n": 2}}
    assert json.loads(target_input(event, {"InputPath": "$.detail.summary"})) == event["detail"]["summary"]
    assert json.loads(target_input(event, {"InputPath": "$.detail"})) == event["detail"]
    assert target_input(event, {"Input": '"fixed"'}) == '"fixed"'
    assert json.loads(target_input(event, {})) == event
