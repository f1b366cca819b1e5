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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


# How long a function's AWS call may wait for the emulator, whatever timeouts its code sets (the module's
# functions give up after 2 s, which DynamoDB, answering in milliseconds, never comes near): the emulator,
# serving a hundred executions at once on a two-core machine, can take longer. Retries stay the code's own.
EMULATOR_CLIENT_TIMEOUT_SECONDS = 60


def install_emulator_patience() -> Callable[[], None]:
    """From now on, every botocore client created waits up to EMULATOR_CLIENT_TIMEOUT_SECONDS for the emulator,
    whatever the function is; returns what undoes it."""
    from botocore.config import Config
    from botocore.session import Session

    patience = Config(connect_timeout=EMULATOR_CLIENT_TIMEOUT_SECONDS, read_timeout=EMULATOR_CLIENT_TIMEOUT_SECONDS)
    original = Session.create_client

    def create_client(self: Session, *args: Any, config: Config | None = None, **kwargs: Any) -> Any:
        return original(self, *args, config=(config or Config()).merge(patience), **kwargs)

    Session.create_client = create_client  # type: ignore[method-assign]

    def undo() -> None:
        Session.create_client = original  # type: ignore[method-assign]

    return undo


@contextmanager
def emulator_patience() -> Iterator[None]:
    """The emulator's patience for the clients created in the block: around a handler's import (where a
    function creates its clients) in an environment that shares its process."""
    undo = install_emulator_patience()
    try:
        yield
    finally:
        undo()


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
    install_emulator_patience()  # for the process's life: a client created later waits for the emulator too
    try:
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
