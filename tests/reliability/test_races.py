"""A hundred callers at once, in random interleavings: one trip, one probe per window, overrides kept.

Each caller is its own Breaker (its own execution environment and cache) on one moto table,
whose item writes are atomic as DynamoDB's are (circuit_sandbox.aws.server.atomic_dynamodb).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuit_breaker.breaker import Breaker
from circuit_breaker.exceptions import Contention
from circuit_breaker.model import FORCED_OPEN, HALF_OPEN, OPEN
from circuit_breaker.settings import Settings
from circuit_breaker.store import CircuitStore
from tests.lambdas.circuit_breaker.conftest import ALARMS, Clock
from tests.reliability.conftest import count, record

CALLERS = 100
INTERLEAVINGS = settings(max_examples=15)  # each example runs 100 threads; `long` runs ten times more


def interleavings():
    return INTERLEAVINGS if settings._current_profile != "long" else settings(max_examples=150)


def breakers(table: str, clock: Clock, **overrides) -> list[Breaker]:
    values: dict[str, Any] = {
        "table_name": table,
        "circuit_name": "orders",
        "open_duration_seconds": 30,
        "alarms": ALARMS,
    }
    values |= overrides
    client = boto3.client("dynamodb")
    return [
        Breaker(Settings(**values), CircuitStore(table, client), clock=clock, jitter=lambda: 0.5)
        for _ in range(CALLERS)
    ]


def race(actions) -> list:
    """Run the actions at once: every thread waits at a barrier, then acts."""
    barrier = threading.Barrier(len(actions))

    def run(action):
        barrier.wait()
        return action()

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        results = list(pool.map(run, actions))
    record("concurrent callers per race", len(actions))
    count("races run")
    return results


@pytest.fixture
def fleet(circuits):
    return circuits, Clock()


@interleavings()
@given(rng=st.randoms(use_true_random=False), threshold=st.integers(1, 10))
def test_concurrent_failures_trip_exactly_once(fleet, rng, threshold):
    table, clock = fleet
    boto3.client("dynamodb").delete_item(TableName=table, Key={"id": {"S": "orders"}})
    fleet_ = breakers(table, clock, failure_threshold=threshold)
    fleet_[0].record("orders", 0, False, "Boom", 0)  # the count starts; the racing calls were admitted at 1
    order = list(range(CALLERS))
    rng.shuffle(order)
    outcomes = race([lambda i=i: fleet_[i].record("orders", 0, False, "Boom", 1) for i in order])
    assert outcomes.count("tripped") == (0 if threshold == 1 else 1)  # one CLOSED -> OPEN transition in all
    assert fleet_[0].get("orders").state == OPEN
    count("interleavings: concurrent failures")


@interleavings()
@given(rng=st.randoms(use_true_random=False), threshold=st.integers(2, 10))
def test_failures_of_calls_admitted_together_at_zero_each_count_and_trip_once(fleet, rng, threshold):
    """However they interleave, failures of calls admitted together at count 0 (a hanging dependency) count in
    the order they complete: counts 1 .. threshold - 1 once each, one trip, and nothing counted after it."""
    table, clock = fleet
    boto3.client("dynamodb").delete_item(TableName=table, Key={"id": {"S": "orders"}})
    fleet_ = breakers(table, clock, failure_threshold=threshold)
    order = list(range(CALLERS))
    rng.shuffle(order)
    outcomes = race([lambda i=i: fleet_[i].record("orders", 0, False, "Boom", 0) for i in order])
    assert outcomes.count("tripped") == 1
    assert all(outcomes.count(f"failure {k} of {threshold}") == 1 for k in range(1, threshold))
    assert len(outcomes) - threshold == outcomes.count("stale") + outcomes.count(
        "not tripped: reset or tripped meanwhile"
    )
    circuit = fleet_[0].get("orders")
    assert (circuit.state, circuit.generation) == (OPEN, 1)
    count("interleavings: failures admitted at zero")


@interleavings()
@given(rng=st.randoms(use_true_random=False), max_probes=st.integers(1, 3))
def test_one_recovery_window_admits_exactly_half_open_max_probes(fleet, rng, max_probes):
    table, clock = fleet
    boto3.client("dynamodb").delete_item(TableName=table, Key={"id": {"S": "orders"}})
    fleet_ = breakers(table, clock, failure_threshold=1, half_open_max_probes=max_probes)
    fleet_[0].record("orders", 0, False, "Boom")
    clock.advance(31)
    callers = list(range(CALLERS))
    rng.shuffle(callers)
    decisions = race([lambda i=i: fleet_[i].check("orders", f"caller-{i}") for i in callers])
    probes = sum(d.probe for d in decisions)
    assert probes == max_probes
    assert fleet_[0].get("orders").state == HALF_OPEN
    count(f"recovery windows allowing {max_probes} probe(s)")
    count(f"probes admitted in windows allowing {max_probes}", probes)


@interleavings()
@given(rng=st.randoms(use_true_random=False), operator_at=st.integers(0, CALLERS - 1))
def test_an_override_racing_with_automation_is_never_undone(fleet, rng, operator_at):
    table, clock = fleet
    boto3.client("dynamodb").delete_item(TableName=table, Key={"id": {"S": "orders"}})
    fleet_ = breakers(table, clock, failure_threshold=2, open_duration_seconds=1)
    fleet_[0].on_alarm("orders-healthcheck", "ALARM", 1_800_000_000_000)  # OPEN, healthcheck in ALARM
    start = fleet_[0].get("orders").generation
    # Every caller's part is drawn here, in order: draws made in the racing threads would come in a
    # different order each run, which hypothesis (rightly) refuses as inconsistent data generation.
    parts = [
        (
            rng.choice(["check", "fail", "succeed", "probe", "alarm", "ok"]),
            rng.randint(0, start + 2),
            1_800_000_000_000 + rng.randint(-5_000, 5_000),  # duplicates and out-of-order times
            rng.choice(list(ALARMS)),
        )
        for _ in range(CALLERS)
    ]

    def automation(i: int):
        kind, generation, stamp, alarm = parts[i]
        breaker = fleet_[i]
        try:
            if kind == "check":
                return breaker.check("orders", f"c{i}")
            if kind in ("fail", "succeed", "probe"):
                return breaker.record("orders", generation, kind == "probe", None if kind == "succeed" else "Boom")
            return breaker.on_alarm(alarm, "ALARM" if kind == "alarm" else "OK", stamp)
        except Contention:  # the alarm handler raises; SNS delivers the notification again later
            count("alarm notifications left to SNS retries under contention")
            return "contention"

    def operator():
        for _ in range(20):  # as an operator would: try again while automation keeps changing it
            try:
                return fleet_[operator_at].force("orders", FORCED_OPEN, "ana", "maintenance")
            except Contention:
                continue
        raise AssertionError("the override never got through")

    outcomes = race([operator if i == operator_at else (lambda i=i: automation(i)) for i in range(CALLERS)])
    forced = outcomes[operator_at]
    after = fleet_[0].get("orders")
    assert (after.override, after.state) == (FORCED_OPEN, OPEN)
    assert after.generation == forced.generation  # nothing automated happened after the override
    count("interleavings: automation racing an override")


def test_late_outcomes_from_older_generations_change_nothing(circuits):
    clock = Clock()
    fleet_ = breakers(circuits, clock, failure_threshold=1, open_duration_seconds=1)
    fleet_[0].record("orders", 0, False, "Boom")  # generation 1: OPEN
    clock.advance(2)
    probe = fleet_[1].check("orders", "prober")  # generation 2: HALF_OPEN
    assert fleet_[1].record("orders", probe.generation, True, None) == "closed"  # generation 3: CLOSED
    closed = fleet_[0].get("orders")
    late = [
        (generation, probe_, error) for generation in (0, 1, 2) for probe_ in (False, True) for error in (None, "Boom")
    ]
    outcomes = race([lambda i=i, o=o: fleet_[i].record("orders", *o) for i, o in enumerate((late * 9)[:CALLERS])])
    assert set(outcomes) <= {"stale", "nothing to reset"}
    after = fleet_[0].get("orders")
    assert (after.generation, after.state, after.failure_count) == (closed.generation, closed.state, 0)
    count("late outcomes from older generations", len(outcomes))
