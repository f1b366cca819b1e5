"""CloudWatch as the module sees it: `AWS/Lambda` metrics, alarm evaluation and notifications.

moto stores metric alarms but never evaluates them. Here the runner's invocations become
the `AWS/Lambda` metrics Lambda would publish (Invocations, Errors, Throttles, Duration per
function; the stream pump adds IteratorAge per batch), the embedded metric format (EMF) lines
in their logs the custom metrics CloudWatch Logs would extract, and `AlarmEvaluator`
evaluates the alarms stored in the emulator as CloudWatch does:

- the last `EvaluationPeriods` complete periods of `Period` seconds, each reduced with the
  alarm's statistic (Sum, Average, Minimum, Maximum, SampleCount or a pNN percentile);
- ALARM when at least `DatapointsToAlarm` of them breach the threshold under the
  comparison operator, otherwise OK;
- a period without data is missing: `notBreaching` counts it as good, `breaching` as bad,
  `ignore` and `missing` leave it out; when every period is missing, `ignore` keeps the
  current state and `missing` goes to INSUFFICIENT_DATA;
- the module's error-rate metric math, `IF(invocations >= N, 100 * FILL(failures, 0) / invocations, 0)`
  (or without FILL).

On a state change it records the new state in the emulator (`SetAlarmState`) and publishes
the standard alarm notification JSON to the actions of the new state.

Time can run faster here than on AWS (`time_scale`): alarm periods and schedules keep the
values AWS accepts (periods in whole minutes, `rate(1 minute)` at the most frequent), and a
period of P seconds is evaluated over P / time_scale seconds of the calls' real time; a
schedule runs every interval / time_scale seconds. Durations (the `Duration` metric, the
functions' own timeouts) stay real; a stream record's age (`IteratorAge`) is scaled like the
periods that judge it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar, Protocol

import boto3

from .background import every
from .runner import Invocation

logger = logging.getLogger(__name__)

ACCOUNT = "123456789012"
REGION_NAMES = {"us-east-1": "US East (N. Virginia)"}
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
OPERATOR_WORDS = {
    "GreaterThanThreshold": "greater than",
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
ERROR_RATE = re.compile(r"IF\((\w+) >= ([0-9.]+), 100 \* (?:FILL\((\w+), 0\)|(\w+)) / (\w+), 0\)")
LAMBDA = "AWS/Lambda"


@dataclass(frozen=True)
class Sample:
    at: float
    function: str
    error: bool
    throttled: bool
    duration_ms: float

    def value(self, metric: str) -> float | None:
        if metric == "Invocations":
            return 0.0 if self.throttled else 1.0
        if metric == "Errors":
            return float(self.error and not self.throttled)
        if metric == "Throttles":
            return float(self.throttled)
        if metric == "Duration":
            return None if self.throttled else self.duration_ms
        raise ValueError(f"the sandbox does not publish AWS/Lambda metric {metric!r}")


@dataclass(frozen=True)
class CustomSample:
    """One value of a metric published in the embedded metric format."""

    at: float
    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    value: float


def emf_samples(logs: str) -> list[CustomSample]:
    """The metrics CloudWatch Logs extracts from an invocation's EMF lines (Powertools' `Metrics` output); a line that
    is not a well-formed EMF blob is skipped, as CloudWatch skips it."""
    samples = []
    for line in logs.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        try:
            blob = json.loads(line)
            at = blob["_aws"]["Timestamp"] / 1000
            found = []
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                for dimension_set in directive["Dimensions"]:
                    dimensions = frozenset((name, str(blob[name])) for name in dimension_set)
                    for metric in directive["Metrics"]:
                        name, values = metric["Name"], blob[metric["Name"]]
                        for value in values if isinstance(values, list) else [values]:
                            found.append(CustomSample(at, directive["Namespace"], name, dimensions, float(value)))
        except (ValueError, KeyError, TypeError):
            continue
        samples.extend(found)
    return samples


def metric_key(metric: dict[str, Any]) -> tuple[str, str, frozenset[tuple[str, str]]]:
    """A metric as an alarm names it (Namespace, MetricName, Dimensions): CloudWatch matches all three exactly."""
    dimensions = frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
    return metric["Namespace"], metric["MetricName"], dimensions


class LambdaMetrics:
    """What the runner's invocations publish (`runner.listeners.append(metrics.record)`): their
    `AWS/Lambda` data, and the EMF metrics in their logs; and the IteratorAge of stream batches
    (`record_iterator_age`, from the stream pump)."""

    def __init__(self) -> None:
        self._samples: list[Sample] = []
        self._custom: list[CustomSample] = []
        self._iterator_ages: list[tuple[float, str, float]] = []  # (at, function, milliseconds)
        self._lock = threading.Lock()

    def record_iterator_age(self, function: str, at: float, milliseconds: float) -> None:
        with self._lock:
            self._iterator_ages.append((at, function, milliseconds))

    def record(self, invocation: Invocation) -> None:
        throttled = invocation.error_type == "TooManyRequestsException"
        sample = Sample(
            invocation.started_at,
            invocation.function,
            invocation.error_type is not None,
            throttled,
            invocation.duration_ms,
        )
        custom = emf_samples(invocation.logs)
        with self._lock:
            self._samples.append(sample)
            self._custom.extend(custom)

    def values(self, metric: dict[str, Any], start: float, end: float) -> list[float]:
        namespace, name, dimensions = metric_key(metric)
        with self._lock:
            if namespace == LAMBDA and name == "IteratorAge":
                function = function_dimension(metric.get("Dimensions", []))
                return [age for at, f, age in self._iterator_ages if f == function and start <= at < end]
            if namespace == LAMBDA:
                function = function_dimension(metric.get("Dimensions", []))
                samples = [s for s in self._samples if s.function == function and start <= s.at < end]
                return [v for v in (s.value(name) for s in samples) if v is not None]
            return [
                s.value
                for s in self._custom
                if (s.namespace, s.name, s.dimensions) == (namespace, name, dimensions) and start <= s.at < end
            ]


def statistic(name: str, values: list[float]) -> float | None:
    """One period's datapoint, or None when the period has no data."""
    if not values:
        return None
    if name == "Sum":
        return sum(values)
    if name == "Average":
        return sum(values) / len(values)
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    if name == "SampleCount":
        return float(len(values))
    if re.fullmatch(r"p\d{1,2}(\.\d+)?", name):
        ordered = sorted(values)
        rank = max(0, math.ceil(float(name[1:]) / 100 * len(ordered)) - 1)
        return ordered[rank]
    raise ValueError(f"unsupported statistic {name!r}")


def decide(datapoints: list[float | None], alarm: dict[str, Any]) -> tuple[str | None, str]:
    """The state the alarm's last periods call for (None: keep the current state), and why."""
    operator, threshold = alarm["ComparisonOperator"], float(alarm["Threshold"])
    treat_missing = alarm.get("TreatMissingData", "missing")
    needed = alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"]
    if all(value is None for value in datapoints):
        if treat_missing == "ignore":
            return None, "no data; state kept (treat_missing_data = ignore)"
        if treat_missing == "missing":
            return "INSUFFICIENT_DATA", "Insufficient Data: no datapoints in the evaluation periods."
    breaching = 0
    for value in datapoints:
        if value is None:
            breaching += treat_missing == "breaching"
        else:
            breaching += OPERATORS[operator](value, threshold)
    shown = ", ".join("missing" if v is None else f"{v:g}" for v in datapoints)
    words = OPERATOR_WORDS[operator]
    if breaching >= needed:
        return "ALARM", (
            f"Threshold Crossed: {breaching} out of the last {len(datapoints)} datapoints [{shown}] "
            f"were {words} the threshold ({threshold:g}) (minimum {needed} datapoints for OK -> ALARM transition)."
        )
    return "OK", (
        f"Threshold Crossed: {len(datapoints) - breaching} out of the last {len(datapoints)} datapoints "
        f"[{shown}] were not {words} the threshold ({threshold:g})."
    )


def state_change_time(at: float) -> str:
    """CloudWatch's format: 2026-11-26T10:00:00.123+0000."""
    stamp = datetime.fromtimestamp(at, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


def notification(
    alarm: dict[str, Any], old_state: str, new_state: str, reason: str, changed_at: str, region: str = "us-east-1"
) -> dict[str, Any]:
    """The JSON CloudWatch publishes to an alarm's SNS actions."""
    if alarm.get("Metrics"):
        trigger: dict[str, Any] = {"Metrics": alarm["Metrics"]}
    else:
        extended = alarm.get("ExtendedStatistic")
        trigger = {
            "MetricName": alarm.get("MetricName"),
            "Namespace": alarm.get("Namespace"),
            "StatisticType": "ExtendedStatistic" if extended else "Statistic",
            "Statistic": extended or str(alarm.get("Statistic", "")).upper(),
            "Unit": None,
            "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions", [])],
            "Period": alarm.get("Period"),
        }
    trigger.update(
        {
            "EvaluationPeriods": alarm["EvaluationPeriods"],
            "DatapointsToAlarm": alarm.get("DatapointsToAlarm"),
            "ComparisonOperator": alarm["ComparisonOperator"],
            "Threshold": float(alarm["Threshold"]),
            "TreatMissingData": alarm.get("TreatMissingData", "missing"),
            "EvaluateLowSampleCountPercentile": "",
        }
    )
    return {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": ACCOUNT,
        "AlarmConfigurationUpdatedTimestamp": state_change_time(time.time()),
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": changed_at,
        "Region": REGION_NAMES.get(region, region),
        "AlarmArn": alarm.get("AlarmArn", f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{alarm['AlarmName']}"),
        "OldStateValue": old_state,
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
        "Trigger": trigger,
    }


@dataclass(frozen=True)
class AlarmChange:
    at: float
    alarm: str
    old_state: str
    new_state: str
    reason: str


class AlarmEvaluator:
    """Evaluates every metric alarm stored in the emulator against `metrics`, `time_scale` times faster than AWS."""

    time_scale: float = 1.0

    def __init__(self, metrics: LambdaMetrics, clock: Callable[[], float] = time.time, time_scale: float = 1.0) -> None:
        self.metrics = metrics
        self.clock = clock
        self.time_scale = time_scale
        self.changes: list[AlarmChange] = []
        self.listeners: list[Callable[[AlarmChange], None]] = []
        self.evaluations = 0
        self._cloudwatch = boto3.client("cloudwatch")
        self._sns = boto3.client("sns")

    def evaluate(self) -> list[AlarmChange]:
        now = self.clock()
        changes = []
        for alarm in self._cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm"])["MetricAlarms"]:
            new_state, reason = decide(self.datapoints(alarm, now), alarm)
            old_state = alarm["StateValue"]
            if new_state is None or new_state == old_state:
                continue
            self._cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=new_state, StateReason=reason)
            change = AlarmChange(now, alarm["AlarmName"], old_state, new_state, reason)
            message = json.dumps(notification(alarm, old_state, new_state, reason, state_change_time(now)))
            actions = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
            for topic in alarm.get(actions[new_state], []):
                self._sns.publish(TopicArn=topic, Subject=f'{new_state}: "{alarm["AlarmName"]}"', Message=message)
            changes.append(change)
            for listener in self.listeners:
                listener(change)
        self.changes.extend(changes)
        self.evaluations += 1
        return changes

    def datapoints(self, alarm: dict[str, Any], now: float) -> list[float | None]:
        return datapoints(alarm, self.metrics, now, self.time_scale)

    @contextmanager
    def running(self, interval: float) -> Iterator[AlarmEvaluator]:
        """Evaluate every `interval` seconds in a background thread."""
        with every(interval, self.evaluate, "alarm-evaluator"):
            yield self


class MetricSource(Protocol):
    def values(self, metric: dict[str, Any], start: float, end: float) -> list[float]:
        """The values `metric` (Namespace, MetricName, Dimensions) received in [start, end)."""
        ...


def datapoints(alarm: dict[str, Any], metrics: MetricSource, now: float, time_scale: float = 1.0) -> list[float | None]:
    """One value (or None) per evaluation period, oldest first, over complete periods only.

    A period lasts `Period / time_scale` seconds of `now`'s clock.
    """
    if alarm.get("Metrics"):
        return _error_rate_datapoints(alarm, metrics, now, time_scale)
    period = alarm["Period"] / time_scale
    statistic_name = alarm.get("ExtendedStatistic") or alarm["Statistic"]
    metric = {key: alarm.get(key) for key in ("Namespace", "MetricName", "Dimensions")}
    return [
        statistic(statistic_name, metrics.values(metric, start, start + period))
        for start in _period_starts(now, period, alarm["EvaluationPeriods"])
    ]


def _error_rate_datapoints(
    alarm: dict[str, Any], metrics: MetricSource, now: float, time_scale: float
) -> list[float | None]:
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    expression = next((q["Expression"] for q in alarm["Metrics"] if q.get("Expression")), "")
    match = ERROR_RATE.fullmatch(expression.strip())
    if match is None:
        raise ValueError(
            f"alarm {alarm['AlarmName']}: the sandbox evaluates only the module's error-rate "
            f"expression, not {expression!r}"
        )
    guard, minimum, filled, plain, denominator = match.groups()
    numerator = filled or plain
    if guard != denominator:
        raise ValueError(f"alarm {alarm['AlarmName']}: unexpected expression {expression!r}")
    stats = {key: queries[key]["MetricStat"] for key in (numerator, denominator)}
    period = stats[denominator]["Period"] / time_scale
    values: list[float | None] = []
    for start in _period_starts(now, period, alarm["EvaluationPeriods"]):
        sums = {
            key: statistic(stat["Stat"], metrics.values(stat["Metric"], start, start + period))
            for key, stat in stats.items()
        }
        invocations = sums[denominator]
        # Metric math has no datapoint where a series has none, unless FILL gives one.
        if invocations is None or (sums[numerator] is None and not filled):
            values.append(None)
        elif invocations >= float(minimum):
            values.append(100 * (sums[numerator] or 0) / invocations)
        else:
            values.append(0.0)
    return values


def _period_starts(now: float, period: float, count: int) -> list[float]:
    end = math.floor(now / period) * period  # the last complete period ends here
    return [end - (count - i) * period for i in range(count)]


def function_dimension(dimensions: list[dict[str, str]]) -> str:
    for dimension in dimensions:
        if dimension["Name"] == "FunctionName":
            return dimension["Value"]
    raise ValueError("the sandbox evaluates AWS/Lambda alarms with a FunctionName dimension only")


class Scheduler:
    """EventBridge Scheduler for the emulator: runs each `rate(...)` schedule's target when due.

    A Lambda function's target is invoked; a state machine's is started (StartExecution).

    Schedules are read from the emulator on every tick, so instances provisioned later run too.
    Each runs every `interval / time_scale` seconds. Runs are started without waiting for the
    previous one, as the scheduler's asynchronous invocations are: a run slowed down by a busy
    machine does not delay or drop the next.
    """

    UNITS: ClassVar[dict[str, int]] = {
        "second": 1,
        "seconds": 1,
        "minute": 60,
        "minutes": 60,
        "hour": 3600,
        "hours": 3600,
    }

    def __init__(self, clock: Callable[[], float] = time.monotonic, time_scale: float = 1.0) -> None:
        self._scheduler = boto3.client("scheduler")
        self._lambda = boto3.client("lambda")
        self._states = boto3.client("stepfunctions")
        self.clock = clock
        self.time_scale = time_scale
        self.runs = 0
        self.errors: list[str] = []  # runs that could not be started, each once
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="schedule-run")
        self._due: dict[str, float] = {}
        self._schedules: dict[str, dict[str, Any]] = {}

    @classmethod
    def interval(cls, expression: str) -> float:
        match = re.fullmatch(r"rate\((\d+) (\w+)\)", expression)
        if match is None or match.group(2) not in cls.UNITS:
            raise ValueError(f"the sandbox runs rate(N seconds|minutes|hours) schedules, not {expression!r}")
        return int(match.group(1)) * cls.UNITS[match.group(2)]

    def tick(self) -> None:
        now = self.clock()
        for summary in self._scheduler.list_schedules()["Schedules"]:
            group = summary.get("GroupName", "default")
            name = f"{group}/{summary['Name']}"
            if name not in self._due:
                schedule = self._scheduler.get_schedule(Name=summary["Name"], GroupName=group)
                self._due[name] = now + self.interval(schedule["ScheduleExpression"]) / self.time_scale
                self._schedules[name] = schedule
            elif now >= self._due[name]:
                schedule = self._schedules[name]
                self._due[name] += self.interval(schedule["ScheduleExpression"]) / self.time_scale
                target = schedule["Target"]
                if ":states:" in target["Arn"]:  # Step Functions' StartExecution, as Scheduler's templated target
                    run = self._pool.submit(
                        self._states.start_execution,
                        stateMachineArn=target["Arn"],
                        name=uuid.uuid4().hex,  # Scheduler names each execution; moto would name them all "None"
                        input=target.get("Input", "{}"),
                    )
                else:
                    run = self._pool.submit(
                        self._lambda.invoke, FunctionName=target["Arn"], Payload=target.get("Input", "{}").encode()
                    )
                run.add_done_callback(partial(self._failed, name))
                self.runs += 1

    def _failed(self, name: str, run: Future[Any]) -> None:
        error = run.exception()
        if error is not None:
            message = f"schedule {name}: {type(error).__name__}: {error}"
            if message not in self.errors:
                self.errors.append(message)
                logger.warning("scheduler: %s", message)

    @contextmanager
    def running(self, resolution: float = 0.1) -> Iterator[Scheduler]:
        try:
            with every(resolution, self.tick, "scheduler"):
                yield self
        finally:
            self._pool.shutdown(wait=True)
