output "state_machine_arn" {
  description = "Call this instead of the downstream function."
  value       = module.circuit_breaker.state_machine_arn
}

output "dynamodb_table_name" {
  description = "Circuit table (use with circuitctl --table)."
  value       = module.circuit_breaker.dynamodb_table_name
}

output "health_parameter" {
  description = "Set to \"failing\" to simulate an outage, back to \"healthy\" to recover."
  value       = aws_ssm_parameter.health.name
}

output "cloudwatch_alarm_names" {
  description = "The downstream and healthcheck alarms."
  value       = module.circuit_breaker.cloudwatch_alarm_names
}

output "notification_topic_arn" {
  description = "Circuit notifications (OPEN, FORCED_*, back to CLOSED): subscribe to it."
  value       = aws_sns_topic.circuit_notifications.arn
}

output "cloudwatch_dashboard_arn" {
  description = "The circuit breaker's dashboard."
  value       = module.circuit_breaker.cloudwatch_dashboard_arn
}

output "circuit_name" {
  description = "The circuit's name: its item's key in the table."
  value       = module.circuit_breaker.circuit_name
}

output "sns_topic_arn" {
  description = "Topic the alarms notify; the alarm handler subscribes to it."
  value       = module.circuit_breaker.sns_topic_arn
}

output "lambda_function_names" {
  description = "The module's functions (check_circuit, record_outcome, alarm_handler) and the example's (downstream, healthcheck)."
  value = merge(
    module.circuit_breaker.lambda_function_names,
    { for key, function in aws_lambda_function.example : key => function.function_name },
  )
}
