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

from . import definition
from .cloudwatch import notification
from .runner import FunctionSpec, InProcessRunner, Runner

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
    """Mirrors the downstream_alarm and healthcheck.alarm variable objects."""

    metric_name: str = "Errors"
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    threshold: float = 1
    comparison_operator: str = "GreaterThanOrEqualToThreshold"
    treat_missing_data: str = "notBreaching"
    min_invocations: int = 10
    enabled: bool = True  # downstream_alarm.enabled; for the healthcheck alarm, whether a healthcheck is given


@dataclass
class ModuleConfig:
    """The module variables the local stack honours, with the module's defaults."""

    name: str = "sandbox"
    failure_threshold: int = 10
    success_threshold: int = 1
    half_open_max_probes: int = 1
    open_duration_seconds: float = 30
    max_open_duration_seconds: float = 300
    downstream_timeout_seconds: int = 30
    on_store_error: str = "fail_open"
    ignored_errors: list[str] = field(default_factory=list)
    healthcheck_recovery: str = "close"
    insufficient_data: str = "ignore"
    allowed_circuits: list[str] = field(default_factory=list)
    fallback_mode: str = "fail"
    fallback_payload: Any = None
    downstream_alarm: AlarmConfig = field(
        default_factory=lambda: AlarmConfig(
            metric_name="ErrorRate", evaluation_periods=2, datapoints_to_alarm=2, threshold=25, min_invocations=20
        )
    )
    healthcheck_alarm: AlarmConfig = field(default_factory=lambda: AlarmConfig(treat_missing_data="ignore"))
    healthcheck_schedule_expression: str = "rate(1 minute)"
    log_level: str = "INFO"
    example_slow_seconds: float = 1.0  # not a module variable: how slow examples/basic's downstream is when `slow`

    @property
    def table_name(self) -> str:
        return f"{self.name}-circuits"

    def function_name(self, key: str) -> str:
        return f"{self.name}-{key.replace('_', '-')}"

    def alarm_name(self, role: str) -> str:
        return f"{self.name}-{role}"

    @property
    def schedule_name(self) -> str:
        return f"{self.name}-healthcheck"

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
            "PROBE_LEASE_SECONDS": str(definition.probe_lease_seconds(self.downstream_timeout_seconds)),
            "ON_STORE_ERROR": self.on_store_error,
            "IGNORED_ERRORS": json.dumps(self.ignored_errors),
            "HEALTHCHECK_RECOVERY": self.healthcheck_recovery,
            "INSUFFICIENT_DATA": self.insufficient_data,
            "ALARMS": json.dumps(alarms),
            "FALLBACK_MODE": self.fallback_mode,
            "POWERTOOLS_SERVICE_NAME": self.name,
            "POWERTOOLS_METRICS_NAMESPACE": "CircuitBreaker",
            "POWERTOOLS_LOG_LEVEL": self.log_level,
        }


@dataclass
class Stack:
    """Handles to one module instance with the example's functions: from Terraform's outputs, or from `provision`."""

    runner: Runner
    state_machine_arn: str
    topic_arn: str
    circuit: str
    table_name: str
    function_names: dict[str, str]  # check_circuit, record_outcome, alarm_handler, downstream, healthcheck
    alarm_names: dict[str, str]  # downstream, healthcheck (those enabled)
    health_parameter: str
    function_arns: dict[str, str] = field(default_factory=dict)
    config: ModuleConfig | None = None  # what `provision` was given
    notification_topic_arn: str | None = None  # the example's circuit notifications

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any], runner: Runner) -> Stack:
        """The instance `terraform apply` of examples/basic created, from the example's outputs."""
        return cls(
            runner=runner,
            state_machine_arn=outputs["state_machine_arn"],
            topic_arn=outputs["sns_topic_arn"],
            circuit=outputs["circuit_name"],
            table_name=outputs["dynamodb_table_name"],
            function_names=dict(outputs["lambda_function_names"]),
            alarm_names=dict(outputs["cloudwatch_alarm_names"]),
            health_parameter=outputs["health_parameter"],
            notification_topic_arn=outputs.get("notification_topic_arn"),
        )

    def alarm(self, role: str) -> dict[str, Any]:
        """The `role` alarm as the emulator holds it (DescribeAlarms)."""
        (alarm,) = self.cloudwatch.describe_alarms(AlarmNames=[self.alarm_names[role]])["MetricAlarms"]
        return dict(alarm)

    def __post_init__(self) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.sns = boto3.client("sns", region_name=REGION)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)

    def set_health(self, health: bool | str) -> None:
        """Flip the example dependency: True/"healthy", "slow" (every call takes SLOW_SECONDS), False/"failing"."""
        value = health if isinstance(health, str) else ("healthy" if health else "failing")
        if value not in ("healthy", "slow", "failing"):
            raise ValueError(f"health must be healthy, slow or failing; got {health!r}")
        self.ssm.put_parameter(Name=self.health_parameter, Value=value, Type="String", Overwrite=True)

    def start(self, payload: dict | None = None) -> str:
        return self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=uuid.uuid4().hex, input=json.dumps(payload or {})
        )["executionArn"]

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

        raw = self.ddb.get_item(TableName=self.table_name, Key={"id": {"S": self.circuit}}, ConsistentRead=True).get(
            "Item", {}
        )
        return {k: TypeDeserializer().deserialize(v) for k, v in raw.items()}

    def publish_alarm(self, role: str, new_state: str, changed_at: str, old_state: str = "OK") -> None:
        """Publish the notification CloudWatch would send for this module's `role` alarm to its topic."""
        name = self.alarm_names[role]
        stored = self.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        alarm = (
            stored[0]
            if stored
            else {
                "AlarmName": name,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            }
        )
        message = notification(alarm, old_state, new_state, "published by the sandbox", changed_at)
        self.sns.publish(TopicArn=self.topic_arn, Message=json.dumps(message))


def alarm_definitions(config: ModuleConfig, function_names: dict[str, str], topic_arn: str) -> list[dict[str, Any]]:
    """PutMetricAlarm requests for the aws_cloudwatch_metric_alarm resources of alarms.tf."""
    actions = {
        "AlarmActions": [topic_arn],
        "OKActions": [topic_arn],
        "InsufficientDataActions": [] if config.insufficient_data == "ignore" else [topic_arn],
    }
    definitions = []
    for role, alarm in (("downstream", config.downstream_alarm), ("healthcheck", config.healthcheck_alarm)):
        if not alarm.enabled:
            continue
        dimensions = [{"Name": "FunctionName", "Value": function_names[role]}]
        request: dict[str, Any] = {
            "AlarmName": config.alarm_name(role),
            "AlarmDescription": f"Circuit breaker {config.name}: {role} alarm.",
            "ComparisonOperator": alarm.comparison_operator,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data,
            **actions,
        }
        if alarm.metric_name == "ErrorRate":
            request["Metrics"] = [
                *(
                    {
                        "Id": key,
                        "ReturnData": False,
                        "MetricStat": {
                            "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dimensions},
                            "Period": alarm.period,
                            "Stat": "Sum",
                        },
                    }
                    for key, metric in (("errors", "Errors"), ("invocations", "Invocations"))
                ),
                {
                    "Id": "error_rate",
                    "Label": "Error rate (%)",
                    "ReturnData": True,
                    "Expression": f"IF(invocations >= {alarm.min_invocations}, 100 * errors / invocations, 0)",
                },
            ]
        else:
            statistic = (
                "Statistic"
                if alarm.statistic in ("Sum", "Average", "Minimum", "Maximum", "SampleCount")
                else "ExtendedStatistic"
            )
            request.update(
                {
                    "Namespace": "AWS/Lambda",
                    "MetricName": alarm.metric_name,
                    "Period": alarm.period,
                    statistic: alarm.statistic,
                    "Dimensions": dimensions,
                }
            )
        definitions.append(request)
    return definitions


def rendered_definition(config: ModuleConfig, arns: dict[str, str]) -> str:
    """The definition as main.tf renders it for `config`, calling the functions in `arns`."""
    return definition.definition(
        circuit_name=config.name,
        table_name=config.table_name,
        check_circuit_function_arn=arns["check_circuit"],
        record_outcome_function_arn=arns["record_outcome"],
        downstream_function_arn=arns["downstream"],
        downstream_timeout_seconds=config.downstream_timeout_seconds,
        allow_input_circuit=bool(config.allowed_circuits),
        fallback_mode=config.fallback_mode,
        fallback_payload=config.fallback_payload,
        fallback_function_arn=arns.get("fallback"),
        on_store_error=config.on_store_error,
    )


def _zip(source_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(source_dir.rglob("*.py")):
            archive.write(path, path.relative_to(source_dir))
    return buffer.getvalue()


def provision(config: ModuleConfig, runner: Runner | None = None) -> Stack:
    """Create table, functions, topic, subscription, alarms and state machine for `config`."""
    runner = runner or InProcessRunner()
    iam = boto3.client("iam", region_name=REGION)
    role_name = f"{config.name}-sandbox"
    try:
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName=config.table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        SSESpecification={"Enabled": True},
    )
    ddb.update_time_to_live(
        TableName=config.table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )

    health_parameter = f"/{config.name}/dependency-health"
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=health_parameter, Value="healthy", Type="String", Overwrite=True
    )

    lam = boto3.client("lambda", region_name=REGION)
    arns: dict[str, str] = {}
    functions = {key: (handler, LAMBDAS, config.lambda_environment()) for key, handler in MODULE_FUNCTIONS.items()}
    example_env = {
        "HEALTH_PARAMETER": health_parameter,
        "HEALTH_CACHE_SECONDS": "0",
        "SLOW_SECONDS": str(config.example_slow_seconds),
    }
    functions["downstream"] = ("downstream.lambda_handler", EXAMPLE_FUNCTIONS, example_env)
    functions["healthcheck"] = ("healthcheck.lambda_handler", EXAMPLE_FUNCTIONS, example_env)
    if config.fallback_mode == "function":
        functions["fallback"] = ("fallback.lambda_handler", EXAMPLE_FUNCTIONS, example_env)
    for key, (handler, code_dir, environment) in functions.items():
        name = config.function_name(key)
        arns[key] = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn,
            Handler=handler,
            Code={"ZipFile": _zip(code_dir)},
            Timeout=config.downstream_timeout_seconds,
            Environment={"Variables": environment},
        )["FunctionArn"]
        runner.register(FunctionSpec(name, handler, code_dir, environment, config.downstream_timeout_seconds))

    sns = boto3.client("sns", region_name=REGION)
    topic_arn = sns.create_topic(Name=f"{config.name}-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=arns["alarm_handler"])
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    function_names = {key: config.function_name(key) for key in arns}
    for request in alarm_definitions(config, function_names, topic_arn):
        cloudwatch.put_metric_alarm(**request)
    boto3.client("scheduler", region_name=REGION).create_schedule(
        Name=config.schedule_name,
        ScheduleExpression=config.healthcheck_schedule_expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": arns["healthcheck"],
            "RoleArn": role_arn,
            "Input": json.dumps({"source": "circuit-breaker", "circuit": config.name}),
        },
    )

    sfn = boto3.client("stepfunctions", region_name=REGION)
    asl = rendered_definition(config, arns)
    machine_arn = sfn.create_state_machine(name=config.name, definition=asl, roleArn=role_arn)["stateMachineArn"]
    return Stack(
        runner=runner,
        state_machine_arn=machine_arn,
        topic_arn=topic_arn,
        circuit=config.name,
        table_name=config.table_name,
        function_names=function_names,
        # Disabled alarms too: the tests and benchmarks publish their notifications by hand.
        alarm_names={role: config.alarm_name(role) for role in ("downstream", "healthcheck")},
        health_parameter=health_parameter,
        function_arns=arns,
        config=config,
    )
