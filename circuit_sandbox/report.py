"""How the sandbox shows a run: a live timeline in the terminal, a PNG chart and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .scenario import STATES, Recorder, Second

STATE_STYLE = {"CLOSED": "green", "HALF_OPEN": "yellow", "OPEN": "red"}
STATE_COLOUR = {"CLOSED": "#2e7d32", "HALF_OPEN": "#f9a825", "OPEN": "#c62828"}


LEGEND = (
    "Each row is one second of the scenario, with the circuit's state at its end:\n"
    "  started   executions started (the callers' requests)\n"
    "  ok/failed downstream calls that ended that second, by outcome\n"
    "  running   downstream calls still running at the second's end\n"
    "  short     executions short-circuited: the downstream was not called\n"
    "  probe     executions admitted as the probe of an OPEN circuit\n"
    "  ▶ a phase of the scenario   ✉ a circuit event arriving on the bus\n"
    "  alarm X → Y: a CloudWatch alarm changed state"
)


def row_text(at: int, second: Second) -> Text:
    text = Text(f"{at:>4}s ")
    text.append(f"{second.state:<9}", style=f"bold {STATE_STYLE.get(second.state, 'white')}")
    text.append(
        f" started {second.executions:>3} ok {second.succeeded:>3} failed {second.failed:>3} "
        f"running {second.in_flight:>3} short {second.short_circuited:>3} probe {second.probes:>2}"
    )
    for event in second.events:
        text.append(f"\n        {event}", style="bold cyan" if event.startswith("▶") else "magenta")
    return text


class LiveTimeline:
    """Prints each completed second as a row, with the current state in a live status line below."""

    def __init__(self, recorder: Recorder, console: Console) -> None:
        self.recorder = recorder
        self.console = console
        self.printed = 0
        self.live = Live(Text(""), console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> LiveTimeline:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.tick(final=True)
        self.live.__exit__(*exc)

    def tick(self, final: bool = False) -> None:
        rows = self.recorder.seconds()
        complete = len(rows) if final else len(rows) - 1
        for at in range(self.printed, complete):
            self.live.console.print(row_text(at, rows[at]), soft_wrap=True)
        self.printed = max(self.printed, complete)
        state = self.recorder.state
        status = Text("  now: ")
        status.append(state, style=f"bold {STATE_STYLE.get(state, 'white')}")
        status.append(f"   executions started {len(self.recorder.executions)}")
        self.live.update(status)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """What happened, in plain words with units (the keys of --json in brackets)."""
    threshold = summary["terraform_variables"]["failure_threshold"]
    reached, opened = summary["downstream_calls_after_outage_before_open"], summary["seconds_outage_to_open"]
    lines = [
        f"{summary['executions_started']} executions started; the breaker short-circuited "
        f"{summary['short_circuited']} of them and admitted {summary['probes_admitted']} as probes "
        "[executions_started, short_circuited, probes_admitted].",
    ]
    if opened is None:
        lines.append("The total outage did not open the circuit.")
    else:
        lines.append(
            f"Total outage: the circuit opened {opened:.1f} s after it began [seconds_outage_to_open]. "
            f"{reached} downstream calls started in between [downstream_calls_after_outage_before_open]: "
            f"failure_threshold = {threshold} failures open it, and the calls already running when the "
            f"{_ordinal(threshold)} failure came back (each takes a round trip, at "
            f"{summary['options']['rate']:g} executions/s) reach the downstream too. "
            f"{summary['downstream_failures_after_open_in_flight']} more failed after it opened: they had started "
            "before [downstream_failures_after_open_in_flight]."
        )
    recovered = summary["seconds_healthcheck_ok_to_closed"]
    lines.append(
        "Recovery: the healthcheck alarm's return to OK "
        + ("did not close the circuit." if recovered is None else f"closed the circuit {recovered:.1f} s later")
        + " [seconds_healthcheck_ok_to_closed]."
    )
    lines.append(f"The circuit ended {summary['final_state']} [final_state].")
    environments = ", ".join(f"{k} {v}" for k, v in summary["execution_environments"].items())
    lines.append(f"Lambda execution environments started per function: {environments}.")
    if skipped := summary.get("executions_skipped_machine_busy"):
        lines.append(f"{skipped} executions were skipped: this machine could not keep up with --rate.")
    return lines


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    console.rule("Summary")
    for line in summary_lines(summary):
        console.print(line, markup=False)
    transitions = Table(title="Transitions", title_justify="left")
    for column in ("at (s)", "from", "to", "reason"):
        transitions.add_column(column)
    for t in summary["transitions"]:
        transitions.add_row(f"{t['at']:.1f}", t["from"], Text(t["to"], style=STATE_STYLE.get(t["to"], "")), t["reason"])
    console.print(transitions)


def chart(recorder: Recorder, summary: dict[str, Any], path: Path) -> Path:
    """State and outcomes over time, with the phases and alarm states shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = recorder.seconds()
    end = len(rows)
    seconds = list(range(end))
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(13, 7.5), sharex=True, gridspec_kw={"height_ratios": [1.1, 1.6]}
    )
    figure.suptitle("Circuit breaker sandbox: state and calls over time", fontsize=14, fontweight="bold")
    top.set_title(
        f"after the outage began, {summary['downstream_calls_after_outage_before_open']} downstream calls "
        f"before OPEN · probes admitted: {summary['probes_admitted']} · healthcheck OK → CLOSED in "
        f"{summary['seconds_healthcheck_ok_to_closed']} s · final state {summary['final_state']}",
        fontsize=9.5,
        color="#37474f",
    )

    # Top: the circuit state as a step line, from the transitions the handlers logged, coloured by state.
    level = {state: index for index, state in enumerate(STATES)}
    times, states = [0.0], ["CLOSED"]
    for t in summary["transitions"]:
        times.append(t["at"])
        states.append(t["to"])
    times.append(float(end))
    for index, (start, stop, state) in enumerate(zip(times, times[1:], states, strict=False)):
        top.plot([start, stop], [level[state]] * 2, color=STATE_COLOUR[state], linewidth=4, solid_capstyle="butt")
        if index:
            top.plot([start, start], [level[states[index - 1]], level[state]], color="#424242", linewidth=1)
    top.set_yticks(range(len(STATES)), STATES)
    top.set_ylim(-0.8, len(STATES) - 0.3)
    top.set_ylabel("circuit state")
    offsets = label_offsets(summary["transitions"], end)
    for t, offset in zip(summary["transitions"], offsets, strict=True):
        text = _short_reason(t["reason"])
        top.annotate(
            text,
            (t["at"], level[t["to"]]),
            xytext=(4, offset),
            textcoords="offset points",
            fontsize=8,
            color="#263238",
        )
    # Alarm states as bars under the state line.
    for role, y, colour in (("downstream", -0.45, "#ef6c00"), ("healthcheck", -0.65, "#6a1b9a")):
        for start, stop in _alarm_spans(summary, role, end):
            top.plot([start, stop], [y, y], color=colour, linewidth=5, solid_capstyle="butt")
            top.annotate(
                f"{role} alarm", (start, y), xytext=(0, 4), textcoords="offset points", fontsize=7.5, color=colour
            )

    # Bottom: outcomes per second.
    ok = [r.succeeded for r in rows]
    failed = [r.failed for r in rows]
    short = [r.short_circuited for r in rows]
    probes = [r.probes for r in rows]
    bottom.bar(seconds, ok, width=0.9, align="edge", color="#66bb6a", label="downstream succeeded")
    bottom.bar(seconds, failed, width=0.9, align="edge", bottom=ok, color="#e53935", label="downstream failed")
    bottom.bar(
        seconds,
        short,
        width=0.9,
        align="edge",
        bottom=[a + b for a, b in zip(ok, failed, strict=False)],
        color="#9e9e9e",
        label="short-circuited (no downstream call)",
    )
    probe_x = [s + 0.45 for s, p in zip(seconds, probes, strict=False) if p]
    probe_y = [a + b + c + 0.6 for a, b, c, p in zip(ok, failed, short, probes, strict=False) if p]
    bottom.scatter(probe_x, probe_y, marker="v", color="#1565c0", zorder=3, label="probe admitted")
    bottom.set_ylabel("calls per second")
    bottom.set_ylim(0, max([a + b + c for a, b, c in zip(ok, failed, short, strict=False)] + [1]) * 1.3)
    bottom.set_xlabel("seconds since start")

    # Phases shaded on both panels.
    phases = [(at, name) for at, name in recorder.phases]
    for (start, name), (stop, _) in zip(phases, [*phases[1:], (float(end), "")], strict=False):
        if ":" in name and not name.startswith("act"):
            for axis in (top, bottom):
                axis.axvspan(
                    start, stop, color="#ffcdd2" if "outage" in name else "#ffe0b2", alpha=0.45, linewidth=0, zorder=0
                )
        bottom.annotate(
            name.split(":")[0],
            (start, 1),
            xycoords=("data", "axes fraction"),
            xytext=(2, -12),
            textcoords="offset points",
            fontsize=8,
            color="#37474f",
        )
    handles, labels = bottom.get_legend_handles_labels()
    handles += [
        Patch(color="#ffcdd2", alpha=0.6),
        Patch(color="#ffe0b2", alpha=0.6),
        Patch(color="#6a1b9a"),
        Patch(color="#ef6c00"),
    ]
    labels += [
        "total outage",
        "brown-out (slow calls, no failures)",
        "healthcheck alarm in ALARM",
        "downstream alarm in ALARM",
    ]
    bottom.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=4, fontsize=8.5, frameon=False)
    bottom.set_xlim(0, end)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _alarm_spans(summary: dict[str, Any], role: str, end: float) -> list[tuple[float, float]]:
    spans, opened = [], None
    for change in summary["alarm_changes"]:
        if not change["alarm"].endswith(f"-{role}"):
            continue
        if change["to"] == "ALARM" and opened is None:
            opened = change["at"]
        elif change["to"] != "ALARM" and opened is not None:
            spans.append((opened, change["at"]))
            opened = None
    if opened is not None:
        spans.append((opened, end))
    return spans


def label_offsets(transitions: list[dict[str, Any]], end: float) -> list[int]:
    """Where each transition's reason goes, in points above its state's line: above it, or below it (then higher
    up) when an earlier reason there would overlap. At fontsize 8 the axis holds about 240 characters."""
    level = {state: index for index, state in enumerate(STATES)}
    seconds_per_character = max(end, 1) / 240
    taken: dict[tuple[int, int], float] = {}  # (level, offset) -> where the last reason there ends
    offsets = []
    for t in transitions:
        row = level[t["to"]]
        offset = next((y for y in (5, -11, 15) if taken.get((row, y), -1.0) < t["at"]), 5)
        taken[row, offset] = t["at"] + (len(_short_reason(t["reason"])) + 2) * seconds_per_character
        offsets.append(offset)
    return offsets


def _short_reason(reason: str) -> str:
    return reason if len(reason) <= 52 else reason[:49] + "..."
