"""The stand-in provider's parts that need no Terraform: values, policy documents, archives, its schema cache."""

from __future__ import annotations

import textwrap
import zipfile
from pathlib import Path

import msgpack

from tools.stand_in_provider import provider
from tools.stand_in_provider.archive import archive_file
from tools.stand_in_provider.aws import policy_document
from tools.stand_in_provider.schemas import load_schemas
from tools.stand_in_provider.values import UNKNOWN, changed, encode, resolve, unknown_computed

ALARM = load_schemas("aws")["resource_schemas"]["aws_cloudwatch_metric_alarm"]["block"]


def decoded(block, value):
    return msgpack.unpackb(encode(block, value), ext_hook=lambda code, data: ("ext", code), raw=False)


def test_a_value_carries_every_attribute_and_block_of_its_schema_typed():
    value = decoded(
        ALARM,
        {
            "alarm_name": "a",
            "threshold": "25",
            "period": 60.0,
            "arn": UNKNOWN,
            "metric_query": [{"id": "e", "return_data": "true"}],
        },
    )

    assert set(value) == set(ALARM["attributes"]) | set(ALARM["block_types"])
    assert (value["threshold"], value["period"], value["arn"], value["namespace"]) == (25, 60, ("ext", 0), None)
    assert value["evaluation_criteria"] == []  # a list block left out is empty, not null
    (query,) = value["metric_query"]
    assert (query["return_data"], query["metric"], query["label"]) == (True, [], None)


def test_a_create_plans_unset_computed_attributes_unknown_and_apply_fills_only_those():
    config = {"alarm_name": "a", "id": None, "arn": None, "region": "eu-west-1", "alarm_actions": None}

    planned = unknown_computed(ALARM, config)
    applied = resolve(ALARM, planned, {"arn": "arn:alarm", "id": "a", "region": "us-east-1", "alarm_actions": ["x"]})

    assert (planned["arn"], planned["id"], planned["alarm_actions"]) == (UNKNOWN, UNKNOWN, None)
    assert (applied["arn"], applied["id"], applied["region"], applied["alarm_actions"]) == (
        "arn:alarm",
        "a",
        "eu-west-1",
        None,
    )
    assert changed({**applied, "threshold": 1}, {**applied, "threshold": 2}) == ["threshold"]


def test_policy_documents_render_as_hashicorp_aws_renders_them():
    # The configuration and expected JSON of the provider's own acceptance test
    # (policy_document_data_source_test.go), with v5's omission of empty Sids.
    partition = "arn:aws:s3:::"
    rendered = policy_document(
        {
            "policy_id": "policy_id",
            "statement": [
                {
                    "sid": "1",
                    "actions": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
                    "resources": [f"{partition}*"],
                },
                {
                    "actions": ["s3:ListBucket"],
                    "resources": [f"{partition}foo"],
                    "condition": [
                        {
                            "test": "StringLike",
                            "variable": "s3:prefix",
                            "values": ["home/", "", "home/&{aws:username}/"],
                        }
                    ],
                    "not_principals": [{"type": "AWS", "identifiers": ["arn:blahblah:example"]}],
                },
                {
                    "actions": ["s3:*"],
                    "resources": [f"{partition}foo/home/&{{aws:username}}", f"{partition}foo/home/&{{aws:username}}/*"],
                    "principals": [{"type": "AWS", "identifiers": ["arn:blahblah:example"]}],
                },
                {"effect": "Deny", "not_actions": ["s3:*"], "not_resources": [f"{partition}*"]},
                {"effect": "Allow", "actions": ["kinesis:*"], "principals": [{"type": "AWS", "identifiers": ["*"]}]},
                {"effect": "Allow", "actions": ["firehose:*"], "principals": [{"type": "*", "identifiers": ["*"]}]},
            ],
        }
    )

    assert rendered["json"] == textwrap.dedent("""\
        {
          "Version": "2012-10-17",
          "Id": "policy_id",
          "Statement": [
            {
              "Sid": "1",
              "Effect": "Allow",
              "Action": [
                "s3:ListAllMyBuckets",
                "s3:GetBucketLocation"
              ],
              "Resource": "arn:aws:s3:::*"
            },
            {
              "Effect": "Allow",
              "Action": "s3:ListBucket",
              "Resource": "arn:aws:s3:::foo",
              "NotPrincipal": {
                "AWS": "arn:blahblah:example"
              },
              "Condition": {
                "StringLike": {
                  "s3:prefix": [
                    "home/",
                    "",
                    "home/${aws:username}/"
                  ]
                }
              }
            },
            {
              "Effect": "Allow",
              "Action": "s3:*",
              "Resource": [
                "arn:aws:s3:::foo/home/${aws:username}/*",
                "arn:aws:s3:::foo/home/${aws:username}"
              ],
              "Principal": {
                "AWS": "arn:blahblah:example"
              }
            },
            {
              "Effect": "Deny",
              "NotAction": "s3:*",
              "NotResource": "arn:aws:s3:::*"
            },
            {
              "Effect": "Allow",
              "Action": "kinesis:*",
              "Principal": {
                "AWS": "*"
              }
            },
            {
              "Effect": "Allow",
              "Action": "firehose:*",
              "Principal": "*"
            }
          ]
        }""")
    assert rendered["minified_json"].startswith('{"Version":"2012-10-17","Id":"policy_id","Statement":[{"Sid":"1"')


def test_archives_are_deterministic_and_honour_excludes(tmp_path: Path):
    source = tmp_path / "functions"
    (source / "__pycache__").mkdir(parents=True)
    (source / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (source / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"compiled")
    config = {
        "type": "zip",
        "source_dir": str(source),
        "excludes": ["__pycache__"],
        "output_path": str(tmp_path / "out" / "a.zip"),
    }

    first = archive_file(config)
    (source / "handler.py").touch()  # a newer modification time changes nothing
    second = archive_file({**config, "output_path": str(tmp_path / "out" / "b.zip")})

    assert first == second and first["id"] == first["output_sha"]
    assert zipfile.ZipFile(tmp_path / "out" / "a.zip").namelist() == ["handler.py"]


def test_the_schema_is_built_once_and_served_from_its_cache_unchanged(tmp_path, monkeypatch):
    monkeypatch.setattr(provider, "BUILD", tmp_path)

    built = provider.servicer("archive").GetProviderSchema(None, None)
    (cached,) = (tmp_path / "schemas").glob("archive-*.pb")
    served = provider.servicer("archive").GetProviderSchema(None, None)

    assert set(built.data_source_schemas) == {"archive_file"}
    assert served == built and cached.read_bytes() == built.SerializeToString()
    assert served.server_capabilities.get_provider_schema_optional  # Terraform may keep it for a command
    marked = type(built).FromString(cached.read_bytes())
    marked.data_source_schemas["from_the_cache"].CopyFrom(built.data_source_schemas["archive_file"])
    cached.write_bytes(marked.SerializeToString())
    assert "from_the_cache" in provider.servicer("archive").GetProviderSchema(None, None).data_source_schemas
