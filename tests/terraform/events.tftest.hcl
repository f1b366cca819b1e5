# Circuit events, notifications and the dashboard under each toggle.
# Mocked providers: `apply` here creates nothing; computed values are invented by the mocks.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}
mock_provider "archive" {}

variables {
  name                    = "orders"
  downstream_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
}

run "circuit_events_by_default" {
  assert {
    condition     = aws_dynamodb_table.this[0].stream_enabled && aws_dynamodb_table.this[0].stream_view_type == "NEW_AND_OLD_IMAGES"
    error_message = "The table's stream carries old and new images: a change is a difference between them."
  }
  assert {
    condition     = aws_lambda_function.this["circuit_events"].handler == "circuit_events.handler.lambda_handler" && aws_lambda_function.this["circuit_events"].function_name == "orders-circuit-events"
    error_message = "The events function runs the circuit_events package."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.circuit_events[0].event_source_arn == aws_dynamodb_table.this[0].stream_arn && aws_lambda_event_source_mapping.circuit_events[0].function_name == aws_lambda_function.this["circuit_events"].arn
    error_message = "The table's stream feeds the events function."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.circuit_events[0].function_response_types == toset(["ReportBatchItemFailures"]) && aws_lambda_event_source_mapping.circuit_events[0].bisect_batch_on_function_error && aws_lambda_event_source_mapping.circuit_events[0].parallelization_factor == 1
    error_message = "Partial batch failures are reported, a crashing batch is split, and one batch per shard keeps each circuit's events in order."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.circuit_events[0].maximum_retry_attempts == -1 && aws_lambda_event_source_mapping.circuit_events[0].starting_position == "TRIM_HORIZON"
    error_message = "Records are retried until the stream drops them, from the oldest it holds: a replaced mapping misses no change."
  }
  assert {
    condition     = jsondecode(one(one(aws_lambda_event_source_mapping.circuit_events[0].filter_criteria).filter).pattern) == { dynamodb = { Keys = { id = { S = ["orders"] } } } }
    error_message = "The mapping passes only this instance's circuits to the function."
  }
  assert {
    condition     = aws_dynamodb_table.sent_circuit_events[0].name == "orders-sent-circuit-events" && aws_dynamodb_table.sent_circuit_events[0].ttl[0].enabled && aws_dynamodb_table.sent_circuit_events[0].server_side_encryption[0].enabled
    error_message = "Sent events are remembered in an encrypted table of the instance, expired by TTL."
  }
  assert {
    condition     = aws_lambda_function.this["circuit_events"].environment[0].variables == tomap({ EVENT_BUS_NAME = "default", EVENT_SOURCE = "circuit-breaker", SENT_EVENTS_TABLE_NAME = "orders-sent-circuit-events", CIRCUIT_BREAKER_NAME = "orders", MODE = "enforce", TABLE_KEY = jsonencode({ partition_key = "id", sort_key = null, partition_value = null }), EVENT_SOURCE_MAPPINGS = "{}", POWERTOOLS_SERVICE_NAME = "orders", POWERTOOLS_METRICS_NAMESPACE = "CircuitBreaker", POWERTOOLS_LOG_LEVEL = "INFO" })
    error_message = "The events function is told its bus, source, sent-events table and instance; nothing of the circuit's settings."
  }
  assert {
    condition     = toset([for s in data.aws_iam_policy_document.function["circuit_events"].statement : s.sid]) == toset(["ReadTableStream", "SentEvents", "PutCircuitEvents", "OwnLogs"])
    error_message = "The events function reads the stream, its sent events and logs, and puts events; it never touches a circuit item."
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function["circuit_events"].statement : s.resources if s.sid == "PutCircuitEvents"]) == toset(["arn:aws:events:eu-west-1:123456789012:event-bus/default"]) && one([for s in data.aws_iam_policy_document.function["circuit_events"].statement : s.actions if s.sid == "PutCircuitEvents"]) == toset(["events:PutEvents"])
    error_message = "PutEvents is granted on the default bus only."
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function["circuit_events"].statement : s.resources if s.sid == "ReadTableStream"]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders-circuits/stream/*"])
    error_message = "The stream permissions name the circuit table's streams only."
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function["circuit_events"].statement : s.resources if s.sid == "SentEvents"]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders-sent-circuit-events"])
    error_message = "The sent-events permissions name the instance's sent-events table."
  }
  assert {
    condition     = aws_iam_role.function["circuit_events"].name_prefix == "orders-events-"
    error_message = "The events function has a role of its own."
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.notifications) == 0 && length(aws_cloudwatch_dashboard.this) == 0 && output.notification_rule_arn == null && output.cloudwatch_dashboard_arn == null
    error_message = "Without notifications or create_dashboard there is no rule and no dashboard."
  }
  assert {
    condition     = jsondecode(output.circuit_event_pattern) == { source = ["circuit-breaker"], "detail-type" = ["Circuit State Change"], resources = ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders-circuits"], detail = { circuitName = ["orders"] } }
    error_message = "The output pattern matches this instance's circuits of its table, whichever instance publishes them."
  }
  assert {
    condition     = output.dynamodb_table_stream_arn == aws_dynamodb_table.this[0].stream_arn
    error_message = "The stream ARN is exported for instances sharing the table."
  }
}

run "circuit_events_disabled" {
  variables {
    circuit_events = { enabled = false }
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this), "circuit_events") && length(aws_lambda_event_source_mapping.circuit_events) == 0 && length(aws_dynamodb_table.sent_circuit_events) == 0
    error_message = "circuit_events.enabled = false creates no events function, mapping or sent-events table."
  }
  assert {
    condition     = aws_dynamodb_table.this[0].stream_enabled && output.dynamodb_table_stream_arn == aws_dynamodb_table.this[0].stream_arn && output.circuit_event_pattern != null
    error_message = "Without this instance's circuit events the table keeps its stream: instances sharing it may read it."
  }
}

run "circuit_events_on_a_shared_table" {
  variables {
    create_table     = false
    table_name       = "platform-circuits"
    allowed_circuits = ["orders-eu"]
    circuit_events   = { table_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/platform-circuits/stream/2026-01-01T00:00:00.000" }
  }
  assert {
    condition     = aws_lambda_event_source_mapping.circuit_events[0].event_source_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/platform-circuits/stream/2026-01-01T00:00:00.000"
    error_message = "An existing table's stream is the one passed in."
  }
  assert {
    condition     = toset(jsondecode(one(one(aws_lambda_event_source_mapping.circuit_events[0].filter_criteria).filter).pattern).dynamodb.Keys.id.S) == toset(["orders", "orders-eu"])
    error_message = "On a shared table each instance sees only its own circuits: no event twice from two instances."
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function["circuit_events"].statement : s.resources if s.sid == "ReadTableStream"]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/platform-circuits/stream/*"])
    error_message = "The stream permissions name the shared table's streams."
  }
  assert {
    condition     = output.dynamodb_table_stream_arn == null
    error_message = "An instance that does not create the table exports no stream of its own."
  }
}

run "a_bus_of_your_own_a_source_and_an_on_failure_destination" {
  variables {
    circuit_events = {
      event_bus_name             = "arn:aws:events:eu-west-1:123456789012:event-bus/ops"
      source                     = "acme.circuits"
      on_failure_destination_arn = "arn:aws:sqs:eu-west-1:123456789012:circuit-events-dlq"
    }
    notifications = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops" }
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function["circuit_events"].statement : s.resources if s.sid == "PutCircuitEvents"]) == toset(["arn:aws:events:eu-west-1:123456789012:event-bus/ops"])
    error_message = "A bus given by ARN is granted as such."
  }
  assert {
    condition     = aws_lambda_function.this["circuit_events"].environment[0].variables.EVENT_BUS_NAME == "arn:aws:events:eu-west-1:123456789012:event-bus/ops" && aws_lambda_function.this["circuit_events"].environment[0].variables.EVENT_SOURCE == "acme.circuits"
    error_message = "The function puts events on the bus and with the source given."
  }
  assert {
    condition     = one(one(aws_lambda_event_source_mapping.circuit_events[0].destination_config).on_failure).destination_arn == "arn:aws:sqs:eu-west-1:123456789012:circuit-events-dlq"
    error_message = "Records given up after the retries are described to the on-failure destination."
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function["circuit_events"].statement : s.actions if s.sid == "OnFailureDestination"]) == toset(["sqs:SendMessage"])
    error_message = "The function's role may send to the on-failure queue (Lambda sends with it)."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.notifications[0].event_bus_name == "arn:aws:events:eu-west-1:123456789012:event-bus/ops" && jsondecode(aws_cloudwatch_event_rule.notifications[0].event_pattern).source == ["acme.circuits"]
    error_message = "The notification rule listens on the same bus, for the same source."
  }
}

run "notifications_with_the_default_statuses" {
  variables {
    notifications = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops" }
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.notifications[0].event_pattern) == { source = ["circuit-breaker"], "detail-type" = ["Circuit State Change"], resources = ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders-circuits"], detail = { circuitName = ["orders"], "$or" = [
      { status = ["FORCED_OPEN", "FORCED_CLOSED", "CLOSED"] },
      { status = ["OPEN"], previousStatus = [{ "anything-but" = ["HALF_OPEN"] }] },
    ] } }
    error_message = "By default: to OPEN (not a failed probe's reopen), the overrides, and back to CLOSED, for this instance's circuits only."
  }
  assert {
    condition     = aws_cloudwatch_event_target.notifications[0].arn == "arn:aws:sns:eu-west-1:123456789012:ops" && aws_cloudwatch_event_target.notifications[0].rule == aws_cloudwatch_event_rule.notifications[0].name && aws_cloudwatch_event_target.notifications[0].event_bus_name == "default"
    error_message = "The rule targets the notification topic."
  }
  assert {
    condition     = aws_cloudwatch_event_target.notifications[0].input_path == "$.detail.summary" && length(aws_cloudwatch_event_target.notifications[0].input_transformer) == 0
    error_message = "The message is the event's summary as the function wrote it (JSON), not a template that would insert free text unescaped."
  }
  assert {
    condition     = output.notification_rule_arn == aws_cloudwatch_event_rule.notifications[0].arn
    error_message = "The rule's ARN is an output."
  }
}

run "notifications_choose_statuses" {
  variables {
    notifications = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops", statuses = ["OPEN", "HALF_OPEN"], reopens = true }
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.notifications[0].event_pattern).detail.status == ["OPEN", "HALF_OPEN"]
    error_message = "The chosen statuses are the ones that notify, reopens included when asked."
  }
}

run "notifications_on_open_only" {
  variables {
    notifications = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops", statuses = ["OPEN"] }
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.notifications[0].event_pattern).detail["$or"] == [{ status = ["OPEN"], previousStatus = [{ "anything-but" = ["HALF_OPEN"] }] }]
    error_message = "OPEN alone: when the circuit opens, not when a failed probe reopens it."
  }
}

run "events_pipeline_alarms_page_the_alarm_topic" {
  assert {
    condition     = aws_cloudwatch_metric_alarm.events_pipeline["events_iterator_age"].metric_name == "IteratorAge" && aws_cloudwatch_metric_alarm.events_pipeline["events_iterator_age"].statistic == "Maximum" && aws_cloudwatch_metric_alarm.events_pipeline["events_iterator_age"].threshold == 300000 && aws_cloudwatch_metric_alarm.events_pipeline["events_iterator_age"].dimensions == tomap({ FunctionName = "orders-circuit-events" })
    error_message = "A stalled or lagging events pipeline alarms on the events function's IteratorAge (5 minutes by default)."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.events_pipeline["events_errors"].metric_name == "Errors" && aws_cloudwatch_metric_alarm.events_pipeline["events_errors"].dimensions == tomap({ FunctionName = aws_lambda_function.this["circuit_events"].function_name })
    error_message = "A crashing events function alarms on its Errors."
  }
  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.events_pipeline : alarm.alarm_actions == toset([aws_sns_topic.alarms.arn]) && alarm.ok_actions == toset([aws_sns_topic.alarms.arn]) && alarm.treat_missing_data == "notBreaching"])
    error_message = "The pipeline alarms notify the alarm topic, like the store-errors alarm; no records is no lag."
  }
  assert {
    condition     = jsondecode(aws_lambda_function.this["alarm_handler"].environment[0].variables.ALARMS)["orders-events-iterator-age"] == { circuit = "orders", role = "events_pipeline" } && !contains(keys(aws_cloudwatch_metric_alarm.events_pipeline), "notifications_failed")
    error_message = "The alarm handler knows the pipeline alarms (notify only); without notifications there is no delivery alarm."
  }
  assert {
    condition     = output.cloudwatch_alarm_names.events_iterator_age == "orders-events-iterator-age" && output.cloudwatch_alarm_arns.events_errors == aws_cloudwatch_metric_alarm.events_pipeline["events_errors"].arn
    error_message = "The outputs name every alarm."
  }
}

run "notification_delivery_alarm_and_dead_letter_queue" {
  variables {
    circuit_events = { event_bus_name = "platform" }
    notifications  = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops", dead_letter_arn = "arn:aws:sqs:eu-west-1:123456789012:ops-undelivered" }
  }
  assert {
    condition     = one(aws_cloudwatch_event_target.notifications[0].dead_letter_config).arn == "arn:aws:sqs:eu-west-1:123456789012:ops-undelivered" && one(aws_cloudwatch_event_target.notifications[0].retry_policy).maximum_event_age_in_seconds == 86400
    error_message = "Undelivered notifications are retried for a day, then go to the dead-letter queue."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.events_pipeline["notifications_failed"].metric_name == "DeadLetterInvocations" && aws_cloudwatch_metric_alarm.events_pipeline["notifications_failed"].dimensions == tomap({ EventBusName = "platform", RuleName = aws_cloudwatch_event_rule.notifications[0].name })
    error_message = "Messages given up to the queue alarm, with the dimensions AWS/Events uses for a rule of a custom bus."
  }
}

run "notification_delivery_alarm_without_a_queue" {
  variables {
    notifications = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops" }
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.events_pipeline["notifications_failed"].metric_name == "FailedInvocations" && aws_cloudwatch_metric_alarm.events_pipeline["notifications_failed"].dimensions == tomap({ RuleName = "orders-circuit-notifications" }) && length(aws_cloudwatch_event_target.notifications[0].dead_letter_config) == 0
    error_message = "Without a queue, messages EventBridge gives up count as FailedInvocations of the rule (default bus: RuleName alone)."
  }
}

run "no_pipeline_alarms_without_circuit_events_or_when_disabled" {
  variables {
    circuit_events        = { enabled = false }
    events_pipeline_alarm = { iterator_age_seconds = 60 }
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.events_pipeline) == 0
    error_message = "No events pipeline, no pipeline alarms."
  }
}

run "rejects_an_iterator_age_beyond_the_stream_retention" {
  command = plan
  variables {
    events_pipeline_alarm = { iterator_age_seconds = 90000 }
  }
  expect_failures = [var.events_pipeline_alarm]
}

run "rejects_a_dead_letter_target_that_is_not_a_queue" {
  command = plan
  variables {
    notifications = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops", dead_letter_arn = "arn:aws:sns:eu-west-1:123456789012:ops" }
  }
  expect_failures = [var.notifications]
}

run "dashboard_of_an_unqualified_downstream" {
  variables {
    create_dashboard = true
  }
  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "orders-circuit-breaker-eu-west-1" && output.cloudwatch_dashboard_arn == aws_cloudwatch_dashboard.this[0].dashboard_arn
    error_message = "One dashboard per instance, named after it and its region (dashboards are account-wide)."
  }
  assert {
    condition     = alltrue(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : slice(m, 0, 4) == ["AWS/Lambda", m[1], "FunctionName", "orders-api"] && (length(m) == 4 || !can(tostring(m[4]))) if startswith(w.properties.title, "Downstream")]]))
    error_message = "An unqualified downstream's metrics carry its FunctionName only."
  }
  assert {
    condition     = toset(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : "${m[1]}${try(m[4].stat, "")}" if startswith(w.properties.title, "Downstream")]])) == toset(["Invocations", "Errors", "Throttles", "Durationp90", "Durationp99"])
    error_message = "The downstream's invocations, errors, throttles and p90/p99 duration are shown."
  }
  assert {
    condition     = alltrue(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : can(length(m)) && !can(tostring(m))]]))
    error_message = "Every metric of a widget is an array (namespace, name, dimensions, options), as CloudWatch reads them."
  }
  assert {
    condition     = length(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : m if m[0] == "CircuitBreaker"]])) >= 10
    error_message = "The dashboard reads the module's own metrics."
  }
  assert {
    condition     = alltrue(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : m[0] == "CircuitBreaker" ? slice(m, 2, 6) == ["circuit", "orders", "service", "orders"] : true if can(tostring(m[0]))]]))
    error_message = "The module's own metrics are read with the circuit and service dimensions Powertools emits."
  }
  assert {
    condition     = [for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.annotations.alarms if can(w.properties.annotations.alarms)] == [[aws_cloudwatch_metric_alarm.downstream[0].arn], [aws_cloudwatch_metric_alarm.events_pipeline["events_errors"].arn], [aws_cloudwatch_metric_alarm.events_pipeline["events_iterator_age"].arn], [aws_cloudwatch_metric_alarm.store_errors[0].arn]]
    error_message = "Without a healthcheck, the downstream, events pipeline and store alarms are shown with their thresholds."
  }
  assert {
    condition     = !anytrue([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : startswith(w.properties.title, "Healthcheck")])
    error_message = "Without a healthcheck there is no healthcheck widget."
  }
}

run "dashboard_of_an_aliased_downstream_with_a_healthcheck" {
  variables {
    create_dashboard        = true
    downstream_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api:live"
    healthcheck             = { function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-health" }
  }
  assert {
    condition     = alltrue(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : slice(m, 0, 6) == ["AWS/Lambda", m[1], "FunctionName", "orders-api", "Resource", "orders-api:live"] if startswith(w.properties.title, "Downstream")]]))
    error_message = "An aliased downstream's metrics carry FunctionName and Resource = name:alias, as Lambda publishes them."
  }
  assert {
    condition     = toset(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : join(" ", m) if startswith(w.properties.title, "Healthcheck")]])) == toset(["AWS/Lambda Invocations FunctionName orders-health", "AWS/Lambda Errors FunctionName orders-health"])
    error_message = "The healthcheck's invocations and errors are shown with its own dimensions."
  }
  assert {
    condition     = [for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : one(w.properties.annotations.alarms) if can(w.properties.annotations.alarms)] == [aws_cloudwatch_metric_alarm.downstream[0].arn, aws_cloudwatch_metric_alarm.events_pipeline["events_errors"].arn, aws_cloudwatch_metric_alarm.events_pipeline["events_iterator_age"].arn, aws_cloudwatch_metric_alarm.healthcheck[0].arn, aws_cloudwatch_metric_alarm.store_errors[0].arn]
    error_message = "Every alarm is shown with its threshold."
  }
}

run "dashboard_without_circuit_events" {
  variables {
    create_dashboard = true
    circuit_events   = { enabled = false }
  }
  assert {
    condition     = !strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "EventsPublished") && !strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "orders-circuit-events")
    error_message = "Without circuit events the dashboard shows no events metric or function."
  }
  assert {
    condition     = !anytrue([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : startswith(w.properties.title, "Circuit state")])
    error_message = "The state widget reads the events function's State levels: without circuit events it is left out."
  }
}

run "rejects_a_shared_table_stream_of_another_table" {
  command = plan
  variables {
    create_table   = false
    table_name     = "platform-circuits"
    circuit_events = { table_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/another-table/stream/2026-01-01T00:00:00.000" }
  }
  expect_failures = [aws_lambda_event_source_mapping.circuit_events]
}

run "a_table_without_a_stream" {
  command = plan
  variables {
    circuit_events       = { enabled = false }
    table_stream_enabled = false
  }
  assert {
    condition     = output.dynamodb_table_stream_arn == null && !aws_dynamodb_table.this[0].stream_enabled && length(aws_lambda_event_source_mapping.circuit_events) == 0
    error_message = "table_stream_enabled = false: no stream to pass to other instances."
  }
}

run "rejects_a_table_without_a_stream_for_circuit_events" {
  command = plan
  variables {
    table_stream_enabled = false
  }
  expect_failures = [var.table_stream_enabled]
}

run "one_instance_publishes_every_circuit_of_a_shared_table" {
  variables {
    circuit_events = { circuits = "table" }
  }
  assert {
    condition     = length(aws_lambda_event_source_mapping.circuit_events[0].filter_criteria) == 0
    error_message = "circuits = \"table\": the mapping passes every circuit of the table to the function (one reader for all)."
  }
}

run "notifications_of_an_instance_whose_table_another_publishes" {
  variables {
    create_table   = false
    table_name     = "platform-circuits"
    circuit_events = { enabled = false }
    notifications  = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops" }
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.notifications[0].event_pattern).resources == ["arn:aws:dynamodb:eu-west-1:123456789012:table/platform-circuits"] && jsondecode(aws_cloudwatch_event_rule.notifications[0].event_pattern).detail.circuitName == ["orders"]
    error_message = "The rule matches this instance's circuits of the shared table, published by the instance that publishes the whole table."
  }
  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.events_pipeline) == ["notifications_failed"]
    error_message = "Without its own pipeline, only the delivery of its notifications is alarmed."
  }
}

run "rejects_an_unknown_circuits_scope" {
  command = plan
  variables {
    circuit_events = { circuits = "mine" }
  }
  expect_failures = [var.circuit_events]
}

run "rejects_a_pipeline_alarm_over_more_than_a_day_of_minutes" {
  command = plan
  variables {
    events_pipeline_alarm = { evaluation_periods = 1441 }
  }
  expect_failures = [var.events_pipeline_alarm]
}
