"""Shared fixtures: an emulated AWS account (moto), the module's functions, and instances Terraform applies."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from circuit_breaker.settings import ENVIRONMENT
from circuit_sandbox.aws.runner import FunctionSpec, InProcessRunner
from circuit_sandbox.aws.server import atomic_dynamodb, lighter_interpreter, local_aws
from circuit_sandbox.stack import REGION, Stack, instances_applied
from tests.hcl import ROOT, local

EVENTS = Path(__file__).parent / "events"
LAMBDAS = ROOT / "lambdas"
# The folders the deployed packages are built from: the in-process runner runs a package from its
# folder when they hold the same bytes, so that coverage sees the handlers.
SOURCES = (LAMBDAS, ROOT / "examples" / "basic" / "functions")

# moto's ASL interpreter logs every failed state at WARNING; the assertions say what matters.
logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def module_function(function: str, circuit: str = "orders", **variables: Any) -> FunctionSpec:
    """One of the module's functions for an instance named `circuit`, as a unit test runs it.

    The handler string is lambda.tf's. The environment holds what the settings reader requires, the
    alarm bindings of both alarms (alarms.tf's names), and each module variable given, under the
    environment variable lambda.tf sets from it; the rest keep the reader's defaults.
    """
    deployed = local("lambda.tf", "functions")[function]
    alarm_names = {
        role: name.replace("${var.name}", circuit) for role, name in local("alarms.tf", "alarm_names").items()
    }
    environment = {
        "TABLE_NAME": f"{circuit}-circuits",
        "CIRCUIT_NAME": circuit,
        "ALARMS": json.dumps({name: {"circuit": circuit, "role": role} for role, name in alarm_names.items()}),
        "POWERTOOLS_SERVICE_NAME": circuit,
        "POWERTOOLS_METRICS_NAMESPACE": local("lambda.tf", "metrics_namespace"),
    }
    assert {name for name, (required, _) in ENVIRONMENT.items() if required} <= set(environment)
    set_from = environment_of_variables()
    for variable, value in variables.items():
        if variable not in set_from:
            raise KeyError(f"lambda.tf sets no environment variable from var.{variable}")
        name, encoded = set_from[variable]
        environment[name] = json.dumps(value) if encoded else str(value)
    name = f"{circuit}-{function.replace('_', '-')}"
    return FunctionSpec(name, deployed["handler"], LAMBDAS, environment, float(deployed["timeout"]))


def environment_of_variables() -> dict[str, tuple[str, bool]]:
    """var.<name> -> (the environment variable lambda.tf sets from it alone, whether it is jsonencode'd).

    A variable whose null is passed as "" (var.x == null ? "" : var.x) counts as set from it alone."""
    found = {}
    for name, expression in local("lambda.tf", "function_environment").items():
        plain = re.fullmatch(r"\$\{(?:(tostring|jsonencode)\()?var\.(\w+)\)?\}", expression)
        if plain:
            found[plain.group(2)] = (name, plain.group(1) == "jsonencode")
        elif nullable := re.fullmatch(r'\$\{var\.(\w+) == null \? "" : var\.\1\}', expression):
            found[nullable.group(1)] = (name, False)
    return found


@contextmanager
def applied(instances: dict[str, dict[str, Any]]) -> Iterator[dict[str, Stack]]:
    """circuit_sandbox/instances applied by the real Terraform into a moto server in this process.

    Handlers run in this process (`InProcessRunner`), from the packages Terraform deployed.
    """
    runner = InProcessRunner(sources=SOURCES)
    with local_aws(REGION) as endpoint, runner.hooked_into_moto():
        try:
            yield instances_applied(endpoint, runner, instances)
        finally:
            runner.close()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region for boto3, so nothing can reach a real account."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), atomic_dynamodb(), lighter_interpreter():
        yield


@pytest.fixture
def lambda_context():
    from circuit_sandbox.aws.worker import Context

    return Context("test-function", "test-request", 30, "us-east-1")
