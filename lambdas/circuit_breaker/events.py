"""Circuit events: every change of a circuit's state or override, read from the table's stream.

The events come from the table itself (DynamoDB Streams, NEW_AND_OLD_IMAGES), not from the
writers, so a change made by this module, by `circuitctl` or by Powertools' `@circuit_breaker`
on the same table becomes an event alike, and no writer can forget one.

One stream record is one write, and DynamoDB puts each write in the stream exactly once. A
record becomes at most one event, and only when the write changed `state` or `override`
(failure counts, alarm recordings and probe counters change neither). EventBridge has no
deduplication of its own (PutEvents twice is two events), so a record whose event was sent is
remembered in a small table of sent events, keyed by the record's `eventID`, which Lambda
keeps when it retries a batch: a replayed record is recognised and not sent again.

The event follows AWS's own "CloudWatch Alarm State Change": `detail.state` and
`detail.previousState` with `value`, `reason` and `timestamp`, plus `override` and
`generation`; `detail.status` names the change in one word for rules and notifications.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from circuit_breaker import clients
from circuit_breaker.event_sources import EventSources, mappings_from_json
from circuit_breaker.exceptions import EventSourceError, MalformedRecord, PublishError
from circuit_breaker.model import (
    CLOSED,
    DEFAULT_TABLE_KEY,
    HALF_OPEN,
    OPEN,
    OVERRIDES,
    Attr,
    Circuit,
    TableKey,
    iso8601,
)
from circuit_breaker.settings import ENVIRONMENT as SETTINGS_ENVIRONMENT
from circuit_breaker.settings import reader
from circuit_breaker.store import circuit_from_typed_item

DETAIL_TYPE = "Circuit State Change"

# The `State` gauge the events function emits on every change, for the dashboard: one level per
# status, forced statuses beyond the automatic ones.
STATUS_LEVELS = {"FORCED_CLOSED": -1, CLOSED: 0, HALF_OPEN: 1, OPEN: 2, "FORCED_OPEN": 3}

# How long a sent event is remembered. A stream keeps records for 24 hours, so no retry of a
# record can come later than that; twice as long leaves room for clock skew and TTL's lag.
SENT_EVENT_TTL_SECONDS = 2 * 86400

# Attempts at remembering a sent event (each with botocore's own retries) before going on without.
REMEMBER_ATTEMPTS = 3


@dataclass(frozen=True)
class CircuitChange:
    """One write that changed a circuit's state or override."""

    change_id: str
    previous: Circuit
    current: Circuit
    time: datetime
    table_arn: str
    removed: bool = False
    expired: bool = False

    @property
    def circuit(self) -> str:
        return self.current.name


def status(circuit: Circuit) -> str:
    """The circuit in one word: its override when one is set, else its state."""
    return circuit.override or circuit.state


def circuit_change(record: Mapping[str, Any], key: TableKey | None = None) -> CircuitChange | None:
    """The change one stream record describes, or None when it changed neither state nor override, or is not a
    circuit's (another partition of a single table). `key`: how the table keys circuits (default: by `id`)."""
    key = key or DEFAULT_TABLE_KEY
    stream = record.get("dynamodb") if isinstance(record, Mapping) else None
    if not isinstance(stream, Mapping):
        raise MalformedRecord("stream record has no dynamodb object")
    event_id, event_name = record.get("eventID"), record.get("eventName")
    if not isinstance(event_id, str) or not event_id or event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise MalformedRecord("stream record needs an eventID and eventName INSERT, MODIFY or REMOVE")
    keys = stream.get("Keys")
    if not isinstance(keys, Mapping):
        raise MalformedRecord("stream record has no Keys")
    if key.sort_key is not None and keys.get(key.partition_key) != {"S": key.partition_value}:
        return None  # another item of a single table: not a circuit
    name = key.name_in(dict(keys))
    if name is None:
        raise MalformedRecord(f"stream record's Keys has no string {key.sort_key or key.partition_key}")
    if stream.get("StreamViewType", "NEW_AND_OLD_IMAGES") != "NEW_AND_OLD_IMAGES":
        raise MalformedRecord("the stream must carry NEW_AND_OLD_IMAGES")
    try:
        previous = circuit_from_typed_item(name, stream.get("OldImage"))
        current = circuit_from_typed_item(name, stream.get("NewImage"))
    except (ValueError, ArithmeticError) as error:  # unknown states, numbers no Decimal holds
        raise MalformedRecord(f"circuit {name!r}: {error}") from None
    for circuit in (previous, current):
        if circuit.override not in (None, *OVERRIDES):
            raise MalformedRecord(f"circuit {name!r} has unknown override {str(circuit.override)[:40]!r}")
    if (previous.state, previous.override) == (current.state, current.override):
        return None
    user = record.get("userIdentity")
    return CircuitChange(
        change_id=event_id,
        previous=previous,
        current=current,
        time=_change_time(stream.get("ApproximateCreationDateTime")),
        table_arn=str(record.get("eventSourceARN", "")).split("/stream/", 1)[0],
        removed=event_name == "REMOVE",
        expired=event_name == "REMOVE"
        and isinstance(user, Mapping)
        and user.get("principalId") == "dynamodb.amazonaws.com",
    )


def detail(change: CircuitChange, circuit_breaker: str, mode: str = "enforce") -> dict[str, Any]:
    """The event's `detail`, JSON-ready. `mode`: the sending instance's (observe: no call is short-circuited)."""
    reason = change.current.reason or None
    if change.removed:
        reason = "record expired (TTL): the circuit reads as CLOSED" if change.expired else "record deleted"
    return {
        "circuitName": change.circuit,
        "circuitBreakerName": circuit_breaker,
        "status": status(change.current),
        "previousStatus": status(change.previous),
        "state": _state(change.current, reason, change.time),
        "previousState": _state(change.previous, change.previous.reason or None, None),
        "changeId": change.change_id,
        "mode": mode,
        "summary": summary(change, circuit_breaker, reason, mode),
    }


def summary(change: CircuitChange, circuit_breaker: str, reason: str | None, mode: str = "enforce") -> str:
    """The change in one line a person can act on: the notification topic's message (events.tf sends this field as
    it is, since EventBridge's input templates do not escape what they insert: an operator's reason with quotes or
    a newline would break the message)."""
    arn = change.table_arn.split(":")
    region = arn[3] if len(arn) > 5 else "an unknown region"
    since = change.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (
        f"Circuit {change.circuit} is {status(change.current)} (was {status(change.previous)}) since {since}, "
        f"circuit breaker {circuit_breaker} in {region}"
    )
    if change.current.ramp_until is not None and change.current.state == CLOSED:
        text += f", ramping up until {iso8601(change.current.ramp_until)}"
    if mode == "observe":
        text += " (observe mode: no call is short-circuited)"
    return f"{text}: {reason}" if reason else text


def entry(change: CircuitChange, source: str, bus: str, circuit_breaker: str, mode: str = "enforce") -> dict[str, Any]:
    """One PutEvents entry."""
    return {
        "Source": source,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail(change, circuit_breaker, mode), default=str),
        "Resources": [change.table_arn] if change.table_arn else [],
        "Time": change.time,
        "EventBusName": bus,
    }


def _state(circuit: Circuit, reason: str | None, fallback_time: datetime | None) -> dict[str, Any]:
    timestamp = circuit.updated_at or (_iso(fallback_time) if fallback_time else None)
    return {
        "value": circuit.state,
        "override": circuit.override,
        "reason": reason,
        "timestamp": timestamp,
        "generation": circuit.generation,
        "rampUntil": iso8601(circuit.ramp_until),
    }


def _change_time(value: Any) -> datetime:
    """Streams give epoch seconds (Lambda's event) or a datetime (boto3's GetRecords)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):  # not a time a stream could give: the change is now
            pass
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class EventSettings:
    bus: str
    source: str
    sent_events_table: str
    circuit_breaker: str
    mode: str = "enforce"  # the sending instance's: observe short-circuits no call
    table_key: TableKey = DEFAULT_TABLE_KEY  # how the circuit table keys its circuits
    # circuit -> the event source mappings it pauses while it admits no calls (circuit_breaker.event_sources)
    event_source_mappings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> EventSettings:
        get = reader(ENVIRONMENT, environ)
        return cls(
            table_key=TableKey.from_json(get("TABLE_KEY")),
            event_source_mappings=mappings_from_json(get("EVENT_SOURCE_MAPPINGS")),
            bus=get("EVENT_BUS_NAME"),
            source=get("EVENT_SOURCE"),
            sent_events_table=get("SENT_EVENTS_TABLE_NAME"),
            circuit_breaker=get("CIRCUIT_BREAKER_NAME"),
            mode=get("MODE"),
        )


# name -> (required, default). lambda.tf sets them on the events function (circuit_events_environment).
# MODE and TABLE_KEY are the circuit functions' own, defaults and all.
ENVIRONMENT: dict[str, tuple[bool, str]] = {
    "EVENT_BUS_NAME": (False, "default"),
    "EVENT_SOURCE": (False, "circuit-breaker"),
    "EVENT_SOURCE_MAPPINGS": (False, "{}"),
    **{name: (True, "") for name in ("SENT_EVENTS_TABLE_NAME", "CIRCUIT_BREAKER_NAME")},
    **{name: SETTINGS_ENVIRONMENT[name] for name in ("MODE", "TABLE_KEY")},
}


class Publisher:
    """Turns a batch of stream records into events, sending each change once.

    Records are handled in stream order, and the first one that fails stops the batch: it and
    every later record are reported as failures (ReportBatchItemFailures), so Lambda retries from
    it and the events of one circuit never overtake each other. A record whose event was already
    sent (a retried batch, or a whole batch replayed after a timeout) is recognised by its entry
    in the sent-events table and skipped.

    Events are sent at least once, with one `changeId` per change; consumers that must never see
    a duplicate keep the last `changeId` they handled. A change is sent twice when the batch
    holding it is delivered again after the event went out but before it was remembered: the
    function stopped between the two calls (killed, timed out), remembering failed three times
    (counted, and the record is not reported as failed, which would resend it for certain), or
    PutEvents failed ambiguously (the event accepted, the answer lost) and the record was retried.

    With `sources`, the last change of each circuit in the batch also sets the event source mappings
    that circuit pauses (the earlier ones would only be undone); a mapping that cannot be set fails
    that record like an unsent event, and its retry sets it again.
    """

    def __init__(
        self,
        settings: EventSettings,
        events_client: Any = None,
        dynamodb_client: Any = None,
        clock: Callable[[], float] = time.time,
        on_published: Callable[[CircuitChange], None] = lambda change: None,
        on_skipped: Callable[[str, str], None] = lambda reason, circuit: None,
        on_failed: Callable[[PublishError], None] = lambda error: None,
        on_forgotten: Callable[[PublishError], None] = lambda error: None,
        sources: EventSources | None = None,
        on_source_failed: Callable[[EventSourceError], None] = lambda error: None,
    ) -> None:
        self.settings = settings
        self._events = events_client
        self._dynamodb = dynamodb_client
        self.clock = clock
        self.on_published = on_published
        self.on_skipped = on_skipped
        self.on_failed = on_failed
        self.on_forgotten = on_forgotten
        self.sources = sources
        self.on_source_failed = on_source_failed

    @property
    def events(self) -> Any:
        if self._events is None:
            self._events = clients.client("events")
        return self._events

    @property
    def dynamodb(self) -> Any:
        if self._dynamodb is None:
            self._dynamodb = clients.client("dynamodb")
        return self._dynamodb

    def process(self, records: list[Any]) -> dict[str, list[dict[str, str]]]:
        """Handle a batch; the partial-batch response Lambda expects for a stream."""
        failures: list[dict[str, str]] = []
        followed = self._last_changes(records)
        for index, record in enumerate(records):
            sequence = _sequence_number(record)
            if failures:
                failures.append({"itemIdentifier": sequence})
                continue
            try:
                self.publish(record)
                if index in followed and self.sources is not None:
                    self.sources.follow(followed[index], self.settings.mode)
            except PublishError as error:
                self.on_failed(error)
                failures.append({"itemIdentifier": sequence})
            except EventSourceError as error:
                self.on_source_failed(error)
                failures.append({"itemIdentifier": sequence})
        return {"batchItemFailures": failures}

    def _last_changes(self, records: list[Any]) -> dict[int, Circuit]:
        """Record index -> the circuit after the batch's last change of it, for circuits that pause mappings."""
        if self.sources is None or not self.sources.mappings:
            return {}
        last: dict[str, tuple[int, Circuit]] = {}
        for index, record in enumerate(records):
            try:
                change = circuit_change(record, self.settings.table_key)
            except MalformedRecord:
                continue
            if change is not None and change.circuit in self.sources.mappings:
                last[change.circuit] = (index, change.current)
        return dict(last.values())

    def publish(self, record: Any) -> str:
        """Send the event of one record, at most once per record; what happened, in one word."""
        try:
            change = circuit_change(record, self.settings.table_key)
        except MalformedRecord:
            self.on_skipped("malformed", _circuit_of(record, self.settings.table_key))
            return "malformed"
        if change is None:
            return "unchanged"
        if self._was_sent(change):
            self.on_skipped("replayed", change.circuit)
            return "replayed"
        try:
            response = self.events.put_events(
                Entries=[
                    entry(
                        change,
                        self.settings.source,
                        self.settings.bus,
                        self.settings.circuit_breaker,
                        self.settings.mode,
                    )
                ]
            )
        except (ClientError, BotoCoreError) as error:
            raise PublishError(change.circuit, f"PutEvents failed for circuit {change.circuit!r}: {error}") from error
        if response.get("FailedEntryCount"):
            failed = response.get("Entries", [{}])[0]
            raise PublishError(
                change.circuit,
                f"EventBridge refused the event of circuit {change.circuit!r}: "
                f"{failed.get('ErrorCode')} {failed.get('ErrorMessage')}",
            )
        self._remember(change, response.get("Entries", [{}])[0].get("EventId"))
        self.on_published(change)
        return "published"

    def _was_sent(self, change: CircuitChange) -> bool:
        try:
            response = self.dynamodb.get_item(
                TableName=self.settings.sent_events_table,
                Key={Attr.ID: {"S": change.change_id}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise PublishError(change.circuit, f"reading the sent events failed: {error}") from error
        return "Item" in response

    def _remember(self, change: CircuitChange, event_id: str | None) -> None:
        now = self.clock()
        item = {
            Attr.ID: {"S": change.change_id},
            "circuit": {"S": change.circuit},
            "status": {"S": status(change.current)},
            "generation": {"N": str(change.current.generation)},
            "sent_at": {"N": str(int(now))},
            Attr.EXPIRATION: {"N": str(int(now) + SENT_EVENT_TTL_SECONDS)},
        }
        if event_id:
            item["event_id"] = {"S": event_id}
        error: Exception | None = None
        for _ in range(REMEMBER_ATTEMPTS):
            try:
                self.dynamodb.put_item(TableName=self.settings.sent_events_table, Item=item)
                return
            except (ClientError, BotoCoreError) as failure:
                error = failure
        # The event went out. Reporting the record as failed would make Lambda retry it and send it
        # again for certain; going on sends it again only if the batch itself is delivered again.
        self.on_forgotten(PublishError(change.circuit, f"remembering a sent event failed: {error}"))


def _sequence_number(record: Any) -> str:
    stream = record.get("dynamodb") if isinstance(record, Mapping) else None
    sequence = stream.get("SequenceNumber") if isinstance(stream, Mapping) else None
    return str(sequence) if sequence is not None else ""


def _circuit_of(record: Any, key: TableKey) -> str:
    try:
        return key.name_in(dict(record["dynamodb"]["Keys"])) or "unknown"
    except (KeyError, TypeError, ValueError):
        return "unknown"
