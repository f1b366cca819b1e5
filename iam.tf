################################################################################
# Least privilege: one role per function, one for the state machine, one for the schedule
################################################################################

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Circuits each function may touch: DynamoDB's LeadingKeys condition scopes the table by item.
  function_circuits = {
    check_circuit  = distinct(concat([local.circuit_name], var.allowed_circuits))
    record_outcome = distinct(concat([local.circuit_name], var.allowed_circuits))
    alarm_handler  = [local.circuit_name]
  }
  # What DynamoDB's LeadingKeys condition can name: partition keys. In a single table (table_key with a sort key) every
  # circuit shares one.
  function_leading_keys = {
    for function, circuits in local.function_circuits : function => var.table_key.sort_key == null ? circuits : [var.table_key.partition_value]
  }

  # Role names are global to the account: with a prefix (Terraform appends a unique suffix) the same
  # `name` can be deployed in several regions. IAM allows prefixes of at most 38 characters.
  role_name_prefix = {
    check_circuit  = "${substr(var.name, 0, 24)}-check-"
    record_outcome = "${substr(var.name, 0, 24)}-record-"
    alarm_handler  = "${substr(var.name, 0, 24)}-alarm-"
    circuit_events = "${substr(var.name, 0, 24)}-events-"
    state_machine  = "${substr(var.name, 0, 24)}-sfn-"
    scheduler      = "${substr(var.name, 0, 24)}-schedule-"
  }
  role_description = "Circuit breaker ${var.name} in ${data.aws_region.current.region}"

  # A qualified ARN must be granted as such; unqualified grants cover $LATEST only.
  invoked_function_arns = compact(concat(
    [aws_lambda_function.this["check_circuit"].arn, aws_lambda_function.this["record_outcome"].arn, var.downstream_function_arn],
    local.fallback_mode == "function" ? [var.fallback_function_arn] : [],
  ))
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.module_functions

  name_prefix        = local.role_name_prefix[each.key]
  description        = "${local.role_description}: ${replace(each.key, "_", " ")}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags

  # A replaced role (0.1.0's fixed names became prefixes) exists before the old one goes, so the state
  # machine and functions are never left pointing at a deleted role during an upgrade.
  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "function" {
  for_each = local.module_functions

  dynamic "statement" {
    # The events function reads the table's stream, never its items.
    for_each = contains(keys(local.function_leading_keys), each.key) ? [local.function_leading_keys[each.key]] : []
    content {
      sid       = "CircuitItems"
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [local.table_arn]
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "dynamodb:LeadingKeys"
        values   = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "circuit_events" ? [1] : []
    content {
      sid       = "ReadTableStream"
      actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
      resources = ["${local.table_arn}/stream/*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "circuit_events" ? [1] : []
    content {
      sid       = "SentEvents"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
      resources = [local.sent_events_table_arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "circuit_events" ? [1] : []
    content {
      sid       = "PutCircuitEvents"
      actions   = ["events:PutEvents"]
      resources = [local.event_bus_arn]
    }
  }

  dynamic "statement" {
    # Queue consumers paused while the circuit is open (lambdas/circuit_breaker/event_sources.py).
    for_each = each.key == "circuit_events" && length(var.event_source_mappings) > 0 ? [1] : []
    content {
      sid       = "PauseEventSources"
      actions   = ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"]
      resources = [for uuid in var.event_source_mappings : "arn:${local.partition}:lambda:${data.aws_region.current.region}:${local.account_id}:event-source-mapping:${uuid}"]
    }
  }

  dynamic "statement" {
    # The event source mapping sends what it gives up on with the function's role.
    for_each = each.key == "circuit_events" && var.circuit_events.on_failure_destination_arn != null ? [var.circuit_events.on_failure_destination_arn] : []
    content {
      sid       = "OnFailureDestination"
      actions   = [strcontains(statement.value, ":sqs:") ? "sqs:SendMessage" : "sns:Publish"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  dynamic "statement" {
    for_each = var.table_kms_key_arn != null ? [1] : []
    content {
      sid       = "TableKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.table_kms_key_arn]
    }
  }

  dynamic "statement" {
    # X-Ray's segment APIs take no resource ARN.
    for_each = var.tracing_enabled ? [1] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.module_functions

  name   = "circuit-breaker"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json

  lifecycle {
    create_before_destroy = true # with its role: the new role has its permissions before the old one goes
  }
}

data "aws_iam_policy_document" "state_machine_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name_prefix        = local.role_name_prefix.state_machine
  description        = "${local.role_description}: state machine"
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume.json
  tags               = var.tags

  # A replaced role (0.1.0's fixed names became prefixes) exists before the old one goes, so the state
  # machine and functions are never left pointing at a deleted role during an upgrade.
  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid       = "InvokeFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = local.invoked_function_arns
  }

  statement {
    # ReadCircuit and ReadAfterCall: the state machine reads its circuits itself (the input may select an allowed one).
    sid       = "ReadCircuit"
    actions   = ["dynamodb:GetItem"]
    resources = [local.table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = local.function_leading_keys.check_circuit
    }
  }

  statement {
    # ResetFailures: a success that completes while failures are pending takes them off; nothing else is written.
    sid       = "ResetFailures"
    actions   = ["dynamodb:UpdateItem"]
    resources = [local.table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = local.function_leading_keys.check_circuit
    }
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:Attributes"
      values   = concat(local.table_key_attributes, ["failure_count", "failures_total", "failures_cleared", "state", "override", "generation"])
    }
  }

  statement {
    # CountStoreError: the state check could not answer; only the module's own metric namespace.
    #checkov:skip=CKV_AWS_356:cloudwatch:PutMetricData has no resource-level permissions; the namespace condition limits it.
    sid       = "CountStoreErrors"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.metrics_namespace]
    }
  }

  dynamic "statement" {
    for_each = var.table_kms_key_arn != null ? [1] : []
    content {
      sid       = "TableKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.table_kms_key_arn]
    }
  }

  statement {
    #checkov:skip=CKV_AWS_111:CloudWatch Logs log delivery APIs for Step Functions do not support resource-level permissions.
    #checkov:skip=CKV_AWS_356:Same: AWS documents Resource "*" for these log delivery actions.
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.tracing_enabled ? [1] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "circuit-breaker"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json

  lifecycle {
    create_before_destroy = true # with its role: the new role has its permissions before the old one goes
  }
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = local.schedules_enabled ? 1 : 0

  name_prefix        = local.role_name_prefix.scheduler
  description        = "${local.role_description}: ${join(" and ", compact([local.healthcheck_enabled ? "healthcheck" : "", local.probe_enabled ? "probe" : ""]))} schedule"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags

  # A replaced role (0.1.0's fixed names became prefixes) exists before the old one goes, so the state
  # machine and functions are never left pointing at a deleted role during an upgrade.
  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "scheduler" {
  count = local.schedules_enabled ? 1 : 0

  dynamic "statement" {
    for_each = local.healthcheck_enabled ? [var.healthcheck.function_arn] : []
    content {
      sid       = "RunHealthcheck"
      actions   = ["lambda:InvokeFunction"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.probe_enabled ? [1] : []
    content {
      sid       = "RunProbe"
      actions   = ["states:StartExecution"]
      resources = [local.state_machine_arn]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = local.schedules_enabled ? 1 : 0

  name   = "run-schedules"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json

  lifecycle {
    create_before_destroy = true # with its role: the new role has its permissions before the old one goes
  }
}

################################################################################
# Ready-made policies for operators (circuitctl); the module attaches them to nobody
################################################################################

data "aws_iam_policy_document" "operator" {
  for_each = toset(["read_only", "read_write"])

  statement {
    # `circuitctl list` scans: a dynamodb:LeadingKeys condition cannot restrict a Scan, so it sees every circuit in the table.
    # In a single table it queries the circuits' partition instead.
    sid       = "ListCircuits"
    actions   = var.table_key.sort_key == null ? ["dynamodb:Scan"] : ["dynamodb:Query"]
    resources = [local.table_arn]
    dynamic "condition" {
      for_each = var.table_key.sort_key == null ? [] : [1]
      content {
        test     = "ForAllValues:StringEquals"
        variable = "dynamodb:LeadingKeys"
        values   = [var.table_key.partition_value]
      }
    }
  }

  statement {
    sid       = each.key == "read_write" ? "ShowAndOverrideCircuits" : "ShowCircuits"
    actions   = each.key == "read_write" ? ["dynamodb:GetItem", "dynamodb:UpdateItem"] : ["dynamodb:GetItem"]
    resources = [local.table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = local.function_leading_keys.check_circuit
    }
  }

  dynamic "statement" {
    for_each = var.table_kms_key_arn != null ? [1] : []
    content {
      sid       = "TableKey"
      actions   = each.key == "read_write" ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"]
      resources = [var.table_kms_key_arn]
    }
  }
}

# What a caller of the state machine needs (circuit_breaker.caller.invoke): EXPRESS runs synchronously; a STANDARD
# execution is started, then described until it ends.
data "aws_iam_policy_document" "caller" {
  statement {
    sid       = var.type == "EXPRESS" ? "RunSynchronously" : "StartExecutions"
    actions   = var.type == "EXPRESS" ? ["states:StartSyncExecution"] : ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  dynamic "statement" {
    for_each = var.type == "STANDARD" ? [1] : []
    content {
      sid       = "DescribeExecutions"
      actions   = ["states:DescribeExecution"]
      resources = ["${replace(local.state_machine_arn, ":stateMachine:", ":execution:")}:*"]
    }
  }
}
