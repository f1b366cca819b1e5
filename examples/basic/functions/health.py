"""The example dependency's health switch: an SSM parameter whose value is `healthy` or `failing`.

Shared by the example downstream and healthcheck so that flipping one parameter
(`aws ssm put-parameter --overwrite`) simulates an outage and its recovery.
"""

import os
import time

import boto3

PARAMETER = os.environ.get("HEALTH_PARAMETER", "")
CACHE_SECONDS = float(os.environ.get("HEALTH_CACHE_SECONDS", "1"))

_ssm = None
_cached = (0.0, True)


class DependencyUnavailable(Exception):
    """The example dependency is switched to `failing`."""


def dependency_healthy() -> bool:
    """True unless the parameter says `failing`; cached briefly to stay inside SSM's request rate."""
    global _ssm, _cached
    if not PARAMETER:
        return os.environ.get("HEALTHY", "true").lower() == "true"
    now = time.monotonic()
    if now < _cached[0]:
        return _cached[1]
    if _ssm is None:
        _ssm = boto3.client("ssm")
    value = _ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    _cached = (now + CACHE_SECONDS, value.strip().lower() != "failing")
    return _cached[1]
