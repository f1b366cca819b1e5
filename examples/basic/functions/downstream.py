"""Example downstream: the fragile call the circuit breaker protects.

Echoes the request while the dependency is healthy. Raises DependencyUnavailable while
the health parameter says `failing`; answers after SLOW_SECONDS (default 1) while it says
`slow`. Raises ValidationError for a request with `"invalid": true`, to show an error that
`ignored_errors` can exclude from the failure count.
"""

import os
import time

from health import DependencyUnavailable, dependency_state

SLOW_SECONDS = float(os.environ.get("SLOW_SECONDS", "1"))


class ValidationError(Exception):
    """The request itself is wrong: not the dependency's fault."""


def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("invalid"):
        raise ValidationError("request rejected: invalid is set")
    state = dependency_state()
    if state == "failing":
        raise DependencyUnavailable("dependency is failing")
    if state == "slow":
        time.sleep(SLOW_SECONDS)
    return {"ok": True, "request": event}
