"""Shared fixtures: an emulated AWS account (moto) and module instances provisioned into it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from sandbox.emulator import atomic_dynamodb, lighter_interpreter
from sandbox.runner import InProcessRunner
from sandbox.stack import ModuleConfig, Stack, provision

EVENTS = Path(__file__).parent / "events"

# moto's ASL interpreter logs every failed state at WARNING; the assertions say what matters.
logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


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
def make_stack(aws: None) -> Iterator[Callable[..., Stack]]:
    """Provision a module instance (real ASL, real handlers run in-process) with the given variables."""
    runner = InProcessRunner()
    with runner.hooked_into_moto():
        yield lambda **variables: provision(ModuleConfig(**variables), runner)


@pytest.fixture
def lambda_context():
    from sandbox.worker import Context

    return Context("test-function", "test-request", 30, "us-east-1")
