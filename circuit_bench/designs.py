"""The module instances the sandbox measurements apply: the seed article's design and this module's defaults.

Alarm periods and the healthcheck schedule keep values AWS accepts (60 s, rate(1 minute)); the emulator runs
their time TIME_SCALE times faster, and figures that depend on them are scaled back to AWS time.
"""

from __future__ import annotations

from typing import Any

TIME_SCALE = 20  # 60 s CloudWatch periods and a 1-minute healthcheck run in 3 s
PERIOD = 60  # the designs' alarm periods, as AWS takes them
PERIOD_SECONDS = PERIOD / TIME_SCALE  # what one lasts in the emulator
SCHEDULE = "rate(1 minute)"  # the healthcheck's schedule
NEVER = "rate(24 hours)"  # a healthcheck that never runs within a run: its alarm is driven by hand
NO_ALARM = {"enabled": False}
RATES = (1, 10, 100)
RECOVERY_SAMPLES = 3


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
