"""Cost per call: counted operations times published prices. Every price and assumption is here.

Prices: us-east-1 list prices as published on the pages below and quoted in the issue that
asked for these figures; recorded here on 2026-11-28 (this machine cannot reach the pages to
re-read them). DynamoDB's are the on-demand prices in effect since 2024-11-01.
"""

from __future__ import annotations

import math
from typing import Any

PRICE_SOURCES = {
    "Step Functions": "https://aws.amazon.com/step-functions/pricing/",
    "Lambda": "https://aws.amazon.com/lambda/pricing/",
    "DynamoDB": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
}
PRICES_RECORDED = "2026-11-28"

STANDARD_PER_TRANSITION = 0.025 / 1_000
EXPRESS_PER_REQUEST = 1.00 / 1_000_000
EXPRESS_PER_GB_SECOND = 0.00001667
EXPRESS_DURATION_STEP_SECONDS = 0.1  # EXPRESS bills duration in 100 ms steps
LAMBDA_ARM64_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334
DYNAMODB_PER_READ_UNIT = 0.125 / 1_000_000
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1_000_000
EVENTUAL_READ_UNITS = 0.5  # an eventually consistent read of an item under 4 KB
STRONG_READ_UNITS = 1.0  # a strongly consistent one
WRITE_UNITS = 1.0  # a write of an item under 1 KB (a circuit record is a few hundred bytes)
# One partition serves at most these units a second, on demand or provisioned, and one item is never split
# across partitions: a circuit, one item, shares them among all its calls.
PARTITION_LIMITS_SOURCE = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html"
)
PARTITION_READ_UNITS_PER_SECOND = 3_000
PARTITION_WRITE_UNITS_PER_SECOND = 1_000

# Assumptions, printed with the figures.
EXPRESS_EXECUTION_MB = 64  # billed in 64 MB steps: the definition and small state data fit the first
# The downstream's own Lambda charges are the user's with or without a circuit breaker: not counted.
# Its duration is, as the EXPRESS execution waits for it.

# The previous design of this module (the state check on every call) and the seed's (same shape,
# alarm-only trip), as the sandbox counted them on 2026-11-26 (docs/benchmarks.md at commit 74ff60f):
# states entered, eventually consistent reads, writes, module function invocations; and which
# tasks each path waits for (for EXPRESS's billed duration). The seed records nothing in band, so its
# failing call costs what a healthy one does.
RECORDED_DESIGNS: dict[str, dict[str, dict[str, Any]]] = {
    "previous design": {
        "healthy": {
            "states": 3,
            "eventual reads": 1,
            "writes": 0,
            "module invocations": 1,
            "tasks": ("function", "downstream"),
        },
        "failing": {
            "states": 5,
            "eventual reads": 1,
            "writes": 1,
            "module invocations": 2,
            "tasks": ("function", "downstream", "function"),
        },
        "short-circuited": {
            "states": 3,
            "eventual reads": 1,
            "writes": 0,
            "module invocations": 1,
            "tasks": ("function",),
        },
        "probe (succeeds)": {
            "states": 4,
            "eventual reads": 1,
            "writes": 3,
            "module invocations": 2,
            "tasks": ("function", "downstream", "function"),
        },
    },
    "seed design": {
        "healthy": {
            "states": 3,
            "eventual reads": 1,
            "writes": 0,
            "module invocations": 1,
            "tasks": ("function", "downstream"),
        },
        "failing": {
            "states": 3,
            "eventual reads": 1,
            "writes": 0,
            "module invocations": 1,
            "tasks": ("function", "downstream"),
        },
        "short-circuited": {
            "states": 3,
            "eventual reads": 1,
            "writes": 0,
            "module invocations": 1,
            "tasks": ("function",),
        },
    },
}


def billed_steps(seconds: float) -> int:
    """EXPRESS duration steps of 100 ms, at least one."""
    return max(1, math.ceil(round(seconds / EXPRESS_DURATION_STEP_SECONDS, 6)))


def per_million(ops: dict[str, float], machine: str, function_mb: int, function_seconds: float) -> float:
    """Dollars per million calls with these per-call operations, on an EXPRESS or STANDARD state machine.

    ops: states, eventual reads, strong reads, writes, module invocations, billed 100 ms (EXPRESS steps).
    """
    dynamodb = (
        ops.get("eventual reads", 0) * EVENTUAL_READ_UNITS * DYNAMODB_PER_READ_UNIT
        + ops.get("strong reads", 0) * STRONG_READ_UNITS * DYNAMODB_PER_READ_UNIT
        + ops.get("writes", 0) * WRITE_UNITS * DYNAMODB_PER_WRITE_UNIT
    )
    invocations = ops.get("module invocations", 0)
    functions = invocations * (
        LAMBDA_ARM64_PER_REQUEST + function_mb / 1024 * function_seconds * LAMBDA_ARM64_PER_GB_SECOND
    )
    if machine == "EXPRESS":
        state_machine = (
            EXPRESS_PER_REQUEST
            + ops["billed 100 ms"] * EXPRESS_DURATION_STEP_SECONDS * EXPRESS_EXECUTION_MB / 1024 * EXPRESS_PER_GB_SECOND
        )
    elif machine == "STANDARD":
        state_machine = ops["states"] * STANDARD_PER_TRANSITION
    else:
        raise ValueError(f"state machine type must be EXPRESS or STANDARD, not {machine!r}")
    return 1_000_000 * (dynamodb + functions + state_machine)


def item_ceiling(ops: dict[str, float]) -> dict[str, Any]:
    """Calls a second one circuit's item serves at these per-call operations: by its reads, by its writes, and both.

    None where the calls use none of that kind of unit.
    """
    read_units = ops.get("eventual reads", 0) * EVENTUAL_READ_UNITS + ops.get("strong reads", 0) * STRONG_READ_UNITS
    write_units = ops.get("writes", 0) * WRITE_UNITS
    by_reads = PARTITION_READ_UNITS_PER_SECOND / read_units if read_units else None
    by_writes = PARTITION_WRITE_UNITS_PER_SECOND / write_units if write_units else None
    bounds = [bound for bound in (by_reads, by_writes) if bound is not None]
    return {
        "read units per call": read_units,
        "write units per call": write_units,
        "calls/s by reads": by_reads,
        "calls/s by writes": by_writes,
        "calls/s": min(bounds) if bounds else None,
    }


def prices() -> dict[str, Any]:
    """The prices and their sources, for the report."""
    return {
        "sources": PRICE_SOURCES,
        "recorded": PRICES_RECORDED,
        "Step Functions STANDARD, per 1,000 transitions": STANDARD_PER_TRANSITION * 1_000,
        "Step Functions EXPRESS, per million requests": EXPRESS_PER_REQUEST * 1_000_000,
        "Step Functions EXPRESS, per GB-s (64 MB, 100 ms steps)": EXPRESS_PER_GB_SECOND,
        "Lambda arm64, per million requests": LAMBDA_ARM64_PER_REQUEST * 1_000_000,
        "Lambda arm64, per GB-s": LAMBDA_ARM64_PER_GB_SECOND,
        "DynamoDB on-demand, per million read units": DYNAMODB_PER_READ_UNIT * 1_000_000,
        "DynamoDB on-demand, per million write units": DYNAMODB_PER_WRITE_UNIT * 1_000_000,
        "read units per eventually consistent / strongly consistent read": [EVENTUAL_READ_UNITS, STRONG_READ_UNITS],
        "write units per write": WRITE_UNITS,
        "one partition's read and write units a second": [
            PARTITION_READ_UNITS_PER_SECOND,
            PARTITION_WRITE_UNITS_PER_SECOND,
        ],
        "partition limits source": PARTITION_LIMITS_SOURCE,
        "EXPRESS execution memory (MB, assumed)": EXPRESS_EXECUTION_MB,
    }
