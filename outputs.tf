output "state_machine_arn" {
  description = "ARN of the state machine to call instead of the downstream function. Known at plan time (formed from name), so a consumer whose event source mapping the module pauses can take it without a cycle."
  value       = local.state_machine_arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's IAM role."
  value       = aws_iam_role.state_machine.arn
}

output "circuit_name" {
  description = "Circuit (its item's id, or sort key with table_key) this state machine checks."
  value       = local.circuit_name
}

output "dynamodb_table_name" {
  description = "Name of the circuit table (created or existing)."
  value       = local.table_name
}

output "table_key" {
  description = "How the circuit table keys circuits (table_key, JSON): circuitctl's --table-key."
  value       = jsonencode(var.table_key)
}

output "dynamodb_table_arn" {
  description = "ARN of the circuit table."
  value       = var.create_table ? aws_dynamodb_table.this[0].arn : local.table_arn
}

output "dynamodb_table_stream_arn" {
  description = "ARN of the circuit table's stream (null when the module does not create the table, or with table_stream_enabled = false): pass it as circuit_events.table_stream_arn to other instances sharing the table."
  value       = var.create_table && var.table_stream_enabled ? aws_dynamodb_table.this[0].stream_arn : null
}

output "sns_topic_arn" {
  description = "ARN of the alarm topic; add your own alarms' actions here only if their names start with \"<name>-\"."
  value       = aws_sns_topic.alarms.arn
}

output "sns_kms_key_arn" {
  description = "ARN of the alarm topic's KMS key (the one created with create_sns_kms_key, or yours). Other instances in the account may share it (create_sns_kms_key = false, sns_kms_master_key_id = this): its policy lets CloudWatch of this account use it, and one key costs $1 a month."
  value       = local.sns_kms_key_id
}

output "cloudwatch_alarm_names" {
  description = "Names of the downstream, healthcheck, store_errors and events pipeline (events_iterator_age, events_errors, notifications_failed) alarms (absent when disabled)."
  value = merge(
    { for alarm in aws_cloudwatch_metric_alarm.downstream : "downstream" => alarm.alarm_name },
    { for alarm in aws_cloudwatch_metric_alarm.healthcheck : "healthcheck" => alarm.alarm_name },
    { for alarm in aws_cloudwatch_metric_alarm.store_errors : "store_errors" => alarm.alarm_name },
    { for key, alarm in aws_cloudwatch_metric_alarm.events_pipeline : key => alarm.alarm_name },
  )
}

output "cloudwatch_alarm_arns" {
  description = "ARNs of the alarms cloudwatch_alarm_names names, by the same keys."
  value       = local.alarm_arns
}

output "lambda_function_names" {
  description = "Names of the module's functions: check_circuit, record_outcome, alarm_handler, and circuit_events (with circuit events)."
  value       = { for key, function in aws_lambda_function.this : key => function.function_name }
}

output "lambda_function_arns" {
  description = "ARNs of the module's functions."
  value       = { for key, function in aws_lambda_function.this : key => function.arn }
}

output "lambda_role_arns" {
  description = "ARNs of the module's function roles."
  value       = { for key, role in aws_iam_role.function : key => role.arn }
}

output "scheduler_role_arn" {
  description = "ARN of the role that runs the healthcheck and probe schedules (null without either)."
  value       = one(aws_iam_role.scheduler[*].arn)
}

output "healthcheck_schedule_arn" {
  description = "ARN of the healthcheck schedule (null without a healthcheck)."
  value       = one(aws_scheduler_schedule.healthcheck[*].arn)
}

output "probe_schedule_arn" {
  description = "ARN of the probe schedule (null without a probe)."
  value       = one(aws_scheduler_schedule.probe[*].arn)
}

output "operator_read_only_policy_json" {
  description = "IAM policy JSON for operators who list and show circuits with circuitctl: Scan of the table, GetItem of this instance's circuits."
  value       = data.aws_iam_policy_document.operator["read_only"].json
}

output "operator_read_write_policy_json" {
  description = "IAM policy JSON for operators who also force and release this instance's circuits with circuitctl (UpdateItem scoped by dynamodb:LeadingKeys)."
  value       = data.aws_iam_policy_document.operator["read_write"].json
}

output "caller_policy_json" {
  description = "IAM policy JSON for the callers of the state machine: StartSyncExecution (EXPRESS), or StartExecution and DescribeExecution of its executions (STANDARD)."
  value       = data.aws_iam_policy_document.caller.json
}

output "circuit_event_pattern" {
  description = "EventBridge event pattern (JSON) matching this instance's circuit events (its circuits of its table, whichever instance publishes them), for rules of your own."
  value       = jsonencode(local.circuit_event_pattern)
}

output "circuit_events_event_source_mapping_uuid" {
  description = "UUID of the event source mapping from the table's stream to the circuit events function (null without circuit events)."
  value       = one(aws_lambda_event_source_mapping.circuit_events[*].uuid)
}

output "notification_rule_arn" {
  description = "ARN of the EventBridge rule that sends circuit changes to the notification topic (null without notifications)."
  value       = one(aws_cloudwatch_event_rule.notifications[*].arn)
}

output "cloudwatch_dashboard_arn" {
  description = "ARN of the instance's CloudWatch dashboard (null unless create_dashboard)."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_arn)
}
