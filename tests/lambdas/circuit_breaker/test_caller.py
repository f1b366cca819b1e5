"""circuit_breaker.caller: every way an execution ends becomes the downstream's result or one typed error."""

import json

import pytest

from circuit_breaker.caller import (
    CircuitOpenError,
    DownstreamError,
    ExecutionFailedError,
    ExecutionTimeoutError,
    InvalidCircuitRequestError,
    invoke,
    result,
)

ARN = "arn:aws:states:eu-west-1:123456789012:express:orders:run:1"
LAMBDA_ERROR = json.dumps(
    {
        "errorMessage": "orders database unreachable",
        "errorType": "ConnectionError",
        "requestId": "r-1",
        "stackTrace": ['  File "/var/task/orders.py", line 6, in handler\n'],
    }
)


def ended(status, **fields):
    return {"executionArn": ARN, "status": status, **fields}


def test_a_success_returns_the_output():
    assert result(ended("SUCCEEDED", output='{"order": 1}')) == {"order": 1}
    assert result(ended("SUCCEEDED", output="null")) is None


def open_cause(**fields) -> str:
    return json.dumps({"circuit": "orders", "state": "OPEN", "reason": "5 consecutive failures"} | fields)


def test_a_short_circuit_is_a_circuit_open_error_with_its_circuit_state_reason_and_retry_after():
    cause = open_cause(retry_after_seconds=12)
    with pytest.raises(CircuitOpenError) as raised:
        result(ended("FAILED", error="CircuitOpen", cause=cause))
    opened = raised.value
    assert (opened.circuit, opened.state, opened.reason, opened.retry_after_seconds) == (
        "orders",
        "OPEN",
        "5 consecutive failures",
        12,
    )
    assert opened.execution_arn == ARN and opened.cause == cause
    assert str(opened) == "circuit orders is OPEN: 5 consecutive failures"


@pytest.mark.parametrize("retry_after", [None, "12", -1, 1.5, True])
def test_a_retry_after_that_is_not_whole_seconds_is_none(retry_after):
    with pytest.raises(CircuitOpenError) as raised:
        result(ended("FAILED", error="CircuitOpen", cause=open_cause(retry_after_seconds=retry_after)))
    assert raised.value.retry_after_seconds is None


def test_a_forced_open_circuit_says_so():
    cause = open_cause(state="FORCED_OPEN", reason="maintenance: db upgrade", retry_after_seconds=None)
    with pytest.raises(CircuitOpenError) as raised:
        result(ended("FAILED", error="CircuitOpen", cause=cause))
    assert (raised.value.state, raised.value.reason) == ("FORCED_OPEN", "maintenance: db upgrade")


def test_the_cause_of_a_state_machine_of_0_2_0_still_reads():
    with pytest.raises(CircuitOpenError) as raised:
        result(ended("FAILED", error="CircuitOpen", cause="circuit orders is FORCED_OPEN: maintenance: db upgrade"))
    opened = raised.value
    assert (opened.circuit, opened.state, opened.reason, opened.retry_after_seconds) == (
        "orders",
        "FORCED_OPEN",
        "maintenance: db upgrade",
        None,
    )


@pytest.mark.parametrize("cause", ["[1]", json.dumps({"circuit": "orders"}), "the breaker upstream is open"])
def test_a_downstream_error_named_circuit_open_is_the_downstreams(cause):
    with pytest.raises(DownstreamError) as raised:
        result(ended("FAILED", error="CircuitOpen", cause=cause))
    assert raised.value.error_type == "CircuitOpen"


def test_the_downstreams_error_keeps_its_type_and_message_and_drops_the_stack_trace_by_default():
    with pytest.raises(DownstreamError) as raised:
        result(ended("FAILED", error="ConnectionError", cause=LAMBDA_ERROR))
    error = raised.value
    assert (error.error_type, error.message, error.stack_trace) == (
        "ConnectionError",
        "orders database unreachable",
        None,
    )
    assert "orders.py" not in error.cause and json.loads(error.cause)["requestId"] == "r-1"


def test_the_stack_trace_is_kept_when_asked_for():
    with pytest.raises(DownstreamError) as raised:
        result(ended("FAILED", error="ConnectionError", cause=LAMBDA_ERROR), include_stack_trace=True)
    assert raised.value.stack_trace == ['  File "/var/task/orders.py", line 6, in handler\n']
    assert raised.value.cause == LAMBDA_ERROR


def test_a_failure_result_or_a_plain_cause_is_a_downstream_error_too():
    with pytest.raises(DownstreamError) as raised:
        result(ended("FAILED", error="FailureResult", cause="status 503"))
    assert (raised.value.error_type, raised.value.message) == ("FailureResult", "status 503")


@pytest.mark.parametrize(
    ("execution", "expected"),
    [
        (ended("TIMED_OUT"), ExecutionTimeoutError),
        (ended("FAILED", error="States.Timeout", cause="Task timed out"), ExecutionTimeoutError),
        (ended("FAILED", error="InvalidCircuitRequest", cause="circuit x is not allowed"), InvalidCircuitRequestError),
        (ended("FAILED", error="States.DataLimitExceeded", cause="too large"), ExecutionFailedError),
        (ended("FAILED", error="Lambda.ServiceException", cause="boom"), ExecutionFailedError),
        (ended("ABORTED"), ExecutionFailedError),
        (ended("FAILED", error="CircuitOpen", cause="not the module's format"), DownstreamError),
    ],
)
def test_every_other_ending_has_its_own_error(execution, expected):
    with pytest.raises(expected) as raised:
        result(execution)
    assert type(raised.value) is expected and raised.value.execution_arn == ARN


class FakeStepFunctions:
    """Answers StartExecution and DescribeExecution as a STANDARD execution that runs for two polls."""

    def __init__(self):
        self.described = 0

    def start_execution(self, stateMachineArn, name, input):
        self.input = json.loads(input)
        return {"executionArn": ARN}

    def describe_execution(self, executionArn):
        self.described += 1
        if self.described < 3:
            return ended("RUNNING")
        return ended("SUCCEEDED", output=json.dumps({"echo": self.input}))


def test_a_standard_execution_is_started_and_described_until_it_ends():
    sfn = FakeStepFunctions()
    assert invoke("arn:sm", {"order": 1}, type="STANDARD", stepfunctions=sfn, poll_seconds=0) == {"echo": {"order": 1}}
    assert sfn.described == 3


def test_a_standard_execution_that_outlasts_the_timeout_raises():
    class Forever(FakeStepFunctions):
        def describe_execution(self, executionArn):
            return ended("RUNNING")

    with pytest.raises(ExecutionTimeoutError):
        invoke("arn:sm", {}, type="STANDARD", stepfunctions=Forever(), poll_seconds=0.01, timeout_seconds=0.05)


def test_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="EXPRESS or STANDARD"):
        invoke("arn:sm", {}, type="SYNC", stepfunctions=FakeStepFunctions())
