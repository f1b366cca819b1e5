"""circuit_sandbox.aws.stepfunctions: StartSyncExecution answered as AWS answers it."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from circuit_sandbox.aws.stepfunctions import synchronous_executions

ROLE = "arn:aws:iam::123456789012:role/sfn"
SUCCEED = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "Parameters": {"echo.$": "$.order"}, "End": True}}}
FAIL = {
    "StartAt": "Fail",
    "States": {"Fail": {"Type": "Fail", "Error": "CircuitOpen", "Cause": "circuit x is OPEN: y"}},
}


@pytest.fixture
def sfn():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), synchronous_executions():
        yield boto3.client("stepfunctions", region_name="us-east-1", config=Config(inject_host_prefix=False))


def machine(sfn, definition, kind="EXPRESS"):
    return sfn.create_state_machine(name=kind.lower(), definition=json.dumps(definition), roleArn=ROLE, type=kind)[
        "stateMachineArn"
    ]


def test_a_succeeding_execution_returns_its_output_and_billing(sfn):
    response = sfn.start_sync_execution(stateMachineArn=machine(sfn, SUCCEED), input=json.dumps({"order": 7}))
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == {"echo": 7}
    assert response["billingDetails"]["billedDurationInMilliseconds"] >= 100
    assert response["stopDate"] >= response["startDate"]
    assert sfn.describe_execution(executionArn=response["executionArn"])["status"] == "SUCCEEDED"


def test_a_failing_execution_returns_its_error_and_cause_without_raising(sfn):
    response = sfn.start_sync_execution(stateMachineArn=machine(sfn, FAIL), input="{}")
    assert (response["status"], response["error"], response["cause"]) == (
        "FAILED",
        "CircuitOpen",
        "circuit x is OPEN: y",
    )
    assert "output" not in response


def test_a_standard_state_machine_is_refused_as_aws_refuses_it(sfn):
    with pytest.raises(ClientError) as refused:
        sfn.start_sync_execution(stateMachineArn=machine(sfn, SUCCEED, "STANDARD"), input="{}")
    assert refused.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"
