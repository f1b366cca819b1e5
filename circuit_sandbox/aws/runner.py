"""Runs Lambda handlers for moto, which cannot run Lambda code without Docker.

`Runner.hooked_into_moto` replaces moto's `LambdaFunction.invoke`, the single point through
which the Step Functions interpreter, SNS subscriptions and Invoke API calls reach a
function, so they all run the real handlers. Errors come back as Lambda reports them:
FunctionError plus errorType/errorMessage. Every invocation is recorded with its start time,
duration and outcome: the figures CloudWatch's `AWS/Lambda` metrics are made of.

Two runners share that contract:
- `ProcessRunner` (the sandbox): each execution environment is a process with the function's
  own environment variables and module state, talking to the emulator over HTTP. A function
  gets another environment whenever all of its environments are busy, up to a limit.
- `InProcessRunner` (unit tests, with moto in-process): each environment is a fresh copy of
  the handler module in this process, so tests stay fast and coverage sees the handlers.

What a function runs is what the emulator holds, as on AWS: `FunctionSpec.of` takes the
handler string, environment variables, timeout and zip that were deployed (by Terraform, in
the sandbox) from moto's function, and `CodeCache` unpacks each zip once, by its SHA-256.
The process runner always runs the deployed function. The in-process runner runs a package
from the source folder it was built from when every file in it is byte for byte that folder's
(`CodeCache` with `sources`), so that coverage sees `lambdas/`; a function registered by hand
(`register`) runs instead of the deployed one, for a test that breaks it on purpose.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import itertools
import json
import multiprocessing
import multiprocessing.context
import multiprocessing.popen_forkserver
import multiprocessing.spawn
import shutil
import sys
import sysconfig
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from . import worker
from .server import environ

_ids = itertools.count()
_environ_lock = threading.Lock()


@dataclass
class FunctionSpec:
    name: str
    handler: str  # "package.module.function", as in aws_lambda_function.handler
    code_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 30
    spread: bool = False  # ProcessRunner: round-robin over idle environments instead of reusing the latest

    @classmethod
    def of(cls, function: Any, code: CodeCache) -> FunctionSpec:
        """The spec of `function`, a function moto holds: what was deployed, unpacked by `code`."""
        return cls(
            function.function_name,
            function.handler,
            code.unpack(function.code_sha_256, function.code_bytes),
            dict(function.environment_vars or {}),
            float(function.timeout),
        )


class CodeCache:
    """Deployment packages unpacked once each, in a folder named after the package's SHA-256, as Lambda's /var/task.

    With `sources`, a package whose every file is byte for byte the file at the same path in
    one of those folders runs from that folder instead: the same code, seen by coverage.
    """

    def __init__(self, sources: tuple[Path, ...] = ()) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lambda-code-"))
        self.sources = sources
        self._lock = threading.Lock()

    def unpack(self, sha256: str, package: bytes) -> Path:
        folder = self.root / base64.b64decode(sha256).hex()
        with self._lock:
            if not folder.is_dir():
                partial = folder.with_suffix(".partial")
                with zipfile.ZipFile(io.BytesIO(package)) as archive:
                    archive.extractall(partial)
                partial.rename(folder)
        return next((source for source in self.sources if _holds_the_same(source, folder)), folder)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _holds_the_same(source: Path, unpacked: Path) -> bool:
    """Whether every file of `unpacked` is, byte for byte, the file at the same path under `source`."""
    files = [path for path in unpacked.rglob("*") if path.is_file()]
    return bool(files) and all(
        (source / path.relative_to(unpacked)).is_file()
        and (source / path.relative_to(unpacked)).read_bytes() == path.read_bytes()
        for path in files
    )


@dataclass
class Invocation:
    function: str
    payload: bytes
    error_type: str | None = None
    started_at: float = 0.0  # epoch seconds
    duration_ms: float = 0.0
    logs: str = ""

    @property
    def function_error(self) -> str | None:
        return "Unhandled" if self.error_type else None

    def response(self) -> Any:
        return json.loads(self.payload)


class Runner:
    """What both runners share: registration, the moto hook and the invocation record."""

    def __init__(self, max_environments: int = 10, sources: tuple[Path, ...] = ()) -> None:
        self.functions: dict[str, FunctionSpec] = {}
        self.invocations: list[Invocation] = []
        self.listeners: list[Callable[[Invocation], None]] = []  # told of each invocation when it ends
        self.start_listeners: list[Callable[[str, float], None]] = []  # (function, started at) when one starts
        self.max_environments = max_environments
        self.code = CodeCache(sources)
        self._lock = threading.Lock()

    def register(self, spec: FunctionSpec) -> None:
        self.functions[spec.name] = spec

    def deployed(self, function: Any) -> FunctionSpec:
        """The spec to run for `function` (moto's): a registered one, or else what was deployed."""
        registered = self.functions.get(function.function_name)
        return registered if registered is not None else self.adopt(function)

    def adopt(self, function: Any) -> FunctionSpec:
        """Run what moto holds for `function` from now on; a redeployed function gets new environments."""
        spec = FunctionSpec.of(function, self.code)
        current = self.functions.get(spec.name)
        if current is None or (current.handler, current.code_dir, current.environment, current.timeout_seconds) != (
            spec.handler,
            spec.code_dir,
            spec.environment,
            spec.timeout_seconds,
        ):
            self.register(spec)
            return spec
        return current

    def adopt_all(self) -> list[FunctionSpec]:
        """Adopt every function the emulator holds (in this process's moto), e.g. before warming them."""
        from moto.awslambda.models import lambda_backends

        return [
            self.adopt(function)
            for account in list(lambda_backends)
            for region in list(lambda_backends[account])
            for function in lambda_backends[account][region].list_functions()
        ]

    def invoke(self, function: str | FunctionSpec, event: Any) -> Invocation:
        """Run `function` (a registered name, or a spec) with `event`; record and report the invocation."""
        started_at = time.time()
        spec = function if isinstance(function, FunctionSpec) else self.functions.get(function)
        for start_listener in self.start_listeners:
            start_listener(spec.name if spec is not None else str(function), started_at)
        if spec is None:
            result = Invocation(
                str(function),
                json.dumps(
                    {"errorMessage": f"no function {function}", "errorType": "ResourceNotFoundException"}
                ).encode(),
                "ResourceNotFoundException",
            )
        else:
            result = self._run(spec, event)
        result.started_at = started_at
        with self._lock:
            self.invocations.append(result)
        for listener in self.listeners:
            listener(result)
        return result

    def environment_count(self, function: str) -> int:
        raise NotImplementedError

    def _run(self, spec: FunctionSpec, event: Any) -> Invocation:
        raise NotImplementedError

    def close(self) -> None:
        """Stop every execution environment."""
        self.code.close()

    @contextmanager
    def hooked_into_moto(self) -> Iterator[Runner]:
        from moto.awslambda.models import LambdaFunction

        runner = self
        original = LambdaFunction.invoke

        def invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            event = json.loads(body) if body else {}
            result = runner.invoke(runner.deployed(function), event)
            if result.function_error:
                response_headers["x-amz-function-error"] = result.function_error
            return result.payload

        # The one patch point for Step Functions and SNS alike: moto's own Lambda invocation.
        LambdaFunction.invoke = invoke  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            LambdaFunction.invoke = original  # type: ignore[method-assign]


# ---------------------------------------------------------------------------- processes


_launching = threading.Lock()


class _WorkerPopen(multiprocessing.popen_forkserver.Popen):
    """Starts an environment without the parent's `__main__`.

    multiprocessing re-runs the parent's main script in every child it starts (as `__mp_main__`), so
    that the child can unpickle what the script defines. An environment needs nothing of it, and a
    script that starts the emulator without an `if __name__ == "__main__":` guard would start
    another emulator in each environment.
    """

    def _launch(self, process_obj: Any) -> None:
        original = multiprocessing.spawn.get_preparation_data

        def without_main(name: str) -> dict[str, Any]:
            data = original(name)
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
            return data

        with _launching:
            multiprocessing.spawn.get_preparation_data = without_main  # type: ignore[assignment]
            try:
                super()._launch(process_obj)  # type: ignore[misc]
            finally:
                multiprocessing.spawn.get_preparation_data = original


class _WorkerProcess(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _WorkerPopen(process_obj)


class _ProcessEnvironment:
    def __init__(self, context: Any, spec: FunctionSpec, extra_environment: dict[str, str]) -> None:
        self.connection, child = context.Pipe()
        environment = {**extra_environment, **spec.environment}
        self.process = _WorkerProcess(
            target=worker.serve,
            daemon=True,
            name=f"lambda-{spec.name}",
            args=(child, spec.name, spec.handler, str(spec.code_dir), environment, spec.timeout_seconds),
        )
        self.process.start()
        child.close()
        hello = self.connection.recv()
        self.init_logs: str = hello["init_logs"]

    def invoke(self, event: Any) -> dict:
        self.connection.send({"payload": json.dumps(event), "request_id": f"local-{next(_ids)}"})
        return self.connection.recv()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()


class ProcessRunner(Runner):
    """Each execution environment is a worker process; busy functions get more, up to `max_environments`.

    `environment` is added to every function's variables (credentials, region and
    AWS_ENDPOINT_URL of the emulator). When a function already has `max_environments`
    busy environments, the invocation waits for one to free up.
    """

    def __init__(self, environment: dict[str, str], max_environments: int = 10) -> None:
        super().__init__(max_environments)
        self.environment = environment
        self._idle: dict[str, list[_ProcessEnvironment]] = {}
        self._all: dict[str, list[_ProcessEnvironment]] = {}
        self._freed = threading.Condition(self._lock)
        self._adopting = threading.Lock()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(worker.PRELOAD)

    def register(self, spec: FunctionSpec) -> None:
        with self._lock:
            retired = self._idle.get(spec.name, [])
            super().register(spec)
            self._idle[spec.name], self._all[spec.name] = [], []
        for environment in retired:  # a redeployed function: its old environments end, as on AWS
            environment.stop()

    def deployed(self, function: Any) -> FunctionSpec:
        """Always what the emulator holds: a function registered from source runs only through `invoke`."""
        with self._adopting:
            return self.adopt(function)

    def environment_count(self, function: str) -> int:
        return len(self._all.get(function, []))

    def warm(self, function: str | None = None, count: int = 1) -> None:
        """Start environments now, in parallel: `count` of `function`, or one of every function that has none."""

        def start(spec: FunctionSpec) -> None:
            environment = self._start(spec)
            with self._lock:
                current = environment in self._all[spec.name]
                if current:
                    self._idle[spec.name].append(environment)
                    self._freed.notify()
            if not current:  # redeployed while it started
                environment.stop()

        if function is not None:
            specs = [self.functions[function]] * count
        else:
            specs = [spec for spec in self.functions.values() if not self._all[spec.name]]
        threads = [threading.Thread(target=start, args=(spec,)) for spec in specs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _run(self, spec: FunctionSpec, event: Any) -> Invocation:
        environment = self._acquire(spec)
        try:
            reply = environment.invoke(event)
        except (EOFError, OSError) as error:  # the environment died: Lambda reports a runtime exit
            with self._lock:
                if environment in self._all[spec.name]:
                    self._all[spec.name].remove(environment)
                self._freed.notify()
            body = {"errorMessage": f"execution environment exited: {error}", "errorType": "Runtime.ExitError"}
            return Invocation(spec.name, json.dumps(body).encode(), "Runtime.ExitError")
        with self._lock:
            current = environment in self._all[spec.name]
            if current:
                self._idle[spec.name].append(environment)
                self._freed.notify()
        if not current:  # the function was redeployed meanwhile: this environment retires
            environment.stop()
        error_type = json.loads(reply["payload"]).get("errorType", "Unhandled") if reply["failed"] else None
        return Invocation(spec.name, reply["payload"], error_type, duration_ms=reply["duration_ms"], logs=reply["logs"])

    def _acquire(self, spec: FunctionSpec) -> _ProcessEnvironment:
        with self._lock:
            while not self._idle[spec.name] and len(self._all[spec.name]) >= self.max_environments:
                self._freed.wait()
            if self._idle[spec.name]:
                return self._idle[spec.name].pop(0 if spec.spread else -1)
        return self._start(spec)

    def _start(self, spec: FunctionSpec) -> _ProcessEnvironment:
        """A new environment of `spec`, counted in its pool unless the function was redeployed meanwhile."""
        with self._lock:
            pool = self._all[spec.name]
            placeholder: Any = object()  # reserve the slot while the process starts, outside the lock
            pool.append(placeholder)
        try:
            environment = _ProcessEnvironment(self._context, spec, self.environment)
        finally:
            with self._lock:
                pool.remove(placeholder)
        with self._lock:
            if self._all.get(spec.name) is pool:
                pool.append(environment)
        return environment

    def close(self) -> None:
        with self._lock:
            environments = [e for pool in self._all.values() for e in pool if isinstance(e, _ProcessEnvironment)]
            for pool in (*self._all.values(), *self._idle.values()):
                pool.clear()
        for environment in environments:
            environment.stop()
        super().close()


# ---------------------------------------------------------------------------- in process


class ModuleEnvironment:
    """One environment in this process: the handler module loaded once, with the function's variables."""

    def __init__(self, spec: FunctionSpec) -> None:
        module_path, _, function_name = spec.handler.rpartition(".")
        source = spec.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
        if not source.is_file():
            raise FileNotFoundError(f"handler {spec.handler!r} of {spec.name}: no file {source}")
        if str(spec.code_dir) not in sys.path:  # Lambda puts the package root on the path
            sys.path.append(str(spec.code_dir))
        self.module = _load_fresh(source, spec.code_dir, spec.environment)
        self.handler = getattr(self.module, function_name)
        self.lock = threading.Lock()


class InProcessRunner(Runner):
    """Functions run in this process; a function gets a new environment whenever all of its are busy."""

    def __init__(self, max_environments: int = 10, sources: tuple[Path, ...] = ()) -> None:
        super().__init__(max_environments, sources)
        self.environments: dict[str, list[ModuleEnvironment]] = {}

    def register(self, spec: FunctionSpec) -> None:
        super().register(spec)
        self.environments[spec.name] = []

    def environment_count(self, function: str) -> int:
        return len(self.environments.get(function, []))

    def _run(self, spec: FunctionSpec, event: Any) -> Invocation:
        environment = self._acquire(spec)
        started = time.perf_counter()
        with environment.lock:
            try:
                body, error_type = (
                    environment.handler(
                        event, worker.Context(spec.name, f"local-{next(_ids)}", spec.timeout_seconds, "us-east-1")
                    ),
                    None,
                )
            except Exception as error:
                body, error_type = worker.error_body(error), type(error).__name__
        return Invocation(
            spec.name, json.dumps(body).encode(), error_type, duration_ms=(time.perf_counter() - started) * 1000
        )

    def _acquire(self, spec: FunctionSpec) -> ModuleEnvironment:
        with self._lock:
            pool = self.environments[spec.name]
            for environment in pool:
                if not environment.lock.locked():
                    return environment
            if len(pool) >= self.max_environments:
                return pool[len(self.invocations) % len(pool)]
        environment = ModuleEnvironment(spec)
        with self._lock:
            pool.append(environment)
        return environment


def _load_fresh(source: Path, code_dir: Path, environment: dict[str, str]) -> ModuleType:
    """Import `source` as a new module with `environment` applied while its module code runs.

    What it imports from `code_dir` (a package's own modules and libraries) is
    imported afresh too, as every Lambda package carries its own copy: module state such as
    settings and the Powertools Logger and Metrics (configured by POWERTOOLS_*) is this
    environment's. A module is the package's when its top-level name is one the package holds,
    wherever this process imported it from (another folder of the same code, an earlier
    version; not the standard library or an installed package), and the package's folder comes
    first on the path while it loads: the package's own file is the one its module code imports.
    The process's own copies are put back afterwards.
    """
    spec = importlib.util.spec_from_file_location(f"_lambda_env_{next(_ids)}_{source.stem}", source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(spec)
    with _environ_lock:
        own = _modules_of(code_dir)
        for name in own:
            del sys.modules[name]
        sys.path.insert(0, str(code_dir))  # first, as Lambda puts it: the package's own file of a name wins
        try:
            with environ(environment), worker.emulator_patience():
                spec.loader.exec_module(module)
        finally:
            with contextlib.suppress(ValueError):  # the first occurrence, the one inserted, unless the code took it
                sys.path.remove(str(code_dir))
            for name in _modules_of(code_dir):
                del sys.modules[name]
            sys.modules.update(own)
    return module


def _modules_of(code_dir: Path) -> dict[str, ModuleType]:
    """The modules in sys.modules that `code_dir` provides: those under it, and those of a name it holds (a module
    file, or a folder of Python files) that this process imported from elsewhere but not from Python's own library or
    installed packages (the process keeps its standard library and the libraries it runs on)."""
    prefix = str(code_dir.resolve()) + "/"
    names = _package_names(code_dir)

    def provided(name: str, module: ModuleType) -> bool:
        where = getattr(module, "__file__", None) or ""
        return where.startswith(prefix) or (name.partition(".")[0] in names and not where.startswith(_LIBRARIES))

    return {name: module for name, module in list(sys.modules.items()) if provided(name, module)}


def _package_names(code_dir: Path) -> set[str]:
    names = {
        path.stem if path.suffix == ".py" else path.name
        for path in code_dir.iterdir()
        if path.suffix == ".py" or (path.is_dir() and path.name.isidentifier() and any(path.glob("*.py")))
    }
    return names - set(sys.stdlib_module_names) - set(sys.builtin_module_names)


# Where Python's own library and the installed packages live: a module from there is the process's, whatever its name.
_LIBRARIES = tuple(
    str(Path(path).resolve()) + "/"
    for path in {sysconfig.get_path(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)
