from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from circuitctl.cli import duration_seconds, main


@pytest.fixture
def table(aws) -> str:
    boto3.client("dynamodb").create_table(
        TableName="ops-circuits",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return "ops-circuits"


def test_force_list_show_release(table, capsys):
    assert (
        main(
            [
                "--table",
                table,
                "force-open",
                "payments",
                "--reason",
                "maintenance",
                "--by",
                "ana",
                "--expires-in",
                "2h",
                "--create",
            ]
        )
        == 0
    )
    assert main(["--table", table, "list"]) == 0
    listing = capsys.readouterr().out
    assert "payments" in listing and "FORCED_OPEN" in listing and "forced open by arn:aws:" in listing
    assert " (for ana): maintenance" in listing
    assert main(["--table", table, "--json", "show", "payments"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert (shown["state"], shown["override"], shown["generation"]) == ("OPEN", "FORCED_OPEN", 1)
    # Who is the AWS principal of the credentials (sts:GetCallerIdentity); --by only says on whose behalf.
    principal = boto3.client("sts").get_caller_identity()["Arn"]
    assert shown["override_by"] == f"{principal} (for ana)"
    # Times are ISO 8601 in UTC: the expiry is two hours from now.
    expires = datetime.fromisoformat(shown["override_expires_at"])
    assert expires.tzinfo is not None and abs((expires - datetime.now(UTC)).total_seconds() - 7200) < 300
    assert main(["--table", table, "show", "payments"]) == 0
    whole = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert (whole["state"], whole["override"], whole["override_reason"]) == ("OPEN", "FORCED_OPEN", "maintenance")
    assert whole["override_expires_at"] == shown["override_expires_at"] and whole["probe_lease_expiry"] == "-"
    assert main(["--table", table, "--json", "release", "payments", "--reason", "done", "--by", "ana"]) == 0
    [released] = json.loads(capsys.readouterr().out)
    assert (released["override"], released["generation"]) == (None, 2)


def test_unknown_circuits_and_bad_arguments_are_clear_errors(table, capsys, monkeypatch):
    assert main(["--table", table, "force-open", "paymnets", "--reason", "typo"]) == 2
    assert "no circuit named 'paymnets'" in capsys.readouterr().err
    assert main(["--table", table, "release", "paymnets", "--reason", "x"]) == 2
    main(["--table", table, "force-closed", "payments", "--reason", "x", "--create"])
    main(["--table", table, "release", "payments", "--reason", "x"])
    capsys.readouterr()
    assert main(["--table", table, "release", "payments", "--reason", "again"]) == 2
    assert "has no override to release" in capsys.readouterr().err
    monkeypatch.delenv("CIRCUIT_TABLE", raising=False)
    assert main(["list"]) == 2
    assert "--table" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--table", table, "force-open", "payments"])  # --reason is required
    assert main(["--table", "no-such-table", "list"]) == 1
    assert main(["--table", table, "list"]) == 0


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("2h", 7200), ("1.5d", 129600)])
def test_durations(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("expires_in", ["367d", "99999999999999999999d", "9" * 400 + "s"])
def test_an_absurd_expiry_is_refused_with_the_limit_named(table, capsys, expires_in):
    # Given a circuit with no record yet
    # When an operator forces it open for longer than a year (or for a number no float can hold)
    status = main(["--table", table, "force-open", "payments", "--reason", "r", "--expires-in", expires_in, "--create"])
    # Then the command refuses with a message naming the limit, and writes nothing
    assert status == 2
    assert "circuitctl: argument --expires-in: " in (err := capsys.readouterr().err) and "at most 366d" in err
    assert main(["--table", table, "list"]) == 0
    assert capsys.readouterr().out.strip() == "no circuits"


@pytest.mark.parametrize("text", ["", "abc", "-5m"])
def test_a_bad_expiry_is_refused_naming_its_option(table, capsys, text):
    status = main(["--table", table, "force-open", "payments", "--reason", "r", f"--expires-in={text}", "--create"])
    assert status == 2
    assert capsys.readouterr().err.startswith(f"circuitctl: argument --expires-in: {text!r} is not a duration")


@pytest.mark.parametrize("text", ["", "10", "-5m", "0s", "2 weeks"])
def test_bad_durations(text):
    with pytest.raises(Exception, match="is not a duration"):
        duration_seconds(text)


def test_the_override_names_the_aws_principal_and_says_so_when_it_cannot_be_known(table, capsys, monkeypatch):
    assert main(["--table", table, "--json", "force-closed", "payments", "--reason", "x", "--create"]) == 0
    [forced] = json.loads(capsys.readouterr().out)
    assert forced["override_by"] == boto3.client("sts").get_caller_identity()["Arn"]

    from botocore.exceptions import ClientError

    class Denied:
        def get_caller_identity(self):
            raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "GetCallerIdentity")

    real_client = boto3.client
    monkeypatch.setattr(boto3, "client", lambda name, **kw: Denied() if name == "sts" else real_client(name, **kw))
    assert main(["--table", table, "release", "payments", "--reason", "x"]) == 2
    assert "cannot tell which AWS principal you are" in capsys.readouterr().err
    assert boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "payments"}})["Item"]["override"]
