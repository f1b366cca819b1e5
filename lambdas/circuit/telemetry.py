"""Powertools Logger and Metrics, created once per execution environment.

Service name, namespace and log level come from the POWERTOOLS_* variables Terraform sets.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="circuit-breaker")
metrics = Metrics(namespace="CircuitBreaker", service="circuit-breaker")


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
