"""One emulator for the module: moto on loopback, handlers in worker processes, alarms evaluated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from circuit_sandbox.aws import Emulator, emulator
from circuit_sandbox.aws.streams import StreamPump
from tests.circuit_sandbox.circuit_events import INTERVAL

# Alarm periods and schedules keep values AWS accepts (whole minutes); the emulator evaluates and
# schedules them this many times faster, so that a 60 s period lasts a second.
TIME_SCALE = 60


@pytest.fixture(scope="module")
def local_emulator() -> Iterator[Emulator]:
    with emulator(max_environments=10, alarm_interval=0.25, time_scale=TIME_SCALE) as running:
        yield running


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
