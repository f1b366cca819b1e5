"""The module instances the state machine tests drive: circuit_sandbox/instances, applied once by the real Terraform.

Each instance sets only what its tests need; everything else is the module's default. Before
each test every instance is made fresh again: its table emptied, its dependency healthy, and any
function a test replaced by hand deployed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from circuit_sandbox.stack import Stack
from tests.conftest import applied

# No alarms, healthcheck or circuit events: nothing here evaluates alarms or runs the schedule or the stream.
QUIET: dict[str, Any] = {"downstream_alarm": {"enabled": False}, "healthcheck": False, "circuit_events": False}
FALLBACK_PAYLOAD = {"ok": False, "message": "try again later"}
SINGLE_TABLE_KEY = {"partition_key": "pk", "sort_key": "sk", "partition_value": "circuit_breaker#single-table"}
RAMP_UP_SECONDS = 30000  # three steps of 10,000 s: a test moves the ramp's start back instead of waiting
INSTANCES: dict[str, dict[str, Any]] = {
    "healthy": QUIET,
    "failing": QUIET | {"failure_threshold": 3},
    "observing": QUIET | {"failure_threshold": 3, "mode": "observe"},  # "failing", observed
    "fail-closed": QUIET | {"on_store_error": "fail_closed"},
    # A table no instance creates: every read of the circuit fails.
    "store-fail-open": QUIET | {"table_name": "no-such-table"},
    "store-fail-closed": QUIET | {"table_name": "no-such-table", "on_store_error": "fail_closed"},
    "fallback-payload": QUIET
    | {
        "downstream_alarm": {},  # created, never evaluated here: its metrics are read back
        "failure_threshold": 1,
        "ignored_errors": ["ValidationError"],
        "fallback_mode": "payload",
        "fallback_payload": FALLBACK_PAYLOAD,
    },
    "fallback-fn": QUIET | {"failure_threshold": 1, "fallback_mode": "function"},
    "ramping": QUIET | {"failure_threshold": 1, "ramp_up_seconds": RAMP_UP_SECONDS},
    # Powertools' single-table layout: the circuit at a shared partition key value, its name in the sort key.
    "single-table": QUIET | {"failure_threshold": 2, "table_key": SINGLE_TABLE_KEY},
    "counted": QUIET | {"failure_threshold": 1, "counted_errors": ["DependencyUnavailable"]},
    "bad-results": QUIET
    | {
        "failure_threshold": 2,
        "failure_result": {"path": "$.request.status", "at_least": 500},
        "retry_after_path": "$.request.retry_after_seconds",
    },
    "multi": QUIET | {"allowed_circuits": ["multi-eu"], "type": "STANDARD", "downstream_timeout_seconds": 900},
}


@pytest.fixture(scope="module")
def applied_instances() -> Iterator[dict[str, Stack]]:
    with applied(INSTANCES) as stacks:
        yield stacks


@pytest.fixture
def instances(applied_instances: dict[str, Stack], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Stack]]:
    """Every instance, fresh; this test's boto3 clients talk to the emulator they were applied to."""
    stack = next(iter(applied_instances.values()))
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.ddb.meta.endpoint_url)
    for instance in applied_instances.values():
        instance.clear()
    runner = stack.runner
    deployed = dict(runner.functions)
    yield applied_instances
    for name, spec in list(runner.functions.items()):
        if deployed.get(name) is not spec:  # replaced by the test: what Terraform deployed runs again
            del runner.functions[name]
