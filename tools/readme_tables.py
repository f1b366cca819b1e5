"""The README's Inputs and Outputs tables, generated from variables.tf and outputs.tf.

    python -m tools.readme_tables          # rewrite the tables in README.md
    python -m tools.readme_tables --check  # exit 1 if README.md is out of date

tests/test_contract.py runs the check, so the tables always say what the HCL says.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SECTION = re.compile(r"(## (Inputs|Outputs)\n\n)(.*?)(?=\n\n## |\n?\Z)", re.DOTALL)


def _blocks(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    with open(path) as handle:
        parsed = hcl2.load(handle)
    return [(name.strip('"'), body) for block in parsed.get(kind, []) for name, body in block.items()]


def _text(value: str) -> str:
    """A one-line description: heredoc markers and line breaks removed, pipes escaped."""
    value = value.strip()
    if value.startswith('"') and value.endswith('"'):
        value = value[1:-1].replace('\\"', '"')
    value = re.sub(r"^<<-?EOT\s*|\s*EOT$", "", value)
    return " ".join(value.split()).replace("|", "\\|")


def _type(value: str) -> str:
    value = value.removeprefix("${").removesuffix("}")
    return "object (see variables.tf)" if value.startswith("object(") else value


def _default(body: dict[str, Any]) -> str:
    if "default" not in body:
        return "required"
    value = body["default"]
    if isinstance(value, str):
        return f"`{value.strip(chr(34))}`"
    return f"`{json.dumps(value) if value is not None else 'null'}`"


def tables() -> dict[str, str]:
    inputs = ["| Name | Description | Type | Default |", "|------|-------------|------|---------|"]
    inputs += [
        f"| `{name}` | {_text(body['description'])} | `{_type(body['type'])}` | {_default(body)} |"
        for name, body in _blocks(ROOT / "variables.tf", "variable")
    ]
    outputs = ["| Name | Description |", "|------|-------------|"]
    outputs += [f"| `{name}` | {_text(body['description'])} |" for name, body in _blocks(ROOT / "outputs.tf", "output")]
    return {"Inputs": "\n".join(inputs), "Outputs": "\n".join(outputs)}


def render(readme: str) -> str:
    generated = tables()
    return SECTION.sub(lambda m: m.group(1) + generated[m.group(2)], readme)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    current = README.read_text()
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            print(
                "README.md's Inputs/Outputs tables are out of date: run python -m tools.readme_tables", file=sys.stderr
            )
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
