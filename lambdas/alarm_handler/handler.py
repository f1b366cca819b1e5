"""Alarm handler: CloudWatch alarm notifications (via SNS) become circuit transitions.

A malformed or foreign notification is logged, counted and skipped; it never stops the
other records. A store failure is raised after the batch so SNS's asynchronous retries
deliver it again; the StateChangeTime guard makes the retry a no-op where it already applied.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from circuit_breaker import clients
from circuit_breaker.breaker import Breaker
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore, StoreError
from circuit_breaker.telemetry import count, logger, mark, metrics

settings = Settings.from_environment()
mark(mode=settings.mode)  # every metric says whether the breaker enforces or observes
breaker = Breaker(settings, CircuitStore(settings.table_name, clients.client("dynamodb"), settings.table_key))

MAX_MESSAGE_BYTES = 256 * 1024


class MalformedNotification(ValueError):
    pass


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


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        count("MalformedNotifications", settings.circuit_name)
        logger.error("event has no Records list; nothing to do")
        return {"outcomes": []}
    outcomes, failures = [], []
    for record in records:
        try:
            alarm, state, changed_at = parse_notification(record)
        except MalformedNotification as problem:
            count("MalformedNotifications", settings.circuit_name)
            logger.error("malformed alarm notification skipped", extra={"error": str(problem)})
            outcomes.append(f"malformed: {problem}")
            continue
        try:
            outcome = breaker.on_alarm(alarm, state, changed_at)
        except StoreError as problem:
            count("StoreErrors", settings.circuit_of(alarm))
            logger.warning("alarm not applied; SNS will retry", extra={"alarm": alarm, "error": str(problem)})
            failures.append(alarm)
            continue
        logger.info("alarm notification applied", extra={"alarm": alarm, "state": state, "outcome": outcome})
        outcomes.append(outcome)
    if failures:
        raise StoreError(f"alarm(s) not applied, to be retried: {', '.join(failures)}")
    return {"outcomes": outcomes}
