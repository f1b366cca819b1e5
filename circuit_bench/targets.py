"""The targets, as data: each a name, the bound it promises, the figure one run measured, and whether it is met.

`evaluate` reads a run's figures (`bench.run`, or an earlier run's JSON) and returns every target; the report
renders them as a table, and each missed one with the mechanism that misses it. A target's bound is a constant
here or a setting read back from what Terraform applied; what it covers (the rates, how many runs) is said as the
run found it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .experiments import (
    OUTAGE_RATES,
    PARTIAL_OUTAGES,
    PHASES,
    READ_LAG,
    SLOW_FAILURES,
    SLOW_RATES,
    TOTAL_OUTAGES,
    slow_variant,
)
from .units import hourly, percent

# Expected false trips per hour that count as none: fewer than one in 1,000 hours (about six weeks).
NO_TRIPS_PER_HOUR = 0.001
QUIET_BACKGROUND = 0.05  # background error shares up to this may trip nothing
PARTIAL_TARGETS = {0.5: 120, 0.25: 180}  # seconds to OPEN in the worst phase, at >= PARTIAL_RATE calls/s
PARTIAL_RATE = 10
PARTIAL_RATES = tuple(rate for rate in OUTAGE_RATES if rate >= PARTIAL_RATE)  # the rates its target covers
SLOW_MARGIN_SECONDS = 2  # a total outage whose failures take T seconds opens within T + this
HEALTHY_READS, HEALTHY_STATES = 2, 5  # the healthy path's ceiling: reads, and states entered
SANDBOX_CEILING_TARGET = 25  # executions/s on two cores
HANDLER_INIT_TARGET = 1.2  # a handler's init / a bare `import boto3`

Figures = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One promise: `bound` is what it promises, `figure` what the run measured; `why` is the mechanism when missed."""

    name: str
    bound: str
    figure: str
    met: bool
    why: str = ""

    @property
    def verdict(self) -> str:
        return "met" if self.met else "MISSED"


def evaluate(report: Figures) -> list[Target]:
    """Every target against one run's figures: the simulator's first (it is checked first), then the sandbox's."""
    sim = report["simulation"]
    found = [target(sim) for target in SIMULATOR_TARGETS]
    return found + [checked for target in SANDBOX_TARGETS if (checked := target(report)) is not None]


# ---------------------------------------------------------------------------- the simulator's


def agrees_with_the_sandbox(sim: Figures) -> Target:
    replay = sim["replay"]
    return Target(
        "simulator = sandbox",
        "every replayed call routed and recorded as the real definition and handlers in moto do",
        f"{replay['calls'] - len(replay['differences'])} of {replay['calls']} calls identical",
        not replay["differences"],
        "The simulator routes or records differently from the real definition and handlers in moto; its "
        "other figures cannot be trusted until the differences listed above are explained.",
    )


def _in_band(cell: Figures) -> float:
    """Expected in-band trips per hour: extrapolated, or the measured rate when the count never got far."""
    extrapolated = cell["expected per hour"]["in band"]
    return extrapolated if extrapolated is not None else cell["in-band trips"] / (cell["minutes"] / 60)


def expected_per_hour(cell: Figures) -> float:
    """Expected trips per hour, in band and by the alarm."""
    return _in_band(cell) + cell["expected per hour"]["alarm"]


def _blame(cells: list[Figures], limit: Callable[[Figures], float]) -> str:
    """Which detector passes `limit` in which cells, and why it does."""
    alarm = [c for c in cells if c["expected per hour"]["alarm"] > limit(c)]
    band = [c for c in cells if _in_band(c) > 2 * limit(c)]  # past the extrapolation's own noise
    reasons = []
    if band:
        reasons.append(
            "In band at "
            + ", ".join(f"{c['rate']:g}/s {percent(c['background'])} ({hourly(_in_band(c))} per hour)" for c in band)
            + ": the count runs higher than a strictly consecutive counter's. A failure's position in the "
            "count is when the outcome function writes it, a success's when the state machine reads the "
            "circuit after it; a failure written just after a success's read counts after that success, "
            "whichever completed first."
        )
    if alarm:
        reasons.append(
            "The downstream alarm at "
            + ", ".join(
                f"{c['rate']:g}/s {percent(c['background'])} ({hourly(c['expected per hour']['alarm'])} per hour)"
                for c in alarm
            )
            + ": a minute's error rate at this background reaches the threshold that catches a 25 % outage "
            "within 3 minutes; see the trade-off table for the alternatives and why the default is the one "
            "it is."
        )
    return " ".join(reasons)


def quiet_cells(sim: Figures) -> list[Figures]:
    """The background-error cells that may trip nothing."""
    return [cell for cell in sim["cells"] if cell["background"] <= QUIET_BACKGROUND]


def noisy_cells_over_the_reference(sim: Figures) -> list[Figures]:
    """The noisier cells expected to trip more often than a strictly consecutive counter."""
    return [
        cell
        for cell in sim["cells"]
        if cell["background"] > QUIET_BACKGROUND and expected_per_hour(cell) > cell["expected per hour"]["reference"]
    ]


def quiet_at_low_background(sim: Figures) -> Target:
    quiet = quiet_cells(sim)
    rates = ", ".join(sorted({f"{cell['rate']:g}" for cell in quiet}, key=float))
    return Target(
        "no false trips",
        f"0 trips per hour at ≤ {percent(QUIET_BACKGROUND)} background errors at {rates} calls/s: none simulated, and "
        f"fewer than {NO_TRIPS_PER_HOUR:g} expected per hour (in band + alarm)",
        "; ".join(
            f"{cell['rate']:g}/s {percent(cell['background'])}: {cell['trips']} in {cell['minutes'] / 60:.1f} h, "
            f"{hourly(expected_per_hour(cell))} expected"
            for cell in quiet
        ),
        all(cell["trips"] == 0 and expected_per_hour(cell) < NO_TRIPS_PER_HOUR for cell in quiet),
        _blame(quiet, lambda cell: NO_TRIPS_PER_HOUR),
    )


def no_noisier_than_the_reference(sim: Figures) -> Target:
    noisy = [cell for cell in sim["cells"] if cell["background"] > QUIET_BACKGROUND]
    over = noisy_cells_over_the_reference(sim)
    return Target(
        "noise at 10 % and 20 %",
        "no more trips than a strictly consecutive counter (expected per hour, module vs reference)",
        "; ".join(
            f"{cell['rate']:g}/s {percent(cell['background'])}: {hourly(expected_per_hour(cell))} vs "
            f"{hourly(cell['expected per hour']['reference'])}"
            for cell in noisy
        ),
        not over,
        _blame(over, lambda cell: cell["expected per hour"]["reference"]),
    )


def _total_outages(sim: Figures) -> list[Figures]:
    return [o for o in sim["outages"] if o["variant"] in TOTAL_OUTAGES]


def began_open(sim: Figures, runs: list[Figures]) -> list[Figures]:
    """The outages of `runs` that began with the circuit already open.

    A run with no trip of its own that failed fewer calls than failure_threshold began so (a closed circuit fails
    every call of a total outage): the bound holds, and the earlier trip is the false trips'.
    """
    threshold = sim["assumptions"]["failure_threshold"]
    return [o for o in runs if not o["tripped"] and o["failed calls"] < threshold]


def runs_over_the_bound(sim: Figures) -> list[Figures]:
    """Total outages that failed more calls than the bound, or never tripped from a closed circuit."""
    total = _total_outages(sim)
    already_open = began_open(sim, total)
    return [
        o
        for o in total
        if (not o["tripped"] and o not in already_open) or (o["tripped"] and o["failed calls"] > o["bound"])
    ]


def total_outage_bound(sim: Figures) -> Target:
    threshold = sim["assumptions"]["failure_threshold"]
    total = _total_outages(sim)
    already_open = began_open(sim, total)
    over = runs_over_the_bound(sim)
    worst: dict[float, tuple[int, int, int]] = {}
    for run in total:
        if run["tripped"] and (run["rate"] not in worst or run["failed calls"] - run["bound"] > worst[run["rate"]][2]):
            worst[run["rate"]] = (run["failed calls"], run["bound"], run["failed calls"] - run["bound"])
    figure = "worst run per rate, failed vs bound: " + "; ".join(
        f"{rate:g}/s: {failed} vs {bound}" for rate, (failed, bound, _) in sorted(worst.items())
    )
    if already_open:
        figure += (
            f". {len(already_open)} run(s) began with the circuit already open from the background errors "
            f"(see the false trips at {', '.join(sorted({str(o['rate']) + '/s' for o in already_open}))}) and "
            f"failed only their probes: at most {max(o['failed calls'] for o in already_open)} calls"
        )
    return Target(
        "total outage",
        f"fails at most failure_threshold ({threshold}) + the calls in flight when the first failure came back "
        f"and when the circuit opened, in every run ({len(total)} runs: {', '.join(TOTAL_OUTAGES)}; reads up to "
        f"{READ_LAG:g} s old where eventually consistent)",
        figure,
        not over,
        f"{len(over)} run(s) failed more calls than the bound, or never tripped: a failure was lost or counted late.",
    )


def nothing_admitted_after_open(sim: Figures) -> Target:
    total = _total_outages(sim)
    after = sum(o.get("calls after the trip not short-circuited", 0) for o in total)
    return Target(
        "after OPEN",
        "0 calls admitted after OPEN reach the downstream in a total outage",
        f"{after} in {len(total)} runs",
        after == 0,
        "A call admitted after the trip read a circuit that was not yet open: a routing read lagged.",
    )


def _slowest(runs: list[Figures], already_open: list[Figures]) -> str:
    """The slowest of `runs` to open (never: inf), leaving out the ones that began open."""
    own = [o.get("seconds to OPEN", math.inf) for o in runs if o not in already_open]
    began = len(runs) - len(own)
    return (f"slowest {max(own):g} s" if own else "none of its own") + (f" ({began} began open)" if began else "")


def slow_failures_trip_at_their_pace(sim: Figures) -> Target:
    variants = {slow_variant(t): t for t in SLOW_FAILURES}
    slow = [o for o in sim["outages"] if o["variant"] in variants]
    already_open = began_open(sim, slow)
    tripped = [o for o in slow if o["tripped"]]
    late = [o for o in tripped if o["seconds to OPEN"] > variants[o["variant"]] + SLOW_MARGIN_SECONDS]
    late += [o for o in slow if not o["tripped"] and o not in already_open]
    return Target(
        "slow failures",
        f"a total outage whose failures take T seconds opens within T + {SLOW_MARGIN_SECONDS} s at "
        f"≥ {min(SLOW_RATES)} calls/s",
        "; ".join(
            f"T = {t:g} s at {rate}/s: {_slowest(runs, already_open)}"
            for t in SLOW_FAILURES
            for rate in SLOW_RATES
            if (runs := [o for o in slow if o["variant"] == slow_variant(t) and o["rate"] == rate])
        ),
        not late,
        "Slow failures trip late: failures that complete after a count started are not all counted.",
    )


def partial_runs(sim: Figures, share: float, rates: tuple[float, ...] = PARTIAL_RATES) -> list[Figures]:
    """The partial outages with `share` of calls failing, at `rates` (by default the ones the target covers)."""
    return [
        o for o in sim["outages"] if o["variant"] == "partial" and o["failure rate"] == share and o["rate"] in rates
    ]


def partial_outages_in_the_worst_phase(sim: Figures) -> Target:
    slowest = {}
    for share in PARTIAL_OUTAGES.values():
        runs = partial_runs(sim, share)
        slowest[share] = max((o["seconds to OPEN"] if o["tripped"] else math.inf for o in runs), default=math.inf)
    return Target(
        "partial outages",
        f"open at ≥ {PARTIAL_RATE} calls/s, in every one of "
        f"{PHASES} phases, within "
        + " and ".join(f"{seconds} s for {percent(share)}" for share, seconds in PARTIAL_TARGETS.items()),
        "; ".join(f"{percent(share)}: slowest {slowest[share]:.1f} s" for share in PARTIAL_TARGETS),
        all(slowest[share] <= seconds for share, seconds in PARTIAL_TARGETS.items()),
        "A partial outage trips late in some phase: see the partial-outage table and the trade-off.",
    )


def healthy_path(sim: Figures) -> Target:
    healthy = {label: path for label, path in sim["paths"].items() if label.startswith("healthy")}
    bad = [
        label
        for label, path in healthy.items()
        if path["eventual reads"] + path["strong reads"] > HEALTHY_READS
        or path["writes"]
        or path["module invocations"]
        or len(path["states"]) > HEALTHY_STATES
    ]
    return Target(
        "healthy call",
        f"≤ {HEALTHY_READS} reads, 0 writes, 0 module invocations, ≤ {HEALTHY_STATES} states",
        "; ".join(
            f"{label}: {path['eventual reads'] + path['strong reads']} read(s), {path['writes']} writes, "
            f"{path['module invocations']} module invocations, {len(path['states'])} states"
            for label, path in healthy.items()
        ),
        not bad,
        "Counting in completion order needs a read after every success (ReadAfterCall) and a Choice on it "
        "(Settle); a Choice cannot end an execution, so the caller's result leaves through one more state "
        "(ReturnDownstreamResult): 6 states. EXPRESS (the default) bills duration and requests, not states, so "
        "only STANDARD pays the sixth (see the cost table).",
    )


def short_circuits_invoke_little(sim: Figures) -> Target:
    short = {label: path for label, path in sim["paths"].items() if label.startswith("short-circuited")}
    return Target(
        "short-circuited call",
        "≤ 1 invocation (0 when forced open)",
        "; ".join(f"{label}: {path['invocations']}" for label, path in short.items()),
        all(path["invocations"] <= (0 if "forced" in label else 1) for label, path in short.items()),
        "See the cost table's short-circuited rows.",
    )


SIMULATOR_TARGETS: tuple[Callable[[Figures], Target], ...] = (
    agrees_with_the_sandbox,
    quiet_at_low_background,
    no_noisier_than_the_reference,
    total_outage_bound,
    nothing_admitted_after_open,
    slow_failures_trip_at_their_pace,
    partial_outages_in_the_worst_phase,
    healthy_path,
    short_circuits_invoke_little,
)


# ---------------------------------------------------------------------------- the sandbox's


def sandbox_healthy_call(report: Figures) -> Target:
    healthy = report["paths"]["this module"]["healthy"]
    over = {
        "invocations": healthy["invocations"] != 1,
        "reads": healthy["reads"] > HEALTHY_READS,
        "writes": healthy["writes"] != 0,
        "states": healthy["states"] > HEALTHY_STATES,
    }
    why = f"Past the bound: {', '.join(name for name, past in over.items() if past)}."
    if over["states"]:
        why += " The states are the definition's own, which the simulator replays: see the healthy call's reason."
    return Target(
        "healthy call, in the sandbox",
        f"on a circuit with no record: 1 invocation, ≤ {HEALTHY_READS} reads, 0 writes, ≤ {HEALTHY_STATES} states",
        f"{healthy['invocations']}, {healthy['reads']}, {healthy['writes']}, {healthy['states']}",
        not any(over.values()),
        why,
    )


def one_probe(report: Figures) -> Target:
    probes = report["probes_with_100_callers"]
    return Target(
        "one probe",
        "1 probe admitted with 100 concurrent callers past the open duration",
        str(probes),
        probes == 1,
        "The probe's lease let more than one caller through: the lease's condition was not held."
        if probes > 1
        else "No caller was admitted as the probe: the open duration's end or the lease was not seen.",
    )


def sandbox_ceiling(report: Figures) -> Target | None:
    if "throughput" not in report:
        return None
    reached = {rate: found["downstream calls/s"] for rate, found in report["throughput"].items()}
    return Target(
        "the sandbox's ceiling",
        f"≥ {SANDBOX_CEILING_TARGET} executions/s reach the downstream on this machine",
        "by rate asked: " + ", ".join(f"{rate}: {calls}" for rate, calls in reached.items()),
        max(reached.values()) >= SANDBOX_CEILING_TARGET,
        "The emulator's one process saturates first: see the ceiling section.",
    )


def handler_init(report: Figures) -> Target:
    ratios = {k: v for k, v in report["cold_start_ratio_to_boto3"].items() if k in report["package_bytes"]}
    return Target(
        "handler init",
        f"≤ {HANDLER_INIT_TARGET}× a bare `import boto3`",
        ", ".join(f"{name}: {ratio}" for name, ratio in ratios.items()),
        max(ratios.values()) <= HANDLER_INIT_TARGET,
        "The init imports boto3 and Powertools and creates the DynamoDB client every invocation reuses: "
        "Powertools and the client add what is above 1 to the import of boto3.",
    )


SANDBOX_TARGETS: tuple[Callable[[Figures], Target | None], ...] = (
    sandbox_healthy_call,
    one_probe,
    sandbox_ceiling,
    handler_init,
)
