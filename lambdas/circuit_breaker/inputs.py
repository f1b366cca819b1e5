"""What the handlers are given, parsed and checked: the handlers are adapters around these.

Each parser takes the event as Lambda delivers it and returns plain values, or raises an
`InvalidInput` subclass that says what is wrong; the handler logs and counts it. The simulator
(circuit_bench) parses with the same functions.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from circuit_breaker.exceptions import InvalidCircuitRequest, MalformedNotification, MalformedOutcome
from circuit_breaker.settings import Settings
from circuit_breaker.store import circuit_from_typed_item

# Generations count transitions from 0; beyond 2**53 a number is no longer exact in JSON, and
# beyond 38 digits DynamoDB cannot hold it (boto3 raises decimal.Rounded).
MAX_GENERATION = 2**53
MAX_FAILURES = 10**9
MAX_MESSAGE_BYTES = 256 * 1024  # SNS's largest message


# ---------------------------------------------------------------------------- check_circuit


def requested_circuit(event: object, settings: Settings) -> str:
    """The circuit the state check is asked about: the instance's own, or one of allowed_circuits the input names."""
    if not isinstance(event, dict):
        raise InvalidCircuitRequest("state check input must be a JSON object")
    execution_input = event.get("input")
    requested = execution_input.get("circuit") if isinstance(execution_input, dict) else None
    if requested is None or requested == settings.circuit_name:
        return settings.circuit_name
    if isinstance(requested, str) and requested in settings.allowed_circuits:
        return requested
    raise InvalidCircuitRequest(f"execution input may not select circuit {str(requested)[:100]!r}")


# ---------------------------------------------------------------------------- record_outcome


class Outcome(NamedTuple):
    circuit: str
    generation: int | None
    probe: bool
    error: str | None
    failures_seen: int
    retry_after: float | None = None  # the seconds the failure asked to wait (retry_after_path)


def parse_outcome(event: object, settings: Settings) -> Outcome:
    """The outcome and what its call saw.

    A failure on the healthy path sends the circuit item the state machine read ({"circuit",
    "read": GetItem result, "error"}, or all of it under "state"); a call the state check
    admitted sends its decision ({"circuit", "generation", "probe", "failures_seen", "error"}).
    `error` is null for a success, or the error Step Functions caught. With retry_after_path, a
    result marked as a failure comes with the result itself ("result"), and the seconds the
    downstream asks to wait are read from it, or from the error's cause.
    """
    if not isinstance(event, dict):
        raise MalformedOutcome("outcome must be a JSON object")
    state = event.get("state")  # RecordFailure: the execution's whole state data, as the call saw it
    fields: dict[str, Any] = state if isinstance(state, dict) else event
    name = fields.get("circuit")
    if not isinstance(name, str) or not name or len(name) > 1024:
        raise MalformedOutcome("circuit must be a non-empty string")
    error = fields.get("error")
    if isinstance(error, dict):  # as Step Functions caught it: {"Error": name, "Cause": ...}
        error = error.get("Error")
    if error is not None and not isinstance(error, str):
        raise MalformedOutcome("error must be an error name or null")
    error = error[:256] if error else error
    hint = _retry_hint(fields, settings) if error is not None else None
    if "read" in fields:
        read = fields["read"]
        if not isinstance(read, dict):
            raise MalformedOutcome("read must be the GetItem result the state machine received")
        try:
            seen = circuit_from_typed_item(name, read.get("Item"))
        except ValueError as problem:
            raise MalformedOutcome(f"read: {problem}") from None
        return Outcome(
            name,
            _bounded("generation", seen.generation, MAX_GENERATION),
            False,
            error,
            _bounded("failure_count", seen.failure_count, MAX_FAILURES),
            hint,
        )
    generation, probe, failures_seen = (fields.get(k) for k in ("generation", "probe", "failures_seen"))
    if generation is not None:
        generation = _bounded("generation", generation, MAX_GENERATION)
    if not isinstance(probe, bool):
        raise MalformedOutcome("probe must be a boolean")
    failures_seen = _bounded("failures_seen", 0 if failures_seen is None else failures_seen, MAX_FAILURES)
    return Outcome(name, generation, probe, error, failures_seen, hint)


def _retry_hint(fields: dict[str, Any], settings: Settings) -> float | None:
    """The seconds a failure asks to wait: at retry_after_path in the result marked as a failure, or in the error's
    cause (the Lambda error document, or the JSON object its errorMessage holds)."""
    if settings.retry_after_path is None:
        return None
    if "result" in fields:
        return settings.retry_hint(fields["result"])
    caught = fields.get("error")
    cause = caught.get("Cause") if isinstance(caught, dict) else None
    document = _json_object(cause)
    if document is None:
        return None
    hint = settings.retry_hint(document)
    if hint is None and (message := _json_object(document.get("errorMessage"))) is not None:
        hint = settings.retry_hint(message)
    return hint


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _bounded(name: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise MalformedOutcome(f"{name} must be an integer from 0 to {limit - 1}")
    return value


# ---------------------------------------------------------------------------- alarm_handler


def parse_notification(record: object) -> tuple[str, str, int]:
    """(alarm name, new state, state change time in epoch milliseconds) from one SNS record."""
    if not isinstance(record, dict) or not isinstance(record.get("Sns"), dict):
        raise MalformedNotification("record has no Sns object")
    message = record["Sns"].get("Message")
    if not isinstance(message, str) or len(message.encode("utf-8", "replace")) > MAX_MESSAGE_BYTES:
        raise MalformedNotification("Sns.Message must be a string of at most 256 KiB")
    try:
        alarm = json.loads(message)
    except json.JSONDecodeError:
        raise MalformedNotification("Sns.Message is not JSON") from None
    if not isinstance(alarm, dict):
        raise MalformedNotification("alarm message must be a JSON object")
    name, state, changed = (alarm.get(k) for k in ("AlarmName", "NewStateValue", "StateChangeTime"))
    if not isinstance(name, str) or not name or not isinstance(state, str) or not isinstance(changed, str):
        raise MalformedNotification("AlarmName, NewStateValue and StateChangeTime must be strings")
    return name[:255], state, state_change_millis(changed)


def state_change_millis(value: str) -> int:
    """CloudWatch writes e.g. 2024-05-01T12:00:00.123+0000."""
    for parse in (lambda v: datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%f%z"), datetime.fromisoformat):
        try:
            moment = parse(value)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            return int(moment.timestamp() * 1000)
    raise MalformedNotification(f"StateChangeTime {value[:40]!r} is not an ISO 8601 time with a zone")
