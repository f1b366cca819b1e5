"""Reliability suite: fuzzing, races and faults, with the figures `make reliability` prints.

Hypothesis profiles: `ci` (the default here, 500 examples per entry point: `make test`) and
`long` (10,000: `make reliability`), chosen with `--hypothesis-profile=long`.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import HealthCheck, settings

from circuit_breaker.model import CLOSED, HALF_OPEN, OPEN
from circuit_sandbox.aws.runner import ModuleEnvironment
from tests.conftest import module_function

settings.register_profile(
    "ci",
    max_examples=500,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("long", parent=settings.get_profile("ci"), max_examples=10_000)
if settings._current_profile == "default":
    settings.load_profile("ci")

TABLE = "orders-circuits"
OTHER = "payments"  # another circuit on the same table: nothing here may touch it

FIGURES: Counter = Counter()
_figures_lock = threading.Lock()


def count(figure: str, amount: int = 1) -> None:
    with _figures_lock:
        FIGURES[figure] += amount


def record(figure: str, value: int) -> None:
    """Keep the largest value seen for a figure."""
    with _figures_lock:
        FIGURES[figure] = max(FIGURES[figure], value)


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for figure, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{figure:<70} {value:>8}")


def handler_environment(function: str, **variables) -> ModuleEnvironment:
    """A fresh execution environment of one of the module's functions for circuit `orders`, as lambda.tf sets it."""
    return ModuleEnvironment(module_function(function, allowed_circuits=["orders-eu"], **variables))


@functools.cache
def dynamodb() -> Any:
    """The test's client of the table (the `circuits` fixture forgets it): making one costs more than a scan."""
    return boto3.client("dynamodb")


def items() -> dict[str, dict]:
    raw = dynamodb().scan(TableName=TABLE, ConsistentRead=True)["Items"]
    deserialize = TypeDeserializer().deserialize
    return {item["id"]["S"]: {k: deserialize(v) for k, v in item.items()} for item in raw}


def assert_invariants(before: dict[str, dict], after: dict[str, dict], other_may_change: bool = False) -> None:
    """The table after an example: known states, generations never lower, nothing deleted, others untouched."""
    violations = []
    if not set(before) <= set(after):
        violations.append(f"deleted: {set(before) - set(after)}")
    if after.get(OTHER) != before.get(OTHER) and not other_may_change:
        violations.append("another circuit changed")
    for name, item in after.items():
        if item.get("state", CLOSED) not in (CLOSED, OPEN, HALF_OPEN):
            violations.append(f"{name}: unknown state {item.get('state')!r}")
        if item.get("generation", 0) < before.get(name, {}).get("generation", 0):
            violations.append(f"{name}: generation went down")
    count("invariant violations", len(violations))
    assert not violations, violations


@pytest.fixture
def circuits(aws) -> Iterator[str]:
    """The module's table with its circuit `orders` and an unrelated circuit `payments` on it."""
    ddb = dynamodb()
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    ddb.put_item(
        TableName=TABLE,
        Item={
            "id": {"S": OTHER},
            "state": {"S": OPEN},
            "generation": {"N": "7"},
            "reason": {"S": "not this module's"},
            "opened_at": {"N": "1800000000"},
        },
    )
    yield TABLE
    dynamodb.cache_clear()
