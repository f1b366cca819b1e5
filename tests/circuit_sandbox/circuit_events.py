"""The module's circuit events as Terraform deployed them: one instance of circuit_sandbox/instances, many circuits.

Each test gets a circuit of its own on the instance's table (one of its `allowed_circuits`, which
its event source mapping's filter lets through), so one apply serves a whole test module. The
stream, the events function, its mapping and the notification rule are what events.tf created.
"""

from __future__ import annotations

from dataclasses import dataclass

from circuit_sandbox.stack import Stack

INTERVAL = 0.15  # the pump's and the observers'
CIRCUITS = 8  # per applied instance: at least one per test that takes a circuit


def instance_variables(notifications: bool = False) -> dict:
    """The instance: circuit events on, no alarms or healthcheck, and CIRCUITS circuits its filter passes."""
    return {
        "healthcheck": False,
        "downstream_alarm": {"enabled": False},
        "allowed_circuits": [f"c{index}" for index in range(CIRCUITS)],
        "notifications": notifications,
    }


@dataclass
class CircuitEvents:
    """One circuit of an instance with circuit events, and what events.tf deployed for the instance."""

    circuit: str
    circuit_breaker: str  # the instance's name
    table_name: str
    stream_arn: str
    function_name: str
    mapping_uuid: str
    notification_rule: str | None
    deliveries_before: int  # the pump's deliveries when the circuit was handed out


class Circuits:
    """Hands out the instance's circuits, one per test."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.names = iter(stack.settings().allowed_circuits - {stack.circuit})
        self.function_name = stack.function_names["circuit_events"]
        self.stream_arn = stack.ddb.describe_table(TableName=stack.table_name)["Table"]["LatestStreamArn"]
        lam = stack.lambda_client
        arn = lam.get_function_configuration(FunctionName=self.function_name)["FunctionArn"]
        [mapping] = [m for m in lam.list_event_source_mappings()["EventSourceMappings"] if m["FunctionArn"] == arn]
        self.mapping_uuid = mapping["UUID"]
        rule_arn = stack.notification_rule_arn
        self.notification_rule = rule_arn.rsplit("/", 1)[-1] if rule_arn else None

    def next(self, deliveries_before: int) -> CircuitEvents:
        return CircuitEvents(
            next(self.names),
            self.stack.circuit,
            self.stack.table_name,
            self.stream_arn,
            self.function_name,
            self.mapping_uuid,
            self.notification_rule,
            deliveries_before,
        )
