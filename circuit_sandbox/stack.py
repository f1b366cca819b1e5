"""Handles to module instances that the real Terraform applied into the emulator.

`Stack` drives one instance through what Terraform created: `from_outputs` reads the names
from the outputs of `examples/basic`, or of one instance of `circuit_sandbox/instances`
(`instances_applied`), which apply the module's own HCL. Nothing here restates a name,
handler, environment variable or alarm setting of the module.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from circuit_breaker.model import DEFAULT_TABLE_KEY, TableKey
from circuit_breaker.settings import Settings

from . import terraform
from .aws import REGION, Emulator
from .aws.cloudwatch import notification
from .aws.runner import Runner


@dataclass
class Stack:
    """Handles to one module instance with the example's functions, from Terraform's outputs."""

    runner: Runner
    state_machine_arn: str
    topic_arn: str
    circuit: str
    table_name: str
    function_names: dict[str, str]  # check_circuit, record_outcome, alarm_handler, downstream, healthcheck
    alarm_names: dict[str, str]  # downstream, healthcheck (those enabled)
    health_parameter: str
    notification_topic_arn: str | None = None  # the circuit notifications' topic, if any
    notification_rule_arn: str | None = None  # the module's rule that sends them there
    table_key: TableKey = DEFAULT_TABLE_KEY  # how the table keys circuits (table_key)

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any], runner: Runner) -> Stack:
        """The instance `terraform apply` created: from the outputs of examples/basic or of one instances instance."""
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
            notification_rule_arn=outputs.get("notification_rule_arn"),
            table_key=TableKey.from_json(outputs.get("table_key") or "{}"),
        )

    def settings(self) -> Settings:
        """The circuit settings the instance's functions run with, read from the environment Terraform gave them."""
        configuration = self.lambda_client.get_function_configuration(FunctionName=self.function_names["check_circuit"])
        return Settings.from_environment(configuration["Environment"]["Variables"])

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
        self.lambda_client = boto3.client("lambda", region_name=REGION)

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

    def wait(self, execution_arn: str, timeout: float = 30, poll: float = 0.005) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(poll)
        raise TimeoutError(f"execution {execution_arn} still running after {timeout}s")

    def run(self, count: int, batch: int = 50) -> list[dict]:
        """`count` executions with empty input, `batch` running at a time; describe_execution of each."""
        described: list[dict] = []
        while len(described) < count:
            arns = [self.start() for _ in range(min(batch, count - len(described)))]
            described += [self.wait(arn, timeout=120, poll=0.05) for arn in arns]
        return described

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

        key = self.table_key.of(self.circuit)
        raw = self.ddb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item", {})
        return {k: TypeDeserializer().deserialize(v) for k, v in raw.items()}

    def publish_alarm(self, role: str, new_state: str, changed_at: str, old_state: str = "OK") -> None:
        """Publish the notification CloudWatch would send for this instance's `role` alarm to its topic."""
        message = notification(self.alarm(role), old_state, new_state, "published by the sandbox", changed_at)
        self.sns.publish(TopicArn=self.topic_arn, Message=json.dumps(message))

    def clear(self) -> None:
        """Forget every circuit in the instance's table and make its dependency healthy: a fresh instance. Other items
        of a single table stay."""
        attributes = self.table_key.attributes
        pages = self.ddb.get_paginator("scan").paginate(
            TableName=self.table_name, ProjectionExpression=",".join(attributes)
        )
        try:
            for page in pages:
                for item in page["Items"]:
                    if self.table_key.name_in(item) is not None:
                        self.ddb.delete_item(TableName=self.table_name, Key={name: item[name] for name in attributes})
        except self.ddb.exceptions.ResourceNotFoundException:
            pass  # an instance on a table that does not exist holds no circuit
        self.set_health(True)


def applied(emulator: Emulator, variables: dict[str, Any], echo: Callable[[str], None], warm: int = 1) -> Stack:
    """`terraform apply` examples/basic into `emulator` with `variables`; its functions warmed (see `warmed`)."""
    stack = Stack.from_outputs(terraform.apply(emulator.endpoint, variables, echo), emulator.runner)
    warmed(emulator, stack, warm)
    return stack


def destroyed(emulator: Emulator, variables: dict[str, Any], echo: Callable[[str], None]) -> None:
    """`terraform destroy` what `applied` created with `variables`."""
    terraform.destroy(emulator.endpoint, variables, echo)


def instances_applied(
    endpoint: str, runner: Runner, instances: dict[str, dict[str, Any]], echo: Callable[[str], None] = lambda line: None
) -> dict[str, Stack]:
    """`terraform apply` circuit_sandbox/instances into the emulator at `endpoint`: a Stack per instance.

    `instances` maps each instance's name to the module variables it sets (the attributes of
    circuit_sandbox/instances' `instances` variable); the rest keep the module's defaults.
    """
    outputs = terraform.apply(endpoint, {"instances": instances}, echo, directory=terraform.INSTANCES)
    return {name: Stack.from_outputs(values, runner) for name, values in outputs["instances"].items()}


def instances_warmed(
    emulator: Emulator,
    instances: dict[str, dict[str, Any]],
    echo: Callable[[str], None] = lambda line: None,
    warm: int = 1,
) -> dict[str, Stack]:
    """`instances_applied` into `emulator`, every instance's functions warmed (see `warmed`)."""
    stacks = instances_applied(emulator.endpoint, emulator.runner, instances, echo)
    for stack in stacks.values():
        warmed(emulator, stack, warm)
    return stacks


def warmed(emulator: Emulator, stack: Stack, warm: int = 1) -> None:
    """One environment of every function; the functions each call makes get `warm` each.

    Warm environments keep cold starts, which take a busy machine seconds, out of the scenario.
    They run what the emulator holds, as every invocation does.
    """
    runner = emulator.runner
    runner.adopt_all()
    runner.warm()
    for key in ("check_circuit", "record_outcome", "downstream"):
        runner.warm(stack.function_names[key], count=min(warm, runner.max_environments) - 1)
