"""An adopter's integration test: their own root module, applied with the circuit_sandbox fixture, called
through an outage and back with the caller helper, and with the README's own Python example.

Run by tests/adopter/test_adopter.py in a pytest of its own (the fixture holds an emulator for a whole session).
"""

import re
import time
from pathlib import Path

import pytest

from circuit_breaker.caller import CircuitOpenError, DownstreamError, invoke

OPEN_DURATION_SECONDS = 2  # main.tf
FAILURE_THRESHOLD = 2  # main.tf
README = Path(__file__).parents[2] / "README.md"


@pytest.fixture(scope="session")
def outputs(circuit_sandbox):
    return circuit_sandbox.apply(Path(__file__).parent)


@pytest.fixture
def database(circuit_sandbox, outputs):
    """Set the orders function's DATABASE variable ("up" or "down"), as an outage would; "up" again afterwards."""
    functions = circuit_sandbox.session.client("lambda")

    def set_to(state: str) -> None:
        functions.update_function_configuration(
            FunctionName=outputs["orders_function_name"], Environment={"Variables": {"DATABASE": state}}
        )

    yield set_to
    set_to("up")


def until_closed(call, deadline_seconds: float = 30 * OPEN_DURATION_SECONDS):
    """Call until the circuit admits a probe (after the open duration) and the probe succeeds; its result."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            return call()
        except CircuitOpenError:
            assert time.monotonic() < deadline, "the circuit never admitted a probe"
            time.sleep(OPEN_DURATION_SECONDS / 4)


@pytest.mark.parametrize("kind", ["EXPRESS", "STANDARD"])
def test_an_outage_opens_the_circuit_and_a_probe_closes_it(outputs, database, kind):
    arn = outputs[f"{kind.lower()}_state_machine_arn"]
    assert invoke(arn, {"order": 1}, type=kind) == {"order": 1, "status": "accepted"}

    database("down")
    for order in range(FAILURE_THRESHOLD):
        with pytest.raises(DownstreamError) as failed:
            invoke(arn, {"order": order}, type=kind)
        assert (failed.value.error_type, failed.value.message) == ("ConnectionError", "orders database unreachable")
        assert failed.value.stack_trace is None and "stackTrace" not in failed.value.cause
    with pytest.raises(CircuitOpenError) as short_circuited:
        invoke(arn, {"order": 4}, type=kind)
    assert short_circuited.value.state == "OPEN" and "consecutive failures" in short_circuited.value.reason
    assert 1 <= short_circuited.value.retry_after_seconds <= OPEN_DURATION_SECONDS  # until a probe may be elected

    database("up")
    assert until_closed(lambda: invoke(arn, {"order": 5}, type=kind)) == {"order": 5, "status": "accepted"}
    assert invoke(arn, {"order": 6}, type=kind) == {"order": 6, "status": "accepted"}


def test_the_readmes_python_example_runs_as_written(outputs, database):
    """The README's "Calling it from Python" example, run against the EXPRESS state machine."""
    section = README.read_text().split("### Calling it from Python", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    namespace = {"STATE_MACHINE_ARN": outputs["express_state_machine_arn"]}
    exec(compile(example, "README.md", "exec"), namespace)
    order_status = namespace["order_status"]

    assert order_status("a-1") == {"order": "a-1", "status": "accepted"}
    database("down")
    for _ in range(FAILURE_THRESHOLD):
        with pytest.raises(LookupError, match="orders database unreachable"):
            order_status("a-2")
    short_circuited = order_status("a-3")
    assert short_circuited.pop("retry_after") in range(1, OPEN_DURATION_SECONDS + 1)
    assert short_circuited == {"order": "a-3", "status": "unknown"}
    database("up")
    deadline = time.monotonic() + 30 * OPEN_DURATION_SECONDS
    while (answer := order_status("a-4"))["status"] != "accepted":
        assert time.monotonic() < deadline, "the circuit never closed"
        time.sleep(OPEN_DURATION_SECONDS / 4)
    assert answer == {"order": "a-4", "status": "accepted"}


def test_the_stack_trace_is_kept_when_asked_for(outputs, database):
    database("down")
    with pytest.raises(DownstreamError) as failed:
        invoke(outputs["standard_state_machine_arn"], {}, type="STANDARD", include_stack_trace=True)
    assert failed.value.stack_trace and any("orders.py" in line for line in failed.value.stack_trace)
