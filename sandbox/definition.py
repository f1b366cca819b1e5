"""The state machine definition, rendered from the same template and placeholders as `main.tf`.

`check_payload` and `short_circuit_state` mirror the `locals` of the same names in main.tf;
tests/test_contract.py checks the placeholders, and tests/terraform renders the HCL side.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "statemachine" / "circuit_breaker.asl.json"
PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")

# Mirror local.lambda_retry and the margin of local.downstream_state_timeout_seconds in main.tf.
LAMBDA_RETRY: dict[str, Any] = {
    "ErrorEquals": [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.ClientExecutionTimeoutException",
    ],
    "IntervalSeconds": 1,
    "MaxAttempts": 3,
    "BackoffRate": 2,
}
INIT_MARGIN_SECONDS = 10
RECORD_OUTCOME_TIMEOUT_SECONDS = 10  # local.functions.record_outcome.timeout in lambda.tf


def probe_lease_seconds(downstream_timeout_seconds: float) -> float:
    """local.probe_lease_seconds: every attempt of a probe, the backoff between them, and the recording."""
    attempts = LAMBDA_RETRY["MaxAttempts"] + 1
    backoff = sum(
        LAMBDA_RETRY["IntervalSeconds"] * LAMBDA_RETRY["BackoffRate"] ** n for n in range(LAMBDA_RETRY["MaxAttempts"])
    )
    return attempts * (downstream_timeout_seconds + INIT_MARGIN_SECONDS) + backoff + RECORD_OUTCOME_TIMEOUT_SECONDS


def placeholders(template: str | None = None) -> set[str]:
    return set(PLACEHOLDER.findall(template if template is not None else TEMPLATE.read_text()))


def render(values: dict[str, Any], template: str | None = None) -> str:
    """Substitute `${name}` like Terraform's templatefile: strings as-is, numbers in decimal."""
    text = template if template is not None else TEMPLATE.read_text()
    missing = placeholders(text) - values.keys()
    if missing:
        raise KeyError(f"no value for template placeholders: {', '.join(sorted(missing))}")
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def check_payload(circuit_name: str, allow_input_circuit: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"circuit": circuit_name, "caller.$": "$$.Execution.Id"}
    if allow_input_circuit:
        payload["input.$"] = "$$.Execution.Input"
    return payload


def short_circuit_state(
    mode: str, payload: Any = None, function_arn: str | None = None, partition: str = "aws"
) -> dict[str, Any]:
    if mode == "fail":
        return {
            "Type": "Fail",
            "Comment": "Fail fast: the circuit is open.",
            "Error": "CircuitOpen",
            "CausePath": "States.Format('circuit {} is {}: {}', $.circuit, $.state, $.reason)",
        }
    if mode == "payload":
        return {
            "Type": "Pass",
            "Comment": "The circuit is open: return the configured fallback payload.",
            "Result": payload,
            "End": True,
        }
    if mode == "function":
        return {
            "Type": "Task",
            "Comment": "The circuit is open: the fallback function answers instead.",
            "Resource": f"arn:{partition}:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": function_arn,
                "Payload": {"input.$": "$$.Execution.Input", "circuit.$": "$"},
            },
            "OutputPath": "$.Payload",
            "Retry": [LAMBDA_RETRY],
            "End": True,
        }
    raise ValueError(f"fallback mode must be fail, payload or function; got {mode!r}")


# local.fixed_circuit_states in main.tf: left out when the execution input selects the circuit.
FIXED_CIRCUIT_STATES = ("ReadCircuit", "Route", "ForcedOpen")


def definition(
    *,
    circuit_name: str,
    table_name: str,
    check_circuit_function_arn: str,
    record_outcome_function_arn: str,
    downstream_function_arn: str,
    downstream_timeout_seconds: int = 30,
    allow_input_circuit: bool = False,
    fallback_mode: str = "fail",
    fallback_payload: Any = None,
    fallback_function_arn: str | None = None,
    on_store_error: str = "fail_open",
    partition: str = "aws",
) -> str:
    """The rendered ASL, as `aws_sfn_state_machine.this.definition` would be."""
    rendered = render(
        {
            "partition": partition,
            "start_state": "CheckCircuit" if allow_input_circuit else "ReadCircuit",
            "table_name": json.dumps(table_name),
            "circuit_name": json.dumps(circuit_name),
            "lambda_retry": json.dumps([LAMBDA_RETRY]),
            "check_circuit_function_arn": check_circuit_function_arn,
            "record_outcome_function_arn": record_outcome_function_arn,
            "downstream_function_arn": downstream_function_arn,
            "downstream_state_timeout_seconds": downstream_timeout_seconds + INIT_MARGIN_SECONDS,
            "check_payload": json.dumps(check_payload(circuit_name, allow_input_circuit)),
            "store_unavailable_decision": json.dumps(store_unavailable_decision(circuit_name, on_store_error)),
            "short_circuit_state": json.dumps(
                short_circuit_state(fallback_mode, fallback_payload, fallback_function_arn, partition)
            ),
        }
    )
    if not allow_input_circuit:
        return rendered
    parsed = json.loads(rendered)
    parsed["States"] = {name: state for name, state in parsed["States"].items() if name not in FIXED_CIRCUIT_STATES}
    return json.dumps(parsed)


def store_unavailable_decision(circuit_name: str, on_store_error: str) -> dict[str, Any]:
    return {
        "circuit": circuit_name,
        "action": "call" if on_store_error == "fail_open" else "short_circuit",
        "state": "UNKNOWN",
        "generation": None,
        "probe": False,
        "failures_seen": 0,
        "reason": f"circuit state unavailable ({on_store_error})",
    }
