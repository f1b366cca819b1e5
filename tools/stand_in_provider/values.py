"""Terraform values in Python: plain dicts in, schema-conformant cty values (msgpack) out, and back.

A value conforms to a block schema when it carries every attribute (null where unset) and every
nested block (a list for nesting list and set, an object or null for single), with numbers as
numbers. Unknown values are UNKNOWN here and msgpack extension 0 on the wire.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack


class _Unknown:
    """A value Terraform does not know yet."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
_UNKNOWN_EXT = msgpack.ExtType(0, b"")


def decode(dynamic_value: Any) -> Any:
    """A DynamicValue (msgpack or JSON) as Python values; any extension is an unknown value."""
    if dynamic_value.msgpack:
        return msgpack.unpackb(
            dynamic_value.msgpack, ext_hook=lambda code, data: UNKNOWN, raw=False, strict_map_key=False
        )
    if dynamic_value.json:
        return json.loads(dynamic_value.json)
    return None


def encode(block: dict[str, Any], value: dict[str, Any] | None) -> bytes:
    """The msgpack cty value of `value` as an object of `block`."""
    return msgpack.packb(conform_block(block, value), default=lambda v: _UNKNOWN_EXT if v is UNKNOWN else _refuse(v))


def _refuse(value: Any) -> Any:
    raise TypeError(f"cannot encode {value!r} as a Terraform value")


def conform_block(block: dict[str, Any], value: dict[str, Any] | None) -> dict[str, Any] | None:
    """`value` with every attribute and nested block of `block`, each converted to its schema type."""
    if value is None or value is UNKNOWN:
        return value
    result = {
        name: conform(_attribute_type(spec), value.get(name)) for name, spec in block.get("attributes", {}).items()
    }
    for name, spec in block.get("block_types", {}).items():
        nested, mode, given = spec.get("block", {}), spec.get("nesting_mode", "list"), value.get(name)
        if mode in ("list", "set"):
            result[name] = given if given is UNKNOWN else [conform_block(nested, item) for item in given or []]
        elif mode == "map":
            result[name] = {key: conform_block(nested, item) for key, item in (given or {}).items()}
        elif mode == "group":
            result[name] = conform_block(nested, given or {})
        else:
            result[name] = conform_block(nested, given)
    return result


def _attribute_type(spec: dict[str, Any]) -> Any:
    """The cty type of an attribute, also for protocol-6 nested attributes."""
    if "type" in spec:
        return spec["type"]
    nested = spec["nested_type"]
    element = ["object", {name: _attribute_type(s) for name, s in nested.get("attributes", {}).items()}]
    mode = nested.get("nesting_mode", "single")
    return element if mode == "single" else [mode, element]


def conform(kind: Any, value: Any) -> Any:
    """`value` converted to the cty type `kind` (its JSON form, as in schemas)."""
    if value is None or value is UNKNOWN:
        return value
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "number":
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**63 else number
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "dynamic":
        raise TypeError("dynamic values are not supported")
    collection, element = kind[0], kind[1]
    if collection in ("list", "set"):
        return [conform(element, item) for item in value]
    if collection == "map":
        return {key: conform(element, item) for key, item in value.items()}
    if collection == "object":
        return {name: conform(attribute, value.get(name)) for name, attribute in element.items()}
    return [conform(item_kind, item) for item_kind, item in zip(element, value, strict=False)]  # tuple


# ---------------------------------------------------------------------------- planning


def unknown_computed(block: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """`value` with every computed attribute it leaves null made unknown, as a provider plans a create."""
    result = dict(value)
    for name, spec in block.get("attributes", {}).items():
        if spec.get("computed") and value.get(name) is None:
            result[name] = UNKNOWN
    for name, spec in block.get("block_types", {}).items():
        nested, mode, given = spec.get("block", {}), spec.get("nesting_mode", "list"), value.get(name)
        if given is None or given is UNKNOWN:
            result[name] = given
        elif mode in ("list", "set"):
            result[name] = [unknown_computed(nested, item) for item in given]
        elif mode == "map":
            result[name] = {key: unknown_computed(nested, item) for key, item in given.items()}
        else:
            result[name] = unknown_computed(nested, given)
    return result


def resolve(block: dict[str, Any], planned: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    """`planned` with its unknown values taken from `known` (null where `known` has none).

    Known planned values are kept as they are: Terraform requires the applied object to
    match every value the plan already knew.
    """
    result = {}
    for name in block.get("attributes", {}):
        result[name] = known.get(name) if planned.get(name) is UNKNOWN else planned.get(name)
    for name, spec in block.get("block_types", {}).items():
        nested, mode = spec.get("block", {}), spec.get("nesting_mode", "list")
        given, found = planned.get(name), known.get(name)
        if given is UNKNOWN:
            result[name] = found
        elif mode in ("list", "set"):
            found = found or []
            result[name] = [
                resolve(nested, item, found[index] if index < len(found) else {})
                for index, item in enumerate(given or [])
            ]
        elif mode == "map":
            result[name] = {
                key: resolve(nested, item, (found or {}).get(key, {})) for key, item in (given or {}).items()
            }
        else:
            result[name] = None if given is None else resolve(nested, given, found or {})
    return result


def changed(prior: dict[str, Any], proposed: dict[str, Any]) -> list[str]:
    """Top-level attributes and blocks whose proposed value differs from the prior state."""
    return sorted(name for name in proposed if differs(prior.get(name), proposed[name]))


def differs(old: Any, new: Any) -> bool:
    if old is UNKNOWN or new is UNKNOWN:
        return True
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() != new.keys() or any(differs(old[key], new[key]) for key in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) != len(new) or any(differs(a, b) for a, b in zip(old, new, strict=False))
    return old != new


def known_only(value: Any) -> Any:
    """`value` with unknowns as null: what a resource sees of a planned object."""
    if value is UNKNOWN:
        return None
    if isinstance(value, dict):
        return {key: known_only(item) for key, item in value.items()}
    if isinstance(value, list):
        return [known_only(item) for item in value]
    return value
