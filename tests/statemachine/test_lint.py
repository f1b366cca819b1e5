"""Every definition Terraform deployed passes statelint: each fallback mode, with and without allowed_circuits.

The examples' definitions (a qualified downstream among them) are linted where they are applied,
in tests/terraform/test_apply.py.
"""

from __future__ import annotations

import json

from statelint.config import Config
from statelint.linter import Linter
from statelint.problem import ProblemType

# statelint wants BackoffRate written as a float (2.0); the service accepts 2, and Terraform's
# jsonencode writes 2.0 as 2, so that one check is stricter than AWS and is left out.
LINT = Config(ignored_problem_types={ProblemType.FLOAT})


def lint(definition: str) -> list[str]:
    return list(Linter.validate(definition, LINT))


def deployed(instances) -> dict[str, str]:
    return {
        name: stack.sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"]
        for name, stack in instances.items()
    }


def test_every_deployed_definition_passes_statelint(instances):
    definitions = deployed(instances)
    assert {name: lint(definition) for name, definition in definitions.items()} == {name: [] for name in definitions}
    # The instances cover what changes the definition: the fallback modes, and the input choosing the circuit.
    settings = [stack.settings() for stack in instances.values()]
    assert {s.fallback_mode for s in settings} == {"fail", "payload", "function"}
    assert {bool(s.allowed_circuits) for s in settings} == {False, True}
    starts = {json.loads(definition)["StartAt"] for definition in definitions.values()}
    assert starts == {"ReadCircuit", "CheckCircuit"}


def test_statelint_catches_a_broken_definition(instances):
    definition = deployed(instances)["healthy"]
    broken = definition.replace('"Next":"Decide"', '"Next":"Nowhere"').replace('"Next": "Decide"', '"Next": "Nowhere"')
    assert broken != definition
    assert any("Nowhere" in problem for problem in lint(broken))
