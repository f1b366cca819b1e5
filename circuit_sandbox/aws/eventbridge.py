"""EventBridge as users see it: rules delivering to SNS, and observers of what arrives.

moto's EventBridge delivers a matching event to SQS queues, log groups and other buses but
fails the whole PutEvents for a rule with an SNS target. `sns_targets` makes such a rule publish
to its topic what EventBridge would: the event, or the part its InputPath selects, or what its
InputTransformer makes of it.

`RuleObserver` is a user's own rule on the bus: every event its pattern matches goes to a queue
of its own, read in the background, each event kept with the time it arrived. `TopicObserver` is
a subscriber of a topic (an SQS subscription): the notifications delivered.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import boto3

from .background import every


@contextmanager
def sns_targets() -> Iterator[None]:
    """Let an EventBridge rule deliver to an SNS topic target."""
    from moto.events.models import Rule
    from moto.sns.models import sns_backends
    from moto.utilities.arns import parse_arn

    original = Rule.send_to_targets

    def send_to_targets(rule: Rule, original_event: Any, transform_input: bool = True) -> None:
        topics = [t for t in rule.targets if parse_arn(t["Arn"]).service == "sns"]
        if topics and rule.event_pattern.matches_event(original_event):
            for target in topics:
                message = target_input(as_delivered(original_event), target if transform_input else {})
                arn = parse_arn(target["Arn"])
                sns_backends[arn.account][arn.region].publish(message, arn=target["Arn"])
        if topics:
            others = copy.copy(rule)  # the rule's other targets, without touching the rule itself
            others.targets = [t for t in rule.targets if t not in topics]
            original(others, original_event, transform_input)
        else:
            original(rule, original_event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Rule.send_to_targets = original  # type: ignore[method-assign]


def as_delivered(event: Any) -> dict[str, Any]:
    """The event as a target gets it: `time` in ISO 8601 (moto keeps epoch seconds), no ingestion time."""
    from datetime import UTC, datetime

    delivered = {key: value for key, value in dict(event).items() if key != "ingestion-time"}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = datetime.fromtimestamp(delivered["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def target_input(event: dict[str, Any], target: dict[str, Any]) -> str:
    """What a target receives as JSON text: its constant Input, the value its InputPath selects
    (as JSON, escaped as the event holds it), what its InputTransformer makes, or the whole event."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        found = parse(target["InputPath"]).find(event)
        return json.dumps(found[0].value if found else None, default=str)
    return transformed(event, target.get("InputTransformer") or {})


def transformed(event: dict[str, Any], transformer: dict[str, Any]) -> str:
    """What a target with this InputTransformer receives: the template filled in, as text.

    As in EventBridge, a value inside a quoted string of the template is inserted as its text,
    unescaped ("EventBridge does not escape values extracted by Input Path": a quote or newline
    in it breaks the JSON), elsewhere as JSON; without a template the target gets the whole event.
    """
    from jsonpath_ng.ext import parse

    template = transformer.get("InputTemplate")
    if template is None:
        return json.dumps(event, default=str)
    values: dict[str, Any] = {"aws.events.event.json": event}
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        found = parse(path).find(event)
        values[name] = found[0].value if found else None
    filled, in_string, escaped = [], False, False
    for piece in re.split(r"(<[\w.-]+>)", template):
        match = re.fullmatch(r"<([\w.-]+)>", piece)
        if match and match.group(1) in values:
            value = values[match.group(1)]
            if in_string:
                filled.append(
                    "" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
                )
            else:
                filled.append(json.dumps(value, default=str))
            continue
        for character in piece:  # where the template's own strings begin and end
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = in_string
            elif character == '"':
                in_string = not in_string
        filled.append(piece)
    return "".join(filled)


@dataclass(frozen=True)
class Arrival:
    at: float  # epoch seconds, when the observer received it
    body: Any  # the event (or the notification's message), parsed when it is JSON


class QueueReader:
    """A queue of the observer's own, drained every `interval` seconds in a background thread."""

    def __init__(self, name: str, interval: float) -> None:
        self.interval = interval
        self.arrivals: list[Arrival] = []
        self._sqs = boto3.client("sqs")
        self.queue_url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        self.queue_arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._lock = threading.Lock()

    def drain(self) -> int:
        """Receive what is in the queue now; returns how many arrived."""
        received = 0
        while messages := self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            now = time.time()
            with self._lock:
                self.arrivals += [Arrival(now, self._parse(m["Body"])) for m in messages]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            received += len(messages)
        return received

    def _parse(self, body: str) -> Any:
        return _json_or_text(body)

    @contextmanager
    def draining(self) -> Iterator[None]:
        try:
            with every(self.interval, self.drain, f"observer-{self.queue_arn.rsplit(':', 1)[-1]}"):
                yield
        finally:
            self.drain()
            self._sqs.delete_queue(QueueUrl=self.queue_url)

    def wait_for(self, count: int, timeout: float) -> list[Arrival]:
        """Wait until at least `count` arrivals (or `timeout` seconds); returns them all."""
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and time.monotonic() < deadline:
            time.sleep(self.interval / 2)
        with self._lock:
            return list(self.arrivals)


class RuleObserver(QueueReader):
    """A rule of its own on `bus` sending the events that match `pattern` to a queue: what a user's target gets."""

    def __init__(self, pattern: dict[str, Any], bus: str = "default", interval: float = 0.1) -> None:
        super().__init__(f"observer-{uuid.uuid4().hex[:12]}", interval)
        self.pattern, self.bus = pattern, bus
        self.rule = self.queue_arn.rsplit(":", 1)[-1]
        self._events = boto3.client("events")

    @property
    def events(self) -> list[dict[str, Any]]:
        return [arrival.body for arrival in self.arrivals]

    @contextmanager
    def running(self) -> Iterator[Self]:
        self._events.put_rule(
            Name=self.rule,
            EventBusName=self.bus,
            EventPattern=json.dumps(self.pattern),
            Description="The sandbox's observer of events on the bus.",
        )
        self._events.put_targets(
            Rule=self.rule, EventBusName=self.bus, Targets=[{"Id": "observer", "Arn": self.queue_arn}]
        )
        try:
            with self.draining():
                yield self
        finally:
            self._events.remove_targets(Rule=self.rule, EventBusName=self.bus, Ids=["observer"])
            self._events.delete_rule(Name=self.rule, EventBusName=self.bus)


class TopicObserver(QueueReader):
    """A queue subscribed to `topic_arn`: the notifications its subscribers get."""

    def __init__(self, topic_arn: str, interval: float = 0.1) -> None:
        super().__init__(f"subscriber-{uuid.uuid4().hex[:12]}", interval)
        self.topic_arn = topic_arn
        self._sns = boto3.client("sns")

    @classmethod
    def of_rule(cls, rule: str, bus: str = "default", interval: float = 0.1) -> TopicObserver:
        """Subscribe to the topic the rule `rule` (e.g. the module's notification rule) targets."""
        targets = boto3.client("events").list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
        topics = [t["Arn"] for t in targets if t["Arn"].split(":")[2] == "sns"]
        if len(topics) != 1:
            raise ValueError(f"rule {rule} targets {len(topics)} SNS topics; expected one")
        return cls(topics[0], interval)

    @property
    def messages(self) -> list[Any]:
        """Each notification's message, parsed when it is JSON (an input template's string is a JSON string)."""
        return [arrival.body for arrival in self.arrivals]

    def _parse(self, body: str) -> Any:
        return _json_or_text(json.loads(body)["Message"])

    @contextmanager
    def running(self) -> Iterator[TopicObserver]:
        subscription = self._sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=self.queue_arn)[
            "SubscriptionArn"
        ]
        try:
            with self.draining():
                yield self
        finally:
            self._sns.unsubscribe(SubscriptionArn=subscription)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
