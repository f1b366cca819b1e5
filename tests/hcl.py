"""The module's HCL as data (python-hcl2), for the tests that read a setting from Terraform instead of restating it."""

from __future__ import annotations

import functools
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parent.parent


@functools.cache  # parsed once per file: every reader sees the same settings
def hcl(path: str) -> dict:
    with open(ROOT / path) as handle:
        return hcl2.load(handle)


def unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


def local(path: str, name: str):
    for block in hcl(path)["locals"]:
        if name in block:
            return unquote(block[name])
    raise KeyError(f"no local {name} in {path}")


def resource(path: str, kind: str, name: str) -> dict:
    for block in unquote(hcl(path)["resource"]):
        if kind in block and name in block[kind]:
            return block[kind][name]
    raise KeyError(f"no {kind}.{name} in {path}")


def variables() -> dict[str, dict]:
    """Every variable of variables.tf: name -> its body (type, default, ...)."""
    return {name: body for block in unquote(hcl("variables.tf")["variable"]) for name, body in block.items()}
