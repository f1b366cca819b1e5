"""What the README promises about tripping, in its words, from one run's figures.

`make bench` writes them into docs/benchmarks.md (its "In short" section) and between the README's markers;
a contract test keeps the two equal, so the README says what the code as it is measured.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from .experiments import OUTAGE_RATES, PARTIAL_OUTAGES, PHASES, READ_LAG, SLOW_FAILURES, TOTAL_OUTAGES, slow_variant
from .targets import SLOW_MARGIN_SECONDS, Figures, expected_per_hour, runs_over_the_bound
from .units import hourly, percent

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


def _total(sim: Figures) -> str:
    total = [o for o in sim["outages"] if o["variant"] in TOTAL_OUTAGES]
    late = [o for o in total if o.get("calls after the trip not short-circuited")]
    over = len({id(o) for o in [*runs_over_the_bound(sim), *late]})
    held = f"in all {len(total)}" if not over else f"in {len(total) - over} of {len(total)}"
    slowest = {
        rate: max((o["seconds to OPEN"] for o in total if o["rate"] == rate and o["tripped"]), default=None)
        for rate in OUTAGE_RATES
    }
    opened = _listed(
        [f"{seconds:.2g} s at {_calls_per_second(rate)}" for rate, seconds in slowest.items() if seconds is not None]
    )
    return (
        f"**A total outage** fails at most `failure_threshold` ({sim['assumptions']['failure_threshold']}) calls "
        "beyond those no breaker could stop, the calls in flight when its first failure came back and when the "
        "circuit opened, and no call admitted after the circuit opened reaches the downstream: so "
        f"{held} simulated outages at {OUTAGE_RATES[0]:,} to {_calls_per_second(OUTAGE_RATES[-1])}, with "
        f"failures in 50 or 500 ms, 1 % or 20 % of calls failing before, and reads up to {READ_LAG:g} s old "
        f"wherever they are eventually consistent. The circuit opened within {opened}."
    )


def _slow(sim: Figures) -> str:
    runs = {t: [o for o in sim["outages"] if o["variant"] == slow_variant(t)] for t in SLOW_FAILURES}
    slowest = ", ".join(
        f"{max(o['seconds to OPEN'] for o in found if o['tripped']):.1f} s for T = {t:g} s"
        for t, found in runs.items()
        if any(o["tripped"] for o in found)
    )
    rates = sorted({o["rate"] for found in runs.values() for o in found})
    return (
        "**Slow failures trip at their own pace.** Failures count in the order they complete, so a total outage "
        f"whose failures take T seconds opens about T after it begins, within T + {SLOW_MARGIN_SECONDS} s at "
        f"{_calls_per_second(rates[0])} and more (slowest of {sum(map(len, runs.values()))} simulated: {slowest})."
    )


def _partial(sim: Figures) -> str:
    fast_rates = [rate for rate in OUTAGE_RATES if rate >= 10]
    worst = []
    for share in PARTIAL_OUTAGES.values():
        runs = [o for o in sim["outages"] if o["variant"] == "partial" and o["failure rate"] == share]
        fast = [o for o in runs if o["rate"] in fast_rates]
        seconds = [o["seconds to OPEN"] for o in fast if o["tripped"]]
        expected = max(sim["partial expected"].get(f"{share:g} at {rate:g}/s", math.inf) for rate in fast_rates)
        reached = f"within {max(seconds):.0f} s" if len(seconds) == len(fast) else f"in {len(seconds)} of {len(fast)}"
        worst.append((percent(share), reached, "never" if math.isinf(expected) else f"{expected:.0f} s"))
    (first, reached, _), *others = worst
    return (
        f"**Partial outages trip through the downstream alarm** (`downstream_alarm`): at "
        f"{_calls_per_second(fast_rates[0])} and more, "
        + _listed([f"a {first} outage opened the circuit {reached}"] + [f"a {o} one {r}" for o, r, _ in others])
        + f", wherever in the alarm's minute it began ({PHASES} starts each, simulated). At the expected error rate "
        f"of each minute, the alarm's worst is {_listed([expected for _, _, expected in worst])}."
    )


def _background(sim: Figures) -> str:
    quiet = [cell for cell in sim["cells"] if cell["background"] <= 0.05]
    hours = sum(cell["minutes"] for cell in quiet) / 60
    trips = sum(cell["trips"] for cell in quiet)
    rates = sorted({cell["rate"] for cell in quiet})
    over = [
        cell
        for cell in sim["cells"]
        if cell["background"] > 0.05 and expected_per_hour(cell) > cell["expected per hour"]["reference"]
    ]
    text = (
        f"**Background errors.** With 5 % of calls failing or fewer: {trips or 'no'} trip{'s' * (trips != 1)} in "
        f"{hours:,.0f} simulated hours at {rates[0]:,g} to {_calls_per_second(rates[-1])}, and at most "
        f"{hourly(max(map(expected_per_hour, quiet)))} expected an hour."
    )
    if over:
        text += (
            " A service that runs with more of its calls failing pays for the alarm's speed: "
            + "; ".join(
                f"{hourly(expected_per_hour(cell))} trips an hour at {_calls_per_second(cell['rate'])} with "
                f"{percent(cell['background'])} failing (a strictly consecutive counter: "
                f"{hourly(cell['expected per hour']['reference'])})"
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


def written(readme: Path) -> str:
    """The promises between the README's markers, as written there."""
    found = README_BLOCK.search(readme.read_text())
    return found.group(2) if found else ""
