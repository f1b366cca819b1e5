from __future__ import annotations

import json

import boto3
import pytest

from sandbox.runner import FunctionSpec, ModuleEnvironment
from sandbox.stack import LAMBDAS, MODULE_FUNCTIONS, ModuleConfig


@pytest.fixture
def orders_table(aws) -> str:
    config = ModuleConfig(name="orders")
    boto3.client("dynamodb").create_table(
        TableName=config.table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return config.table_name


@pytest.fixture
def load_handler(orders_table):
    """A fresh execution environment of one of the module's functions, configured as lambda.tf does."""

    def load(function: str, **variables):
        config = ModuleConfig(name="orders", **variables)
        spec = FunctionSpec(
            config.function_name(function), MODULE_FUNCTIONS[function], LAMBDAS, config.lambda_environment()
        )
        return ModuleEnvironment(spec).module

    return load


def circuit_item(table: str, name: str = "orders") -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    raw = boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": name}}, ConsistentRead=True)
    return {k: TypeDeserializer().deserialize(v) for k, v in raw.get("Item", {}).items()}


def dumps(value) -> str:
    return json.dumps(value)
