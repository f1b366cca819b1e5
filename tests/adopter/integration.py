"""An adopter's integration test: their own root module, applied with the circuit_sandbox fixture, called with
the caller helper through an outage and back, as the README's "Test your integration locally" shows.

Run by tests/adopter/test_adopter.py in a pytest of its own (the fixture holds an emulator for a whole session).
"""

import time
from pathlib import Path

import pytest

from circuit_breaker.caller import CircuitOpenError, DownstreamError, invoke

OPEN_DURATION_SECONDS = 2  # main.tf


@pytest.fixture(scope="session")
def outputs(circuit_sandbox):
    return circuit_sandbox.apply(Path(__file__).parent)


@pytest.mark.parametrize("kind", ["EXPRESS", "STANDARD"])
def test_an_outage_opens_the_circuit_and_a_probe_closes_it(outputs, kind):
    arn = outputs[f"{kind.lower()}_state_machine_arn"]

    assert invoke(arn, {"order": 1}, type=kind) == {"order": 1, "status": "accepted"}

    for order in (2, 3):  # failure_threshold = 2
        with pytest.raises(DownstreamError) as failed:
            invoke(arn, {"order": order, "database": "down"}, type=kind)
        assert (failed.value.error_type, failed.value.message) == ("ConnectionError", "orders database unreachable")
        assert failed.value.stack_trace is None and "stackTrace" not in failed.value.cause

    with pytest.raises(CircuitOpenError) as short_circuited:
        invoke(arn, {"order": 4}, type=kind)
    assert short_circuited.value.state == "OPEN" and "consecutive failures" in short_circuited.value.reason

    # After the open duration the next call is the probe: it succeeds and closes the circuit.
    deadline = time.monotonic() + 30 * OPEN_DURATION_SECONDS
    while True:
        try:
            assert invoke(arn, {"order": 5}, type=kind) == {"order": 5, "status": "accepted"}
            break
        except CircuitOpenError:
            assert time.monotonic() < deadline, "the circuit never admitted a probe"
            time.sleep(OPEN_DURATION_SECONDS / 4)
    assert invoke(arn, {"order": 6}, type=kind) == {"order": 6, "status": "accepted"}


def test_the_stack_trace_is_kept_when_asked_for(outputs):
    with pytest.raises(DownstreamError) as failed:
        invoke(outputs["express_state_machine_arn"], {"database": "down"}, include_stack_trace=True)
    assert failed.value.stack_trace and any("orders.py" in line for line in failed.value.stack_trace)
