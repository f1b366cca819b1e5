################################################################################
# CloudWatch alarms: dimensions come from the functions passed in
################################################################################

locals {
  alarm_names = {
    downstream  = "${var.name}-downstream"
    healthcheck = "${var.name}-healthcheck"
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
  alarm_topic_actions   = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "downstream" {
  count = var.downstream_alarm.enabled ? 1 : 0

  alarm_name          = local.alarm_names.downstream
  alarm_description   = "Circuit breaker ${var.name}: ALARM trips circuit ${local.circuit_name}."
  comparison_operator = var.downstream_alarm.comparison_operator
  evaluation_periods  = var.downstream_alarm.evaluation_periods
  datapoints_to_alarm = var.downstream_alarm.datapoints_to_alarm
  threshold           = var.downstream_alarm.threshold
  treat_missing_data  = var.downstream_alarm.treat_missing_data

  # Plain metric mode.
  namespace          = local.downstream_error_rate ? null : "AWS/Lambda"
  metric_name        = local.downstream_error_rate ? null : var.downstream_alarm.metric_name
  period             = local.downstream_error_rate ? null : var.downstream_alarm.period
  statistic          = !local.downstream_error_rate && contains(local.standard_statistics, var.downstream_alarm.statistic) ? var.downstream_alarm.statistic : null
  extended_statistic = !local.downstream_error_rate && !contains(local.standard_statistics, var.downstream_alarm.statistic) ? var.downstream_alarm.statistic : null
  dimensions         = local.downstream_error_rate ? null : local.downstream_dimensions

  # Error-rate mode: a fleet-wide rate window at no per-call cost.
  dynamic "metric_query" {
    for_each = local.downstream_error_rate ? { errors = "Errors", invocations = "Invocations" } : {}
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/Lambda"
        metric_name = metric_query.value
        period      = var.downstream_alarm.period
        stat        = "Sum"
        dimensions  = local.downstream_dimensions
      }
    }
  }

  dynamic "metric_query" {
    for_each = local.downstream_error_rate ? [1] : []
    content {
      id          = "error_rate"
      label       = "Error rate (%)"
      expression  = "IF(invocations >= ${var.downstream_alarm.min_invocations}, 100 * errors / invocations, 0)"
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
