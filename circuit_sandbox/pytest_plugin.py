"""pytest fixtures for testing your own root module against AWS on this machine.

Installed with the package (the `pytest11` entry point), so any test can ask for `circuit_sandbox`:

    @pytest.fixture(scope="session")
    def outputs(circuit_sandbox):
        return circuit_sandbox.apply("infra/")  # terraform apply, once per session; its outputs

    def test_checkout(outputs):
        result = invoke(outputs["state_machine_arn"], {"order": 1})

`circuit_sandbox` starts the emulator for the session (what `circuit-sandbox up` starts), points
this process's boto3 at it (AWS_ENDPOINT_URL), applies root modules with the real Terraform and the
stand-in provider, and destroys them at the end. Alarm periods and schedules run as on AWS unless
the `circuit_sandbox_time_scale` ini option says how many times faster.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "circuit_sandbox_time_scale",
        "circuit_sandbox: how many times faster than on AWS alarm periods and schedules run (default 1)",
        default="1",
    )
    parser.addini(
        "circuit_sandbox_max_environments",
        "circuit_sandbox: execution environments per Lambda function at most (default 10)",
        default="10",
    )


class LocalAWS:
    """The running sandbox: its endpoint, a boto3 session for it, and the root modules applied into it."""

    def __init__(self, endpoint: str, region: str, echo: Callable[[str], None]) -> None:
        import boto3

        self.endpoint, self.region = endpoint, region
        # The emulator set AWS_ENDPOINT_URL and test credentials in this process: every client goes there.
        self.session = boto3.Session(region_name=region)
        self._echo = echo
        self._applied: dict[tuple[Path, str], dict[str, Any]] = {}

    def apply(self, directory: str | Path, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`terraform apply` the root module in `directory` with `variables` (once per session); its outputs."""
        from . import terraform

        key = (Path(directory).resolve(), json.dumps(variables or {}, sort_keys=True))
        if key not in self._applied:
            self._applied[key] = terraform.apply(
                self.endpoint, variables or {}, self._echo, directory=key[0], region=self.region
            )
        return self._applied[key]

    def destroy_all(self) -> None:
        """`terraform destroy` every root module `apply` applied, the last first."""
        from . import terraform

        for directory, variables in reversed(list(self._applied)):
            terraform.destroy(self.endpoint, json.loads(variables), self._echo, directory=directory, region=self.region)
        self._applied.clear()


@pytest.fixture(scope="session")
def circuit_sandbox(pytestconfig: pytest.Config) -> Iterator[LocalAWS]:
    """AWS on this machine for the test session; what `apply` applied is destroyed at its end."""
    from .aws import REGION, emulator

    time_scale = float(pytestconfig.getini("circuit_sandbox_time_scale"))
    max_environments = int(pytestconfig.getini("circuit_sandbox_max_environments"))
    with emulator(max_environments, time_scale=time_scale) as running:
        local = LocalAWS(running.endpoint, REGION, echo=lambda line: print(f"terraform: {line}"))
        try:
            yield local
        finally:
            local.destroy_all()
