"""One Lambda execution environment as a process: the function's variables, its module state, its logs.

The parent (`circuit_sandbox.aws.runner.ProcessRunner`) starts one of these per environment. It sets
the function's environment variables, puts the package root on `sys.path` as Lambda does,
imports the handler once (the cold start) and then serves invocations one at a time over a
pipe, returning what Lambda's Invoke API returns: the payload, or FunctionError with
errorType/errorMessage, and the log lines the invocation wrote.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

# Imported by the fork server once, so that a new environment starts in milliseconds.
PRELOAD = ["boto3", "botocore.session", "aws_lambda_powertools.logging", "aws_lambda_powertools.metrics"]


class _LogTail(io.TextIOBase):
    """Stands in for stdout/stderr: collects what one invocation writes, as CloudWatch Logs would."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)

    def take(self) -> str:
        text, self.lines = "".join(self.lines), []
        return text


class Context:
    """The parts of LambdaContext that handlers and Powertools read."""

    def __init__(self, function_name: str, request_id: str, timeout_seconds: float, region: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 128
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_body(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__)[-5:],
    }


# How long a function's AWS call may wait for the emulator. The module's functions give up after 2 s
# (lambdas/circuit_breaker/clients.py), which DynamoDB, answering in milliseconds, never comes near; the
# emulator, serving a hundred executions at once on a two-core machine, can take longer.
EMULATOR_CLIENT_TIMEOUT_SECONDS = 60


def emulator_client_timeouts(code_dir: str) -> None:
    """Give the core's clients in the package at `code_dir` (if it has the core) the emulator's patience; their
    retries stay.

    Call it with the package's folder on the path, before the handler is imported (it creates its clients then).
    A copy of the core from anywhere else (the test process's own) is left as it is.
    """
    try:
        clients: Any = importlib.import_module("circuit_breaker.clients")
    except ImportError:  # a function without the module's core, e.g. an example's downstream
        return
    if not os.path.realpath(clients.__file__).startswith(os.path.realpath(code_dir) + os.sep):
        return
    from botocore.config import Config

    patience = Config(connect_timeout=EMULATOR_CLIENT_TIMEOUT_SECONDS, read_timeout=EMULATOR_CLIENT_TIMEOUT_SECONDS)
    clients.CONFIG = clients.CONFIG.merge(patience)


def serve(
    connection: Connection, name: str, handler: str, code_dir: str, environment: dict[str, str], timeout_seconds: float
) -> None:
    """Entry point of the environment process."""
    os.environ.update(environment)
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = name
    sys.path.insert(0, code_dir)
    tail = _LogTail()
    sys.stdout = sys.stderr = tail
    module_path, _, function_name = handler.rpartition(".")
    try:
        emulator_client_timeouts(code_dir)
        function = getattr(importlib.import_module(module_path), function_name)
        init_error = None
    except Exception as error:
        function, init_error = None, error_body(error, "Runtime.ImportModuleError")
    connection.send({"ready": True, "init_logs": tail.take(), "init_error": init_error})

    region = environment.get("AWS_REGION", "us-east-1")
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        started = time.perf_counter()
        if init_error is not None:
            body, failed = init_error, True
        else:
            try:
                event = json.loads(request["payload"]) if request["payload"] else {}
                response = function(event, Context(name, request["request_id"], timeout_seconds, region))
                body, failed = response, False
            except Exception as error:
                body, failed = error_body(error), True
        try:
            payload = json.dumps(body).encode()
        except (TypeError, ValueError) as error:
            payload, failed = json.dumps(error_body(error, "Runtime.MarshalError")).encode(), True
        connection.send(
            {
                "payload": payload,
                "failed": failed,
                "duration_ms": (time.perf_counter() - started) * 1000,
                "logs": tail.take(),
            }
        )
