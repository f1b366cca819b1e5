"""One version number: the Python distribution, the changelog's latest release, the README and its pinned tag."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_distribution_changelog_and_readme_name_the_same_release():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    releases = re.findall(
        r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE
    )
    assert releases and releases[0] == version, f"CHANGELOG's latest release {releases[:1]} is not {version}"
    readme = (ROOT / "README.md").read_text()
    assert f"Release **{version}** (tag `v{version}`" in readme
    # The usage pins the release's tag.
    assert re.search(rf'source = "git::[^"]+\?ref=v{re.escape(version)}"', readme)


def test_the_changelog_keeps_an_unreleased_section_first():
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert headings[0] == "Unreleased"
