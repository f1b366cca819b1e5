# Every variable validation rejects a bad value (one run per rule, `expect_failures`).
# Run by `make test` (tests/terraform/test_terraform.py) with the stand-in providers.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}
mock_provider "archive" {}

variables {
  name                    = "orders"
  downstream_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
}

run "rejects_name" {
  command = plan
  variables {
    name = "has spaces"
  }
  expect_failures = [var.name]
}

run "rejects_circuit_name" {
  command = plan
  variables {
    circuit_name = "no spaces allowed"
  }
  expect_failures = [var.circuit_name]
}

run "rejects_failure_threshold" {
  command = plan
  variables {
    failure_threshold = 0
  }
  expect_failures = [var.failure_threshold]
}

run "rejects_a_failure_result_path_that_is_not_a_field_path" {
  command = plan
  variables {
    failure_result = { path = "statusCode", at_least = 500 }
  }
  expect_failures = [var.failure_result]
}

run "rejects_a_failure_result_with_both_tests" {
  command = plan
  variables {
    failure_result = { path = "$.statusCode", at_least = 500, equals = "500" }
  }
  expect_failures = [var.failure_result]
}

run "rejects_a_failure_result_with_no_test" {
  command = plan
  variables {
    failure_result = { path = "$.body.status" }
  }
  expect_failures = [var.failure_result]
}

run "rejects_a_retry_after_path_that_is_not_a_field_path" {
  command = plan
  variables {
    retry_after_path = "$.headers['Retry-After']"
  }
  expect_failures = [var.retry_after_path]
}

run "rejects_a_negative_ramp_up" {
  command = plan
  variables {
    ramp_up_seconds = -60
  }
  expect_failures = [var.ramp_up_seconds]
}

run "rejects_a_sort_key_without_the_partition_value_circuits_share" {
  command = plan
  variables {
    table_key = { partition_key = "pk", sort_key = "sk" }
  }
  expect_failures = [var.table_key]
}

run "rejects_an_empty_sort_key" {
  command = plan
  variables {
    table_key = { partition_key = "pk", sort_key = "", partition_value = "circuit_breaker#orders" }
  }
  expect_failures = [var.table_key]
}

run "rejects_a_fallback_payload_field_step_functions_would_read_as_a_path" {
  command = plan
  variables {
    fallback_payload = { message = "try later", "cached.$" = "$.cache" }
  }
  expect_failures = [var.fallback_payload]
}

run "rejects_a_mode_other_than_enforce_or_observe" {
  command = plan
  variables {
    mode = "shadow"
  }
  expect_failures = [var.mode]
}

run "rejects_success_threshold" {
  command = plan
  variables {
    success_threshold = 1.5
  }
  expect_failures = [var.success_threshold]
}

run "rejects_half_open_max_probes" {
  command = plan
  variables {
    half_open_max_probes = 0
  }
  expect_failures = [var.half_open_max_probes]
}

run "rejects_open_duration_seconds" {
  command = plan
  variables {
    open_duration_seconds = 0
  }
  expect_failures = [var.open_duration_seconds]
}

run "rejects_max_open_duration_seconds" {
  command = plan
  variables {
    max_open_duration_seconds = 10
  }
  expect_failures = [var.max_open_duration_seconds]
}

run "rejects_on_store_error" {
  command = plan
  variables {
    on_store_error = "retry"
  }
  expect_failures = [var.on_store_error]
}

run "rejects_healthcheck_recovery" {
  command = plan
  variables {
    healthcheck = { function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health", recovery = "probe" }
  }
  expect_failures = [var.healthcheck]
}

run "rejects_insufficient_data" {
  command = plan
  variables {
    insufficient_data = "breaching"
  }
  expect_failures = [var.insufficient_data]
}

run "rejects_downstream_function_arn" {
  command = plan
  variables {
    downstream_function_arn = "orders-api"
  }
  expect_failures = [var.downstream_function_arn]
}

run "rejects_downstream_timeout_seconds" {
  command = plan
  variables {
    downstream_timeout_seconds = 901
  }
  expect_failures = [var.downstream_timeout_seconds]
}

run "rejects_healthcheck_function_arn" {
  command = plan
  variables {
    healthcheck = { function_arn = "arn:aws:lambda:eu-west-1:123:function:x" }
  }
  expect_failures = [var.healthcheck]
}

run "rejects_healthcheck_schedule_expression" {
  command = plan
  variables {
    healthcheck = { function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health", schedule_expression = "every minute" }
  }
  expect_failures = [var.healthcheck]
}

run "rejects_downstream_alarm_metric_name" {
  command = plan
  variables {
    downstream_alarm = { metric_name = "Latency" }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_downstream_alarm_statistic" {
  command = plan
  variables {
    downstream_alarm = { statistic = "Median" }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_downstream_alarm_period" {
  command = plan
  variables {
    downstream_alarm = { period = 45 }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_downstream_alarm_datapoints" {
  command = plan
  variables {
    downstream_alarm = { evaluation_periods = 2, datapoints_to_alarm = 3 }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_downstream_alarm_comparison_operator" {
  command = plan
  variables {
    downstream_alarm = { comparison_operator = "Equals" }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_downstream_alarm_treat_missing_data" {
  command = plan
  variables {
    downstream_alarm = { treat_missing_data = "zero" }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_downstream_alarm_min_invocations" {
  command = plan
  variables {
    downstream_alarm = { min_invocations = -1 }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_healthcheck_alarm_period" {
  command = plan
  variables {
    healthcheck = { function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health", alarm = { period = 90 } }
  }
  expect_failures = [var.healthcheck]
}

run "rejects_healthcheck_alarm_datapoints" {
  command = plan
  variables {
    healthcheck = { function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health", alarm = { evaluation_periods = 1, datapoints_to_alarm = 2 } }
  }
  expect_failures = [var.healthcheck]
}

run "rejects_healthcheck_alarm_treat_missing_data" {
  command = plan
  variables {
    healthcheck = { function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health", alarm = { treat_missing_data = "zero" } }
  }
  expect_failures = [var.healthcheck]
}

run "rejects_fallback_mode" {
  command = plan
  variables {
    fallback_mode = "retry"
  }
  expect_failures = [var.fallback_mode]
}

run "rejects_fallback_mode_needs_function" {
  command = plan
  variables {
    fallback_mode = "function"
  }
  expect_failures = [var.fallback_mode]
}

run "rejects_type" {
  command = plan
  variables {
    type = "FAST"
  }
  expect_failures = [var.type]
}

run "rejects_state_machine_log_level" {
  command = plan
  variables {
    state_machine_log_level = "INFO"
  }
  expect_failures = [var.state_machine_log_level]
}

run "rejects_table_name_without_table" {
  command = plan
  variables {
    create_table   = false
    circuit_events = { enabled = false }
  }
  expect_failures = [var.create_table]
}

run "rejects_lambda_runtime" {
  command = plan
  variables {
    lambda_runtime = "python3.9"
  }
  expect_failures = [var.lambda_runtime]
}

run "rejects_lambda_architecture" {
  command = plan
  variables {
    lambda_architecture = "arm"
  }
  expect_failures = [var.lambda_architecture]
}

run "rejects_lambda_memory_size" {
  command = plan
  variables {
    lambda_memory_size = 64
  }
  expect_failures = [var.lambda_memory_size]
}

run "rejects_log_level" {
  command = plan
  variables {
    log_level = "TRACE"
  }
  expect_failures = [var.log_level]
}

run "rejects_log_retention_days" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_sub_minute_downstream_alarm_period" {
  command = plan
  variables {
    downstream_alarm = { period = 30 }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_sub_minute_healthcheck_alarm_period" {
  command = plan
  variables {
    healthcheck = { function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health", alarm = { period = 30 } }
  }
  expect_failures = [var.healthcheck]
}

run "rejects_fallback_payload_mode_without_a_payload" {
  command = plan
  variables {
    fallback_mode = "payload"
  }
  expect_failures = [var.fallback_mode]
}

run "rejects_an_express_downstream_timeout_beyond_its_five_minutes" {
  command = plan
  variables {
    type                       = "EXPRESS"
    downstream_timeout_seconds = 241
  }
  expect_failures = [var.downstream_timeout_seconds]
}

run "rejects_a_key_of_your_own_while_the_module_creates_one" {
  command = plan
  variables {
    sns_kms_master_key_id = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  }
  expect_failures = [var.sns_kms_master_key_id]
}

run "rejects_circuit_events_on_an_existing_table_without_its_stream" {
  command = plan
  variables {
    create_table = false
    table_name   = "platform-circuits"
  }
  expect_failures = [var.create_table]
}

run "rejects_a_stream_arn_for_the_table_the_module_creates" {
  command = plan
  variables {
    circuit_events = { table_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/other/stream/2026-01-01T00:00:00.000" }
  }
  expect_failures = [var.create_table]
}

run "rejects_an_aws_event_source" {
  command = plan
  variables {
    circuit_events = { source = "aws.lambda" }
  }
  expect_failures = [var.circuit_events]
}

run "rejects_an_event_bus_name" {
  command = plan
  variables {
    circuit_events = { event_bus_name = "no spaces" }
  }
  expect_failures = [var.circuit_events]
}

run "rejects_circuit_events_batch_size" {
  command = plan
  variables {
    circuit_events = { batch_size = 0 }
  }
  expect_failures = [var.circuit_events]
}

run "rejects_circuit_events_batching_window" {
  command = plan
  variables {
    circuit_events = { maximum_batching_window_in_seconds = 301 }
  }
  expect_failures = [var.circuit_events]
}

run "rejects_circuit_events_retry_attempts" {
  command = plan
  variables {
    circuit_events = { maximum_retry_attempts = -2 }
  }
  expect_failures = [var.circuit_events]
}

run "rejects_a_circuit_events_failure_destination_that_is_not_a_queue_or_topic" {
  command = plan
  variables {
    circuit_events = { on_failure_destination_arn = "arn:aws:s3:::a-bucket" }
  }
  expect_failures = [var.circuit_events]
}

run "rejects_circuit_events_record_age" {
  command = plan
  variables {
    circuit_events = { maximum_record_age_in_seconds = 30 }
  }
  expect_failures = [var.circuit_events]
}

run "rejects_notification_statuses" {
  command = plan
  variables {
    notifications = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops", statuses = ["TRIPPED"] }
  }
  expect_failures = [var.notifications]
}

run "rejects_notifications_without_circuit_events" {
  command = plan
  variables {
    circuit_events = { enabled = false }
    notifications  = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops" }
  }
  expect_failures = [var.notifications]
}

run "rejects_a_store_error_alarm_period_off_the_minute" {
  command = plan
  variables {
    store_error_alarm = { period = 90 }
  }
  expect_failures = [var.store_error_alarm]
}

run "rejects_more_store_error_datapoints_than_periods" {
  command = plan
  variables {
    store_error_alarm = { evaluation_periods = 2, datapoints_to_alarm = 3 }
  }
  expect_failures = [var.store_error_alarm]
}

run "rejects_a_store_error_alarm_threshold_below_one" {
  command = plan
  variables {
    store_error_alarm = { threshold = 0 }
  }
  expect_failures = [var.store_error_alarm]
}

run "rejects_an_allowed_circuit_with_a_quote" {
  command = plan
  variables {
    allowed_circuits = ["orders", "pay\"ments"]
  }
  expect_failures = [var.allowed_circuits]
}

run "rejects_more_allowed_circuits_than_the_filter_policies_and_dashboard_hold" {
  command = plan
  variables {
    allowed_circuits = [for n in range(101) : "tenant-${n}"]
  }
  expect_failures = [var.allowed_circuits]
}

run "rejects_allowed_circuits_too_long_in_all" {
  command = plan
  variables {
    allowed_circuits = [for n in range(20) : "tenant-${n}-${join("", [for i in range(150) : "x"])}"]
  }
  expect_failures = [var.allowed_circuits]
}

run "accepts_one_hundred_short_allowed_circuits" {
  command = plan
  variables {
    allowed_circuits = [for n in range(100) : "t${n}"]
  }
  assert {
    condition     = length(jsondecode(aws_lambda_function.this["check_circuit"].environment[0].variables.ALLOWED_CIRCUITS)) == 100
    error_message = "One hundred short circuits fit."
  }
}

run "rejects_a_table_key_that_is_not_a_key_arn" {
  command = plan
  variables {
    table_kms_key_arn = "alias/circuits"
  }
  expect_failures = [var.table_kms_key_arn]
}

run "rejects_a_duration_alarm_without_its_threshold" {
  command = plan
  variables {
    downstream_alarm = { metric_name = "Duration", statistic = "p90" }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_an_errors_alarm_without_its_threshold" {
  command = plan
  variables {
    downstream_alarm = { metric_name = "Errors" }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_a_duration_alarm_on_the_sum_of_durations" {
  command = plan
  variables {
    downstream_alarm = { metric_name = "Duration", threshold = 2000 }
  }
  expect_failures = [var.downstream_alarm]
}

run "infers_the_payload_mode_from_a_payload" {
  command = plan
  variables {
    fallback_payload = { fallback = true }
  }
  assert {
    condition     = aws_lambda_function.this["check_circuit"].environment[0].variables.FALLBACK_MODE == "payload"
    error_message = "fallback_payload alone must select the payload mode"
  }
}

run "infers_the_function_mode_from_a_function" {
  command = plan
  variables {
    fallback_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-fallback"
  }
  assert {
    condition     = aws_lambda_function.this["check_circuit"].environment[0].variables.FALLBACK_MODE == "function"
    error_message = "fallback_function_arn alone must select the function mode"
  }
}

run "counted_errors_reach_the_functions" {
  command = plan
  variables {
    counted_errors = ["DependencyUnavailable", "States.Timeout"]
  }
  assert {
    condition     = jsondecode(aws_lambda_function.this["record_outcome"].environment[0].variables.COUNTED_ERRORS) == ["DependencyUnavailable", "States.Timeout"]
    error_message = "counted_errors must reach the outcome recording"
  }
}

run "rejects_counted_and_ignored_errors_together" {
  command = plan
  variables {
    counted_errors = ["DependencyUnavailable"]
    ignored_errors = ["ValidationError"]
  }
  expect_failures = [var.counted_errors]
}

run "rejects_counted_errors_that_leave_out_a_failure_result" {
  command = plan
  variables {
    counted_errors = ["DependencyUnavailable"]
    failure_result = { path = "$.statusCode", at_least = 500 }
  }
  expect_failures = [var.counted_errors]
}

run "rejects_paused_event_sources_without_a_probe" {
  command = plan
  variables {
    event_source_mappings = ["0b5c6f42-5d1c-4a4e-9d0e-0f1a2b3c4d5e"]
  }
  expect_failures = [var.event_source_mappings]
}

run "rejects_paused_event_sources_without_circuit_events" {
  command = plan
  variables {
    probe                 = { input = "{}" }
    circuit_events        = { enabled = false }
    event_source_mappings = ["0b5c6f42-5d1c-4a4e-9d0e-0f1a2b3c4d5e"]
  }
  expect_failures = [var.event_source_mappings]
}

run "rejects_paused_event_sources_with_a_ramp" {
  command = plan
  variables {
    probe                 = { input = "{}" }
    ramp_up_seconds       = 60
    event_source_mappings = ["0b5c6f42-5d1c-4a4e-9d0e-0f1a2b3c4d5e"]
  }
  expect_failures = [var.event_source_mappings]
}

run "rejects_an_event_source_mapping_arn_for_a_uuid" {
  command = plan
  variables {
    probe                 = { input = "{}" }
    event_source_mappings = ["arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:0b5c6f42-5d1c-4a4e-9d0e-0f1a2b3c4d5e"]
  }
  expect_failures = [var.event_source_mappings]
}

run "rejects_a_probe_input_that_is_no_json_object" {
  command = plan
  variables {
    probe = { input = "[1, 2]" }
  }
  expect_failures = [var.probe]
}

# CloudWatch evaluates an alarm over at most one day of periods under an hour, 7 days otherwise.
run "accepts_a_downstream_alarm_of_exactly_a_day_of_minutes" {
  command = plan
  variables {
    downstream_alarm = { period = 60, evaluation_periods = 1440 }
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.downstream[0].evaluation_periods == 1440
    error_message = "A day of one-minute periods is what CloudWatch accepts: the plan must take it."
  }
}

run "rejects_a_downstream_alarm_over_more_than_a_day_of_minutes" {
  command = plan
  variables {
    downstream_alarm = { period = 60, evaluation_periods = 1441 }
  }
  expect_failures = [var.downstream_alarm]
}

run "accepts_a_downstream_alarm_of_a_week_of_hours" {
  command = plan
  variables {
    downstream_alarm = { period = 3600, evaluation_periods = 168, datapoints_to_alarm = 2 }
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.downstream[0].evaluation_periods == 168
    error_message = "A week of hourly periods is what CloudWatch accepts: the plan must take it."
  }
}

run "rejects_a_downstream_alarm_over_more_than_a_week_of_hours" {
  command = plan
  variables {
    downstream_alarm = { period = 3600, evaluation_periods = 169 }
  }
  expect_failures = [var.downstream_alarm]
}

run "rejects_a_store_error_alarm_over_more_than_a_day" {
  command = plan
  variables {
    store_error_alarm = { period = 300, evaluation_periods = 289 }
  }
  expect_failures = [var.store_error_alarm]
}

run "rejects_a_healthcheck_alarm_over_more_than_a_day" {
  command = plan
  variables {
    healthcheck = { function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health", alarm = { period = 120, evaluation_periods = 721 } }
  }
  expect_failures = [var.healthcheck]
}
