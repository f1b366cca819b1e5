"""An in-memory DynamoDB table for the simulator: GetItem and UpdateItem, nothing else.

`circuit_breaker.store.CircuitStore` calls a boto3 DynamoDB client; this is a client with the same
two methods and DynamoDB's semantics for exactly the expression forms `circuit_breaker.store.Update`
generates, and the state machine's ResetFailures: `SET` (including `if_not_exists` and `#a = #a - :n`),
`ADD` on numbers, `REMOVE`; conditions joined
with AND / OR / NOT and parentheses, `attribute_exists`, `attribute_not_exists` and the six
comparisons. A condition that does not hold raises the `ConditionalCheckFailedException`
ClientError boto3 raises. Anything else is refused loudly rather than guessed.
tests/circuit_bench/test_memory_table.py drives random sequences of circuit operations through
this table and moto's, and requires identical items after every step.

It reads expressions rather than a structured form of `Update` because the state machine writes
through them too: ResetFailures is an UpdateItem task whose expression and condition are in the
definition's text, and the simulator runs that text. A structured seam in the store would leave
this parser in place for the definition and add a second way of stating the same write.

Comparisons follow DynamoDB: values of different types (or a missing attribute) are never
equal, ordered or unequal-ordered; `<>` holds for them. Numbers compare as decimals.
Every request is counted (eventually consistent reads, strongly consistent reads, writes),
for the simulator's cost figures; a write whose condition fails is still a write.

Stored items are snapshots: a write stores a new dict and never changes one already handed
out, so a read returns the stored snapshot itself (no copy): whoever reads may tell "nothing
changed" by identity. Callers must not change what they are given (CircuitStore and the
state machine never do).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

Item = dict[str, dict[str, Any]]  # attribute name -> typed value, e.g. {"N": "3"}
Condition = Callable[[Item, dict[str, str], dict[str, dict[str, Any]]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<name>#\w+)|(?P<value>:\w+)|(?P<op><>|<=|>=|=|<|>)|(?P<punct>[(),])"
    r"|(?P<word>[A-Za-z_]+))"
)


class MemoryTable:
    """One table's items by partition key (`id`), as a boto3 client serves them.

    Read lag, as DynamoDB's eventually consistent reads have it: with `lag` seconds and a
    `clock`, an eventually consistent read returns the item as it was at a moment drawn
    uniformly from the last `lag` seconds (AWS: consistency "usually within a second"), so a
    write is missed by such a read for up to `lag` seconds. A strongly consistent read, and
    every write and its condition, see the latest item.
    """

    def __init__(
        self,
        table_name: str,
        key: str = "id",
        *,
        lag: float = 0.0,
        clock: Callable[[], float] | None = None,
        draw: Callable[[], float] | None = None,
    ) -> None:
        if lag and (clock is None or draw is None):
            raise ValueError("a table with read lag needs a clock and a draw in [0, 1)")
        self.table_name = table_name
        self.key = key
        self.items: dict[str, Item] = {}
        self.eventual_reads = self.strong_reads = self.writes = 0
        self.stale_reads = 0  # eventually consistent reads that missed a write
        self.listeners: list[Callable[[Item | None, Item], None]] = []  # called with (old, new) on every change
        self.lag = lag
        self._clock = clock
        self._draw = draw
        self._history: dict[str, list[tuple[float, Item | None]]] = {}  # key -> (written at, item before), oldest first

    # ------------------------------------------------------------------ the client API CircuitStore uses

    def get_item(self, *, TableName: str, Key: dict, ConsistentRead: bool = False) -> dict:
        self._check_table(TableName)
        if ConsistentRead:
            self.strong_reads += 1
        else:
            self.eventual_reads += 1
        key = self._key(Key)
        item = self.items.get(key)
        if not ConsistentRead and self.lag and self._clock is not None and self._draw is not None:
            as_of = self._clock() - self._draw() * self.lag
            for written_at, before in self._history.get(key, ()):
                if written_at > as_of:  # the first write this read misses: it sees the item before it
                    item = before
                    self.stale_reads += 1
                    break
        return {} if item is None else {"Item": item}

    def update_item(
        self,
        *,
        TableName: str,
        Key: dict,
        UpdateExpression: str,
        ExpressionAttributeNames: dict[str, str] | None = None,
        ExpressionAttributeValues: dict[str, dict] | None = None,
        ConditionExpression: str | None = None,
        ReturnValues: str = "NONE",
    ) -> dict:
        self._check_table(TableName)
        self.writes += 1
        names, values = ExpressionAttributeNames or {}, ExpressionAttributeValues or {}
        key = self._key(Key)
        old = self.items.get(key)
        current = old if old is not None else {}
        if ConditionExpression and not condition(ConditionExpression)(current, names, values):
            raise ClientError(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"}},
                "UpdateItem",
            )
        new = {self.key: {"S": key}, **current}
        for action, attribute, operand, default in update(UpdateExpression):
            name = names[attribute]
            if action == "SET":
                new[name] = values[operand]
            elif action == "SET_IF_MISSING":
                new.setdefault(name, values[default])
            elif action == "ADD":
                new[name] = _add(new.get(name), values[operand], name)
            elif action == "SUBTRACT":
                # Operands are the item's values before the update, as DynamoDB evaluates them.
                source = names[default]
                if source not in current:
                    raise ClientError(
                        {
                            "Error": {
                                "Code": "ValidationException",
                                "Message": f"{source}: the attribute does not exist",
                            }
                        },
                        "UpdateItem",
                    )
                new[name] = _add(current[source], {"N": str(-Decimal(values[operand]["N"]))}, name)
            else:
                new.pop(name, None)
        self.items[key] = new
        if self.lag and self._clock is not None:
            now = self._clock()
            history = self._history.setdefault(key, [])
            while history and history[0][0] < now - self.lag:
                history.pop(0)
            history.append((now, old))
        for listener in self.listeners:
            listener(old, new)
        if ReturnValues == "ALL_NEW":
            return {"Attributes": new}
        if ReturnValues != "NONE":
            raise ValueError(f"the memory table returns ALL_NEW or NONE, not {ReturnValues}")
        return {}

    # ------------------------------------------------------------------ helpers

    def _check_table(self, name: str) -> None:
        if name != self.table_name:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": f"Requested resource not found: {name}"}},
                "GetItem",
            )

    def _key(self, key: dict) -> str:
        value = key.get(self.key)
        if len(key) != 1 or not isinstance(value, dict) or len(value) != 1 or "S" not in value:
            raise ValueError(f"the key must be {{{self.key!r}: {{'S': ...}}}}, got {key!r}")
        return value["S"]


def _add(current: dict | None, operand: dict, name: str) -> dict:
    if "N" not in operand or (current is not None and "N" not in current):
        raise ValueError(f"ADD on {name}: the memory table adds numbers only")
    total = Decimal(operand["N"]) + (Decimal(current["N"]) if current is not None else 0)
    return {"N": str(total)}


# ---------------------------------------------------------------------------- update expressions


@cache
def update(expression: str) -> tuple[tuple[str, str, Any, Any], ...]:
    """(action, #name, :value, :default or #subtrahend's source) for each part of `SET ... ADD ... REMOVE ...`."""
    parts = re.split(r"\b(SET|ADD|REMOVE)\b", expression)
    if parts[0].strip():
        raise ValueError(f"unsupported update expression {expression!r}")
    actions: list[tuple[str, str, Any, Any]] = []  # (action, #name, :operand or None, :default, #source or None)
    for clause, body in zip(parts[1::2], parts[2::2], strict=False):
        for part in (p.strip() for p in body.split(",") if p.strip()) if clause != "SET" else _set_parts(body):
            if clause == "REMOVE" and re.fullmatch(r"#\w+", part):
                actions.append(("REMOVE", part, None, None))
            elif clause == "ADD" and (match := re.fullmatch(r"(#\w+)\s+(:\w+)", part)):
                actions.append(("ADD", match[1], match[2], None))
            elif clause == "SET" and (match := re.fullmatch(r"(#\w+)\s*=\s*(:\w+)", part)):
                actions.append(("SET", match[1], match[2], None))
            elif clause == "SET" and (match := re.fullmatch(r"(#\w+)\s*=\s*(#\w+)\s*-\s*(:\w+)", part)):
                actions.append(("SUBTRACT", match[1], match[3], match[2]))
            elif (
                clause == "SET"
                and (match := re.fullmatch(r"(#\w+)\s*=\s*if_not_exists\(\s*(#\w+)\s*,\s*(:\w+)\s*\)", part))
                and match[1] == match[2]
            ):
                actions.append(("SET_IF_MISSING", match[1], None, match[3]))
            else:
                raise ValueError(f"unsupported {clause} action {part!r}")
    return tuple(actions)


def _set_parts(body: str) -> list[str]:
    """Split a SET clause on the commas outside function calls."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(body):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(body[start:index].strip())
            start = index + 1
    parts.append(body[start:].strip())
    return [part for part in parts if part]


# ---------------------------------------------------------------------------- condition expressions


@cache
def condition(expression: str) -> Condition:
    """Compile a condition expression once into a function of (item, names, values)."""
    tokens = _tokens(expression)
    parsed, rest = _or(tokens, 0)
    if rest != len(tokens):
        raise ValueError(f"unexpected {tokens[rest][1]!r} in condition {expression!r}")
    return parsed


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"unsupported condition syntax at {expression[position:]!r}")
        kind = match.lastgroup or ""
        text = match[kind]
        if kind == "word" and text.upper() in ("AND", "OR", "NOT"):
            kind, text = "logic", text.upper()
        tokens.append((kind, text))
        position = match.end()
    return tokens


def _or(tokens: list[tuple[str, str]], at: int) -> tuple[Condition, int]:
    left, at = _and(tokens, at)
    while at < len(tokens) and tokens[at] == ("logic", "OR"):
        right, at = _and(tokens, at + 1)
        left = (lambda a, b: lambda item, names, values: a(item, names, values) or b(item, names, values))(left, right)
    return left, at


def _and(tokens: list[tuple[str, str]], at: int) -> tuple[Condition, int]:
    left, at = _not(tokens, at)
    while at < len(tokens) and tokens[at] == ("logic", "AND"):
        right, at = _not(tokens, at + 1)
        left = (lambda a, b: lambda item, names, values: a(item, names, values) and b(item, names, values))(left, right)
    return left, at


def _not(tokens: list[tuple[str, str]], at: int) -> tuple[Condition, int]:
    if at < len(tokens) and tokens[at] == ("logic", "NOT"):
        inner, at = _not(tokens, at + 1)
        return (lambda item, names, values: not inner(item, names, values)), at
    return _primary(tokens, at)


def _expect(tokens: list[tuple[str, str]], at: int, kind: str, text: str | None = None) -> str:
    if at >= len(tokens) or tokens[at][0] != kind or (text is not None and tokens[at][1] != text):
        found = tokens[at][1] if at < len(tokens) else "the end"
        raise ValueError(f"expected {text or kind}, found {found!r}")
    return tokens[at][1]


def _primary(tokens: list[tuple[str, str]], at: int) -> tuple[Condition, int]:
    if at < len(tokens) and tokens[at] == ("punct", "("):
        inner, at = _or(tokens, at + 1)
        _expect(tokens, at, "punct", ")")
        return inner, at + 1
    if at < len(tokens) and tokens[at][0] == "word":
        function = tokens[at][1]
        if function not in ("attribute_exists", "attribute_not_exists"):
            raise ValueError(f"unsupported condition function {function!r}")
        _expect(tokens, at + 1, "punct", "(")
        name = _expect(tokens, at + 2, "name")
        _expect(tokens, at + 3, "punct", ")")
        wanted = function == "attribute_exists"
        return (lambda item, names, values: (names[name] in item) is wanted), at + 4
    left = _operand(tokens, at)
    operator = _expect(tokens, at + 1, "op")
    right = _operand(tokens, at + 2)
    compare = _COMPARISONS[operator]
    return (lambda item, names, values: compare(left(item, names, values), right(item, names, values))), at + 3


def _operand(tokens: list[tuple[str, str]], at: int) -> Callable[[Item, dict, dict], dict | None]:
    if at < len(tokens) and tokens[at][0] == "name":
        name = tokens[at][1]
        return lambda item, names, values: item.get(names[name])
    placeholder = _expect(tokens, at, "value")
    return lambda item, names, values: values[placeholder]


def _comparable(left: dict | None, right: dict | None) -> tuple[Any, Any] | None:
    if left is None or right is None or left.keys() != right.keys():
        return None
    (kind, a), (_, b) = next(iter(left.items())), next(iter(right.items()))
    if kind == "N":
        return Decimal(a), Decimal(b)
    if kind in ("S", "BOOL"):
        return a, b
    raise ValueError(f"the memory table compares numbers, strings and booleans, not {kind}")


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[dict | None, dict | None], bool]:
    def compare(left: dict | None, right: dict | None) -> bool:
        pair = _comparable(left, right)
        return pair is not None and left is not None and "BOOL" not in left and test(*pair)

    return compare


def _equal(left: dict | None, right: dict | None) -> bool:
    pair = _comparable(left, right)
    return pair is not None and pair[0] == pair[1]


_COMPARISONS: dict[str, Callable[[dict | None, dict | None], bool]] = {
    "=": _equal,
    "<>": lambda left, right: not _equal(left, right),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
}
