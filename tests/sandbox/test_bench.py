"""The benchmark report says plainly which targets are met and which are missed."""

from __future__ import annotations

import json

from sandbox import bench


def report(**changes) -> dict:
    paths = {
        "healthy": {"reads": 1, "writes": 0, "invocations": 2, "states": 3},
        "short-circuited": {"reads": 1, "writes": 0, "invocations": 1, "states": 3},
    }
    base = {
        "date": "2026-11-26",
        "machine": "test",
        "time_scale": 20,
        "seconds": 1,
        "paths": {"this module": paths, "seed design": paths},
        "steady_state": {
            "calls": 80,
            "reads": 4,
            "writes": 0,
            "check environments": 1,
            "reads per environment per cache period": 1.0,
            "reads per call": 0.05,
        },
        "outage": {
            f"this module @ {rate}/s": {
                "downstream calls after outage began": 6,
                "calls before OPEN": 5,
                "seconds to OPEN": 0.5,
                "achieved rate": rate,
            }
            for rate in (1, 10)
        },
        "recovery": {"x": 1},
        "probes_with_100_callers": 1,
        "cold_start_ratio_to_boto3": {"import boto3 (ms)": 100, "check_circuit": 0.5},
        "package_bytes": {"check_circuit": 100},
    }
    return base | changes


def test_met_targets_read_met():
    lines = bench.verdicts(report())
    assert all(": met" in line for line in lines), lines


def test_missed_targets_read_missed():
    bad = report(probes_with_100_callers=2, cold_start_ratio_to_boto3={"import boto3 (ms)": 100, "check_circuit": 1.5})
    bad["outage"]["this module @ 100/s"] = {
        "downstream calls after outage began": 90,
        "calls before OPEN": 80,
        "seconds to OPEN": 5,
        "achieved rate": 45,
    }
    lines = bench.verdicts(bad)
    missed = [line for line in lines if "MISSED" in line]
    assert len(missed) == 3
    assert "100/s: 80" in missed[0]
    markdown = bench.markdown(bad)
    assert "| this module @ 100/s | 45 | 90 | 80 | 5 |" in markdown


def test_package_sizes_are_the_zips_lambda_tf_builds():
    sizes = bench.package_sizes()
    assert set(sizes) == {"check_circuit", "record_outcome", "alarm_handler"}
    assert all(1_000 < size < 100_000 for size in sizes.values())


def test_figures_go_to_a_folder_that_does_not_exist_yet(tmp_path, capsys):
    # Given an earlier run's figures, and a fresh clone where out/ has never been created
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(report()))
    figures = tmp_path / "out" / "benchmarks.json"
    # When the report is rendered with --json pointing into that folder
    status = bench.main(
        ["--from-json", str(earlier), "--json", str(figures), "--markdown", str(tmp_path / "docs" / "benchmarks.md")]
    )
    # Then the folder is created and the figures written
    assert status == 0
    assert json.loads(figures.read_text()) == report()
    assert f"Figures: {figures}" in capsys.readouterr().out
