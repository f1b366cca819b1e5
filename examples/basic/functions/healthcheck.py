"""Example healthcheck: run on a schedule; raises while the dependency is unhealthy.

Its CloudWatch Errors alarm is what opens the circuit out of band and closes it again.
"""

from health import DependencyUnavailable, dependency_healthy


def lambda_handler(event, context):
    if not dependency_healthy():
        raise DependencyUnavailable("healthcheck failed: dependency is failing")
    return {"healthy": True}
