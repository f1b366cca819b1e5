"""Outcome recording: counts failures, resets the count, closes or reopens after a probe.

Input: what the call saw when it was admitted, plus its outcome (circuit_breaker.inputs.parse_outcome).

It never fails the execution: the downstream's own result or error is what the caller gets,
so a malformed request or an unavailable table is logged and counted, then reported back.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from circuit_breaker.breaker import Breaker
from circuit_breaker.exceptions import MalformedOutcome, StoreError
from circuit_breaker.inputs import parse_outcome
from circuit_breaker.telemetry import count, instrumented, logger

breaker = Breaker.from_environment()  # at init: its client and connections serve every invocation
settings = breaker.settings


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    execution = event.get("execution") if isinstance(event, dict) else None
    if isinstance(execution, str):  # the state machine's execution ARN: every log line of this call names it
        logger.append_keys(execution=execution[:256])
    try:
        outcome = parse_outcome(event, settings)
    except MalformedOutcome as problem:
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
