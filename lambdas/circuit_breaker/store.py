"""DynamoDB access for circuit records: one read, one conditional update. Nothing else writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from circuit_breaker import clients
from circuit_breaker.exceptions import StoreError
from circuit_breaker.model import DEFAULT_TABLE_KEY, Circuit, TableKey

_serializer = None
_deserializer = None


@dataclass
class Update:
    """A conditional UpdateItem built from named parts; placeholders are generated, never hand-written."""

    sets: dict[str, Any] = field(default_factory=dict)
    set_if_missing: dict[str, Any] = field(default_factory=dict)
    adds: dict[str, Any] = field(default_factory=dict)
    removes: set[str] = field(default_factory=set)
    conditions: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def when(self, condition: str, **values: Any) -> Update:
        """Add a condition; attribute names are written `#name`, values `:name`."""
        self.conditions.append(condition)
        self.values.update({f":{key}": value for key, value in values.items()})
        return self

    def when_generation(self, generation: int) -> Update:
        # A record written by Powertools (a PUT) carries no generation: that reads as 0.
        if generation == 0:
            return self.when(
                "attribute_not_exists(#generation) OR #generation = :expected_generation", expected_generation=0
            )
        return self.when("#generation = :expected_generation", expected_generation=generation)

    def expression(self) -> dict[str, Any]:
        names: set[str] = set()
        values = dict(self.values)
        clauses = []
        set_parts = []
        for attr, value in self.sets.items():
            names.add(attr)
            values[f":set_{attr}"] = value
            set_parts.append(f"#{attr} = :set_{attr}")
        for attr, value in self.set_if_missing.items():
            names.add(attr)
            values[f":init_{attr}"] = value
            set_parts.append(f"#{attr} = if_not_exists(#{attr}, :init_{attr})")
        if set_parts:
            clauses.append("SET " + ", ".join(set_parts))
        if self.adds:
            names.update(self.adds)
            values.update({f":add_{attr}": value for attr, value in self.adds.items()})
            clauses.append("ADD " + ", ".join(f"#{attr} :add_{attr}" for attr in self.adds))
        removes = sorted(self.removes - set(self.sets) - set(self.adds))
        if removes:
            names.update(removes)
            clauses.append("REMOVE " + ", ".join(f"#{attr}" for attr in removes))
        # DynamoDB rejects redundant parentheses: only an OR needs them to join with AND.
        condition = " AND ".join(f"({c})" if " OR " in c else c for c in self.conditions)
        names.update(_names_in(condition))
        expression = {
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": {f"#{name}": name for name in sorted(names)},
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            expression["ConditionExpression"] = condition
        if values:
            expression["ExpressionAttributeValues"] = {k: _serialize(v) for k, v in values.items()}
        return expression


class CircuitStore:
    """The table of circuits, keyed by `key`. Without a client given, one is created on first use (clients.CONFIG)."""

    def __init__(self, table_name: str, client: Any = None, key: TableKey | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self.key = key or DEFAULT_TABLE_KEY

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.client("dynamodb")
        return self._client

    def read(self, name: str, consistent: bool = False) -> Circuit:
        try:
            response = self.client.get_item(TableName=self.table_name, Key=self.key.of(name), ConsistentRead=consistent)
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"reading circuit {name!r} failed: {error}") from error
        return Circuit.from_item(name, _deserialize(response.get("Item")))

    def update(self, name: str, update: Update) -> Circuit | None:
        """Apply `update`; return the new record, or None when its condition did not hold."""
        try:
            response = self.client.update_item(TableName=self.table_name, Key=self.key.of(name), **update.expression())
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise StoreError(f"updating circuit {name!r} failed: {error}") from error
        except BotoCoreError as error:
            raise StoreError(f"updating circuit {name!r} failed: {error}") from error
        return Circuit.from_item(name, _deserialize(response.get("Attributes")))

    def scan(self) -> list[Circuit]:
        """Every circuit in the table (operator use only): a full scan, or in a single table a query of the circuits'
        partition."""
        key, circuits = self.key, []
        if key.sort_key is None:
            pages = self.client.get_paginator("scan").paginate(TableName=self.table_name)
        else:
            pages = self.client.get_paginator("query").paginate(
                TableName=self.table_name,
                KeyConditionExpression="#partition = :partition",
                ExpressionAttributeNames={"#partition": key.partition_key},
                ExpressionAttributeValues={":partition": {"S": key.partition_value}},
            )
        try:
            for page in pages:
                for raw in page.get("Items", []):
                    name = key.name_in(raw)
                    if name is not None:
                        circuits.append(Circuit.from_item(name, _deserialize(raw)))
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"listing circuits failed: {error}") from error
        return sorted(circuits, key=lambda c: c.name)


def circuit_from_typed_item(name: str, item: dict[str, Any] | None) -> Circuit:
    """A circuit from an item in DynamoDB's typed JSON, e.g. as the state machine's GetItem returned it."""
    if item is not None and not isinstance(item, dict):
        raise ValueError("a circuit item must be a JSON object")
    try:
        return Circuit.from_item(name, _deserialize(item))
    except (TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"circuit item is not DynamoDB JSON: {error}") from None


def _names_in(expression: str) -> set[str]:
    names, i = set(), 0
    while (i := expression.find("#", i)) != -1:
        j = i + 1
        while j < len(expression) and (expression[j].isalnum() or expression[j] == "_"):
            j += 1
        names.add(expression[i + 1 : j])
        i = j
    return names


def _serialize(value: Any) -> dict[str, Any]:
    global _serializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeSerializer

        _serializer = TypeSerializer()
    serialized: dict[str, Any] = _serializer.serialize(value)
    return serialized


def _deserialize(item: dict[str, Any] | None) -> dict[str, Any] | None:
    global _deserializer
    if item is None:
        return None
    if _deserializer is None:
        from boto3.dynamodb.types import TypeDeserializer

        _deserializer = TypeDeserializer()
    return {key: _deserializer.deserialize(value) for key, value in item.items()}
