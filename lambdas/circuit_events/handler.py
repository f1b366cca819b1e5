"""Circuit events: DynamoDB stream batches of the circuit table become EventBridge events.

The rules (which record is a change, the event's shape, sending each change once) live in
`circuit_breaker.events`; this adapter wires them to Lambda, logs and metrics. The response is
a partial-batch response: the event source mapping sets ReportBatchItemFailures.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from circuit_breaker import clients
from circuit_breaker.event_sources import EventSources
from circuit_breaker.events import STATUS_LEVELS, CircuitChange, EventSettings, Publisher, status
from circuit_breaker.exceptions import EventSourceError, PublishError
from circuit_breaker.telemetry import count, gauge, instrumented, logger

settings = EventSettings.from_environment()


def published(change: CircuitChange) -> None:
    count("EventsPublished", change.circuit)
    gauge("State", change.circuit, STATUS_LEVELS[status(change.current)])
    logger.info(
        "circuit event published",
        extra={
            "circuit": change.circuit,
            "generation": change.current.generation,
            "from_state": status(change.previous),
            "to_state": status(change.current),
            "change_id": change.change_id,
        },
    )


def skipped(reason: str, circuit: str) -> None:
    if reason == "malformed":
        count("MalformedRecords", circuit)
        logger.error("stream record is not a circuit change; skipped", extra={"circuit": circuit})
    else:
        count("ReplayedRecords", circuit)
        logger.info("event of this record already sent; not sent again", extra={"circuit": circuit})


def failed(error: PublishError) -> None:
    count("EventPublishErrors", error.circuit)
    logger.warning("circuit event not published; to be retried", extra={"circuit": error.circuit, "error": str(error)})


def forgotten(error: PublishError) -> None:
    count("EventRememberErrors", error.circuit)
    logger.error(
        "circuit event published but not remembered; a redelivery of this batch would send it again",
        extra={"circuit": error.circuit, "error": str(error)},
    )


def source_changed(circuit: str, uuid: str, enabled: bool) -> None:
    if enabled:
        count("EventSourcesResumed", circuit)
        logger.info("event source mapping resumed", extra={"circuit": circuit, "event_source_mapping": uuid})
    else:
        count("EventSourcesPaused", circuit)
        logger.info("event source mapping paused", extra={"circuit": circuit, "event_source_mapping": uuid})


def source_failed(error: EventSourceError) -> None:
    count("EventSourceErrors", error.circuit)
    logger.error("event source mapping not set; to be retried", extra={"circuit": error.circuit, "error": str(error)})


publisher = Publisher(
    settings,
    events_client=clients.client("events"),
    dynamodb_client=clients.client("dynamodb"),
    on_published=published,
    on_skipped=skipped,
    on_failed=failed,
    on_forgotten=forgotten,
    sources=EventSources(settings.event_source_mappings, clients.client("lambda"), on_changed=source_changed)
    if settings.event_source_mappings
    else None,
    on_source_failed=source_failed,
)


def process_records(records: list[Any]) -> dict[str, list[dict[str, str]]]:
    """The handler without Lambda: stream records in, partial-batch response out (the tests call it)."""
    response = publisher.process(records)
    if response["batchItemFailures"]:
        logger.warning(
            "records not published; Lambda retries from the first",
            extra={"failed": len(response["batchItemFailures"]), "records": len(records)},
        )
    return response


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        logger.error("event has no Records list; nothing to do")
        return {"batchItemFailures": []}
    return process_records(records)
