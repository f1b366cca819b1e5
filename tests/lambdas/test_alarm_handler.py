from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import boto3
import pytest

from tests.conftest import load_event
from tests.lambdas.conftest import circuit_item


def test_given_a_downstream_alarm_when_notified_then_the_circuit_opens(load_handler, orders_table, lambda_context):
    handler = load_handler("alarm_handler")
    result = handler.lambda_handler(load_event("sns_downstream_alarm.json"), lambda_context)
    assert result == {"outcomes": ["CLOSED -> OPEN"]}
    item = circuit_item(orders_table)
    assert item["state"] == "OPEN" and item["downstream_alarm"] == "ALARM"
    assert item["downstream_alarm_changed_at"] == datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp() * 1000


def test_healthcheck_alarm_then_ok_opens_then_closes(load_handler, orders_table, lambda_context):
    handler = load_handler("alarm_handler")
    assert handler.lambda_handler(load_event("sns_healthcheck_alarm.json"), lambda_context)["outcomes"] == [
        "CLOSED -> OPEN"
    ]
    assert handler.lambda_handler(load_event("sns_healthcheck_ok.json"), lambda_context)["outcomes"] == [
        "OPEN -> CLOSED"
    ]
    # SNS redelivers the ALARM late: older than the OK already applied, so it changes nothing.
    assert handler.lambda_handler(load_event("sns_healthcheck_alarm.json"), lambda_context)["outcomes"] == ["stale"]
    assert circuit_item(orders_table)["state"] == "CLOSED"


def test_a_bad_record_does_not_stop_the_rest_of_the_batch(load_handler, orders_table, lambda_context):
    handler = load_handler("alarm_handler")
    batch = load_event("sns_not_json.json")
    batch["Records"] += load_event("sns_downstream_alarm.json")["Records"]
    batch["Records"].append({"Sns": "not an object"})
    outcomes = handler.lambda_handler(batch, lambda_context)["outcomes"]
    assert outcomes == ["malformed: Sns.Message is not JSON", "CLOSED -> OPEN", "malformed: record has no Sns object"]


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda m: m.pop("AlarmName"), "must be strings"),
        (lambda m: m.update(NewStateValue=5), "must be strings"),
        (lambda m: m.update(StateChangeTime="yesterday"), "is not an ISO 8601 time"),
        (lambda m: m.update(StateChangeTime="2027-01-15T08:00:00"), "with a zone"),
    ],
)
def test_malformed_alarm_messages_are_skipped(load_handler, orders_table, lambda_context, change, expected):
    handler = load_handler("alarm_handler")
    event = load_event("sns_downstream_alarm.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    change(message)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    [outcome] = handler.lambda_handler(event, lambda_context)["outcomes"]
    assert outcome.startswith("malformed") and expected in outcome
    assert circuit_item(orders_table) == {}


def test_oversized_and_recordless_events_are_rejected_cleanly(load_handler, orders_table, lambda_context):
    handler = load_handler("alarm_handler")
    event = load_event("sns_downstream_alarm.json")
    event["Records"][0]["Sns"]["Message"] = "x" * (256 * 1024 + 1)
    assert handler.lambda_handler(event, lambda_context)["outcomes"][0].startswith("malformed")
    assert handler.lambda_handler({"detail": "not SNS"}, lambda_context) == {"outcomes": []}


def test_an_alarm_of_another_module_changes_nothing(load_handler, orders_table, lambda_context):
    handler = load_handler("alarm_handler")
    event = load_event("sns_downstream_alarm.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message["AlarmName"] = "payments-downstream"
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    assert handler.lambda_handler(event, lambda_context)["outcomes"] == ["unknown alarm"]
    assert circuit_item(orders_table) == {}


def test_store_failure_is_raised_so_sns_retries(load_handler, orders_table, lambda_context):
    handler = load_handler("alarm_handler")
    boto3.client("dynamodb").delete_table(TableName=orders_table)
    with pytest.raises(handler.StoreError, match="to be retried: orders-downstream"):
        handler.lambda_handler(copy.deepcopy(load_event("sns_downstream_alarm.json")), lambda_context)


def test_the_store_errors_alarm_notifies_without_touching_the_store(load_handler, orders_table, lambda_context, caplog):
    handler = load_handler("alarm_handler")
    event = load_event("sns_downstream_alarm.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message["AlarmName"] = "orders-store-errors"
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    # The store it would write to is what fails: the notification is logged and applied to nothing.
    boto3.client("dynamodb").delete_table(TableName=orders_table)
    assert handler.lambda_handler(event, lambda_context)["outcomes"] == ["notified"]
