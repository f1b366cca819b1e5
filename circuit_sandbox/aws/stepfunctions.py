"""Step Functions' `StartSyncExecution`, which moto's server does not answer.

An EXPRESS state machine's callers usually run it synchronously: one request that returns
when the execution ends. `synchronous_executions` adds the action to moto's Step Functions
API: it starts the execution in moto's interpreter, waits for it to end, and answers as AWS
does, with `status` SUCCEEDED, FAILED or TIMED_OUT, the output or the error and cause, and the
billing details. A STANDARD state machine gets AWS's `StateMachineTypeNotSupported`.

On AWS the action has its own host (`sync-states.<region>.amazonaws.com`): botocore adds the
`sync-` prefix to whatever endpoint it is given, so a client of this emulator (an IP address)
needs `Config(inject_host_prefix=False)`.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# How long AWS lets a synchronous EXPRESS execution run: five minutes.
SYNC_LIMIT_SECONDS = 300
_POLL_SECONDS = 0.002
_BILLED_MEMORY_MB = 64  # AWS bills EXPRESS memory in 64 MB steps; the emulator does not measure it


@contextmanager
def synchronous_executions() -> Iterator[None]:
    """Answer `StartSyncExecution` in the emulator for the block."""
    from moto.core.exceptions import AWSError
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    class StateMachineTypeNotSupported(AWSError):
        TYPE = "StateMachineTypeNotSupported"
        STATUS = 400

    def start_sync_execution(self: Any) -> Any:
        backend = self.stepfunction_backend
        arn = self._get_param("stateMachineArn")
        machine = backend.describe_state_machine(arn)
        if getattr(machine, "type", "STANDARD") != "EXPRESS":
            raise StateMachineTypeNotSupported("This operation is only supported by EXPRESS state machines.")
        started = time.monotonic()
        execution = backend.start_execution(
            arn, self._get_param("name") or uuid.uuid4().hex, self._get_param("input", if_none="{}")
        )
        while str(_status(execution)) == "RUNNING" and time.monotonic() - started < SYNC_LIMIT_SECONDS:
            time.sleep(_POLL_SECONDS)
        return ActionResult(sync_response(execution, time.monotonic() - started))

    StepFunctionResponse.start_sync_execution = start_sync_execution  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del StepFunctionResponse.start_sync_execution  # type: ignore[attr-defined]


def _status(execution: Any) -> str:
    status = execution.status
    return str(getattr(status, "value", status))


def sync_response(execution: Any, seconds: float) -> dict[str, Any]:
    """What AWS's StartSyncExecution returns for a finished (or still running, then TIMED_OUT) `execution`."""
    status = _status(execution)
    response: dict[str, Any] = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "startDate": execution.start_date,
        "stopDate": execution.stop_date or execution.start_date,
        "status": status if status in ("SUCCEEDED", "FAILED") else "TIMED_OUT",
        "input": execution.execution_input,
        "inputDetails": {"included": True},
        "billingDetails": {
            "billedMemoryUsedInMB": _BILLED_MEMORY_MB,
            "billedDurationInMilliseconds": max(100, 100 * math.ceil(seconds * 10)),
        },
    }
    if status == "SUCCEEDED":
        output = execution.output
        response["output"] = output if isinstance(output, str) or output is None else json.dumps(output)
        response["outputDetails"] = {"included": True}
    if execution.error is not None:
        response["error"] = execution.error
    if execution.cause is not None:
        response["cause"] = execution.cause
    if status == "RUNNING":
        response["error"], response["cause"] = (
            "States.Timeout",
            "The execution ran longer than StartSyncExecution waits.",
        )
    return {key: value for key, value in response.items() if value is not None}
