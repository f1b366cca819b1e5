"""Outcome recording: counts failures, resets the count, closes or reopens after a probe.

It never fails the execution: the downstream's own result or error is what the caller gets,
so a malformed request or an unavailable table is logged and counted, then reported back.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from circuit.breaker import Breaker
from circuit.settings import Settings
from circuit.store import CircuitStore, StoreError
from circuit.telemetry import count, logger, metrics

settings = Settings.from_environment()
breaker = Breaker(settings, CircuitStore(settings.table_name))

# Generations count transitions from 0; beyond 2**53 a number is no longer exact in JSON, and
# beyond 38 digits DynamoDB cannot hold it (boto3 raises decimal.Rounded).
GENERATION_LIMIT = 2**53


def parse(event: object) -> tuple[str, int | None, bool, str | None]:
    """(circuit, generation, probe, error name or None). Raises ValueError on anything malformed."""
    if not isinstance(event, dict):
        raise ValueError("outcome must be a JSON object")
    name, generation, probe, error = (event.get(k) for k in ("circuit", "generation", "probe", "error"))
    if not isinstance(name, str) or not name or len(name) > 1024:
        raise ValueError("circuit must be a non-empty string")
    if generation is not None and (isinstance(generation, bool) or not isinstance(generation, int)
                                   or not 0 <= generation < GENERATION_LIMIT):
        raise ValueError("generation must be an integer from 0 to 2**53 - 1, or null")
    if not isinstance(probe, bool):
        raise ValueError("probe must be a boolean")
    if error is not None and not isinstance(error, str):
        raise ValueError("error must be an error name or null")
    return name, generation, probe, error[:256] if error else error


@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    try:
        name, generation, probe, error = parse(event)
    except ValueError as problem:
        count("InvalidRequests", settings.circuit_name)
        logger.error("malformed outcome ignored", extra={"error": str(problem)})
        return {"recorded": False, "outcome": f"malformed: {problem}"}
    try:
        outcome = breaker.record(name, generation, probe, error)
    except StoreError as problem:
        count("StoreErrors", name)
        logger.warning("outcome not recorded: circuit store unavailable", extra={"circuit": name, "error": str(problem)})
        return {"recorded": False, "outcome": "circuit store unavailable"}
    logger.debug("outcome recorded", extra={"circuit": name, "outcome": outcome})
    return {"recorded": True, "outcome": outcome}
