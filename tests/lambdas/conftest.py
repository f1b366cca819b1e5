from __future__ import annotations

import json

import boto3
import pytest

from circuit_sandbox.aws.runner import ModuleEnvironment
from tests.conftest import module_function


@pytest.fixture
def orders_table(aws) -> str:
    table = module_function("check_circuit").environment["TABLE_NAME"]
    boto3.client("dynamodb").create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return table


@pytest.fixture
def load_handler(orders_table):
    """A fresh execution environment of one of the module's functions for circuit `orders` (`module_function`)."""

    def load(function: str, **variables):
        return ModuleEnvironment(module_function(function, **variables)).module

    return load


def circuit_item(table: str, name: str = "orders") -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    raw = boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": name}}, ConsistentRead=True)
    return {k: TypeDeserializer().deserialize(v) for k, v in raw.get("Item", {}).items()}


def dumps(value) -> str:
    return json.dumps(value)
