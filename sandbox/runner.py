"""Runs Lambda handlers for moto, which cannot run Lambda code without Docker.

`hooked_into_moto` replaces moto's `LambdaFunction.invoke`, the single point through which
both the Step Functions interpreter and SNS subscriptions invoke functions, so they reach
the real handlers. Each function gets execution environments of its own: a fresh copy of
its handler module (own module state, own state cache) loaded with its own environment
variables. Errors come back as Lambda reports them: FunctionError plus errorType/errorMessage.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

_module_ids = itertools.count()
_environ_lock = threading.Lock()


@dataclass
class FunctionSpec:
    name: str
    handler: str  # "package.module.function", as in aws_lambda_function.handler
    code_dir: Path
    environment: dict[str, str] = field(default_factory=dict)


@dataclass
class Invocation:
    function: str
    payload: bytes
    error_type: str | None = None

    @property
    def function_error(self) -> str | None:
        return "Unhandled" if self.error_type else None


class ExecutionEnvironment:
    """One warm environment: the handler module loaded once, with the function's variables."""

    def __init__(self, spec: FunctionSpec) -> None:
        module_path, _, function_name = spec.handler.rpartition(".")
        source = spec.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
        if not source.is_file():
            raise FileNotFoundError(f"handler {spec.handler!r} of {spec.name}: no file {source}")
        if str(spec.code_dir) not in sys.path:  # Lambda puts the package root on the path
            sys.path.append(str(spec.code_dir))
        self.module = _load_fresh(source, spec.environment)
        self.handler = getattr(self.module, function_name)
        self.lock = threading.Lock()

    def invoke(self, event: Any, context: Any) -> tuple[Any, BaseException | None]:
        with self.lock:
            try:
                return self.handler(event, context), None
            except Exception as error:  # noqa: BLE001 - reported to the caller as Lambda does
                return None, error


class InProcessRunner:
    """Functions run in this process; a function gets a new environment whenever all of its are busy."""

    def __init__(self, max_environments: int = 10) -> None:
        self.functions: dict[str, FunctionSpec] = {}
        self.environments: dict[str, list[ExecutionEnvironment]] = {}
        self.invocations: list[Invocation] = []
        self.max_environments = max_environments
        self._lock = threading.Lock()

    def register(self, spec: FunctionSpec) -> None:
        self.functions[spec.name] = spec
        self.environments[spec.name] = []

    def invoke(self, function: str, event: Any) -> Invocation:
        spec = self.functions.get(function)
        if spec is None:
            result = Invocation(function, _error_payload("ResourceNotFoundException", f"no function {function}"),
                                "ResourceNotFoundException")
        else:
            environment = self._acquire(spec)
            response, error = environment.invoke(event, _Context(spec.name))
            if error is None:
                result = Invocation(function, json.dumps(response).encode())
            else:
                result = Invocation(function, _error_payload(type(error).__name__, str(error), error),
                                    type(error).__name__)
        with self._lock:
            self.invocations.append(result)
        return result

    def _acquire(self, spec: FunctionSpec) -> ExecutionEnvironment:
        with self._lock:
            pool = self.environments[spec.name]
            for environment in pool:
                if not environment.lock.locked():
                    return environment
            if len(pool) >= self.max_environments:
                return pool[len(self.invocations) % len(pool)]
        environment = ExecutionEnvironment(spec)
        with self._lock:
            pool.append(environment)
        return environment

    @contextmanager
    def hooked_into_moto(self) -> Iterator[InProcessRunner]:
        from moto.awslambda.models import LambdaFunction

        runner = self
        original = LambdaFunction.invoke

        def invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            event = json.loads(body) if body else {}
            result = runner.invoke(function.function_name, event)
            if result.function_error:
                response_headers["x-amz-function-error"] = result.function_error
            return result.payload

        LambdaFunction.invoke = invoke
        try:
            yield self
        finally:
            LambdaFunction.invoke = original


class _Context:
    """The parts of LambdaContext the handlers and Powertools read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 128
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = f"local-{next(_module_ids)}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _error_payload(error_type: str, message: str, error: BaseException | None = None) -> bytes:
    body: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if error is not None:
        body["stackTrace"] = traceback.format_tb(error.__traceback__)[-5:]
    return json.dumps(body).encode()


def _load_fresh(source: Path, environment: dict[str, str]) -> ModuleType:
    """Import `source` as a new module with `environment` applied while its module code runs."""
    spec = importlib.util.spec_from_file_location(f"_lambda_env_{next(_module_ids)}_{source.stem}", source)
    module = importlib.util.module_from_spec(spec)
    with _environ_lock:
        # Sibling modules of the handler (e.g. the example's `health`) are per environment too.
        for sibling in source.parent.glob("*.py"):
            sys.modules.pop(sibling.stem, None)
        saved = {key: os.environ.get(key) for key in environment}
        os.environ.update(environment)
        try:
            spec.loader.exec_module(module)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return module
