"""How often an error-rate alarm fires on background errors, and how late it fires on an outage, from its settings.

False trips are rare events: hours of simulated traffic at a few percent of errors show none, which
says little about their rate. Here the rate comes from the tail of the error count instead:

- a period of P seconds at `rate` calls/s holds n ~ Poisson(rate × P) calls, of which
  Binomial(n, background) fail; it breaches when n >= the alarm's minimum and
  100 × failures / n >= its threshold (the module's expression, `circuit_sandbox.aws.cloudwatch.ERROR_RATE`);
- periods are independent, so an M-of-N alarm goes from OK to ALARM at a period when M of the
  last N breach and M of the N before did not: summed exactly over the N + 1 periods involved;
- the in-band count's false trips are extrapolated from how often the simulated count reached
  each value (`extrapolated_trips_per_hour`): its tail is geometric, as a run of failures is.

The time to trip on a partial outage is computed at the expected error rate of each period, for
the outage starting at every point of the period (`worst_phase_seconds`); the simulator's sweep
over the same phases (with Poisson arrivals) is printed beside it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from circuit_sandbox.aws.cloudwatch import ERROR_RATE

HOUR = 3600.0


@dataclass(frozen=True)
class RateAlarm:
    """An error-rate alarm as the module creates it: >= threshold % in datapoints of the last periods."""

    threshold: float  # percent
    datapoints: int  # M
    periods: int  # N
    period: int  # seconds
    minimum: int  # calls a period needs for its rate to count

    @classmethod
    def of(cls, alarm: dict[str, Any]) -> RateAlarm:
        """From DescribeAlarms' view of the module's error-rate alarm."""
        expression = next(query["Expression"] for query in alarm["Metrics"] if query.get("Expression"))
        match = ERROR_RATE.fullmatch(expression.strip())
        if match is None or alarm["ComparisonOperator"] != "GreaterThanOrEqualToThreshold":
            raise ValueError(f"{alarm['AlarmName']} is not the module's error-rate alarm")
        period = next(query["MetricStat"]["Period"] for query in alarm["Metrics"] if "MetricStat" in query)
        return cls(
            threshold=float(alarm["Threshold"]),
            datapoints=int(alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"]),
            periods=int(alarm["EvaluationPeriods"]),
            period=int(period),
            minimum=math.ceil(float(match.group(2))),
        )

    def describe(self) -> str:
        return (
            f">= {self.threshold:g} % in {self.datapoints} of {self.periods} period(s) of {self.period} s, "
            f"from {self.minimum} calls"
        )


def _log_binomial(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def _at_least(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) >= k), summed from the smaller side until the terms vanish."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    upper = k > n * p
    total, j = 0.0, k if upper else k - 1
    while 0 <= j <= n:
        term = math.exp(_log_binomial(j, n, p))
        total += term
        if term <= total * 1e-16:
            break
        j += 1 if upper else -1
    return total if upper else max(0.0, 1.0 - total)


def breach_probability(alarm: RateAlarm, rate: float, error_rate: float) -> float:
    """P(one period breaches) with Poisson arrivals at `rate` calls/s, each failing with `error_rate`."""
    mean = rate * alarm.period
    spread = 8 * math.sqrt(mean) + 10
    total = 0.0
    for n in range(max(alarm.minimum, 1, int(mean - spread)), int(mean + spread) + 1):
        weight = math.exp(-mean + n * math.log(mean) - math.lgamma(n + 1))
        if weight > 0.0:
            total += weight * _at_least(math.ceil(alarm.threshold * n / 100 - 1e-9), n, error_rate)
    return min(1.0, total)


def alarm_trips_per_hour(alarm: RateAlarm, rate: float, background: float) -> float:
    """Expected OK -> ALARM transitions per hour at `background` errors."""
    q = breach_probability(alarm, rate, background)
    m, n = alarm.datapoints, alarm.periods
    probability = 0.0
    for pattern in itertools.product((0, 1), repeat=n + 1):  # periods t - N .. t
        if sum(pattern[1:]) >= m and sum(pattern[:-1]) < m:
            breaches = sum(pattern)
            probability += q**breaches * (1 - q) ** (n + 1 - breaches)
    return probability * HOUR / alarm.period


def reference_trips_per_hour(rate: float, background: float, threshold: int) -> float:
    """A strictly consecutive counter restarting after each trip: a trip per run of `threshold` failures."""
    return rate * HOUR * (1 - background) * background**threshold


def extrapolated_trips_per_hour(reached: dict[int, int], threshold: int, hours: float) -> float | None:
    """In-band trips per hour from how many times the count reached each value below `threshold`.

    The count's tail is geometric: reached(k) ~ reached(1) × r^(k - 1). r is fitted on the highest
    value reached at least 10 times; None when the count never reached 2 that often.
    """
    if reached.get(threshold, 0) >= 10:
        return reached[threshold] / hours
    solid = [k for k, times in reached.items() if times >= 10 and k < threshold]
    if not solid or max(solid) < 2:
        return None
    top = max(solid)
    ratio = (reached[top] / reached[1]) ** (1 / (top - 1))
    return reached[top] * ratio ** (threshold - top) / hours


def worst_phase_seconds(
    alarm: RateAlarm, rate: float, share: float, background: float, delay: float, steps: int = 240
) -> tuple[float, float]:
    """(seconds from the outage's start to ALARM, the phase it starts at) in the worst phase, at expected rates.

    From the outage on, a share `share` of the calls fails (`background` before it); periods are
    judged by their expected calls and error rate; `delay` is the time from a period's end to the
    trip. Infinite when a period's expected calls are below the alarm's minimum.
    """
    if rate * alarm.period < alarm.minimum:
        return math.inf, 0.0
    worst = (0.0, 0.0)
    for step in range(steps):
        phase = step / steps  # how far into its period the outage starts
        rates = [background * phase + share * (1 - phase)] + [share] * (alarm.periods + 20)
        breaching = [rate * 100 >= alarm.threshold - 1e-9 for rate in rates]
        for index in range(len(breaching)):
            window = breaching[max(0, index - alarm.periods + 1) : index + 1]
            if sum(window) >= alarm.datapoints:
                seconds = (1 - phase) * alarm.period + index * alarm.period + delay
                worst = max(worst, (seconds, phase))
                break
        else:
            return math.inf, phase
    return worst
