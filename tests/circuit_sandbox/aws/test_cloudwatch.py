"""CloudWatch alarm semantics as the sandbox evaluates them, against hand-computed periods."""

from __future__ import annotations

import json

import pytest

from circuit_sandbox.aws.cloudwatch import AlarmEvaluator, LambdaMetrics, Scheduler, decide, notification, statistic
from circuit_sandbox.aws.runner import Invocation


def alarm(**overrides) -> dict:
    base = {
        "AlarmName": "orders-downstream",
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 1.0,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 3,
        "TreatMissingData": "notBreaching",
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Statistic": "Sum",
        "Period": 60,
        "Dimensions": [{"Name": "FunctionName", "Value": "orders"}],
        "StateValue": "OK",
    }
    return base | overrides


@pytest.mark.parametrize(
    "datapoints, expected",
    [
        ([2, 2, 2], "ALARM"),
        ([2, 2, 1], "OK"),  # 1 is not greater than the threshold 1
        ([2, None, 2], "OK"),  # notBreaching: the missing period counts as good
    ],
)
def test_m_out_of_n_with_not_breaching_missing_data(datapoints, expected):
    assert decide(datapoints, alarm())[0] == expected


@pytest.mark.parametrize(
    "treat_missing, expected",
    [("breaching", "ALARM"), ("notBreaching", "OK"), ("ignore", None), ("missing", "INSUFFICIENT_DATA")],
)
def test_treat_missing_data_when_every_period_is_missing(treat_missing, expected):
    assert decide([None, None, None], alarm(TreatMissingData=treat_missing))[0] == expected


def test_missing_periods_are_left_out_under_ignore_and_count_as_bad_under_breaching():
    assert decide([None, 2, 2], alarm(TreatMissingData="breaching"))[0] == "ALARM"
    assert decide([None, 2, 2], alarm(TreatMissingData="ignore"))[0] == "OK"  # 2 of 3 breach, 3 needed
    assert decide([None, 2, 2], alarm(TreatMissingData="ignore", DatapointsToAlarm=2))[0] == "ALARM"


def test_reason_reads_like_cloudwatchs():
    state, reason = decide([5, 3, 2], alarm())
    assert state == "ALARM"
    assert reason.startswith(
        "Threshold Crossed: 3 out of the last 3 datapoints [5, 3, 2] were greater than the threshold (1)"
    )


def test_statistics_including_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert statistic("Sum", values) == 5050
    assert statistic("Average", values) == 50.5
    assert (statistic("Minimum", values), statistic("Maximum", values)) == (1, 100)
    assert statistic("SampleCount", values) == 100
    assert (statistic("p99", values), statistic("p50", values)) == (99, 50)
    assert statistic("Sum", []) is None
    with pytest.raises(ValueError, match="unsupported statistic"):
        statistic("Median", values)


def sample(metrics: LambdaMetrics, function: str, at: float, error: str | None = None, duration: float = 10) -> None:
    metrics.record(Invocation(function, b"{}", error, started_at=at, duration_ms=duration))


def test_datapoints_cover_complete_periods_only(monkeypatch):
    metrics = LambdaMetrics()
    for at in (100.5, 101.5, 119.0, 121.0):  # periods [60, 120) and [120, 180) of 60 s
        sample(metrics, "orders", at, error="Boom")
    sample(metrics, "other", 110.0, error="Boom")  # another function's errors do not count
    evaluator = AlarmEvaluator.__new__(AlarmEvaluator)
    evaluator.metrics = metrics
    # At 179 s the period [120, 180) is not complete yet: the last three are [-60, 0), [0, 60), [60, 120).
    assert evaluator.datapoints(alarm(), now=179.0) == [None, None, 3.0]
    assert evaluator.datapoints(alarm(), now=180.0) == [None, 3.0, 1.0]
    duration = alarm(MetricName="Duration", Statistic=None, ExtendedStatistic="p90", EvaluationPeriods=1)
    assert evaluator.datapoints(duration, now=120.0) == [10.0]


def test_time_scale_evaluates_a_minute_long_period_over_fewer_seconds():
    metrics = LambdaMetrics()
    for at in (100.5, 101.5, 102.5):  # with time 30 times faster, 60 s periods are [100, 102) and [102, 104)
        sample(metrics, "orders", at, error="Boom")
    evaluator = AlarmEvaluator.__new__(AlarmEvaluator)
    evaluator.metrics, evaluator.time_scale = metrics, 30
    assert alarm()["Period"] == 60
    assert evaluator.datapoints(alarm(), now=104.0) == [None, 2.0, 1.0]


DOWNSTREAM = [{"Name": "FunctionName", "Value": "orders"}]


def metric_query(query_id: str, namespace: str, name: str, dimensions: list[dict]) -> dict:
    metric = {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions}
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}}


def error_rate_alarm(numerator: dict, expression: str) -> dict:
    """An error-rate alarm as DescribeAlarms shows it: `numerator` over the downstream's invocations."""
    invocations = metric_query("invocations", "AWS/Lambda", "Invocations", DOWNSTREAM)
    return alarm(EvaluationPeriods=2, Metrics=[numerator, invocations, {"Id": "error_rate", "Expression": expression}])


def test_error_rate_metric_math_with_a_minimum_invocation_count():
    metrics = LambdaMetrics()
    for index in range(10):
        sample(metrics, "orders", 61.0 + index, error="Boom" if index < 3 else None)  # 30 % in [60, 120)
    for index in range(4):
        sample(metrics, "orders", 121.0 + index, error="Boom")  # 100 %, but only 4 calls in [120, 180)
    errors = metric_query("errors", "AWS/Lambda", "Errors", DOWNSTREAM)
    rate_alarm = error_rate_alarm(errors, "IF(invocations >= 10, 100 * errors / invocations, 0)")
    evaluator = AlarmEvaluator.__new__(AlarmEvaluator)
    evaluator.metrics = metrics
    assert evaluator.datapoints(rate_alarm, now=180.0) == [30.0, 0.0]
    rate_alarm["Metrics"][2]["Expression"] = "errors / invocations"
    with pytest.raises(ValueError, match="only the module's error-rate expression"):
        evaluator.datapoints(rate_alarm, now=180.0)


def emf_line(at: float, name: str, value: float, circuit: str = "orders") -> str:
    """One EMF blob as Powertools' Metrics prints it."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(at * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": "CircuitBreaker",
                        "Dimensions": [["circuit", "service"]],
                        "Metrics": [{"Name": name, "Unit": "Count"}],
                    }
                ],
            },
            "circuit": circuit,
            "service": "orders-breaker",
            name: [value],
        }
    )


def failure_rate_alarm(minimum: int, expression: str) -> dict:
    circuit = [{"Name": "circuit", "Value": "orders"}, {"Name": "service", "Value": "orders-breaker"}]
    failures = metric_query("failures", "CircuitBreaker", "Failures", circuit)
    return error_rate_alarm(failures, expression.replace("N", str(minimum)))


def test_emf_metrics_in_the_logs_feed_the_failure_rate_and_fill_makes_a_quiet_minute_zero():
    metrics = LambdaMetrics()
    for index in range(10):  # [60, 120): 10 downstream calls, 4 failures counted by the breaker
        sample(metrics, "orders", 61.0 + index, error="Boom" if index < 6 else None)
    for index in range(10):  # [120, 180): 10 calls, 6 raised (an ignored error, say): no Failures published
        sample(metrics, "orders", 121.0 + index, error="ValidationError" if index < 6 else None)
    logs = "\n".join(
        [
            "START RequestId: 1",
            *(emf_line(62.0 + index, "Failures", 1) for index in range(4)),
            emf_line(63.0, "IgnoredErrors", 1),  # another metric
            emf_line(64.0, "Failures", 1, circuit="payments"),  # another circuit
            "not json {",
        ]
    )
    metrics.record(Invocation("orders-breaker-record-outcome", b"{}", None, started_at=62.0, logs=logs))
    evaluator = AlarmEvaluator.__new__(AlarmEvaluator)
    evaluator.metrics = metrics
    filled = failure_rate_alarm(10, "IF(invocations >= N, 100 * FILL(failures, 0) / invocations, 0)")
    assert evaluator.datapoints(filled, now=180.0) == [40.0, 0.0]
    # Without FILL, a minute without Failures has no datapoint, as in CloudWatch's metric math.
    plain = failure_rate_alarm(10, "IF(invocations >= N, 100 * failures / invocations, 0)")
    assert evaluator.datapoints(plain, now=180.0) == [40.0, None]


def test_notification_has_the_fields_cloudwatch_sends():
    message = notification(alarm(AlarmActions=["arn:topic"]), "OK", "ALARM", "why", "2026-11-26T10:00:00.000+0000")
    assert {
        "AlarmName",
        "AlarmDescription",
        "AWSAccountId",
        "NewStateValue",
        "NewStateReason",
        "StateChangeTime",
        "Region",
        "AlarmArn",
        "OldStateValue",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "Trigger",
    } <= message.keys()
    assert message["Trigger"]["Dimensions"] == [{"value": "orders", "name": "FunctionName"}]
    assert (message["Trigger"]["Statistic"], message["Trigger"]["Period"]) == ("SUM", 60)


@pytest.mark.parametrize(
    "expression, seconds",
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 seconds)", 2), ("rate(1 hour)", 3600)],
)
def test_schedule_rates(expression, seconds):
    assert Scheduler.interval(expression) == seconds


@pytest.mark.parametrize("expression", ["cron(0 * * * ? *)", "rate(1 fortnight)", "rate(-1 minutes)"])
def test_unsupported_schedules_are_refused_clearly(expression):
    with pytest.raises(ValueError, match="the sandbox runs rate"):
        Scheduler.interval(expression)
