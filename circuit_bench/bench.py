"""`circuit-bench`: cost per call, discrimination, time to trip and to recover, cold start.

Two sources of figures:
- the sandbox (moto on loopback, handlers in worker processes): DynamoDB reads and writes
  counted at the emulator (circuit_sandbox.aws.server.OPERATIONS), Lambda invocations by the runner,
  states from execution histories. Every design is a module instance the real Terraform
  applied (circuit_sandbox/instances, all in one apply: `designs`). Alarm periods and the
  healthcheck schedule keep values AWS accepts (60 s, rate(1 minute)); the emulator runs
  their time TIME_SCALE times faster; rows that depend on them give AWS-equivalent seconds
  (sandbox seconds × TIME_SCALE) and say so;
- the simulator (circuit_bench.simulation, circuit_bench.discrimination): the real circuit code and the
  definition Terraform deployed on a virtual clock, for hours of traffic at up to 1000 calls/s. It is
  first checked against the real definition in moto, call by call, and the comparison printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from circuit_breaker.breaker import TRIP_SETTLE_SECONDS
from circuit_sandbox.aws import Emulator, emulator
from circuit_sandbox.aws.runner import FunctionSpec
from circuit_sandbox.aws.server import OPERATIONS
from circuit_sandbox.scenario import Traffic, wait_for
from circuit_sandbox.stack import Stack, instances_warmed
from circuit_sandbox.terraform import ROOT

from . import alarm_odds, costs, discrimination, provenance, simulation
from .simulation import Deployment, alarm_period

TIME_SCALE = 20  # 60 s CloudWatch periods and a 1-minute healthcheck run in 3 s
PERIOD = 60  # the designs' alarm periods, as AWS takes them
PERIOD_SECONDS = PERIOD / TIME_SCALE  # what one lasts in the emulator
SCHEDULE = "rate(1 minute)"  # the healthcheck's schedule
NEVER = "rate(24 hours)"  # a healthcheck that never runs within a run: its alarm is driven by hand
NO_ALARM = {"enabled": False}
RATES = (1, 10, 100)
RECOVERY_SAMPLES = 3
RECOVERY_GRACE_SECONDS = 30  # past the open duration, for the probe's round trip on a busy machine
# The functions circuit_sandbox/instances puts around each instance; lambda_function_names' others are the module's.
EXAMPLE_KEYS = ("downstream", "healthcheck", "fallback")
_names = iter(range(1_000_000))

# The simulator's figures: background errors per rate, and outages (failure rate from their start).
SIMULATED_RATES = (1, 10, 100, 1000)
BACKGROUND_ERRORS = (0.01, 0.05, 0.10, 0.20)
CELL_MINUTES = 10  # at least, and at least CELL_CALLS calls: trips are rare, and 10 minutes at 10/s are 6,000 calls
CELL_CALLS = 200_000
OUTAGE_RATES = (1, 10, 100, 1000)
PARTIAL_OUTAGES = {"50 %": 0.5, "25 %": 0.25}
PARTIAL_TARGETS = {0.5: 120, 0.25: 180}  # seconds to OPEN in the worst phase, at >= 10 calls/s
PHASES = 12  # partial outages start at each twelfth of the alarm period, one seeded run each
# Expected false trips per hour that count as none: fewer than one in 1,000 hours (about six weeks).
NO_TRIPS_PER_HOUR = 0.001
# Alarms the default is weighed against (with the default, read from what Terraform created): threshold %,
# datapoints, periods, minimum calls a period.
ALARM_CANDIDATES = ((25, 2, 2, 20), (25, 1, 1, 40), (24, 1, 1, 40), (22, 1, 1, 40), (20, 1, 1, 40))
TRADE_OFF_RATES = (1, 10, 100)
READ_LAG = 1.0  # eventually consistent reads up to this old (AWS: consistency "usually within a second")
TOTAL_OUTAGE_RUNS = 20  # per total-outage row: its bound must hold in every run
# Total outages: what the calls look like before and during (discrimination.outage's keyword arguments).
TOTAL_OUTAGES = {
    "failures in 50 ms, 1 % background": {},
    "failures in 50 ms, 20 % background": {"background": 0.20},
    "calls and failures in 500 ms": {"downstream_seconds": 0.5, "failure_seconds": 0.5},
}
SLOW_FAILURES = (3.0, 30.0)  # seconds a failing call takes: timeouts
SLOW_RATES = (10, 100)
# Requested executions/s for the sandbox's own ceiling, each for THROUGHPUT_SECONDS.
THROUGHPUT_RATES = (10, 25, 100)
THROUGHPUT_SECONDS = 10
SANDBOX_CEILING_TARGET = 25  # executions/s on two cores
# What the same measurement gave before the emulator cached its JSONPaths and DynamoDB clients
# (circuit_sandbox/aws/server.py), on this machine; kept as the comparison, not measured again.
SANDBOX_CEILING_BEFORE = (
    "Before the emulator parsed each JSONPath once and kept one client per service (commit 78463d1, the same "
    "measurement on the same machine): 10.0, 16.0 and 16.4 executions/s reached the downstream at 10, 25 "
    "and 100 asked. A profile at saturation found the emulator's process bound to one core by the GIL, a "
    "third of its CPU parsing JSONPaths (jsonpath_ng builds its lexer and parser tables for every parse) "
    "and, once that was cached, half of it building a boto3 client for every DynamoDB task."
)
SLOW_RUNS = 5
SIMULATION_WORKERS = 2


def seed_design(**overrides: Any) -> dict[str, Any]:
    """The original article's design: alarm-only trip (Errors Sum > 1, 3 of 3 periods), healthcheck-only close."""
    values: dict[str, Any] = {
        "failure_threshold": 1_000_000,
        "open_duration_seconds": 86_400,
        "max_open_duration_seconds": 86_400,
        "downstream_alarm": {
            "metric_name": "Errors",
            "statistic": "Sum",
            "period": PERIOD,
            "evaluation_periods": 3,
            "datapoints_to_alarm": 3,
            "threshold": 1,
            "comparison_operator": "GreaterThanThreshold",
        },
        "healthcheck": {
            "schedule_expression": SCHEDULE,
            "alarm": {"period": PERIOD, "treat_missing_data": "notBreaching"},
        },
        "circuit_events": False,
    }
    return values | overrides


def module_design(**overrides: Any) -> dict[str, Any]:
    """This module's defaults, with 60 s alarm periods and a one-minute healthcheck (run TIME_SCALE times faster)."""
    values: dict[str, Any] = {
        "downstream_alarm": {"period": PERIOD},
        "healthcheck": {"schedule_expression": SCHEDULE, "alarm": {"period": PERIOD}},
        "circuit_events": False,
    }
    return values | overrides


def designs(samples: int = RECOVERY_SAMPLES) -> dict[str, dict[str, Any]]:
    """Every instance the sandbox measurements use, by name: circuit_sandbox/instances applies them in one go."""
    found = {
        # Never tripped by a count; its healthcheck alarm exists (to be published to) but is never fed.
        "healthy": module_design(
            failure_threshold=1_000_000,
            downstream_alarm=NO_ALARM,
            healthcheck={"schedule_expression": NEVER, "alarm": {"period": PERIOD}},
        ),
        # Trips on one failure, probes after a second; its downstream takes 5 s when slow (probes).
        "probing": module_design(
            failure_threshold=1,
            open_duration_seconds=1,
            max_open_duration_seconds=1,
            downstream_alarm=NO_ALARM,
            healthcheck=False,
            slow_seconds=5,
        ),
        # The module's total outages (cleared between rates), and the Powertools peer around its downstream.
        "outage": module_design(downstream_alarm=NO_ALARM, healthcheck=False),
        "downstream-recovery": module_design(
            failure_threshold=1, open_duration_seconds=3, downstream_alarm=NO_ALARM, healthcheck=False
        ),
    }
    for rate in RATES:  # the seed design's alarm keeps its state: one instance per rate
        found[f"seed-outage-{rate}"] = seed_design(healthcheck=False)
    for k in range(samples):
        found[f"recovery-module-{k}"] = module_design(failure_threshold=1, downstream_alarm=NO_ALARM)
        found[f"recovery-seed-{k}"] = seed_design(downstream_alarm=NO_ALARM)
    return found


def module_functions(stack: Stack) -> dict[str, str]:
    """The module's own functions of an instance (key -> name), as its outputs list them."""
    return {key: name for key, name in stack.function_names.items() if key not in EXAMPLE_KEYS}


# ---------------------------------------------------------------------------- counting


class Meter:
    """DynamoDB operations and Lambda invocations of one stack between two points."""

    def __init__(
        self,
        emu: Emulator,
        stack: Stack,
        functions: tuple[str, ...] = ("check_circuit", "record_outcome", "downstream", "fallback"),
    ) -> None:
        self.emu, self.stack = emu, stack
        self.names = {stack.function_names[key] for key in functions}

    def snapshot(self) -> tuple[int, int, int]:
        table = self.stack.table_name
        reads = OPERATIONS["get_item", table]
        writes = sum(OPERATIONS[op, table] for op in ("update_item", "put_item", "delete_item"))
        invocations = sum(1 for i in list(self.emu.runner.invocations) if i.function in self.names)
        return reads, writes, invocations


def per_call(emu: Emulator, stack: Stack, calls: int, before_each=None, payload=None) -> dict[str, float]:
    meter = Meter(emu, stack)
    totals = [0, 0, 0, 0]
    for _ in range(calls):
        if before_each:
            before_each()
        start = meter.snapshot()
        result = stack.call(payload)
        end = meter.snapshot()
        for index in range(3):
            totals[index] += end[index] - start[index]
        totals[3] += len(result["states"])
    keys = ("reads", "writes", "invocations", "states")
    return {key: round(value / calls, 2) for key, value in zip(keys, totals, strict=True)}


# ---------------------------------------------------------------------------- measurements


def paths(emu: Emulator, stacks: dict[str, Stack]) -> dict[str, dict[str, float]]:
    """Per path, measured in the sandbox: what one call of this module costs."""
    found = {}
    healthy = stacks["healthy"]
    found["healthy"] = per_call(emu, healthy, 10)
    healthy.set_health(False)
    found["failing (not yet tripped)"] = per_call(emu, healthy, 10)
    healthy.publish_alarm("healthcheck", "ALARM", "2031-01-01T00:00:00.000+0000")  # OPEN until it is OK
    found["short-circuited"] = per_call(emu, healthy, 10)
    probing = stacks["probing"]

    def trip_and_wait() -> None:
        probing.set_health(False)
        probing.call()
        probing.set_health(True)
        time.sleep(1.05)

    found["probe (succeeds)"] = per_call(emu, probing, 5, before_each=trip_and_wait)
    return found


def outage_module(emu: Emulator, stack: Stack, rate: float, window: float) -> dict[str, Any]:
    stack.clear()
    downstream = stack.function_names["downstream"]
    with Traffic(stack, rate) as traffic:
        time.sleep(min(2.0, 10 / rate))  # warm: some healthy traffic first
        began, started_before = time.time(), traffic.started
        stack.set_health(False)
        opened = wait_for(lambda: stack.item().get("state") == "OPEN", window, step=0.05)
        opened_at = time.time()
        time.sleep(1)  # calls in flight at the trip still complete
        calls = traffic.started - started_before
    time.sleep(0.5)
    after = [i for i in list(emu.runner.invocations) if i.function == downstream and i.started_at >= began]
    return {
        "downstream calls after outage began": len(after),
        "calls before OPEN": len([i for i in after if i.started_at <= opened_at]),
        "seconds to OPEN": round(opened_at - began, 2) if opened else None,
        "calls": calls,
        "achieved rate": round(calls / (time.time() - began - 0.5), 1),
    }


def throughput(emu: Emulator, stack: Stack, rate: float, seconds: float = THROUGHPUT_SECONDS) -> dict[str, Any]:
    """Executions the sandbox sustains: `rate` asked for `seconds` on a healthy circuit, after a second's warm-up.

    `started/s` counts the executions the traffic could start (it skips a start the emulator cannot take on
    time), `downstream calls/s` those that reached the downstream within the window: what the emulator ran.
    """
    stack.clear()
    downstream = stack.function_names["downstream"]
    with Traffic(stack, rate) as traffic:
        time.sleep(1)
        began, before = time.time(), traffic.started
        time.sleep(seconds)
        ended, started = time.time(), traffic.started - before
    time.sleep(1)
    reached = [i for i in list(emu.runner.invocations) if i.function == downstream and began <= i.started_at <= ended]
    return {
        "started/s": round(started / (ended - began), 1),
        "downstream calls/s": round(len(reached) / (ended - began), 1),
    }


def powertools_function(emu: Emulator, stack: Stack, environments: int) -> str:
    """Register the peer: `stack`'s deployed downstream behind Powertools' @circuit_breaker, on a table of its own.

    The peer runs the downstream's deployed code with its deployed environment (so the same
    health parameter switches it), plus the peer's own PEER_* variables.
    """
    import boto3

    emu.runner.adopt_all()
    downstream = emu.runner.functions[stack.function_names["downstream"]]
    name = f"pt{next(_names)}"
    table = f"{name}-circuits"
    boto3.client("dynamodb").create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    environment = {
        **downstream.environment,
        "PEER_TABLE": table,
        "PEER_CIRCUIT": name,
        "PEER_DOWNSTREAM_CODE": str(downstream.code_dir),
        "PEER_THRESHOLD": "5",
        "PEER_RECOVERY_SECONDS": "30",
    }
    spec = FunctionSpec(
        f"{name}-downstream",
        "powertools_downstream.lambda_handler",
        ROOT / "circuit_sandbox" / "peer",
        environment,
        spread=True,
    )
    emu.runner.register(spec)
    emu.runner.warm(spec.name, environments)
    return spec.name


def outage_powertools(emu: Emulator, stack: Stack, environments: int, rate: float, window: float) -> dict[str, Any]:
    stack.set_health(True)
    function = powertools_function(emu, stack, environments)
    pool = ThreadPoolExecutor(max_workers=16)
    results: list[tuple[float, Any]] = []

    def call() -> None:
        results.append((time.time(), emu.runner.invoke(function, {"request": 1})))

    interval, began = 1 / rate, time.time()
    stack.set_health(False)
    next_at, calls = time.monotonic(), 0
    while time.time() - began < window:
        pool.submit(call)
        calls += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    pool.shutdown(wait=True)
    failed = [at for at, result in results if result.error_type]
    short = [at for at, result in results if not result.error_type and result.response().get("short_circuited")]
    return {
        "downstream calls after outage began": len(failed),
        "calls": calls,
        "seconds to first short-circuit": round(min(short) - began, 2) if short else None,
        "achieved rate": round(calls / window, 1),
    }


def healthcheck_recovery(stack: Stack, in_band_trip: bool) -> float | None:
    """Sandbox seconds from the dependency's recovery to CLOSED, when only the healthcheck alarm can tell."""
    stack.set_health(False)
    if in_band_trip:
        stack.call()
    wait_for(lambda: stack.item().get("healthcheck_alarm") == "ALARM", 6 * PERIOD_SECONDS)
    wait_for(lambda: stack.item().get("state") == "OPEN", 6 * PERIOD_SECONDS)
    recovered = time.time()
    stack.set_health(True)
    closed = wait_for(lambda: stack.item().get("state") == "CLOSED", 6 * PERIOD_SECONDS, step=0.05)
    return time.time() - recovered if closed else None


def recovery(stacks: dict[str, Stack], samples: int = RECOVERY_SAMPLES) -> dict[str, Any]:
    """Seconds from the dependency's recovery to CLOSED, with and without a healthcheck signal (median of samples).

    Both designs' samples run side by side, started a third of a period apart, so that where a
    recovery falls within an alarm period (which decides whether one or two periods pass) is
    spread the same way for both.
    """
    found: dict[str, Any] = {}
    labels = (("this module", "recovery-module", True), ("seed design", "recovery-seed", False))
    tasks = [(label, stacks[f"{prefix}-{k}"], in_band, k) for label, prefix, in_band in labels for k in range(samples)]

    def sample(task: tuple[str, Stack, bool, int]) -> tuple[str, float | None]:
        label, stack, in_band, k = task
        time.sleep(k * PERIOD_SECONDS / samples)
        return label, healthcheck_recovery(stack, in_band)

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        results = list(pool.map(sample, tasks))
    for label, _, _ in labels:
        measured = [seconds for name, seconds in results if name == label and seconds is not None]
        found[f"{label}: healthcheck recovery → CLOSED (AWS-equivalent s, median of {samples})"] = (
            round(statistics.median(measured) * TIME_SCALE) if measured else "never"
        )
    # Without any healthcheck signal: the downstream alone recovers.
    stack = stacks["downstream-recovery"]
    open_duration = stack.settings().open_duration_seconds
    stack.set_health(False)
    stack.call()
    stack.set_health(True)
    recovered = time.time()
    # The first call past the open duration probes. Its state check, downstream call and outcome
    # queue behind the short-circuited calls' state checks on a saturated emulator: the probe's
    # round trip has taken 8 s there, so a bound of open_duration + 5 s reported a recovery as never.
    timeout = open_duration + RECOVERY_GRACE_SECONDS
    with Traffic(stack, 10):
        closed = wait_for(lambda: stack.item().get("state") == "CLOSED", timeout, step=0.05)
    found[
        f"this module: downstream recovery, no healthcheck → CLOSED (s, open_duration_seconds = {open_duration:g})"
    ] = round(time.time() - recovered, 2) if closed else f"not within {timeout:g} s"
    found["seed design: downstream recovery, no healthcheck → CLOSED"] = "never (closes only on a healthcheck OK)"
    return found


def probes(emu: Emulator, stack: Stack, callers: int = 100) -> int:
    """Probes admitted when `callers` arrive together past the open duration (the probe's downstream is slow)."""
    stack.clear()
    stack.set_health(False)
    stack.call()
    stack.set_health("slow")
    time.sleep(1.1)
    since = len(emu.runner.invocations)
    with ThreadPoolExecutor(max_workers=25) as pool:
        arns = list(pool.map(lambda _: stack.start(), range(callers)))
    for arn in arns:
        stack.wait(arn, timeout=120)
    name = stack.function_names["check_circuit"]
    return sum(i.response().get("probe", False) for i in emu.runner.invocations[since:] if i.function == name)


def deployed_functions(emu: Emulator, stack: Stack, folder: Path) -> dict[str, FunctionSpec]:
    """The module's functions of `stack` as deployed (handler, environment), their packages copied under `folder`."""
    emu.runner.adopt_all()
    found = {}
    for key, name in module_functions(stack).items():
        spec = emu.runner.functions[name]
        code = folder / key
        shutil.copytree(spec.code_dir, code)
        found[key] = dataclasses.replace(spec, code_dir=code)
    return found


def cold_start(functions: dict[str, FunctionSpec], runs: int = 7) -> dict[str, Any]:
    """Import time of each deployed handler over a bare `import boto3`, in fresh interpreters (median of `runs`).

    Each imports its handler module from its own deployed package, with its deployed environment.
    """
    code = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"

    def median(module: str, spec: FunctionSpec | None = None) -> float:
        environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
        if spec is not None:
            environment |= {**spec.environment, "PYTHONPATH": str(spec.code_dir)}
        samples = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code.format(module)],
                    env=environment,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(runs)
        ]
        return statistics.median(samples)

    boto3_seconds = median("boto3")
    found: dict[str, Any] = {"import boto3 (ms)": round(boto3_seconds * 1000, 1)}
    for key, spec in functions.items():
        module = spec.handler.rpartition(".")[0]
        # A handler's import is its init: settings, Powertools, and the DynamoDB client (so boto3) it keeps.
        found[key] = round(median(module, spec) / boto3_seconds, 2)
    return found


def package_sizes(stack: Stack) -> dict[str, int]:
    """Bytes of each of the module's deployed zips (GetFunction's CodeSize): what lambda.tf's archive_file built."""
    return {
        key: int(stack.lambda_client.get_function(FunctionName=name)["Configuration"]["CodeSize"])
        for key, name in module_functions(stack).items()
    }


# ---------------------------------------------------------------------------- simulator


def simulate(workers: int = SIMULATION_WORKERS, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """The simulator's figures: its check against the sandbox, per-path costs, background errors, outages.

    One apply of circuit_sandbox/instances into moto in this process gives both instances: the replay
    runs on its own, and every other figure simulates what was read back of the module's defaults.
    """
    with discrimination.applied(echo=echo) as stacks:
        deployments = discrimination.described(stacks)
        replay = discrimination.replay(stacks[discrimination.REPLAY], deployments[discrimination.REPLAY])
    deployment = deployments[discrimination.CIRCUIT]
    found: dict[str, Any] = {
        "assumptions": assumptions(deployment),
        "replay": replay,
        "paths": discrimination.paths(deployment),
    }
    # Each run is independent and seeded; the longest first, over two processes (the machine has two cores).
    grid = sorted(((r, b) for r in SIMULATED_RATES for b in BACKGROUND_ERRORS), key=lambda cell: -cell[0])
    cells = [
        (rate, background, max(CELL_MINUTES, CELL_CALLS / rate / 60), seed)
        for seed, (rate, background) in enumerate(grid)
    ]
    # Every outage with reads lagging up to READ_LAG wherever they are eventually consistent.
    outages: list[tuple[str, dict[str, Any]]] = [
        (variant, {"rate": rate, "failure_rate": 1.0, "seed": 2000 + 100 * index + run, **extra})
        for index, (variant, extra) in enumerate(TOTAL_OUTAGES.items())
        for rate in OUTAGE_RATES
        for run in range(TOTAL_OUTAGE_RUNS)
    ]
    outages += [
        ("partial", {"rate": rate, "failure_rate": share, "seed": 1000 + step, "phase": step / PHASES})
        for rate in OUTAGE_RATES
        for share in PARTIAL_OUTAGES.values()
        for step in range(PHASES)
    ]
    outages += [
        (
            f"failures in {seconds:g} s",
            {"rate": rate, "failure_rate": 1.0, "seed": 3000 + run, "failure_seconds": seconds},
        )
        for seconds in SLOW_FAILURES
        for rate in SLOW_RATES
        for run in range(SLOW_RUNS)
    ]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        cell_results = [pool.submit(discrimination.cell, deployment, *arguments) for arguments in cells]
        outage_results = [
            (variant, pool.submit(discrimination.outage, deployment, lag=READ_LAG, **arguments))
            for variant, arguments in outages
        ]
        found["cells"] = sorted(
            (future.result() for future in cell_results), key=lambda cell: (cell["rate"], cell["background"])
        )
        found["outages"] = [{"variant": variant, **future.result()} for variant, future in outage_results]
    expected_trips(found, deployment)
    memory = deployment.memory_size
    function_seconds = found["assumptions"]["latency"]["function"]
    for cell in found["cells"]:
        ops = blended(cell["path totals"])
        cell["cost per million calls"] = {
            machine: round(costs.per_million(ops, machine, memory, function_seconds), 2)
            for machine in ("EXPRESS", "STANDARD")
        }
    found["costs"] = cost_rows(found["paths"], found["assumptions"]["latency"], memory)
    found["prices"] = costs.prices()
    return found


def expected_trips(found: dict[str, Any], deployment: Deployment) -> None:
    """False trips per hour from the tails (in band: the count's; the alarm: the error count's), and the trade-off.

    Adds to each cell what `circuit_bench.alarm_odds` expects, and to `found` the worst phase of the default alarm
    and of the alternatives it is weighed against.
    """
    threshold = found["assumptions"]["failure_threshold"]
    delay = simulation.ALARM_EVALUATION_DELAY + simulation.NOTIFICATION_DELAY
    background = discrimination.LEAD_IN_BACKGROUND
    default = alarm_odds.RateAlarm.of(deployment.downstream_alarm) if deployment.downstream_alarm else None
    for cell in found["cells"]:
        hours = cell["minutes"] / 60
        count = {int(k): v for k, v in cell["count reached"].items()}
        in_band = alarm_odds.extrapolated_trips_per_hour(count, threshold, hours)
        alarm = alarm_odds.alarm_trips_per_hour(default, cell["rate"], cell["background"]) if default else 0.0
        cell["expected per hour"] = {
            "in band": in_band,
            "alarm": alarm,
            "reference": alarm_odds.reference_trips_per_hour(cell["rate"], cell["background"], threshold),
        }
    candidates = [alarm_odds.RateAlarm(float(t), m, n, 60, minimum) for t, m, n, minimum in ALARM_CANDIDATES]
    rows = []
    for candidate in ([default] if default else []) + [c for c in candidates if c != default]:
        rows.append(
            {
                "alarm": candidate.describe(),
                "default": candidate == default,
                "worst phase": {
                    f"{share:g} at {rate:g}/s": alarm_odds.worst_phase_seconds(
                        candidate, rate, share, background, delay
                    )[0]
                    for share in PARTIAL_OUTAGES.values()
                    for rate in (1, 10)
                },
                "25 % outage: a full period missed at 10/s": 1 - alarm_odds.breach_probability(candidate, 10, 0.25),
                "false trips per hour": {
                    f"{_percent(b)} at {rate:g}/s": alarm_odds.alarm_trips_per_hour(candidate, rate, b)
                    for b in BACKGROUND_ERRORS
                    if b >= 0.05
                    for rate in TRADE_OFF_RATES
                },
            }
        )
    found["alarm trade-off"] = rows
    found["partial expected"] = {
        f"{share:g} at {rate:g}/s": alarm_odds.worst_phase_seconds(default, rate, share, background, delay)[0]
        if default
        else math.inf
        for share in PARTIAL_OUTAGES.values()
        for rate in OUTAGE_RATES
    }
    found["reference per hour"] = {
        f"{_percent(b)} at {rate:g}/s": alarm_odds.reference_trips_per_hour(rate, b, threshold)
        for b in BACKGROUND_ERRORS
        if b >= 0.05
        for rate in TRADE_OFF_RATES
    }


def assumptions(deployment: Deployment) -> dict[str, Any]:
    """What the simulator's figures assume: its timing model, and the instance Terraform applied (settings, alarm)."""
    settings = simulation.Simulation(deployment).settings
    return {
        "latency": dataclasses.asdict(simulation.Latency()),
        "alarm evaluation delay": simulation.ALARM_EVALUATION_DELAY,
        "notification delay": simulation.NOTIFICATION_DELAY,
        "failure_threshold": settings.failure_threshold,
        "open_duration_seconds": settings.open_duration_seconds,
        "downstream alarm": describe_alarm(deployment.downstream_alarm) if deployment.downstream_alarm else "none",
        "type": deployment.machine_type,
        "lambda_memory_size": deployment.memory_size,
        "lead-in background errors": discrimination.LEAD_IN_BACKGROUND,
    }


def describe_alarm(alarm: dict[str, Any]) -> str:
    """An alarm as DescribeAlarms returns it, in one line."""
    if alarm.get("Metrics"):
        query = next(query for query in alarm["Metrics"] if query.get("Expression"))
        metric = f"{query.get('Label') or query['Id']} = {query['Expression']}"
    else:
        metric = f"{alarm.get('ExtendedStatistic') or alarm['Statistic']} of {alarm['MetricName']}"
    evaluation = alarm["EvaluationPeriods"]
    return (
        f"{metric} {alarm['ComparisonOperator']} {alarm['Threshold']:g} in "
        f"{alarm.get('DatapointsToAlarm', evaluation)} of {evaluation} periods of {alarm_period(alarm)} s, "
        f"treat_missing_data {alarm.get('TreatMissingData', 'missing')}"
    )


def blended(path_totals: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Per-call operations averaged over every call of a run, whatever its route."""
    calls = sum(totals["calls"] for totals in path_totals.values()) or 1
    ops = {
        "states": 0.0,
        "eventual reads": 0.0,
        "strong reads": 0.0,
        "writes": 0.0,
        "module invocations": 0.0,
        "billed 100 ms": 0.0,
    }
    for route, totals in path_totals.items():
        ops["states"] += totals["calls"] * len(route.split(" → ")) / calls
        ops["module invocations"] += sum(n for key, n in totals["invocations"].items() if key != "downstream") / calls
        for key in ("eventual reads", "strong reads", "writes", "billed 100 ms"):
            ops[key] += totals[key] / calls
    return ops


def cost_rows(paths: dict[str, dict[str, Any]], latency: dict[str, float], memory: int) -> list[dict[str, Any]]:
    """$ per million calls on each path, EXPRESS and STANDARD: this module (simulated), then the recorded designs."""
    rows = []
    for label, path in paths.items():
        ops = {**path, "states": len(path["states"]), "billed 100 ms": costs.billed_steps(path["seconds"])}
        rows.append(
            {
                "design": "this module",
                "path": label,
                **{k: ops[k] for k in ("states", "eventual reads", "strong reads", "writes", "module invocations")},
                "invocations": path["invocations"],
                **{
                    machine: costs.per_million(ops, machine, memory, latency["function"])
                    for machine in ("EXPRESS", "STANDARD")
                },
            }
        )
    for design, recorded in costs.RECORDED_DESIGNS.items():
        for label, path in recorded.items():
            seconds = sum(latency[task] for task in path["tasks"])
            ops = {**path, "strong reads": 0, "billed 100 ms": costs.billed_steps(seconds)}
            rows.append(
                {
                    "design": design,
                    "path": label,
                    **{k: ops[k] for k in ("states", "eventual reads", "strong reads", "writes", "module invocations")},
                    "invocations": path["module invocations"] + ("downstream" in path["tasks"]),
                    **{
                        machine: costs.per_million(ops, machine, memory, latency["function"])
                        for machine in ("EXPRESS", "STANDARD")
                    },
                }
            )
    return rows


# ---------------------------------------------------------------------------- report


def run() -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "time_scale": TIME_SCALE,
        "sources": provenance.digest(ROOT),  # before measuring: the figures are this code's
    }
    report["simulation"] = simulate()  # before the emulator: its check against moto runs moto in this process
    report["simulation seconds"] = round(time.monotonic() - started, 1)
    with tempfile.TemporaryDirectory(prefix="bench-packages-") as folder:
        with emulator(max_environments=10, alarm_interval=0.25, time_scale=TIME_SCALE) as emu:
            stacks = instances_warmed(emu, designs(), echo=print)
            report["paths"] = {"this module": paths(emu, stacks)}
            report["outage"] = {}
            for rate in RATES:
                report["outage"][f"this module @ {rate}/s"] = outage_module(emu, stacks["outage"], rate, window=8)
                seed = outage_module(emu, stacks[f"seed-outage-{rate}"], rate, window=8 * PERIOD_SECONDS)
                if seed["seconds to OPEN"] is not None:
                    seed["seconds to OPEN (AWS-equivalent)"] = round(seed["seconds to OPEN"] * TIME_SCALE)
                report["outage"][f"seed design @ {rate}/s"] = seed
                for environments in (1, 10):
                    report["outage"][f"Powertools, {environments} env @ {rate}/s"] = outage_powertools(
                        emu, stacks["outage"], environments, rate, window=8
                    )
            report["throughput"] = {f"{rate}/s": throughput(emu, stacks["healthy"], rate) for rate in THROUGHPUT_RATES}
            report["recovery"] = recovery(stacks)
            report["probes_with_100_callers"] = probes(emu, stacks["probing"])
            report["package_bytes"] = package_sizes(stacks["outage"])
            functions = deployed_functions(emu, stacks["outage"], Path(folder))
        # Once the emulator has stopped: nothing else competes for the CPU while the interpreters start.
        report["cold_start_ratio_to_boto3"] = cold_start(functions)
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def _percent(share: float) -> str:
    return f"{100 * share:g} %"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def simulation_markdown(sim: dict[str, Any]) -> list[str]:
    assumed = sim["assumptions"]
    latency = assumed["latency"]
    replay = sim["replay"]
    lines = [
        "## The simulator, checked against the sandbox",
        "",
        "`circuit_bench/simulation.py` runs the definition Terraform deployed (its Choice rules, paths and "
        "Catch route every call), the real `Breaker.check`, record_outcome's parser (`parse_outcome`) then "
        "`Breaker.record`, and `Breaker.on_alarm`, on a virtual clock over an in-memory table with DynamoDB's "
        "semantics for the updates the store makes (checked against moto's by a test). The downstream alarm is "
        f"the one the module creates by default ({assumed['downstream alarm']}), evaluated by the sandbox's CloudWatch "
        f"code once per period, {assumed['alarm evaluation delay']:g} s after the period ends, its "
        f"notification applied {assumed['notification delay']:g} s later; a new alarm starts in "
        "INSUFFICIENT_DATA, as on AWS. Definition, settings and alarm are read back from an instance with the "
        "module's defaults, applied by Terraform into moto (failure_threshold "
        f"{assumed['failure_threshold']}, open_duration_seconds {assumed['open_duration_seconds']:g}).",
        "",
        f"Assumed durations: the state machine's GetItem {latency['read'] * 1000:g} ms, a module function "
        f"(state check, outcome recording) {latency['function'] * 1000:g} ms, the downstream "
        f"{latency['downstream'] * 1000:g} ms; Pass and Choice states take no time; a task that touches the "
        "table does so when it starts; the failure that reaches failure_threshold trips "
        f"{TRIP_SETTLE_SECONDS * 1000:g} ms later if the count still stands (the core's wait for resets on their "
        "way), while the other calls go on. Outages also play slow failures and eventually consistent reads that "
        "lag (see there). Not modelled: cold starts, throttles, retries, duplicate or reordered notifications, "
        "the healthcheck.",
        "",
        f"**Check**: one seeded scenario of {replay['calls']} sequential calls ({replay['failing calls']} "
        f"failing, in bursts; {replay['trips']} trips; open durations ended by hand; a downstream alarm; an "
        "operator override) ran through the real definition in moto with the real handlers, and through the "
        "simulator on the definition moto held. Per call, the states entered, the result and the circuit "
        f"afterwards (state, failure count, generation, open count, override, alarm state): "
        f"**{replay['calls'] - len(replay['differences'])} of {replay['calls']} identical**.",
        "",
        "| route (states entered) | calls |",
        "|---|---:|",
    ]
    lines += [f"| {route} | {count} |" for route, count in sorted(replay["routes"].items(), key=lambda kv: -kv[1])]
    for difference in replay["differences"][:5]:
        lines.append(
            f"\nCall {difference['call']} differs: sandbox `{json.dumps(difference['sandbox'])}`, "
            f"simulator `{json.dumps(difference['simulator'])}`."
        )

    lines += [
        "",
        "## Background errors: false trips",
        "",
        f"Independent background errors; Poisson arrivals; each cell simulates at least {CELL_MINUTES} minutes "
        f"and {CELL_CALLS:,} calls. Trips are rare events: a cell with 0 trips says none in that time, not that "
        "the rate is 0, so the expected rates come from the tails (`circuit_bench/alarm_odds.py`): in band, from how "
        "often the simulated count reached each value below failure_threshold and still stood when a trip there "
        "would be decided (a geometric tail, extrapolated "
        "to the threshold; — when the count never reached 2 ten times); the alarm, from the binomial tail of a "
        "period's failures at Poisson arrivals; the reference, one trip per run of failure_threshold failures. "
        "Trips count CLOSED → OPEN, in band (failure count) or by the downstream alarm; a reopen after a "
        "failed probe is not a trip. The reference is one strictly consecutive counter of failures over the "
        "same calls in completion order, every call reaching the downstream, restarting at 0 after each trip "
        f"(it never opens). Downstream concurrency is the mean number of downstream calls in progress "
        f"(≈ the environments it needs, rate × {latency['downstream']:g} s).",
        "",
        "| calls/s | errors | hours | calls | trips (in band + alarm) | trips/hour | reference trips/hour | "
        "expected per hour: in band, alarm, reference | "
        "short-circuited | downstream concurrency | module invocations per call | writes per call | "
        "EXPRESS $/M calls | STANDARD $/M calls |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in sim["cells"]:
        cost = cell["cost per million calls"]
        expected = cell["expected per hour"]
        lines.append(
            f"| {cell['rate']:g} | {_percent(cell['background'])} | {cell['minutes'] / 60:.2f} | "
            f"{cell['calls']:,} | {cell['trips']} "
            f"({cell['in-band trips']} + {cell['alarm trips']}) | {cell['trips per hour']:g} | "
            f"{cell['reference trips per hour']:g} | {_rate(expected['in band'])}, {_rate(expected['alarm'])}, "
            f"{_rate(expected['reference'])} | {_percent(round(cell['short-circuited share'], 4))} | "
            f"{cell['downstream concurrency']:g} | {cell['module invocations per call']:.3f} | "
            f"{blended(cell['path totals'])['writes']:.3f} | "
            f"{_money(cost['EXPRESS'])} | {_money(cost['STANDARD'])} |"
        )
    checked = [cell for cell in sim["cells"] if cell["alarm trips"] >= 10]
    if checked:
        lines += [
            "",
            "The alarm's tail, checked against the simulator where its trips are many enough to count (the "
            "simulator evaluates the alarm Terraform created on the simulated metrics): "
            + "; ".join(
                f"{cell['rate']:g}/s {_percent(cell['background'])}: {cell['alarm trips']} alarm trips in "
                f"{cell['minutes'] / 60:.1f} h, {cell['alarm trips'] / (cell['minutes'] / 60):.2g} per hour measured, "
                f"{_rate(cell['expected per hour']['alarm'])} expected"
                for cell in checked
            )
            + ".",
        ]
    lines += [
        "",
        "Module invocations per call are the failures' own (each failure is recorded by the outcome "
        "function); a success never invokes a module function: it reads the circuit again, and only when "
        "failures are pending does the state machine write their reset itself (a conditional UpdateItem). "
        "Successes completing together while a failure is pending all try that reset; the latest read wins, and "
        "the writes of those that read no later than a reset already written fail their condition but are billed.",
        "",
        "Why the module's trips differ from the reference's, either way. Fewer: after a trip the circuit is "
        "open (30 s, then a probe) and counts nothing; a failure counted a few milliseconds after a success "
        "completed may come after it in the count. More: the downstream alarm trips on its own when a "
        "minute's error rate reaches its threshold.",
        "",
    ]
    lines += trade_off_markdown(sim)

    lines += outage_markdown(sim)

    prices = sim["prices"]
    lines += [
        "",
        "## Cost per million calls, by path",
        "",
        "Counted operations times us-east-1 list prices (sources: "
        + ", ".join(f"[{name}]({url})" for name, url in prices["sources"].items())
        + f"; recorded {prices['recorded']}): Step Functions STANDARD "
        f"${prices['Step Functions STANDARD, per 1,000 transitions']:g} per 1,000 state transitions (one per "
        f"state entered), EXPRESS ${prices['Step Functions EXPRESS, per million requests']:g} per million "
        f"requests plus ${prices['Step Functions EXPRESS, per GB-s (64 MB, 100 ms steps)']:g} per GB-s "
        f"(assumed {prices['EXPRESS execution memory (MB, assumed)']} MB, duration in 100 ms steps); Lambda "
        f"arm64 ${prices['Lambda arm64, per million requests']:g} per million requests plus "
        f"${prices['Lambda arm64, per GB-s']:g} per GB-s (module functions at {assumed['lambda_memory_size']} "
        f"MB, {latency['function'] * 1000:g} ms each); DynamoDB on-demand "
        f"${prices['DynamoDB on-demand, per million read units']:g} per million read units (0.5 per "
        f"eventually consistent read of an item under 4 KB, 1 per strongly consistent one) and "
        f"${prices['DynamoDB on-demand, per million write units']:g} per million write units (1 per write; "
        "a write whose condition fails counts). The downstream's own Lambda charges are left out (the same "
        "with or without a breaker); its duration counts in an EXPRESS execution's. This module's rows are "
        "counted by the simulator, one call per path on a fresh circuit; the previous design (state check "
        "on every call) and the seed's design (same shape, alarm-only trip) as the sandbox counted them on "
        f"2026-11-26. The module's default type is {assumed['type']}.",
        "",
        "| design | path | states | reads (eventual + strong) | writes | invocations (of which module) | "
        "EXPRESS $/M | STANDARD $/M |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sim["costs"]:
        lines.append(
            f"| {row['design']} | {row['path']} | {row['states']} | {row['eventual reads']} + "
            f"{row['strong reads']} | {row['writes']} | {row['invocations']} ({row['module invocations']}) | "
            f"{_money(row['EXPRESS'])} | {_money(row['STANDARD'])} |"
        )
    lines.append("")
    return lines


def _rate(per_hour: float | None) -> str:
    """An expected rate per hour, readable from 1e-300 to 100."""
    if per_hour is None:
        return "—"
    if per_hour == 0 or per_hour < 1e-99:
        return "< 1e-99"
    return f"{per_hour:.2g}" if per_hour >= 0.01 else f"{per_hour:.1e}"


def _seconds(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:.0f}"


def trade_off_markdown(sim: dict[str, Any]) -> list[str]:
    """The default alarm against the alternatives: worst-phase time to trip against false trips."""
    rows = sim["alarm trade-off"]
    if not rows:
        return []
    keys = list(rows[0]["false trips per hour"])
    lines = [
        "### The downstream alarm: speed against false trips",
        "",
        "No error-rate alarm both trips on a 25 % outage within 3 minutes at 10 calls/s and trips no more "
        "than the strictly consecutive reference at 20 % background errors: at 600 calls a minute, a "
        "minute's error rate varies by about ±1.8 points, so a threshold that a 25 % outage reaches every "
        "minute is also reached by 20 % of background errors. Computed from the settings "
        "(`circuit_bench/alarm_odds.py`): worst phase of a 50 % and a 25 % outage (1 % before), at the expected "
        "rate of each period, alarm only (in band may trip first); expected false trips per hour (OK → "
        "ALARM, which opens the circuit). The partial-outage sweep below checks the default's worst phase "
        "in the simulator.",
        "",
        "| alarm | 50 % outage, worst phase at 1, 10 calls/s (s) | 25 % outage (s) | 25 % outage: a full "
        "minute missed at 10/s | " + " | ".join(f"false trips/hour, {key}" for key in keys) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(keys),
    ]
    for row in rows:
        worst = row["worst phase"]
        lines.append(
            f"| {'**default**: ' if row['default'] else ''}{row['alarm']} | "
            f"{_seconds(worst['0.5 at 1/s'])}, {_seconds(worst['0.5 at 10/s'])} | "
            f"{_seconds(worst['0.25 at 1/s'])}, {_seconds(worst['0.25 at 10/s'])} | "
            f"{_percent(round(row['25 % outage: a full period missed at 10/s'], 4))} | "
            + " | ".join(_rate(row["false trips per hour"][key]) for key in keys)
            + " |"
        )
    lines.append(
        "| reference (strictly consecutive, failure_threshold) | — | — | — | "
        + " | ".join(_rate(sim["reference per hour"][key]) for key in keys)
        + " |"
    )
    default = next((row for row in rows if row["default"]), None)
    previous = next((row for row in rows if row["alarm"].startswith(">= 25 % in 2 of 2")), None)
    if default is not None and previous is not None:

        def noisy(row: dict[str, Any]) -> str:
            trips = row["false trips per hour"]
            return f"{_rate(trips['20 % at 1/s'])} per hour at 1 call/s and {_rate(trips['20 % at 10/s'])} at 10"

        lines += [
            "",
            "The default is the fastest of these that keeps 5 % background errors below one false trip in 1,000 "
            "hours at 1 call/s: in the worst phase a 50 % outage opens within "
            f"{_seconds(default['worst phase']['0.5 at 10/s'])} s and a 25 % one within "
            f"{_seconds(default['worst phase']['0.25 at 10/s'])} s from 10 calls/s. The price is paid by a service "
            f"that runs with 20 % of its calls failing: {noisy(default)} calls/s. The previous default "
            f"({previous['alarm']}) trips such a service {noisy(previous)} calls/s, but takes "
            f"{_seconds(previous['worst phase']['0.5 at 10/s'])} s for a 50 % outage and "
            f"{_seconds(previous['worst phase']['0.25 at 10/s'])} s for a 25 % one. A service that fails that "
            "often sets its own threshold, e.g. `downstream_alarm = { threshold = 35 }`.",
            "",
        ]
    return lines


def outage_markdown(sim: dict[str, Any]) -> list[str]:
    """The outage tables: total outages (the bound in every run), slow failures, partial outages."""
    threshold = sim["assumptions"]["failure_threshold"]
    outages = sim["outages"]
    lines = [
        "## Outages",
        "",
        f"Every run reads with lag: an eventually consistent read may be up to {READ_LAG:g} s old (the module's "
        "routing reads are strongly consistent, so no routing decision sees the lag). Failed calls: downstream "
        "calls that failed from the outage's start until the circuit opened. The bound is failure_threshold "
        f"({threshold}) plus the calls in flight when the first failure came back and when the circuit opened: "
        "calls no breaker could have stopped. After OPEN: calls admitted after the trip that still reached the "
        "downstream. Already open: the circuit had opened on the background errors before the outage began (a "
        "false trip, see above); such a run has no trip of its own and fails only probes, within the bound.",
        "",
        f"### Total outages ({TOTAL_OUTAGE_RUNS} runs per row, each starting at a random point of the alarm period)",
        "",
        "| calls/s | before and during the outage | failed calls (median, max) | runs within the bound | "
        "in flight at the first failure, at OPEN (medians) | after OPEN | seconds until OPEN (median, max) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for variant in TOTAL_OUTAGES:
        for rate in OUTAGE_RATES:
            runs = [o for o in outages if o["variant"] == variant and o["rate"] == rate]
            tripped = [o for o in runs if o["tripped"]]
            if not tripped:
                lines.append(f"| {rate} | {variant} | — | 0 of {len(runs)} | — | — | no trip within the run |")
                continue
            failed = [o["failed calls"] for o in tripped]
            seconds = [o["seconds to OPEN"] for o in tripped]
            # No trip of its own and fewer failures than the threshold: the circuit was already open (false trip).
            already_open = sum(not o["tripped"] and o["failed calls"] < threshold for o in runs)
            within = sum(o["failed calls"] <= o["bound"] for o in tripped) + already_open
            within_text = f"{within} of {len(runs)}" + (f" ({already_open} already open)" if already_open else "")
            lines.append(
                f"| {rate} | {variant} | {statistics.median(failed):g}, {max(failed)} | {within_text} | "
                f"{statistics.median(o['calls in flight when the first failure came back'] for o in tripped):g}, "
                f"{statistics.median(o['calls in flight at the trip'] for o in tripped):g} | "
                f"{sum(o['calls after the trip not short-circuited'] for o in tripped)} | "
                f"{statistics.median(seconds):.2f}, {max(seconds):.2f} |"
            )
    lines += [
        "",
        f"### Slow failures ({SLOW_RUNS} runs per row)",
        "",
        "Every call fails after T seconds (a dependency that hangs until the timeout); successes before the "
        "outage take 50 ms. Failures count in the order they complete, so the circuit opens about T after the "
        "outage starts (target: within T + 2 s at ≥ 10 calls/s).",
        "",
        "| calls/s | T | seconds until OPEN (median, max) | target | failed calls (median, max) | "
        "runs within the bound |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for duration in SLOW_FAILURES:
        for rate in SLOW_RATES:
            runs = [o for o in outages if o["variant"] == f"failures in {duration:g} s" and o["rate"] == rate]
            tripped = [o for o in runs if o["tripped"]]
            if not tripped:
                lines.append(f"| {rate} | {duration:g} s | no trip within the run | {duration + 2:g} | — | — |")
                continue
            opened = [o["seconds to OPEN"] for o in tripped]
            failed = [o["failed calls"] for o in tripped]
            within = sum(o["failed calls"] <= o["bound"] for o in tripped)
            lines.append(
                f"| {rate} | {duration:g} s | {statistics.median(opened):.2f}, {max(opened):.2f} | {duration + 2:g} | "
                f"{statistics.median(failed):g}, {max(failed)} | {within} of {len(runs)} |"
            )
    lines += [
        "",
        f"### Partial outages (the outage starts at each of {PHASES} points of the alarm period, one seeded run each)",
        "",
        f"A whole period of {_percent(discrimination.LEAD_IN_BACKGROUND)} background errors, then from a point of "
        "the next period on half or a quarter of the calls fail. Worst: the slowest of the phases (and where in "
        "the period that outage started); expected worst: the alarm's, at the expected error rate of each "
        "period (`circuit_bench/alarm_odds.py`); below its minimum calls a period counts as 0 %. Target: OPEN within "
        + " and ".join(f"{seconds} s for {_percent(share)}" for share, seconds in PARTIAL_TARGETS.items())
        + " at ≥ 10 calls/s.",
        "",
        "| calls/s | outage | seconds until OPEN: worst (phase), median | expected worst (alarm) | "
        "failed calls (median, max) | tripped by |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for rate in OUTAGE_RATES:
        for label, share in PARTIAL_OUTAGES.items():
            runs = partial_runs(sim, rate, share)
            tripped = [o for o in runs if o["tripped"]]
            expected = _seconds(sim["partial expected"].get(f"{share:g} at {rate:g}/s", math.inf))
            if not tripped:
                lines.append(f"| {rate} | {label} | no trip within {len(runs)} runs | {expected} | — | — |")
                continue
            worst = max(runs, key=lambda o: o["seconds to OPEN"] if o["tripped"] else math.inf)
            worst_text = f"{worst['seconds to OPEN']:.1f} ({worst['phase']:.2f})" if worst["tripped"] else "never"
            failed = [o["failed calls"] for o in tripped]
            seconds = [o["seconds to OPEN"] for o in tripped]
            origins = Counter(o["tripped by"] for o in tripped)
            lines.append(
                f"| {rate} | {label} | {worst_text}, {statistics.median(seconds):.1f} | {expected} | "
                f"{statistics.median(failed):g}, {max(failed)} | "
                f"{', '.join(f'{k} {v}' for k, v in origins.items())}"
                f"{'' if len(tripped) == len(runs) else f'; {len(runs) - len(tripped)} never'} |"
            )
    lines.append("")
    return lines


def partial_runs(sim: dict[str, Any], rate: float, share: float) -> list[dict[str, Any]]:
    return [o for o in sim["outages"] if o["variant"] == "partial" and o["rate"] == rate and o["failure rate"] == share]


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {report['date']} on {report['machine']}, by `make bench`. Took "
        f"{report['seconds']} s, of which the simulator {report['simulation seconds']} s. Sandbox sections: moto "
        "on loopback, handlers in worker processes; CloudWatch "
        f"periods and the healthcheck schedule run {report['time_scale']}× faster than on AWS "
        f"(60 s → {PERIOD_SECONDS:g} s), and figures that depend on them are scaled back and marked "
        "AWS-equivalent. Simulator sections: "
        "AWS time.",
        "",
        f"{provenance.MARKER} `{report['sources']}` (circuit_bench/provenance.py; a test fails when the code "
        "differs: run `make bench` again)."
        if "sources" in report
        else "The code these figures were measured on was not recorded.",
        "",
    ]
    lines += simulation_markdown(report["simulation"])
    lines += [
        "## Cost per call, measured in the sandbox",
        "",
        "Averages over a few calls of each kind (failing: the first failure and the ones counted after it).",
        "",
        "| design | path | DynamoDB reads | writes | Lambda invocations | states entered |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for design, found in report["paths"].items():
        for path, figures in found.items():
            lines.append(
                f"| {design} | {path} | {figures['reads']} | {figures['writes']} | "
                f"{figures['invocations']} | {figures['states']} |"
            )
    lines += [
        "",
        "## Total outage, in the sandbox",
        "",
        "| design @ requested rate | achieved rate | downstream calls after the outage began | "
        "of which before OPEN | seconds to OPEN / first short-circuit |",
        "|---|---:|---:|---:|---:|",
    ]
    for row, found in report["outage"].items():
        seconds = found.get("seconds to OPEN (AWS-equivalent)")
        shown = (
            f"{seconds} (AWS-equivalent)"
            if seconds is not None
            else found.get("seconds to OPEN", found.get("seconds to first short-circuit"))
        )
        calls, before = found["downstream calls after outage began"], found.get("calls before OPEN", "—")
        if seconds is not None:  # the alarm's time ran TIME_SCALE times faster than the traffic's
            rate = float(row.rsplit("@ ", 1)[1].rstrip("/s"))
            calls = f"{calls} (≈ {round(rate * seconds):,} at AWS time)"
            before = f"{before} (≈ {round(rate * seconds):,})"
        lines.append(
            f"| {row} | {found['achieved rate']} | {calls} | {before} | "
            f"{shown if shown is not None else 'not within the window'} |"
        )
    lines += [
        "",
        "The seed design's calls were counted while its alarms ran 20× faster than the traffic; at AWS time "
        "the same outage lets the requested rate through for the whole AWS-equivalent time to OPEN, as shown.",
        "",
        "Where the achieved rate is below the requested one, the emulator (one Python process) was "
        "saturated: executions queue, and calls already in flight when the circuit trips still reach the "
        "downstream. Powertools is called directly (no state machine), so it reaches 100/s.",
        "",
    ]
    lines += throughput_markdown(report)
    lines += ["", "## Recovery", ""] + [f"- {k}: **{v}**" for k, v in report["recovery"].items()]
    lines += [
        "",
        "Through the healthcheck alarm both designs take one to two alarm periods plus the healthcheck's "
        "interval: the period in which the dependency recovered must end, and it may still hold failures.",
    ]
    lines += [
        "",
        f"Probes admitted with 100 concurrent callers past the open duration: **{report['probes_with_100_callers']}**.",
        "",
        "## Cold start and package size",
        "",
        f"Bare `import boto3`: {report['cold_start_ratio_to_boto3']['import boto3 (ms)']} ms (median of 7).",
        "",
        "| function | import (its init, boto3 and its client included) / import boto3 | zip bytes |",
        "|---|---:|---:|",
    ]
    for key, size in report["package_bytes"].items():
        lines.append(f"| {key} | {report['cold_start_ratio_to_boto3'][key]} | {size} |")
    lines += ["", "## Against the targets", ""] + [f"- {line}" for line in verdicts(report)]
    missed = why_missed(report)
    if missed:
        lines += ["", "### Why the missed targets are missed", ""] + [f"- {line}" for line in missed]
    return "\n".join(lines) + "\n"


def throughput_markdown(report: dict[str, Any]) -> list[str]:
    """The sandbox's ceiling: what the emulator sustains on this machine, and what it sustained before its changes."""
    lines = [
        "## The sandbox's ceiling",
        "",
        f"A healthy circuit (the module's defaults: EXPRESS) asked for each rate for {THROUGHPUT_SECONDS:g} s, after "
        "a second's warm-up; "
        "started: executions the traffic could start; reached: executions that reached the downstream in the window.",
        "",
        "| requested executions/s | started/s | reached the downstream/s |",
        "|---:|---:|---:|",
    ]
    for rate, found in report.get("throughput", {}).items():
        lines.append(f"| {rate.removesuffix('/s')} | {found['started/s']} | {found['downstream calls/s']} |")
    lines += ["", SANDBOX_CEILING_BEFORE, ""]
    return lines


def simulation_verdicts(sim: dict[str, Any]) -> list[tuple[bool, str, str]]:
    """(met?, verdict line, why it is missed) for the simulator's targets."""
    threshold = sim["assumptions"]["failure_threshold"]
    found = []
    replay = sim["replay"]
    found.append(
        (
            not replay["differences"],
            f"The simulator agrees with the sandbox call by call: "
            f"{replay['calls'] - len(replay['differences'])} of {replay['calls']} calls identical.",
            "The simulator routes or records differently from the real definition and handlers in moto; its "
            "other figures cannot be trusted until the differences listed above are explained.",
        )
    )

    def in_band(cell: dict[str, Any]) -> float:
        """Expected in-band trips per hour: extrapolated, or the measured rate when the count never got far."""
        extrapolated = cell["expected per hour"]["in band"]
        return extrapolated if extrapolated is not None else cell["in-band trips"] / (cell["minutes"] / 60)

    def expected(cell: dict[str, Any]) -> float:
        return in_band(cell) + cell["expected per hour"]["alarm"]

    def blame(cells: list[dict[str, Any]], limit: Callable[[dict[str, Any]], float]) -> str:
        """Which detector passes `limit` in which cells, and why it does."""
        alarm = [c for c in cells if c["expected per hour"]["alarm"] > limit(c)]
        band = [c for c in cells if in_band(c) > 2 * limit(c)]  # past the extrapolation's own noise
        reasons = []
        if band:
            reasons.append(
                "In band at "
                + ", ".join(f"{c['rate']:g}/s {_percent(c['background'])} ({_rate(in_band(c))} per hour)" for c in band)
                + ": the count runs higher than a strictly consecutive counter's. A failure's position in the "
                "count is when the outcome function writes it, a success's when the state machine reads the "
                "circuit after it; a failure written just after a success's read counts after that success, "
                "whichever completed first."
            )
        if alarm:
            reasons.append(
                "The downstream alarm at "
                + ", ".join(
                    f"{c['rate']:g}/s {_percent(c['background'])} ({_rate(c['expected per hour']['alarm'])} per hour)"
                    for c in alarm
                )
                + ": a minute's error rate at this background reaches the threshold that catches a 25 % outage "
                "within 3 minutes; see the trade-off table for the alternatives and why the default is the one "
                "it is."
            )
        return " ".join(reasons)

    quiet = [cell for cell in sim["cells"] if cell["background"] <= 0.05]
    found.append(
        (
            all(cell["trips"] == 0 and expected(cell) < NO_TRIPS_PER_HOUR for cell in quiet),
            "0 false trips per hour at ≤ 5 % background errors at "
            + ", ".join(sorted({f"{cell['rate']:g}" for cell in quiet}, key=float))
            + f" calls/s (none simulated, and fewer than {NO_TRIPS_PER_HOUR:g} expected per hour, in band + alarm): "
            + "; ".join(
                f"{cell['rate']:g}/s {_percent(cell['background'])}: {cell['trips']} in {cell['minutes'] / 60:.1f} h, "
                f"{_rate(expected(cell))} expected"
                for cell in quiet
            )
            + ".",
            blame(quiet, lambda cell: NO_TRIPS_PER_HOUR),
        )
    )

    noisy = [cell for cell in sim["cells"] if cell["background"] in (0.10, 0.20)]
    over = [cell for cell in noisy if expected(cell) > cell["expected per hour"]["reference"]]
    found.append(
        (
            not over,
            "At 10 % and 20 % no more trips than the strictly consecutive reference (expected per hour, "
            "module vs reference): "
            + "; ".join(
                f"{cell['rate']:g}/s {_percent(cell['background'])}: {_rate(expected(cell))} vs "
                f"{_rate(cell['expected per hour']['reference'])}"
                for cell in noisy
            )
            + ".",
            blame(over, lambda cell: cell["expected per hour"]["reference"]),
        )
    )

    total = [o for o in sim["outages"] if o["variant"] in TOTAL_OUTAGES]
    # A run with no trip of its own that failed fewer calls than failure_threshold began with the circuit already open
    # (a closed circuit fails every call of a total outage): the bound holds, and the earlier trip is the false trips'.
    already_open = [o for o in total if not o["tripped"] and o["failed calls"] < threshold]
    over = [
        o
        for o in total
        if (not o["tripped"] and o not in already_open) or (o["tripped"] and o["failed calls"] > o["bound"])
    ]
    worst: dict[float, tuple[int, int, int]] = {}
    for run in total:
        if run["tripped"] and (run["rate"] not in worst or run["failed calls"] - run["bound"] > worst[run["rate"]][2]):
            worst[run["rate"]] = (run["failed calls"], run["bound"], run["failed calls"] - run["bound"])
    found.append(
        (
            not over,
            f"A total outage fails at most failure_threshold ({threshold}) + the calls in flight when the first "
            f"failure came back and when the circuit opened, in every run ({len(total)} runs: "
            f"{', '.join(TOTAL_OUTAGES)}; reads up to {READ_LAG:g} s old where eventually consistent). Worst run "
            "per rate, failed vs bound: "
            + "; ".join(f"{rate:g}/s: {failed} vs {bound}" for rate, (failed, bound, _) in sorted(worst.items()))
            + "."
            + (
                f" {len(already_open)} run(s) began with the circuit already open from the background errors "
                f"(see the false trips at {', '.join(sorted({str(o['rate']) + '/s' for o in already_open}))}) and "
                f"failed only its probes: at most {max(o['failed calls'] for o in already_open)} calls."
                if already_open
                else ""
            ),
            f"{len(over)} run(s) failed more calls than the bound, or never tripped: a failure was lost or counted "
            "late.",
        )
    )
    after = sum(o.get("calls after the trip not short-circuited", 0) for o in total)
    found.append(
        (
            after == 0,
            f"0 calls admitted after OPEN reach the downstream in a total outage: {after} in {len(total)} runs.",
            "A call admitted after the trip read a circuit that was not yet open: a routing read lagged.",
        )
    )
    slow = [o for o in sim["outages"] if o["variant"] in {f"failures in {t:g} s" for t in SLOW_FAILURES}]
    late = [o for o in slow if not o["tripped"] or o["seconds to OPEN"] > float(o["variant"].split()[2]) + 2]
    found.append(
        (
            not late,
            "A total outage whose failures take T seconds opens within T + 2 s at ≥ 10 calls/s: "
            + "; ".join(
                f"T = {t:g} s at {rate}/s: slowest {max(o.get('seconds to OPEN', math.inf) for o in runs):g} s"
                for t in SLOW_FAILURES
                for rate in SLOW_RATES
                if (runs := [o for o in slow if o["variant"] == f"failures in {t:g} s" and o["rate"] == rate])
            )
            + ".",
            "Slow failures trip late: failures that complete after a count started are not all counted.",
        )
    )

    partial_slowest = {}
    for share in PARTIAL_OUTAGES.values():
        runs = [
            o for o in sim["outages"] if o["variant"] == "partial" and o["failure rate"] == share and o["rate"] >= 10
        ]
        partial_slowest[share] = max(
            (o["seconds to OPEN"] if o["tripped"] else math.inf for o in runs), default=math.inf
        )
    found.append(
        (
            all(partial_slowest[share] <= seconds for share, seconds in PARTIAL_TARGETS.items()),
            "Partial outages open in the worst phase at ≥ 10 calls/s within "
            + "; ".join(
                f"{seconds} s for {_percent(share)}: slowest {partial_slowest[share]:.1f} s"
                for share, seconds in PARTIAL_TARGETS.items()
            )
            + f" (every one of {PHASES} phases at each rate).",
            "A partial outage trips late in some phase: see the partial-outage table and the trade-off.",
        )
    )

    paths = sim["paths"]
    healthy = {label: path for label, path in paths.items() if label.startswith("healthy")}
    bad = [
        label
        for label, path in healthy.items()
        if path["eventual reads"] + path["strong reads"] > 2
        or path["writes"]
        or path["module invocations"]
        or len(path["states"]) > 5
    ]
    found.append(
        (
            not bad,
            "Healthy call: ≤ 2 reads, 0 writes, 0 module invocations, ≤ 5 states: "
            + "; ".join(
                f"{label}: {path['eventual reads'] + path['strong reads']} read(s), {path['writes']} writes, "
                f"{path['module invocations']} module invocations, {len(path['states'])} states"
                for label, path in healthy.items()
            )
            + ".",
            "Counting in completion order needs a read after every success (ReadAfterCall) and a Choice on it "
            "(Settle); a Choice cannot end an execution, so the caller's result leaves through one more state "
            "(ReturnDownstreamResult): 6 states. EXPRESS (the default) bills duration and requests, not states, so "
            "only STANDARD pays the sixth (see the cost table).",
        )
    )

    short = {label: path for label, path in paths.items() if label.startswith("short-circuited")}
    ok = all(path["invocations"] <= (0 if "forced" in label else 1) for label, path in short.items())
    found.append(
        (
            ok,
            "Short-circuited call: ≤ 1 invocation (0 when forced open): "
            + "; ".join(f"{label}: {path['invocations']}" for label, path in short.items())
            + ".",
            "See the cost table's short-circuited rows.",
        )
    )
    return found


def verdicts(report: dict[str, Any]) -> list[str]:
    out = [f"{'met' if ok else 'MISSED'}: {line}" for ok, line, _ in simulation_verdicts(report["simulation"])]
    healthy = report["paths"]["this module"]["healthy"]
    ok = healthy["invocations"] == 1 and healthy["reads"] <= 2 and healthy["writes"] == 0 and healthy["states"] <= 5
    out.append(
        f"{'met' if ok else 'MISSED'}: Sandbox, healthy call on a circuit with no record: 1 invocation, ≤ 2 "
        f"reads, 0 writes, ≤ 5 states ({healthy['invocations']}, {healthy['reads']}, {healthy['writes']}, "
        f"{healthy['states']})."
    )
    out.append(
        f"{'met' if report['probes_with_100_callers'] == 1 else 'MISSED'}: 1 probe with 100 callers "
        f"({report['probes_with_100_callers']})."
    )
    if "throughput" in report:
        reached = {rate: found["downstream calls/s"] for rate, found in report["throughput"].items()}
        ok = max(reached.values()) >= SANDBOX_CEILING_TARGET
        out.append(
            f"{'met' if ok else 'MISSED'}: The sandbox sustains ≥ {SANDBOX_CEILING_TARGET} executions/s "
            f"on this machine (reached the downstream per second, by rate asked: {reached})."
        )
    ratios = {k: v for k, v in report["cold_start_ratio_to_boto3"].items() if k in report["package_bytes"]}
    out.append(
        f"{'met' if max(ratios.values()) <= 1.2 else 'MISSED'}: A handler's init ≤ 1.2× a bare `import boto3` "
        f"({ratios}): the init imports boto3 and Powertools and creates the DynamoDB client every invocation reuses."
    )
    return out


def why_missed(report: dict[str, Any]) -> list[str]:
    """The mechanism behind each target the simulator finds missed."""
    return [f"{line.split(':')[0]}: {why}" for ok, line, why in simulation_verdicts(report["simulation"]) if not ok]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="circuit-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--from-json", type=Path, metavar="PATH", help="render an earlier run's figures instead")
    parser.add_argument("--json", type=Path, dest="json_path", metavar="PATH", help="write the figures as JSON")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=ROOT / "docs" / "benchmarks.md",
        help="where to write the report (default docs/benchmarks.md)",
    )
    args = parser.parse_args(argv)
    report = json.loads(args.from_json.read_text()) if args.from_json else run()
    text = markdown(report)
    print(text)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text)
    print(f"Written: {args.markdown}")
    if args.json_path:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        args.json_path.write_text(json.dumps(report, indent=2))
        print(f"Figures: {args.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
