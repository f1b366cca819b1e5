"""Which code produced the figures: a digest of every file they depend on.

`make bench` records the digest when it starts measuring, and docs/benchmarks.md prints it;
tests/circuit_bench/test_provenance.py fails when the committed report names another digest than
the code as it is, so figures measured on older code cannot stand as current.

The figures depend on the module (its Terraform, the state machine definition, the dashboard
template), the code that runs in Lambda, the pinned dependencies, the sandbox they are measured
in, and the benchmark itself. Documentation, tests, the examples and build output (hidden
folders) are left out: changing them changes no figure.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# Relative to the repository's root; directories are walked for these suffixes.
SOURCES = ("*.tf", "pyproject.toml", "statemachine", "templates", "lambdas", "circuit_sandbox", "circuit_bench")
SUFFIXES = {".py", ".tf", ".json", ".tftpl", ".yaml", ".yml", ".toml", ".txt"}
MARKER = "Produced by the code with digest"


def files(root: Path) -> list[Path]:
    """The files the figures depend on, in a fixed order (their paths below `root`)."""
    found: set[Path] = set()
    for source in SOURCES:
        if not (root / source).is_dir():
            found.update(root.glob(source))
        else:
            found.update(p for p in (root / source).rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    kept = (
        p for p in found if not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(root).parts)
    )
    return sorted(kept, key=lambda p: p.relative_to(root).as_posix())


def digest(root: Path) -> str:
    """SHA-256 over each file's path and content; 16 hex digits are shown."""
    hashed = hashlib.sha256()
    for path in files(root):
        hashed.update(path.relative_to(root).as_posix().encode() + b"\0")
        hashed.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return hashed.hexdigest()[:16]


def stated(report: str) -> str | None:
    """The digest a rendered report names, or None when it names none."""
    for line in report.splitlines():
        if line.startswith(MARKER):
            return line.removeprefix(MARKER).split("`")[1]
    return None
