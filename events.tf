################################################################################
# Circuit events: the table's stream becomes "Circuit State Change" events on EventBridge
################################################################################

locals {
  circuit_events_enabled = var.circuit_events.enabled

  # Deployed with the other functions (local.module_functions in lambda.tf) when circuit events are on.
  circuit_events_function = {
    circuit_events = { handler = "circuit_events.handler.lambda_handler", timeout = 60 }
  }

  # The table created here gets its stream; an existing (shared) table's stream is passed in.
  table_stream_arn = var.create_table ? aws_dynamodb_table.this[0].stream_arn : var.circuit_events.table_stream_arn

  # The bus may be given by name or ARN; IAM and the rule need its ARN.
  event_bus_arn = startswith(var.circuit_events.event_bus_name, "arn:") ? var.circuit_events.event_bus_name : (
    "arn:${local.partition}:events:${data.aws_region.current.region}:${local.account_id}:event-bus/${var.circuit_events.event_bus_name}"
  )

  sent_events_table_name = "${var.name}-sent-circuit-events"
  sent_events_table_arn  = "arn:${local.partition}:dynamodb:${data.aws_region.current.region}:${local.account_id}:table/${local.sent_events_table_name}"

  # Read by lambdas/circuit_breaker/events.py (ENVIRONMENT); tests/test_contract.py keeps the two equal.
  circuit_events_environment = {
    EVENT_BUS_NAME               = var.circuit_events.event_bus_name
    EVENT_SOURCE                 = var.circuit_events.source
    SENT_EVENTS_TABLE_NAME       = local.sent_events_table_name
    CIRCUIT_BREAKER_NAME         = var.name
    MODE                         = var.mode
    TABLE_KEY                    = jsonencode(var.table_key)
    EVENT_SOURCE_MAPPINGS        = jsonencode(length(var.event_source_mappings) > 0 ? { (local.circuit_name) = var.event_source_mappings } : {})
    POWERTOOLS_SERVICE_NAME      = var.name
    POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  # This instance's circuit events as a rule matches them (lambdas/circuit_breaker/events.py: DETAIL_TYPE): its circuits
  # of its table, whichever instance published them (circuit_events.circuits = "table" publishes a shared table's all).
  circuit_event_pattern = {
    source        = [var.circuit_events.source]
    "detail-type" = ["Circuit State Change"]
    resources     = [local.table_arn]
    detail        = { circuitName = local.function_circuits.check_circuit }
  }
}

# Which sent events the function already put on the bus: a retried or replayed stream batch sends
# nothing twice. EventBridge itself does not deduplicate.
resource "aws_dynamodb_table" "sent_circuit_events" {
  #checkov:skip=CKV_AWS_28:Entries live two days (TTL) and only guard against resending; nothing to recover.
  count = local.circuit_events_enabled ? 1 : 0

  name         = local.sent_events_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.table_kms_key_arn
  }

  tags = var.tags
}

resource "aws_lambda_event_source_mapping" "circuit_events" {
  count = local.circuit_events_enabled ? 1 : 0

  event_source_arn = local.table_stream_arn
  function_name    = aws_lambda_function.this["circuit_events"].arn
  # From the oldest record the stream holds: a mapping replaced by an apply misses none of the changes made meanwhile,
  # and the sent-events table keeps the replayed ones from being sent twice.
  starting_position = "TRIM_HORIZON"

  batch_size                         = var.circuit_events.batch_size
  maximum_batching_window_in_seconds = var.circuit_events.maximum_batching_window_in_seconds
  maximum_retry_attempts             = var.circuit_events.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.circuit_events.maximum_record_age_in_seconds
  # Lambda keeps each item's records in order at any factor; one batch per shard at a time also
  # keeps the sent-events table's writes for a shard in order, and the load small.
  parallelization_factor         = 1
  bisect_batch_on_function_error = true
  # The handler reports the first record it could not publish; Lambda retries from there.
  function_response_types = ["ReportBatchItemFailures"]

  # Only this instance's circuits: a shared table's other circuits belong to other instances (unless this instance
  # publishes the whole table's). In a single table, only the circuits' partition: its other items are no circuits.
  dynamic "filter_criteria" {
    for_each = var.circuit_events.circuits == "own" || var.table_key.sort_key != null ? [1] : []
    content {
      filter {
        pattern = jsonencode({ dynamodb = { Keys = merge(
          { for attribute, key in local.circuit_partition : attribute => { S = [key.S] } },
          var.circuit_events.circuits == "own" ? { (local.circuit_key_attribute) = { S = local.function_circuits.check_circuit } } : {},
        ) } })
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.create_table || startswith(local.table_stream_arn, "${local.table_arn}/stream/")
      error_message = "circuit_events.table_stream_arn must be a stream of the circuit table (${local.table_arn}/stream/...)."
    }
  }

  dynamic "destination_config" {
    for_each = var.circuit_events.on_failure_destination_arn != null ? [var.circuit_events.on_failure_destination_arn] : []
    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }

  tags = var.tags

  # Lambda checks at creation that the function's role can read the stream.
  depends_on = [aws_iam_role_policy.function]
}

################################################################################
# Notifications: the chosen transitions to an SNS topic
################################################################################

locals {
  notify_statuses = var.notifications == null ? [] : var.notifications.statuses
  notify_others   = [for status in local.notify_statuses : status if status != "OPEN"]
  # A failed probe's reopen (HALF_OPEN -> OPEN) is not news during an outage: OPEN notifies when the circuit opens, and
  # reopens stay on the bus and the dashboard unless notifications.reopens says otherwise. JSON text: the two shapes of
  # filter are different object types to Terraform.
  notification_status_filter = contains(local.notify_statuses, "OPEN") && !try(var.notifications.reopens, false) ? jsonencode({
    "$or" = concat(
      length(local.notify_others) > 0 ? [{ status = local.notify_others }] : [],
      [{ status = ["OPEN"], previousStatus = [{ "anything-but" = ["HALF_OPEN"] }] }],
    )
  }) : jsonencode({ status = local.notify_statuses })
}

resource "aws_cloudwatch_event_rule" "notifications" {
  count = var.notifications != null ? 1 : 0

  name           = "${var.name}-circuit-notifications"
  description    = "Circuit breaker ${var.name}: circuit changes to ${join(", ", var.notifications.statuses)}, to the notification topic."
  event_bus_name = var.circuit_events.event_bus_name
  event_pattern = jsonencode(merge(local.circuit_event_pattern, {
    detail = merge(local.circuit_event_pattern.detail, jsondecode(local.notification_status_filter))
  }))

  tags = var.tags
}

locals {
  notification_dead_letter = try(var.notifications.dead_letter_arn, null) != null
  # AWS/Events names a rule of the default bus by RuleName alone, a rule of another bus by EventBusName too.
  event_bus_short_name = element(split("/", var.circuit_events.event_bus_name), length(split("/", var.circuit_events.event_bus_name)) - 1)
  notification_rule_dimensions = merge(
    local.event_bus_short_name == "default" ? {} : { EventBusName = local.event_bus_short_name },
    { RuleName = "${var.name}-circuit-notifications" },
  )
}

resource "aws_cloudwatch_event_target" "notifications" {
  count = var.notifications != null ? 1 : 0

  rule           = aws_cloudwatch_event_rule.notifications[0].name
  event_bus_name = var.circuit_events.event_bus_name
  target_id      = "notification-topic"
  arn            = var.notifications.topic_arn

  # EventBridge retries a failed delivery for up to 24 hours, then drops it, or sends it to the dead-letter queue.
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dynamic "dead_letter_config" {
    for_each = local.notification_dead_letter ? [var.notifications.dead_letter_arn] : []
    content {
      arn = dead_letter_config.value
    }
  }

  # The event's one-line summary, which the events function writes as JSON: an input template would insert the
  # operator's free text unescaped (EventBridge escapes nothing it inserts), and a quote or newline in a reason would
  # break the message. The topic receives it as a JSON string.
  input_path = "$.detail.summary"
}
