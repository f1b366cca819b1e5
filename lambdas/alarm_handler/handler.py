"""Alarm handler: CloudWatch alarm notifications (via SNS) become circuit transitions.

A malformed or foreign notification is logged, counted and skipped; it never stops the
other records. A store failure is raised after the batch so SNS's asynchronous retries
deliver it again; the StateChangeTime guard makes the retry a no-op where it already applied.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from circuit_breaker.breaker import Breaker
from circuit_breaker.exceptions import MalformedNotification, StoreError
from circuit_breaker.inputs import parse_notification
from circuit_breaker.telemetry import count, instrumented, logger

breaker = Breaker.from_environment()  # at init: its client and connections serve every invocation
settings = breaker.settings


@instrumented
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
