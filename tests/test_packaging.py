"""The installable distribution puts only distinctive names at the top level of site-packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_no_generic_top_level_module(tmp_path):
    leftover = not (ROOT / "build").exists()  # setuptools builds in ./build
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    if leftover:
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    [wheel] = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top_level == {"circuit_breaker", "circuit_bench", "circuit_sandbox", "circuitctl"}
    assert not top_level & {"sandbox", "circuit", "tools", "tests", "check_circuit", "record_outcome", "alarm_handler"}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "circuitctl = circuitctl.cli:main" in scripts


def test_strict_typing_covers_every_lambda_package_and_circuitctl():
    """The strict per-module flags name packages that exist: a renamed package would silently fall out of them."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    strict = next(o for o in config["overrides"] if o.get("disallow_untyped_defs"))
    packages = {pattern.removesuffix(".*") for pattern in strict["module"]}
    lambda_packages = {p.name for p in (ROOT / "lambdas").iterdir() if (p / "__init__.py").exists()}
    assert packages == lambda_packages | {"circuitctl"}
