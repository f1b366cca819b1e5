"""`circuit-sandbox` end to end, shortened: Terraform's apply of examples/basic, both acts, the chart, the JSON
summary and the destroy."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from circuit_sandbox import cli
from circuit_sandbox.scenario import Options

EVENTS = Path(__file__).parents[1] / "events"

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
    assert re.search(r"terraform: Plan: \d+ to add, 0 to change, 0 to destroy\.", output), output
    assert re.search(r"terraform: Apply complete! Resources: \d+ added", output), output
    assert re.search(r"terraform: Destroy complete! Resources: \d+ destroyed", output), output
    assert "-var 'failure_threshold=3'" in output
    assert "Both acts played as expected." in output
    assert f"Chart: {chart_path}" in output
    assert chart_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A legend first, then rows of executions started and downstream calls by when they ended; the
    # brown-out's slow calls show as running before they end.
    assert "started   executions started" in output and "running   downstream calls still running" in output
    rows = re.findall(r"started +(\d+) +ok +(\d+) +failed +(\d+) +running +(\d+) +short +(\d+) +probe +(\d+)", output)
    assert rows and sum(int(row[0]) for row in rows) > 0
    assert any(int(row[3]) > 0 for row in rows)
    # The summary in plain words, with its units and the keys of the JSON.
    words = " ".join(output.split())
    assert re.search(r"Total outage: the circuit opened \d+\.\d s after it began", words), output
    assert "failure_threshold = 3 failures open it" in words

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

    # Every transition made one circuit event, through the table's stream, the events function and the bus.
    made = Counter(f"{t['from']} -> {t['to']}" for t in summary["transitions"])
    assert summary["circuit_events"] == dict(sorted(made.items()))
    sample = json.loads((EVENTS / "circuit_state_change.json").read_text())
    event = summary["circuit_event_sample"]
    assert event["detail-type"] == sample["detail-type"] and event["source"] == sample["source"]
    assert event["detail"].keys() == sample["detail"].keys()
    assert event["detail"]["state"].keys() == sample["detail"]["state"].keys()
    assert "One circuit event, as a rule's target receives it" in output
    # The example's notification topic: a subscriber got the OPEN and the CLOSED notifications.
    assert any(" is OPEN (was CLOSED)" in m for m in summary["notifications"])
    assert any(" is CLOSED (was " in m for m in summary["notifications"])
    assert summary["stream_deliveries"]["records"] >= len(summary["transitions"])


def test_the_variables_are_values_aws_accepts_and_time_runs_faster_only_in_the_emulator():
    options = Options()
    variables = options.variables()
    for alarm in (variables["downstream_alarm"], variables["healthcheck_alarm"]):
        assert alarm["period"] >= 60 and alarm["period"] % 60 == 0
    assert "healthcheck_schedule_expression" not in variables  # the example's rate(1 minute)
    assert options.alarm_period_wall_seconds == options.alarm_period_seconds / options.time_scale


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--rate", "0"], "--rate must be positive"),
        (["--rate", "500"], "--rate above 200"),
        (["--outage-start", "-1"], "--outage-start must not be negative"),
        (["--failure-threshold", "0"], "--failure-threshold must be positive"),
        (["--alarm-period", "90"], "--alarm-period must be a multiple of 60"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(arguments, message, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(arguments)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
