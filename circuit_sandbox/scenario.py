"""The sandbox: the module's real state machine and handlers, driven through an outage and back.

`running` starts the emulator, the process runner, the alarm evaluator and the healthcheck
schedule, and has the real Terraform apply `examples/basic` into it (`circuit_sandbox.terraform`),
with the scenario's settings as the example's variables. `Recorder` turns what the runner
sees into a timeline: calls, outcomes, probes, and the transitions the handlers log.
`play` runs the scenario in two acts:

1. healthy traffic -> total outage -> in-band trip after `failure_threshold` failures ->
   fast failures -> healthcheck alarm (vetoes probes) -> outage over -> healthcheck alarm
   OK -> CLOSED;
2. healthy traffic -> brown-out (every call succeeds, slowly; the healthcheck passes, and
   no failure is counted) -> downstream Duration alarm -> OPEN -> brown-out over -> probe
   -> CLOSED.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from circuit_breaker.model import Attr

from .aws import REGION, Emulator, emulator
from .aws.eventbridge import TopicObserver
from .aws.runner import Invocation
from .circuit_events import CircuitEventObserver
from .stack import Stack, applied, destroyed

STATES = ("CLOSED", "HALF_OPEN", "OPEN")


@dataclass
class Options:
    """What a user can change from the command line.

    Alarm periods and the schedule keep values AWS accepts; the emulator runs their time
    `time_scale` times faster than the calls' (a 120 s period lasts 2 s at 60), so a run
    takes about a minute after the apply. Durations and the open duration are real seconds.
    """

    rate: float = 10.0  # executions started per second
    warmup_seconds: float = 3.0  # healthy traffic before each act
    outage_seconds: float = 12.0  # act 1: total outage
    brownout_seconds: float = 20.0  # act 2: longest brown-out (it ends soon after the trip)
    slow_seconds: float = 2.0  # act 2: how long each downstream call takes
    failure_threshold: int = 3
    open_duration_seconds: float = 4.0
    max_open_duration_seconds: float = 16.0
    alarm_period_seconds: int = 120  # as on AWS: a multiple of 60
    time_scale: float = 60.0
    max_environments: int = 10

    @property
    def warm_environments(self) -> int:
        """Environments started before the scenario, per function on a call's path: about half a second of calls."""
        return min(self.max_environments, max(2, math.ceil(self.rate / 2)))

    @property
    def alarm_period_wall_seconds(self) -> float:
        return self.alarm_period_seconds / self.time_scale

    def variables(self) -> dict[str, Any]:
        """examples/basic's variables for this run (`-var`); what is not set keeps the example's default."""
        period = self.alarm_period_seconds
        return {
            "region": REGION,
            "name": "sandbox",
            "failure_threshold": self.failure_threshold,
            "open_duration_seconds": self.open_duration_seconds,
            "max_open_duration_seconds": self.max_open_duration_seconds,
            # On latency: act 2's brown-out has no failures for the in-band count to see.
            "downstream_alarm": {
                "metric_name": "Duration",
                "statistic": "p90",
                "period": period,
                "evaluation_periods": 3,
                "datapoints_to_alarm": 2,
                "threshold": self.slow_seconds * 750,
                "comparison_operator": "GreaterThanThreshold",
            },
            # Two failing periods of twice the downstream's, not the module's one minute: on AWS the
            # in-band count has a minute to trip a total outage first; compressed, it keeps 8 s or more,
            # enough for its round trips on a busy machine.
            "healthcheck_alarm": {"period": 2 * period, "evaluation_periods": 2, "datapoints_to_alarm": 2},
            "slow_seconds": self.slow_seconds,
        }


# ---------------------------------------------------------------------------- observing


@dataclass
class Transition:
    at: float  # seconds since the scenario started
    from_state: str
    to_state: str
    reason: str
    generation: int

    def to_json(self) -> dict[str, Any]:
        return {
            "at": round(self.at, 3),
            "from": self.from_state,
            "to": self.to_state,
            "reason": self.reason,
            "generation": self.generation,
        }


@dataclass
class Second:
    """One second of the timeline: executions started, and downstream calls by when they ended."""

    executions: int = 0  # executions started in this second
    succeeded: int = 0  # downstream calls that ended in this second, succeeding
    failed: int = 0  # ... failing
    in_flight: int = 0  # downstream calls started by the end of this second and still running then
    short_circuited: int = 0  # executions the breaker short-circuited in this second
    probes: int = 0  # executions admitted as the probe in this second
    calls: int = 0  # state checks (the module's check_circuit) in this second
    state: str = ""
    events: list[str] = field(default_factory=list)


class Recorder:
    """Listens to the runner and the alarm evaluator; keeps what happened, second by second."""

    def __init__(self, function_names: dict[str, str], alarm_names: dict[str, str], started: float) -> None:
        self.started = started
        self.calls: list[tuple[float, str]] = []  # (at, call | probe | short_circuit)
        self.downstream: list[tuple[float, float, bool]] = []  # (started at, ended at, succeeded)
        self.downstream_started: list[float] = []  # when each downstream call started, ended or not
        self.executions: list[float] = []  # when each execution was started
        self.transitions: list[Transition] = []
        self.alarms: list[tuple[float, str, str, str]] = []  # (at, role, old, new)
        self.phases: list[tuple[float, str]] = []
        self.state = "CLOSED"
        self._lock = threading.Lock()
        self.observed_events: CircuitEventObserver | None = None  # the circuit events arriving on the bus, if any
        self._names = {name: key for key, name in function_names.items()}
        self._roles = {name: role for role, name in alarm_names.items()}

    def since(self, at: float) -> float:
        return at - self.started

    def phase(self, name: str) -> None:
        with self._lock:
            self.phases.append((self.since(time.time()), name))

    def on_invocation(self, invocation: Invocation) -> None:
        key = self._names.get(invocation.function)
        at = self.since(invocation.started_at)
        with self._lock:
            if key == "check_circuit" and invocation.error_type is None:
                decision = invocation.response()
                kind = (
                    "short_circuit"
                    if decision["action"] == "short_circuit"
                    else ("probe" if decision.get("probe") else "call")
                )
                self.calls.append((at, kind))
            elif key == "downstream":
                self.downstream.append((at, at + invocation.duration_ms / 1000, invocation.error_type is None))
            for line in invocation.logs.splitlines():
                self._read_log(line)

    def on_invocation_started(self, function: str, started_at: float) -> None:
        if self._names.get(function) == "downstream":
            with self._lock:
                self.downstream_started.append(self.since(started_at))

    def on_execution_started(self) -> None:
        with self._lock:
            self.executions.append(self.since(time.time()))

    def on_alarm(self, at: float, alarm: str, old: str, new: str) -> None:
        role = self._roles.get(alarm, alarm)
        with self._lock:
            self.alarms.append((self.since(at), role, old, new))

    def _read_log(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return
        if not isinstance(entry, dict) or entry.get("message") != "circuit transition":
            return
        try:
            at = datetime.strptime(entry["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z").timestamp()
        except (KeyError, ValueError):
            at = time.time()
        self.transitions.append(
            Transition(
                self.since(at),
                entry["from_state"],
                entry["to_state"],
                entry.get("reason", ""),
                int(entry.get("generation", 0)),
            )
        )
        self.transitions.sort(key=lambda t: (t.generation, t.at))
        self.state = self.transitions[-1].to_state

    def seconds(self, until: float | None = None) -> list[Second]:
        """The timeline in one-second rows, up to `until` seconds (default: now)."""
        with self._lock:
            end = self.since(time.time()) if until is None else until
            rows = [Second() for _ in range(max(0, int(end)) + 1)]

            def row(at: float) -> Second | None:
                return rows[int(at)] if 0 <= at < len(rows) else None

            for at, kind in self.calls:
                if (r := row(at)) is not None:
                    r.calls += 1
                    r.short_circuited += kind == "short_circuit"
                    r.probes += kind == "probe"
            for at in self.executions:
                if (r := row(at)) is not None:
                    r.executions += 1
            for _, ended, ok in self.downstream:
                if (r := row(ended)) is not None:
                    r.succeeded += ok
                    r.failed += not ok
            for index, r in enumerate(rows):
                end_of_second = index + 1
                started = sum(at < end_of_second for at in self.downstream_started)
                r.in_flight = max(0, started - sum(ended < end_of_second for _, ended, _ in self.downstream))
            state, events = (
                "CLOSED",
                sorted(
                    [(t.at, f"{t.from_state} → {t.to_state}: {t.reason}") for t in self.transitions]
                    + [
                        (at, f"{role} alarm {old} → {new}")
                        for at, role, old, new in self.alarms
                        if old != "INSUFFICIENT_DATA"
                    ]
                    + [(at, f"▶ {name}") for at, name in self.phases]
                    + [
                        (
                            self.since(arrival.at),
                            f"✉ event {arrival.body['detail']['previousStatus']} → {arrival.body['detail']['status']}",
                        )
                        for arrival in (self.observed_events.arrivals if self.observed_events else [])
                    ]
                ),
            )
            transitions = sorted(self.transitions, key=lambda t: t.at)
            for index, r in enumerate(rows):
                for t in transitions:
                    if t.at < index + 1:
                        state = t.to_state
                r.state = state
            for at, text in events:
                if (r := row(at)) is not None:
                    r.events.append(text)
            return rows


# ---------------------------------------------------------------------------- running


@dataclass
class Sandbox:
    """A running emulator with examples/basic applied into it."""

    emulator: Emulator
    stack: Stack
    recorder: Recorder
    events: CircuitEventObserver | None = None  # the circuit events, as a rule's target receives them
    notifications: TopicObserver | None = None  # the notification topic, as a subscriber receives it

    @property
    def endpoint(self) -> str:
        return self.emulator.endpoint


@contextmanager
def running(
    options: Options, echo: Callable[[str], None], port: int = 0, destroy: Callable[[], bool] = lambda: True
) -> Iterator[Sandbox]:
    """The emulator with examples/basic applied for `options`, recorded from now on.

    On exit Terraform destroys what it applied, if `destroy()` says so then.
    """
    variables = options.variables()
    with emulator(options.max_environments, options.alarm_period_wall_seconds / 4, port, options.time_scale) as emu:
        stack = applied(emu, variables, echo, options.warm_environments)
        try:
            recorder = Recorder(stack.function_names, stack.alarm_names, time.time())
            emu.runner.listeners.append(recorder.on_invocation)
            emu.runner.start_listeners.append(recorder.on_invocation_started)
            emu.evaluator.listeners.append(
                lambda change: recorder.on_alarm(change.at, change.alarm, change.old_state, change.new_state)
            )
            with ExitStack() as observers:
                events = notifications = None
                if "circuit_events" in stack.function_names:
                    events = observers.enter_context(
                        CircuitEventObserver.of_function(stack.function_names["circuit_events"]).running()
                    )
                    recorder.observed_events = events
                if stack.notification_topic_arn:
                    notifications = observers.enter_context(TopicObserver(stack.notification_topic_arn).running())
                yield Sandbox(emu, stack, recorder, events, notifications)
        finally:
            if destroy():
                destroyed(emu, variables, echo)


class Traffic:
    """Starts executions at a steady rate from a background thread.

    A start the emulator cannot take on time is skipped rather than queued (counted in
    `skipped`): on a busy machine a growing backlog would otherwise start executions long after
    the phase they belong to. With `max_in_flight`, a start is also skipped while that many
    executions are still running, as a client with a bounded pool would.
    """

    WORKERS = 8

    def __init__(
        self,
        stack: Stack,
        rate: float,
        max_in_flight: int | None = None,
        on_start: Callable[[], None] = lambda: None,
    ) -> None:
        self.stack, self.rate, self.max_in_flight, self.on_start = stack, rate, max_in_flight, on_start
        self.started = self.skipped = 0
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=self.WORKERS, thread_name_prefix="traffic")
        self._slots = threading.BoundedSemaphore(2 * self.WORKERS)
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def _saturated(self) -> bool:
        if self.max_in_flight is None:
            return False
        running = self.stack.sfn.list_executions(
            stateMachineArn=self.stack.state_machine_arn, statusFilter="RUNNING", maxResults=self.max_in_flight
        )["executions"]
        return len(running) >= self.max_in_flight

    def _start(self, request: int) -> None:
        try:
            self.stack.start({"request": request})
            self.on_start()
        finally:
            self._slots.release()

    def _run(self) -> None:
        interval, next_at = 1 / self.rate, time.monotonic()
        while not self._stop.is_set():
            if not self._saturated() and self._slots.acquire(blocking=False):
                self._pool.submit(self._start, self.started)
                self.started += 1
            else:
                self.skipped += 1
            next_at += interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def play(sandbox: Sandbox, options: Options, on_tick: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Run both acts; return the summary."""
    stack, recorder = sandbox.stack, sandbox.recorder
    period = options.alarm_period_wall_seconds
    healthcheck_alarm = Attr.alarm_state("healthcheck")

    def item() -> dict[str, Any]:
        return stack.item()

    def state() -> str:
        return item().get(Attr.STATE, "CLOSED")

    def hold(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            on_tick()
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def until(condition: Callable[[], bool], timeout: float) -> bool:
        def ticked() -> bool:
            on_tick()
            return condition()

        return wait_for(ticked, timeout)

    marks: dict[str, float] = {}
    # A call takes slow_seconds at most: at most that many seconds of calls run at once.
    with Traffic(
        stack,
        options.rate,
        max_in_flight=math.ceil(options.rate * (options.slow_seconds + 1)),
        on_start=recorder.on_execution_started,
    ) as traffic:
        recorder.phase("act 1: healthy traffic")
        hold(options.warmup_seconds)
        recorder.phase("total outage: downstream and healthcheck fail")
        marks["outage"] = recorder.since(time.time())
        stack.set_health("failing")
        hold(options.outage_seconds)
        # The outage lasts until the healthcheck alarm holds the circuit open, however slow the machine.
        alarm = stack.alarm("healthcheck")
        until(
            lambda: item().get(healthcheck_alarm) == "ALARM",
            10 * alarm["EvaluationPeriods"] * alarm["Period"] / sandbox.emulator.time_scale,
        )
        recorder.phase("outage over")
        stack.set_health("healthy")
        until(lambda: state() == "CLOSED", 4 * 2 * period + options.max_open_duration_seconds)

        recorder.phase("act 2: healthy traffic")
        hold(options.warmup_seconds)
        recorder.phase(f"brown-out: every call takes {options.slow_seconds:g} s, healthcheck passes")
        marks["brownout"] = recorder.since(time.time())
        stack.set_health("slow")
        until(lambda: state() == "OPEN", max(options.brownout_seconds, 10 * period))
        hold(1.0)
        recorder.phase("brown-out over")
        stack.set_health("healthy")
        until(lambda: state() == "CLOSED", options.max_open_duration_seconds + 4 * period)
        # Traffic stops once the circuit is closed: on a busy machine, calls that are slow only because
        # the machine is would otherwise trip the Duration alarm again.
        calls_started, calls_skipped = traffic.started, traffic.skipped
    hold(2.0)  # let the last executions finish
    if sandbox.events is not None:
        # Every transition's event, through the stream, the events function and the bus: bounded by a
        # retried stream batch's worth of polls.
        sandbox.events.wait_for(len(recorder.transitions), timeout=10 + 4 * period)
    if sandbox.notifications is not None:
        sandbox.notifications.drain()
    summary = summarize(recorder, marks, calls_started, state(), sandbox, options)
    summary["executions_skipped_machine_busy"] = calls_skipped
    return summary


def summarize(
    recorder: Recorder,
    marks: dict[str, float],
    calls_started: int,
    final_state: str,
    sandbox: Sandbox,
    options: Options,
) -> dict[str, Any]:
    transitions = sorted(recorder.transitions, key=lambda t: t.at)
    outage = marks.get("outage", 0.0)
    opened = next((t.at for t in transitions if t.to_state == "OPEN" and t.at >= outage), None)
    hc_ok = next(
        (at for at, role, old, new in recorder.alarms if role == "healthcheck" and old == "ALARM" and new == "OK"), None
    )
    closed_after_ok = next(
        (t.at for t in transitions if t.to_state == "CLOSED" and hc_ok is not None and t.at >= hc_ok - 0.001), None
    )
    next_act = marks.get("brownout", float("inf"))
    before_open = [at for at, _, _ in recorder.downstream if outage <= at and (opened is None or at <= opened)]
    after_open = [at for at, _, ok in recorder.downstream if opened is not None and opened < at < next_act and not ok]
    stack = sandbox.stack
    return {
        "transitions": [t.to_json() for t in transitions],
        "calls_total": len(recorder.calls),
        "executions_started": calls_started,
        "short_circuited": sum(kind == "short_circuit" for _, kind in recorder.calls),
        "downstream_calls_after_outage_before_open": len(before_open),
        "downstream_failures_after_open_in_flight": len(after_open),
        "seconds_outage_to_open": None if opened is None else round(opened - outage, 3),
        "probes_admitted": sum(kind == "probe" for _, kind in recorder.calls),
        "seconds_healthcheck_ok_to_closed": (
            None if closed_after_ok is None or hc_ok is None else round(closed_after_ok - hc_ok, 3)
        ),
        "final_state": final_state,
        "alarm_changes": [
            {"at": round(at, 3), "alarm": stack.alarm_names.get(role, role), "from": old, "to": new}
            for at, role, old, new in recorder.alarms
        ],
        "healthcheck_runs": sandbox.emulator.scheduler.runs,
        "alarm_evaluations": sandbox.emulator.evaluator.evaluations,
        "execution_environments": {
            key: sandbox.emulator.runner.environment_count(name) for key, name in stack.function_names.items()
        },
        "circuit_events": None if sandbox.events is None else sandbox.events.to_json(),
        "circuit_event_sample": None if sandbox.events is None else next(iter(sandbox.events.events), None),
        "notifications": None if sandbox.notifications is None else sandbox.notifications.messages,
        "stream_deliveries": None if sandbox.emulator.pump is None else sandbox.emulator.pump.counts.to_json(),
        "terraform_variables": options.variables(),
        "options": asdict(options),
    }
