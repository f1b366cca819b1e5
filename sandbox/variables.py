"""The module's variable defaults, read from variables.tf: what the simulator and the cost figures assume.

The sandbox's `ModuleConfig` mirrors these defaults (a contract test holds the two equal);
the simulator reads them from the HCL itself, so a changed default changes its figures.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from typing import Any

from .stack import ROOT, AlarmConfig, ModuleConfig

_OPTIONAL = re.compile(r'(\w+)\s*=\s*optional\((bool|number|string),\s*("[^"]*"|[^,)]+)\)')


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    return value


@lru_cache(maxsize=1)
def declared() -> dict[str, dict[str, Any]]:
    """Every variable of variables.tf: name -> {"type": ..., "default": ...}."""
    import hcl2

    with open(ROOT / "variables.tf") as handle:
        blocks = hcl2.load(handle)["variable"]
    return {
        _unquote(name): {key: _unquote(value) for key, value in body.items()}
        for block in blocks
        for name, body in block.items()
    }


def default(name: str) -> Any:
    variable = declared()[name]
    if "default" not in variable:
        raise KeyError(f"variable {name} has no default")
    return variable["default"]


def optional_defaults(name: str) -> dict[str, Any]:
    """The `optional(type, default)` attributes of an object variable's type, with typed defaults."""
    found = {}
    for attribute, kind, raw in _OPTIONAL.findall(declared()[name]["type"]):
        raw = raw.strip()
        if kind == "bool":
            found[attribute] = raw == "true"
        elif kind == "number":
            found[attribute] = float(raw) if "." in raw else int(raw)
        else:
            found[attribute] = _unquote(raw)
    if not found:
        raise ValueError(f"variable {name} declares no optional attributes")
    return found


def module_config(name: str, **overrides: Any) -> ModuleConfig:
    """A ModuleConfig whose settings are variables.tf's defaults (a healthcheck only if it has one: none)."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(ModuleConfig):
        if field.name in declared() and field.name != "name" and "default" in declared()[field.name]:
            values[field.name] = default(field.name)
    values["downstream_alarm"] = AlarmConfig(**optional_defaults("downstream_alarm"))
    if default("healthcheck") is None:
        values["healthcheck_alarm"] = AlarmConfig(enabled=False)
    return ModuleConfig(name=name, **(values | overrides))
