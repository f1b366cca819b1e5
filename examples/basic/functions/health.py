"""The example dependency's health switch: an SSM parameter whose value is `healthy`, `slow` or `failing`.

Shared by the example downstream and healthcheck so that flipping one parameter
(`aws ssm put-parameter --overwrite`) simulates an outage and its recovery:
`failing` fails every call and the healthcheck; `slow` makes every call succeed
only after SLOW_SECONDS while the healthcheck still passes (a brown-out that no
failure count sees, only an alarm on the downstream's Duration).
"""

import os
import time

import boto3

PARAMETER = os.environ.get("HEALTH_PARAMETER", "")
CACHE_SECONDS = float(os.environ.get("HEALTH_CACHE_SECONDS", "1"))
STATES = ("healthy", "slow", "failing")

# Created in the init phase, as AWS recommends: its cost is not billed to, or timed in, any call.
_ssm = boto3.client("ssm") if PARAMETER else None
_cached = (0.0, "healthy")


class DependencyUnavailable(Exception):
    """The example dependency is switched to `failing`."""


def dependency_state() -> str:
    """`healthy`, `slow` or `failing`; cached briefly to stay inside SSM's request rate.

    Without HEALTH_PARAMETER the HEALTHY variable decides (`true` or `false`). An unknown
    parameter value counts as `failing`, so a typo is visible rather than silently healthy.
    """
    global _cached
    if _ssm is None:
        return "healthy" if os.environ.get("HEALTHY", "true").lower() == "true" else "failing"
    now = time.monotonic()
    if now < _cached[0]:
        return _cached[1]
    value = _ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"].strip().lower()
    _cached = (now + CACHE_SECONDS, value if value in STATES else "failing")
    return _cached[1]


def dependency_healthy() -> bool:
    return dependency_state() != "failing"
