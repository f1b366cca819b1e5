"""What the local AWS emulator needs beyond moto to behave like AWS."""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import threading
import urllib.request
from collections import Counter
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from contextlib import contextmanager
from typing import Any

_ITEM_OPERATIONS = ("get_item", "put_item", "update_item", "delete_item", "transact_write_items")
_lock = threading.RLock()
# Item operations served, by (operation, table): what the benchmarks count as reads and writes.
OPERATIONS: Counter = Counter()


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """Make moto's item operations atomic, as DynamoDB's are, and count them.

    moto evaluates a condition and applies the update without a lock, so concurrent ADDs
    can be lost and two conditional writes can both succeed; its UpdateItem handler also
    copies the stored item while another request may be changing it. Serialising each item
    request, from the API handler down to the backend, restores the per-item atomicity every
    transition in this module relies on. Each API call is counted once in OPERATIONS.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    backend_originals = {name: getattr(DynamoDBBackend, name) for name in _ITEM_OPERATIONS}
    handler_originals = {name: getattr(DynamoHandler, name) for name in _ITEM_OPERATIONS}

    def locked(operation):
        @functools.wraps(operation)
        def run(*args, **kwargs):
            with _lock:
                return operation(*args, **kwargs)

        return run

    def counted(operation):
        @functools.wraps(operation)
        def run(handler, *args, **kwargs):
            body = getattr(handler, "body", None)
            table = body.get("TableName", "*") if isinstance(body, dict) else "*"
            with _lock:
                OPERATIONS[operation.__name__, table] += 1
                return operation(handler, *args, **kwargs)

        return run

    for name, operation in backend_originals.items():
        setattr(DynamoDBBackend, name, locked(operation))
    for name, operation in handler_originals.items():
        setattr(DynamoHandler, name, counted(operation))
    try:
        yield
    finally:
        for name, operation in backend_originals.items():
            setattr(DynamoDBBackend, name, operation)
        for name, operation in handler_originals.items():
            setattr(DynamoHandler, name, operation)


# moto's backends that look through their own dicts while Terraform adds to them (the sandbox's alarm
# evaluator and scheduler read alarms and schedules as they are created), by class, with the methods left
# outside the lock: those that wait on other requests (SNS's publish and publish_batch run the subscribed
# functions), and those a backend's constructor calls, under moto's own lock, on the backend it is building.
_SERIALISED_BACKENDS = {
    ("moto.iam.models", "IAMBackend"): ("_init_aws_policies", "_init_managed_policies", "initialize_service_roles"),
    ("moto.kms.models", "KmsBackend"): (),
    ("moto.sns.models", "SNSBackend"): ("publish", "publish_batch"),
    ("moto.cloudwatch.models", "CloudWatchBackend"): (),
    ("moto.scheduler.models", "EventBridgeSchedulerBackend"): (),
}
_backends_lock = threading.RLock()


@contextmanager
def thread_safe_backends() -> Iterator[None]:
    """Run each method of moto's IAM, KMS, SNS, CloudWatch and Scheduler backends alone, as AWS serves concurrent calls.

    moto's server answers each request on its own thread, and these backends iterate their dicts
    while another request's thread may add to them: Terraform creating two roles at once (or a
    function whose role Lambda looks up while another role is created) could fail one with
    "dictionary changed size during iteration", which the server answers with an HTML 500 that
    no client retries. Every method these classes define runs under one lock (not the item
    operations' one: neither calls the other), and one that returns a view of a dict or a lazy
    iterator returns a list made under the lock instead. No method under the lock waits on
    another request.
    """
    originals: list[tuple[type, str, Any]] = []

    def serialised(operation):
        @functools.wraps(operation)
        def run(*args, **kwargs):
            with _backends_lock:
                result = operation(*args, **kwargs)
                if isinstance(result, (KeysView, ValuesView, ItemsView)):
                    return list(result)
                if isinstance(result, Iterator):  # a generator, filter or map over a dict
                    return iter(list(result))
                return result

        return run

    for (module, name), outside in _SERIALISED_BACKENDS.items():
        backend = getattr(importlib.import_module(module), name)
        methods = {attribute: value for attribute, value in vars(backend).items() if inspect.isfunction(value)}
        if missing := set(outside) - set(methods):
            raise RuntimeError(f"moto's {name} no longer defines {sorted(missing)}: review _SERIALISED_BACKENDS")
        for attribute, method in methods.items():
            if attribute not in outside and not attribute.startswith("__"):
                originals.append((backend, attribute, method))
                setattr(backend, attribute, serialised(method))
    try:
        yield
    finally:
        for backend, attribute, method in originals:
            setattr(backend, attribute, method)


@contextmanager
def lighter_interpreter() -> Iterator[None]:
    """Let moto's Step Functions interpreter reuse its parsed definition, its clients and its JSONPaths.

    It parses the ASL (ANTLR) and builds a boto3 client for every Lambda and DynamoDB task of
    every execution, and parses each JSONPath (`ResultPath`, `InputPath`, ...) at every state it
    meets, with a parser that builds its lexer and LR tables anew each time: tens of milliseconds
    of CPU each, which made the emulator, not the application it runs, the bottleneck (profiled at
    saturation, where the emulator's process is bound to one core by the GIL: a third of its CPU
    went to parsing JSONPaths, and once they were parsed once, half of it to building DynamoDB
    tasks' clients; both cached, it runs 43 executions/s instead of 16). The
    parsed program holds no per-execution state (that lives in the interpreter's Environment), a
    parsed JSONPath is only read when it finds or updates, and boto3 clients are thread-safe: one
    of each serves every execution.
    """
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_dynamodb
    from moto.stepfunctions.parser.asl.utils import json_path
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    patched = {
        (lambda_eval_utils, "boto_client_for"): lambda_eval_utils.boto_client_for,
        (state_task_service_dynamodb, "boto_client_for"): state_task_service_dynamodb.boto_client_for,
        (result_path, "parse"): result_path.parse,
        (json_path, "parse"): json_path.parse,
        (ExecutionWorker, "_get_evaluation_entrypoint"): ExecutionWorker._get_evaluation_entrypoint,
    }
    original_client, original_entrypoint = lambda_eval_utils.boto_client_for, ExecutionWorker._get_evaluation_entrypoint
    clients: dict[tuple[str, str], object] = {}
    programs: dict[str, object] = {}
    lock = threading.Lock()

    def client(region: str, service: str, state_credentials: object = None):
        # moto's client is the same whatever the task's credentials (it assumes no role): one per service.
        with lock:
            if (region, service) not in clients:
                clients[region, service] = original_client(region=region, service=service)
            return clients[region, service]

    def entrypoint(worker: ExecutionWorker):
        definition = worker._evaluation_details.state_machine_details.definition
        with lock:
            if definition not in programs:
                programs[definition] = original_entrypoint(worker)
            return programs[definition]

    # Patching moto's functions is the point here; mypy rightly calls assigning to a method unusual.
    lambda_eval_utils.boto_client_for = state_task_service_dynamodb.boto_client_for = client
    result_path.parse = functools.lru_cache(maxsize=1024)(result_path.parse)
    json_path.parse = functools.lru_cache(maxsize=1024)(json_path.parse)
    ExecutionWorker._get_evaluation_entrypoint = entrypoint  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        for (owner, name), original in patched.items():
            setattr(owner, name, original)


@contextmanager
def quicker_dispatch() -> Iterator[None]:
    """Let moto's server find the service of a request once per host, not once per request.

    For every request, moto's dispatcher lists its own package's folders on disk (a stat per
    service) and tries every service's URL patterns, all under one lock that every request of
    every thread waits for: at saturation, the requests' threads spent most of their time
    waiting there. Which backend serves a host never changes while the server runs.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
        if host not in found:  # called under the dispatcher's lock
            found[host] = original(self, host)
        return found[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]
    try:
        yield
    finally:
        DomainDispatcherApplication.get_backend_for_host = original  # type: ignore[method-assign]


@contextmanager
def shared_symmetric_keys() -> Iterator[None]:
    """Let moto's symmetric KMS keys share one RSA key.

    moto generates a 2048-bit RSA private key for every KMS key it creates, symmetric ones included,
    which never use it (only asymmetric keys sign, verify or give a public key): a tenth of a second
    of CPU or more for each table and topic key of every instance applied. Symmetric keys share one,
    made on first use; every other key spec gets its own, as before.
    """
    from moto.kms import models

    original = models.generate_private_key
    shared: list[Any] = []

    def generate_private_key(key_spec: str) -> Any:
        if key_spec != "SYMMETRIC_DEFAULT":
            return original(key_spec)
        if not shared:
            shared.append(original(key_spec))
        return shared[0]

    models.generate_private_key = generate_private_key
    try:
        yield
    finally:
        models.generate_private_key = original


@contextmanager
def environ(variables: dict[str, str], unset: tuple[str, ...] = ()) -> Iterator[None]:
    """Set `variables` (and remove `unset`) in os.environ for the block; restore them afterwards."""
    saved = {key: os.environ.get(key) for key in (*variables, *unset)}
    for key in unset:
        os.environ.pop(key, None)
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_SESSION_TOKEN": "sandbox"}


@contextmanager
def local_aws(region: str = "us-east-1", port: int = 0) -> Iterator[str]:
    """Run moto as a server on 127.0.0.1 (a free port unless given), with Step Functions executing ASL.

    Yields the endpoint URL and points this process's boto3 at it (AWS_ENDPOINT_URL); the
    variables are restored afterwards. Only loopback listens.
    """
    from moto.core.config import default_user_config
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    endpoint = f"http://{host}:{bound_port}"
    variables = {
        **CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint,
        # moto's Step Functions interpreter calls Lambda through a client on this port.
        "MOTO_PORT": str(bound_port),
    }
    saved_config: dict[str, Any] = dict(default_user_config["stepfunctions"])
    saved_iam: dict[str, Any] = dict(default_user_config.get("iam", {}))
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    # AWS's managed policies, which the examples attach (AWSLambdaBasicExecutionRole); moto loads them
    # into an IAM backend made after this, so the backends this process already holds are reset.
    default_user_config["iam"] = {**saved_iam, "load_aws_managed_policies": True}  # type: ignore[typeddict-item]
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=60)
    try:
        with (
            environ(variables, unset=("AWS_PROFILE",)),
            atomic_dynamodb(),
            thread_safe_backends(),
            lighter_interpreter(),
            quicker_dispatch(),
            shared_symmetric_keys(),
        ):
            yield endpoint
    finally:
        default_user_config["stepfunctions"] = saved_config  # type: ignore[typeddict-item]  # restored as it was
        default_user_config["iam"] = saved_iam  # type: ignore[typeddict-item]
        server.stop()
