"""The alarm's odds against brute force, hand computation and the simulator."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import pytest

from circuit_bench import alarm_odds, simulation
from circuit_bench.alarm_odds import RateAlarm

PREVIOUS_DEFAULT = RateAlarm(threshold=25, datapoints=2, periods=2, period=60, minimum=20)
DELAY = simulation.ALARM_EVALUATION_DELAY + simulation.NOTIFICATION_DELAY


@pytest.mark.parametrize("n, p", [(20, 0.05), (60, 0.2), (7, 0.5)])
def test_the_binomial_tail_is_the_sum_of_its_terms(n, p):
    for k in range(n + 2):
        exact = sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))
        assert alarm_odds._at_least(k, n, p) == pytest.approx(exact, rel=1e-9, abs=1e-300)


def test_transitions_to_alarm_match_a_monte_carlo_of_independent_periods():
    alarm = RateAlarm(threshold=22, datapoints=2, periods=3, period=60, minimum=40)
    q = alarm_odds.breach_probability(alarm, 1.0, 0.15)
    rng = random.Random(7)
    breaches = [rng.random() < q for _ in range(400_000)]
    alarmed = [sum(breaches[max(0, i - 2) : i + 1]) >= 2 for i in range(len(breaches))]
    transitions = sum(1 for before, after in pairwise(alarmed) if after and not before)
    expected = alarm_odds.alarm_trips_per_hour(alarm, 1.0, 0.15) / 60 * len(breaches)
    assert transitions == pytest.approx(expected, rel=0.05)


def test_the_previous_default_took_three_minutes_in_its_worst_phase():
    # The review's figure: a 50 % outage starting just past the middle of a minute misses that minute's 25 %,
    # then needs two whole minutes, then the evaluation and notification delays.
    seconds, phase = alarm_odds.worst_phase_seconds(PREVIOUS_DEFAULT, 10, 0.5, 0.01, DELAY)
    assert seconds == pytest.approx(60 * (1 - phase) + 120 + DELAY)
    assert 0.5 < phase < 0.53 and 179 < seconds < 182
    assert alarm_odds.worst_phase_seconds(PREVIOUS_DEFAULT, 0.2, 0.5, 0.01, DELAY)[0] == math.inf  # 12 calls < 20


def test_the_count_tail_is_extrapolated_geometrically():
    reached = {k: int(100_000 * 0.1 ** (k - 1)) for k in range(1, 6)}  # 100000, 10000, ..., 10
    assert alarm_odds.extrapolated_trips_per_hour(reached, 10, hours=2) == pytest.approx(10 * 0.1**5 / 2)
    assert alarm_odds.extrapolated_trips_per_hour({1: 50, 2: 3}, 10, hours=1) is None
    assert alarm_odds.extrapolated_trips_per_hour({1: 500, 10: 12}, 10, hours=4) == 3
