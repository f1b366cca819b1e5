"""What the README promises about tripping, in its words, from one run's figures.

`make bench` writes them into docs/benchmarks.md (its "In short" section) and between the README's markers;
a contract test keeps the two equal, so the README says what the code as it is was measured to do. Where a
target was missed, the sentence says so instead of promising it.
"""

from __future__ import annotations

import math
import re

from .experiments import OUTAGE_RATES, PARTIAL_OUTAGES, PHASES, READ_LAG, SLOW_FAILURES, TOTAL_OUTAGES, slow_variant
from .targets import (
    PARTIAL_RATES,
    QUIET_BACKGROUND,
    SLOW_MARGIN_SECONDS,
    Figures,
    began_open,
    expected_per_hour,
    noisy_cells_over_the_reference,
    partial_runs,
    quiet_cells,
    runs_over_the_bound,
)
from .units import percent

HEADING = "## In short"
README_BLOCK = re.compile(r"(<!-- promises: written by make bench -->\n)(.*?)(?=<!-- end of promises -->)", re.DOTALL)


def promises(report: Figures) -> list[str]:
    """The README's promises, one bullet each: total, slow and partial outages, and background errors."""
    sim = report["simulation"]
    return [_total(sim), _slow(sim), _partial(sim), _background(sim)]


def _listed(items: list[str]) -> str:
    """a, b and c."""
    return " and ".join(filter(None, [", ".join(items[:-1]), items[-1]])) if items else ""


def _calls_per_second(rate: float) -> str:
    return f"{rate:,g} call/s" if rate == 1 else f"{rate:,g} calls/s"


def _seconds(value: float) -> str:
    """19 s, 1.8 s, 0.68 s."""
    return f"{value:,.0f} s" if value >= 10 else f"{value:.1f} s" if value >= 1 else f"{value:.2f} s"


def _per_hour(value: float) -> str:
    """An expected rate per hour, in running text."""
    if value < 1e-99:
        return "none"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2g}" if value >= 0.01 else f"{value:.1e}"


def _trips(value: float) -> str:
    text = _per_hour(value)
    return f"{text} trip{'' if text == '1' else 's'} an hour"


def _never(sim: Figures, runs: list[Figures]) -> str:
    """How many of `runs` never opened, and how many began open (from a false trip before the outage)."""
    already_open = began_open(sim, runs)
    never = sum(not o["tripped"] and o not in already_open for o in runs)
    return (f"; {never} of {len(runs)} never opened" if never else "") + (
        f"; {len(already_open)} of {len(runs)} began with the circuit already open, from a false trip before the outage"
        if already_open
        else ""
    )


def _total(sim: Figures) -> str:
    total = [o for o in sim["outages"] if o["variant"] in TOTAL_OUTAGES]
    late = [o for o in total if o.get("calls after the trip not short-circuited")]
    over = len({id(o) for o in [*runs_over_the_bound(sim), *late]})
    held = f"so in all {len(total)}" if not over else f"so in {len(total) - over} of {len(total)}"
    after = (
        "no call admitted after the circuit opened reaches the downstream"
        if not late
        else f"no call admitted after the circuit opened should reach the downstream ({len(late)} runs let one through)"
    )
    slowest = {
        rate: max((o["seconds to OPEN"] for o in total if o["rate"] == rate and o["tripped"]), default=None)
        for rate in OUTAGE_RATES
    }
    opened = _listed(
        [
            f"{_seconds(seconds)} at {_calls_per_second(rate)}"
            for rate, seconds in slowest.items()
            if seconds is not None
        ]
    )
    return (
        f"**A total outage** fails at most `failure_threshold` ({sim['assumptions']['failure_threshold']}) calls "
        "beyond those no breaker could stop, the calls in flight when its first failure came back and when the "
        f"circuit opened, and {after}: {held} simulated outages at {OUTAGE_RATES[0]:,} to "
        f"{_calls_per_second(OUTAGE_RATES[-1])} ({'; '.join(TOTAL_OUTAGES)}), with reads up to {READ_LAG:g} s "
        f"old wherever they are eventually consistent. The circuit opened within {opened}{_never(sim, total)}."
    )


def _slow(sim: Figures) -> str:
    runs = {t: [o for o in sim["outages"] if o["variant"] == slow_variant(t)] for t in SLOW_FAILURES}
    every = [o for found in runs.values() for o in found]
    late = [
        o for t, found in runs.items() for o in found if o["tripped"] and o["seconds to OPEN"] > t + SLOW_MARGIN_SECONDS
    ]
    slowest = _listed(
        [
            f"{max(o['seconds to OPEN'] for o in found if o['tripped']):.1f} s for T = {t:g} s"
            for t, found in runs.items()
            if any(o["tripped"] for o in found)
        ]
    )
    rates = _calls_per_second(min(o["rate"] for o in every))
    within = f"within T + {SLOW_MARGIN_SECONDS} s at {rates} and more"
    already_open = began_open(sim, every)
    if late or any(not o["tripped"] and o not in already_open for o in every):
        within = f"though not always {within}: {len(late)} of {len(every)} simulated opened later"
    return (
        "**Slow failures trip at their own pace.** Failures count in the order they complete, so a total outage "
        f"whose failures take T seconds opens about T after it begins, {within} (slowest of {len(every)} "
        f"simulated: {slowest or 'none opened'}{_never(sim, every)})."
    )


def _partial(sim: Figures) -> str:
    worst, expected, everywhere = [], [], True
    for share in PARTIAL_OUTAGES.values():
        fast = partial_runs(sim, share)
        seconds = [o["seconds to OPEN"] for o in fast if o["tripped"]]
        everywhere &= len(seconds) == len(fast)
        opened = f"within {_seconds(max(seconds))}" if seconds else "never"
        worst.append((percent(share), opened if len(seconds) == len(fast) else f"in {len(seconds)} of {len(fast)}"))
        alarm = max(sim["partial expected"].get(f"{share:g} at {rate:g}/s", math.inf) for rate in PARTIAL_RATES)
        if not math.isinf(alarm):
            expected.append(f"{_seconds(alarm)} for {percent(share)}")
    (first, reached), *others = worst
    text = (
        f"**Partial outages trip through the downstream alarm** (`downstream_alarm`): at "
        f"{_calls_per_second(PARTIAL_RATES[0])} and more, "
        + _listed([f"a {first} outage opened the circuit {reached}"] + [f"a {o} one {r}" for o, r in others])
        + (
            f", wherever in the alarm's minute it began ({PHASES} starts each, simulated)."
            if everywhere
            else f" of the runs starting at {PHASES} points of the alarm's minute (simulated)."
        )
    )
    if expected:
        text += f" At the expected error rate of each minute, the alarm's worst is {_listed(expected)}."
    return text


def _background(sim: Figures) -> str:
    quiet = quiet_cells(sim)
    hours = sum(cell["minutes"] for cell in quiet) / 60
    trips = sum(cell["trips"] for cell in quiet)
    rates = sorted({cell["rate"] for cell in quiet})
    text = (
        f"**Background errors.** With {percent(QUIET_BACKGROUND)} of calls failing or fewer: {trips or 'no'} "
        f"trip{'' if trips == 1 else 's'} in {hours:,.0f} simulated hours at {rates[0]:,g} to "
        f"{_calls_per_second(rates[-1])}, and at most {_per_hour(max(map(expected_per_hour, quiet)))} expected an hour."
    )
    if over := noisy_cells_over_the_reference(sim):
        text += (
            " A service that runs with more of its calls failing pays for the alarm's speed: "
            + "; ".join(
                f"{_trips(expected_per_hour(cell))} at {_calls_per_second(cell['rate'])} with "
                f"{percent(cell['background'])} failing (a strictly consecutive counter: "
                f"{_per_hour(cell['expected per hour']['reference'])})"
                for cell in over
            )
            + ". Such a service sets `downstream_alarm.threshold` above its normal error rate."
        )
    return text


def markdown(report: Figures) -> list[str]:
    """The promises as docs/benchmarks.md's "In short" section."""
    return [HEADING, "", *(f"- {promise}" for promise in promises(report)), ""]


def into_readme(readme: str, report: Figures) -> str:
    """`readme` with the promises between its markers; unchanged when it has none."""
    block = "".join(f"- {promise}\n" for promise in promises(report))
    return README_BLOCK.sub(lambda found: found.group(1) + block, readme)
