"""`circuit-sandbox` end to end, shortened: both acts, the chart and the JSON summary."""

from __future__ import annotations

import json

import pytest

from sandbox import cli
from sandbox.scenario import Options, differences_from_defaults
from sandbox.stack import ModuleConfig

SUMMARY_KEYS = {
    "transitions",
    "calls_total",
    "short_circuited",
    "downstream_calls_after_outage_before_open",
    "probes_admitted",
    "seconds_healthcheck_ok_to_closed",
    "final_state",
}


def test_the_scenario_plays_both_acts_and_reports_them(tmp_path, capsys):
    summary_path, chart_path = tmp_path / "summary.json", tmp_path / "chart.png"
    status = cli.main(
        [
            "--rate",
            "6",
            "--outage-start",
            "1.5",
            # Long enough for calls admitted after the first counted failure to count the rest: the
            # first wave, in flight together when the outage begins, starts the count and adds nothing.
            "--outage-seconds",
            "12",
            "--failure-threshold",
            "3",
            "--open-duration",
            "2",
            "--json",
            str(summary_path),
            "--chart",
            str(chart_path),
        ]
    )
    output = capsys.readouterr().out
    assert status == 0, output
    assert "Both acts played as expected." in output
    assert f"Chart: {chart_path}" in output
    assert chart_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    summary = json.loads(summary_path.read_text())
    assert summary.keys() >= SUMMARY_KEYS
    assert all(set(t) >= {"at", "from", "to", "reason"} for t in summary["transitions"])
    reasons = [t["reason"] for t in summary["transitions"] if t["to"] == "OPEN"]
    assert reasons[0] == "3 consecutive failures (last: DependencyUnavailable)"
    assert any(r.startswith("downstream alarm sandbox-downstream") for r in reasons)
    assert summary["downstream_calls_after_outage_before_open"] >= 3  # the threshold; calls in flight add to it
    assert summary["probes_admitted"] >= 1
    assert summary["seconds_healthcheck_ok_to_closed"] is not None
    assert summary["final_state"] == "CLOSED"
    assert summary["short_circuited"] > 0
    assert summary["calls_total"] >= summary["short_circuited"] + summary["probes_admitted"]


def test_the_output_names_every_setting_that_differs_from_the_module_defaults():
    differences = differences_from_defaults(Options().module_config())
    assert "open_duration_seconds = 4.0 (module default: 30)" in differences
    assert "downstream_alarm.period = 2 (module default: 60)" in differences
    assert "healthcheck_schedule_expression = rate(1 second) (module default: rate(1 minute))" in differences
    assert differences_from_defaults(ModuleConfig()) == []


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--rate", "0"], "--rate must be positive"),
        (["--rate", "500"], "--rate above 200"),
        (["--outage-start", "-1"], "--outage-start must not be negative"),
        (["--failure-threshold", "0"], "--failure-threshold must be positive"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(arguments, message, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(arguments)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
