"""Every error the circuit breaker raises: one hierarchy under `CircuitBreakerError`.

    CircuitBreakerError
    ├── ConfigurationError (ValueError)   an environment variable is missing or out of its domain
    ├── InvalidInput (ValueError)         what a handler was given is malformed; it is logged and counted
    │   ├── InvalidCircuitRequest         the execution input selects a circuit this state machine may not use
    │   ├── MalformedOutcome              record_outcome's input
    │   ├── MalformedNotification         an SNS record that is not a CloudWatch alarm notification
    │   └── MalformedRecord               a stream record that is not a circuit item's change
    ├── StoreError                        the table could not be read or written
    │   └── Contention                    the item kept changing under a read-modify-write
    ├── CircuitNotFound (LookupError)     the operator named a circuit that has no record
    ├── PublishError                      a circuit event could not be sent; its stream record is retried
    ├── EventSourceError                  a queue consumer could not be paused or resumed; retried likewise
    └── ExecutionError                    an execution ended without the downstream's result (circuit_breaker.caller)
        ├── CircuitOpenError, DownstreamError, InvalidCircuitRequestError
        └── ExecutionTimeoutError, ExecutionFailedError

A Lambda function's error is named after its class: the state machine catches `InvalidCircuitRequest`
by that name, so the names are part of the module's contract.
"""

from __future__ import annotations


class CircuitBreakerError(Exception):
    """Any error of the circuit breaker."""


class ConfigurationError(CircuitBreakerError, ValueError):
    """An environment variable is missing or out of its domain."""


class InvalidInput(CircuitBreakerError, ValueError):
    """What a handler was given is malformed."""


class InvalidCircuitRequest(InvalidInput):
    """The execution input names a circuit this state machine may not use."""


class MalformedOutcome(InvalidInput):
    """record_outcome's input is not an outcome the state machine sends."""


class MalformedNotification(InvalidInput):
    """An SNS record that is not a CloudWatch alarm notification."""


class MalformedRecord(InvalidInput):
    """A stream record that is not a circuit item's change (or an item with an unknown state)."""


class StoreError(CircuitBreakerError):
    """The table could not be read or written (throttled, unavailable, timed out, denied)."""


class Contention(StoreError):
    """The record kept changing under a read-modify-write; the caller should retry later."""


class CircuitNotFound(CircuitBreakerError, LookupError):
    """The operator named a circuit that has no record."""


class PublishError(CircuitBreakerError):
    """The event could not be sent, or its sending not remembered; the record is to be retried."""

    def __init__(self, circuit: str, message: str) -> None:
        super().__init__(message)
        self.circuit = circuit


class EventSourceError(CircuitBreakerError):
    """A mapping could not be read or set; the record is to be retried."""

    def __init__(self, circuit: str, message: str) -> None:
        super().__init__(message)
        self.circuit = circuit


class ExecutionError(CircuitBreakerError):
    """An execution of the circuit breaker ended without the downstream's result."""

    def __init__(self, message: str, *, error: str, cause: str, execution_arn: str) -> None:
        super().__init__(message)
        self.error, self.cause, self.execution_arn = error, cause, execution_arn
