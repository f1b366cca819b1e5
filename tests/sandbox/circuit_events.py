"""Deploy the module's circuit events (events.tf) into the emulator, read from the HCL.

Until the sandbox provisions through Terraform, these tests create what events.tf creates (the
table's stream, the sent-events table, the events function, its event source mapping and the
notification rule) with boto3. Names, settings, the filter, the event pattern and the input
transformer are read from the HCL and the variables' defaults, not restated: an expression is
resolved against a scope holding `var.name` and the defaults of variables.tf.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3

from sandbox.runner import FunctionSpec, ProcessRunner
from sandbox.stack import LAMBDAS, ModuleConfig
from tests.hcl import hcl, local, resource, unquote

INTERVAL = 0.15  # the pump's and the observers'

REFERENCE = re.compile(r"\$\{([\w.]+)\}")
OPTIONAL = re.compile(r'(\w+) = optional\([\w()]+, ("[^"]*"|-?[\d.]+|true|false|\[[^\]]*\])\)')


def variable_defaults(variable: str) -> dict[str, Any]:
    """The `optional(type, default)` defaults of an object variable."""
    [block] = [b[variable] for b in unquote(hcl("variables.tf")["variable"]) if variable in b]
    return {key: json.loads(value) for key, value in OPTIONAL.findall(block["type"])}


def default(variable: str) -> Any:
    [block] = [b[variable] for b in unquote(hcl("variables.tf")["variable"]) if variable in b]
    return block["default"]


class Scope:
    """Resolves `${var.…}` and `${local.…}` references of one instance named `name` with default settings."""

    def __init__(self, name: str, allowed_circuits: list[str] | None = None) -> None:
        self.name = name
        self.values: dict[str, Any] = {"var.name": name}
        for key, value in variable_defaults("circuit_events").items():
            self.values[f"var.circuit_events.{key}"] = value
        # local.function_circuits.check_circuit: distinct(concat([local.circuit_name], var.allowed_circuits))
        self.values["local.function_circuits.check_circuit"] = list(dict.fromkeys([name, *(allowed_circuits or [])]))

    def __call__(self, expression: Any) -> Any:
        if not isinstance(expression, str):
            return expression
        whole = REFERENCE.fullmatch(expression)
        if whole:
            return self.lookup(whole.group(1))
        return REFERENCE.sub(lambda m: str(self.lookup(m.group(1))), expression)

    def resolve(self, value: Any) -> Any:
        """`value` with every string in it resolved."""
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return self(value)

    def lookup(self, reference: str) -> Any:
        if reference in self.values:
            return self.values[reference]
        kind, _, name = reference.partition(".")
        if kind == "var":
            return default(name)
        if kind == "local":
            for path in ("events.tf", "lambda.tf", "main.tf", "dynamodb.tf", "iam.tf"):
                try:
                    return self(local(path, name))
                except KeyError:
                    continue
        raise KeyError(f"cannot resolve {reference}")

    def jsonencode(self, expression: str) -> Any:
        """`${jsonencode({a = {b = local.x}})}`: the HCL object literal as JSON, references resolved."""
        body = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", expression, re.S)
        if body is None:
            raise ValueError(f"not a jsonencode expression: {expression}")
        text = re.sub(r"(\w+) = ", r'"\1": ', body.group(1))
        text = re.sub(r"(?<![\"\w])((?:local|var)\.[\w.]+)", lambda m: json.dumps(self.lookup(m.group(1))), text)
        return json.loads(text)


@dataclass
class CircuitEvents:
    config: ModuleConfig
    stream_arn: str
    function_name: str
    mapping_uuid: str
    notification_rule: str | None


def deploy(runner: ProcessRunner, name: str, notification_topic_arn: str | None = None) -> CircuitEvents:
    """The circuit table with its stream, and what events.tf adds for an instance named `name`."""
    scope, config = Scope(name), ModuleConfig(name=name)
    ddb = boto3.client("dynamodb")
    table = resource("dynamodb.tf", "aws_dynamodb_table", "this")
    view_type = re.search(r'"(\w+)"', table["stream_view_type"]).group(1)  # type: ignore[union-attr]  # the value when enabled
    stream_arn = ddb.create_table(
        TableName=config.table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
    )["TableDescription"]["LatestStreamArn"]
    ddb.create_table(
        TableName=scope.lookup("local.sent_events_table_name"),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )

    function_name = config.function_name("circuit_events")
    function = local("events.tf", "circuit_events_function")["circuit_events"]
    environment = {key: str(scope(value)) for key, value in local("events.tf", "circuit_events_environment").items()}
    role = boto3.client("iam").create_role(RoleName=f"{name}-events", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function_arn = boto3.client("lambda").create_function(
        FunctionName=function_name,
        Runtime="python3.12",
        Role=role,
        Handler=function["handler"],
        Code={"ZipFile": package_zip(function["handler"].split(".")[0])},
        Timeout=int(function["timeout"]),
        Environment={"Variables": environment},
    )["FunctionArn"]
    runner.register(FunctionSpec(function_name, function["handler"], LAMBDAS, environment, int(function["timeout"])))
    runner.warm(function_name)

    mapping = resource("events.tf", "aws_lambda_event_source_mapping", "circuit_events")
    [filters] = mapping["filter_criteria"]
    mapping_uuid = boto3.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function_arn,
        StartingPosition=mapping["starting_position"],
        BatchSize=int(scope(mapping["batch_size"])),
        MaximumRetryAttempts=int(scope(mapping["maximum_retry_attempts"])),
        BisectBatchOnFunctionError=mapping["bisect_batch_on_function_error"],
        FunctionResponseTypes=mapping["function_response_types"],
        FilterCriteria={
            "Filters": [{"Pattern": json.dumps(scope.jsonencode(f["pattern"]))} for f in filters["filter"]]
        },
    )["UUID"]

    rule_name = None
    if notification_topic_arn is not None:
        rule_name = notification_rule(scope, notification_topic_arn)
    return CircuitEvents(config, stream_arn, function_name, mapping_uuid, rule_name)


def notification_rule(scope: Scope, topic_arn: str) -> str:
    """events.tf's notification rule and target, with the default statuses."""
    rule = resource("events.tf", "aws_cloudwatch_event_rule", "notifications")
    target = resource("events.tf", "aws_cloudwatch_event_target", "notifications")
    # merge(local.circuit_event_pattern, {detail = merge(…detail, {status = var.notifications.statuses})})
    pattern = scope.resolve(local("events.tf", "circuit_event_pattern"))
    pattern["detail"]["status"] = variable_defaults("notifications")["statuses"]
    [transformer] = target["input_transformer"]
    events = boto3.client("events")
    bus = scope(rule["event_bus_name"])
    name = scope(rule["name"])
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=name,
        EventBusName=bus,
        Targets=[
            {
                "Id": target["target_id"],
                "Arn": topic_arn,
                "InputTransformer": {
                    "InputPathsMap": transformer["input_paths"],
                    "InputTemplate": scope(transformer["input_template"]).replace('\\"', '"'),
                },
            }
        ],
    )
    return name


def package_zip(package: str) -> bytes:
    """The function's zip as lambda.tf's archive lays it out: the shared core and the handler package."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in ("circuit_breaker", package):
            for source in sorted((LAMBDAS / folder).glob("*.py")):
                archive.write(source, f"{folder}/{source.name}")
    return buffer.getvalue()
