# What the module creates under each toggle, and whether it wires the right things together.
# Mocked providers: `apply` here creates nothing; computed values are invented by the mocks.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}
mock_provider "archive" {}

variables {
  name                    = "orders"
  downstream_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
}

run "defaults" {
  assert {
    condition     = length(aws_dynamodb_table.this) == 1 && aws_dynamodb_table.this[0].name == "orders-circuits"
    error_message = "The module creates its table, named after the instance."
  }
  assert {
    condition     = aws_sfn_state_machine.this.type == "EXPRESS" && aws_sfn_state_machine.this.name == "orders"
    error_message = "The state machine is EXPRESS by default and named after the instance."
  }
  assert {
    condition     = toset(keys(aws_lambda_function.this)) == toset(["check_circuit", "record_outcome", "alarm_handler", "circuit_events"])
    error_message = "The module runs four functions of its own: three for the circuit, one for its events."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.downstream) == 1 && length(aws_cloudwatch_metric_alarm.healthcheck) == 0
    error_message = "Without a healthcheck there is a downstream alarm only."
  }
  assert {
    condition     = length(aws_scheduler_schedule.healthcheck) == 0 && length(aws_iam_role.scheduler) == 0
    error_message = "Without a healthcheck nothing is scheduled."
  }
  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.downstream[0].metric_query : q.metric[0].dimensions if q.id == "invocations"]) == tomap({ FunctionName = "orders-api" })
    error_message = "An unqualified downstream ARN gives a FunctionName dimension only."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.downstream[0].alarm_name == "orders-downstream"
    error_message = "Alarm names carry the instance name."
  }
  assert {
    condition     = alltrue([for key, fn in aws_lambda_function.this : fn.function_name == "orders-${replace(key, "_", "-")}"])
    error_message = "Function names carry the instance name."
  }
  assert {
    condition     = alltrue([for key, fn in aws_lambda_function.this : fn.environment[0].variables.TABLE_NAME == "orders-circuits" && fn.environment[0].variables.CIRCUIT_NAME == "orders" if key != "circuit_events"])
    error_message = "Every function of the circuit is told its table and circuit."
  }
}

run "rendered_definition_calls_the_right_functions" {
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.CheckCircuit.Parameters.FunctionName == aws_lambda_function.this["check_circuit"].arn
    error_message = "CheckCircuit invokes the module's state-check function."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.RecordFailure.Parameters.FunctionName == aws_lambda_function.this["record_outcome"].arn
    error_message = "RecordFailure invokes the module's outcome-recording function."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.CallDownstream.Parameters.FunctionName == var.downstream_function_arn
    error_message = "CallDownstream invokes the function passed in, exactly as given."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.ShortCircuit.Error == "CircuitOpen"
    error_message = "By default an open circuit fails fast with CircuitOpen."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.CheckCircuit.Parameters.Payload.circuit == "orders"
    error_message = "The state check is told the circuit name."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).StartAt == "ReadCircuit" && jsondecode(aws_sfn_state_machine.this.definition).States.ReadCircuit.Parameters == { TableName = "orders-circuits", Key = { id = { S = "orders" } }, ConsistentRead = true }
    error_message = "Every call starts with one strongly consistent read of its own circuit item, by the state machine itself."
  }
  assert {
    condition     = one([for rule in jsondecode(aws_sfn_state_machine.this.definition).States.Route.Choices : rule.Next if can(rule.Not.IsPresent)]) == "CallDownstream"
    error_message = "A circuit with no record goes straight to the downstream."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Route.Default == "CheckCircuit"
    error_message = "Anything but plainly closed or forced goes to the state check."
  }
  assert {
    condition     = data.aws_iam_policy_document.state_machine.statement[1].actions == toset(["dynamodb:GetItem"]) && toset(one(data.aws_iam_policy_document.state_machine.statement[1].condition).values) == toset(["orders"])
    error_message = "The state machine may read its own circuit's item and nothing else of the table."
  }
}

run "express_with_a_shared_table_and_a_fallback_payload" {
  variables {
    type             = "EXPRESS"
    create_table     = false
    table_name       = "platform-circuits"
    circuit_events   = { table_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/platform-circuits/stream/2026-01-01T00:00:00.000" }
    fallback_mode    = "payload"
    fallback_payload = { degraded = true }
  }
  assert {
    condition     = aws_sfn_state_machine.this.type == "EXPRESS" && length(aws_dynamodb_table.this) == 0
    error_message = "EXPRESS on an existing table creates no table."
  }
  assert {
    condition     = aws_lambda_function.this["check_circuit"].environment[0].variables.TABLE_NAME == "platform-circuits"
    error_message = "Functions use the shared table."
  }
  assert {
    condition     = contains(data.aws_iam_policy_document.function["check_circuit"].statement[0].resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/platform-circuits")
    error_message = "Table permissions name the shared table."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.ShortCircuit.Parameters.degraded == true
    error_message = "The fallback payload is what an open circuit returns."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.ShortCircuit.Parameters["retry_after_seconds.$"] == "$.retry_after_seconds"
    error_message = "An object fallback payload tells when to retry."
  }
}

run "a_fallback_payload_that_is_no_object_is_returned_as_given" {
  variables {
    fallback_payload = "try again later"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.ShortCircuit.Result == "try again later"
    error_message = "A string fallback payload is returned as it is."
  }
}

run "a_fallback_payload_with_its_own_retry_after_keeps_it" {
  variables {
    fallback_payload = { retry_after_seconds = 60 }
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.ShortCircuit.Result == { retry_after_seconds = 60 }
    error_message = "The payload's own retry_after_seconds is returned, not replaced."
  }
}

run "observe_mode_calls_the_downstream_where_it_would_short_circuit" {
  variables {
    mode             = "observe"
    fallback_payload = { degraded = true }
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.ShortCircuit.Parameters.FunctionName == var.downstream_function_arn && jsondecode(aws_sfn_state_machine.this.definition).States.ShortCircuit.Next == "ReturnDownstreamResult"
    error_message = "In observe mode a call the circuit would short-circuit reaches the downstream, whatever the fallback."
  }
  assert {
    condition     = one([for c in jsondecode(aws_sfn_state_machine.this.definition).States.ShortCircuit.Catch : c.Next]) == "DownstreamFailed"
    error_message = "An observed short-circuit's failure is re-raised, never recorded."
  }
  assert {
    condition     = alltrue([for key, fn in aws_lambda_function.this : fn.environment[0].variables.MODE == "observe"])
    error_message = "Every function knows the mode (metrics and events say observe)."
  }
}

run "retry_after_path_reaches_the_functions_and_a_marked_result_goes_along" {
  variables {
    failure_result   = { path = "$.statusCode", at_least = 500 }
    retry_after_path = "$.headers.retry_after"
  }
  assert {
    condition     = aws_lambda_function.this["record_outcome"].environment[0].variables.RETRY_AFTER_PATH == "$.headers.retry_after"
    error_message = "The outcome recorder reads the hint where retry_after_path says."
  }
  assert {
    condition = alltrue([
      for state in ["RecordBadResult", "RecordProbeBadResult"] :
      jsondecode(aws_sfn_state_machine.this.definition).States[state].Parameters.Payload["result.$"] == "$.downstream.payload"
    ])
    error_message = "A result marked as a failure is recorded with the result, for its hint."
  }
}

run "ramp_up_seconds_reaches_the_functions_and_a_ramp_goes_to_the_state_check" {
  variables {
    ramp_up_seconds = 120
  }
  assert {
    condition     = aws_lambda_function.this["check_circuit"].environment[0].variables.RAMP_UP_SECONDS == "120"
    error_message = "The state check ramps over ramp_up_seconds."
  }
  assert {
    condition = contains([
      for rule in jsondecode(aws_sfn_state_machine.this.definition).States.Route.Choices : rule.Next
      if try(rule.Variable, "") == "$.read.Item.ramp_until"
    ], "CheckCircuit")
    error_message = "A circuit item with a ramp is routed to the state check, which draws who is admitted."
  }
}

run "a_single_table_keys_the_table_the_state_machine_the_events_and_iam_by_partition_and_sort_key" {
  variables {
    table_key = { partition_key = "pk", sort_key = "sk", partition_value = "circuit_breaker#orders" }
  }
  assert {
    condition     = aws_dynamodb_table.this[0].hash_key == "pk" && aws_dynamodb_table.this[0].range_key == "sk"
    error_message = "The table is created with the partition and sort key table_key names."
  }
  assert {
    condition = alltrue([
      jsondecode(aws_sfn_state_machine.this.definition).States.ReadCircuit.Parameters.Key == { pk = { S = "circuit_breaker#orders" }, sk = { S = "orders" } },
      jsondecode(aws_sfn_state_machine.this.definition).States.ReadAfterCall.Parameters.Key == { pk = { S = "circuit_breaker#orders" }, sk = { "S.$" = "$.circuit" } },
      jsondecode(aws_sfn_state_machine.this.definition).States.ResetFailures.Parameters.Key == { pk = { S = "circuit_breaker#orders" }, sk = { "S.$" = "$.circuit" } },
    ])
    error_message = "The state machine reads and resets the item at the shared partition value and the circuit's name."
  }
  assert {
    condition     = [for filter in aws_lambda_event_source_mapping.circuit_events[0].filter_criteria[0].filter : jsondecode(filter.pattern)] == [{ dynamodb = { Keys = { pk = { S = ["circuit_breaker#orders"] }, sk = { S = ["orders"] } } } }]
    error_message = "The events function gets the stream records of this instance's circuits only."
  }
  assert {
    condition     = jsondecode(aws_lambda_function.this["check_circuit"].environment[0].variables.TABLE_KEY) == { partition_key = "pk", sort_key = "sk", partition_value = "circuit_breaker#orders" }
    error_message = "The functions key circuit items as table_key says."
  }
  assert {
    condition = flatten([
      for statement in data.aws_iam_policy_document.state_machine.statement : [
        for condition in statement.condition : condition.values if condition.variable == "dynamodb:LeadingKeys"
      ] if statement.sid == "ReadCircuit"
    ]) == ["circuit_breaker#orders"]
    error_message = "IAM scopes the state machine's reads to the partition value: dynamodb:LeadingKeys names partition keys."
  }
}

run "queue_consumers_are_paused_by_the_events_function_and_probed_by_a_schedule" {
  variables {
    probe                 = { input = "{\"ping\": true}" }
    event_source_mappings = ["0b5c6f42-5d1c-4a4e-9d0e-0f1a2b3c4d5e"]
  }
  assert {
    condition     = jsondecode(aws_lambda_function.this["circuit_events"].environment[0].variables.EVENT_SOURCE_MAPPINGS) == { orders = ["0b5c6f42-5d1c-4a4e-9d0e-0f1a2b3c4d5e"] }
    error_message = "The events function is told which mappings this instance's circuit pauses."
  }
  assert {
    condition = one([
      for statement in data.aws_iam_policy_document.function["circuit_events"].statement : statement.resources if statement.sid == "PauseEventSources"
    ]) == toset(["arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:0b5c6f42-5d1c-4a4e-9d0e-0f1a2b3c4d5e"])
    error_message = "The events function may read and update those mappings, and no other."
  }
  assert {
    condition     = length([for statement in data.aws_iam_policy_document.function["check_circuit"].statement : statement if statement.sid == "PauseEventSources"]) == 0
    error_message = "Only the events function touches the mappings."
  }
  assert {
    condition = alltrue([
      aws_scheduler_schedule.probe[0].target[0].arn == aws_sfn_state_machine.this.arn,
      aws_scheduler_schedule.probe[0].target[0].input == "{\"ping\": true}",
      aws_scheduler_schedule.probe[0].schedule_expression == "rate(1 minute)",
      aws_scheduler_schedule.probe[0].target[0].role_arn == aws_iam_role.scheduler[0].arn,
    ])
    error_message = "The probe schedule starts the state machine with probe.input every minute by default."
  }
  assert {
    condition = one([
      for statement in data.aws_iam_policy_document.scheduler[0].statement : statement.actions if statement.sid == "RunProbe"
    ]) == toset(["states:StartExecution"]) && length(aws_scheduler_schedule.healthcheck) == 0
    error_message = "The schedules' role may start the state machine; without a healthcheck nothing else is scheduled."
  }
}

run "without_queue_consumers_the_events_function_pauses_nothing" {
  assert {
    condition     = aws_lambda_function.this["circuit_events"].environment[0].variables.EVENT_SOURCE_MAPPINGS == "{}"
    error_message = "No mappings, nothing to pause."
  }
  assert {
    condition     = length(aws_scheduler_schedule.probe) == 0
    error_message = "No probe schedule unless asked for."
  }
}

run "healthcheck_and_qualified_arns" {
  variables {
    downstream_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api:live"
    healthcheck = {
      function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health:7"
      recovery     = "half_open"
    }
  }
  assert {
    condition     = alltrue([for key, fn in aws_lambda_function.this : fn.environment[0].variables.HEALTHCHECK_RECOVERY == "half_open" if key != "circuit_events"])
    error_message = "healthcheck.recovery reaches the functions."
  }
  assert {
    condition     = aws_scheduler_schedule.healthcheck[0].schedule_expression == "rate(1 minute)" && aws_cloudwatch_metric_alarm.healthcheck[0].period == 60 && aws_cloudwatch_metric_alarm.healthcheck[0].treat_missing_data == "ignore"
    error_message = "The healthcheck's schedule and alarm have their defaults."
  }
  assert {
    condition     = length(aws_scheduler_schedule.healthcheck) == 1 && length(aws_cloudwatch_metric_alarm.healthcheck) == 1
    error_message = "A healthcheck is scheduled and alarmed."
  }
  assert {
    condition     = aws_scheduler_schedule.healthcheck[0].target[0].arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders-health:7"
    error_message = "The schedule invokes the healthcheck passed in."
  }
  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.downstream[0].metric_query : q.metric[0].dimensions if q.id == "invocations"]) == tomap({ FunctionName = "orders-api", Resource = "orders-api:live" })
    error_message = "A qualified downstream ARN adds the Resource dimension."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.healthcheck[0].dimensions == tomap({ FunctionName = "orders-health", Resource = "orders-health:7" })
    error_message = "The healthcheck alarm watches the healthcheck passed in."
  }
  assert {
    condition     = contains(data.aws_iam_policy_document.state_machine.statement[0].resources, "arn:aws:lambda:eu-west-1:123456789012:function:orders-api:live")
    error_message = "The state machine may invoke the qualified downstream ARN."
  }
  assert {
    condition     = data.aws_iam_policy_document.scheduler[0].statement[0].resources == toset(["arn:aws:lambda:eu-west-1:123456789012:function:orders-health:7"])
    error_message = "The scheduler may invoke the healthcheck and nothing else."
  }
}

run "the_default_downstream_alarm_is_an_error_rate" {
  assert {
    condition     = aws_cloudwatch_metric_alarm.downstream[0].threshold == 22 && aws_cloudwatch_metric_alarm.downstream[0].evaluation_periods == 1 && aws_cloudwatch_metric_alarm.downstream[0].datapoints_to_alarm == 1 && aws_cloudwatch_metric_alarm.downstream[0].comparison_operator == "GreaterThanOrEqualToThreshold"
    error_message = "By default the downstream alarm trips at 22 % errors in one minute."
  }
  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.downstream[0].metric_query : q.expression if q.id == "error_rate"]) == "IF(invocations >= 40, 100 * FILL(failures, 0) / invocations, 0)"
    error_message = "Below 40 calls a minute the rate is taken as 0; a minute without failures has none."
  }
  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.downstream[0].metric_query : "${q.metric[0].namespace}/${q.metric[0].metric_name} ${jsonencode(q.metric[0].dimensions)} ${q.metric[0].stat}" if q.id == "failures"]) == "CircuitBreaker/Failures {\"circuit\":\"orders\",\"service\":\"orders\"} Sum"
    error_message = "The rate's failures are the breaker's own Failures metric (ignored errors left out), per circuit."
  }
  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.downstream[0].metric_query : "${q.metric[0].namespace}/${q.metric[0].metric_name}" if q.id == "invocations"]) == "AWS/Lambda/Invocations"
    error_message = "The rate's calls are the downstream's own invocations: the healthy path publishes nothing."
  }
}

run "sustained_store_errors_alarm_and_notify_without_changing_the_circuit" {
  variables {
    notifications = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops" }
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.store_errors[0].namespace == "CircuitBreaker" && aws_cloudwatch_metric_alarm.store_errors[0].metric_name == "StoreErrors" && aws_cloudwatch_metric_alarm.store_errors[0].dimensions == tomap({ circuit = "orders", service = "orders" })
    error_message = "The store alarm watches the circuit's StoreErrors, where the state machine and the functions count them."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.store_errors[0].datapoints_to_alarm == 3 && aws_cloudwatch_metric_alarm.store_errors[0].evaluation_periods == 5 && aws_cloudwatch_metric_alarm.store_errors[0].treat_missing_data == "notBreaching"
    error_message = "By default store errors in 3 of the last 5 minutes alarm."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.store_errors[0].alarm_actions == toset([aws_sns_topic.alarms.arn]) && aws_cloudwatch_metric_alarm.store_errors[0].ok_actions == toset([aws_sns_topic.alarms.arn])
    error_message = "The store alarm notifies the alarm topic only: the notification topic's policy admits EventBridge's rule alone."
  }
  assert {
    condition     = jsondecode(aws_lambda_function.this["alarm_handler"].environment[0].variables.ALARMS)["orders-store-errors"] == { circuit = "orders", role = "store_errors" }
    error_message = "The alarm handler knows the store alarm, as one that only notifies."
  }
}

run "the_store_alarm_can_be_switched_off" {
  variables {
    store_error_alarm = { enabled = false }
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.store_errors) == 0 && !contains(keys(jsondecode(aws_lambda_function.this["alarm_handler"].environment[0].variables.ALARMS)), "orders-store-errors")
    error_message = "enabled = false creates no store alarm."
  }
}

run "an_absolute_error_count_stays_available" {
  variables {
    downstream_alarm = { metric_name = "Errors", threshold = 10 }
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.downstream[0].metric_name == "Errors" && aws_cloudwatch_metric_alarm.downstream[0].statistic == "Sum" && length(aws_cloudwatch_metric_alarm.downstream[0].metric_query) == 0
    error_message = "metric_name = Errors is a plain metric alarm."
  }
}

run "error_rate_alarm" {
  variables {
    downstream_alarm = { metric_name = "ErrorRate", threshold = 5, min_invocations = 20 }
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.downstream[0].metric_query) == 3 && aws_cloudwatch_metric_alarm.downstream[0].metric_name == null
    error_message = "Error-rate mode is a metric-math alarm."
  }
  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.downstream[0].metric_query : q.expression if q.id == "error_rate"]) == "IF(invocations >= 20, 100 * FILL(failures, 0) / invocations, 0)"
    error_message = "The expression honours min_invocations."
  }
}

run "iam_is_scoped_to_the_module" {
  variables {
    allowed_circuits = ["orders-eu"]
  }
  assert {
    condition     = data.aws_iam_policy_document.function["check_circuit"].statement[0].resources == toset([local.table_arn])
    error_message = "Table permissions name only the module's table."
  }
  assert {
    condition     = toset(one(data.aws_iam_policy_document.function["check_circuit"].statement[0].condition).values) == toset(["orders", "orders-eu"])
    error_message = "The state check may touch only its own circuits' items."
  }
  assert {
    condition     = toset(one(data.aws_iam_policy_document.function["alarm_handler"].statement[0].condition).values) == toset(["orders"])
    error_message = "The alarm handler may touch only the module's circuit."
  }
  assert {
    condition     = alltrue([for key, doc in data.aws_iam_policy_document.function : alltrue([for s in doc.statement : !contains(s.actions, "*") && !anytrue([for a in s.actions : endswith(a, ":*")])])])
    error_message = "No function statement grants a wildcard action."
  }
  assert {
    condition     = data.aws_iam_policy_document.function["record_outcome"].statement[1].resources == toset(["${aws_cloudwatch_log_group.function["record_outcome"].arn}:*"])
    error_message = "A function writes only to its own log group."
  }
  assert {
    condition     = toset(data.aws_iam_policy_document.state_machine.statement[0].resources) == toset([aws_lambda_function.this["check_circuit"].arn, aws_lambda_function.this["record_outcome"].arn, var.downstream_function_arn])
    error_message = "The state machine may invoke its two functions and the downstream, nothing else."
  }
  assert {
    condition     = one(data.aws_iam_policy_document.alarms_topic.statement[0].principals).identifiers == toset(["cloudwatch.amazonaws.com"])
    error_message = "Only CloudWatch may publish to the alarm topic."
  }
  assert {
    condition     = toset([for c in data.aws_iam_policy_document.alarms_topic.statement[0].condition : "${c.variable}=${join(",", c.values)}"]) == toset(["aws:SourceAccount=123456789012", "aws:SourceArn=arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-*"])
    error_message = "Publishing is limited to this account's alarms of this module."
  }
}

run "names_are_unique_per_instance" {
  variables {
    name = "payments"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.downstream[0].alarm_name == "payments-downstream" && aws_sns_topic.alarms.name == "payments-alarms" && aws_sfn_state_machine.this.name == "payments"
    error_message = "Every regional name derives from var.name, so two instances never collide."
  }
  assert {
    condition     = aws_iam_role.state_machine.name_prefix == "payments-sfn-" && aws_iam_role.function["record_outcome"].name_prefix == "payments-record-"
    error_message = "IAM role names are global: roles take a name prefix, so the same name can be deployed in two regions."
  }
  assert {
    condition     = alltrue([for key, zip in data.archive_file.function : endswith(zip.output_path, "/.build/circuit-breaker/eu-west-1/payments/${key}.zip")])
    error_message = "Each instance builds its zips in a folder of its own."
  }
}

run "secure_by_default" {
  assert {
    condition     = aws_dynamodb_table.this[0].server_side_encryption[0].enabled == true
    error_message = "The table is encrypted."
  }
  assert {
    condition     = length(aws_kms_key.alarms) == 1 && aws_sns_topic.alarms.kms_master_key_id == aws_kms_key.alarms[0].arn && aws_kms_key.alarms[0].enable_key_rotation
    error_message = "The alarm topic is encrypted with a rotating customer managed key (CloudWatch cannot use the AWS managed one)."
  }
  assert {
    condition = alltrue([for doc in concat(values(data.aws_iam_policy_document.function), [data.aws_iam_policy_document.state_machine, data.aws_iam_policy_document.alarms_topic]) :
    alltrue([for s in doc.statement : alltrue([for a in s.actions : a != "*" && !endswith(a, ":*")])])])
    error_message = "No role or topic policy statement grants a wildcard action."
  }
  assert {
    condition     = alltrue([for doc in values(data.aws_iam_policy_document.function) : alltrue([for s in doc.statement : !contains(s.resources, "*")])])
    error_message = "Without tracing, function policies name every resource."
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.state_machine.statement : s.sid if contains(s.resources, "*")] == ["CountStoreErrors", "LogDelivery"]
    error_message = "The state machine's only unscoped statements are its store-error metric (held to the module's namespace) and log delivery, whose APIs take no resource ARN."
  }
  assert {
    condition     = data.aws_iam_policy_document.alarms_topic.statement[0].resources == toset([aws_sns_topic.alarms.arn]) && data.aws_iam_policy_document.alarms_topic.statement[0].actions == toset(["sns:Publish"])
    error_message = "The topic policy allows publishing to this topic and nothing else."
  }
}

run "long_names_keep_role_prefixes_within_iam_limits" {
  variables {
    name = "a-name-of-exactly-forty-characters-00000"
  }
  assert {
    condition     = alltrue([for role in concat(values(aws_iam_role.function), [aws_iam_role.state_machine]) : length(role.name_prefix) <= 38])
    error_message = "IAM accepts name prefixes of at most 38 characters."
  }
}

run "log_level_reaches_lambda_and_powertools" {
  variables {
    log_level = "DEBUG"
  }
  assert {
    condition     = alltrue([for fn in aws_lambda_function.this : fn.logging_config[0].application_log_level == "DEBUG" && fn.environment[0].variables.POWERTOOLS_LOG_LEVEL == "DEBUG"])
    error_message = "Lambda's own JSON log filter follows log_level, or DEBUG output is dropped."
  }
}

run "warning_is_lambdas_warn" {
  variables {
    log_level = "WARNING"
  }
  assert {
    condition     = alltrue([for fn in aws_lambda_function.this : fn.logging_config[0].application_log_level == "WARN"])
    error_message = "Lambda names the level WARN."
  }
}

run "every_arn_follows_the_partition" {
  variables {
    powertools_layer_arn = "arn:aws-cn:lambda:cn-north-1:123456789012:layer:powertools:1"
  }
  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-cn", dns_suffix = "amazonaws.com.cn" }
  }
  assert {
    condition     = alltrue([for name, state in jsondecode(aws_sfn_state_machine.this.definition).States : startswith(state.Resource, "arn:aws-cn:states:::") if state.Type == "Task"])
    error_message = "Every task's integration ARN is in the partition."
  }
  assert {
    condition     = startswith(local.table_arn, "arn:aws-cn:dynamodb:")
    error_message = "The table ARN is in the partition."
  }
}

run "outside_the_aws_partition_a_layer_must_be_given" {
  command = plan
  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-us-gov", dns_suffix = "amazonaws.com" }
  }
  expect_failures = [aws_lambda_function.this]
}

run "every_lambda_task_retries_the_same_transient_errors" {
  assert {
    condition = alltrue([for name, state in jsondecode(aws_sfn_state_machine.this.definition).States :
    state.Retry == [local.lambda_retry] if state.Type == "Task" && endswith(state.Resource, ":lambda:invoke")])
    error_message = "Each Lambda task has the one retry block."
  }
  assert {
    condition     = contains(local.lambda_retry.ErrorEquals, "Lambda.ClientExecutionTimeoutException")
    error_message = "The retry list includes Lambda.ClientExecutionTimeoutException, as AWS recommends."
  }
  assert {
    condition     = local.lambda_retry.JitterStrategy == "FULL"
    error_message = "Executions throttled together wait for a random share of each backoff, so they do not retry in lockstep."
  }
}

run "downstream_calls_allow_for_the_init_phase_and_the_probe_lease_for_every_attempt" {
  variables {
    downstream_timeout_seconds = 30
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.CallDownstream.TimeoutSeconds == 40 && jsondecode(aws_sfn_state_machine.this.definition).States.CallDownstreamAndRecord.TimeoutSeconds == 40
    error_message = "A downstream call may take its timeout plus 10 s of init."
  }
  assert {
    # 4 attempts of 40 s, 1 + 2 + 4 s of backoff, and the outcome recording's 10 s.
    condition     = alltrue([for key, fn in aws_lambda_function.this : fn.environment[0].variables.PROBE_LEASE_SECONDS == "177" if key != "circuit_events"])
    error_message = "The probe lease covers a probe's worst case."
  }
}

run "an_express_probe_lease_ends_with_the_execution" {
  variables {
    type                       = "EXPRESS"
    downstream_timeout_seconds = 240
  }
  assert {
    condition     = alltrue([for key, fn in aws_lambda_function.this : fn.environment[0].variables.PROBE_LEASE_SECONDS == "300" if key != "circuit_events"])
    error_message = "An EXPRESS execution lasts at most 5 minutes, and so does its probe's lease."
  }
}

run "a_standard_probe_lease_covers_every_attempt_however_long" {
  variables {
    type                       = "STANDARD"
    downstream_timeout_seconds = 240
  }
  assert {
    # 4 attempts of 250 s, 1 + 2 + 4 s of backoff, and the outcome recording's 10 s.
    condition     = alltrue([for key, fn in aws_lambda_function.this : fn.environment[0].variables.PROBE_LEASE_SECONDS == "1017" if key != "circuit_events"])
    error_message = "A STANDARD execution may run all its attempts."
  }
}

run "a_failing_state_check_applies_on_store_error" {
  variables {
    on_store_error = "fail_closed"
  }
  assert {
    condition     = one([for c in jsondecode(aws_sfn_state_machine.this.definition).States.CheckCircuit.Catch : c.Next if contains(c.ErrorEquals, "States.ALL")]) == "CountStoreError" && jsondecode(aws_sfn_state_machine.this.definition).States.CountStoreError.Next == "StoreUnavailable" && one(jsondecode(aws_sfn_state_machine.this.definition).States.ReadCircuit.Catch).Next == "CheckCircuit"
    error_message = "A failed read asks the state check (which reads again and counts the store error); a failing state check is counted by the state machine, then on_store_error decides."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.StoreUnavailable.Result.action == "short_circuit"
    error_message = "fail_closed short-circuits when the circuit cannot be read or checked."
  }
}

run "a_key_of_your_own_for_the_alarm_topic" {
  variables {
    create_sns_kms_key    = false
    sns_kms_master_key_id = "alias/alarms"
  }
  assert {
    condition     = length(aws_kms_key.alarms) == 0 && aws_sns_topic.alarms.kms_master_key_id == "alias/alarms"
    error_message = "The topic uses the key passed in, and the module creates none."
  }
  assert {
    condition     = output.sns_kms_key_arn == "alias/alarms"
    error_message = "The key output names the key in use, so that instances can share it."
  }
}

run "operator_policies" {
  variables {
    allowed_circuits = ["orders-eu"]
  }
  assert {
    condition     = jsondecode(output.operator_read_only_policy_json) != null && data.aws_iam_policy_document.operator["read_only"].statement[1].actions == toset(["dynamodb:GetItem"])
    error_message = "Read-only operators may read circuits, not change them."
  }
  assert {
    condition     = data.aws_iam_policy_document.operator["read_write"].statement[1].actions == toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]) && toset(one(data.aws_iam_policy_document.operator["read_write"].statement[1].condition).values) == toset(["orders", "orders-eu"])
    error_message = "Read-write operators may change this instance's circuits only."
  }
  assert {
    condition     = alltrue([for doc in values(data.aws_iam_policy_document.operator) : alltrue([for s in doc.statement : s.resources == toset([local.table_arn])])])
    error_message = "Operator policies name only the circuit table."
  }
}

run "the_caller_policy_of_an_express_state_machine_runs_it_synchronously_only" {
  assert {
    condition     = data.aws_iam_policy_document.caller.statement[0].actions == toset(["states:StartSyncExecution"]) && length(data.aws_iam_policy_document.caller.statement) == 1
    error_message = "Callers of an EXPRESS state machine need StartSyncExecution and nothing else."
  }
}

run "the_caller_policy_of_a_standard_state_machine_starts_and_describes" {
  variables {
    type = "STANDARD"
  }
  assert {
    condition     = data.aws_iam_policy_document.caller.statement[0].actions == toset(["states:StartExecution"]) && data.aws_iam_policy_document.caller.statement[1].actions == toset(["states:DescribeExecution"])
    error_message = "Callers of a STANDARD state machine start executions and describe them."
  }
  assert {
    condition     = data.aws_iam_policy_document.caller.statement[1].resources == toset(["arn:aws:states:eu-west-1:123456789012:execution:orders:*"])
    error_message = "Callers describe this state machine's executions only."
  }
}

run "an_input_that_selects_the_circuit_is_validated_by_the_state_check" {
  variables {
    allowed_circuits = ["orders-eu"]
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).StartAt == "CheckCircuit" && !contains(keys(jsondecode(aws_sfn_state_machine.this.definition).States), "ReadCircuit")
    error_message = "With allowed_circuits every call starts at the state check, and no state reads a fixed circuit."
  }
}

run "plain_metric_alarms_carry_the_dimensions_too" {
  variables {
    downstream_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api:live"
    downstream_alarm        = { metric_name = "Duration", statistic = "p90", threshold = 1000 }
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.downstream[0].dimensions == tomap({ FunctionName = "orders-api", Resource = "orders-api:live" }) && aws_cloudwatch_metric_alarm.downstream[0].extended_statistic == "p90"
    error_message = "A plain metric alarm watches the qualified function passed in."
  }
}

run "null_means_the_default" {
  # A wrapper module passing its own unset attributes through: every variable with a default is nullable = false.
  variables {
    failure_threshold = null
    on_store_error    = null
    downstream_alarm  = null
    circuit_events    = null
    allowed_circuits  = null
  }
  assert {
    condition     = aws_lambda_function.this["check_circuit"].environment[0].variables.FAILURE_THRESHOLD == "10" && aws_lambda_function.this["check_circuit"].environment[0].variables.ON_STORE_ERROR == "fail_open"
    error_message = "A null setting takes the module's default."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.downstream) == 1 && length(aws_lambda_event_source_mapping.circuit_events) == 1
    error_message = "A null object takes the default object: the error-rate alarm and circuit events stay on."
  }
}

run "a_failure_result_becomes_a_choice_on_the_result" {
  variables {
    failure_result = { path = "$.statusCode", at_least = 500 }
  }
  assert {
    condition = jsondecode(aws_sfn_state_machine.this.definition).States.Settle.Choices[0] == {
      And = [
        { Variable = "$.downstream.payload.statusCode", IsPresent = true },
        { Variable = "$.downstream.payload.statusCode", IsNumeric = true },
        { Variable = "$.downstream.payload.statusCode", NumericGreaterThanEquals = 500 },
      ]
      Next = "RecordBadResult"
    }
    error_message = "A result whose statusCode is 500 or more is recorded as a failure, with a number compared as a number."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.CallDownstreamAndRecord.Next == "ClassifyProbe"
    error_message = "A probe's result is classified too."
  }
}

run "without_a_failure_result_no_result_is_classified" {
  assert {
    condition     = !contains(keys(jsondecode(aws_sfn_state_machine.this.definition).States), "RecordBadResult") && length(jsondecode(aws_sfn_state_machine.this.definition).States.Settle.Choices) == 1
    error_message = "Without failure_result the definition has no result classification."
  }
}
