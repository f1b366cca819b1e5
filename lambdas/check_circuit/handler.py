"""State check: the first state of every execution. Decides call, probe or short-circuit.

Input (from the state machine): {"circuit": name, "caller": execution id, "input": execution
input (only when the module allows the input to choose the circuit)}.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from circuit_breaker.breaker import Breaker
from circuit_breaker.exceptions import InvalidCircuitRequest
from circuit_breaker.inputs import requested_circuit
from circuit_breaker.telemetry import count, instrumented, logger

breaker = Breaker.from_environment()  # at init: its client and connections serve every invocation
settings = breaker.settings


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The state machine passes its execution ARN: every log line of this call names it.
    given = event.get("caller") if isinstance(event, dict) else None
    caller = str(given or getattr(context, "aws_request_id", "unknown"))[:256]
    logger.append_keys(execution=caller)
    try:
        name = requested_circuit(event, settings)
    except InvalidCircuitRequest as error:
        count("InvalidRequests", settings.circuit_name)
        logger.error("invalid state check request", extra={"error": str(error)})
        raise
    return breaker.check(name, caller).to_output()
