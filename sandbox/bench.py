"""`circuit-bench`: cost per call, time to trip and to recover, cold start, beside the seed's design.

Everything runs in the sandbox (moto on loopback, handlers in worker processes). DynamoDB
reads and writes are counted at the emulator (sandbox.emulator.OPERATIONS), Lambda
invocations by the runner, states from execution histories. CloudWatch periods and the
healthcheck schedule run TIME_SCALE times faster than on AWS; rows that depend on them give
AWS-equivalent seconds (sandbox seconds × TIME_SCALE) and say so.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .emulator import OPERATIONS
from .runner import FunctionSpec
from .scenario import Emulator, Traffic, emulator, wait_for
from .stack import EXAMPLE_FUNCTIONS, LAMBDAS, MODULE_FUNCTIONS, AlarmConfig, ModuleConfig, Stack

ROOT = LAMBDAS.parent
TIME_SCALE = 20  # 60 s CloudWatch periods and a 1-minute healthcheck become 3 s
PERIOD = 60 // TIME_SCALE
NO_ALARM = AlarmConfig(enabled=False)
RATES = (1, 10, 100)
_names = iter(range(1_000_000))


def seed_design(**overrides) -> ModuleConfig:
    """The original article's design: alarm-only trip (Errors Sum > 1, 3 of 3 periods), healthcheck-only close."""
    values = dict(name=f"seed{next(_names)}", failure_threshold=1_000_000,
                  open_duration_seconds=86_400, max_open_duration_seconds=86_400,
                  downstream_alarm=AlarmConfig(period=PERIOD, evaluation_periods=3, datapoints_to_alarm=3,
                                               threshold=1, comparison_operator="GreaterThanThreshold"),
                  healthcheck_alarm=AlarmConfig(period=PERIOD),
                  healthcheck_schedule_expression=f"rate({PERIOD} seconds)")
    return ModuleConfig(**(values | overrides))


def module_design(**overrides) -> ModuleConfig:
    """This module's defaults, with the CloudWatch periods and the schedule on the sandbox's time scale."""
    values = dict(name=f"mod{next(_names)}",
                  downstream_alarm=AlarmConfig(period=PERIOD, evaluation_periods=3, datapoints_to_alarm=3,
                                               comparison_operator="GreaterThanThreshold"),
                  healthcheck_alarm=AlarmConfig(period=PERIOD, treat_missing_data="ignore"),
                  healthcheck_schedule_expression=f"rate({PERIOD} seconds)")
    return ModuleConfig(**(values | overrides))


# ---------------------------------------------------------------------------- counting


class Meter:
    """DynamoDB operations and Lambda invocations of one stack between two points."""

    def __init__(self, emu: Emulator, stack: Stack, functions: tuple[str, ...] = ("check_circuit", "record_outcome",
                                                                                   "downstream", "fallback")) -> None:
        self.emu, self.stack = emu, stack
        self.names = {stack.config.function_name(key) for key in functions}

    def snapshot(self) -> tuple[int, int, int]:
        table = self.stack.config.table_name
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
    return {key: round(value / calls, 2) for key, value in zip(("reads", "writes", "invocations", "states"), totals)}


# ---------------------------------------------------------------------------- measurements


def paths(emu: Emulator, design, label: str) -> dict[str, dict[str, float]]:
    """Per path, with the state read on every call (no cache): what one call costs."""
    found = {}
    healthy = emu.provision(design(failure_threshold=1_000_000, downstream_alarm=NO_ALARM,
                                   healthcheck_alarm=NO_ALARM))
    found["healthy"] = per_call(emu, healthy, 10)
    if label == "this module":  # the seed counts nothing in band: its failing call is its healthy path, failing
        healthy.set_health(False)
        found["failing (not yet tripped)"] = per_call(emu, healthy, 10)
    healthy.publish_alarm("healthcheck", "ALARM", "2031-01-01T00:00:00.000+0000")  # OPEN until it is OK
    found["short-circuited"] = per_call(emu, healthy, 10)
    if label == "this module":
        probing = emu.provision(design(failure_threshold=1, open_duration_seconds=1,
                                       max_open_duration_seconds=1, downstream_alarm=NO_ALARM,
                                       healthcheck_alarm=NO_ALARM))

        def trip_and_wait() -> None:
            probing.set_health(False)
            probing.call()
            probing.set_health(True)
            time.sleep(1.05)

        found["probe (succeeds)"] = per_call(emu, probing, 5, before_each=trip_and_wait)
    return found


def steady_state(emu: Emulator, seconds: float = 8, rate: float = 10) -> dict[str, float]:
    """Healthy traffic with the default state cache: reads per environment per cache period."""
    stack = emu.provision(module_design(downstream_alarm=NO_ALARM, healthcheck_alarm=NO_ALARM))
    meter = Meter(emu, stack)
    start = meter.snapshot()
    with Traffic(stack, rate) as traffic:
        time.sleep(seconds)
    time.sleep(0.5)
    reads, writes, _ = (b - a for a, b in zip(start, meter.snapshot()))
    environments = emu.runner.environment_count(stack.config.function_name("check_circuit"))
    periods = seconds / stack.config.state_cache_seconds
    return {"calls": traffic.started, "reads": reads, "writes": writes, "check environments": environments,
            "reads per environment per cache period": round(reads / environments / periods, 2),
            "reads per call": round(reads / max(1, traffic.started), 3)}


def outage_module(emu: Emulator, config: ModuleConfig, rate: float, window: float) -> dict[str, Any]:
    stack = emu.provision(config)
    downstream = stack.config.function_name("downstream")
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
    return {"downstream calls after outage began": len(after),
            "calls before OPEN": len([i for i in after if i.started_at <= opened_at]),
            "seconds to OPEN": round(opened_at - began, 2) if opened else None, "calls": calls,
            "achieved rate": round(calls / (time.time() - began - 0.5), 1)}


def powertools_function(emu: Emulator, environments: int) -> tuple[str, str]:
    """Register the peer: the example downstream behind Powertools' @circuit_breaker, on its own table."""
    import boto3

    name = f"pt{next(_names)}"
    table = f"{name}-circuits"
    boto3.client("dynamodb").create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    health = f"/{name}/dependency-health"
    boto3.client("ssm").put_parameter(Name=health, Value="healthy", Type="String", Overwrite=True)
    environment = {"TABLE_NAME": table, "CIRCUIT_NAME": name, "EXAMPLE_FUNCTIONS": str(EXAMPLE_FUNCTIONS),
                   "HEALTH_PARAMETER": health, "HEALTH_CACHE_SECONDS": "0", "FAILURE_THRESHOLD": "5",
                   "RECOVERY_TIMEOUT": "30"}
    spec = FunctionSpec(f"{name}-downstream", "powertools_downstream.lambda_handler", ROOT / "sandbox" / "peer",
                        environment, spread=True)
    emu.runner.register(spec)
    emu.runner.warm(spec.name, environments)
    return spec.name, health


def outage_powertools(emu: Emulator, environments: int, rate: float, window: float) -> dict[str, Any]:
    import boto3

    function, health = powertools_function(emu, environments)
    ssm = boto3.client("ssm")
    pool = ThreadPoolExecutor(max_workers=16)
    results: list[tuple[float, Any]] = []

    def call() -> None:
        results.append((time.time(), emu.runner.invoke(function, {"request": 1})))

    interval, began = 1 / rate, time.time()
    ssm.put_parameter(Name=health, Value="failing", Type="String", Overwrite=True)
    next_at, calls = time.monotonic(), 0
    while time.time() - began < window:
        pool.submit(call)
        calls += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    pool.shutdown(wait=True)
    failed = [at for at, result in results if result.error_type]
    short = [at for at, result in results if not result.error_type and result.response().get("short_circuited")]
    return {"downstream calls after outage began": len(failed), "calls": calls,
            "seconds to first short-circuit": round(min(short) - began, 2) if short else None,
            "achieved rate": round(calls / window, 1)}


def healthcheck_recovery(emu: Emulator, design, in_band_trip: bool) -> float | None:
    """Sandbox seconds from the dependency's recovery to CLOSED, when only the healthcheck alarm can tell."""
    stack = emu.provision(design(failure_threshold=1 if in_band_trip else 1_000_000, downstream_alarm=NO_ALARM,
                                 ))
    stack.set_health(False)
    if in_band_trip:
        stack.call()
    wait_for(lambda: stack.item().get("healthcheck_alarm") == "ALARM", 6 * PERIOD)
    wait_for(lambda: stack.item().get("state") == "OPEN", 6 * PERIOD)
    recovered = time.time()
    stack.set_health(True)
    closed = wait_for(lambda: stack.item().get("state") == "CLOSED", 6 * PERIOD, step=0.05)
    return time.time() - recovered if closed else None


def recovery(emu: Emulator, samples: int = 3) -> dict[str, Any]:
    """Seconds from the dependency's recovery to CLOSED, with and without a healthcheck signal (median of samples).

    Both designs' samples run side by side, started a third of a period apart, so that where a
    recovery falls within an alarm period (which decides whether one or two periods pass) is
    spread the same way for both.
    """
    found: dict[str, Any] = {}
    designs = (("this module", module_design, True), ("seed design", seed_design, False))
    tasks = [(label, design, in_band, k) for label, design, in_band in designs for k in range(samples)]

    def sample(task) -> tuple[str, float | None]:
        label, design, in_band, k = task
        time.sleep(k * PERIOD / samples)
        return label, healthcheck_recovery(emu, design, in_band)

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        results = list(pool.map(sample, tasks))
    for label, _, _ in designs:
        measured = [seconds for name, seconds in results if name == label and seconds is not None]
        found[f"{label}: healthcheck recovery → CLOSED (AWS-equivalent s, median of {samples})"] = (
            round(statistics.median(measured) * TIME_SCALE) if measured else "never")
    # Without any healthcheck signal: the downstream alone recovers.
    open_duration = 3
    stack = emu.provision(module_design(failure_threshold=1, open_duration_seconds=open_duration,
                                        downstream_alarm=NO_ALARM, healthcheck_alarm=NO_ALARM))
    stack.set_health(False)
    stack.call()
    stack.set_health(True)
    recovered = time.time()
    with Traffic(stack, 10):
        closed = wait_for(lambda: stack.item().get("state") == "CLOSED", open_duration + 5, step=0.05)
    found[f"this module: downstream recovery, no healthcheck → CLOSED (s, open_duration_seconds = {open_duration})"] = (
        round(time.time() - recovered, 2) if closed else "never")
    found["seed design: downstream recovery, no healthcheck → CLOSED"] = "never (closes only on a healthcheck OK)"
    return found


def probes(emu: Emulator, callers: int = 100) -> int:
    stack = emu.provision(module_design(failure_threshold=1, open_duration_seconds=1,
                                        downstream_alarm=NO_ALARM, healthcheck_alarm=NO_ALARM, example_slow_seconds=5))
    stack.set_health(False)
    stack.call()
    stack.set_health("slow")
    time.sleep(1.1)
    since = len(emu.runner.invocations)
    with ThreadPoolExecutor(max_workers=25) as pool:
        arns = list(pool.map(lambda _: stack.start(), range(callers)))
    for arn in arns:
        stack.wait(arn, timeout=120)
    name = stack.config.function_name("check_circuit")
    return sum(i.response().get("probe", False) for i in emu.runner.invocations[since:] if i.function == name)


def cold_start(runs: int = 7) -> dict[str, Any]:
    """Import time of each handler over a bare `import boto3`, in fresh interpreters (median of `runs`)."""
    environment = {**os.environ, **ModuleConfig(name="bench").lambda_environment(), "PYTHONPATH": str(LAMBDAS),
                   "AWS_DEFAULT_REGION": "us-east-1"}
    code = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"

    def median(module: str) -> float:
        samples = [float(subprocess.run([sys.executable, "-c", code.format(module)], env=environment, check=True,
                                        capture_output=True, text=True).stdout) for _ in range(runs)]
        return statistics.median(samples)

    boto3_seconds = median("boto3")
    found: dict[str, Any] = {"import boto3 (ms)": round(boto3_seconds * 1000, 1)}
    for key, handler in MODULE_FUNCTIONS.items():
        module = handler.rpartition(".")[0]
        found[key] = round(median(module) / boto3_seconds, 2)
        # The handlers import boto3 on their first call (the store's client is made lazily).
        found[f"{key} + boto3"] = round(median(f"{module}, boto3") / boto3_seconds, 2)
    return found


def package_sizes() -> dict[str, int]:
    """Bytes of each function's zip, built as lambda.tf's archive_file builds it."""
    sizes = {}
    for key in MODULE_FUNCTIONS:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for folder in ("circuit", key):
                for path in sorted((LAMBDAS / folder).glob("*.py")):
                    archive.write(path, f"{folder}/{path.name}")
        sizes[key] = len(buffer.getvalue())
    return sizes


# ---------------------------------------------------------------------------- report


def run() -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {"date": datetime.date.today().isoformat(),
                              "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
                                         f"Python {platform.python_version()}",
                              "time_scale": TIME_SCALE}
    with emulator(max_environments=10, alarm_interval=0.25) as emu:
        report["paths"] = {"this module": paths(emu, module_design, "this module"),
                           "seed design": paths(emu, seed_design, "seed design")}
        report["steady_state"] = steady_state(emu)
        report["outage"] = {}
        for rate in RATES:
            report["outage"][f"this module @ {rate}/s"] = outage_module(
                emu, module_design(downstream_alarm=NO_ALARM, healthcheck_alarm=NO_ALARM), rate, window=8)
            seed = outage_module(emu, seed_design(healthcheck_alarm=NO_ALARM), rate, window=8 * PERIOD)
            if seed["seconds to OPEN"] is not None:
                seed["seconds to OPEN (AWS-equivalent)"] = round(seed["seconds to OPEN"] * TIME_SCALE)
            report["outage"][f"seed design @ {rate}/s"] = seed
            for environments in (1, 10):
                report["outage"][f"Powertools, {environments} env @ {rate}/s"] = outage_powertools(
                    emu, environments, rate, window=8)
        report["recovery"] = recovery(emu)
        report["probes_with_100_callers"] = probes(emu)
    report["cold_start_ratio_to_boto3"] = cold_start()
    report["package_bytes"] = package_sizes()
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Benchmarks", "", f"Measured {report['date']} on {report['machine']}, by `make bench` "
             f"(the sandbox: moto on loopback, handlers in worker processes). CloudWatch periods and the "
             f"healthcheck schedule run {report['time_scale']}× faster than on AWS (60 s → {PERIOD} s); "
             f"figures that depend on them are scaled back and marked AWS-equivalent. Took {report['seconds']} s.", ""]
    lines += ["## Cost per call (state read on every call)", "",
              "The seed design's rows are this module configured as the seed (no cache, alarm-only trip); its "
              "published facts agree: a healthy call enters 3 states and makes 2 Lambda invocations.", "",
              "| design | path | DynamoDB reads | writes | Lambda invocations | states entered |",
              "|---|---|---:|---:|---:|---:|"]
    for design, found in report["paths"].items():
        for path, figures in found.items():
            lines.append(f"| {design} | {path} | {figures['reads']} | {figures['writes']} | "
                         f"{figures['invocations']} | {figures['states']} |")
    steady = report["steady_state"]
    lines += ["", "## Steady state, healthy, default `state_cache_seconds = 2`", "",
              f"{steady['calls']} calls at 10/s over 8 s: {steady['reads']} reads, {steady['writes']} writes, "
              f"{steady['check environments']} state-check environments → **{steady['reads per environment per cache period']}"
              f" reads per environment per cache period** ({steady['reads per call']} per call).", ""]
    lines += ["## Total outage", "",
              "| design @ requested rate | achieved rate | downstream calls after the outage began | "
              "of which before OPEN | seconds to OPEN / first short-circuit |", "|---|---:|---:|---:|---:|"]
    for row, found in report["outage"].items():
        seconds = found.get("seconds to OPEN (AWS-equivalent)")
        shown = (f"{seconds} (AWS-equivalent)" if seconds is not None else
                 found.get("seconds to OPEN", found.get("seconds to first short-circuit")))
        calls, before = found["downstream calls after outage began"], found.get("calls before OPEN", "—")
        if seconds is not None:  # the alarm's time ran TIME_SCALE times faster than the traffic's
            rate = float(row.rsplit("@ ", 1)[1].rstrip("/s"))
            calls = f"{calls} (≈ {round(rate * seconds):,} at AWS time)"
            before = f"{before} (≈ {round(rate * seconds):,})"
        lines.append(f"| {row} | {found['achieved rate']} | {calls} | {before} | "
                     f"{shown if shown is not None else 'not within the window'} |")
    lines += ["", "The seed design's calls were counted while its alarms ran 20× faster than the traffic; at AWS time "
              "the same outage lets the requested rate through for the whole AWS-equivalent time to OPEN, as shown.",
              "", "Where the achieved rate is below the requested one, the emulator (one Python process) was "
              "saturated: executions queue, and calls already in flight when the circuit trips still reach the "
              "downstream. Powertools is called directly (no state machine), so it reaches 100/s.", ""]
    lines += ["", "## Recovery", ""] + [f"- {k}: **{v}**" for k, v in report["recovery"].items()]
    lines += ["", "Through the healthcheck alarm both designs take one to two alarm periods plus the healthcheck's "
              "interval: the period in which the dependency recovered must end, and it may still hold failures."]
    lines += ["", f"Probes admitted with 100 concurrent callers past the open duration: "
              f"**{report['probes_with_100_callers']}**.", "", "## Cold start and package size", "",
              f"Bare `import boto3`: {report['cold_start_ratio_to_boto3']['import boto3 (ms)']} ms (median of 7).", "",
              "| function | import / import boto3 | with boto3 (what the first call loads) / import boto3 | zip bytes |",
              "|---|---:|---:|---:|"]
    for key, size in report["package_bytes"].items():
        ratios = report["cold_start_ratio_to_boto3"]
        lines.append(f"| {key} | {ratios[key]} | {ratios.get(f'{key} + boto3', '—')} | {size} |")
    lines += ["", "## Against the targets", ""] + [f"- {line}" for line in verdicts(report)]
    return "\n".join(lines) + "\n"


def verdicts(report: dict[str, Any]) -> list[str]:
    out = []
    module = {k: v for k, v in report["outage"].items() if k.startswith("this module")}
    before = {k.split("@ ")[1]: v["calls before OPEN"] for k, v in module.items()}
    ok = all(v == 5 for v in before.values())
    out.append(f"Downstream calls before OPEN = failure_threshold (5) at every rate: {'met' if ok else 'MISSED'} "
               f"({', '.join(f'{k}: {v}' for k, v in before.items())}); calls admitted afterwards "
               f"from cached CLOSED state are in the previous column.")
    healthy = report["paths"]["this module"]["healthy"]
    out.append(f"0 writes on a healthy call: {'met' if healthy['writes'] == 0 else 'MISSED'} ({healthy['writes']}).")
    per_period = report["steady_state"]["reads per environment per cache period"]
    out.append(f"At most 1 read per environment per cache period: {'met' if per_period <= 1 else 'MISSED'} ({per_period}).")
    out.append(f"1 probe with 100 callers: {'met' if report['probes_with_100_callers'] == 1 else 'MISSED'} "
               f"({report['probes_with_100_callers']}).")
    states = {p: report["paths"]["this module"][p]["states"] for p in ("healthy", "short-circuited")}
    out.append(f"Healthy and short-circuited paths enter ≤ 3 states: {'met' if max(states.values()) <= 3 else 'MISSED'} "
               f"({states}).")
    ratios = {k: v for k, v in report["cold_start_ratio_to_boto3"].items() if k in report["package_bytes"]}
    out.append(f"Handler import ≤ 1.2× bare boto3: {'met' if max(ratios.values()) <= 1.2 else 'MISSED'} ({ratios}).")
    first_call = {k: v for k, v in report["cold_start_ratio_to_boto3"].items() if k.endswith(" + boto3")}
    if first_call:
        out.append(f"The same, counting the boto3 import the first call makes: "
                   f"{'met' if max(first_call.values()) <= 1.2 else 'MISSED'} ({first_call}): Powertools' "
                   f"logger and metrics add about a quarter of boto3's import time.")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="circuit-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--from-json", type=Path, metavar="PATH", help="render an earlier run's figures instead")
    parser.add_argument("--json", type=Path, dest="json_path", metavar="PATH", help="write the figures as JSON")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "benchmarks.md",
                        help="where to write the report (default docs/benchmarks.md)")
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
