"""The provider schemas the stand-in serves: the real hashicorp/aws and hashicorp/archive schemas."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def load_schemas(name: str) -> dict[str, Any]:
    if name == "aws":
        with gzip.open(SCHEMAS / "aws.schema.json.gz", "rt") as handle:
            schemas = json.load(handle)
        schemas["provider"] = json.loads((SCHEMAS / "aws.provider.json").read_text())
        return schemas
    if name == "archive":
        return json.loads((SCHEMAS / "archive.schema.json").read_text())
    raise SystemExit(f"no schema for provider {name!r}; have aws and archive")
