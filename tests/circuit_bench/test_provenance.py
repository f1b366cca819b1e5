"""docs/benchmarks.md was produced by the code as it is."""

from __future__ import annotations

import shutil
from pathlib import Path

from circuit_bench import provenance
from circuit_sandbox.terraform import ROOT


def test_the_committed_benchmarks_were_measured_on_this_code():
    stated = provenance.stated((ROOT / "docs" / "benchmarks.md").read_text())
    assert stated == provenance.digest(ROOT), (
        "docs/benchmarks.md was measured on other code than this (module, lambdas, sandbox or benchmark "
        "changed since): run `make bench` and commit docs/benchmarks.md"
    )


def test_the_digest_follows_the_code_and_not_the_docs(tmp_path: Path):
    for source in ("main.tf", "lambdas", "circuit_bench", "docs"):
        copy = shutil.copy if (ROOT / source).is_file() else shutil.copytree
        copy(ROOT / source, tmp_path / source)
    before = provenance.digest(tmp_path)
    assert {"main.tf", "lambdas/circuit_breaker/breaker.py", "circuit_bench/bench.py"} <= {
        p.relative_to(tmp_path).as_posix() for p in provenance.files(tmp_path)
    }

    (tmp_path / "docs" / "design.md").write_text("changed")
    (tmp_path / "lambdas" / ".build").mkdir()
    (tmp_path / "lambdas" / ".build" / "package.py").write_text("built")
    assert provenance.digest(tmp_path) == before

    breaker = tmp_path / "lambdas" / "circuit_breaker" / "breaker.py"
    breaker.write_text(breaker.read_text() + "\n# one more line\n")
    assert provenance.digest(tmp_path) != before


def test_a_report_without_a_digest_states_none():
    assert provenance.stated("# Benchmarks\n\nMeasured somewhere.\n") is None
    assert provenance.stated(f"{provenance.MARKER} `0123abcd` (see there).\n") == "0123abcd"
