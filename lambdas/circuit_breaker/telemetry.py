"""Powertools Logger and Metrics, created once per execution environment.

Service name, namespace and log level come from the POWERTOOLS_* variables Terraform sets per
module instance: nothing here passes them explicitly, since an explicit value would win.
Every metric carries its circuit as a dimension, so one circuit can be graphed and alarmed on.
"""

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared import constants

# Defaults for where Terraform sets nothing (circuitctl, tests): Powertools has no namespace of
# its own, and it reads these variables as it would Terraform's.
os.environ.setdefault(constants.SERVICE_NAME_ENV, "circuit-breaker")
os.environ.setdefault(constants.METRICS_NAMESPACE_ENV, "CircuitBreaker")

logger = Logger()
metrics = Metrics()

CIRCUIT_DIMENSION = "circuit"
# Properties every metric blob carries (EMF metadata, not dimensions: alarms and dashboards keep their metrics).
_properties: dict[str, str] = {}


_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def instrumented(handler: _Handler) -> _Handler:
    """A Lambda handler with Powertools' context in every log line (cleared per invocation) and its metrics
    flushed when it returns: what every handler of this package is wrapped in."""
    return cast(_Handler, logger.inject_lambda_context(clear_state=True)(metrics.log_metrics(handler)))


def mark(**properties: str) -> None:
    """Give every metric from now on these properties, e.g. mode="observe" (handlers call it once, at init)."""
    _properties.update(properties)


def count(name: str, circuit: str, value: int = 1) -> None:
    """Count one event of `circuit`.

    A dimension applies to every metric of an EMF blob, and one alarm batch may touch several
    circuits: what is buffered for another circuit is flushed first, as a blob of its own.
    """
    _add(name, circuit, MetricUnit.Count, value)


def gauge(name: str, circuit: str, value: float) -> None:
    """Record a level of `circuit` (e.g. its state), flushed at once so that two levels of one
    batch stay two datapoints instead of being summed."""
    _add(name, circuit, MetricUnit.NoUnit, value)
    metrics.flush_metrics()


def _add(name: str, circuit: str, unit: MetricUnit, value: float) -> None:
    if metrics.metric_set and metrics.dimension_set.get(CIRCUIT_DIMENSION) != circuit:
        metrics.flush_metrics()
    metrics.add_dimension(name=CIRCUIT_DIMENSION, value=circuit)
    for key, property_value in _properties.items():
        metrics.add_metadata(key=key, value=property_value)
    metrics.add_metric(name=name, unit=unit, value=value)
