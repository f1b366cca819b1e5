"""The adopter's path end to end: an own root module, the installed pytest fixture, the caller helper."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_an_adopters_integration_test_passes_with_the_installed_fixture():
    """integration.py runs in a pytest of its own, as in an adopter's repository: the plugin is found through
    the installed package's entry point, not through this repository's conftest."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(HERE / "integration.py"),
            "--no-cov",
            "-p",
            "no:randomly",
            "-p",
            "no:xdist",
            "--confcutdir",
            str(HERE),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=HERE,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "4 passed" in run.stdout
