"""The real Terraform plans, applies and destroys the examples in a moto server (tools/stand_in_provider).

Each test starts from an empty emulator, plans as a first apply (every computed attribute the
configuration leaves unset is unknown), applies, checks with boto3 that the emulator holds what
the plan and state describe, makes one healthy call through every state machine an example
applied (its functions run from the packages Terraform uploaded), destroys, and checks that
nothing of it is left. One test upgrades examples/basic from the 0.1.0 release instead. The trip
and the recovery of examples/basic are the demo's (tests/circuit_sandbox/test_scenario.py).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from circuit_breaker.model import STATES
from circuit_sandbox.aws.eventbridge import target_input
from circuit_sandbox.aws.runner import InProcessRunner
from circuit_sandbox.aws.server import local_aws
from tests.conftest import SOURCES, load_event
from tests.statemachine.test_definition import lint
from tools.stand_in_provider import emulator
from tools.stand_in_provider.aws import Aws
from tools.stand_in_provider.schemas import load_schemas
from tools.stand_in_provider.terraform import ROOT

EXAMPLES = ROOT / "examples"
EVERY_RESOURCE = Path(__file__).parent / "fixtures" / "every_resource"
REGION = "eu-west-1"  # the examples' default
# Upper bounds per command, for a busy two-core machine; each takes seconds to tens of seconds.
TIMEOUTS = {"init": 120, "plan": 300, "show": 120, "apply": 600, "destroy": 600}


class Emulator:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def terraform(self, directory: Path, command: str, *args: str) -> str:
        result = emulator.run(directory, self.endpoint, command, *args, timeout=TIMEOUTS[command])
        assert result.retcode == 0, result.output
        return result.stdout


@pytest.fixture
def aws() -> Iterator[Emulator]:
    """A moto server on a free loopback port, emptied, with AWS's managed policies (the examples attach one).

    Lambda runs what Terraform deployed, in this process (the executions each test starts).
    """
    runner = InProcessRunner(sources=SOURCES)
    with local_aws(REGION) as endpoint, runner.hooked_into_moto():
        try:
            yield Emulator(endpoint)
        finally:
            runner.close()


def first_plan(aws: Emulator, directory: Path) -> dict[str, dict[str, Any]]:
    """Init and plan `directory` into the empty emulator; the planned objects by address."""
    aws.terraform(directory, "init", "-input=false")
    plan_file = emulator.workspace(directory) / "first.tfplan"
    aws.terraform(directory, "plan", f"-out={plan_file}")
    plan = json.loads(aws.terraform(directory, "show", "-json", str(plan_file)))
    changes = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    assert changes and all(c["change"]["actions"] == ["create"] for c in changes)
    schemas = load_schemas("aws")["resource_schemas"]
    for change in changes:
        after, unknown = change["change"]["after"], change["change"]["after_unknown"]
        attributes = schemas[change["type"]]["block"]["attributes"]
        known_nulls = [
            name
            for name, spec in attributes.items()
            if spec.get("computed") and after.get(name) is None and unknown.get(name) is not True
        ]
        assert known_nulls == [], f"{change['address']} plans computed attributes as null"
    return {change["address"]: change["change"]["after"] for change in changes}


def applied(aws: Emulator, directory: Path) -> dict[str, dict[str, Any]]:
    """Apply `directory`; the state's objects by address."""
    aws.terraform(directory, "apply", "-auto-approve")
    return state_of(aws, directory)


def state_of(aws: Emulator, directory: Path) -> dict[str, dict[str, Any]]:
    """The objects of `directory`'s state in the emulator, by address."""
    state = json.loads(aws.terraform(directory, "show", "-json", str(emulator.state_file(directory, aws.endpoint))))
    found, modules = {}, [state["values"]["root_module"]]
    while modules:
        module = modules.pop()
        modules += module.get("child_modules", [])
        found.update({r["address"]: r["values"] for r in module.get("resources", []) if r["mode"] == "managed"})
    return found


def of_type(objects: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {address: values for address, values in objects.items() if f".{kind}." in f".{address}"}


def held(aws: Emulator) -> dict[str, list[str]]:
    """Everything of the kinds the examples create that the emulator holds (AWS's own keys and aliases aside)."""
    kms, lam = aws.client("kms"), aws.client("lambda")
    aliases = kms.list_aliases()["Aliases"]
    # moto makes DynamoDB's default key a customer key, aliased as AWS's.
    aws_keys = {a.get("TargetKeyId") for a in aliases if a["AliasName"].startswith("alias/aws/")}
    keys = [
        k["KeyId"]
        for k in kms.list_keys()["Keys"]
        if k["KeyId"] not in aws_keys
        and kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
    ]
    return {
        kind: names
        for kind, names in {
            "state machines": [m["name"] for m in aws.client("stepfunctions").list_state_machines()["stateMachines"]],
            "tables": aws.client("dynamodb").list_tables()["TableNames"],
            "functions": [f["FunctionName"] for f in lam.list_functions()["Functions"]],
            "roles": [r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]],
            "topics": [t["TopicArn"] for t in aws.client("sns").list_topics()["Topics"]],
            "subscriptions": [s["SubscriptionArn"] for s in aws.client("sns").list_subscriptions()["Subscriptions"]],
            "keys": keys,
            "aliases": [a["AliasName"] for a in aliases if not a["AliasName"].startswith("alias/aws/")],
            "log groups": [g["logGroupName"] for g in aws.client("logs").describe_log_groups()["logGroups"]],
            "alarms": [a["AlarmName"] for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]],
            "schedules": [s["Name"] for s in aws.client("scheduler").list_schedules()["Schedules"]],
            "parameters": [p["Name"] for p in aws.client("ssm").describe_parameters()["Parameters"]],
            "event rules": [r["Name"] for r in aws.client("events").list_rules()["Rules"]],
            "dashboards": [d["DashboardName"] for d in aws.client("cloudwatch").list_dashboards()["DashboardEntries"]],
            "event source mappings": [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]],
            "queues": aws.client("sqs").list_queues().get("QueueUrls", []),
        }.items()
        if names
    }


def assert_emulator_holds(aws: Emulator, planned: dict[str, dict[str, Any]], state: dict[str, dict[str, Any]]) -> None:
    """The functions, alarms, subscriptions, schedules, state machines and tables Terraform reports, as planned."""
    lam, cloudwatch = aws.client("lambda"), aws.client("cloudwatch")
    for address, function in of_type(planned, "aws_lambda_function").items():
        configuration = lam.get_function_configuration(FunctionName=function["function_name"])
        assert configuration["Handler"] == function["handler"], address
        assert configuration["Environment"]["Variables"] == function["environment"][0]["variables"], address
        assert configuration["FunctionArn"] == state[address]["arn"]
    for address, alarm in of_type(planned, "aws_cloudwatch_metric_alarm").items():
        (stored,) = cloudwatch.describe_alarms(AlarmNames=[alarm["alarm_name"]])["MetricAlarms"]
        if alarm["metric_query"]:
            assert {m["Id"] for m in stored["Metrics"]} == {q["id"] for q in alarm["metric_query"]}, address
            assert any(m.get("Expression") for m in stored["Metrics"]), address
        else:
            assert (stored["Namespace"], stored["MetricName"]) == (alarm["namespace"], alarm["metric_name"]), address
        assert stored["AlarmArn"] == state[address]["arn"]
    subscriptions = {
        (s["TopicArn"], s["Protocol"], s["Endpoint"]) for s in aws.client("sns").list_subscriptions()["Subscriptions"]
    }
    for subscription in of_type(state, "aws_sns_topic_subscription").values():
        assert (subscription["topic_arn"], subscription["protocol"], subscription["endpoint"]) in subscriptions
    for address, schedule in of_type(state, "aws_scheduler_schedule").items():
        stored = aws.client("scheduler").get_schedule(Name=schedule["name"], GroupName=schedule["group_name"])
        assert stored["Target"]["Arn"] == schedule["target"][0]["arn"], address
    for address, machine in of_type(state, "aws_sfn_state_machine").items():
        described = aws.client("stepfunctions").describe_state_machine(stateMachineArn=machine["arn"])
        assert (described["type"], described["definition"]) == (
            planned[address]["type"] or "STANDARD",
            machine["definition"],
        ), address
        assert lint(described["definition"]) == [], address
    for table in of_type(planned, "aws_dynamodb_table").values():
        ttl = aws.client("dynamodb").describe_time_to_live(TableName=table["name"])["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", table["ttl"][0]["attribute_name"])


def assert_a_healthy_call_succeeds(aws: Emulator, state: dict[str, dict[str, Any]]) -> None:
    """One execution of every state machine applied: the downstream's answer, through the circuit."""
    sfn = aws.client("stepfunctions")
    for address, machine in of_type(state, "aws_sfn_state_machine").items():
        request = {"order": uuid.uuid4().hex}
        arn = sfn.start_execution(stateMachineArn=machine["arn"], input=json.dumps(request))["executionArn"]
        deadline = time.monotonic() + 120  # a healthy call takes well under a second; this is a busy machine's bound
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"{address}: still running"
            time.sleep(0.05)
        assert described["status"] == "SUCCEEDED", (address, described.get("error"), described.get("cause"))
        assert json.loads(described["output"]) == {"ok": True, "request": request}, address


# What the module's functions emit (telemetry.count / gauge, the transitions per state) and what Lambda publishes.
EMITTED = {
    *re.findall(r'\b(?:count|gauge)\(\s*"(\w+)"', "".join(p.read_text() for p in (ROOT / "lambdas").rglob("*.py"))),
    *(f"TransitionTo{state.title().replace('_', '')}" for state in STATES),
}
LAMBDA_METRICS = {"Invocations", "Errors", "Throttles", "Duration", "IteratorAge"}
# What EventBridge publishes per rule (RuleName; EventBusName too for a rule of another bus).
EVENTS_METRICS = {"Invocations", "FailedInvocations"}


def dimensions(function_arn: str) -> list[str]:
    """The dimensions Lambda publishes a function's metrics under: FunctionName, and Resource when qualified."""
    parts = function_arn.split(":")
    return ["FunctionName", parts[6]] + (["Resource", f"{parts[6]}:{parts[7]}"] if len(parts) == 8 else [])


def assert_dashboard_names_existing_metrics(
    aws: Emulator, module: str, state: dict[str, dict[str, Any]], downstream: str
) -> None:
    """Every widget of the instance's dashboard reads a metric something emits, with the dimensions it has."""
    own = {address: values for address, values in state.items() if address.startswith(module)}
    (dashboard,) = of_type(own, "aws_cloudwatch_dashboard").values()
    name = dashboard["dashboard_name"]
    body = json.loads(aws.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    functions = {function["function_name"] for function in of_type(own, "aws_lambda_function").values()}
    rules = {rule["name"] for rule in of_type(own, "aws_cloudwatch_event_rule").values()}
    service = dashboard["dashboard_name"].removesuffix(f"-circuit-breaker-{REGION}")
    alarms = {a["AlarmArn"] for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    seen = set()
    for widget in body["widgets"]:
        properties = widget["properties"]
        for alarm in properties.get("annotations", {}).get("alarms", []):
            assert alarm in alarms, properties["title"]
        for metric in properties.get("metrics", []):
            if not isinstance(metric[0], str):
                assert "expression" in metric[0], properties["title"]
                continue
            namespace, name, *rest = metric
            dims = [d for d in rest if isinstance(d, str)]
            seen.add((namespace, name))
            if namespace == "CircuitBreaker":
                assert name in EMITTED, name
                assert dims[0::2] == ["circuit", "service"] and dims[3] == service, (name, dims)
            elif namespace == "AWS/Events":
                assert name in EVENTS_METRICS and dims[-2:][0] == "RuleName" and dims[-1] in rules, (name, dims)
            else:
                assert namespace == "AWS/Lambda" and name in LAMBDA_METRICS, (namespace, name)
                assert dims == dimensions(downstream) or (dims[:1] == ["FunctionName"] and len(dims) == 2), dims
                if properties["title"].startswith("Downstream"):
                    assert dims == dimensions(downstream), (properties["title"], dims)
                elif properties["title"].startswith(("Module", "Circuit events pipeline")):
                    assert dims[1] in functions, dims
    assert {("CircuitBreaker", "ShortCircuited"), ("AWS/Lambda", "Duration"), ("AWS/Lambda", "Errors")} <= seen


def assert_notifications_match_the_documented_event(aws: Emulator, state: dict[str, dict[str, Any]]) -> None:
    """The rule the emulator holds matches the sample event of this instance's circuit and table, and its target sends
    the event's summary.

    moto implements neither TestEventPattern nor delivery to SNS targets: its own matcher, which its bus applies to
    every rule, and the sandbox's delivery (circuit_sandbox.aws.eventbridge.target_input) stand in for both.
    """
    from moto.events.models import EventPattern

    events = aws.client("events")
    name = state["module.circuit_breaker.aws_cloudwatch_event_rule.notifications[0]"]["name"]
    rule = events.describe_rule(Name=name)
    (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
    assert target["Arn"] == state["aws_sns_topic.circuit_notifications"]["arn"]
    sample: Any = load_event("circuit_state_change.json")
    sample["detail"]["circuitName"] = state["module.circuit_breaker.aws_sfn_state_machine.this"]["name"]
    sample["resources"] = [state["module.circuit_breaker.aws_dynamodb_table.this[0]"]["arn"]]
    pattern = EventPattern.load(rule["EventPattern"])
    assert pattern.matches_event(sample)
    assert pattern.matches_event(sample | {"detail": sample["detail"] | {"circuitBreakerName": "another-instance"}})
    for change in ({"status": "HALF_OPEN"}, {"circuitName": "another-circuit"}):
        assert not pattern.matches_event(sample | {"detail": sample["detail"] | change}), change
    assert not pattern.matches_event(sample | {"resources": ["arn:aws:dynamodb:eu-west-1:123456789012:table/other"]})
    assert json.loads(target_input(sample, target)) == sample["detail"]["summary"]


def test_shared_table_express_applies_to_the_emulator_and_destroys(aws):
    directory = EXAMPLES / "shared-table-express"
    planned = first_plan(aws, directory)
    state = applied(aws, directory)

    assert_emulator_holds(aws, planned, state)
    assert set(held(aws)) >= {"state machines", "tables", "functions", "alarms", "subscriptions", "keys"}
    assert len(of_type(planned, "aws_lambda_function")) == 10  # two downstreams, four per instance
    # One alarm-topic key for both instances: the second passes the first's sns_kms_key_arn.
    (key,) = [values["arn"] for address, values in state.items() if address.endswith("aws_kms_key.alarms[0]")]
    assert state["module.payments.aws_sns_topic.alarms"]["kms_master_key_id"] == key
    mappings = aws.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    stream = state["module.orders.aws_dynamodb_table.this[0]"]["stream_arn"]
    # One table, one stream, a consumer per instance (each filtering its own circuits).
    assert stream and [m["EventSourceArn"] for m in mappings] == [stream, stream]
    downstream = state['aws_lambda_function.downstream["payments"]']["arn"]
    assert_dashboard_names_existing_metrics(aws, "module.payments", state, downstream)
    assert_a_healthy_call_succeeds(aws, state)
    aws.terraform(directory, "destroy", "-auto-approve")
    assert held(aws) == {}


def test_every_resource_type_applies_to_the_emulator_and_destroys(aws):
    planned = first_plan(aws, EVERY_RESOURCE)
    state = applied(aws, EVERY_RESOURCE)

    assert_emulator_holds(aws, planned, state)
    assert {address.split(".")[0] for address in state} == set(Aws().resources)
    function = state["aws_lambda_function.this"]
    assert (function["version"], function["qualified_arn"]) == ("1", f"{function['arn']}:1")
    assert state["aws_iam_role.this"]["name"].startswith("every-resource-")

    # When revision 2 changes an argument AWS updates in place, of every resource that has one
    plan_file = emulator.workspace(EVERY_RESOURCE) / "revision.tfplan"
    aws.terraform(EVERY_RESOURCE, "plan", "-var=revision=2", f"-out={plan_file}")
    plan = json.loads(aws.terraform(EVERY_RESOURCE, "show", "-json", str(plan_file)))
    actions = {c["address"]: c["change"]["actions"] for c in plan["resource_changes"] if c["mode"] == "managed"}
    # Then the stand-in plans them as the real provider does: updates, nothing replaced
    # (Nothing of these three changes: every argument of the first two forces a replacement.)
    unchanged = {"aws_iam_role_policy_attachment.logs", "aws_lambda_permission.topic", "aws_kms_alias.this"}
    assert {address for address, action in actions.items() if action != ["update"]} == unchanged
    assert {tuple(action) for action in actions.values()} == {("update",), ("no-op",)}
    aws.terraform(EVERY_RESOURCE, "apply", "-auto-approve", str(plan_file))
    updated = state_of(aws, EVERY_RESOURCE)
    # And the emulator holds the new values, under the same identities
    assert {address: values.get("arn") for address, values in updated.items()} == {
        address: values.get("arn") for address, values in state.items()
    }
    lam, cloudwatch = aws.client("lambda"), aws.client("cloudwatch")
    assert lam.get_function_configuration(FunctionName="every-resource")["Timeout"] == 5
    assert updated["aws_lambda_function.this"]["version"] == "2" == updated["aws_lambda_alias.live"]["function_version"]
    assert lam.get_alias(FunctionName="every-resource", Name="live")["FunctionVersion"] == "2"
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["every-resource-errors"])["MetricAlarms"]
    assert alarm["Threshold"] == 2
    assert aws.client("ssm").get_parameter(Name="/every-resource/setting")["Parameter"]["Value"] == "on-2"
    [group] = aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/every-resource")["logGroups"]
    assert group["retentionInDays"] == 14
    schedule = aws.client("scheduler").get_schedule(Name="every-resource")
    assert schedule["ScheduleExpression"] == "rate(6 minutes)"
    machine = aws.client("stepfunctions").describe_state_machine(
        stateMachineArn=updated["aws_sfn_state_machine.this"]["arn"]
    )
    assert machine["loggingConfiguration"]["level"] == "ALL"
    mapping = lam.get_event_source_mapping(UUID=updated["aws_lambda_event_source_mapping.stream"]["uuid"])
    assert mapping["BatchSize"] == 200
    queue = aws.client("sqs").get_queue_attributes(
        QueueUrl=updated["aws_sqs_queue.this"]["url"], AttributeNames=["All"]
    )
    assert queue["Attributes"]["VisibilityTimeout"] == "60"
    assert json.loads(queue["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 6
    topic = aws.client("sns").get_topic_attributes(TopicArn=updated["aws_sns_topic.this"]["arn"])["Attributes"]
    assert topic["DisplayName"] == "revision 2"
    assert (
        aws.client("iam").get_role(RoleName=updated["aws_iam_role.this"]["name"])["Role"]["Description"] == "revision 2"
    )
    aws.terraform(EVERY_RESOURCE, "destroy", "-auto-approve")
    assert held(aws) == {}


def test_basic_applies_to_the_emulator_and_destroys(aws):
    directory = EXAMPLES / "basic"
    planned = first_plan(aws, directory)
    state = applied(aws, directory)

    assert_emulator_holds(aws, planned, state)
    assert of_type(state, "aws_scheduler_schedule")
    name = state["module.circuit_breaker.aws_sfn_state_machine.this"]["name"]
    alarms = {alarm["alarm_name"] for alarm in of_type(state, "aws_cloudwatch_metric_alarm").values()}
    assert {f"{name}-events-iterator-age", f"{name}-events-errors", f"{name}-notifications-failed"} <= alarms
    assert_dashboard_names_existing_metrics(aws, "module.circuit_breaker", state, state["aws_lambda_alias.live"]["arn"])
    assert_notifications_match_the_documented_event(aws, state)
    assert_a_healthy_call_succeeds(aws, state)
    aws.terraform(directory, "destroy", "-auto-approve")
    assert held(aws) == {}


# The 0.1.0 release: the last commit of 2026-11-27, the date of the CHANGELOG's [0.1.0] entry (the
# commit after it starts the interface changes listed under Unreleased).
RELEASE_0_1_0 = "87c5a84668f9229c13083667374ef65380c4995b"
# What holds data an upgrade must keep: circuits and their stream, sent events, subscriptions, logs.
STATEFUL = {"aws_dynamodb_table", "aws_sns_topic", "aws_cloudwatch_log_group", "aws_kms_key"}
# What the state machine and functions run as: never deleted before its replacement exists.
PERMISSIONS = {"aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment"}


def checked_out(commit: str, folder: Path) -> Path:
    """The tree of `commit` from this repository's history, written into `folder`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=False)
    assert archive.returncode == 0, (
        f"the upgrade test needs commit {commit} from git history (a shallow clone lacks it: "
        f"git fetch --unshallow): {archive.stderr.decode()}"
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tree:
        tree.extractall(folder, filter="data")
    return folder


def test_basic_upgrades_from_0_1_0_keeping_its_state_and_never_missing_a_role(aws, tmp_path):
    released, current = checked_out(RELEASE_0_1_0, tmp_path) / "examples" / "basic", EXAMPLES / "basic"
    aws.terraform(released, "init", "-input=false")
    # 0.1.0's first plan cannot count the healthcheck's resources: its users applied the functions first.
    aws.terraform(released, "apply", "-auto-approve", "-target=aws_lambda_function.example")
    before = applied(aws, released)
    table = before["module.circuit_breaker.aws_dynamodb_table.this[0]"]["name"]
    circuit = {"id": {"S": "kept-across-the-upgrade"}, "state": {"S": "OPEN"}, "generation": {"N": "3"}}
    aws.client("dynamodb").put_item(TableName=table, Item=circuit)

    aws.terraform(current, "init", "-input=false")
    shutil.copy(emulator.state_file(released, aws.endpoint), emulator.state_file(current, aws.endpoint))
    plan_file = emulator.workspace(current) / "upgrade.tfplan"
    aws.terraform(current, "plan", f"-out={plan_file}")
    plan = json.loads(aws.terraform(current, "show", "-json", str(plan_file)))
    actions = {
        c["address"]: (c["type"], c["change"]["actions"]) for c in plan["resource_changes"] if c["mode"] == "managed"
    }

    lost = {address: a for address, (kind, a) in actions.items() if kind in STATEFUL and "delete" in a}
    assert lost == {}, "the upgrade replaces or destroys what holds state"
    missing_a_while = {
        address for address, (kind, a) in actions.items() if kind in PERMISSIONS and a == ["delete", "create"]
    }
    assert missing_a_while == set(), "deleted before its replacement exists"
    replaced_first = {
        address for address, (kind, a) in actions.items() if kind in PERMISSIONS and a == ["create", "delete"]
    }
    assert "module.circuit_breaker.aws_iam_role.state_machine" in replaced_first  # 0.1.0's fixed names became prefixes
    assert actions["module.circuit_breaker.aws_dynamodb_table.this[0]"][1] == ["update"]  # its stream is switched on
    assert actions['module.circuit_breaker.aws_lambda_function.this["check_circuit"]'][1] == ["update"]

    aws.terraform(current, "apply", "-auto-approve", str(plan_file))
    state = applied(aws, current)  # and a second apply plans nothing it cannot do
    planned = {c["address"]: c["change"]["after"] for c in plan["resource_changes"] if c["change"]["after"]}
    assert_emulator_holds(aws, planned, state)
    assert aws.client("dynamodb").get_item(TableName=table, Key={"id": circuit["id"]})["Item"] == circuit
    assert state["module.circuit_breaker.aws_dynamodb_table.this[0]"]["stream_arn"]
    assert_a_healthy_call_succeeds(aws, state)
