"""Handlers never log the environment, credentials or whole payloads (captured at INFO)."""

from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import handler_environment

SECRET = "s3cr3t-payload-4242"


@pytest.mark.usefixtures("circuits")
def test_no_handler_logs_credentials_environment_or_payloads(monkeypatch, lambda_context):
    import io
    import logging

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "credential-" + SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-" + SECRET)
    environments = {
        function: handler_environment(function, log_level="DEBUG")
        for function in ("check_circuit", "record_outcome", "alarm_handler")
    }
    # Powertools' logger is one per service name (POWERTOOLS_SERVICE_NAME) in a process, so all
    # three environments share it here; earlier tests may have configured it at another level.
    # What CloudWatch Logs would receive: the Powertools formatter's output, captured here.
    logger = environments["check_circuit"].module.logger
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.setLevel("DEBUG")
    logger.addHandler(handler)
    try:
        run_every_handler(environments, lambda_context)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    logs = captured.getvalue()
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{") and '"level"' in line]
    assert any(line.get("message") == "circuit transition" for line in lines)  # the capture works
    assert SECRET not in logs
    assert "AWS_SECRET_ACCESS_KEY" not in logs and "AWS_SESSION_TOKEN" not in logs


def run_every_handler(environments, lambda_context) -> None:
    check = environments["check_circuit"]
    check.handler({"circuit": "orders", "caller": "c", "input": {"order": SECRET, "card": SECRET}}, lambda_context)
    with pytest.raises(check.module.InvalidCircuitRequest):
        check.handler(
            {"circuit": "orders", "caller": "c", "input": {"circuit": "stranger", "card": SECRET}}, lambda_context
        )
    record = environments["record_outcome"]
    for _ in range(6):  # enough to trip: transition logs included
        record.handler({"circuit": "orders", "generation": 0, "probe": False, "error": "Boom"}, lambda_context)
    record.handler({"circuit": "orders", "generation": "x", "probe": False, "error": SECRET}, lambda_context)
    alarms = environments["alarm_handler"]
    alarms.handler(
        {
            "Records": [
                {
                    "Sns": {
                        "Message": json.dumps(
                            {
                                "AlarmName": "orders-healthcheck",
                                "NewStateValue": "ALARM",
                                "StateChangeTime": "2027-01-15T08:00:00.000+0000",
                                "NewStateReason": SECRET,
                                "AlarmDescription": SECRET,
                            }
                        )
                    }
                },
                {"Sns": {"Message": "not json " + SECRET}},
            ]
        },
        lambda_context,
    )
