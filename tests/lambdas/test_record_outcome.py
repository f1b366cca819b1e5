from __future__ import annotations

import io
import json
import logging

import boto3
import pytest

from circuit_breaker.inputs import parse_outcome
from tests.conftest import load_event
from tests.lambdas.conftest import circuit_item


def test_given_failures_when_recorded_then_the_circuit_trips_at_the_threshold(
    load_handler, orders_table, lambda_context
):
    handler = load_handler("record_outcome", failure_threshold=2)
    first = handler.lambda_handler(load_event("record_failure.json"), lambda_context)
    assert first == {"recorded": True, "outcome": "failure 1 of 2"}
    second = handler.lambda_handler(load_event("record_failure_pending.json"), lambda_context)
    assert second == {"recorded": True, "outcome": "tripped"}
    assert circuit_item(orders_table)["state"] == "OPEN"


def test_the_state_machines_failure_payload_names_its_execution_in_every_log_line(
    load_handler, orders_table, lambda_context
):
    """RecordFailure passes the whole state data under `state` with the execution ARN; the flat payload of an
    execution started before an upgrade is still read the same."""
    handler = load_handler("record_outcome", failure_threshold=2)
    execution = "arn:aws:states:eu-west-1:123456789012:express:orders:run-1:abc"
    wrapped = {"execution": execution, "state": load_event("record_failure.json")}
    flat = load_event("record_failure.json")
    assert parse_outcome(wrapped, handler.settings) == parse_outcome(flat, handler.settings)
    # What CloudWatch Logs would receive: Powertools' formatter output (its logger is one per service in a process,
    # so it is captured here rather than from stdout).
    captured = io.StringIO()
    stream = logging.StreamHandler(captured)
    stream.setFormatter(handler.logger.registered_formatter)
    level = handler.logger.log_level
    handler.logger.setLevel("DEBUG")
    handler.logger.addHandler(stream)
    try:
        assert handler.lambda_handler(wrapped, lambda_context) == {"recorded": True, "outcome": "failure 1 of 2"}
    finally:
        handler.logger.removeHandler(stream)
        handler.logger.setLevel(level)
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if '"level"' in line]
    assert lines  # the outcome's debug line at least
    assert all(line["execution"] == execution for line in lines)
    assert all(line["function_request_id"] == lambda_context.aws_request_id for line in lines)


def test_every_failure_counts_in_completion_order(load_handler, orders_table, lambda_context):
    """Calls admitted while the count was 0 (in flight together when the dependency went down) each count when
    they fail: a slow failure trips at its own pace instead of only starting a count."""
    handler = load_handler("record_outcome", failure_threshold=2)
    outcomes = [handler.lambda_handler(load_event("record_failure.json"), lambda_context)["outcome"] for _ in range(4)]
    assert outcomes == ["failure 1 of 2", "tripped", "stale", "stale"]
    assert circuit_item(orders_table)["state"] == "OPEN"


def test_a_failure_seen_through_the_items_typed_json_carries_its_generation(load_handler, orders_table, lambda_context):
    handler = load_handler("record_outcome")
    handler.lambda_handler(load_event("record_failure.json"), lambda_context)
    handler.lambda_handler(load_event("record_success.json"), lambda_context)
    event = load_event("record_failure.json")
    event["read"] = {
        "Item": {"id": {"S": "orders"}, "state": {"S": "CLOSED"}, "failure_count": {"N": "0"}, "generation": {"N": "7"}}
    }
    assert handler.lambda_handler(event, lambda_context)["outcome"] == "stale"  # the circuit is at generation 0


def test_a_success_of_a_call_is_left_to_the_state_machine(load_handler, orders_table, lambda_context):
    """The state machine reads the circuit after a success and resets pending failures itself (ResetFailures)."""
    handler = load_handler("record_outcome")
    handler.lambda_handler(load_event("record_failure.json"), lambda_context)
    assert handler.lambda_handler(load_event("record_success.json"), lambda_context)["outcome"] == "nothing to reset"
    assert circuit_item(orders_table)["failure_count"] == 1


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        {},
        {"circuit": ""},
        {"circuit": "orders", "generation": "1", "probe": False},
        {"circuit": "orders", "generation": -1, "probe": False},
        {"circuit": "orders", "generation": True, "probe": False},
        {"circuit": "orders", "generation": 0, "probe": "yes"},
        {"circuit": "orders", "generation": 0, "probe": False, "error": 7},
        {"circuit": "orders", "generation": 2**53, "probe": False},
        {"circuit": "orders", "generation": 10**40, "probe": False},
        {"circuit": "orders", "generation": 0, "probe": False, "failures_seen": -1},
        {"circuit": "orders", "read": "item"},
        {"circuit": "orders", "read": {"Item": {"state": {"S": "BROKEN"}}}},
        {"circuit": "orders", "read": {"Item": {"generation": {"N": "1e60"}}}, "error": None},
        {"circuit": "orders", "read": {"Item": {"state": "CLOSED"}}},
        # Beyond DynamoDB's 38 digits (boto3 raises decimal.Rounded) or any generation a circuit could reach.
        {"circuit": "orders", "generation": 10**40, "probe": False, "error": "Boom"},
        {"circuit": "orders", "generation": 2**53, "probe": False, "error": "Boom"},
    ],
)
def test_malformed_outcomes_are_reported_and_change_nothing(load_handler, orders_table, lambda_context, event):
    handler = load_handler("record_outcome")
    result = handler.lambda_handler(event, lambda_context)
    assert result["recorded"] is False and result["outcome"].startswith("malformed")
    assert circuit_item(orders_table) == {}


def test_an_unavailable_table_never_fails_the_execution(load_handler, orders_table, lambda_context):
    handler = load_handler("record_outcome")
    boto3.client("dynamodb").delete_table(TableName=orders_table)
    assert handler.lambda_handler(load_event("record_failure.json"), lambda_context) == {
        "recorded": False,
        "outcome": "circuit store unavailable",
    }


@pytest.mark.parametrize(
    "variables, named",
    [
        ({"open_duration_seconds": 1e200, "max_open_duration_seconds": 1e200}, "open_duration_seconds"),
        ({"open_duration_seconds": float("inf"), "max_open_duration_seconds": float("inf")}, "open_duration_seconds"),
        ({"max_open_duration_seconds": float("nan")}, "max_open_duration_seconds"),
        ({"half_open_max_probes": 10**40}, "half_open_max_probes"),
    ],
)
def test_settings_no_dynamodb_number_can_hold_fail_the_cold_start(load_handler, orders_table, variables, named):
    # Given settings that would reach DynamoDB as numbers it cannot hold (an open_until of now + 1e200
    # is decimal.Overflow at the first trip, a 41-digit probe limit decimal.Rounded at the first probe)
    # When the function starts
    # Then the cold start fails, naming the variable
    with pytest.raises(ValueError, match=f"{named} must be at most"):
        load_handler("record_outcome", **variables)


def lambda_error(message: str, error_type: str = "Throttled") -> dict:
    return {"Error": error_type, "Cause": json.dumps({"errorMessage": message, "errorType": error_type})}


@pytest.mark.parametrize(
    "fields, hint",
    [
        # The error's message is a JSON object holding the hint (Python: raise Throttled(json.dumps({...}))).
        ({"error": lambda_error(json.dumps({"retry_after_seconds": 90}))}, 90.0),
        # A runtime that puts its own fields in the error document.
        ({"error": {"Error": "E", "Cause": json.dumps({"errorType": "E", "retry_after_seconds": "45.5"})}}, 45.5),
        # A result marked as a failure, sent along with its outcome.
        ({"error": "FailureResult", "result": {"statusCode": 503, "retry_after_seconds": "30"}}, 30.0),
        # Anything else is no hint: a plain message, a cause that is no JSON, a non-positive or non-numeric value.
        ({"error": lambda_error("the dependency is failing")}, None),
        ({"error": {"Error": "States.Timeout", "Cause": "Task timed out"}}, None),
        ({"error": lambda_error(json.dumps({"retry_after_seconds": 0}))}, None),
        ({"error": lambda_error(json.dumps({"retry_after_seconds": True}))}, None),
        ({"error": lambda_error(json.dumps({"retry_after_seconds": "soon"}))}, None),
        ({"error": lambda_error(json.dumps({"retry_after_seconds": "NaN"}))}, None),
        ({"error": lambda_error(json.dumps({"retry_after_seconds": [5]}))}, None),
        ({"error": "FailureResult", "result": "not an object"}, None),
        ({"error": None, "result": {"retry_after_seconds": 30}}, None),  # a success asks for nothing
    ],
)
def test_the_retry_hint_is_read_from_the_error_or_the_result_at_retry_after_path(
    load_handler, orders_table, fields, hint
):
    handler = load_handler("record_outcome", retry_after_path="$.retry_after_seconds")
    outcome = parse_outcome({"circuit": "orders", "read": {}} | fields, handler.settings)
    assert outcome.retry_after == hint


def test_without_retry_after_path_no_hint_is_read(load_handler, orders_table):
    handler = load_handler("record_outcome")
    event = {"circuit": "orders", "read": {}, "error": lambda_error(json.dumps({"retry_after_seconds": 90}))}
    assert parse_outcome(event, handler.settings).retry_after is None


def test_a_trip_asked_to_wait_stays_open_that_long_within_the_bounds(load_handler, orders_table, lambda_context):
    handler = load_handler("record_outcome", failure_threshold=1, retry_after_path="$.retry_after_seconds")
    event = load_event("record_failure.json") | {"error": lambda_error(json.dumps({"retry_after_seconds": 99999}))}
    assert handler.lambda_handler(event, lambda_context)["outcome"] == "tripped"
    item = circuit_item(orders_table)
    settings = handler.settings
    assert float(item["open_until"]) - int(item["opened_at"]) == pytest.approx(
        settings.max_open_duration_seconds, abs=1
    )
    assert item["reason"] == "1 consecutive failures (last: Throttled); the downstream asked to retry after 99999 s"
