"""The discrimination simulator: the real circuit code, the real definition, on a virtual clock.

Hours of traffic at 1000 calls/s do not fit in the sandbox, so this runs the same pieces
without the emulator, as a discrete-event simulation:

- the state machine is the rendered definition, run by `circuit_bench.asl` (its Choice rules,
  paths and Catch decide every call's route, not a restatement of them);
- the state check is `Breaker.check`, the outcome recording is record_outcome's parser
  (`circuit_breaker.inputs.parse_outcome`) of the state data the definition passes, then
  `Breaker.record`; the alarm handler's part is `Breaker.on_alarm`. All on a `CircuitStore`
  over `circuit_bench.memory_table` and the virtual clock;
- the downstream alarm is the one Terraform created, as DescribeAlarms returns it, evaluated
  by `circuit_sandbox.aws.cloudwatch` once per period over the downstream's simulated invocations and
  what the breaker counted (its `count`, as the EMF metrics Powertools would publish),
  starting in INSUFFICIENT_DATA as on AWS.

All of it comes from an instance the real Terraform applied into the emulator
(`Deployment.described`): the definition the state machine holds, the environment (Settings)
its functions were deployed with, and the downstream alarm. A `Deployment` is plain data: it is
built once per configuration and sent to the worker processes that simulate with it.

Timing model (assumed, stated in the report): calls arrive as a Poisson process; every task
takes a fixed time (`Latency`); a task that touches the table does so at its start, in global
time order, and Pass/Choice states take no time. Each call's fate (fails or not) is drawn
when it arrives, so the strictly consecutive reference counter sees the same traffic.
A failing downstream call may take longer than a successful one (`Latency.failure`: a timeout).
Read lag (`lag`): an eventually consistent read sees the table as it was at a moment drawn from
the last `lag` seconds; strongly consistent reads and writes see the latest item (the module's
routing reads are all strong, so lag only reaches reads a user's own code might make).
Not modelled: Lambda cold starts and throttles, retries, SNS duplicates and reordering, the
healthcheck.
"""

from __future__ import annotations

import heapq
import io
import itertools
import json
import logging
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aws_lambda_powertools.shared import constants
from botocore.exceptions import ClientError

from circuit_sandbox.aws.cloudwatch import (
    LAMBDA,
    CustomSample,
    Sample,
    datapoints,
    decide,
    function_dimension,
    metric_key,
)
from circuit_sandbox.stack import Stack

from .asl import Finished, StateMachine, Task, TaskFailed
from .costs import billed_steps
from .memory_table import MemoryTable

EPOCH = 1_800_000_000.0  # where virtual time starts (2027-01-15)
DOWNSTREAM_ERROR = "DependencyUnavailable"  # what the example downstream raises
# AWS/Lambda datapoints of a minute are complete some tens of seconds after it ends; standard alarms
# evaluate once a minute. Both are assumptions, printed with the figures.
ALARM_EVALUATION_DELAY = 30.0
NOTIFICATION_DELAY = 1.0  # SNS to the alarm handler
GETITEM = "dynamodb:getItem"
UPDATEITEM = "dynamodb:updateItem"
INVOKE = "lambda:invoke"


@dataclass(frozen=True)
class Latency:
    """Seconds each kind of task takes."""

    read: float = 0.005  # the state machine's GetItem (or its UpdateItem)
    function: float = 0.020  # a module function: state check, outcome recording
    downstream: float = 0.050  # the protected function
    failure: float | None = None  # a failing downstream call, when failures take longer (a timeout); None: as long


@dataclass(frozen=True)
class Outage:
    at: float  # seconds after the run starts
    failure_rate: float  # chance that a call arriving from then on fails


@dataclass
class Path:
    """What the calls that took one route through the definition cost, summed."""

    calls: int = 0
    eventual_reads: int = 0
    strong_reads: int = 0
    writes: int = 0
    invocations: Counter = field(default_factory=Counter)  # by function key
    billed_100ms: int = 0  # EXPRESS bills each execution's duration in 100 ms steps

    def add(self, call: Call) -> None:
        self.calls += 1
        self.eventual_reads += call.eventual_reads
        self.strong_reads += call.strong_reads
        self.writes += call.writes
        invocations = self.invocations
        if call.checks:
            invocations["check_circuit"] += call.checks
        if call.records:
            invocations["record_outcome"] += call.records
        if call.reached_downstream:
            invocations["downstream"] += 1
        self.billed_100ms += billed_steps(call.at - call.started)


@dataclass(slots=True)
class Call:
    """One execution: what it did, when, and what it cost."""

    number: int
    started: float
    fails: bool
    at: float  # the execution's own clock: when its next state starts
    execution: Any = None
    finished: Finished | None = None
    reached_downstream: bool = False
    eventual_reads: int = 0
    strong_reads: int = 0
    writes: int = 0
    checks: int = 0
    records: int = 0

    @property
    def outcome(self) -> Finished:
        """The finished execution; asked only of calls that have finished."""
        if self.finished is None:
            raise RuntimeError(f"call {self.number} has not finished")
        return self.finished

    @property
    def short_circuited(self) -> bool:
        return self.finished is not None and self.finished.states[-1] == "ShortCircuit"

    @property
    def failed_downstream(self) -> bool:
        return self.reached_downstream and self.fails


@dataclass(frozen=True)
class Transition:
    at: float
    from_state: str | None
    to_state: str
    origin: str  # in-band (outcome recording), alarm, check (probe election), operator
    reason: str


class PeriodMetrics:
    """The downstream's AWS/Lambda samples and the breaker's counts, bucketed by period, for
    `circuit_sandbox.aws.cloudwatch.datapoints`."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._buckets: dict[int, list[Sample]] = defaultdict(list)
        self._custom: dict[int, list[CustomSample]] = defaultdict(list)

    def add(self, sample: Sample) -> None:
        self._buckets[int(sample.at // self.period)].append(sample)

    def add_custom(self, sample: CustomSample) -> None:
        self._custom[int(sample.at // self.period)].append(sample)

    def values(self, metric: dict[str, Any], start: float, end: float) -> list[float]:
        namespace, name, dimensions = metric_key(metric)
        indexes = range(int(start // self.period), math.ceil(end / self.period) + 1)
        if namespace != LAMBDA:
            return [
                sample.value
                for index in indexes
                for sample in self._custom.get(index, ())
                if (sample.namespace, sample.name, sample.dimensions) == (namespace, name, dimensions)
                and start <= sample.at < end
            ]
        function = function_dimension(metric["Dimensions"])
        found = []
        for index in indexes:
            for sample in self._buckets.get(index, ()):
                if sample.function == function and start <= sample.at < end:
                    value = sample.value(name)
                    if value is not None:
                        found.append(value)
        return found

    def forget_before(self, moment: float) -> None:
        for buckets in (self._buckets, self._custom):
            for index in [i for i in buckets if (i + 1) * self.period <= moment]:
                del buckets[index]


@contextmanager
def quiet_telemetry() -> Iterator[None]:
    """Silence the circuit code's logs and EMF output (decisions never depend on them)."""
    from circuit_breaker.telemetry import logger

    level = logger.log_level
    logger.setLevel(logging.WARNING)
    try:
        with redirect_stdout(_Discard()):
            yield
    finally:
        logger.setLevel(level)


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


# The functions a call's path or an alarm notification reaches, by their key in the outputs.
SIMULATED_FUNCTIONS = ("check_circuit", "record_outcome", "alarm_handler", "downstream")


@dataclass(frozen=True)
class Deployment:
    """One module instance as Terraform created it, read back through the AWS APIs: what the simulator runs.

    Plain data (picklable): built once per configuration, passed to every worker.
    """

    definition: str  # DescribeStateMachine: the ASL the state machine holds
    machine_type: str  # STANDARD or EXPRESS
    environment: dict[str, str]  # the module functions' environment (GetFunctionConfiguration)
    function_arns: dict[str, str]  # SIMULATED_FUNCTIONS -> ARN
    memory_size: int  # MB, of the module's functions
    downstream_alarm: dict[str, Any] | None  # DescribeAlarms, or None when the instance has none

    @classmethod
    def described(cls, stack: Stack) -> Deployment:
        """Read the instance `stack` drives from the emulator (in this process: the package comes from moto)."""
        configurations = {
            key: stack.lambda_client.get_function_configuration(FunctionName=stack.function_names[key])
            for key in SIMULATED_FUNCTIONS
        }
        machine = stack.sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)
        return cls(
            definition=machine["definition"],
            machine_type=machine["type"],
            environment=dict(configurations["check_circuit"]["Environment"]["Variables"]),
            function_arns={key: configuration["FunctionArn"] for key, configuration in configurations.items()},
            memory_size=int(configurations["check_circuit"]["MemorySize"]),
            downstream_alarm=stack.alarm("downstream") if "downstream" in stack.alarm_names else None,
        )

    def function_name(self, key: str) -> str:
        return self.function_arns[key].rpartition(":")[2]

    @property
    def alarm_name(self) -> str:
        """The downstream alarm's name, as its notifications carry it."""
        if self.downstream_alarm is None:
            raise ValueError("this instance has no downstream alarm")
        return str(self.downstream_alarm["AlarmName"])


class Simulation:
    """One module instance on a virtual clock. Use `traffic` for load, or `call` for one call at a time."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        seed: int = 0,
        latency: Latency = Latency(),
        start: float = EPOCH,
        lag: float = 0.0,
    ) -> None:
        from circuit_breaker.breaker import TRIP_SETTLE_SECONDS, Breaker
        from circuit_breaker.inputs import parse_outcome
        from circuit_breaker.settings import Settings
        from circuit_breaker.store import CircuitStore

        self.deployment = deployment
        self.latency = latency
        self.random = random.Random(seed)
        self.now = start
        self.functions = {arn: key for key, arn in deployment.function_arns.items()}
        self.machine = StateMachine(deployment.definition)
        self.settings = Settings.from_environment(deployment.environment)
        # Eventually consistent reads see the table as it was up to `lag` seconds ago (strong reads: as it is).
        self.table = MemoryTable(
            self.settings.table_name, lag=lag, clock=lambda: self.now, draw=random.Random(seed + 1).random
        )
        self.table.listeners.append(self._transition)
        self.breaker = Breaker(
            self.settings,
            CircuitStore(self.settings.table_name, self.table),
            clock=lambda: self.now,
            jitter=self.random.random,
            count=self._publish,
            defer=self._defer,
        )
        self.trip_settle = TRIP_SETTLE_SECONDS
        self._deferred = 0.0  # how long the outcome function being recorded waits before its trip
        self._recording: Call | None = None  # the call whose outcome the outcome function is recording
        # Where the functions' EMF metrics go: the namespace and service Powertools reads from their environment.
        self._metric_namespace = deployment.environment[constants.METRICS_NAMESPACE_ENV]
        self._service = deployment.environment[constants.SERVICE_NAME_ENV]
        self.parse = partial(parse_outcome, settings=self.settings)
        self.transitions: list[Transition] = []
        self.count_starts: list[float] = []  # when a failure count went from 0 to 1
        # How many times the failure count went up to each value and still stood when a trip there would be decided.
        self.count_reached: Counter[int] = Counter()
        self.paths: dict[tuple[str, ...], Path] = defaultdict(Path)
        self.alarm_handler = Path()  # what applying alarm notifications cost (not per call)
        self.notifications: list[tuple[float, str]] = []
        self.downstream_calls = 0
        self._origin = "operator"
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._numbers = itertools.count()
        self._alarm: dict[str, Any] | None = None
        self._alarm_state = "INSUFFICIENT_DATA"
        self._metrics: PeriodMetrics | None = None
        self._targets: dict[str, str] = {}  # Task state -> what it does (its resource and function are fixed)
        self._outputs: dict[Any, dict] = {}  # state check decisions -> their output
        self._running = 0  # calls started and not finished
        self.keep_calls = False  # keep every Call in `calls` (for small runs)
        self.calls: list[Call] = []

    # ------------------------------------------------------------------ running calls

    def call(self, fails: bool, gap: float = 0.01) -> Call:
        """One call on its own: run it to its end, then let `gap` seconds pass."""
        call = self._start(fails)
        while call.finished is None:
            self._next_event()
        end = max(self.now, call.at)
        while self._events and self._events[0][0] <= end:  # e.g. the trip its outcome function waited for
            self._next_event()
        self.now = end + gap
        return call

    def traffic(
        self,
        rate: float,
        seconds: float,
        background: float,
        outage: Outage | None = None,
        until: Callable[[], bool] | None = None,
    ) -> Traffic:
        """Poisson arrivals for `seconds` (or until `until()` holds), then every call runs to its end."""
        result = Traffic(rate, background, self.now, seconds)
        end = self.now + seconds
        arrival = self.now + self.random.expovariate(rate)
        threshold, run = self.settings.failure_threshold, 0
        while arrival < end and not (until and until()):
            while self._events and self._events[0][0] <= arrival:
                self._next_event()
            self.now = arrival
            failure_rate = outage.failure_rate if outage and arrival - result.started >= outage.at else background
            fails = self.random.random() < failure_rate
            call = self._start(fails)
            result.calls += 1
            if fails:  # the strictly consecutive reference: one counter, in completion order
                run += 1
                if run == threshold:
                    result.reference_trips += 1
                    run = 0
            else:
                run = 0
            result.count(call)
            arrival += self.random.expovariate(rate)
        result.ended = self.now
        while self._running:
            self._next_event()
        result.finish()
        return result

    def arrivals(self, times: list[float], fails: bool | list[bool]) -> list[Call]:
        """Calls arriving at the given moments (a schedule recorded elsewhere, e.g. in the sandbox), all failing or
        not, or each as `fails` says; every call runs to its end."""
        calls = []
        outcomes = fails if isinstance(fails, list) else [fails] * len(times)
        for at, call_fails in sorted(zip(times, outcomes, strict=True)):
            while self._events and self._events[0][0] <= at:
                self._next_event()
            self.now = max(self.now, at)
            calls.append(self._start(call_fails))
        while self._running:
            self._next_event()
        return calls

    def _start(self, fails: bool) -> Call:
        while self._events and self._events[0][0] <= self.now:  # what was due before this call, e.g. a deferred trip
            self._next_event()
        number = next(self._numbers)
        call = Call(number, self.now, fails, self.now)
        call.execution = self.machine.run({}, f"sim:{number}")
        self._running += 1
        if self.keep_calls:
            self.calls.append(call)
        self._drive(call, None, None)
        return call

    def _drive(self, call: Call, result: Any, failure: TaskFailed | None) -> None:
        """Run the execution until it ends or waits for a task that touches the table later."""
        execution = call.execution
        while True:
            try:
                task = execution.throw(failure) if failure is not None else execution.send(result)
            except StopIteration as stop:
                if call.at > self.now:  # its last task still runs, e.g. the outcome function waiting to trip
                    self._schedule(call.at, partial(self._finish, call, stop.value))
                else:
                    self._finish(call, stop.value)
                return
            result = failure = None
            target = self._targets.get(task.state) or self._targets.setdefault(task.state, self._target(task))
            if target == "downstream":  # touches nothing shared: played at its own start time
                try:
                    result = self._downstream(call)
                except TaskFailed as error:
                    failure = error
                slow = self.latency.failure if failure is not None else None
                call.at += slow if slow is not None else self.latency.downstream
                continue
            if call.at > self.now:
                self._schedule(call.at, partial(self._perform, call, task, target))
                return
            try:
                result = self._table_task(call, task, target)
            except TaskFailed as error:
                failure = error

    def _perform(self, call: Call, task: Task, target: str) -> None:
        try:
            result = self._table_task(call, task, target)
        except TaskFailed as error:
            self._drive(call, None, error)
        else:
            self._drive(call, result, None)

    def _target(self, task: Task) -> str:
        if task.resource.endswith(GETITEM):
            return "read"
        if task.resource.endswith(UPDATEITEM):
            return "write"
        if task.resource.endswith(INVOKE):
            function = self.functions.get(task.parameters["FunctionName"])
            if function not in ("check_circuit", "record_outcome", "downstream"):
                raise ValueError(f"state {task.state} invokes {task.parameters['FunctionName']}: not simulated")
            return function
        raise ValueError(f"state {task.state}: the simulator does not perform {task.resource}")

    def _table_task(self, call: Call, task: Task, target: str) -> Any:
        """A task that reads or writes the circuit, at `self.now`; its latency then passes."""
        table = self.table
        before = table.eventual_reads, table.strong_reads, table.writes
        if target == "read":
            result = self.table.get_item(**task.parameters)
            call.at += self.latency.read
        elif target == "write":  # ResetFailures: the state machine's own conditional write
            call.at += self.latency.read
            try:
                result = self.table.update_item(**task.parameters)
            except ClientError as error:
                call.writes += 1
                raise TaskFailed(f"DynamoDB.{error.response['Error']['Code']}", str(error)) from None
        elif target == "check_circuit":
            self._origin = "check"
            decision = self.breaker.check(self.settings.circuit_name, str(task.parameters["Payload"]["caller"]))
            output = self._outputs.get(decision)
            if output is None:  # a Decision is frozen: its output, never changed by anyone, can be shared
                if len(self._outputs) > 10_000:
                    self._outputs.clear()
                output = self._outputs[decision] = decision.to_output()
            result = {"Payload": output, "StatusCode": 200}
            call.at += self.latency.function
            call.checks += 1
        else:  # record_outcome
            self._origin = "in-band"
            outcome = self.parse(task.parameters["Payload"])
            self._deferred, self._recording = 0.0, call
            recorded = self.breaker.record(
                outcome.circuit,
                outcome.generation,
                outcome.probe,
                outcome.error,
                outcome.failures_seen,
                outcome.retry_after,
            )
            result = {"Payload": {"recorded": True, "outcome": recorded}, "StatusCode": 200}
            call.at += self.latency.function + self._deferred
            call.records += 1
        call.eventual_reads += table.eventual_reads - before[0]
        call.strong_reads += table.strong_reads - before[1]
        call.writes += table.writes - before[2]
        return result

    def _downstream(self, call: Call) -> dict:
        call.reached_downstream = True
        self.downstream_calls += 1
        if self._metrics is not None:
            self._metrics.add(
                Sample(
                    call.at,
                    self.deployment.function_name("downstream"),
                    call.fails,
                    False,
                    self.latency.downstream * 1000,
                )
            )
        if call.fails:
            raise TaskFailed(
                DOWNSTREAM_ERROR, json.dumps({"errorType": DOWNSTREAM_ERROR, "errorMessage": "dependency is failing"})
            )
        return {"Payload": {"ok": True}, "StatusCode": 200}

    def _finish(self, call: Call, finished: Finished) -> None:
        call.finished = finished
        self._running -= 1
        self.paths[tuple(finished.states)].add(call)

    # ------------------------------------------------------------------ events

    def _defer(self, seconds: float, then: Callable[[], str]) -> str:
        """The outcome function's wait before a trip, on the virtual clock: the rest of the world goes on meanwhile."""

        call, table = self._recording, self.table

        def later() -> None:  # the function's own step: its reads and writes are its call's
            self._origin = "in-band"
            before = table.eventual_reads, table.strong_reads, table.writes
            then()
            if call is not None:
                call.eventual_reads += table.eventual_reads - before[0]
                call.strong_reads += table.strong_reads - before[1]
                call.writes += table.writes - before[2]

        self._deferred = seconds
        self._schedule(self.now + seconds, later)
        return f"threshold reached: trips in {seconds} s if the count still stands"

    def _schedule(self, at: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (at, next(self._sequence), action))

    def _next_event(self) -> None:
        at, _, action = heapq.heappop(self._events)
        self.now = max(self.now, at)
        action()

    def _transition(self, old: dict | None, new: dict) -> None:
        before = old.get("state", {}).get("S") if old else None
        after = new.get("state", {}).get("S")
        if after is not None and after != before:
            reason = new.get("reason", {}).get("S", "")
            self.transitions.append(Transition(self.now, before, after, self._origin, reason))
        count = _count(new)
        if count > _count(old):
            self._schedule(self.now + self.trip_settle, partial(self._count_stood, new[self.table.key]["S"], count))
            if count == 1:
                self.count_starts.append(self.now)

    def _count_stood(self, key: str, count: int) -> None:
        if _count(self.table.items.get(key)) >= count:
            self.count_reached[count] += 1

    # ------------------------------------------------------------------ the downstream alarm

    def watch_downstream_alarm(self) -> None:
        """Evaluate the module's downstream alarm every period, as CloudWatch does, and deliver its notifications."""
        alarm = self.deployment.downstream_alarm
        if alarm is None:
            return
        self._alarm = alarm
        period = alarm_period(alarm)
        self._metrics = PeriodMetrics(period)
        first = (math.floor(self.now / period) + 1) * period + ALARM_EVALUATION_DELAY
        self._schedule(first, partial(self._evaluate, period))

    def _evaluate(self, period: float) -> None:
        alarm, metrics = self._alarm, self._metrics
        assert alarm is not None and metrics is not None, "evaluated only once the alarm is set up"
        new_state, _ = decide(datapoints(alarm, metrics, self.now), alarm)
        metrics.forget_before(self.now - (alarm["EvaluationPeriods"] + 1) * period)
        if new_state is not None and new_state != self._alarm_state:
            self._alarm_state = new_state
            actions = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
            if alarm.get(actions[new_state]):
                changed_at = int(self.now * 1000)
                self._schedule(self.now + NOTIFICATION_DELAY, partial(self._notify, new_state, changed_at))
        self._schedule(self.now + period, partial(self._evaluate, period))

    def _publish(self, name: str, circuit: str, value: int = 1) -> None:
        """What the breaker counts, as its EMF metric (circuit and service dimensions), while the alarm is watched."""
        if self._metrics is not None:
            dimensions = frozenset({("circuit", circuit), ("service", self._service)})
            self._metrics.add_custom(CustomSample(self.now, self._metric_namespace, name, dimensions, float(value)))

    def _notify(self, state: str, changed_at: int) -> None:
        self.notifications.append((self.now, state))
        self.alarm_notification(self.deployment.alarm_name, state, changed_at)

    def alarm_notification(self, alarm: str, state: str, changed_at: int) -> str:
        """What the alarm handler does with one notification, counted apart from the calls."""
        table, handler = self.table, self.alarm_handler
        before = table.eventual_reads, table.strong_reads, table.writes
        self._origin = "alarm"
        outcome = self.breaker.on_alarm(alarm, state, changed_at)
        handler.calls += 1
        handler.invocations["alarm_handler"] += 1
        handler.eventual_reads += table.eventual_reads - before[0]
        handler.strong_reads += table.strong_reads - before[1]
        handler.writes += table.writes - before[2]
        return outcome

    # ------------------------------------------------------------------ inspection

    def item(self) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeDeserializer

        raw = self.table.get_item(TableName=self.settings.table_name, Key={"id": {"S": self.settings.circuit_name}})
        self.table.eventual_reads -= 1  # looking is not part of the traffic
        deserialize = TypeDeserializer().deserialize
        return {key: deserialize(value) for key, value in raw.get("Item", {}).items()}

    def trips(self, since: float = -math.inf) -> list[Transition]:
        """CLOSED (or no record) -> OPEN: a trip. HALF_OPEN -> OPEN is a reopen, not counted."""
        return [
            t for t in self.transitions if t.to_state == "OPEN" and t.from_state in (None, "CLOSED") and t.at >= since
        ]


def alarm_period(alarm: dict[str, Any]) -> int:
    """An alarm's period in seconds: its own, or its metric queries' (metric math)."""
    if alarm.get("Metrics"):
        return int(next(query["MetricStat"]["Period"] for query in alarm["Metrics"] if "MetricStat" in query))
    return int(alarm["Period"])


def _count(item: dict | None) -> int:
    return int(item["failure_count"]["N"]) if item and "failure_count" in item else 0


@dataclass
class Traffic:
    """What one `Simulation.traffic` run saw."""

    rate: float
    background: float
    started: float
    seconds: float
    ended: float = 0.0
    calls: int = 0
    short_circuited: int = 0
    reached_downstream: int = 0
    failed_downstream: int = 0
    reference_trips: int = 0
    _pending: list[Call] = field(default_factory=list)

    def count(self, call: Call) -> None:
        if call.finished is None:
            self._pending.append(call)
        else:
            self._add(call)

    def _add(self, call: Call) -> None:
        self.short_circuited += call.short_circuited
        self.reached_downstream += call.reached_downstream
        self.failed_downstream += call.failed_downstream

    def finish(self) -> None:
        for call in self._pending:
            self._add(call)
        self._pending.clear()

    @property
    def hours(self) -> float:
        return (self.ended - self.started) / 3600
