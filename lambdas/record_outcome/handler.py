"""Outcome recording: counts failures, resets the count, closes or reopens after a probe.

Input: what the call saw when it was admitted, plus its outcome. A failure on the healthy path
sends the circuit item the state machine read ({"circuit", "read": GetItem result, "error"}); a
call the state check admitted sends its decision ({"circuit", "generation", "probe",
"failures_seen", "error"}). `error` is null for a success, or the error Step Functions caught.
With retry_after_path, a result marked as a failure comes with the result itself ("result"), and
the seconds the downstream asks to wait are read from it, or from the error's cause.

It never fails the execution: the downstream's own result or error is what the caller gets,
so a malformed request or an unavailable table is logged and counted, then reported back.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from circuit_breaker import clients
from circuit_breaker.breaker import Breaker
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore, StoreError, circuit_from_typed_item
from circuit_breaker.telemetry import count, logger, mark, metrics

settings = Settings.from_environment()
mark(mode=settings.mode)  # every metric says whether the breaker enforces or observes
breaker = Breaker(settings, CircuitStore(settings.table_name, clients.client("dynamodb"), settings.table_key))

# Generations count transitions from 0; beyond 2**53 a number is no longer exact in JSON, and
# beyond 38 digits DynamoDB cannot hold it (boto3 raises decimal.Rounded).
MAX_GENERATION = 2**53
MAX_FAILURES = 10**9


class Outcome(NamedTuple):
    circuit: str
    generation: int | None
    probe: bool
    error: str | None
    failures_seen: int
    retry_after: float | None = None  # the seconds the failure asked to wait (retry_after_path)


def parse(event: object) -> Outcome:
    """The outcome and what its call saw. Raises ValueError on anything malformed."""
    if not isinstance(event, dict):
        raise ValueError("outcome must be a JSON object")
    state = event.get("state")  # RecordFailure: the execution's whole state data, as the call saw it
    fields: dict[str, Any] = state if isinstance(state, dict) else event
    name = fields.get("circuit")
    if not isinstance(name, str) or not name or len(name) > 1024:
        raise ValueError("circuit must be a non-empty string")
    error = fields.get("error")
    if isinstance(error, dict):  # as Step Functions caught it: {"Error": name, "Cause": ...}
        error = error.get("Error")
    if error is not None and not isinstance(error, str):
        raise ValueError("error must be an error name or null")
    error = error[:256] if error else error
    hint = _retry_hint(fields) if error is not None else None
    if "read" in fields:
        read = fields["read"]
        if not isinstance(read, dict):
            raise ValueError("read must be the GetItem result the state machine received")
        seen = circuit_from_typed_item(name, read.get("Item"))
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
        raise ValueError("probe must be a boolean")
    failures_seen = _bounded("failures_seen", 0 if failures_seen is None else failures_seen, MAX_FAILURES)
    return Outcome(name, generation, probe, error, failures_seen, hint)


def _retry_hint(fields: dict[str, Any]) -> float | None:
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
        raise ValueError(f"{name} must be an integer from 0 to {limit - 1}")
    return value


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    execution = event.get("execution") if isinstance(event, dict) else None
    if isinstance(execution, str):  # the state machine's execution ARN: every log line of this call names it
        logger.append_keys(execution=execution[:256])
    try:
        outcome = parse(event)
    except ValueError as problem:
        count("InvalidRequests", settings.circuit_name)
        logger.error("malformed outcome ignored", extra={"error": str(problem)[:500]})
        return {"recorded": False, "outcome": f"malformed: {str(problem)[:500]}"}
    try:
        result = breaker.record(*outcome)
    except StoreError as problem:
        count("StoreErrors", outcome.circuit)
        logger.warning(
            "outcome not recorded: circuit store unavailable", extra={"circuit": outcome.circuit, "error": str(problem)}
        )
        return {"recorded": False, "outcome": "circuit store unavailable"}
    logger.debug("outcome recorded", extra={"circuit": outcome.circuit, "outcome": result})
    return {"recorded": True, "outcome": result}
