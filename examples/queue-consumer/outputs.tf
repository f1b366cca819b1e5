output "queue_url" {
  description = "Send orders here (aws sqs send-message --queue-url ... --message-body '{\"order\": 1}')."
  value       = aws_sqs_queue.orders.url
}

output "dead_letter_queue_url" {
  description = "Messages that failed 5 times: none, while the circuit breaker pauses the consumer during outages."
  value       = aws_sqs_queue.orders_dead_letters.url
}

output "event_source_mapping_uuid" {
  description = "The consumer's mapping: Disabled while the circuit is open (aws lambda get-event-source-mapping --uuid ...)."
  value       = aws_lambda_event_source_mapping.orders.uuid
}

output "health_parameter" {
  description = "Set to \"failing\" to simulate an outage, back to \"healthy\" to recover."
  value       = aws_ssm_parameter.health.name
}

output "state_machine_arn" {
  description = "The circuit breaker the consumer calls."
  value       = module.circuit_breaker.state_machine_arn
}

output "dynamodb_table_name" {
  description = "Circuit table (use with circuitctl --table)."
  value       = module.circuit_breaker.dynamodb_table_name
}

output "function_names" {
  description = "The consumer and the downstream."
  value       = { consumer = aws_lambda_function.consumer.function_name, downstream = aws_lambda_function.downstream.function_name }
}

output "circuit_name" {
  description = "The consumer's circuit (circuitctl show <name>)."
  value       = module.circuit_breaker.circuit_name
}
