"""How the report writes shares, money, rates and durations."""

from __future__ import annotations

import math


def percent(share: float) -> str:
    return f"{100 * share:g} %"


def money(value: float) -> str:
    return f"{value:,.2f}"


def hourly(per_hour: float | None) -> str:
    """An expected rate per hour, readable from 1e-300 to 100."""
    if per_hour is None:
        return "—"
    if per_hour == 0 or per_hour < 1e-99:
        return "< 1e-99"
    return f"{per_hour:.2g}" if per_hour >= 0.01 else f"{per_hour:.1e}"


def duration(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:.0f}"
