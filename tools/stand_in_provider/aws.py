"""The hashicorp/aws stand-in's resources and data sources, created, read and deleted with boto3.

Each resource receives the planned object as a dict (unknown values as None) and returns the
attributes AWS computes; the provider fills them into the plan's unknowns (values.resolve).
Reading only checks that the object still exists: the state keeps what was applied.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import zlib
from typing import Any

from tools.stand_in_provider import irregular as hand
from tools.stand_in_provider.mapping import Resource, Row, account, first, invoke_arn, op

# Endpoint keys of the provider's `endpoints` block -> boto3 service names.
SERVICES = {key: key for key in ("cloudwatch", "dynamodb", "events", "iam", "kms", "lambda", "logs", "scheduler")}
SERVICES |= {"sns": "sns", "ssm": "ssm", "sts": "sts"}
SERVICES |= {"cloudwatchlogs": "logs", "sfn": "stepfunctions", "stepfunctions": "stepfunctions"}


class Aws:
    """The provider configuration (region, credentials, endpoints) and everything it serves."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._session: Any = None
        self._lock = threading.Lock()
        self.resources = {row.type_name: (row.kind or Resource)(self, row) for row in ROWS}
        self.data_sources = {"aws_partition": self.partition, "aws_region": self.region_data}
        self.data_sources |= {"aws_caller_identity": self.caller_identity, "aws_iam_policy_document": policy_document}

    def configure(self, config: dict[str, Any]) -> None:
        with self._lock:
            self.config, self._session, self._clients = config, None, {}

    @property
    def region(self) -> str:
        return self.config.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for `service`, at the configured endpoint (or the environment's, as the real provider)."""
        import boto3

        region = region or self.region
        with self._lock:  # boto3 sessions are not thread-safe; Terraform calls in parallel
            if (service, region) not in self._clients:
                endpoints = next(iter(self.config.get("endpoints") or []), None) or {}
                urls = {SERVICES[key]: url for key, url in endpoints.items() if url and key in SERVICES}
                if self._session is None:  # one session: its clients share the loaded models and endpoints
                    self._session = boto3.session.Session(
                        aws_access_key_id=self.config.get("access_key"),
                        aws_secret_access_key=self.config.get("secret_key"),
                        aws_session_token=self.config.get("token"),
                    )
                self._clients[service, region] = self._session.client(
                    service, region_name=region, endpoint_url=urls.get(service)
                )
            return self._clients[service, region]

    def create(self, resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
        """Create the object; its computed attributes, with the region and tags every resource reports."""
        return {"region": values.get("region") or self.region, "tags_all": self.tags(values), **resource.create(values)}

    def update(self, resource: Resource, prior: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """Update the object in place; its computed attributes, as `create`. A change of tags alone is
        recorded in the state only: the emulator's copy of them is not changed."""
        return {"region": values.get("region") or self.region, "tags_all": self.tags(values)} | resource.update(
            prior, values
        )

    def tags(self, values: dict[str, Any]) -> dict[str, str]:
        """The provider's default tags merged with the resource's own, as `tags_all` holds them."""
        default = next(iter(self.config.get("default_tags") or []), None) or {}
        return {**(default.get("tags") or {}), **(values.get("tags") or {})}

    # ------------------------------------------------------------------------ data sources

    def partition(self, config: dict[str, Any]) -> dict[str, Any]:
        partition = _partition(self.region)
        suffix = partition["dnsSuffix"]
        reverse = ".".join(reversed(suffix.split(".")))
        return {"id": partition["partition"], "partition": partition["partition"], "dns_suffix": suffix} | {
            "reverse_dns_prefix": reverse
        }

    def region_data(self, config: dict[str, Any]) -> dict[str, Any]:
        region = config.get("region") or config.get("name") or self.region
        partition = _partition(region)
        description = partition["regions"].get(region, {}).get("description", region)
        endpoint = f"ec2.{region}.{partition['dnsSuffix']}"
        return {"id": region, "region": region, "name": region, "description": description, "endpoint": endpoint}

    def caller_identity(self, config: dict[str, Any]) -> dict[str, Any]:
        identity = self.client("sts").get_caller_identity()
        account_id, arn, user = identity["Account"], identity["Arn"], identity["UserId"]
        return {"id": account_id, "account_id": account_id, "arn": arn, "user_id": user}


def _partition(region: str) -> dict[str, Any]:
    """botocore's record of the partition that holds `region` (name, DNS suffix, region descriptions)."""
    partitions = _partitions()
    return next((p for p in partitions if region in p["regions"] or re.match(p["regionRegex"], region)), partitions[0])


@functools.cache
def _partitions() -> list[dict[str, Any]]:
    from botocore.loaders import create_loader

    partitions: list[dict[str, Any]] = create_loader().load_data("endpoints")["partitions"]
    return partitions


# ---------------------------------------------------------------------------- aws_iam_policy_document


def policy_document(config: dict[str, Any]) -> dict[str, Any]:
    """Render the policy as hashicorp/aws does (internal/service/iam/policy_document_data_source.go).

    Statements keep their order; a single value becomes a string and several are sorted in
    reverse (Go's encoding of the provider's sets); keys follow its struct and map ordering.
    """
    if config.get("source_policy_documents") or config.get("override_policy_documents"):
        raise NotImplementedError("source_policy_documents and override_policy_documents are not supported")
    document: dict[str, Any] = {"Version": config.get("version") or "2012-10-17"}
    if config.get("policy_id"):
        document["Id"] = config["policy_id"]
    statements = [_statement(statement) for statement in config.get("statement") or []]
    if statements:
        document["Statement"] = statements
    rendered = _go_json(json.dumps(document, indent=2, ensure_ascii=False))
    return {
        "json": rendered,
        "minified_json": _go_json(json.dumps(document, separators=(",", ":"), ensure_ascii=False)),
        "id": str(zlib.crc32(rendered.encode())),
    }


def _statement(config: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {}
    if config.get("sid"):
        statement["Sid"] = config["sid"]
    statement["Effect"] = config.get("effect") or "Allow"
    for key, name in zip(("Action", "NotAction", "Resource", "NotResource"), _LISTS, strict=True):
        if config.get(name):
            statement[key] = _variables(_strings(config[name]))
    for key, name in (("Principal", "principals"), ("NotPrincipal", "not_principals")):
        if config.get(name):
            statement[key] = _principals(config[name])
    if config.get("condition"):
        conditions: dict[str, dict[str, list[str]]] = {}
        for condition in config["condition"]:
            conditions.setdefault(condition["test"], {}).setdefault(condition["variable"], []).extend(
                _variables(condition["values"])
            )
        statement["Condition"] = {
            test: {
                variable: values[0] if len(values) == 1 else values for variable, values in sorted(variables.items())
            }
            for test, variables in sorted(conditions.items())
        }
    return statement


_LISTS = ("actions", "not_actions", "resources", "not_resources")


def _strings(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else sorted(values, reverse=True)


def _variables(value: Any) -> Any:
    """`&{aws:username}` is how a policy variable is written in HCL, where `${` interpolates."""
    if isinstance(value, list):
        return [item.replace("&{", "${") for item in value]
    return value.replace("&{", "${")


def _principals(principals: list[dict[str, Any]]) -> Any:
    if len(principals) == 1 and principals[0]["type"] == "*" and principals[0]["identifiers"] == ["*"]:
        return "*"
    merged: dict[str, Any] = {}
    for principal in principals:
        identifiers, kind = _variables(_strings(principal["identifiers"])), principal["type"]
        if kind not in merged:
            merged[kind] = identifiers
        else:
            existing = merged[kind] if isinstance(merged[kind], list) else [merged[kind]]
            merged[kind] = existing + (identifiers if isinstance(identifiers, list) else [identifiers])
    return dict(sorted(merged.items()))


def _go_json(text: str) -> str:
    """Go's encoding/json escapes these characters; JSON documents compared as text must too."""
    for character in "<>&\u2028\u2029":
        text = text.replace(character, f"\\u{ord(character):04x}")
    return text


# ---------------------------------------------------------------------------- resources


def _bus(values: dict[str, Any]) -> str:
    return values.get("event_bus_name") or "default"


def _on_bus(name: str, values: dict[str, Any]) -> str:
    """The provider names a rule on the default bus by its name, on another bus as bus/name."""
    return name if _bus(values) == "default" else f"{_bus(values)}/{name}"


def _target_id(found: dict[str, Any]) -> str:
    if found.get("FailedEntryCount"):  # PutTargets answers a failed target with a count, not an error
        raise RuntimeError(f"PutTargets failed: {found['FailedEntries']}")
    return f"{_on_bus(found['rule'], found)}-{found['target_id']}"


def _parameter(values: dict[str, Any]) -> Any:
    return values["value"] if values.get("value") is not None else values.get("insecure_value")


def _rotation(values: dict[str, Any], prior: Any = None) -> Any:
    return (values.get("rotation_period_in_days") or 365) if values.get("enable_key_rotation") else None


def _queue(argument: str, attribute: str) -> Any:
    """A queue attribute as the configuration sets it, else as the queue holds it, else empty."""
    return lambda found: found.get(argument) or found["Attributes"].get(attribute, "")


def _attribute(name: str, default: Any = None) -> Any:
    return lambda found: found["Attributes"].get(name, default)


def _when(name: str, test: Any = bool) -> Any:
    """The condition of a call that runs when the argument `name` passes `test`."""
    return lambda values, prior: test(values.get(name))


def _enabled(block: str) -> Any:
    """Whether a `max_items = 1` block is present and enabled (a condition of a call, or of a member)."""
    return lambda values, prior=None: first(values.get(block)).get("enabled")


_stream = "stream_arn stream_label"
_unsent = "VpcConfig ImageConfig SnapStart CodeSigningConfigArn PackageType PublishTo CapacityProviderConfig"

# One row per resource type: what the generic mapper needs beyond the schema and the API's model (mapping.Row):
# type, service, the create, read and delete calls, and the arguments that replace the object.
# fmt: off
ROWS = (
    Row("aws_iam_role", "iam", "CreateRole", "GetRole", "DeleteRole", "name name_prefix path", named="name",
        update=(op("UpdateRole", Description=lambda v: v.get("description") or ""), "UpdateAssumeRolePolicy"),
        members={"RoleName": "name", "AssumeRolePolicyDocument": "assume_role_policy",
                 "PolicyDocument": "assume_role_policy"},
        computed="id=name name arn unique_id=Role.RoleId create_date", defaults={"managed_policy_arns": []}),
    Row("aws_iam_role_policy", "iam", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy", "name name_prefix role",
        put=True, members={"RoleName": "role", "PolicyName": "name", "PolicyDocument": "policy"}, named="name",
        computed="name", derived={"id": lambda f: f"{f['role']}:{f['name']}"}),
    Row("aws_iam_role_policy_attachment", "iam", "AttachRolePolicy", "ListAttachedRolePolicies", "DetachRolePolicy",
        "policy_arn role", members={"RoleName": "role"}, derived={"id": lambda f: f"{f['role']}/{f['policy_arn']}"},
        found=lambda found, state: state["policy_arn"] in [p["PolicyArn"] for p in found["AttachedPolicies"]]),
    Row("aws_lambda_function", "lambda",
        op("CreateFunction", Code=hand.package, Publish=lambda v: bool(v.get("publish"))), "GetFunction",
        "DeleteFunction", "function_name package_type", kind=hand.LambdaFunction,
        # Arguments the module does not use stay in state only (README: "Simpler than the real provider").
        members={"Layers": hand.own_layers} | dict.fromkeys(f"{_unsent} DurableConfig TenancyConfig".split()),
        computed="id=function_name arn=FunctionArn version code_sha256 source_code_hash=CodeSha256 "
                 "source_code_size=CodeSize last_modified architectures package_type",
        derived={"qualified_arn": lambda f: f"{f['FunctionArn']}:{f['Version']}",
                 "invoke_arn": lambda f: invoke_arn(f, f["FunctionArn"]),
                 "qualified_invoke_arn": lambda f: invoke_arn(f, f"{f['FunctionArn']}:{f['Version']}"),
                 "response_streaming_invoke_arn": lambda f: invoke_arn(
                     f, f["FunctionArn"], "2021-11-15/functions/{}/response-streaming-invocations"),
                 "logging_config": lambda f: [{"log_group": (f.get("LoggingConfig") or {}).get(
                     "LogGroup", f"/aws/lambda/{f['function_name']}")}],
                 "ephemeral_storage": lambda f: [{"size": (f.get("EphemeralStorage") or {}).get("Size", 512)}]}),
    Row("aws_lambda_alias", "lambda", "CreateAlias", "GetAlias", "DeleteAlias", "function_name name",
        update=op("UpdateAlias", Description=lambda v: v.get("description") or "", RoutingConfig=lambda v: {
            "AdditionalVersionWeights": first(v.get("routing_config")).get("additional_version_weights") or {}}),
        computed="id=AliasArn arn=AliasArn", derived={"invoke_arn": lambda f: invoke_arn(f, f["AliasArn"])}),
    Row("aws_lambda_permission", "lambda", "AddPermission", "GetPolicy", "RemovePermission",
        "action event_source_token function_name function_url_auth_type principal principal_org_id qualifier "
        "source_account source_arn statement_id statement_id_prefix",
        computed="id=statement_id statement_id", named="statement_id",
        found=lambda found, state: any(
            s.get("Sid") == state["statement_id"] for s in json.loads(found["Policy"])["Statement"])),
    Row("aws_lambda_function_event_invoke_config", "lambda", "PutFunctionEventInvokeConfig",
        "GetFunctionEventInvokeConfig", "DeleteFunctionEventInvokeConfig", "function_name qualifier", put=True,
        derived={"id": lambda f: ":".join(filter(None, (f["function_name"], f.get("qualifier"))))}),
    Row("aws_lambda_event_source_mapping", "lambda", "CreateEventSourceMapping", "GetEventSourceMapping",
        "DeleteEventSourceMapping", "event_source_arn queues topics starting_position starting_position_timestamp "
        "amazon_managed_kafka_event_source_config self_managed_kafka_event_source_config "
        "self_managed_event_source",
        update="UpdateEventSourceMapping",
        members={"UUID": "uuid", "Destination": "destination_arn", "Filters": "filter"},
        computed="id=UUID uuid arn=EventSourceMappingArn function_arn last_modified last_processing_result state "
                 "state_transition_reason batch_size maximum_record_age_in_seconds maximum_retry_attempts "
                 "parallelization_factor",
        defaults={"last_processing_result": "No records processed", "state": "Enabled", "parallelization_factor": 1,
                  "state_transition_reason": "User action", "maximum_record_age_in_seconds": -1,
                  "maximum_retry_attempts": -1}),
    Row("aws_sns_topic", "sns", (op("CreateTopic", Attributes=hand.sns_attributes("topic")), "GetTopicAttributes"),
        "GetTopicAttributes", "DeleteTopic", "name name_prefix fifo_topic", named="name", fifo="fifo_topic",
        members={"TopicArn": "arn", "DataProtectionPolicy": None}, kind=hand.SnsAttributes,
        computed="id=TopicArn arn=TopicArn name policy signature_version tracing_config",
        derived={"owner": lambda f: f["Attributes"].get("Owner", account(f["TopicArn"]))},
        defaults={"signature_version": 1}),
    Row("aws_sns_topic_policy", "sns", op("SetTopicAttributes", AttributeName="Policy"), "GetTopicAttributes",
        # As the real provider does: the topic gets SNS's default policy back.
        op("SetTopicAttributes", AttributeName="Policy", AttributeValue=hand.default_topic_policy), "arn",
        put=True, members={"TopicArn": "arn", "AttributeValue": "policy"},
        computed="id=arn", derived={"owner": lambda f: account(f["arn"])}),
    Row("aws_sns_topic_subscription", "sns", (op("Subscribe", ReturnSubscriptionArn=True,
                                                  Attributes=hand.sns_attributes("subscription")),
                                               "GetSubscriptionAttributes"),
        "GetSubscriptionAttributes", "Unsubscribe", "endpoint protocol topic_arn", members={"SubscriptionArn": "arn"},
        computed="id=SubscriptionArn arn=SubscriptionArn filter_policy_scope", kind=hand.SnsAttributes,
        derived={"owner_id": lambda f: f["Attributes"].get("Owner", account(f["SubscriptionArn"])),
                 "pending_confirmation": lambda f: _attribute("PendingConfirmation")(f) == "true",
                 "confirmation_was_authenticated": lambda f: _attribute("ConfirmationWasAuthenticated")(f) == "true"}),
    Row("aws_sqs_queue", "sqs", (op("CreateQueue", Attributes=lambda v: hand.queue_attributes(v, fifo=True)),
                                 op("GetQueueAttributes", AttributeNames=["All"])),
        "GetQueueAttributes", "DeleteQueue", "name name_prefix fifo_queue", named="name", fifo="fifo_queue",
        update=(op("SetQueueAttributes", Attributes=hand.queue_attributes),
                op("GetQueueAttributes", AttributeNames=["All"])),
        members={"QueueName": "name", "QueueUrl": "url"},
        computed="id=QueueUrl url=QueueUrl name arn=Attributes.QueueArn",
        derived={"policy": _queue("policy", "Policy"), "redrive_policy": _queue("redrive_policy", "RedrivePolicy"),
                 "redrive_allow_policy": _queue("redrive_allow_policy", "RedriveAllowPolicy"),
                 "kms_data_key_reuse_period_seconds": lambda f: int(_attribute("KmsDataKeyReusePeriodSeconds", 300)(f)),
                 "sqs_managed_sse_enabled": lambda f: not f.get("kms_master_key_id")
                 and _attribute("SqsManagedSseEnabled", "true")(f) == "true",
                 "deduplication_scope": lambda f: f.get("deduplication_scope")
                 or ("queue" if f.get("fifo_queue") else ""),
                 "fifo_throughput_limit": lambda f: f.get("fifo_throughput_limit")
                 or ("perQueue" if f.get("fifo_queue") else "")}),
    Row("aws_kms_key", "kms", ("CreateKey", op("EnableKeyRotation", when=_rotation, RotationPeriodInDays=_rotation),
                               op("DisableKey", when=_when("is_enabled", lambda v: v is False)),
                               op("GetKeyPolicy", PolicyName="default")),
        "DescribeKey", op("ScheduleKeyDeletion", PendingWindowInDays=lambda s: s.get("deletion_window_in_days") or 30),
        "custom_key_store_id customer_master_key_spec key_usage multi_region xks_key_id",
        update=(op("UpdateKeyDescription", when=_when("description", lambda v: v is not None)),
                op("PutKeyPolicy", when=_when("policy"), PolicyName="default", BypassPolicyLockoutSafetyCheck=None),
                op("EnableKeyRotation", when=_rotation, RotationPeriodInDays=_rotation),
                op("DisableKeyRotation", when=lambda v, p: not _rotation(v)),
                op("EnableKey", when=_when("is_enabled", lambda v: v is not False)),
                op("DisableKey", when=_when("is_enabled", lambda v: v is False)),
                op("GetKeyPolicy", PolicyName="default")),
        members={"KeySpec": "customer_master_key_spec", "CustomerMasterKeySpec": None, "KeyId": "id"},
        computed="id=KeyMetadata.KeyId key_id=KeyMetadata.KeyId arn description multi_region policy",
        derived={"rotation_period_in_days": _rotation}, defaults={"description": "", "multi_region": False},
        # A key scheduled for deletion is gone for Terraform.
        found=lambda found, _: found["KeyMetadata"]["KeyState"] not in ("PendingDeletion", "PendingReplicaDeletion")),
    Row("aws_kms_alias", "kms", ("CreateAlias", "DescribeKey"), op("ListAliases", KeyId=None), "DeleteAlias",
        "name name_prefix", update=("UpdateAlias", "DescribeKey"), named="name", prefix="alias/",
        members={"AliasName": "name", "KeyId": "target_key_id"}, computed="id=name name target_key_arn=KeyMetadata.Arn",
        derived={"arn": lambda f: f"{f['KeyMetadata']['Arn'].rsplit(':', 1)[0]}:{f['name']}"},
        recomputes={"target_key_id": "target_key_arn"},
        found=lambda found, state: state["name"] in [alias["AliasName"] for alias in found["Aliases"]]),
    Row("aws_cloudwatch_log_group", "logs",
        ("CreateLogGroup", op("PutRetentionPolicy", when=_when("retention_in_days")),
         op("DescribeLogGroups", logGroupClass=None)),
        op("DescribeLogGroups", logGroupClass=None), "DeleteLogGroup", "name name_prefix log_group_class", named="name",
        update=(op("PutRetentionPolicy", when=_when("retention_in_days")),
                op("DeleteRetentionPolicy", when=_when("retention_in_days", lambda v: not v)),
                op("AssociateKmsKey", when=_when("kms_key_id")),
                op("DisassociateKmsKey", when=lambda v, p: not v.get("kms_key_id") and p.get("kms_key_id"))),
        members={"logGroupName": "name", "logGroupNamePrefix": "name"}, computed="id=name name",
        derived={"arn": lambda f: hand.log_group(f).get("arn", "").removesuffix(":*"),
                 "log_group_class": lambda f: hand.log_group(f).get("logGroupClass"),
                 "deletion_protection_enabled": lambda f: hand.log_group(f).get("deletionProtectionEnabled")},
        defaults={"log_group_class": "STANDARD", "deletion_protection_enabled": False},
        found=lambda found, state: hand.log_group({**found, "name": state["name"]})),
    Row("aws_cloudwatch_metric_alarm", "cloudwatch", ("PutMetricAlarm", "DescribeAlarms"), "DescribeAlarms",
        "DeleteAlarms", "alarm_name", put=True, found="MetricAlarms",
        # A metric query's `metric` block is MetricStat and its Metric in one.
        members={"AlarmNames": lambda v: [v["alarm_name"]], "Metrics": "metric_query", "MetricStat": "metric",
                 "Metric": ".", "EvaluateLowSampleCountPercentile": "evaluate_low_sample_count_percentiles",
                 "EvaluationCriteria": None, "EvaluationInterval": None},
        computed="id=alarm_name arn=MetricAlarms.0.AlarmArn "
                 "evaluate_low_sample_count_percentiles=MetricAlarms.0.EvaluateLowSampleCountPercentile"),
    Row("aws_scheduler_schedule", "scheduler", "CreateSchedule", "GetSchedule", "DeleteSchedule",
        "name name_prefix group_name", update="UpdateSchedule", named="name",
        members={"GroupName": lambda v: v.get("group_name") or "default"} | dict.fromkeys(
            ("EcsParameters", "EventBridgeParameters", "KinesisParameters", "SageMakerPipelineParameters",
             "SqsParameters")),
        computed="name group_name arn=ScheduleArn action_after_completion",
        derived={"id": lambda f: f"{f.get('group_name') or 'default'}/{f['name']}"},
        defaults={"group_name": "default", "action_after_completion": "NONE"}),
    Row("aws_ssm_parameter", "ssm", ("PutParameter", op("GetParameter", WithDecryption=True)), "GetParameter",
        "DeleteParameter", "data_type name",
        update=(op("PutParameter", Overwrite=True, Tags=None), "GetParameter"),  # it refuses tags when it overwrites
        members={"Value": _parameter}, recomputes={"value": "version", "insecure_value": "version"},
        computed="id=name arn=Parameter.ARN version=Parameter.Version tier=tier data_type=Parameter.DataType",
        derived={"value": _parameter,
                 "key_id": lambda f: f.get("key_id") or ("alias/aws/ssm" if f["type"] == "SecureString" else None)},
        defaults={"tier": "Standard", "data_type": "text", "has_value_wo": False}),
    Row("aws_sfn_state_machine", "stepfunctions",
        (op("CreateStateMachine", type=lambda v: v.get("type") or "STANDARD"), "DescribeStateMachine"),
        "DescribeStateMachine", "DeleteStateMachine", "name name_prefix type", update="UpdateStateMachine",
        members={"stateMachineArn": "arn", "enabled": lambda tracing: bool(tracing.get("enabled")),
                 "destinations": lambda logging: [{"cloudWatchLogsLogGroup": {"logGroupArn": logging[
                     "log_destination"]}}] if logging.get("log_destination") else None},
        computed="id=stateMachineArn arn=stateMachineArn name creation_date status revision_id "
                 "state_machine_version_arn description", named="name",
        defaults={"status": "ACTIVE", "revision_id": "", "state_machine_version_arn": "", "description": "",
                  "version_description": ""}),
    Row("aws_dynamodb_table", "dynamodb", ("CreateTable", op("UpdateTimeToLive", when=_enabled("ttl")),
                                           op("UpdateContinuousBackups", when=_enabled("point_in_time_recovery"))),
        "DescribeTable", "DeleteTable",
        "hash_key range_key name local_secondary_index import_table restore_date_time restore_to_latest_time",
        members={"TableName": "name", "ProvisionedThroughput": hand.throughput, "KeySchema": hand.keys,
                 "AttributeDefinitions": lambda v: [{"AttributeName": a["name"], "AttributeType": a["type"]}
                                                    for a in v.get("attribute") or []],
                 "StreamSpecification": lambda v: hand.given(StreamEnabled=True, StreamViewType=v.get(
                     "stream_view_type")) if v.get("stream_enabled") else None,
                 "SSESpecification": lambda v: hand.given(Enabled=True, SSEType="KMS", KMSMasterKeyId=first(v.get(
                     "server_side_encryption")).get("kms_key_arn")) if _enabled("server_side_encryption")(v) else None,
                 "TimeToLiveSpecification": lambda v: {"Enabled": True,
                                                       "AttributeName": first(v.get("ttl"))["attribute_name"]},
                 "PointInTimeRecoverySpecification": hand.recovery, "WarmThroughput": None, "OnDemandThroughput": None},
        computed="id=name arn=TableDescription.TableArn stream_arn=TableDescription.LatestStreamArn "
                 "stream_label=TableDescription.LatestStreamLabel hash_key "
                 "read_capacity=TableDescription.ProvisionedThroughput.ReadCapacityUnits "
                 "write_capacity=TableDescription.ProvisionedThroughput.WriteCapacityUnits",
        derived={"point_in_time_recovery": hand.recovery_state, "server_side_encryption": lambda f: [
            {"kms_key_arn": (f["TableDescription"].get("SSEDescription") or {}).get("KMSMasterKeyArn")}]},
        defaults={"read_capacity": 0, "write_capacity": 0}, kind=hand.DynamodbTable,
        recomputes={"stream_enabled": _stream, "stream_view_type": _stream}),
    Row("aws_cloudwatch_event_rule", "events", "PutRule", "DescribeRule", "DeleteRule",
        "name name_prefix event_bus_name", put=True, named="name", computed="name arn=RuleArn",
        derived={"id": lambda f: _on_bus(f["name"], f)},
        members={"EventBusName": _bus,
                 "State": lambda v: v.get("state") or ("DISABLED" if v.get("is_enabled") is False else "ENABLED")}),
    Row("aws_cloudwatch_event_target", "events", "PutTargets", "ListTargetsByRule",
        op("RemoveTargets", Ids=lambda s: [s["target_id"]]), "event_bus_name rule target_id", put=True,
        members={"EventBusName": _bus, "Targets": ".", "Id": "target_id", "InputPathsMap": "input_paths"},
        computed="target_id", derived={"id": _target_id}, named="target_id",
        found=lambda found, state: any(target["Id"] == state["target_id"] for target in found["Targets"])),
    Row("aws_cloudwatch_dashboard", "cloudwatch", ("PutDashboard", "GetDashboard"), "GetDashboard",
        op("DeleteDashboards", DashboardNames=lambda s: [s["dashboard_name"]]), "dashboard_name", put=True,
        computed="id=dashboard_name dashboard_arn"),
)
# fmt: on
