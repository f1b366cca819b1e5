"""The circuit rules shared by every handler and by the operator command (`circuitctl`).

    from circuit_breaker import Breaker, CircuitStore, Settings

    settings = Settings.from_environment()
    breaker = Breaker(settings, CircuitStore(settings.table_name, dynamodb_client, settings.table_key))
    decision = breaker.check(settings.circuit_name, caller="execution-arn")

And for a caller of the module's state machine, `invoke` and its typed errors (`circuit_breaker.caller`).
What is named here is the public interface; the modules hold the rest.
"""

from circuit_breaker.breaker import Breaker, Decision
from circuit_breaker.caller import (
    CircuitOpenError,
    DownstreamError,
    ExecutionFailedError,
    ExecutionTimeoutError,
    InvalidCircuitRequestError,
    invoke,
)
from circuit_breaker.exceptions import (
    CircuitBreakerError,
    CircuitNotFound,
    ConfigurationError,
    Contention,
    EventSourceError,
    ExecutionError,
    InvalidCircuitRequest,
    InvalidInput,
    MalformedNotification,
    MalformedOutcome,
    MalformedRecord,
    PublishError,
    StoreError,
)
from circuit_breaker.inputs import Outcome, parse_notification, parse_outcome, requested_circuit
from circuit_breaker.model import Circuit, Override, State, TableKey
from circuit_breaker.settings import AlarmBinding, Settings
from circuit_breaker.store import CircuitStore

__all__ = [
    "AlarmBinding",
    "Breaker",
    "Circuit",
    "CircuitBreakerError",
    "CircuitNotFound",
    "CircuitOpenError",
    "CircuitStore",
    "ConfigurationError",
    "Contention",
    "Decision",
    "DownstreamError",
    "EventSourceError",
    "ExecutionError",
    "ExecutionFailedError",
    "ExecutionTimeoutError",
    "InvalidCircuitRequest",
    "InvalidCircuitRequestError",
    "InvalidInput",
    "MalformedNotification",
    "MalformedOutcome",
    "MalformedRecord",
    "Outcome",
    "Override",
    "PublishError",
    "Settings",
    "State",
    "StoreError",
    "TableKey",
    "invoke",
    "parse_notification",
    "parse_outcome",
    "requested_circuit",
]
