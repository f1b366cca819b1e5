"""Example downstream: the fragile call the circuit breaker protects.

Raises DependencyUnavailable while the health parameter says `failing`; otherwise echoes
the request. Raises ValidationError for a request with `"invalid": true`, to show an
error that `ignored_errors` can exclude from the failure count.
"""

from health import DependencyUnavailable, dependency_healthy


class ValidationError(Exception):
    """The request itself is wrong: not the dependency's fault."""


def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("invalid"):
        raise ValidationError("request rejected: invalid is set")
    if not dependency_healthy():
        raise DependencyUnavailable("dependency is failing")
    return {"ok": True, "request": event}
