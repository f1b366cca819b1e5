################################################################################
# CloudWatch alarms: dimensions come from the functions passed in
################################################################################

locals {
  alarm_names = {
    downstream   = "${var.name}-downstream"
    healthcheck  = "${var.name}-healthcheck"
    store_errors = "${var.name}-store-errors"
  }
  # The circuit events pipeline's alarms (below), by role: they change no circuit and notify like store errors.
  events_pipeline_alarm_names = {
    events_iterator_age  = "${var.name}-events-iterator-age"
    events_errors        = "${var.name}-events-errors"
    notifications_failed = "${var.name}-notifications-failed"
  }

  # A metric the module's functions publish (EMF, lambdas/circuit_breaker/telemetry.py) or the state machine puts
  # (StoreErrors): the namespace, and the circuit and service dimensions Powertools adds.
  circuit_metric_dimensions = { circuit = local.circuit_name, service = var.name }

  # The error rate's two series: the failures the breaker counts, the downstream's invocations.
  error_rate_metrics = {
    failures    = { namespace = local.metrics_namespace, metric_name = "Failures", dimensions = tomap(local.circuit_metric_dimensions) }
    invocations = { namespace = "AWS/Lambda", metric_name = "Invocations", dimensions = tomap(local.downstream_dimensions) }
  }

  # FunctionName, plus Resource = "name:qualifier" for a version or alias.
  downstream_dimensions = merge(
    { FunctionName = local.downstream_arn_parts[6] },
    length(local.downstream_arn_parts) == 8 ? { Resource = "${local.downstream_arn_parts[6]}:${local.downstream_arn_parts[7]}" } : {},
  )
  healthcheck_dimensions = local.healthcheck_enabled ? merge(
    { FunctionName = local.healthcheck_arn_parts[6] },
    length(local.healthcheck_arn_parts) == 8 ? { Resource = "${local.healthcheck_arn_parts[6]}:${local.healthcheck_arn_parts[7]}" } : {},
  ) : {}

  standard_statistics   = ["Sum", "Average", "Minimum", "Maximum", "SampleCount"]
  downstream_error_rate = var.downstream_alarm.metric_name == "ErrorRate"
  # Errors and Throttles are counts; Duration has no default statistic (validated).
  downstream_statistic = coalesce(var.downstream_alarm.statistic, "Sum")
  alarm_topic_actions  = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "downstream" {
  count = var.downstream_alarm.enabled ? 1 : 0

  alarm_name          = local.alarm_names.downstream
  alarm_description   = "Circuit breaker ${var.name}: ALARM trips circuit ${local.circuit_name}."
  comparison_operator = var.downstream_alarm.comparison_operator
  evaluation_periods  = var.downstream_alarm.evaluation_periods
  datapoints_to_alarm = var.downstream_alarm.datapoints_to_alarm
  threshold           = coalesce(var.downstream_alarm.threshold, 22) # validated: only ErrorRate may leave it out
  treat_missing_data  = var.downstream_alarm.treat_missing_data

  # Plain metric mode.
  namespace          = local.downstream_error_rate ? null : "AWS/Lambda"
  metric_name        = local.downstream_error_rate ? null : var.downstream_alarm.metric_name
  period             = local.downstream_error_rate ? null : var.downstream_alarm.period
  statistic          = !local.downstream_error_rate && contains(local.standard_statistics, local.downstream_statistic) ? local.downstream_statistic : null
  extended_statistic = !local.downstream_error_rate && !contains(local.standard_statistics, local.downstream_statistic) ? local.downstream_statistic : null
  dimensions         = local.downstream_error_rate ? null : local.downstream_dimensions

  # Error-rate mode: a fleet-wide rate window at no per-call cost. The failures are the ones the breaker counts
  # (record_outcome's Failures: ignored errors left out, results marked by failure_result in), published only when a call
  # fails; the calls are the downstream's own Invocations. A minute without failures has no Failures datapoint: FILL
  # makes it 0.
  dynamic "metric_query" {
    for_each = { for id, metric in local.error_rate_metrics : id => metric if local.downstream_error_rate }
    content {
      id = metric_query.key
      metric {
        namespace   = metric_query.value.namespace
        metric_name = metric_query.value.metric_name
        period      = var.downstream_alarm.period
        stat        = "Sum"
        dimensions  = metric_query.value.dimensions
      }
    }
  }

  dynamic "metric_query" {
    for_each = local.downstream_error_rate ? [1] : []
    content {
      id          = "error_rate"
      label       = "Error rate (%)"
      expression  = "IF(invocations >= ${var.downstream_alarm.min_invocations}, 100 * FILL(failures, 0) / invocations, 0)"
      return_data = true
    }
  }

  alarm_actions             = local.alarm_topic_actions
  ok_actions                = local.alarm_topic_actions
  insufficient_data_actions = var.insufficient_data == "ignore" ? [] : local.alarm_topic_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "healthcheck" {
  count = local.healthcheck_enabled ? 1 : 0

  alarm_name          = local.alarm_names.healthcheck
  alarm_description   = "Circuit breaker ${var.name}: ALARM opens circuit ${local.circuit_name} and vetoes probes; OK closes it."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  dimensions          = local.healthcheck_dimensions
  comparison_operator = "GreaterThanOrEqualToThreshold"
  period              = var.healthcheck.alarm.period
  evaluation_periods  = var.healthcheck.alarm.evaluation_periods
  datapoints_to_alarm = var.healthcheck.alarm.datapoints_to_alarm
  threshold           = var.healthcheck.alarm.threshold
  treat_missing_data  = var.healthcheck.alarm.treat_missing_data

  alarm_actions             = local.alarm_topic_actions
  ok_actions                = local.alarm_topic_actions
  insufficient_data_actions = var.insufficient_data == "ignore" ? [] : local.alarm_topic_actions

  tags = var.tags
}

# Sustained store errors: calls routed by on_store_error because the circuit could not be read (the state machine's
# StoreErrors, and the state check's). Nothing about the circuit changes (the store may be what is broken): it goes to
# the alarm topic, where the alarm handler logs it and your own subscriptions page you.
resource "aws_cloudwatch_metric_alarm" "store_errors" {
  count = var.store_error_alarm.enabled ? 1 : 0

  alarm_name          = local.alarm_names.store_errors
  alarm_description   = "Circuit breaker ${var.name}: the state of circuit ${local.circuit_name} cannot be read; calls follow on_store_error (${var.on_store_error}) and failures may go uncounted."
  namespace           = local.metrics_namespace
  metric_name         = "StoreErrors"
  statistic           = "Sum"
  dimensions          = local.circuit_metric_dimensions
  comparison_operator = "GreaterThanOrEqualToThreshold"
  period              = var.store_error_alarm.period
  evaluation_periods  = var.store_error_alarm.evaluation_periods
  datapoints_to_alarm = var.store_error_alarm.datapoints_to_alarm
  threshold           = var.store_error_alarm.threshold
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_topic_actions
  ok_actions    = local.alarm_topic_actions

  tags = var.tags
}

# The circuit events pipeline (events.tf): a pipeline that stops or falls behind pages like an open circuit, since the
# circuit's own notifications travel through it. IteratorAge is the age of the newest record of the last batch the
# events function received: it grows while the function fails (the shard retries the same records) or falls behind.
# The function's Errors are crashes and timeouts (a record it cannot publish is retried and shows in IteratorAge).
# FailedInvocations are notification messages EventBridge could not deliver to the topic (a topic or key policy).
locals {
  events_pipeline_alarms = { for key, alarm in merge(
    {
      events_iterator_age = {
        description = "the circuit events function has not published stream records younger than ${var.events_pipeline_alarm.iterator_age_seconds} s: circuit events and notifications are late or stalled"
        namespace   = "AWS/Lambda"
        metric_name = "IteratorAge"
        statistic   = "Maximum"
        dimensions  = { FunctionName = "${var.name}-circuit-events" }
        threshold   = var.events_pipeline_alarm.iterator_age_seconds * 1000
      }
      events_errors = {
        description = "the circuit events function fails (crashes or times out): circuit events and notifications are stalled"
        namespace   = "AWS/Lambda"
        metric_name = "Errors"
        statistic   = "Sum"
        dimensions  = { FunctionName = "${var.name}-circuit-events" }
        threshold   = 1
      }
    },
    var.notifications == null ? {} : {
      notifications_failed = {
        description = "EventBridge cannot deliver circuit notifications to the topic (its policy or key policy?)${local.notification_dead_letter ? ": they go to the dead-letter queue" : ""}"
        namespace   = "AWS/Events"
        # With a dead-letter queue, a message given up goes there and counts as DeadLetterInvocations instead.
        metric_name = local.notification_dead_letter ? "DeadLetterInvocations" : "FailedInvocations"
        statistic   = "Sum"
        dimensions  = local.notification_rule_dimensions
        threshold   = 1
      }
    },
  ) : key => alarm if var.events_pipeline_alarm.enabled && (key == "notifications_failed" || local.circuit_events_enabled) }
}

resource "aws_cloudwatch_metric_alarm" "events_pipeline" {
  for_each = local.events_pipeline_alarms

  alarm_name          = local.events_pipeline_alarm_names[each.key]
  alarm_description   = "Circuit breaker ${var.name}: ${each.value.description}."
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  comparison_operator = "GreaterThanOrEqualToThreshold"
  period              = 60
  evaluation_periods  = var.events_pipeline_alarm.evaluation_periods
  datapoints_to_alarm = var.events_pipeline_alarm.datapoints_to_alarm
  threshold           = each.value.threshold
  # No records, no invocations: no datapoint, and nothing is late.
  treat_missing_data = "notBreaching"

  alarm_actions = local.alarm_topic_actions
  ok_actions    = local.alarm_topic_actions

  tags = var.tags
}

# Every alarm of the module by role (the cloudwatch_alarm_arns output, the dashboard's alarm widgets).
locals {
  alarm_arns = merge(
    { for alarm in aws_cloudwatch_metric_alarm.downstream : "downstream" => alarm.arn },
    { for alarm in aws_cloudwatch_metric_alarm.healthcheck : "healthcheck" => alarm.arn },
    { for alarm in aws_cloudwatch_metric_alarm.store_errors : "store_errors" => alarm.arn },
    { for key, alarm in aws_cloudwatch_metric_alarm.events_pipeline : key => alarm.arn },
  )
}
