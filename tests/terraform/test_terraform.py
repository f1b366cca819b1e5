"""The real Terraform, offline, against the real AWS provider schema (tools/stand_in_provider)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.stand_in_provider.terraform import ROOT, install, terraform

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
MODULES = [
    ROOT,
    *sorted(p.parent for p in (ROOT / "examples").glob("*/main.tf")),
    ROOT / "circuit_sandbox" / "instances",
]


@pytest.fixture(scope="module")
def cli_config() -> Path:
    return install()


def ids(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path != ROOT else "root"


@pytest.mark.parametrize("module", MODULES, ids=ids)
def test_every_module_validates_against_the_provider_schema(module, cli_config):
    init = terraform(module, "init", "-backend=false", "-input=false", config=cli_config)
    assert init.retcode == 0, init.output
    result = terraform(module, "validate", config=cli_config)
    assert result.retcode == 0, result.output
    assert "Error" not in result.output


@pytest.mark.parametrize(
    "fixture, error",
    [
        ("unknown_argument", "Unsupported argument"),
        ("missing_required", "Missing required argument"),
        ("undeclared_variable", "Reference to undeclared input variable"),
        ("computed_only", "Value for computed-only attribute"),
    ],
)
def test_the_harness_reports_what_the_provider_would_reject(fixture, error, cli_config):
    result = terraform(FIXTURES / fixture, "validate", config=cli_config)
    assert result.retcode == 1
    assert f"Error: {error}" in result.output


def test_native_terraform_tests_pass_with_every_run(cli_config):
    init = terraform(
        ROOT, "init", "-backend=false", "-input=false", "-test-directory=tests/terraform", config=cli_config
    )
    assert init.retcode == 0, init.output
    result = terraform(ROOT, "test", "-test-directory=tests/terraform", config=cli_config)
    assert result.retcode == 0, result.output
    runs = sum(len(re.findall(r'^run "', f.read_text(), re.MULTILINE)) for f in HERE.glob("*.tftest.hcl"))
    assert runs >= 40
    assert f"Success! {runs} passed, 0 failed." in result.output
