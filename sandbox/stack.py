"""Provision one module instance into a local AWS emulator, from the sources Terraform uses.

Names, handler strings and environment variables mirror main.tf / lambda.tf / alarms.tf;
tests/test_contract.py fails when the two drift apart.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from sandbox import definition
from sandbox.runner import FunctionSpec, InProcessRunner

ROOT = definition.ROOT
LAMBDAS = ROOT / "lambdas"
EXAMPLE_FUNCTIONS = ROOT / "examples" / "basic" / "functions"
REGION = "us-east-1"

# function key -> handler string, as in local.functions in lambda.tf
MODULE_FUNCTIONS = {
    "check_circuit": "check_circuit.handler.lambda_handler",
    "record_outcome": "record_outcome.handler.lambda_handler",
    "alarm_handler": "alarm_handler.handler.lambda_handler",
}


@dataclass
class AlarmConfig:
    """Mirrors the downstream_alarm / healthcheck_alarm variable objects."""

    metric_name: str = "Errors"
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    threshold: float = 1
    comparison_operator: str = "GreaterThanOrEqualToThreshold"
    treat_missing_data: str = "notBreaching"
    min_invocations: int = 10


@dataclass
class ModuleConfig:
    """The module variables the local stack honours, with the module's defaults."""

    name: str = "sandbox"
    failure_threshold: int = 5
    success_threshold: int = 1
    half_open_max_probes: int = 1
    open_duration_seconds: float = 30
    max_open_duration_seconds: float = 300
    state_cache_seconds: float = 2
    downstream_timeout_seconds: int = 30
    on_store_error: str = "fail_open"
    ignored_errors: list[str] = field(default_factory=list)
    healthcheck_recovery: str = "close"
    insufficient_data: str = "ignore"
    allowed_circuits: list[str] = field(default_factory=list)
    fallback_mode: str = "fail"
    fallback_payload: Any = None
    downstream_alarm: AlarmConfig = field(default_factory=lambda: AlarmConfig(
        evaluation_periods=3, datapoints_to_alarm=3, comparison_operator="GreaterThanThreshold"))
    healthcheck_alarm: AlarmConfig = field(default_factory=AlarmConfig)

    @property
    def table_name(self) -> str:
        return f"{self.name}-circuits"

    def function_name(self, key: str) -> str:
        return f"{self.name}-{key.replace('_', '-')}"

    def alarm_name(self, role: str) -> str:
        return f"{self.name}-{role}"

    def lambda_environment(self) -> dict[str, str]:
        """The `environment.variables` lambda.tf sets on each of the module's functions."""
        alarms = {self.alarm_name(role): {"circuit": self.name, "role": role} for role in ("downstream", "healthcheck")}
        return {
            "TABLE_NAME": self.table_name,
            "CIRCUIT_NAME": self.name,
            "ALLOWED_CIRCUITS": json.dumps(self.allowed_circuits),
            "FAILURE_THRESHOLD": str(self.failure_threshold),
            "SUCCESS_THRESHOLD": str(self.success_threshold),
            "HALF_OPEN_MAX_PROBES": str(self.half_open_max_probes),
            "OPEN_DURATION_SECONDS": str(self.open_duration_seconds),
            "MAX_OPEN_DURATION_SECONDS": str(self.max_open_duration_seconds),
            "PROBE_LEASE_SECONDS": str(self.downstream_timeout_seconds),
            "STATE_CACHE_SECONDS": str(self.state_cache_seconds),
            "ON_STORE_ERROR": self.on_store_error,
            "IGNORED_ERRORS": json.dumps(self.ignored_errors),
            "HEALTHCHECK_RECOVERY": self.healthcheck_recovery,
            "INSUFFICIENT_DATA": self.insufficient_data,
            "ALARMS": json.dumps(alarms),
            "FALLBACK_MODE": self.fallback_mode,
            "POWERTOOLS_SERVICE_NAME": self.name,
            "POWERTOOLS_METRICS_NAMESPACE": "CircuitBreaker",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }


@dataclass
class Stack:
    """Handles to what `provision` created."""

    config: ModuleConfig
    runner: InProcessRunner
    state_machine_arn: str
    topic_arn: str
    function_arns: dict[str, str]
    health_parameter: str

    def __post_init__(self) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.sns = boto3.client("sns", region_name=REGION)

    def set_health(self, healthy: bool) -> None:
        self.ssm.put_parameter(Name=self.health_parameter, Value="healthy" if healthy else "failing",
                               Type="String", Overwrite=True)

    def start(self, payload: dict | None = None) -> str:
        return self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=uuid.uuid4().hex,
                                        input=json.dumps(payload or {}))["executionArn"]

    def wait(self, execution_arn: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.005)
        raise TimeoutError(f"execution {execution_arn} still running after {timeout}s")

    def call(self, payload: dict | None = None) -> dict:
        """Start an execution and wait for it; returns describe_execution plus `states` entered."""
        arn = self.start(payload)
        described = self.wait(arn)
        described["states"] = self.states_entered(arn)
        return described

    def states_entered(self, execution_arn: str) -> list[str]:
        events = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]

    def item(self) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeDeserializer

        raw = self.ddb.get_item(TableName=self.config.table_name, Key={"id": {"S": self.config.name}},
                                ConsistentRead=True).get("Item", {})
        return {k: TypeDeserializer().deserialize(v) for k, v in raw.items()}

    def publish_alarm(self, role: str, new_state: str, changed_at: str, old_state: str = "OK") -> None:
        """Publish the CloudWatch alarm notification JSON, as CloudWatch does, to the module's topic."""
        self.sns.publish(TopicArn=self.topic_arn, Message=json.dumps(
            alarm_message(self.config.alarm_name(role), new_state, old_state, changed_at)))


def alarm_message(alarm_name: str, new_state: str, old_state: str, changed_at: str, reason: str = "") -> dict:
    return {
        "AlarmName": alarm_name,
        "AlarmDescription": None,
        "AWSAccountId": "123456789012",
        "NewStateValue": new_state,
        "NewStateReason": reason or f"Threshold crossed: {new_state}",
        "StateChangeTime": changed_at,
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{alarm_name}",
        "OldStateValue": old_state,
        "Trigger": {},
    }


def _zip(source_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(source_dir.rglob("*.py")):
            archive.write(path, path.relative_to(source_dir))
    return buffer.getvalue()


def provision(config: ModuleConfig, runner: InProcessRunner | None = None) -> Stack:
    """Create table, functions, topic, subscription, alarms and state machine for `config`."""
    runner = runner or InProcessRunner()
    iam = boto3.client("iam", region_name=REGION)
    role_name = f"{config.name}-sandbox"
    try:
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(TableName=config.table_name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     SSESpecification={"Enabled": True})
    ddb.update_time_to_live(TableName=config.table_name,
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"})

    health_parameter = f"/{config.name}/dependency-health"
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=health_parameter, Value="healthy", Type="String", Overwrite=True)

    lam = boto3.client("lambda", region_name=REGION)
    arns: dict[str, str] = {}
    functions = {key: (handler, LAMBDAS, config.lambda_environment()) for key, handler in MODULE_FUNCTIONS.items()}
    example_env = {"HEALTH_PARAMETER": health_parameter, "HEALTH_CACHE_SECONDS": "0"}
    functions["downstream"] = ("downstream.lambda_handler", EXAMPLE_FUNCTIONS, example_env)
    functions["healthcheck"] = ("healthcheck.lambda_handler", EXAMPLE_FUNCTIONS, example_env)
    if config.fallback_mode == "function":
        functions["fallback"] = ("fallback.lambda_handler", EXAMPLE_FUNCTIONS, example_env)
    for key, (handler, code_dir, environment) in functions.items():
        name = config.function_name(key)
        arns[key] = lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role_arn, Handler=handler,
            Code={"ZipFile": _zip(code_dir)}, Timeout=config.downstream_timeout_seconds,
            Environment={"Variables": environment})["FunctionArn"]
        runner.register(FunctionSpec(name, handler, code_dir, environment))

    sns = boto3.client("sns", region_name=REGION)
    topic_arn = sns.create_topic(Name=f"{config.name}-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=arns["alarm_handler"])

    sfn = boto3.client("stepfunctions", region_name=REGION)
    asl = definition.definition(
        circuit_name=config.name,
        check_circuit_function_arn=arns["check_circuit"],
        record_outcome_function_arn=arns["record_outcome"],
        downstream_function_arn=arns["downstream"],
        downstream_timeout_seconds=config.downstream_timeout_seconds,
        allow_input_circuit=bool(config.allowed_circuits),
        fallback_mode=config.fallback_mode,
        fallback_payload=config.fallback_payload,
        fallback_function_arn=arns.get("fallback"),
    )
    machine_arn = sfn.create_state_machine(name=config.name, definition=asl, roleArn=role_arn)["stateMachineArn"]
    return Stack(config, runner, machine_arn, topic_arn, arns, health_parameter)
