"""The report: docs/benchmarks.md, rendered from one run's figures (or an earlier run's JSON) and the targets."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from typing import Any

from circuit_breaker.breaker import TRIP_SETTLE_SECONDS

from . import discrimination, promises, provenance
from .designs import PERIOD_SECONDS
from .experiments import (
    CELL_CALLS,
    CELL_MINUTES,
    OUTAGE_RATES,
    PARTIAL_OUTAGES,
    PHASES,
    READ_LAG,
    SLOW_FAILURES,
    SLOW_RATES,
    SLOW_RUNS,
    TOTAL_OUTAGE_RUNS,
    TOTAL_OUTAGES,
    blended,
    slow_variant,
)
from .measurements import COLD_START_RUNS, THROUGHPUT_SECONDS
from .targets import PARTIAL_TARGETS, SLOW_MARGIN_SECONDS, Target, began_open, evaluate, partial_runs
from .units import duration, hourly, money, percent

# What the same measurement gave before the emulator cached its JSONPaths and DynamoDB clients
# (circuit_sandbox/aws/server.py), on this machine; kept as the comparison, not measured again.
SANDBOX_CEILING_BEFORE = (
    "Before the emulator parsed each JSONPath once and kept one client per service (commit 78463d1, the same "
    "measurement on the same machine): 10.0, 16.0 and 16.4 executions/s reached the downstream at 10, 25 "
    "and 100 asked. A profile at saturation found the emulator's process bound to one core by the GIL, a "
    "third of its CPU parsing JSONPaths (jsonpath_ng builds its lexer and parser tables for every parse) "
    "and, once that was cached, half of it building a boto3 client for every DynamoDB task."
)


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
    lines += promises.markdown(report)
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
        f"Bare `import boto3`: {report['cold_start_ratio_to_boto3']['import boto3 (ms)']} ms (median of "
        f"{COLD_START_RUNS}). Each handler's ratio is the median over {COLD_START_RUNS} rounds of fresh interpreters, "
        "each round importing boto3 and then every handler, of its import over that round's `import boto3`.",
        "",
        "| function | import (its init, boto3 and its client included) / import boto3 | zip bytes |",
        "|---|---:|---:|",
    ]
    for key, size in report["package_bytes"].items():
        lines.append(f"| {key} | {report['cold_start_ratio_to_boto3'][key]} | {size} |")
    lines += ["", *targets_markdown(evaluate(report))]
    return "\n".join(lines) + "\n"


def targets_markdown(targets: list[Target]) -> list[str]:
    """Every target in one table, then each missed one with the mechanism that misses it."""
    lines = ["## Against the targets", "", "| target | bound | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {t.name} | {t.bound} | {t.figure} | **{t.verdict}** |" for t in targets]
    missed = [t for t in targets if not t.met]
    if missed:
        lines += ["", "### Why the missed targets are missed", ""] + [f"- {t.name}: {t.why}" for t in missed]
    return lines


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
            f"| {cell['rate']:g} | {percent(cell['background'])} | {cell['minutes'] / 60:.2f} | "
            f"{cell['calls']:,} | {cell['trips']} "
            f"({cell['in-band trips']} + {cell['alarm trips']}) | {cell['trips per hour']:g} | "
            f"{cell['reference trips per hour']:g} | {hourly(expected['in band'])}, {hourly(expected['alarm'])}, "
            f"{hourly(expected['reference'])} | {percent(round(cell['short-circuited share'], 4))} | "
            f"{cell['downstream concurrency']:g} | {cell['module invocations per call']:.3f} | "
            f"{blended(cell['path totals'])['writes']:.3f} | "
            f"{money(cost['EXPRESS'])} | {money(cost['STANDARD'])} |"
        )
    checked = [cell for cell in sim["cells"] if cell["alarm trips"] >= 10]
    if checked:
        lines += [
            "",
            "The alarm's tail, checked against the simulator where its trips are many enough to count (the "
            "simulator evaluates the alarm Terraform created on the simulated metrics): "
            + "; ".join(
                f"{cell['rate']:g}/s {percent(cell['background'])}: {cell['alarm trips']} alarm trips in "
                f"{cell['minutes'] / 60:.1f} h, {cell['alarm trips'] / (cell['minutes'] / 60):.2g} per hour measured, "
                f"{hourly(cell['expected per hour']['alarm'])} expected"
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
            f"{money(row['EXPRESS'])} | {money(row['STANDARD'])} |"
        )
    lines.append("")
    lines += ceiling_markdown(sim)
    return lines


def ceiling_markdown(sim: dict[str, Any]) -> list[str]:
    """Calls a second one circuit carries: its one item's share of a partition's read and write units."""
    limits = sim["prices"]["one partition's read and write units a second"]
    lines = [
        "## One circuit's ceiling",
        "",
        f"Every call of a circuit reads, and some write, the circuit's one item, and DynamoDB serves one partition "
        f"at most {limits[0]:,} read units and {limits[1]:,} write units a second ([source]"
        f"({sim['prices']['partition limits source']})), on demand or provisioned; an item is never split, so "
        "those are the circuit's. Calls a second one circuit carries, at the units per call the simulator "
        "counted: on the healthy path, then over every call of the background-error cells at the fastest "
        "rate (failures write, and successes completing together while failures are pending write their "
        "resets). Writes per call grow with the rate, so where the writes bind the figure is an upper bound. "
        "Past it, DynamoDB throttles the reads (`ReadCircuit` retries them, then `on_store_error` routes the "
        "call) and the writes: spread the traffic over several circuits.",
        "",
        "| calls | read units per call | write units per call | calls/s by reads | calls/s by writes | calls/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in sim["circuit ceiling"]:
        calls = "healthy"
        if row["background"] is not None:
            calls = f"{percent(row['background'])} failing, at {row['rate']:,}/s"
        kinds = ("calls/s by reads", "calls/s by writes", "calls/s")
        by = ["—" if row[kind] is None else f"{row[kind]:,.0f}" for kind in kinds]
        lines.append(
            f"| {calls} | {row['read units per call']:.2f} | {row['write units per call']:.3f} | "
            f"{by[0]} | {by[1]} | **{by[2]}** |"
        )
    lines.append("")
    return lines


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
            f"{duration(worst['0.5 at 1/s'])}, {duration(worst['0.5 at 10/s'])} | "
            f"{duration(worst['0.25 at 1/s'])}, {duration(worst['0.25 at 10/s'])} | "
            f"{percent(round(row['25 % outage: a full period missed at 10/s'], 4))} | "
            + " | ".join(hourly(row["false trips per hour"][key]) for key in keys)
            + " |"
        )
    lines.append(
        "| reference (strictly consecutive, failure_threshold) | — | — | — | "
        + " | ".join(hourly(sim["reference per hour"][key]) for key in keys)
        + " |"
    )
    default = next((row for row in rows if row["default"]), None)
    previous = next((row for row in rows if row["alarm"].startswith(">= 25 % in 2 of 2")), None)
    if default is not None and previous is not None:

        def noisy(row: dict[str, Any]) -> str:
            trips = row["false trips per hour"]
            return f"{hourly(trips['20 % at 1/s'])} per hour at 1 call/s and {hourly(trips['20 % at 10/s'])} at 10"

        lines += [
            "",
            "The default is the fastest of these that keeps 5 % background errors below one false trip in 1,000 "
            "hours at 1 call/s: in the worst phase a 50 % outage opens within "
            f"{duration(default['worst phase']['0.5 at 10/s'])} s and a 25 % one within "
            f"{duration(default['worst phase']['0.25 at 10/s'])} s from 10 calls/s. The price is paid by a service "
            f"that runs with 20 % of its calls failing: {noisy(default)} calls/s. The previous default "
            f"({previous['alarm']}) trips such a service {noisy(previous)} calls/s, but takes "
            f"{duration(previous['worst phase']['0.5 at 10/s'])} s for a 50 % outage and "
            f"{duration(previous['worst phase']['0.25 at 10/s'])} s for a 25 % one. A service that fails that "
            "often sets its own threshold, e.g. `downstream_alarm = { threshold = 35 }`.",
            "",
        ]
    return lines


def _within_the_bound(sim: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """How many of `runs` kept the bound: tripped within it, or began with the circuit already open."""
    already_open = len(began_open(sim, runs))
    within = sum(o["tripped"] and o["failed calls"] <= o["bound"] for o in runs) + already_open
    return f"{within} of {len(runs)}" + (f" ({already_open} already open)" if already_open else "")


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
            within_text = _within_the_bound(sim, runs)
            if not tripped:
                lines.append(f"| {rate} | {variant} | — | {within_text} | — | — | no trip within the run |")
                continue
            failed = [o["failed calls"] for o in tripped]
            seconds = [o["seconds to OPEN"] for o in tripped]
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
        f"outage starts (target: within T + {SLOW_MARGIN_SECONDS} s at ≥ 10 calls/s).",
        "",
        "| calls/s | T | seconds until OPEN (median, max) | target | failed calls (median, max) | "
        "runs within the bound |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for failing in SLOW_FAILURES:
        for rate in SLOW_RATES:
            runs = [o for o in outages if o["variant"] == slow_variant(failing) and o["rate"] == rate]
            tripped = [o for o in runs if o["tripped"]]
            target = failing + SLOW_MARGIN_SECONDS
            within_text = _within_the_bound(sim, runs)
            if not tripped:
                lines.append(f"| {rate} | {failing:g} s | no trip within the run | {target:g} | — | {within_text} |")
                continue
            opened = [o["seconds to OPEN"] for o in tripped]
            failed = [o["failed calls"] for o in tripped]
            lines.append(
                f"| {rate} | {failing:g} s | {statistics.median(opened):.2f}, {max(opened):.2f} | {target:g} | "
                f"{statistics.median(failed):g}, {max(failed)} | {within_text} |"
            )
    lines += [
        "",
        f"### Partial outages (the outage starts at each of {PHASES} points of the alarm period, one seeded run each)",
        "",
        f"A whole period of {percent(discrimination.LEAD_IN_BACKGROUND)} background errors, then from a point of "
        "the next period on half or a quarter of the calls fail. Worst: the slowest of the phases (and where in "
        "the period that outage started); expected worst: the alarm's, at the expected error rate of each "
        "period (`circuit_bench/alarm_odds.py`); below its minimum calls a period counts as 0 %. Target: OPEN within "
        + " and ".join(f"{seconds} s for {percent(share)}" for share, seconds in PARTIAL_TARGETS.items())
        + " at ≥ 10 calls/s.",
        "",
        "| calls/s | outage | seconds until OPEN: worst (phase), median | expected worst (alarm) | "
        "failed calls (median, max) | tripped by |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for rate in OUTAGE_RATES:
        for label, share in PARTIAL_OUTAGES.items():
            runs = partial_runs(sim, share, (rate,))
            tripped = [o for o in runs if o["tripped"]]
            expected = duration(sim["partial expected"].get(f"{share:g} at {rate:g}/s", math.inf))
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
