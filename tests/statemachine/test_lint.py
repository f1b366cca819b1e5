"""The rendered ASL passes statelint for every variable combination that changes it, and moto accepts it."""

from __future__ import annotations

import itertools

import boto3
import pytest
from statelint.config import Config
from statelint.linter import Linter
from statelint.problem import ProblemType

from sandbox import definition

FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:{}"
# statelint wants BackoffRate written as a float (2.0); the service accepts 2, and Terraform's
# jsonencode writes 2.0 as 2, so that one check is stricter than AWS and is left out.
LINT = Config(ignored_problem_types={ProblemType.FLOAT})

COMBINATIONS = list(
    itertools.product(
        ("fail", "payload", "function"),  # fallback_mode
        (False, True),  # allowed_circuits non-empty: the execution input may choose the circuit
        (FUNCTION.format("orders-api"), FUNCTION.format("orders-api:live")),  # unqualified / qualified downstream
        (1, 900),  # downstream_timeout_seconds
    )
)


def render(fallback_mode, allow_input_circuit, downstream, timeout) -> str:
    return definition.definition(
        circuit_name="orders",
        table_name="orders-circuits",
        check_circuit_function_arn=FUNCTION.format("orders-check-circuit"),
        record_outcome_function_arn=FUNCTION.format("orders-record-outcome"),
        downstream_function_arn=downstream,
        downstream_timeout_seconds=timeout,
        allow_input_circuit=allow_input_circuit,
        fallback_mode=fallback_mode,
        fallback_payload={"degraded": True},
        fallback_function_arn=FUNCTION.format("orders-fallback"),
    )


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda c: str(c))
def test_every_rendering_passes_statelint(combination):
    assert Linter.validate(render(*combination), LINT) == []


def test_statelint_catches_a_broken_definition():
    broken = render("fail", False, FUNCTION.format("orders-api"), 30).replace('"Next": "Decide"', '"Next": "Nowhere"')
    assert any("Nowhere" in problem for problem in Linter.validate(broken, LINT))


def test_moto_accepts_every_rendering(aws):
    sfn = boto3.client("stepfunctions")
    for index, combination in enumerate(COMBINATIONS):
        sfn.create_state_machine(
            name=f"lint-{index}", definition=render(*combination), roleArn="arn:aws:iam::123456789012:role/sfn"
        )
    assert len(sfn.list_state_machines()["stateMachines"]) == len(COMBINATIONS)
