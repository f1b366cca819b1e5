"""State check: the first state of every execution. Decides call, probe or short-circuit.

Input (from the state machine): {"circuit": name, "caller": execution id, "input": execution
input (only when the module allows the input to choose the circuit)}.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from circuit_breaker import clients
from circuit_breaker.breaker import Breaker
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore
from circuit_breaker.telemetry import count, logger, mark, metrics

settings = Settings.from_environment()
mark(mode=settings.mode)  # every metric says whether the breaker enforces or observes
# At init, once per execution environment: the client and its connections serve every invocation.
breaker = Breaker(settings, CircuitStore(settings.table_name, clients.client("dynamodb"), settings.table_key))


class InvalidCircuitRequest(ValueError):
    """The execution input names a circuit this state machine may not use."""


def circuit_name(event: object) -> str:
    if not isinstance(event, dict):
        raise InvalidCircuitRequest("state check input must be a JSON object")
    execution_input = event.get("input")
    requested = execution_input.get("circuit") if isinstance(execution_input, dict) else None
    if requested is None or requested == settings.circuit_name:
        return settings.circuit_name
    if isinstance(requested, str) and requested in settings.allowed_circuits:
        return requested
    raise InvalidCircuitRequest(f"execution input may not select circuit {str(requested)[:100]!r}")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The state machine passes its execution ARN: every log line of this call names it.
    given = event.get("caller") if isinstance(event, dict) else None
    caller = str(given or getattr(context, "aws_request_id", "unknown"))[:256]
    logger.append_keys(execution=caller)
    try:
        name = circuit_name(event)
    except InvalidCircuitRequest as error:
        count("InvalidRequests", settings.circuit_name)
        logger.error("invalid state check request", extra={"error": str(error)})
        raise
    return breaker.check(name, caller).to_output()
