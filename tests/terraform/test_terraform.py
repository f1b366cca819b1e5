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
    ROOT / "tests" / "adopter",
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


# What each run under mistakes/ (a file named after it) must be told: the rule it broke and the likely fix.
MISTAKES = {
    "a_fallback_mode_that_ignores_the_payload": 'fallback_payload is set, but fallback_mode is "fail", which ignores '
    'it: set fallback_mode = "payload" (or leave it out)',
    "both_fallbacks": "fallback_payload and fallback_function_arn are both set",
    "an_invoke_arn_for_the_function_arn": "downstream_function_arn is an invoke_arn",
    "a_function_name_for_the_function_arn": 'downstream_function_arn is "orders-api", not an ARN',
    "an_express_timeout_too_long": 'For a longer call set type = "STANDARD"',
    "a_name_too_long": "name is 47 characters long: it must be 1 to 40",
    "a_name_with_spaces": 'name "orders api" holds a character other than letters, digits, hyphens and underscores',
}


def test_common_mistakes_fail_at_plan_with_the_likely_fix(cli_config):
    init = terraform(
        ROOT, "init", "-backend=false", "-input=false", "-test-directory=tests/terraform/mistakes", config=cli_config
    )
    assert init.retcode == 0, init.output
    result = terraform(ROOT, "test", "-test-directory=tests/terraform/mistakes", "-no-color", config=cli_config)
    assert result.retcode == 1
    assert f"0 passed, {len(MISTAKES)} failed." in result.output, result.output
    assert set(re.findall(r'run "(\w+)"\.\.\. fail', result.output)) == set(MISTAKES), result.output
    # Every message is distinct: each appears only when its mistake is made.
    for run, message in MISTAKES.items():
        assert message in " ".join(result.output.split()), f"{run}: {message!r} not in the output"
        # Located on the line of the caller's own block that set the input, as a module user would see it.
        assert f"on tests/terraform/mistakes/{run}.tftest.hcl line 1" in result.output, f"{run}: not located"
    assert "(source code not available)" not in result.output
