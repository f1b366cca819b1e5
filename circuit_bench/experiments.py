"""The simulator's experiments: its check against the sandbox, background errors, total, slow and partial
outages, the alarm's trade-off and the cost per call, on the definition and settings Terraform applied.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from . import alarm_odds, costs, discrimination, simulation
from .simulation import Deployment, alarm_period
from .units import percent

# The simulator's figures: background errors per rate, and outages (failure rate from their start).
SIMULATED_RATES = (1, 10, 100, 1000)
BACKGROUND_ERRORS = (0.01, 0.05, 0.10, 0.20)
CELL_MINUTES = 10  # at least, and at least CELL_CALLS calls: trips are rare, and 10 minutes at 10/s are 6,000 calls
CELL_CALLS = 200_000
OUTAGE_RATES = (1, 10, 100, 1000)
PARTIAL_OUTAGES = {"50 %": 0.5, "25 %": 0.25}
PHASES = 12  # partial outages start at each twelfth of the alarm period, one seeded run each
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
SLOW_RUNS = 5
SIMULATION_WORKERS = 2


def slow_variant(seconds: float) -> str:
    """The name of the slow-failure outage whose failures take `seconds`, as its runs are labelled."""
    return f"failures in {seconds:g} s"


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
            slow_variant(seconds),
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
    found["circuit ceiling"] = circuit_ceiling(found["paths"], found["cells"])
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
                    f"{percent(b)} at {rate:g}/s": alarm_odds.alarm_trips_per_hour(candidate, rate, b)
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
        f"{percent(b)} at {rate:g}/s": alarm_odds.reference_trips_per_hour(rate, b, threshold)
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


def circuit_ceiling(paths: dict[str, dict[str, Any]], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Calls a second one circuit carries: on the healthy path (background None), then at each background
    error share at the fastest simulated rate, where successes completing together write the most resets."""
    rows = [{"rate": None, "background": None, **costs.item_ceiling(paths["healthy"])}]
    fastest = max(cell["rate"] for cell in cells)
    rows += [
        {"rate": fastest, "background": cell["background"], **costs.item_ceiling(blended(cell["path totals"]))}
        for cell in cells
        if cell["rate"] == fastest
    ]
    return rows


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
