"""What only the sandbox can show: cost per call through the real definition, outages of the seed design and of
Powertools, recovery through the alarms, probes under 100 callers, the emulator's ceiling, cold start, package
sizes. DynamoDB operations are counted at the emulator (circuit_sandbox.aws.server.OPERATIONS), Lambda
invocations by the runner, states from execution histories.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from circuit_sandbox.aws import Emulator
from circuit_sandbox.aws.runner import FunctionSpec
from circuit_sandbox.aws.server import OPERATIONS
from circuit_sandbox.scenario import Traffic, wait_for
from circuit_sandbox.stack import Stack
from circuit_sandbox.terraform import ROOT

from .designs import PERIOD_SECONDS, RECOVERY_SAMPLES, TIME_SCALE

RECOVERY_GRACE_SECONDS = 30  # past the open duration, for the probe's round trip on a busy machine
# The functions circuit_sandbox/instances puts around each instance; lambda_function_names' others are the module's.
EXAMPLE_KEYS = ("downstream", "healthcheck", "fallback")
_names = iter(range(1_000_000))
# Requested executions/s for the sandbox's own ceiling, each for THROUGHPUT_SECONDS.
THROUGHPUT_RATES = (10, 25, 100)
THROUGHPUT_SECONDS = 10
COLD_START_RUNS = 7  # rounds of fresh interpreters, each importing boto3 then every handler


def module_functions(stack: Stack) -> dict[str, str]:
    """The module's own functions of an instance (key -> name), as its outputs list them."""
    return {key: name for key, name in stack.function_names.items() if key not in EXAMPLE_KEYS}


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


def cold_start(functions: dict[str, FunctionSpec], runs: int = COLD_START_RUNS) -> dict[str, Any]:
    """Import time of each deployed handler over a bare `import boto3`, in fresh interpreters.

    Each imports its handler module from its own deployed package, with its deployed environment.
    Each round imports boto3, then every handler, each in a fresh interpreter; a handler's ratio is the
    median over the rounds of its import over the same round's `import boto3`, so a machine that slows
    down for a while slows both sides of a ratio instead of one. Files are in the page cache after the
    first round either way.
    """
    code = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"

    def seconds(module: str, spec: FunctionSpec | None = None) -> float:
        environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
        if spec is not None:
            environment |= {**spec.environment, "PYTHONPATH": str(spec.code_dir)}
        done = subprocess.run(
            [sys.executable, "-c", code.format(module)], env=environment, check=True, capture_output=True, text=True
        )
        return float(done.stdout)

    boto3_samples: list[float] = []
    ratios: dict[str, list[float]] = {key: [] for key in functions}
    for _ in range(runs):
        boto3_samples.append(seconds("boto3"))
        for key, spec in functions.items():
            # A handler's import is its init: settings, Powertools, and the DynamoDB client (so boto3) it keeps.
            ratios[key].append(seconds(spec.handler.rpartition(".")[0], spec) / boto3_samples[-1])
    found: dict[str, Any] = {"import boto3 (ms)": round(statistics.median(boto3_samples) * 1000, 1)}
    found |= {key: round(statistics.median(samples), 2) for key, samples in ratios.items()}
    return found


def package_sizes(stack: Stack) -> dict[str, int]:
    """Bytes of each of the module's deployed zips (GetFunction's CodeSize): what lambda.tf's archive_file built."""
    return {
        key: int(stack.lambda_client.get_function(FunctionName=name)["Configuration"]["CodeSize"])
        for key, name in module_functions(stack).items()
    }
