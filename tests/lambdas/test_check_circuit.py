from __future__ import annotations

import time

import boto3
import pytest

from circuitctl import cli as circuitctl
from tests.conftest import load_event
from tests.lambdas.conftest import circuit_item


def test_given_a_new_circuit_when_checked_then_the_call_goes_ahead(load_handler, lambda_context):
    handler = load_handler("check_circuit")
    decision = handler.lambda_handler(load_event("check_circuit.json"), lambda_context)
    assert decision == {
        "circuit": "orders",
        "action": "call",
        "state": "CLOSED",
        "generation": 0,
        "probe": False,
        "reason": "",
        "failures_seen": 0,
    }


def test_the_input_may_select_only_allowed_circuits(load_handler, lambda_context):
    handler = load_handler("check_circuit", allowed_circuits=["orders-eu"])
    chosen = handler.lambda_handler({"circuit": "orders", "input": {"circuit": "orders-eu"}}, lambda_context)
    assert chosen["circuit"] == "orders-eu"
    with pytest.raises(handler.InvalidCircuitRequest, match="may not select circuit 'payments'"):
        handler.lambda_handler({"circuit": "orders", "input": {"circuit": "payments"}}, lambda_context)
    with pytest.raises(handler.InvalidCircuitRequest, match="JSON object"):
        handler.lambda_handler(["not", "an", "object"], lambda_context)


def test_missing_configuration_fails_the_cold_start_with_a_clear_message(load_handler, monkeypatch):
    from circuit_breaker.exceptions import ConfigurationError
    from circuit_breaker.settings import Settings

    with pytest.raises(ConfigurationError, match="missing environment variables: TABLE_NAME"):
        Settings.from_environment({"CIRCUIT_NAME": "orders"})
    with pytest.raises(ConfigurationError, match=r"ON_STORE_ERROR|on_store_error"):
        Settings.from_environment({"TABLE_NAME": "t", "CIRCUIT_NAME": "c", "ON_STORE_ERROR": "shrug"})
    with pytest.raises(ConfigurationError, match="FAILURE_THRESHOLD must be a int"):
        Settings.from_environment({"TABLE_NAME": "t", "CIRCUIT_NAME": "c", "FAILURE_THRESHOLD": "five"})
    with pytest.raises(ConfigurationError, match="ALARMS is not valid JSON"):
        Settings.from_environment({"TABLE_NAME": "t", "CIRCUIT_NAME": "c", "ALARMS": "{"})
    with pytest.raises(ConfigurationError, match="must be an object with circuit and role"):
        Settings.from_environment({"TABLE_NAME": "t", "CIRCUIT_NAME": "c", "ALARMS": '{"a": 1}'})
    with pytest.raises(ConfigurationError, match="failure_threshold must be at least 1"):
        Settings.from_environment({"TABLE_NAME": "t", "CIRCUIT_NAME": "c", "FAILURE_THRESHOLD": "0"})


def test_the_call_that_finds_a_forced_open_override_expired_is_the_probe(load_handler, orders_table, lambda_context):
    # Given an operator forced the circuit open for an hour, and that hour has passed
    assert (
        circuitctl.main(
            [
                "--table",
                orders_table,
                "force-open",
                "orders",
                "--reason",
                "maintenance",
                "--by",
                "ana",
                "--expires-in",
                "1h",
                "--create",
            ]
        )
        == 0
    )
    boto3.client("dynamodb").update_item(
        TableName=orders_table,
        Key={"id": {"S": "orders"}},
        UpdateExpression="SET override_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    check = load_handler("check_circuit")
    # When the next call is checked
    decision = check.lambda_handler(load_event("check_circuit.json"), lambda_context)
    # Then that call releases the override and is itself the probe
    assert (decision["action"], decision["probe"], decision["state"]) == ("call_and_record", True, "HALF_OPEN")
    item = circuit_item(orders_table)
    assert "override" not in item
    assert item["half_open_owner"] == load_event("check_circuit.json")["caller"]


def test_clients_are_built_at_init_with_timeouts_and_standard_retries(load_handler):
    from circuit_breaker import clients
    from circuit_sandbox.aws.worker import EMULATOR_CLIENT_TIMEOUT_SECONDS

    # As deployed: a slow store ends as a counted StoreError within 7 s, inside the function's 10 s
    assert (clients.CONFIG.connect_timeout, clients.CONFIG.read_timeout) == (1, 2)
    assert clients.CONFIG.retries == {"mode": "standard", "total_max_attempts": 2}  # the first try and one retry
    handler = load_handler("check_circuit")
    config = handler.breaker.store._client.meta.config  # created when the module loaded, not at the first call
    assert config.retries["mode"] == "standard"
    # The emulator's runners give the same clients more patience than DynamoDB needs
    assert (config.connect_timeout, config.read_timeout) == (EMULATOR_CLIENT_TIMEOUT_SECONDS,) * 2
