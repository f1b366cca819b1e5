"""The simulator against the sandbox under concurrency: a total outage met by many callers at once.

The replay (tests/circuit_bench/test_simulation.py) checks the simulator call by call, one call at a
time. Here 24 callers, joining a quarter of a second apart, run executions back to back in the
sandbox (real Terraform, moto's interpreter, the handlers in worker processes) while the
dependency fails; then the simulator plays the same arrival schedule, with the task durations
the sandbox's execution histories show. Both must keep the promise (failed calls within
failure_threshold + the calls in flight when the first failure came back and when the circuit
opened; no call admitted after OPEN reaches the downstream), and their failed calls may differ
only by what the concurrency lets timing decide: the calls in flight at the trip.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from circuit_bench.simulation import EPOCH, Deployment, Latency, Simulation, quiet_telemetry
from circuit_sandbox.aws import Emulator, emulator
from circuit_sandbox.scenario import wait_for
from circuit_sandbox.stack import Stack, instances_warmed

CALLERS = 24
STAGGER = 0.25  # seconds between the callers' first calls
# No alarm, healthcheck or events; the circuit stays open for the whole run (no probe), however slow the machine.
QUIET = {
    "downstream_alarm": {"enabled": False},
    "healthcheck": False,
    "circuit_events": False,
    "open_duration_seconds": 300,
}


@pytest.fixture(scope="module")
def crowd() -> Iterator[tuple[Emulator, Stack]]:
    """An instance with the module's defaults (failure_threshold 10), an environment per caller, half of them warm."""
    with emulator(max_environments=CALLERS + 2) as emu:
        [stack] = instances_warmed(emu, {"crowd": QUIET}, warm=CALLERS // 2).values()
        yield emu, stack


def _durations(stack: Stack, arns: list[str]) -> dict[str, list[float]]:
    """How long each state took, per state name, from the execution histories: from its entry to its exit, or to
    the next state's entry (a task that fails is left through its Catch, without an exit event)."""
    found: dict[str, list[float]] = {}
    for arn in arns:
        current: tuple[str, float] | None = None
        for event in stack.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]:
            at = event["timestamp"].timestamp()
            ended = "stateExitedEventDetails" in event or "stateEnteredEventDetails" in event
            if current is not None and ended:
                found.setdefault(current[0], []).append(at - current[1])
                current = None
            if "stateEnteredEventDetails" in event:
                current = (event["stateEnteredEventDetails"]["name"], at)
    return found


def test_a_total_outage_met_by_24_callers_keeps_the_bound_in_the_sandbox_and_in_the_simulator(crowd):
    emu, stack = crowd
    deployment = Deployment.described(stack)
    threshold = stack.settings().failure_threshold
    downstream = stack.function_names["downstream"]
    stack.set_health(False)
    began = time.time()
    calls: list[tuple[float, float, str]] = []  # (started, ended, execution ARN)
    lock = threading.Lock()

    stop = threading.Event()
    errors: list[BaseException] = []

    def caller(index: int) -> None:
        try:
            calling(index)
        except BaseException as error:  # a caller that dies must fail the test, not thin the traffic
            errors.append(error)
            raise

    def calling(index: int) -> None:
        stop.wait(index * STAGGER)  # arrivals spread out: the first failures come back while callers still arrive
        while not stop.is_set():
            started = time.time()
            arn = stack.start()
            stack.wait(arn, timeout=60)
            ended = time.time()
            with lock:
                calls.append((started, ended, arn))

    threads = [threading.Thread(target=caller, args=(index,)) for index in range(CALLERS)]
    for thread in threads:
        thread.start()
    # Until the circuit is open and every caller has started a call after it.
    assert wait_for(lambda: stack.item().get("state") == "OPEN", timeout=120, step=0.05)
    opened_seen = time.time()
    wait_for(lambda: sum(start > opened_seen for start, _, _ in list(calls)) >= CALLERS, timeout=60)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []

    item = stack.item()
    assert item["state"] == "OPEN"
    opened = datetime.fromisoformat(item["updated_at"]).timestamp()
    invocations = [i for i in emu.runner.invocations if i.function == downstream and i.started_at >= began]
    failed = len(invocations)  # every downstream call fails
    first_failure = min(i.started_at + i.duration_ms / 1000 for i in invocations)
    bound = (
        threshold
        + sum(start <= first_failure < end for start, end, _ in calls)
        + sum(start <= opened < end for start, end, _ in calls)
    )
    # Executions started after the trip was written: none may reach the downstream.
    after_open = sum("CallDownstream" in stack.states_entered(arn) for start, _, arn in calls if start > opened)
    assert sum(start > opened for start, _, _ in calls) >= CALLERS
    assert failed <= bound, (failed, bound)
    assert after_open == 0

    # The simulator, on the same arrival schedule, with the durations the sandbox showed.
    durations = _durations(stack, [arn for _, _, arn in calls])
    latency = Latency(
        read=statistics.median(durations["ReadCircuit"]),
        function=statistics.median(durations.get("RecordFailure") or durations["CheckCircuit"]),
        downstream=statistics.median(durations["CallDownstream"]),
    )
    with quiet_telemetry():
        sim = Simulation(deployment, start=EPOCH, latency=latency)
        sim.keep_calls = True
        simulated = sim.arrivals([EPOCH + start - began for start, _, _ in calls], fails=True)
    [trip] = sim.trips()
    sim_failed = sum(call.failed_downstream for call in simulated)
    sim_first_failure = min(call.at for call in simulated if call.failed_downstream)
    sim_bound = (
        threshold
        + sum(c.started <= sim_first_failure < c.at for c in simulated)
        + sum(c.started <= trip.at < c.at for c in simulated)
    )
    assert sim_failed <= sim_bound, (sim_failed, sim_bound)
    assert sum(c.reached_downstream for c in simulated if c.started > trip.at) == 0
    in_flight_at_trip = sum(start <= opened < end for start, end, _ in calls)
    assert abs(failed - sim_failed) <= max(2, in_flight_at_trip), (failed, sim_failed, in_flight_at_trip, latency)
