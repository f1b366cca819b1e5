"""The provider schemas the stand-in serves: the real hashicorp/aws and hashicorp/archive schemas."""

from __future__ import annotations

import functools
import gzip
import json
import threading
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"


_loading = threading.Lock()


def load_schemas(name: str) -> dict[str, Any]:
    """The provider's schemas, read once per process (Terraform calls the plugin from many threads at once);
    shared: callers read them and never change them."""
    with _loading:
        return _load(name)


@functools.cache
def _load(name: str) -> dict[str, Any]:
    if name == "aws":
        with gzip.open(SCHEMAS / "aws.schema.json.gz", "rt") as handle:
            schemas = json.load(handle)
        schemas["provider"] = json.loads((SCHEMAS / "aws.provider.json").read_text())
        return schemas
    if name == "archive":
        return json.loads((SCHEMAS / "archive.schema.json").read_text())
    raise SystemExit(f"no schema for provider {name!r}; have aws and archive")
