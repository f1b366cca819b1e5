"""One emulator for the module: moto on loopback, handlers in worker processes, alarms evaluated."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from sandbox.scenario import Emulator, emulator
from sandbox.stack import AlarmConfig, ModuleConfig, Stack
from sandbox.streams import StreamPump
from tests.sandbox.circuit_events import INTERVAL

_names = itertools.count()


@pytest.fixture(scope="module")
def local_emulator() -> Iterator[Emulator]:
    with emulator(max_environments=10, alarm_interval=0.25) as running:
        yield running


@pytest.fixture
def sandbox_stack(local_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Stack]:
    """Provision a fresh module instance (its own table, functions, alarms) into the shared emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_emulator.endpoint)

    def make(**variables) -> Stack:
        variables.setdefault("name", f"sbx{next(_names)}")
        variables.setdefault("healthcheck_schedule_expression", "rate(1 second)")
        # Alarms of a second or two, so that a test waits seconds rather than minutes. The healthcheck
        # alarm's period holds two scheduled runs: a run late under load must not read as "no errors".
        variables.setdefault(
            "downstream_alarm",
            AlarmConfig(
                period=1,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
            ),
        )
        variables.setdefault("healthcheck_alarm", AlarmConfig(period=2, treat_missing_data="ignore"))
        return local_emulator.provision(ModuleConfig(**variables))

    return make


@pytest.fixture(scope="module")
def pump(local_emulator: Emulator) -> Iterator[StreamPump]:
    """The emulator's stream triggers and EventBridge's SNS targets, as the sandbox supplies them."""
    running = local_emulator.pump
    assert running is not None and running.interval == INTERVAL
    yield running
    assert running.errors == []


@pytest.fixture
def endpoint(local_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """This test's boto3 clients talk to the shared emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_emulator.endpoint)
    return local_emulator.endpoint
