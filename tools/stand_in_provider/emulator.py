"""Apply a root module to a local AWS emulator, as tflocal does for LocalStack.

An override file next to the module's own .tf files (`emulator_override.tf`, git-ignored,
removed after each command) points `provider "aws"` at the emulator with test credentials, so
the module stays exactly as users apply it to AWS. The same file sets a local backend whose
state lives under .build/, one per emulator: a real state next to the module, or the module's
own backend (S3, ...), is never touched.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools.stand_in_provider.terraform import BUILD, Result, install, slug, terraform

OVERRIDE = "emulator_override.tf"
# Every service the stand-in provider calls (its endpoint keys, as the real provider names them).
ENDPOINTS = (
    "cloudwatch",
    "dynamodb",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "scheduler",
    "sfn",
    "sns",
    "ssm",
    "sts",
)


class TerraformError(RuntimeError):
    """A Terraform command failed; the message holds its output."""


def override(endpoint: str, region: str | None = None, state: Path | None = None) -> str:
    """The override file's text: every endpoint at `endpoint`, test credentials, `region` if given, and
    a local backend keeping the state in `state` if given (it replaces any backend the module declares)."""
    endpoints = "\n".join(f'    {service:<10} = "{endpoint}"' for service in ENDPOINTS)
    region_line = f'  region                      = "{region}"\n' if region else ""
    backend = f'\nterraform {{\n  backend "local" {{\n    path = {json.dumps(str(state))}\n  }}\n}}\n' if state else ""
    return (
        f'provider "aws" {{\n{region_line}'
        '  access_key                  = "test"\n'
        '  secret_key                  = "test"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_requesting_account_id  = true\n\n"
        f"  endpoints {{\n{endpoints}\n  }}\n}}\n{backend}"
    )


def workspace(directory: Path) -> Path:
    """Where the emulator's data directory, state and variables for `directory` live."""
    return BUILD / "emulator" / slug(directory)


def state_file(directory: Path, endpoint: str) -> Path:
    """The state of what `directory` applied into the emulator at `endpoint`: one per emulator, so that an
    apply into a fresh emulator does not start from the state of an earlier one that is gone."""
    port = urlsplit(endpoint).port
    return workspace(directory) / f"emulator-{port}.tfstate"


@contextmanager
def overridden(directory: Path, endpoint: str, region: str | None = None) -> Iterator[Path]:
    """Write the override file into `directory` for the block; yield the workspace.

    The block holds an exclusive lock on the workspace: the override file lives in the module's own
    directory, so two processes (test workers) running Terraform there take turns, command by command.
    """
    folder = workspace(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(directory) / OVERRIDE
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path.write_text(override(endpoint, region, state_file(directory, endpoint)))
        try:
            yield folder
        finally:
            path.unlink(missing_ok=True)


def run(
    directory: Path,
    endpoint: str,
    command: str,
    *args: str,
    variables: dict[str, Any] | None = None,
    region: str | None = None,
    timeout: float = 600,
) -> Result:
    """`terraform <command>` in `directory` against the emulator at `endpoint` (variables for plan/apply/destroy)."""
    with overridden(directory, endpoint, region) as folder:
        if command == "init":
            # The backend's path names the emulator, so it changes with the endpoint: take the new one, and
            # never offer to migrate the state of an emulator that is gone.
            reconfigure = () if {"-reconfigure", "-migrate-state"} & set(args) else ("-reconfigure",)
            return _init(directory, endpoint, (*reconfigure, *args), folder, timeout)
        if command not in ("version", "fmt") and not _initialised(folder, state_file(directory, endpoint)):
            # A first command in this folder, or the first against this endpoint: init, as tflocal users would.
            initialised = _init(directory, endpoint, ("-reconfigure", "-input=false"), folder, timeout)
            if initialised.retcode != 0:
                return initialised
        if command in ("plan", "apply", "destroy"):
            values = folder / "variables.tfvars.json"
            values.write_text(json.dumps(variables or {}))
            args = ("-input=false", f"-var-file={values}", *args)
        return terraform(directory, command, *args, config=install(), data=folder / "data", timeout=timeout)


def _initialised(folder: Path, state: Path) -> bool:
    """Whether the data directory's backend is the local one keeping `state` (what init records)."""
    try:
        recorded = json.loads((folder / "data" / "terraform.tfstate").read_text())
    except (OSError, ValueError):
        return False
    return bool(recorded.get("backend", {}).get("config", {}).get("path") == str(state))


def _init(directory: Path, endpoint: str, args: tuple[str, ...], folder: Path, timeout: float) -> Result:
    """`terraform init` with the state set aside: Terraform 1.15's init looks the providers of an existing
    state up in the registry, ignoring `dev_overrides`, and this machine may have no registry. Init never
    needs the state; the lock on the workspace keeps every other command from running meanwhile."""
    state = state_file(directory, endpoint)
    aside = state.with_name(state.name + ".during-init")
    if state.exists():
        state.replace(aside)
    try:
        return terraform(directory, "init", *args, config=install(), data=folder / "data", timeout=timeout)
    finally:
        if aside.exists():
            aside.replace(state)


def apply(
    directory: Path,
    endpoint: str,
    variables: dict[str, Any] | None = None,
    region: str | None = None,
    timeout: float = 600,
    echo: Callable[[str], None] | None = None,
    args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Init and apply `directory` into the emulator; return the module's outputs (name -> value).

    `echo`, if given, receives Terraform's output of the apply (its plan, progress and summary); `args`
    are more arguments of `terraform apply` (e.g. `-var-file=...`).
    """
    _check(run(directory, endpoint, "init", "-input=false", region=region, timeout=timeout))
    applied = _check(
        run(directory, endpoint, "apply", "-auto-approve", *args, variables=variables, region=region, timeout=timeout)
    )
    if echo is not None:
        echo(applied.stdout)
    outputs = _check(run(directory, endpoint, "output", "-json", region=region, timeout=timeout))
    return {name: output["value"] for name, output in json.loads(outputs.stdout).items()}


def destroy(
    directory: Path,
    endpoint: str,
    variables: dict[str, Any] | None = None,
    region: str | None = None,
    timeout: float = 600,
    args: tuple[str, ...] = (),
) -> str:
    """Destroy what `apply` created in the emulator (`args`: more arguments of `terraform destroy`); its output."""
    _check(run(directory, endpoint, "init", "-input=false", region=region, timeout=timeout))
    return _check(
        run(directory, endpoint, "destroy", "-auto-approve", *args, variables=variables, region=region, timeout=timeout)
    ).output


def _check(result: Result) -> Result:
    if result.retcode != 0:
        raise TerraformError(result.output)
    return result
