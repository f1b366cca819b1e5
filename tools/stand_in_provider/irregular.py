"""Hand-written code for what AWS does irregularly, beside the generic mapper (mapping.py).

A DynamoDB table changes each setting by the call that owns it, and a stream's view type only by
a new stream; Lambda takes code as bytes and publishes versions on request; SNS and SQS take
their settings as attribute maps of strings, and SNS changes one attribute per call. Everything
else about these types (requests, computed attributes, reads, deletes) is still their row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.stand_in_provider.mapping import Resource, Values, account, arguments, first, key, model, op, schema
from tools.stand_in_provider.values import differs


def given(**members: Any) -> Values:
    """The request members that have a value (boto3 rejects None)."""
    return {name: value for name, value in members.items() if value is not None and value != []}


def text(value: Any) -> str:
    """An attribute value as SNS and SQS hold them: strings, booleans as `true` and `false`."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


# ---------------------------------------------------------------------------- DynamoDB


def keys(values: Values) -> list[Values]:
    keys = [{"AttributeName": values["hash_key"], "KeyType": "HASH"}]
    return keys + ([{"AttributeName": values["range_key"], "KeyType": "RANGE"}] if values.get("range_key") else [])


def throughput(values: Values) -> Values | None:
    if values.get("billing_mode") == "PAY_PER_REQUEST":
        return None
    return {
        "ReadCapacityUnits": values.get("read_capacity") or 0,
        "WriteCapacityUnits": values.get("write_capacity") or 0,
    }


def recovery(values: Values) -> Values:
    """The PointInTimeRecoverySpecification of the values: disabled when the block is absent."""
    block = first(values.get("point_in_time_recovery"))
    days = block.get("recovery_period_in_days") if block.get("enabled") else None
    return given(PointInTimeRecoveryEnabled=bool(block.get("enabled")), RecoveryPeriodInDays=days)


def recovery_state(found: Values) -> list[Values]:
    """`point_in_time_recovery` as the provider reports it: AWS's 35 days when enabled without a period."""
    enabled = recovery(found)["PointInTimeRecoveryEnabled"]
    return [{"recovery_period_in_days": (recovery(found).get("RecoveryPeriodInDays") or 35) if enabled else None}]


class DynamodbTable(Resource):
    def update(self, prior, values):
        client, name = self.client(values), prior["name"]
        on_demand = values.get("billing_mode") == "PAY_PER_REQUEST"
        if values.get("billing_mode") != prior.get("billing_mode") or not on_demand:
            client.update_table(
                **given(
                    TableName=name, BillingMode=values.get("billing_mode"), ProvisionedThroughput=throughput(values)
                )
            )
        stream = (bool(values.get("stream_enabled")), values.get("stream_view_type") or None)
        if stream != (bool(prior.get("stream_enabled")), prior.get("stream_view_type") or None):
            if prior.get("stream_enabled"):  # DynamoDB changes a stream's view type only by a new stream
                client.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
            if stream[0]:
                client.update_table(
                    TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": stream[1]}
                )
        if values.get("deletion_protection_enabled") != prior.get("deletion_protection_enabled"):
            client.update_table(TableName=name, DeletionProtectionEnabled=bool(values["deletion_protection_enabled"]))
        ttl, prior_ttl = first(values.get("ttl")), first(prior.get("ttl"))
        if bool(ttl.get("enabled")) != bool(prior_ttl.get("enabled")):
            attribute = ttl.get("attribute_name") or prior_ttl.get("attribute_name")
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": bool(ttl.get("enabled")), "AttributeName": attribute},
            )
        client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=recovery(values))
        table = client.describe_table(TableName=name)["Table"]
        return {
            "stream_arn": table.get("LatestStreamArn") if stream[0] else "",
            "stream_label": table.get("LatestStreamLabel") if stream[0] else "",
            "point_in_time_recovery": recovery_state(values),
        }


# ---------------------------------------------------------------------------- Lambda


def own_layers(values: Values) -> list[str]:
    """The emulator holds only this account's layers; others (public layers) stay in state only."""
    return [layer for layer in values.get("layers") or [] if account(layer) == account(values["role"])]


def package(values: Values) -> Values:
    """The Code of CreateFunction: the bytes of `filename`, the only kind of package the stand-in deploys."""
    if not values.get("filename"):
        raise NotImplementedError("only `filename` deployment packages are supported (no S3, no images)")
    return {"ZipFile": Path(values["filename"]).read_bytes()}


class LambdaFunction(Resource):
    # Changing any of these changes the code: Lambda gives it a new hash, size and modification time.
    code = frozenset({"filename", "source_code_hash", "s3_bucket", "s3_key", "s3_object_version", "image_uri"})

    def update(self, prior, values):
        code, client, name = package(values)["ZipFile"], self.client(values), values["function_name"]
        client.update_function_configuration(**self.request(op("UpdateFunctionConfiguration"), values))
        if any(differs(prior.get(key), values.get(key)) for key in self.code | {"architectures"}):
            client.update_function_code(
                **given(FunctionName=name, ZipFile=code, Architectures=values.get("architectures"))
            )
        version = client.publish_version(FunctionName=name)["Version"] if values.get("publish") else prior["version"]
        return self.computed(values, {**client.get_function_configuration(FunctionName=name), "Version": version})

    def recomputed(self, prior, changed):
        # As the real provider plans it: new code is modified now, and publishing makes a new version.
        unknown = super().recomputed(prior, changed)
        if changed & self.code:
            unknown |= {"last_modified", "code_sha256", "source_code_size"}
        if prior.get("publish") or "publish" in changed:
            unknown |= {"version", "qualified_arn", "qualified_invoke_arn", "last_modified"}
        return unknown


# ---------------------------------------------------------------------------- SNS and SQS attribute maps


def sns_attribute(name: str) -> str:
    """The SNS attribute an argument sets: sqs_success_feedback_role_arn -> SQSSuccessFeedbackRoleArn."""
    return "".join(part.upper() if part in ("sqs", "http") else part.capitalize() for part in name.split("_"))


# Arguments of aws_sns_topic_subscription that are subscription attributes.
SUBSCRIPTION = "filter_policy filter_policy_scope raw_message_delivery redrive_policy delivery_policy replay_policy"


def sns_arguments(kind: str) -> list[str]:
    """The arguments that are SNS attributes: all of a topic's but its name and tags; a subscription's settings."""
    if kind == "topic":
        return [n for n in arguments(schema("aws_sns_topic")).values() if n not in ("name", "name_prefix", "tags")]
    return [*SUBSCRIPTION.split(), "subscription_role_arn"]


def sns_attributes(kind: str) -> Any:
    """The `Attributes` of CreateTopic or Subscribe: each attribute argument that is set."""
    return lambda values: {sns_attribute(n): text(values[n]) for n in sns_arguments(kind) if values.get(n) is not None}


class SnsAttributes(Resource):
    """A topic or a subscription changes one attribute per call: each changed argument that does not replace it."""

    def update(self, prior, values):
        client, topic = self.client(values), self.type_name == "aws_sns_topic"
        setter = client.set_topic_attributes if topic else client.set_subscription_attributes
        target = {"TopicArn" if topic else "SubscriptionArn": prior["arn"]}
        for name in sns_arguments("topic" if topic else "subscription"):
            if name not in self.replaced_by and values.get(name) is not None and differs(prior.get(name), values[name]):
                setter(**target, AttributeName=sns_attribute(name), AttributeValue=text(values[name]))
        return {}


def default_topic_policy(state: Values) -> str:
    """SNS's own policy of a topic, which the real provider puts back when a topic policy is destroyed."""
    actions = "GetTopicAttributes SetTopicAttributes AddPermission RemovePermission DeleteTopic Subscribe"
    actions += " ListSubscriptionsByTopic Publish Receive"
    statement = {
        "Sid": "__default_statement_ID",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": [f"SNS:{action}" for action in actions.split()],
        "Resource": state["arn"],
        "Condition": {"StringEquals": {"AWS:SourceOwner": account(state["arn"])}},
    }
    return json.dumps({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [statement]})


# Arguments of aws_sqs_queue whose queue attribute is not named after them.
QUEUE_RENAMES = {"max_message_size": "MaximumMessageSize", "message_retention_seconds": "MessageRetentionPeriod"}
QUEUE_RENAMES |= {"receive_wait_time_seconds": "ReceiveMessageWaitTimeSeconds"}
QUEUE_RENAMES |= {"visibility_timeout_seconds": "VisibilityTimeout"}


def queue_attributes(values: Values, fifo: bool = False) -> dict[str, str]:
    """The queue attributes of the arguments set, named as the API's QueueAttributeName lists them; FifoQueue
    only when creating a FIFO queue (it cannot be changed, nor sent as false)."""
    names = {key(name): name for name in model("sqs").shape_for("QueueAttributeName").enum}
    attributes = {}
    for argument in arguments(schema("aws_sqs_queue")).values():
        name, value = QUEUE_RENAMES.get(argument) or names.get(key(argument)), values.get(argument)
        if name and value is not None and value != "" and (argument != "fifo_queue" or (fifo and value)):
            attributes[name] = text(value)
    return attributes


def log_group(found: Values) -> Values:
    """The group of DescribeLogGroups' answer that has the name asked for (the call matches a prefix)."""
    return next((group for group in found.get("logGroups") or [] if group["logGroupName"] == found["name"]), {})
