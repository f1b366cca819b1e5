"""The hashicorp/aws stand-in's resources and data sources, created, read and deleted with boto3.

Each resource receives the planned object as a dict (unknown values as None) and returns the
attributes AWS computes; the provider fills them into the plan's unknowns (values.resolve).
Reading only checks that the object still exists: the state keeps what was applied.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from tools.stand_in_provider.values import differs

# Endpoint keys of the provider's `endpoints` block -> boto3 service names.
SERVICES = {
    "cloudwatch": "cloudwatch",
    "cloudwatchlogs": "logs",
    "dynamodb": "dynamodb",
    "events": "events",
    "iam": "iam",
    "kms": "kms",
    "lambda": "lambda",
    "logs": "logs",
    "scheduler": "scheduler",
    "sfn": "stepfunctions",
    "stepfunctions": "stepfunctions",
    "sns": "sns",
    "ssm": "ssm",
    "sts": "sts",
}

# Error codes that mean "no such object" in the services used here.
NOT_FOUND = {
    "ResourceNotFoundException",
    "ResourceNotFound",
    "NoSuchEntity",
    "NotFound",
    "NotFoundException",
    "ParameterNotFound",
    "StateMachineDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
}


class Aws:
    """The provider configuration (region, credentials, endpoints) and everything it serves."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._session: Any = None
        self._lock = threading.Lock()
        self.resources = {kind.type_name: kind(self) for kind in Resource.__subclasses__()}
        self.data_sources = {
            "aws_partition": self.partition,
            "aws_region": self.region_data,
            "aws_caller_identity": self.caller_identity,
            "aws_iam_policy_document": policy_document,
        }

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
        return {
            "region": values.get("region") or self.region,
            "tags_all": self.tags(values),
            **resource.update(prior, values),
        }

    def tags(self, values: dict[str, Any]) -> dict[str, str]:
        """The provider's default tags merged with the resource's own, as `tags_all` holds them."""
        default = next(iter(self.config.get("default_tags") or []), None) or {}
        return {**(default.get("tags") or {}), **(values.get("tags") or {})}

    # ------------------------------------------------------------------------ data sources

    def partition(self, config: dict[str, Any]) -> dict[str, Any]:
        partition = _partition(self.region)
        return {
            "id": partition["partition"],
            "partition": partition["partition"],
            "dns_suffix": partition["dnsSuffix"],
            "reverse_dns_prefix": ".".join(reversed(partition["dnsSuffix"].split("."))),
        }

    def region_data(self, config: dict[str, Any]) -> dict[str, Any]:
        region = config.get("region") or config.get("name") or self.region
        partition = _partition(region)
        return {
            "id": region,
            "region": region,
            "name": region,
            "description": partition["regions"].get(region, {}).get("description", region),
            "endpoint": f"ec2.{region}.{partition['dnsSuffix']}",
        }

    def caller_identity(self, config: dict[str, Any]) -> dict[str, Any]:
        identity = self.client("sts").get_caller_identity()
        return {
            "id": identity["Account"],
            "account_id": identity["Account"],
            "arn": identity["Arn"],
            "user_id": identity["UserId"],
        }


def _partition(region: str) -> dict[str, Any]:
    """botocore's record of the partition that holds `region` (name, DNS suffix, region descriptions)."""
    from botocore.loaders import create_loader

    partitions = create_loader().load_data("endpoints")["partitions"]
    return next((p for p in partitions if region in p["regions"] or re.match(p["regionRegex"], region)), partitions[0])


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
    for key, name in (
        ("Action", "actions"),
        ("NotAction", "not_actions"),
        ("Resource", "resources"),
        ("NotResource", "not_resources"),
    ):
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
    for character, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(character, escape)
    return text


# ---------------------------------------------------------------------------- resources


class Resource:
    """One resource type: create returns the computed attributes, update changes the object in place,
    exists reads, delete removes.

    `replaced_by` names the arguments whose change replaces the object, as the real provider's schema
    marks them (ForceNew, hashicorp/terraform-provider-aws at 1a5174b, plus 6.x's per-resource
    `region`); a nested block is named whole when any of its forcing attributes is. A change to any
    other argument is planned and applied in place.
    """

    type_name = ""
    service = ""
    replaced_by: frozenset[str] = frozenset()
    updated_by_create = False  # create is a put: running it again updates the object in place

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def client(self, values: dict[str, Any]) -> Any:
        return self.aws.client(self.service, values.get("region"))

    def create(self, values: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, prior: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """Change the object `prior` describes to `values` (unknowns as None); the computed attributes
        `recomputed` made unknown."""
        if self.updated_by_create:
            return self.create(values)
        raise NotImplementedError(f"the stand-in cannot update {self.type_name} in place: {sorted(values)}")

    def recomputed(self, prior: dict[str, Any], changed: set[str]) -> set[str]:
        """Computed attributes an in-place change of `changed` makes unknown until applied."""
        return {"tags_all"} if "tags" in changed else set()

    def exists(self, state: dict[str, Any]) -> bool:
        raise NotImplementedError

    def delete(self, state: dict[str, Any]) -> None:
        raise NotImplementedError


def _missing(error: Exception) -> bool:
    return getattr(error, "response", {}).get("Error", {}).get("Code") in NOT_FOUND


def _found(read: Any) -> bool:
    """Whether `read()` finds its object; any other error propagates."""
    try:
        return bool(read())
    except Exception as error:
        if _missing(error):
            return False
        raise


def _gone(remove: Any) -> None:
    """Run `remove()`, accepting that the object is already gone."""
    try:
        remove()
    except Exception as error:
        if not _missing(error):
            raise


def _given(**arguments: Any) -> dict[str, Any]:
    """The request arguments that have a value (boto3 rejects None)."""
    return {key: value for key, value in arguments.items() if value is not None and value != []}


def _first(blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The one element of a `max_items = 1` block, or {} when it is absent."""
    return (blocks or [{}])[0]


def _name(values: dict[str, Any], default_prefix: str = "terraform-") -> str:
    """`name`, or a unique name from `name_prefix` as the provider makes one (prefix + 26 digits)."""
    if values.get("name"):
        return values["name"]
    return _unique(values.get("name_prefix") or default_prefix)


def _unique(prefix: str) -> str:
    return f"{prefix}{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{time.time_ns() % 10**12:012d}"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]] | None:
    return [{key: k, value: v} for k, v in tags.items()] or None


def _account(arn: str) -> str:
    return arn.split(":")[4]


def _partition_of(arn: str) -> str:
    return arn.split(":")[1]


class IamRole(Resource):
    type_name, service = "aws_iam_role", "iam"
    replaced_by = frozenset({"region", "name", "name_prefix", "path"})

    def create(self, values):
        name = _name(values)
        role = self.client(values).create_role(
            **_given(
                RoleName=name,
                AssumeRolePolicyDocument=values["assume_role_policy"],
                Path=values.get("path"),
                Description=values.get("description"),
                MaxSessionDuration=values.get("max_session_duration"),
                PermissionsBoundary=values.get("permissions_boundary"),
                Tags=_tag_list(self.aws.tags(values)),
            )
        )["Role"]
        return {
            "id": name,
            "name": name,
            "arn": role["Arn"],
            "unique_id": role["RoleId"],
            "create_date": _timestamp(role["CreateDate"]),
            "managed_policy_arns": [],
        }

    def update(self, prior, values):
        client, name = self.client(values), prior["id"]
        client.update_role(
            **_given(
                RoleName=name,
                Description=values.get("description") or "",
                MaxSessionDuration=values.get("max_session_duration"),
            )
        )
        client.update_assume_role_policy(RoleName=name, PolicyDocument=values["assume_role_policy"])
        return {}

    def exists(self, state):
        return _found(lambda: self.client(state).get_role(RoleName=state["id"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_role(RoleName=state["id"]))


class IamRolePolicy(Resource):
    type_name, service = "aws_iam_role_policy", "iam"
    replaced_by = frozenset({"region", "name", "name_prefix", "role"})
    updated_by_create = True

    def create(self, values):
        name = _name(values)
        self.client(values).put_role_policy(RoleName=values["role"], PolicyName=name, PolicyDocument=values["policy"])
        return {"id": f"{values['role']}:{name}", "name": name}

    def exists(self, state):
        return _found(lambda: self.client(state).get_role_policy(RoleName=state["role"], PolicyName=state["name"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_role_policy(RoleName=state["role"], PolicyName=state["name"]))


class IamRolePolicyAttachment(Resource):
    type_name, service = "aws_iam_role_policy_attachment", "iam"
    replaced_by = frozenset({"region", "policy_arn", "role"})

    def create(self, values):
        self.client(values).attach_role_policy(RoleName=values["role"], PolicyArn=values["policy_arn"])
        return {"id": f"{values['role']}/{values['policy_arn']}"}

    def exists(self, state):
        def attached():
            policies = self.client(state).list_attached_role_policies(RoleName=state["role"])["AttachedPolicies"]
            return any(policy["PolicyArn"] == state["policy_arn"] for policy in policies)

        return _found(attached)

    def delete(self, state):
        _gone(lambda: self.client(state).detach_role_policy(RoleName=state["role"], PolicyArn=state["policy_arn"]))


class LambdaFunction(Resource):
    type_name, service = "aws_lambda_function", "lambda"
    replaced_by = frozenset({"region", "function_name", "package_type"})

    # Changing any of these changes the code: Lambda gives it a new hash, size and modification time.
    code = frozenset({"filename", "source_code_hash", "s3_bucket", "s3_key", "s3_object_version", "image_uri"})

    def create(self, values):
        self._check_package(values)
        created = self.client(values).create_function(
            **_given(
                FunctionName=values["function_name"],
                Code={"ZipFile": Path(values["filename"]).read_bytes()},
                Publish=bool(values.get("publish")),
                Architectures=values.get("architectures"),
                Tags=self.aws.tags(values) or None,
                **self._configuration(values),
            )
        )
        return self._computed(values, created, created["Version"])

    def update(self, prior, values):
        self._check_package(values)
        client, name = self.client(values), values["function_name"]
        client.update_function_configuration(FunctionName=name, **_given(**self._configuration(values)))
        if any(differs(prior.get(key), values.get(key)) for key in self.code | {"architectures"}):
            client.update_function_code(
                **_given(
                    FunctionName=name,
                    ZipFile=Path(values["filename"]).read_bytes(),
                    Architectures=values.get("architectures"),
                )
            )
        version = client.publish_version(FunctionName=name)["Version"] if values.get("publish") else prior["version"]
        return self._computed(values, client.get_function_configuration(FunctionName=name), version)

    def recomputed(self, prior, changed):
        # As the real provider plans it: new code is modified now, and publishing makes a new version.
        unknown = super().recomputed(prior, changed)
        if changed & self.code:
            unknown |= {"last_modified", "code_sha256", "source_code_size"}
        if prior.get("publish") or "publish" in changed:
            unknown |= {"version", "qualified_arn", "qualified_invoke_arn", "last_modified"}
        return unknown

    @staticmethod
    def _check_package(values: dict[str, Any]) -> None:
        if not values.get("filename"):
            raise NotImplementedError("only `filename` deployment packages are supported (no S3, no images)")

    def _configuration(self, values: dict[str, Any]) -> dict[str, Any]:
        """The arguments CreateFunction and UpdateFunctionConfiguration share."""
        account = _account(values["role"])
        environment, tracing = _first(values.get("environment")), _first(values.get("tracing_config"))
        logging, dead_letter = _first(values.get("logging_config")), _first(values.get("dead_letter_config"))
        storage = _first(values.get("ephemeral_storage"))
        return _given(
            Role=values["role"],
            Handler=values.get("handler"),
            Runtime=values.get("runtime"),
            Description=values.get("description"),
            Timeout=values.get("timeout"),
            MemorySize=values.get("memory_size"),
            KMSKeyArn=values.get("kms_key_arn"),
            # The emulator holds only this account's layers; others (public layers) stay in state only.
            Layers=[layer for layer in values.get("layers") or [] if _account(layer) == account],
            Environment={"Variables": environment["variables"]} if environment.get("variables") else None,
            TracingConfig={"Mode": tracing["mode"]} if tracing else None,
            LoggingConfig=_given(
                LogFormat=logging.get("log_format"),
                LogGroup=logging.get("log_group"),
                ApplicationLogLevel=logging.get("application_log_level"),
                SystemLogLevel=logging.get("system_log_level"),
            )
            or None,
            DeadLetterConfig={"TargetArn": dead_letter["target_arn"]} if dead_letter else None,
            EphemeralStorage={"Size": storage["size"]} if storage.get("size") else None,
        )

    def _computed(self, values: dict[str, Any], created: dict[str, Any], version: str) -> dict[str, Any]:
        """The computed attributes, from a function's configuration as Lambda returns it."""
        region = values.get("region") or self.aws.region
        arn = created["FunctionArn"]
        invocations = f"arn:{_partition_of(arn)}:apigateway:{region}:lambda:path"
        return {
            "id": values["function_name"],
            "arn": arn,
            "version": version,
            "qualified_arn": f"{arn}:{version}",
            "invoke_arn": f"{invocations}/2015-03-31/functions/{arn}/invocations",
            "qualified_invoke_arn": f"{invocations}/2015-03-31/functions/{arn}:{version}/invocations",
            "response_streaming_invoke_arn": f"{invocations}/2021-11-15/functions/{arn}/response-streaming-invocations",
            "code_sha256": created["CodeSha256"],
            "source_code_hash": created["CodeSha256"],
            "source_code_size": created["CodeSize"],
            "last_modified": created["LastModified"],
            "architectures": created["Architectures"],
            "package_type": created.get("PackageType"),
            "logging_config": [
                {
                    "log_group": created.get("LoggingConfig", {}).get(
                        "LogGroup", f"/aws/lambda/{values['function_name']}"
                    )
                }
            ],
            "ephemeral_storage": [{"size": created.get("EphemeralStorage", {}).get("Size", 512)}],
        }

    def exists(self, state):
        return _found(lambda: self.client(state).get_function(FunctionName=state["function_name"]))

    def delete(self, state):
        if not state.get("skip_destroy"):
            _gone(lambda: self.client(state).delete_function(FunctionName=state["function_name"]))


class LambdaAlias(Resource):
    type_name, service = "aws_lambda_alias", "lambda"
    replaced_by = frozenset({"region", "function_name", "name"})

    def create(self, values):
        routing = _first(values.get("routing_config"))
        arn = self.client(values).create_alias(
            **_given(
                FunctionName=values["function_name"],
                Name=values["name"],
                FunctionVersion=values["function_version"],
                Description=values.get("description"),
                RoutingConfig={"AdditionalVersionWeights": routing["additional_version_weights"]}
                if routing.get("additional_version_weights")
                else None,
            )
        )["AliasArn"]
        region = values.get("region") or self.aws.region
        return {
            "id": arn,
            "arn": arn,
            "invoke_arn": f"arn:{_partition_of(arn)}:apigateway:{region}:lambda:path"
            f"/2015-03-31/functions/{arn}/invocations",
        }

    def update(self, prior, values):
        routing = _first(values.get("routing_config"))
        self.client(values).update_alias(
            FunctionName=values["function_name"],
            Name=values["name"],
            FunctionVersion=values["function_version"],
            Description=values.get("description") or "",
            RoutingConfig={"AdditionalVersionWeights": routing.get("additional_version_weights") or {}},
        )
        return {}

    def exists(self, state):
        return _found(lambda: self.client(state).get_alias(FunctionName=state["function_name"], Name=state["name"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_alias(FunctionName=state["function_name"], Name=state["name"]))


class LambdaPermission(Resource):
    type_name, service = "aws_lambda_permission", "lambda"
    replaced_by = frozenset(
        {
            "region",
            "action",
            "event_source_token",
            "function_name",
            "function_url_auth_type",
            "principal",
            "principal_org_id",
            "qualifier",
            "source_account",
            "source_arn",
            "statement_id",
            "statement_id_prefix",
        }
    )

    def create(self, values):
        statement = values.get("statement_id") or _unique(values.get("statement_id_prefix") or "terraform-")
        self.client(values).add_permission(
            **_given(
                FunctionName=values["function_name"],
                StatementId=statement,
                Action=values["action"],
                Principal=values["principal"],
                SourceArn=values.get("source_arn"),
                SourceAccount=values.get("source_account"),
                EventSourceToken=values.get("event_source_token"),
                Qualifier=values.get("qualifier"),
                PrincipalOrgID=values.get("principal_org_id"),
                FunctionUrlAuthType=values.get("function_url_auth_type"),
            )
        )
        return {"id": statement, "statement_id": statement}

    def exists(self, state):
        def statements():
            policy = self.client(state).get_policy(
                **_given(FunctionName=state["function_name"], Qualifier=state.get("qualifier"))
            )
            return json.loads(policy["Policy"])["Statement"]

        return _found(lambda: any(s.get("Sid") == state["statement_id"] for s in statements()))

    def delete(self, state):
        _gone(
            lambda: self.client(state).remove_permission(
                **_given(
                    FunctionName=state["function_name"],
                    StatementId=state["statement_id"],
                    Qualifier=state.get("qualifier"),
                )
            )
        )


class LambdaEventInvokeConfig(Resource):
    type_name, service = "aws_lambda_function_event_invoke_config", "lambda"
    replaced_by = frozenset({"region", "function_name", "qualifier"})
    updated_by_create = True

    def create(self, values):
        destinations = _first(values.get("destination_config"))
        self.client(values).put_function_event_invoke_config(
            **_given(
                FunctionName=values["function_name"],
                Qualifier=values.get("qualifier"),
                MaximumRetryAttempts=values.get("maximum_retry_attempts"),
                MaximumEventAgeInSeconds=values.get("maximum_event_age_in_seconds"),
                DestinationConfig=_given(
                    **{
                        key: {"Destination": _first(destinations.get(name))["destination"]}
                        for key, name in (("OnSuccess", "on_success"), ("OnFailure", "on_failure"))
                        if destinations.get(name)
                    }
                )
                or None,
            )
        )
        qualifier = values.get("qualifier")
        return {"id": f"{values['function_name']}:{qualifier}" if qualifier else values["function_name"]}

    def _target(self, state):
        return _given(FunctionName=state["function_name"], Qualifier=state.get("qualifier"))

    def exists(self, state):
        return _found(lambda: self.client(state).get_function_event_invoke_config(**self._target(state)))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_function_event_invoke_config(**self._target(state)))


def _sns_attribute(name: str) -> str:
    """The SNS attribute an argument sets: sqs_success_feedback_role_arn -> SQSSuccessFeedbackRoleArn."""
    return "".join(part.upper() if part in ("sqs", "http") else part.capitalize() for part in name.split("_"))


def _sns_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


# Arguments of aws_sns_topic that are topic attributes in SNS (named as _sns_attribute spells them).
_TOPIC_ATTRIBUTES = (
    "display_name",
    "policy",
    "delivery_policy",
    "kms_master_key_id",
    "fifo_topic",
    "content_based_deduplication",
    "signature_version",
    "tracing_config",
    "archive_policy",
    "fifo_throughput_scope",
    *(
        f"{protocol}_{setting}"
        for protocol in ("application", "firehose", "http", "lambda", "sqs")
        for setting in ("success_feedback_role_arn", "failure_feedback_role_arn", "success_feedback_sample_rate")
    ),
)

_SUBSCRIPTION_ATTRIBUTES = {
    "filter_policy": "FilterPolicy",
    "filter_policy_scope": "FilterPolicyScope",
    "raw_message_delivery": "RawMessageDelivery",
    "redrive_policy": "RedrivePolicy",
    "delivery_policy": "DeliveryPolicy",
    "subscription_role_arn": "SubscriptionRoleArn",
    "replay_policy": "ReplayPolicy",
}


class SnsTopic(Resource):
    type_name, service = "aws_sns_topic", "sns"
    replaced_by = frozenset({"region", "fifo_topic", "name", "name_prefix"})

    def create(self, values):
        name = _name(values)
        if values.get("fifo_topic") and not name.endswith(".fifo"):
            name += ".fifo"
        client = self.client(values)
        arn = client.create_topic(
            **_given(
                Name=name,
                Tags=_tag_list(self.aws.tags(values)),
                Attributes={
                    _sns_attribute(key): _sns_value(values[key])
                    for key in _TOPIC_ATTRIBUTES
                    if values.get(key) is not None
                },
            )
        )["TopicArn"]
        attributes = client.get_topic_attributes(TopicArn=arn)["Attributes"]
        return {
            "id": arn,
            "arn": arn,
            "name": name,
            "owner": attributes.get("Owner", _account(arn)),
            "policy": attributes.get("Policy"),
            "signature_version": attributes.get("SignatureVersion", 1),
            "tracing_config": attributes.get("TracingConfig"),
        }

    def update(self, prior, values):
        client = self.client(values)
        for key in _TOPIC_ATTRIBUTES:
            if key != "fifo_topic" and values.get(key) is not None and differs(prior.get(key), values[key]):
                client.set_topic_attributes(
                    TopicArn=prior["arn"], AttributeName=_sns_attribute(key), AttributeValue=_sns_value(values[key])
                )
        return {}

    def exists(self, state):
        return _found(lambda: self.client(state).get_topic_attributes(TopicArn=state["arn"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_topic(TopicArn=state["arn"]))


class SnsTopicPolicy(Resource):
    type_name, service = "aws_sns_topic_policy", "sns"
    replaced_by = frozenset({"region", "arn"})
    updated_by_create = True

    def create(self, values):
        self.client(values).set_topic_attributes(
            TopicArn=values["arn"], AttributeName="Policy", AttributeValue=values["policy"]
        )
        return {"id": values["arn"], "owner": _account(values["arn"])}

    def exists(self, state):
        return _found(lambda: self.client(state).get_topic_attributes(TopicArn=state["arn"]))

    def delete(self, state):
        # As the real provider does: the topic gets SNS's default policy back.
        arn, account = state["arn"], _account(state["arn"])
        default = {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        f"SNS:{action}"
                        for action in (
                            "GetTopicAttributes",
                            "SetTopicAttributes",
                            "AddPermission",
                            "RemovePermission",
                            "DeleteTopic",
                            "Subscribe",
                            "ListSubscriptionsByTopic",
                            "Publish",
                            "Receive",
                        )
                    ],
                    "Resource": arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
                }
            ],
        }
        _gone(
            lambda: self.client(state).set_topic_attributes(
                TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(default)
            )
        )


class SnsTopicSubscription(Resource):
    type_name, service = "aws_sns_topic_subscription", "sns"
    replaced_by = frozenset({"region", "endpoint", "protocol", "topic_arn"})

    def create(self, values):
        client = self.client(values)
        arn = client.subscribe(
            TopicArn=values["topic_arn"],
            Protocol=values["protocol"],
            Endpoint=values["endpoint"],
            ReturnSubscriptionArn=True,
            Attributes={
                attribute: _sns_value(values[key])
                for key, attribute in _SUBSCRIPTION_ATTRIBUTES.items()
                if values.get(key) is not None
            },
        )["SubscriptionArn"]
        attributes = client.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        return {
            "id": arn,
            "arn": arn,
            "owner_id": attributes.get("Owner", _account(arn)),
            "pending_confirmation": attributes.get("PendingConfirmation") == "true",
            "confirmation_was_authenticated": attributes.get("ConfirmationWasAuthenticated") == "true",
            "filter_policy_scope": attributes.get("FilterPolicyScope"),
        }

    def update(self, prior, values):
        client = self.client(values)
        for key, attribute in _SUBSCRIPTION_ATTRIBUTES.items():
            if values.get(key) is not None and differs(prior.get(key), values[key]):
                client.set_subscription_attributes(
                    SubscriptionArn=prior["arn"], AttributeName=attribute, AttributeValue=_sns_value(values[key])
                )
        return {}

    def exists(self, state):
        return _found(lambda: self.client(state).get_subscription_attributes(SubscriptionArn=state["arn"]))

    def delete(self, state):
        _gone(lambda: self.client(state).unsubscribe(SubscriptionArn=state["arn"]))


class KmsKey(Resource):
    type_name, service = "aws_kms_key", "kms"
    replaced_by = frozenset(
        {"region", "custom_key_store_id", "customer_master_key_spec", "key_usage", "multi_region", "xks_key_id"}
    )

    def create(self, values):
        client = self.client(values)
        key = client.create_key(
            **_given(
                Description=values.get("description"),
                KeyUsage=values.get("key_usage"),
                KeySpec=values.get("customer_master_key_spec"),
                Policy=values.get("policy"),
                BypassPolicyLockoutSafetyCheck=values.get("bypass_policy_lockout_safety_check"),
                MultiRegion=values.get("multi_region"),
                CustomKeyStoreId=values.get("custom_key_store_id"),
                XksKeyId=values.get("xks_key_id"),
                Tags=_tag_list(self.aws.tags(values), "TagKey", "TagValue"),
            )
        )["KeyMetadata"]
        rotation = values.get("rotation_period_in_days") or 365
        if values.get("enable_key_rotation"):
            client.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=rotation)
        if values.get("is_enabled") is False:
            client.disable_key(KeyId=key["KeyId"])
        return {
            "id": key["KeyId"],
            "key_id": key["KeyId"],
            "arn": key["Arn"],
            "description": key.get("Description", ""),
            "multi_region": key.get("MultiRegion", False),
            "policy": client.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"],
            "rotation_period_in_days": rotation if values.get("enable_key_rotation") else None,
        }

    def update(self, prior, values):
        client, key = self.client(values), prior["id"]
        if values.get("description") is not None:
            client.update_key_description(KeyId=key, Description=values["description"])
        if values.get("policy"):
            client.put_key_policy(KeyId=key, PolicyName="default", Policy=values["policy"])
        rotation = values.get("rotation_period_in_days") or 365
        if values.get("enable_key_rotation"):
            client.enable_key_rotation(KeyId=key, RotationPeriodInDays=rotation)
        else:
            client.disable_key_rotation(KeyId=key)
        (client.disable_key if values.get("is_enabled") is False else client.enable_key)(KeyId=key)
        return {
            "policy": client.get_key_policy(KeyId=key, PolicyName="default")["Policy"],
            "rotation_period_in_days": rotation if values.get("enable_key_rotation") else None,
        }

    def exists(self, state):
        def active():
            key = self.client(state).describe_key(KeyId=state["id"])["KeyMetadata"]
            return key["KeyState"] not in ("PendingDeletion", "PendingReplicaDeletion")

        return _found(active)

    def delete(self, state):
        _gone(
            lambda: self.client(state).schedule_key_deletion(
                KeyId=state["id"], PendingWindowInDays=state.get("deletion_window_in_days") or 30
            )
        )


class KmsAlias(Resource):
    type_name, service = "aws_kms_alias", "kms"
    replaced_by = frozenset({"region", "name", "name_prefix"})

    def create(self, values):
        name = _name(values, "alias/")
        client = self.client(values)
        client.create_alias(AliasName=name, TargetKeyId=values["target_key_id"])
        key_arn = client.describe_key(KeyId=values["target_key_id"])["KeyMetadata"]["Arn"]
        return {"id": name, "name": name, "target_key_arn": key_arn, "arn": f"{key_arn.rsplit(':', 1)[0]}:{name}"}

    def update(self, prior, values):
        client = self.client(values)
        client.update_alias(AliasName=prior["name"], TargetKeyId=values["target_key_id"])
        return {"target_key_arn": client.describe_key(KeyId=values["target_key_id"])["KeyMetadata"]["Arn"]}

    def recomputed(self, prior, changed):
        return super().recomputed(prior, changed) | ({"target_key_arn"} if "target_key_id" in changed else set())

    def exists(self, state):
        return _found(
            lambda: any(alias["AliasName"] == state["name"] for alias in self.client(state).list_aliases()["Aliases"])
        )

    def delete(self, state):
        _gone(lambda: self.client(state).delete_alias(AliasName=state["name"]))


class CloudwatchLogGroup(Resource):
    type_name, service = "aws_cloudwatch_log_group", "logs"
    replaced_by = frozenset({"region", "log_group_class", "name", "name_prefix"})

    def create(self, values):
        name, client = _name(values), self.client(values)
        client.create_log_group(
            **_given(
                logGroupName=name,
                kmsKeyId=values.get("kms_key_id"),
                logGroupClass=values.get("log_group_class"),
                tags=self.aws.tags(values) or None,
            )
        )
        if values.get("retention_in_days"):
            client.put_retention_policy(logGroupName=name, retentionInDays=values["retention_in_days"])
        group = self._describe(client, name)
        return {
            "id": name,
            "name": name,
            "arn": group["arn"].removesuffix(":*"),
            "log_group_class": group.get("logGroupClass", "STANDARD"),
            "deletion_protection_enabled": group.get("deletionProtectionEnabled", False),
        }

    def update(self, prior, values):
        client, name = self.client(values), prior["name"]
        if values.get("retention_in_days"):
            client.put_retention_policy(logGroupName=name, retentionInDays=values["retention_in_days"])
        else:
            client.delete_retention_policy(logGroupName=name)
        if values.get("kms_key_id"):
            client.associate_kms_key(logGroupName=name, kmsKeyId=values["kms_key_id"])
        elif prior.get("kms_key_id"):
            client.disassociate_kms_key(logGroupName=name)
        return {}

    @staticmethod
    def _describe(client: Any, name: str) -> dict[str, Any] | None:
        groups = client.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        return next((group for group in groups if group["logGroupName"] == name), None)

    def exists(self, state):
        return _found(lambda: self._describe(self.client(state), state["name"]))

    def delete(self, state):
        if not state.get("skip_destroy"):
            _gone(lambda: self.client(state).delete_log_group(logGroupName=state["name"]))


def _dimensions(dimensions: dict[str, str] | None) -> list[dict[str, str]] | None:
    return [{"Name": name, "Value": value} for name, value in (dimensions or {}).items()] or None


class CloudwatchMetricAlarm(Resource):
    type_name, service = "aws_cloudwatch_metric_alarm", "cloudwatch"
    replaced_by = frozenset({"region", "alarm_name"})
    updated_by_create = True

    def create(self, values):
        client = self.client(values)
        client.put_metric_alarm(
            **_given(
                AlarmName=values["alarm_name"],
                AlarmDescription=values.get("alarm_description"),
                ActionsEnabled=values.get("actions_enabled"),
                AlarmActions=values.get("alarm_actions"),
                OKActions=values.get("ok_actions"),
                InsufficientDataActions=values.get("insufficient_data_actions"),
                ComparisonOperator=values.get("comparison_operator"),
                EvaluationPeriods=values.get("evaluation_periods"),
                DatapointsToAlarm=values.get("datapoints_to_alarm"),
                Threshold=values.get("threshold"),
                ThresholdMetricId=values.get("threshold_metric_id"),
                TreatMissingData=values.get("treat_missing_data"),
                EvaluateLowSampleCountPercentile=values.get("evaluate_low_sample_count_percentiles"),
                Namespace=values.get("namespace"),
                MetricName=values.get("metric_name"),
                Period=values.get("period"),
                Statistic=values.get("statistic"),
                ExtendedStatistic=values.get("extended_statistic"),
                Dimensions=_dimensions(values.get("dimensions")),
                Unit=values.get("unit"),
                Metrics=[self._query(query) for query in values.get("metric_query") or []] or None,
                Tags=_tag_list(self.aws.tags(values)),
            )
        )
        alarm = client.describe_alarms(AlarmNames=[values["alarm_name"]])["MetricAlarms"][0]
        return {
            "id": values["alarm_name"],
            "arn": alarm["AlarmArn"],
            "evaluate_low_sample_count_percentiles": alarm.get("EvaluateLowSampleCountPercentile"),
        }

    @staticmethod
    def _query(query: dict[str, Any]) -> dict[str, Any]:
        metric = _first(query.get("metric"))
        return _given(
            Id=query["id"],
            Expression=query.get("expression"),
            Label=query.get("label"),
            ReturnData=query.get("return_data"),
            Period=query.get("period"),
            AccountId=query.get("account_id"),
            MetricStat=_given(
                Metric=_given(
                    Namespace=metric.get("namespace"),
                    MetricName=metric.get("metric_name"),
                    Dimensions=_dimensions(metric.get("dimensions")),
                ),
                Period=metric.get("period"),
                Stat=metric.get("stat"),
                Unit=metric.get("unit"),
            )
            if metric
            else None,
        )

    def exists(self, state):
        return _found(lambda: self.client(state).describe_alarms(AlarmNames=[state["alarm_name"]])["MetricAlarms"])

    def delete(self, state):
        _gone(lambda: self.client(state).delete_alarms(AlarmNames=[state["alarm_name"]]))


class SchedulerSchedule(Resource):
    type_name, service = "aws_scheduler_schedule", "scheduler"
    replaced_by = frozenset({"region", "group_name", "name", "name_prefix"})

    def create(self, values):
        name, group = _name(values), values.get("group_name") or "default"
        arn = self.client(values).create_schedule(**self._request(values, name, group))["ScheduleArn"]
        return {
            "id": f"{group}/{name}",
            "name": name,
            "group_name": group,
            "arn": arn,
            "action_after_completion": values.get("action_after_completion") or "NONE",
        }

    def update(self, prior, values):
        self.client(values).update_schedule(**self._request(values, prior["name"], prior["group_name"]))
        return {}

    @staticmethod
    def _request(values: dict[str, Any], name: str, group: str) -> dict[str, Any]:
        """The arguments CreateSchedule and UpdateSchedule share (an update replaces every setting)."""
        window, target = _first(values.get("flexible_time_window")), _first(values.get("target"))
        retry, dead_letter = _first(target.get("retry_policy")), _first(target.get("dead_letter_config"))
        return _given(
            Name=name,
            GroupName=group,
            ScheduleExpression=values["schedule_expression"],
            ScheduleExpressionTimezone=values.get("schedule_expression_timezone"),
            Description=values.get("description"),
            StartDate=values.get("start_date"),
            EndDate=values.get("end_date"),
            State=values.get("state"),
            KmsKeyArn=values.get("kms_key_arn"),
            ActionAfterCompletion=values.get("action_after_completion"),
            FlexibleTimeWindow=_given(
                Mode=window["mode"], MaximumWindowInMinutes=window.get("maximum_window_in_minutes")
            ),
            Target=_given(
                Arn=target["arn"],
                RoleArn=target["role_arn"],
                Input=target.get("input"),
                RetryPolicy=_given(
                    MaximumRetryAttempts=retry.get("maximum_retry_attempts"),
                    MaximumEventAgeInSeconds=retry.get("maximum_event_age_in_seconds"),
                )
                or None,
                DeadLetterConfig={"Arn": dead_letter["arn"]} if dead_letter else None,
            ),
        )

    def exists(self, state):
        return _found(lambda: self.client(state).get_schedule(Name=state["name"], GroupName=state["group_name"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_schedule(Name=state["name"], GroupName=state["group_name"]))


class SsmParameter(Resource):
    type_name, service = "aws_ssm_parameter", "ssm"
    replaced_by = frozenset({"region", "data_type", "name"})

    def create(self, values):
        value = self._put(values, Overwrite=values.get("overwrite"), Tags=_tag_list(self.aws.tags(values)))
        parameter = self.client(values).get_parameter(Name=values["name"], WithDecryption=True)["Parameter"]
        return {
            "id": values["name"],
            "arn": parameter["ARN"],
            "version": parameter["Version"],
            "tier": values.get("tier") or "Standard",
            "data_type": parameter.get("DataType", "text"),
            "value": value,
            "has_value_wo": False,
            "key_id": values.get("key_id") or ("alias/aws/ssm" if values["type"] == "SecureString" else None),
        }

    def update(self, prior, values):
        value = self._put(values, Overwrite=True)  # PutParameter refuses tags when it overwrites
        return {
            "version": self.client(values).get_parameter(Name=values["name"])["Parameter"]["Version"],
            "value": value,
        }

    def _put(self, values: dict[str, Any], **extra: Any) -> Any:
        """PutParameter with the arguments given; the value put."""
        value = values["value"] if values.get("value") is not None else values.get("insecure_value")
        self.client(values).put_parameter(
            **_given(
                Name=values["name"],
                Type=values["type"],
                Value=value,
                Description=values.get("description"),
                KeyId=values.get("key_id"),
                Tier=values.get("tier"),
                AllowedPattern=values.get("allowed_pattern"),
                DataType=values.get("data_type"),
                **extra,
            )
        )
        return value

    def recomputed(self, prior, changed):
        return super().recomputed(prior, changed) | ({"version"} if changed & {"value", "insecure_value"} else set())

    def exists(self, state):
        return _found(lambda: self.client(state).get_parameter(Name=state["name"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_parameter(Name=state["name"]))


class SqsQueue(Resource):
    type_name, service = "aws_sqs_queue", "sqs"
    replaced_by = frozenset({"region", "name", "name_prefix", "fifo_queue"})

    # argument -> queue attribute, as SetQueueAttributes names them
    ATTRIBUTES: ClassVar[dict[str, str]] = {
        "delay_seconds": "DelaySeconds",
        "max_message_size": "MaximumMessageSize",
        "message_retention_seconds": "MessageRetentionPeriod",
        "receive_wait_time_seconds": "ReceiveMessageWaitTimeSeconds",
        "visibility_timeout_seconds": "VisibilityTimeout",
        "policy": "Policy",
        "redrive_policy": "RedrivePolicy",
        "redrive_allow_policy": "RedriveAllowPolicy",
        "kms_master_key_id": "KmsMasterKeyId",
        "kms_data_key_reuse_period_seconds": "KmsDataKeyReusePeriodSeconds",
        "sqs_managed_sse_enabled": "SqsManagedSseEnabled",
        "content_based_deduplication": "ContentBasedDeduplication",
        "deduplication_scope": "DeduplicationScope",
        "fifo_throughput_limit": "FifoThroughputLimit",
    }

    def create(self, values):
        name = _name(values) + (".fifo" if values.get("fifo_queue") and not values.get("name") else "")
        attributes = self._attributes(values)
        if values.get("fifo_queue"):
            attributes["FifoQueue"] = "true"
        url = self.client(values).create_queue(
            QueueName=name, Attributes=attributes, **_given(tags=self.aws.tags(values) or None)
        )["QueueUrl"]
        return {"id": url, "url": url, "name": name, **self._computed(values, url)}

    def update(self, prior, values):
        self.client(values).set_queue_attributes(QueueUrl=prior["url"], Attributes=self._attributes(values))
        return self._computed(values, prior["url"])

    def _attributes(self, values: dict[str, Any]) -> dict[str, str]:
        return {
            attribute: str(value).lower() if isinstance(value, bool) else str(value)
            for argument, attribute in self.ATTRIBUTES.items()
            if (value := values.get(argument)) is not None and value != ""
        }

    def _computed(self, values: dict[str, Any], url: str) -> dict[str, Any]:
        held = self.client(values).get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return {
            "arn": held["QueueArn"],
            "policy": values.get("policy") or held.get("Policy", ""),
            "redrive_policy": values.get("redrive_policy") or held.get("RedrivePolicy", ""),
            "redrive_allow_policy": values.get("redrive_allow_policy") or held.get("RedriveAllowPolicy", ""),
            "kms_data_key_reuse_period_seconds": int(held.get("KmsDataKeyReusePeriodSeconds", 300)),
            "sqs_managed_sse_enabled": held.get("SqsManagedSseEnabled", "true") == "true"
            and not values.get("kms_master_key_id"),
            "deduplication_scope": values.get("deduplication_scope") or ("queue" if values.get("fifo_queue") else ""),
            "fifo_throughput_limit": values.get("fifo_throughput_limit")
            or ("perQueue" if values.get("fifo_queue") else ""),
        }

    def exists(self, state):
        return _found(lambda: self.client(state).get_queue_attributes(QueueUrl=state["url"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_queue(QueueUrl=state["url"]))


class SfnStateMachine(Resource):
    type_name, service = "aws_sfn_state_machine", "stepfunctions"
    replaced_by = frozenset({"region", "name", "name_prefix", "type"})

    def create(self, values):
        name, client = _name(values), self.client(values)
        created = client.create_state_machine(
            **_given(
                name=name,
                type=values.get("type") or "STANDARD",
                publish=values.get("publish"),
                tags=_tag_list(self.aws.tags(values), "key", "value"),
                **self._configuration(values),
            )
        )
        arn = created["stateMachineArn"]
        described = client.describe_state_machine(stateMachineArn=arn)
        return {
            "id": arn,
            "arn": arn,
            "name": name,
            "creation_date": _timestamp(created["creationDate"]),
            "status": described.get("status", "ACTIVE"),
            "revision_id": described.get("revisionId", ""),
            "state_machine_version_arn": created.get("stateMachineVersionArn", ""),
            "description": described.get("description", ""),
            "version_description": "",
        }

    def update(self, prior, values):
        self.client(values).update_state_machine(
            stateMachineArn=prior["arn"], **_given(publish=values.get("publish"), **self._configuration(values))
        )
        return {}

    @staticmethod
    def _configuration(values: dict[str, Any]) -> dict[str, Any]:
        """The arguments CreateStateMachine and UpdateStateMachine share."""
        logging, tracing = _first(values.get("logging_configuration")), _first(values.get("tracing_configuration"))
        encryption = _first(values.get("encryption_configuration"))
        return _given(
            definition=values["definition"],
            roleArn=values["role_arn"],
            loggingConfiguration=_given(
                level=logging.get("level"),
                includeExecutionData=logging.get("include_execution_data"),
                destinations=[{"cloudWatchLogsLogGroup": {"logGroupArn": logging["log_destination"]}}]
                if logging.get("log_destination")
                else None,
            )
            or None,
            tracingConfiguration={"enabled": bool(tracing.get("enabled"))} if tracing else None,
            encryptionConfiguration=_given(
                type=encryption.get("type"),
                kmsKeyId=encryption.get("kms_key_id"),
                kmsDataKeyReusePeriodSeconds=encryption.get("kms_data_key_reuse_period_seconds"),
            )
            or None,
        )

    def exists(self, state):
        return _found(lambda: self.client(state).describe_state_machine(stateMachineArn=state["arn"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_state_machine(stateMachineArn=state["arn"]))


class DynamodbTable(Resource):
    type_name, service = "aws_dynamodb_table", "dynamodb"
    replaced_by = frozenset(
        {
            "region",
            "hash_key",
            "range_key",
            "name",
            "local_secondary_index",
            "import_table",
            "restore_date_time",
            "restore_to_latest_time",
        }
    )

    def create(self, values):
        client, name = self.client(values), values["name"]
        on_demand = values.get("billing_mode") == "PAY_PER_REQUEST"
        keys = [{"AttributeName": values["hash_key"], "KeyType": "HASH"}]
        if values.get("range_key"):
            keys.append({"AttributeName": values["range_key"], "KeyType": "RANGE"})
        encryption, recovery = (
            _first(values.get("server_side_encryption")),
            _first(values.get("point_in_time_recovery")),
        )
        table = client.create_table(
            **_given(
                TableName=name,
                KeySchema=keys,
                BillingMode=values.get("billing_mode"),
                AttributeDefinitions=[
                    {"AttributeName": a["name"], "AttributeType": a["type"]} for a in values.get("attribute") or []
                ],
                ProvisionedThroughput=None
                if on_demand
                else {
                    "ReadCapacityUnits": values.get("read_capacity") or 0,
                    "WriteCapacityUnits": values.get("write_capacity") or 0,
                },
                StreamSpecification=_given(StreamEnabled=True, StreamViewType=values.get("stream_view_type"))
                if values.get("stream_enabled")
                else None,
                SSESpecification=_given(Enabled=True, SSEType="KMS", KMSMasterKeyId=encryption.get("kms_key_arn"))
                if encryption.get("enabled")
                else None,
                TableClass=values.get("table_class"),
                DeletionProtectionEnabled=values.get("deletion_protection_enabled"),
                Tags=_tag_list(self.aws.tags(values)),
            )
        )["TableDescription"]
        ttl = _first(values.get("ttl"))
        if ttl.get("enabled"):
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attribute_name"]}
            )
        if recovery.get("enabled"):
            client.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification=_given(
                    PointInTimeRecoveryEnabled=True, RecoveryPeriodInDays=recovery.get("recovery_period_in_days")
                ),
            )
        throughput = table.get("ProvisionedThroughput", {})
        return {
            "id": name,
            "arn": table["TableArn"],
            "stream_arn": table.get("LatestStreamArn"),
            "stream_label": table.get("LatestStreamLabel"),
            "hash_key": values["hash_key"],
            "read_capacity": throughput.get("ReadCapacityUnits", 0),
            "write_capacity": throughput.get("WriteCapacityUnits", 0),
            "point_in_time_recovery": [
                {
                    "recovery_period_in_days": (recovery.get("recovery_period_in_days") or 35)
                    if recovery.get("enabled")
                    else None
                }
            ],
            "server_side_encryption": [{"kms_key_arn": table.get("SSEDescription", {}).get("KMSMasterKeyArn")}],
        }

    def update(self, prior, values):
        client, name = self.client(values), prior["name"]
        on_demand = values.get("billing_mode") == "PAY_PER_REQUEST"
        if values.get("billing_mode") != prior.get("billing_mode") or not on_demand:
            client.update_table(
                **_given(
                    TableName=name,
                    BillingMode=values.get("billing_mode"),
                    ProvisionedThroughput=None
                    if on_demand
                    else {"ReadCapacityUnits": values["read_capacity"], "WriteCapacityUnits": values["write_capacity"]},
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
        ttl, prior_ttl = _first(values.get("ttl")), _first(prior.get("ttl"))
        if bool(ttl.get("enabled")) != bool(prior_ttl.get("enabled")):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "Enabled": bool(ttl.get("enabled")),
                    "AttributeName": ttl.get("attribute_name") or prior_ttl.get("attribute_name"),
                },
            )
        recovery = _first(values.get("point_in_time_recovery"))
        client.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification=_given(
                PointInTimeRecoveryEnabled=bool(recovery.get("enabled")),
                RecoveryPeriodInDays=recovery.get("recovery_period_in_days") if recovery.get("enabled") else None,
            ),
        )
        table = client.describe_table(TableName=name)["Table"]
        return {
            "stream_arn": table.get("LatestStreamArn") if stream[0] else "",
            "stream_label": table.get("LatestStreamLabel") if stream[0] else "",
            "point_in_time_recovery": [
                {
                    "recovery_period_in_days": (recovery.get("recovery_period_in_days") or 35)
                    if recovery.get("enabled")
                    else None
                }
            ],
        }

    def recomputed(self, prior, changed):
        # As the real provider plans it: a stream switched on or off gets a new ARN and label.
        stream = {"stream_arn", "stream_label"} if changed & {"stream_enabled", "stream_view_type"} else set()
        return super().recomputed(prior, changed) | stream

    def exists(self, state):
        return _found(lambda: self.client(state).describe_table(TableName=state["name"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_table(TableName=state["name"]))


class LambdaEventSourceMapping(Resource):
    type_name, service = "aws_lambda_event_source_mapping", "lambda"
    replaced_by = frozenset(
        {
            "region",
            "event_source_arn",
            "queues",
            "topics",
            "starting_position",
            "starting_position_timestamp",
            "amazon_managed_kafka_event_source_config",
            "self_managed_kafka_event_source_config",
            "self_managed_event_source",
        }
    )

    def create(self, values):
        created = self.client(values).create_event_source_mapping(
            **_given(
                EventSourceArn=values.get("event_source_arn"),
                StartingPosition=values.get("starting_position"),
                Tags=self.aws.tags(values) or None,
                **self._configuration(values),
            )
        )
        return {
            "id": created["UUID"],
            "uuid": created["UUID"],
            "arn": created.get("EventSourceMappingArn"),
            "function_arn": created["FunctionArn"],
            "last_modified": _timestamp(created["LastModified"]),
            "last_processing_result": created.get("LastProcessingResult") or "No records processed",
            "state": created.get("State", "Enabled"),
            "state_transition_reason": created.get("StateTransitionReason", "User action"),
            "batch_size": created.get("BatchSize"),
            "maximum_record_age_in_seconds": created.get("MaximumRecordAgeInSeconds", -1),
            "maximum_retry_attempts": created.get("MaximumRetryAttempts", -1),
            "parallelization_factor": created.get("ParallelizationFactor", 1),
        }

    def update(self, prior, values):
        self.client(values).update_event_source_mapping(UUID=prior["uuid"], **self._configuration(values))
        return {}

    @staticmethod
    def _configuration(values: dict[str, Any]) -> dict[str, Any]:
        """The arguments CreateEventSourceMapping and UpdateEventSourceMapping share."""
        destination = _first(_first(values.get("destination_config")).get("on_failure"))
        filters = _first(values.get("filter_criteria")).get("filter") or []
        return _given(
            FunctionName=values["function_name"],
            Enabled=values.get("enabled"),
            BatchSize=values.get("batch_size"),
            MaximumBatchingWindowInSeconds=values.get("maximum_batching_window_in_seconds"),
            ParallelizationFactor=values.get("parallelization_factor"),
            MaximumRecordAgeInSeconds=values.get("maximum_record_age_in_seconds"),
            BisectBatchOnFunctionError=values.get("bisect_batch_on_function_error"),
            MaximumRetryAttempts=values.get("maximum_retry_attempts"),
            TumblingWindowInSeconds=values.get("tumbling_window_in_seconds"),
            FunctionResponseTypes=sorted(values.get("function_response_types") or []),
            DestinationConfig={"OnFailure": {"Destination": destination["destination_arn"]}}
            if destination.get("destination_arn")
            else None,
            FilterCriteria={"Filters": [_given(Pattern=f.get("pattern")) for f in filters]} if filters else None,
        )

    def exists(self, state):
        return _found(lambda: self.client(state).get_event_source_mapping(UUID=state["uuid"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_event_source_mapping(UUID=state["uuid"]))


def _bus(values: dict[str, Any]) -> str:
    return values.get("event_bus_name") or "default"


class CloudwatchEventRule(Resource):
    type_name, service = "aws_cloudwatch_event_rule", "events"
    replaced_by = frozenset({"region", "event_bus_name", "name", "name_prefix"})
    updated_by_create = True

    def create(self, values):
        name, bus = _name(values), _bus(values)
        state = values.get("state") or ("DISABLED" if values.get("is_enabled") is False else "ENABLED")
        arn = self.client(values).put_rule(
            **_given(
                Name=name,
                EventBusName=bus,
                EventPattern=values.get("event_pattern"),
                ScheduleExpression=values.get("schedule_expression"),
                Description=values.get("description"),
                RoleArn=values.get("role_arn"),
                State=state,
                Tags=_tag_list(self.aws.tags(values)),
            )
        )["RuleArn"]
        # The provider names a rule on the default bus by its name, on another bus as bus/name.
        return {"id": name if bus == "default" else f"{bus}/{name}", "name": name, "arn": arn}

    def exists(self, state):
        return _found(lambda: self.client(state).describe_rule(Name=state["name"], EventBusName=_bus(state)))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_rule(Name=state["name"], EventBusName=_bus(state)))


class CloudwatchEventTarget(Resource):
    type_name, service = "aws_cloudwatch_event_target", "events"
    replaced_by = frozenset({"region", "event_bus_name", "rule", "target_id"})
    updated_by_create = True

    def create(self, values):
        target_id, bus = values.get("target_id") or _unique("terraform-"), _bus(values)
        transformer, dead_letter = _first(values.get("input_transformer")), _first(values.get("dead_letter_config"))
        retry = _first(values.get("retry_policy"))
        response = self.client(values).put_targets(
            Rule=values["rule"],
            EventBusName=bus,
            Targets=[
                _given(
                    Id=target_id,
                    Arn=values["arn"],
                    RoleArn=values.get("role_arn"),
                    Input=values.get("input"),
                    InputPath=values.get("input_path"),
                    InputTransformer=_given(
                        InputPathsMap=transformer.get("input_paths"), InputTemplate=transformer.get("input_template")
                    )
                    or None,
                    DeadLetterConfig={"Arn": dead_letter["arn"]} if dead_letter.get("arn") else None,
                    RetryPolicy=_given(
                        MaximumRetryAttempts=retry.get("maximum_retry_attempts"),
                        MaximumEventAgeInSeconds=retry.get("maximum_event_age_in_seconds"),
                    )
                    or None,
                )
            ],
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutTargets failed: {response['FailedEntries']}")
        rule_id = values["rule"] if bus == "default" else f"{bus}/{values['rule']}"
        return {"id": f"{rule_id}-{target_id}", "target_id": target_id}

    def exists(self, state):
        def targets():
            listed = self.client(state).list_targets_by_rule(Rule=state["rule"], EventBusName=_bus(state))["Targets"]
            return any(target["Id"] == state["target_id"] for target in listed)

        return _found(targets)

    def delete(self, state):
        _gone(
            lambda: self.client(state).remove_targets(
                Rule=state["rule"], EventBusName=_bus(state), Ids=[state["target_id"]]
            )
        )


class CloudwatchDashboard(Resource):
    type_name, service = "aws_cloudwatch_dashboard", "cloudwatch"
    replaced_by = frozenset({"region", "dashboard_name"})
    updated_by_create = True

    def create(self, values):
        client, name = self.client(values), values["dashboard_name"]
        client.put_dashboard(DashboardName=name, DashboardBody=values["dashboard_body"])
        return {"id": name, "dashboard_arn": client.get_dashboard(DashboardName=name)["DashboardArn"]}

    def exists(self, state):
        return _found(lambda: self.client(state).get_dashboard(DashboardName=state["dashboard_name"]))

    def delete(self, state):
        _gone(lambda: self.client(state).delete_dashboards(DashboardNames=[state["dashboard_name"]]))
