"""circuit_sandbox.report: the demo's chart labels and its summary in plain words."""

from circuit_sandbox.report import label_offsets, summary_lines


def transition(at, to, reason):
    return {"at": at, "to": to, "reason": reason}


def test_a_reason_that_would_overlap_the_one_before_on_its_line_goes_below_it():
    transitions = [
        transition(4.6, "OPEN", "3 consecutive failures (last: DependencyUnavailable)"),
        transition(8.7, "HALF_OPEN", "open duration elapsed; probing"),
        transition(9.5, "OPEN", "probe failed (DependencyUnavailable)"),  # 5 s after the first OPEN label
        transition(31.4, "OPEN", "downstream alarm sandbox-downstream in ALARM"),  # far enough: above again
    ]
    assert label_offsets(transitions, end=42) == [5, 5, -11, 5]


def test_the_summary_says_why_more_calls_than_the_threshold_reached_the_dependency():
    summary = {
        "terraform_variables": {"failure_threshold": 3},
        "options": {"rate": 10.0},
        "executions_started": 283,
        "short_circuited": 184,
        "probes_admitted": 2,
        "downstream_calls_after_outage_before_open": 10,
        "downstream_failures_after_open_in_flight": 2,
        "seconds_outage_to_open": 1.23,
        "seconds_healthcheck_ok_to_closed": None,
        "final_state": "CLOSED",
        "execution_environments": {"downstream": 10},
    }
    text = " ".join(summary_lines(summary))
    assert "283 executions started; the breaker short-circuited 184 of them and admitted 2 as probes" in text
    assert "the circuit opened 1.2 s after it began" in text
    assert "10 downstream calls started in between" in text and "failure_threshold = 3 failures open it" in text
    assert "the 3rd failure came back" in text and "2 more failed after it opened" in text
    assert "did not close the circuit" in text
