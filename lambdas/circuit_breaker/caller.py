"""Call a state machine of this module from Python: the downstream's result, or a typed error.

    from circuit_breaker.caller import CircuitOpenError, DownstreamError, invoke

    try:
        result = invoke(state_machine_arn, {"order": 42})
    except CircuitOpenError as open_circuit:
        ...  # open_circuit.circuit, .state, .reason, .retry_after_seconds: fail fast, serve a cached answer
    except DownstreamError as failed:
        ...  # failed.error_type, failed.message: the downstream's own error

An EXPRESS state machine (the module's default `type`) is run with `StartSyncExecution`; a
STANDARD one (`type="STANDARD"`) is started and then described until it ends. Every failure
an execution can end in is one subclass of `ExecutionError` (a `CircuitBreakerError`), which keeps the execution's
`error`, `cause` and ARN; the README's "What your caller sees" lists them.

The caller needs `states:StartSyncExecution` on the state machine (EXPRESS), or
`states:StartExecution` on it and `states:DescribeExecution` on its executions (STANDARD):
the module's `caller_policy_json` output.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import ClientError

from circuit_breaker.exceptions import ExecutionError

# What the module's ShortCircuit state (fallback_mode = "fail") says: main.tf, local.short_circuit_states. The cause
# is JSON (circuit, action, state, reason, retry_after_seconds); 0.2.0 and earlier wrote "circuit <name> is <state>:
# <reason>".
CIRCUIT_OPEN = "CircuitOpen"
_OPEN_CAUSE_0_2 = re.compile(r"^circuit (?P<circuit>.*) is (?P<state>[A-Z_]+): (?P<reason>.*)$", re.DOTALL)
# What the module's RejectRequest state says when the input selects a circuit it may not use.
INVALID_CIRCUIT_REQUEST = "InvalidCircuitRequest"
# A synchronous execution answers when it ends, after 5 minutes at most: the read waits longer than that, so
# that a retry (which would run the downstream again) never follows a read timeout. Throttling is retried.
CONFIG = Config(connect_timeout=5, read_timeout=330, retries={"mode": "standard", "total_max_attempts": 3})
# AWS's own error for an execution that ran out of time.
TIMEOUT_ERRORS = frozenset({"States.Timeout"})
_AWS_ERROR = re.compile(r"^(States|Lambda)\.")


class CircuitOpenError(ExecutionError):
    """The circuit is OPEN (or FORCED_OPEN, or its store unreadable with fail_closed): the downstream was not called.

    `retry_after_seconds`: whole seconds until the circuit may admit a probe (rounded up), or None when nobody
    can tell (forced open without expiry, store unreadable, a healthcheck alarm holding it open).
    """

    def __init__(
        self,
        *,
        circuit: str,
        state: str,
        reason: str,
        retry_after_seconds: int | None = None,
        error: str,
        cause: str,
        execution_arn: str,
    ) -> None:
        super().__init__(
            f"circuit {circuit} is {state}: {reason}", error=error, cause=cause, execution_arn=execution_arn
        )
        self.circuit, self.state, self.reason = circuit, state, reason
        self.retry_after_seconds = retry_after_seconds


class DownstreamError(ExecutionError):
    """The downstream function raised (or returned a result the module's failure_result classifies as failed).

    `error_type` and `message` are the function's; `stack_trace` (file paths and lines of the
    function's code) is kept only when `invoke(..., include_stack_trace=True)`.
    """

    def __init__(
        self,
        *,
        error_type: str,
        message: str,
        stack_trace: list[str] | None,
        error: str,
        cause: str,
        execution_arn: str,
    ) -> None:
        super().__init__(f"{error_type}: {message}", error=error, cause=cause, execution_arn=execution_arn)
        self.error_type, self.message, self.stack_trace = error_type, message, stack_trace


class InvalidCircuitRequestError(ExecutionError):
    """The input selected a circuit this state machine may not use (allowed_circuits)."""


class ExecutionTimeoutError(ExecutionError):
    """The execution ran out of time (States.Timeout, or StartSyncExecution's TIMED_OUT)."""


class ExecutionFailedError(ExecutionError):
    """Step Functions or Lambda failed the execution (States.* or Lambda.* other than a timeout)."""


def invoke(
    state_machine_arn: str,
    payload: Any,
    *,
    type: Literal["EXPRESS", "STANDARD"] = "EXPRESS",
    stepfunctions: Any = None,
    include_stack_trace: bool = False,
    poll_seconds: float = 0.2,
    timeout_seconds: float | None = None,
) -> Any:
    """Run the state machine with `payload` (JSON-serialisable); return the downstream's result (or fallback).

    Raises an `ExecutionError` subclass when the execution fails, and botocore's ClientError
    when Step Functions refuses the request itself (access denied, input over 256 KiB).
    `stepfunctions` is a boto3 Step Functions client (default: one made here, see `stepfunctions_client`).
    A STANDARD execution is described every `poll_seconds` until it ends, for `timeout_seconds` at most.
    """
    sfn = stepfunctions if stepfunctions is not None else stepfunctions_client()
    document = json.dumps(payload)
    if type == "EXPRESS":
        try:
            ended = sfn.start_sync_execution(stateMachineArn=state_machine_arn, input=document)
        except ClientError as refused:
            if refused.response.get("Error", {}).get("Code") == "StateMachineTypeNotSupported":
                raise ValueError(
                    f"{state_machine_arn} is a STANDARD state machine: invoke it with type='STANDARD'"
                ) from None
            raise
    elif type == "STANDARD":
        arn = sfn.start_execution(stateMachineArn=state_machine_arn, name=uuid.uuid4().hex, input=document)[
            "executionArn"
        ]
        ended = _wait(sfn, arn, poll_seconds, timeout_seconds)
    else:
        raise ValueError(f"type must be EXPRESS or STANDARD, as the module's `type`; got {type!r}")
    return result(ended, include_stack_trace=include_stack_trace)


def stepfunctions_client() -> Any:
    """A Step Functions client for `invoke` (CONFIG), in the environment's region and endpoint.

    Against a local endpoint (AWS_ENDPOINT_URL, e.g. the sandbox) botocore must not prefix the host
    with `sync-`, as it does for AWS's StartSyncExecution endpoint; on AWS it must.
    """
    import boto3

    sfn = boto3.client("stepfunctions", config=CONFIG)
    if "amazonaws.com" not in sfn.meta.endpoint_url:
        sfn = boto3.client("stepfunctions", config=CONFIG.merge(Config(inject_host_prefix=False)))
    return sfn


def result(execution: dict[str, Any], *, include_stack_trace: bool = False) -> Any:
    """The output of an ended execution (DescribeExecution's or StartSyncExecution's response), or its error raised."""
    status, arn = execution["status"], execution["executionArn"]
    if status == "SUCCEEDED":
        return json.loads(execution.get("output") or "null")
    error, cause = execution.get("error") or "", execution.get("cause") or ""
    if status == "TIMED_OUT" or error in TIMEOUT_ERRORS:
        raise ExecutionTimeoutError(
            f"the execution timed out ({error or status}): {cause}", error=error, cause=cause, execution_arn=arn
        )
    if error == CIRCUIT_OPEN and (opened := _open_circuit(cause)) is not None:
        raise CircuitOpenError(**opened, error=error, cause=cause, execution_arn=arn)
    if error == INVALID_CIRCUIT_REQUEST:
        raise InvalidCircuitRequestError(cause or error, error=error, cause=cause, execution_arn=arn)
    if status != "FAILED" or _AWS_ERROR.match(error) or not error:
        raise ExecutionFailedError(
            f"the execution ended {status}: {error} {cause}".strip(), error=error, cause=cause, execution_arn=arn
        )
    raise _downstream_error(error, cause, arn, include_stack_trace)


def _open_circuit(cause: str) -> dict[str, Any] | None:
    """The open circuit a CircuitOpen cause describes, or None when it is not one of the module's causes."""
    try:
        document = json.loads(cause)
    except ValueError:
        old = _OPEN_CAUSE_0_2.match(cause)
        return dict(old.groupdict()) if old else None
    if not isinstance(document, dict) or not all(isinstance(document.get(k), str) for k in ("circuit", "state")):
        return None
    retry_after = document.get("retry_after_seconds")
    return {
        "circuit": document["circuit"],
        "state": document["state"],
        "reason": str(document.get("reason", "")),
        "retry_after_seconds": retry_after if type(retry_after) is int and retry_after >= 0 else None,
    }


def _downstream_error(error: str, cause: str, arn: str, include_stack_trace: bool) -> DownstreamError:
    """The downstream's error, from Lambda's error document in the cause (when it is one)."""
    try:
        document = json.loads(cause)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {"errorMessage": cause}
    trace = document.get("stackTrace")
    return DownstreamError(
        error_type=str(document.get("errorType") or error),
        message=str(document.get("errorMessage", "")),
        stack_trace=[str(line) for line in trace] if include_stack_trace and isinstance(trace, list) else None,
        error=error,
        cause=cause if include_stack_trace else json.dumps({k: v for k, v in document.items() if k != "stackTrace"}),
        execution_arn=arn,
    )


def _wait(sfn: Any, execution_arn: str, poll_seconds: float, timeout_seconds: float | None) -> dict[str, Any]:
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if deadline is not None and time.monotonic() >= deadline:
            raise ExecutionTimeoutError(
                f"the execution still runs after {timeout_seconds} s",
                error="",
                cause="",
                execution_arn=execution_arn,
            )
        time.sleep(poll_seconds)
