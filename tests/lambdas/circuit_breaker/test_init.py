"""The core's public interface: what `circuit_breaker` names, and its one exception hierarchy."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import ModuleType

import circuit_breaker
from circuit_breaker import exceptions
from circuit_breaker.model import CLOSED, FORCED_OPEN, OPEN, Override, State


def test_every_public_name_is_there_and_every_exception_of_the_core_is_public():
    assert sorted(circuit_breaker.__all__) == circuit_breaker.__all__
    missing = [name for name in circuit_breaker.__all__ if not hasattr(circuit_breaker, name)]
    assert missing == []
    assert {error.__name__ for error in _errors_defined_in(exceptions)} <= set(circuit_breaker.__all__)


def test_every_error_the_core_and_the_caller_raise_is_a_circuit_breaker_error():
    from circuit_breaker import caller

    raised = _errors_defined_in(exceptions) + _errors_defined_in(caller)
    assert len(raised) > 10
    assert all(issubclass(error, circuit_breaker.CircuitBreakerError) for error in raised)
    # Callers that caught the built-in kinds still catch them.
    assert issubclass(circuit_breaker.ConfigurationError, ValueError)
    assert issubclass(circuit_breaker.MalformedOutcome, ValueError)
    assert issubclass(circuit_breaker.CircuitNotFound, LookupError)
    assert issubclass(circuit_breaker.Contention, circuit_breaker.StoreError)


def test_the_lambda_error_the_state_machine_catches_keeps_its_name():
    # A Lambda function's error type is its exception's class name; the definition catches this one by name.
    assert circuit_breaker.InvalidCircuitRequest.__name__ == "InvalidCircuitRequest"
    definition = Path(__file__).parents[3] / "statemachine" / "circuit_breaker.asl.json"
    assert '"InvalidCircuitRequest"' in definition.read_text()


def test_states_and_overrides_are_strings_as_stored():
    assert OPEN == "OPEN" and State("HALF_OPEN") is State.HALF_OPEN
    assert FORCED_OPEN == "FORCED_OPEN" and Override.FORCED_CLOSED == "FORCED_CLOSED"
    assert json.dumps({"state": CLOSED}) == '{"state": "CLOSED"}'
    assert f"{OPEN}" == "OPEN"
    assert {"OPEN": 1}[OPEN] == 1


def _errors_defined_in(module: ModuleType) -> list[type]:
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == module.__name__
    ]
