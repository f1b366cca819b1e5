from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from circuit_breaker.breaker import Breaker
from circuit_breaker.settings import AlarmBinding, Settings
from circuit_breaker.store import CircuitStore

TABLE = "circuits"
ALARMS = {
    "orders-downstream": AlarmBinding("orders", "downstream"),
    "orders-healthcheck": AlarmBinding("orders", "healthcheck"),
}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingClient:
    """Wraps the DynamoDB client to count reads and writes per operation."""

    def __init__(self, client) -> None:
        self._client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name in ("get_item", "update_item", "put_item", "scan"):

            def counted(*args, **kwargs):
                self.calls[name] = self.calls.get(name, 0) + 1
                return attribute(*args, **kwargs)

            return counted
        return attribute


@pytest.fixture
def table(aws) -> str:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return TABLE


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_breaker(table: str, clock: Clock) -> Callable[..., Breaker]:
    def make(jitter: float = 1.0, **overrides) -> Breaker:
        values: dict[str, Any] = dict(table_name=table, circuit_name="orders", open_duration_seconds=30, alarms=ALARMS)
        values.update(overrides)
        store = CircuitStore(table, CountingClient(boto3.client("dynamodb")))
        return Breaker(Settings(**values), store, clock=clock, jitter=lambda: jitter)

    return make
