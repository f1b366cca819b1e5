"""Example downstream: the fragile call the circuit breaker protects.

Echoes the request while the dependency is healthy. Raises DependencyUnavailable while
the health parameter says `failing`, and on every fourth call of an execution environment
while it says `degraded`. Raises ValidationError for a request with `"invalid": true`, to
show an error that `ignored_errors` can exclude from the failure count.
"""

from health import DependencyUnavailable, dependency_state

_calls = 0


class ValidationError(Exception):
    """The request itself is wrong: not the dependency's fault."""


def lambda_handler(event, context):
    global _calls
    _calls += 1
    if isinstance(event, dict) and event.get("invalid"):
        raise ValidationError("request rejected: invalid is set")
    state = dependency_state()
    if state == "failing":
        raise DependencyUnavailable("dependency is failing")
    if state == "degraded" and _calls % 4 == 0:
        raise DependencyUnavailable("dependency is degraded: this call failed")
    return {"ok": True, "request": event}
