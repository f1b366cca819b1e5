"""The circuit record as stored in DynamoDB.

Attribute names and state strings are those of Powertools' circuit-breaker persistence
(`CircuitBreakerDynamoDBPersistence`), so a function using `@circuit_breaker` on the same
table sees the same circuit. Everything else is an extra attribute Powertools ignores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """A circuit's state, as Powertools stores it. Members are strings: they compare equal to what is stored."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class Override(StrEnum):
    """An operator's override (circuitctl), stored as the item's `override`; it takes precedence over the state."""

    FORCED_OPEN = "FORCED_OPEN"
    FORCED_CLOSED = "FORCED_CLOSED"


CLOSED, OPEN, HALF_OPEN = State.CLOSED, State.OPEN, State.HALF_OPEN
STATES = tuple(State)
FORCED_OPEN, FORCED_CLOSED = Override.FORCED_OPEN, Override.FORCED_CLOSED
OVERRIDES = tuple(Override)

# Stored as `half_open_owner` on a forced-open circuit: no probe election (ours or
# Powertools') can win while an owner is present, and no real caller has this id.
FORCED_OPEN_OWNER = "FORCED_OPEN"


class Attr:
    """Attribute names. The first block is Powertools' record; the rest are this module's."""

    ID = "id"
    STATE = "state"
    FAILURE_COUNT = "failure_count"
    OPENED_AT = "opened_at"
    HALF_OPEN_OWNER = "half_open_owner"
    PROBE_LEASE_EXPIRY = "probe_lease_expiry"
    EXPIRATION = "expiration"

    GENERATION = "generation"
    REASON = "reason"
    UPDATED_AT = "updated_at"
    OPEN_COUNT = "open_count"
    OPEN_UNTIL = "open_until"
    PROBES_IN_FLIGHT = "probes_in_flight"
    SUCCESS_COUNT = "success_count"
    # Failures counted on the circuit, ever, and the most of them a success's reset has taken off: a success
    # that read `failures_total` = t leaves `failure_count` = the failures counted since (total - t), and a reset
    # that read less than another reset already took off changes nothing.
    FAILURES_TOTAL = "failures_total"
    FAILURES_CLEARED = "failures_cleared"
    OVERRIDE = "override"
    OVERRIDE_BY = "override_by"
    OVERRIDE_REASON = "override_reason"
    OVERRIDE_AT = "override_at"
    OVERRIDE_EXPIRES_AT = "override_expires_at"
    # After a recovery, with ramp_up_seconds: calls are admitted in growing shares from the close until ramp_until.
    RAMP_STARTED_AT = "ramp_started_at"
    RAMP_UNTIL = "ramp_until"

    @staticmethod
    def alarm_state(role: str) -> str:
        return f"{role}_alarm"

    @staticmethod
    def alarm_changed_at(role: str) -> str:
        return f"{role}_alarm_changed_at"


@dataclass(frozen=True)
class TableKey:
    """How a circuit's item is keyed. By default its name is the partition key `id`, as in Powertools' default
    layout. In a single table (Powertools' `static_pk_value` and `sort_key_attr`), every circuit shares the partition
    key value `partition_value` and its name is the sort key."""

    partition_key: str = Attr.ID
    sort_key: str | None = None
    partition_value: str | None = None

    def __post_init__(self) -> None:
        if (self.sort_key is None) != (self.partition_value is None):
            raise ValueError("a table key with a sort key needs a partition value, and only then")
        if self.sort_key == self.partition_key:
            raise ValueError(f"the partition key and the sort key are both {self.partition_key!r}")

    @classmethod
    def from_json(cls, text: str) -> TableKey:
        """From the TABLE_KEY environment variable Terraform sets: {"partition_key", "sort_key", "partition_value"}."""
        raw = json.loads(text or "{}")
        fields = {"partition_key", "sort_key", "partition_value"}
        if not isinstance(raw, dict) or not raw.keys() <= fields:
            raise ValueError(f"a table key is an object with {', '.join(sorted(fields))}")
        if not all(value is None or (isinstance(value, str) and value) for value in raw.values()):
            raise ValueError("a table key's fields are non-empty strings or null")
        return cls(**{name: value for name, value in raw.items() if value is not None})

    def of(self, name: str) -> dict[str, dict[str, str]]:
        """The circuit's key in DynamoDB's typed JSON."""
        if self.sort_key is None:
            return {self.partition_key: {"S": name}}
        return {self.partition_key: {"S": str(self.partition_value)}, self.sort_key: {"S": name}}

    def name_in(self, keys: Any) -> str | None:
        """The circuit a typed key names; None when it is not a circuit's key here (another partition of a single
        table, or no such attribute)."""
        if not isinstance(keys, dict):
            return None
        if self.sort_key is not None and _string(keys.get(self.partition_key)) != self.partition_value:
            return None
        return _string(keys.get(self.sort_key or self.partition_key))

    @property
    def attributes(self) -> tuple[str, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)


# Powertools' default layout, and this module's.
DEFAULT_TABLE_KEY = TableKey()


def _string(typed: Any) -> str | None:
    value = typed.get("S") if isinstance(typed, dict) else None
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Circuit:
    """One circuit as read from the table. A missing item is a CLOSED circuit at generation 0."""

    name: str
    state: str = CLOSED
    generation: int = 0
    failure_count: int = 0
    opened_at: int | None = None
    open_until: float | None = None
    open_count: int = 0
    half_open_owner: str | None = None
    probe_lease_expiry: float | None = None
    probes_in_flight: int = 0
    # Powertools elects its probe with a PUT that has an owner and a lease but no count: while
    # such a record stands, that owner is one probe in flight which `probes_in_flight` includes.
    powertools_probe: bool = False
    success_count: int = 0
    reason: str = ""
    override: str | None = None
    override_by: str | None = None
    override_reason: str | None = None
    override_expires_at: float | None = None
    downstream_alarm: str | None = None
    healthcheck_alarm: str | None = None
    downstream_alarm_changed_at: int | None = None
    healthcheck_alarm_changed_at: int | None = None
    ramp_started_at: float | None = None
    ramp_until: float | None = None
    updated_at: str | None = None
    stored: bool = False

    @classmethod
    def from_item(cls, name: str, item: dict[str, Any] | None) -> Circuit:
        """Build from a deserialized item. Unknown states are an error, never a guess."""
        if not item:
            return cls(name=name)
        state = item.get(Attr.STATE, CLOSED)
        if state not in STATES:
            raise ValueError(f"circuit {name!r} has unknown state {state!r}")
        powertools_probe = (
            state == HALF_OPEN and item.get(Attr.HALF_OPEN_OWNER) is not None and Attr.PROBES_IN_FLIGHT not in item
        )
        return cls(
            name=name,
            state=state,
            generation=_int(item.get(Attr.GENERATION)) or 0,
            failure_count=_int(item.get(Attr.FAILURE_COUNT)) or 0,
            opened_at=_int(item.get(Attr.OPENED_AT)),
            open_until=_float(item.get(Attr.OPEN_UNTIL)),
            open_count=_int(item.get(Attr.OPEN_COUNT)) or 0,
            half_open_owner=item.get(Attr.HALF_OPEN_OWNER),
            probe_lease_expiry=_float(item.get(Attr.PROBE_LEASE_EXPIRY)),
            probes_in_flight=1 if powertools_probe else _int(item.get(Attr.PROBES_IN_FLIGHT)) or 0,
            powertools_probe=powertools_probe,
            success_count=_int(item.get(Attr.SUCCESS_COUNT)) or 0,
            reason=item.get(Attr.REASON, ""),
            override=item.get(Attr.OVERRIDE),
            override_by=item.get(Attr.OVERRIDE_BY),
            override_reason=item.get(Attr.OVERRIDE_REASON),
            override_expires_at=_float(item.get(Attr.OVERRIDE_EXPIRES_AT)),
            downstream_alarm=item.get(Attr.alarm_state("downstream")),
            healthcheck_alarm=item.get(Attr.alarm_state("healthcheck")),
            downstream_alarm_changed_at=_int(item.get(Attr.alarm_changed_at("downstream"))),
            healthcheck_alarm_changed_at=_int(item.get(Attr.alarm_changed_at("healthcheck"))),
            ramp_started_at=_float(item.get(Attr.RAMP_STARTED_AT)),
            ramp_until=_float(item.get(Attr.RAMP_UNTIL)),
            updated_at=item.get(Attr.UPDATED_AT),
            stored=True,
        )

    def alarm_changed_at(self, role: str) -> int | None:
        changed_at: int | None = getattr(self, f"{role}_alarm_changed_at")
        return changed_at

    def probe_allowed_at(self, open_duration_seconds: float) -> float:
        """When an OPEN circuit admits a probe. Records written by Powertools carry only `opened_at`."""
        if self.open_until is not None:
            return self.open_until
        return (self.opened_at or 0) + open_duration_seconds

    def summary(self) -> dict[str, Any]:
        """The whole circuit as an operator reads it, JSON-ready: times in ISO 8601 (UTC)."""
        return {
            "circuit": self.name,
            "state": self.state,
            "override": self.override,
            "generation": self.generation,
            "reason": self.reason,
            "failure_count": self.failure_count,
            "opened_at": iso8601(self.opened_at),
            "open_until": iso8601(self.open_until),
            "open_count": self.open_count,
            "probes_in_flight": self.probes_in_flight,
            "probe_lease_expiry": iso8601(self.probe_lease_expiry),
            "success_count": self.success_count,
            "override_by": self.override_by,
            "override_reason": self.override_reason,
            "override_expires_at": iso8601(self.override_expires_at),
            "downstream_alarm": self.downstream_alarm,
            "downstream_alarm_changed_at": iso8601(_seconds(self.downstream_alarm_changed_at)),
            "healthcheck_alarm": self.healthcheck_alarm,
            "healthcheck_alarm_changed_at": iso8601(_seconds(self.healthcheck_alarm_changed_at)),
            "ramp_until": iso8601(self.ramp_until),
            "updated_at": self.updated_at,
        }


def iso8601(epoch_seconds: float | None) -> str | None:
    """`epoch_seconds` as an ISO 8601 UTC time (to the millisecond), e.g. 2026-12-03T14:22:08.000Z."""
    if epoch_seconds is None:
        return None
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(epoch_milliseconds: int | None) -> float | None:
    return None if epoch_milliseconds is None else epoch_milliseconds / 1000


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def to_number(value: float) -> Decimal:
    """DynamoDB numbers: millisecond precision is plenty for epoch seconds."""
    return Decimal(str(round(value, 3)))
