"""What the simulator measures for `circuit-bench`, and its check against the sandbox.

- `replay`: one seeded scenario of sequential calls (bursts of failures, open durations
  ended by hand, a downstream alarm, an operator override) through the real definition in
  moto with the real handlers, and through the simulator; per call, the states entered,
  the result and the circuit afterwards.
- `paths`: what one call costs on each route, from a scripted sequence in the simulator.
- `cell`: trips per hour and share short-circuited under independent background errors,
  beside a strictly consecutive reference counter over the same traffic.
- `outage`: total and partial outages: failed calls and time until every caller is
  short-circuited.

Every figure runs on an instance the real Terraform applied (`applied`: circuit_sandbox/instances into
moto in this process, the handlers run by the in-process runner): `CIRCUIT` with the module's
defaults (no healthcheck, as the module's default; no circuit events, which the simulator does
not model), `REPLAY` with the scenario's open durations. The simulator takes its definition,
settings and alarm from what that apply created (`simulation.Deployment`).
"""

from __future__ import annotations

import logging
import random
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from circuit_sandbox.aws.cloudwatch import state_change_time
from circuit_sandbox.stack import Stack, instances_applied

from .simulation import EPOCH, Call, Deployment, Latency, Outage, Simulation, alarm_period, quiet_telemetry

CIRCUIT = "sim"  # the module's defaults
REPLAY = "replay"  # the replay's scenario
ITEM_FIELDS = ("state", "failure_count", "generation", "open_count", "override", "downstream_alarm")
# Two rules of the scenario below, not module settings: the open duration is ended by hand (so that
# the sandbox's real clock cannot end it on its own), and a background error rate for outages' lead-in.
REPLAY_OPEN_SECONDS = 3600
LEAD_IN_BACKGROUND = 0.01
# What circuit_sandbox/instances applies for these figures: unset variables keep the module's defaults.
INSTANCES: dict[str, dict[str, Any]] = {
    CIRCUIT: {"healthcheck": False, "circuit_events": False},
    REPLAY: {
        "healthcheck": False,
        "circuit_events": False,
        "open_duration_seconds": REPLAY_OPEN_SECONDS,
        "max_open_duration_seconds": REPLAY_OPEN_SECONDS,
    },
}


# ---------------------------------------------------------------------------- the check against the sandbox


def scripted_steps(seed: int, calls: int) -> list[tuple]:
    """Calls with bursts of failures, open durations ended by hand, a downstream alarm, an override.

    Steps: ("call", fails), ("end_open_duration",), ("alarm", state), ("force_open",), ("release",).
    The alarm's first OK (a new alarm's first evaluation) comes first; an operator holds the circuit
    open at half the calls, and the downstream alarm goes to ALARM and back at three quarters.
    """
    rng = random.Random(seed)
    steps: list[tuple] = [("alarm", "OK")]
    milestones: list[tuple[int, list[tuple[Any, ...]]]]
    made, milestones = (
        0,
        [
            (calls // 2, [("force_open",), ("call", False), ("release",), ("end_open_duration",)]),
            (3 * calls // 4, [("alarm", "ALARM"), ("call", False), ("alarm", "OK"), ("end_open_duration",)]),
        ],
    )
    while made < calls:
        for _ in range(rng.randint(2, 10)):
            steps.append(("call", rng.random() < 0.15))
        for _ in range(rng.randint(1, 7)):
            steps.append(("call", True))
        made = sum(step[0] == "call" for step in steps)
        if rng.random() < 0.5:
            steps.append(("end_open_duration",))
        while milestones and made >= milestones[0][0]:
            steps += milestones.pop(0)[1]
    return steps


@contextmanager
def applied(
    instances: dict[str, dict[str, Any]] | None = None, echo: Callable[[str], None] = lambda line: None
) -> Iterator[dict[str, Stack]]:
    """`terraform apply` circuit_sandbox/instances (default: INSTANCES) into moto in this process; handlers run in it.

    While the block runs, this process's boto3 talks to that moto (AWS_ENDPOINT_URL).
    """
    from circuit_sandbox.aws.runner import InProcessRunner
    from circuit_sandbox.aws.server import local_aws

    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)  # it logs every failed state
    runner = InProcessRunner()
    with warnings.catch_warnings(), local_aws() as endpoint, runner.hooked_into_moto():
        warnings.filterwarnings("ignore", "No application metrics to publish")  # handlers that counted nothing
        try:
            yield instances_applied(endpoint, runner, INSTANCES if instances is None else instances, echo)
        finally:
            runner.close()


def described(stacks: dict[str, Stack]) -> dict[str, Deployment]:
    """What the simulator needs of each applied instance, read from the emulator."""
    return {name: Deployment.described(stack) for name, stack in stacks.items()}


def _end_open_duration(client: Any, table: str, circuit: str) -> None:
    """Move open_until into the past, if the circuit is OPEN: the same request to either table."""
    from botocore.exceptions import ClientError

    try:
        client.update_item(
            TableName=table,
            Key={"id": {"S": circuit}},
            UpdateExpression="SET #open_until = :past",
            ConditionExpression="#state = :open",
            ExpressionAttributeNames={"#open_until": "open_until", "#state": "state"},
            ExpressionAttributeValues={":past": {"N": "1"}, ":open": {"S": "OPEN"}},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def _override(breaker: Any, step: str, name: str) -> None:
    if step == "force_open":
        breaker.force(name, "FORCED_OPEN", "bench", "replay")
    else:
        breaker.release(name, "bench", "replay")


def _row(states: list[str], status: str, error: str | None, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "states": states,
        "status": status,
        "error": error,
        "circuit": {
            key: (int(item[key]) if key in ("failure_count", "generation", "open_count") else item[key])
            for key in ITEM_FIELDS
            if key in item
        },
    }


def replay_in_sandbox(stack: Stack, steps: list[tuple]) -> list[dict[str, Any]]:
    """Run the steps against the module in moto; one row per call."""
    from circuit_breaker.breaker import Breaker
    from circuit_breaker.store import CircuitStore

    settings = stack.settings()
    operator = Breaker(settings, CircuitStore(settings.table_name, stack.ddb))
    rows = []
    for number, step in enumerate(steps):
        if step[0] == "call":
            stack.set_health(not step[1])
            result = stack.call()
            rows.append(_row(result["states"], result["status"], result.get("error"), stack.item()))
        elif step[0] == "alarm":
            stack.publish_alarm("downstream", step[1], state_change_time(EPOCH + number))
        elif step[0] == "end_open_duration":
            _end_open_duration(stack.ddb, settings.table_name, settings.circuit_name)
        else:
            _override(operator, step[0], settings.circuit_name)
    return rows


def replay_in_simulator(deployment: Deployment, steps: list[tuple]) -> list[dict]:
    """Run the same steps through the simulator, on the definition, settings and ARNs the sandbox has."""
    with quiet_telemetry():
        sim = Simulation(deployment)
        table, circuit = sim.settings.table_name, sim.settings.circuit_name
        rows = []
        for number, step in enumerate(steps):
            if step[0] == "call":
                call = sim.call(step[1])
                rows.append(_row(call.outcome.states, call.outcome.status, call.outcome.error, sim.item()))
            elif step[0] == "alarm":
                sim.alarm_notification(deployment.alarm_name, step[1], int((EPOCH + number) * 1000))
            elif step[0] == "end_open_duration":
                _end_open_duration(sim.table, table, circuit)
            else:
                _override(sim.breaker, step[0], circuit)
    return rows


def replay(stack: Stack, deployment: Deployment, seed: int = 7, calls: int = 200) -> dict[str, Any]:
    """The scenario in moto (the applied instance `stack`) and in the simulator (on what `deployment` read of it).

    `differences` lists the calls where they disagree.
    """
    steps = scripted_steps(seed, calls)
    with quiet_telemetry():
        sandbox = replay_in_sandbox(stack, steps)
    simulated = replay_in_simulator(deployment, steps)
    differences = [
        {"call": number, "sandbox": a, "simulator": b}
        for number, (a, b) in enumerate(zip(sandbox, simulated, strict=False))
        if a != b
    ]
    routes = Counter(" → ".join(row["states"]) for row in sandbox)
    states = [row["circuit"].get("state") for row in sandbox]
    return {
        "seed": seed,
        "calls": len(sandbox),
        "simulated calls": len(simulated),
        "failing calls": sum(step == ("call", True) for step in steps),
        "trips": sum(1 for before, after in zip([None, *states], states, strict=False) if after == "OPEN" != before),
        "routes": dict(routes),
        "differences": differences,
    }


# ---------------------------------------------------------------------------- per-path costs


def paths(deployment: Deployment, seed: int = 1) -> dict[str, dict[str, Any]]:
    """One call on each route, in order, on a fresh circuit: what each costs."""
    found: dict[str, dict[str, Any]] = {}
    with quiet_telemetry():
        sim = Simulation(deployment, seed=seed)
        threshold, circuit = sim.settings.failure_threshold, sim.settings.circuit_name

        def take(label: str, fails: bool) -> Call:
            call = sim.call(fails, gap=1.0)
            found[label] = _cost(call)
            return call

        take("healthy, no record yet", False)
        sim.alarm_notification(deployment.alarm_name, "OK", int(sim.now * 1000))
        take("healthy, after the alarm's first OK notification (the record it created)", False)
        sim.call(True)  # a first counted failure writes the state; its reset leaves a plain CLOSED record
        sim.call(False)
        take("healthy", False)
        take("failing, first failure (starts the count)", True)
        take("succeeding while failures are pending (resets the count)", False)
        take("failing, first failure (starts the count)", True)
        for _ in range(threshold - 2):
            take("failing while failures are pending (adds to the count)", True)
        take("failing, the failure that trips", True)
        take("short-circuited (timed OPEN)", False)
        sim.now = float(sim.item()["open_until"]) + 1  # the open duration passes
        take("probe, succeeds (closes)", False)
        for _ in range(threshold):
            sim.call(True)
        sim.now = float(sim.item()["open_until"]) + 1
        take("probe, fails (reopens)", True)
        sim.breaker.force(circuit, "FORCED_OPEN", "bench", "paths")
        take("short-circuited (forced open)", False)
    return found


def _cost(call: Call) -> dict[str, Any]:
    return {
        "states": list(call.outcome.states),
        "eventual reads": call.eventual_reads,
        "strong reads": call.strong_reads,
        "writes": call.writes,
        "module invocations": call.checks + call.records,
        "invocations": call.checks + call.records + call.reached_downstream,
        "seconds": round(call.at - call.started, 6),
    }


# ---------------------------------------------------------------------------- background errors


def cell(deployment: Deployment, rate: float, background: float, minutes: float, seed: int) -> dict[str, Any]:
    """Trips per hour and share short-circuited at `rate` calls/s with `background` independent errors."""
    rng = random.Random(seed)
    with quiet_telemetry():
        sim = Simulation(deployment, seed=seed, start=EPOCH + rng.uniform(0, 60))
        sim.watch_downstream_alarm()
        traffic = sim.traffic(rate, minutes * 60, background)
    trips = sim.trips()
    hours = traffic.hours
    routes = {" → ".join(states): path.calls for states, path in sim.paths.items()}
    module_invocations = sum(
        p.invocations["check_circuit"] + p.invocations["record_outcome"] for p in sim.paths.values()
    )
    return {
        "rate": rate,
        "background": background,
        "minutes": round(hours * 60, 2),
        "calls": traffic.calls,
        "trips": len(trips),
        "in-band trips": sum(t.origin == "in-band" for t in trips),
        "alarm trips": sum(t.origin == "alarm" for t in trips),
        "trips per hour": round(len(trips) / hours, 2),
        "reference trips": traffic.reference_trips,
        "reference trips per hour": round(traffic.reference_trips / hours, 2),
        "count reached": dict(sorted(sim.count_reached.items())),
        "short-circuited share": round(traffic.short_circuited / max(1, traffic.calls), 5),
        "downstream concurrency": round(sim.downstream_calls * sim.latency.downstream / (hours * 3600), 2),
        "module invocations per call": round(module_invocations / max(1, traffic.calls), 4),
        "alarm notifications": [state for _, state in sim.notifications],
        "routes": routes,
        "path totals": {" → ".join(states): _totals(path) for states, path in sim.paths.items()},
        "alarm handler": _totals(sim.alarm_handler),
    }


def _totals(path: Any) -> dict[str, Any]:
    return {
        "calls": path.calls,
        "eventual reads": path.eventual_reads,
        "strong reads": path.strong_reads,
        "writes": path.writes,
        "invocations": dict(path.invocations),
        "billed 100 ms": path.billed_100ms,
    }


# ---------------------------------------------------------------------------- outages


def outage(
    deployment: Deployment,
    rate: float,
    failure_rate: float,
    seed: int,
    lead_in: float = 10.0,
    limit: float = 600.0,
    background: float = LEAD_IN_BACKGROUND,
    failure_seconds: float | None = None,
    downstream_seconds: float | None = None,
    lag: float = 0.0,
    phase: float | None = None,
) -> dict[str, Any]:
    """From `lead_in` seconds on, calls fail with `failure_rate`: until the trip, what failed and how long it took.

    `failure_seconds`: how long a failing call takes (a timeout), `downstream_seconds` a successful one (the
    default Latency's otherwise); `lag`: how old an eventually consistent read may be. `phase`: the outage starts
    this far into an alarm period (0 to 1), after a whole period of background traffic; otherwise anywhere.
    """
    rng = random.Random(seed)
    start = EPOCH + rng.uniform(0, 60)
    if phase is not None:
        period = alarm_period(deployment.downstream_alarm) if deployment.downstream_alarm else 60
        start, lead_in = EPOCH, period * (1 + phase)  # EPOCH starts a period
    base = Latency()
    latency = Latency(
        read=base.read,
        function=base.function,
        downstream=base.downstream if downstream_seconds is None else downstream_seconds,
        failure=failure_seconds,
    )
    with quiet_telemetry():
        sim = Simulation(deployment, seed=seed, start=start, latency=latency, lag=lag)
        sim.keep_calls = True
        sim.watch_downstream_alarm()
        began = sim.now + lead_in

        def settled() -> bool:  # a second after the trip: every new caller has met the open circuit
            trips = sim.trips(since=began)
            return bool(trips) and sim.now >= trips[0].at + 1

        sim.traffic(rate, lead_in + limit, background, Outage(lead_in, failure_rate), until=settled)
    trips = sim.trips(since=began)
    during = [call for call in sim.calls if call.started >= began]
    found: dict[str, Any] = {"rate": rate, "failure rate": failure_rate, "phase": phase, "tripped": bool(trips)}
    if not trips:
        found["failed calls"] = sum(call.failed_downstream for call in during)
        return found
    opened = trips[0].at
    # When the first failure of the outage came back: the calls in flight then could not have been stopped.
    first_failure = min((call.at for call in during if call.failed_downstream), default=opened)
    in_flight_at_first_failure = sum(call.started <= first_failure < call.at for call in sim.calls)
    in_flight_at_trip = sum(call.started <= opened < call.at for call in sim.calls)
    threshold = sim.settings.failure_threshold
    found.update(
        {
            "seconds to OPEN": round(opened - began, 3),
            "seconds from the first failure to OPEN": round(opened - first_failure, 3),
            "tripped by": trips[0].origin,
            "failed calls": sum(call.failed_downstream for call in during),
            "calls in flight when the first failure came back": in_flight_at_first_failure,
            "calls in flight at the trip": in_flight_at_trip,
            # The promise: failure_threshold, plus what was already in flight when the first failure came back
            # and when the circuit opened (no breaker could have stopped those).
            "bound": threshold + in_flight_at_first_failure + in_flight_at_trip,
            "calls after the trip not short-circuited": sum(
                not call.short_circuited for call in during if call.started > opened
            ),
            "stale reads": sim.table.stale_reads,
        }
    )
    return found
