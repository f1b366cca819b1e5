output "state_machine_arns" {
  description = "orders (STANDARD: start-execution) and payments (EXPRESS: start-sync-execution)."
  value       = { orders = module.orders.state_machine_arn, payments = module.payments.state_machine_arn }
}

output "dynamodb_table_name" {
  description = "The one circuit table both instances use."
  value       = module.orders.dynamodb_table_name
}
