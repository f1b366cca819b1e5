"""Metrics as CloudWatch receives them: EMF blobs on stdout, one circuit per blob, configured by POWERTOOLS_*."""

from __future__ import annotations

import json
from typing import Any

import pytest

from circuit_sandbox.aws.runner import ModuleEnvironment
from tests.conftest import load_event, module_function


@pytest.fixture(autouse=True)
def nothing_buffered():
    """Powertools buffers metrics per process: nothing an earlier test counted is flushed here."""
    from aws_lambda_powertools import Metrics

    Metrics().clear_metrics()


def emf_blobs(output: str) -> list[dict]:
    """Every EMF blob the functions printed; Powertools' log lines are JSON too, without `_aws`."""
    return [blob for line in output.splitlines() if line.startswith("{") and "_aws" in (blob := json.loads(line))]


def counted(blobs: list[dict[str, Any]], metric: str) -> list[tuple[Any, Any, list[str], float]]:
    """(circuit, service, dimension names, total) of each blob that carries `metric`."""
    return [
        (
            blob.get("circuit"),
            blob.get("service"),
            sorted(blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]),
            sum(blob[metric]),
        )
        for blob in blobs
        if metric in blob
    ]


def test_a_handler_counts_under_its_circuit_and_the_service_terraform_names(
    load_handler, orders_table, lambda_context, capsys
):
    # Given the functions of module instance `orders` (POWERTOOLS_SERVICE_NAME=orders), whose state
    # machine may also use circuit `orders-eu`, and `orders-eu` tripped by one failure
    outcome = load_handler("record_outcome", failure_threshold=1)
    check = load_handler("check_circuit", allowed_circuits=["orders-eu"])
    assert (
        outcome.lambda_handler(load_event("record_failure.json") | {"circuit": "orders-eu"}, lambda_context)["outcome"]
        == "tripped"
    )
    capsys.readouterr()
    # When a call on `orders-eu` is checked
    decision = check.lambda_handler({"circuit": "orders", "input": {"circuit": "orders-eu"}}, lambda_context)
    # Then its short circuit is counted under circuit `orders-eu`, service `orders`, namespace from Terraform
    assert (decision["action"], decision["state"]) == ("short_circuit", "OPEN")
    [blob] = emf_blobs(capsys.readouterr().out)
    assert counted([blob], "ShortCircuited") == [("orders-eu", "orders", ["circuit", "service"], 1)]
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CircuitBreaker"


def test_an_alarm_batch_over_two_circuits_counts_each_under_its_own(orders_table, lambda_context, capsys):
    # Given an alarm handler whose alarms watch two circuits (one table can hold many)
    alarms = {
        "orders-downstream": {"circuit": "orders", "role": "downstream"},
        "payments-downstream": {"circuit": "payments", "role": "downstream"},
    }
    spec = module_function("alarm_handler")
    spec.environment["ALARMS"] = json.dumps(alarms)
    handler = ModuleEnvironment(spec).module
    batch = load_event("sns_downstream_alarm.json")
    payments = json.loads(batch["Records"][0]["Sns"]["Message"]) | {"AlarmName": "payments-downstream"}
    batch["Records"].append({"Sns": {"Message": json.dumps(payments)}})
    # When one notification batch trips both
    assert handler.lambda_handler(batch, lambda_context) == {"outcomes": ["CLOSED -> OPEN", "CLOSED -> OPEN"]}
    # Then each trip is counted in a blob of its own circuit: no dimension leaks from one to the other
    assert counted(emf_blobs(capsys.readouterr().out), "TransitionToOpen") == [
        ("orders", "orders", ["circuit", "service"], 1),
        ("payments", "orders", ["circuit", "service"], 1),
    ]


@pytest.mark.parametrize("mode", ["enforce", "observe"])
def test_every_metric_says_whether_the_breaker_enforces_or_observes(
    load_handler, orders_table, lambda_context, capsys, mode
):
    outcome = load_handler("record_outcome", failure_threshold=1, mode=mode)
    assert outcome.lambda_handler(load_event("record_failure.json"), lambda_context)["outcome"] == "tripped"
    check = load_handler("check_circuit", mode=mode)
    assert check.lambda_handler(load_event("check_circuit.json"), lambda_context)["state"] == "OPEN"
    blobs = emf_blobs(capsys.readouterr().out)
    assert {"Failures", "TransitionToOpen", "ShortCircuited"} <= {m for blob in blobs for m in blob if m[0].isupper()}
    # A property, not a dimension: the alarm and the dashboard read the same metrics in both modes.
    assert {blob.get("mode") for blob in blobs} == {mode}
    assert {tuple(blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) for blob in blobs} == {("circuit", "service")}
