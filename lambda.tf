################################################################################
# The module's functions: each zip holds its handler package and the shared `circuit_breaker` core
################################################################################

locals {
  functions = {
    check_circuit  = { handler = "check_circuit.handler.lambda_handler", timeout = 10 }
    record_outcome = { handler = "record_outcome.handler.lambda_handler", timeout = 10 }
    alarm_handler  = { handler = "alarm_handler.handler.lambda_handler", timeout = 30 }
  }
  # Every function the module deploys: the three above, and the circuit events function when enabled (events.tf).
  module_functions = merge(local.functions, local.circuit_events_enabled ? local.circuit_events_function : {})

  # Where the functions' EMF metrics go (POWERTOOLS_METRICS_NAMESPACE); the dashboard reads them there.
  metrics_namespace = "CircuitBreaker"

  # The public Powertools layer is published from this account in the aws partition only.
  powertools_layer_arn = var.powertools_layer_arn != null ? var.powertools_layer_arn : (
    "arn:aws:lambda:${data.aws_region.current.region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-${replace(var.lambda_runtime, ".", "")}-${var.lambda_architecture}:${var.powertools_layer_version}"
  )

  # Log levels as Lambda's application_log_level names them.
  lambda_log_levels = { DEBUG = "DEBUG", INFO = "INFO", WARNING = "WARN", ERROR = "ERROR" }

  # Each instance builds its own zips: several instances in one configuration must not share a path.
  build_directory = "${path.root}/.build/circuit-breaker/${data.aws_region.current.region}/${var.name}"

  alarm_bindings = merge(
    var.downstream_alarm.enabled ? { (local.alarm_names.downstream) = { circuit = local.circuit_name, role = "downstream" } } : {},
    local.healthcheck_enabled ? { (local.alarm_names.healthcheck) = { circuit = local.circuit_name, role = "healthcheck" } } : {},
    var.store_error_alarm.enabled ? { (local.alarm_names.store_errors) = { circuit = local.circuit_name, role = "store_errors" } } : {},
    { for key in keys(local.events_pipeline_alarms) : local.events_pipeline_alarm_names[key] => { circuit = local.circuit_name, role = "events_pipeline" } },
  )

  # Read by lambdas/circuit_breaker/settings.py (ENVIRONMENT); tests/test_contract.py keeps the two equal.
  function_environment = {
    TABLE_NAME                   = local.table_name
    TABLE_KEY                    = jsonencode(var.table_key)
    CIRCUIT_NAME                 = local.circuit_name
    ALLOWED_CIRCUITS             = jsonencode(var.allowed_circuits)
    FAILURE_THRESHOLD            = tostring(var.failure_threshold)
    SUCCESS_THRESHOLD            = tostring(var.success_threshold)
    HALF_OPEN_MAX_PROBES         = tostring(var.half_open_max_probes)
    OPEN_DURATION_SECONDS        = tostring(var.open_duration_seconds)
    MAX_OPEN_DURATION_SECONDS    = tostring(var.max_open_duration_seconds)
    PROBE_LEASE_SECONDS          = tostring(local.probe_lease_seconds)
    ON_STORE_ERROR               = var.on_store_error
    IGNORED_ERRORS               = jsonencode(var.ignored_errors)
    COUNTED_ERRORS               = jsonencode(var.counted_errors)
    HEALTHCHECK_RECOVERY         = local.healthcheck_enabled ? var.healthcheck.recovery : "close"
    INSUFFICIENT_DATA            = var.insufficient_data
    ALARMS                       = jsonencode(local.alarm_bindings)
    FALLBACK_MODE                = local.fallback_mode
    RETRY_AFTER_PATH             = var.retry_after_path == null ? "" : var.retry_after_path
    MODE                         = var.mode
    RAMP_UP_SECONDS              = tostring(var.ramp_up_seconds)
    POWERTOOLS_SERVICE_NAME      = var.name
    POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }
}

data "archive_file" "function" {
  for_each = local.module_functions

  type        = "zip"
  output_path = "${local.build_directory}/${each.key}.zip"

  dynamic "source" {
    for_each = merge(
      { for file in fileset("${path.module}/lambdas/circuit_breaker", "*.py") : "circuit_breaker/${file}" => "${path.module}/lambdas/circuit_breaker/${file}" },
      { for file in fileset("${path.module}/lambdas/${each.key}", "*.py") : "${each.key}/${file}" => "${path.module}/lambdas/${each.key}/${file}" },
    )
    content {
      content  = file(source.value)
      filename = source.key
    }
  }
}

resource "aws_lambda_function" "this" {
  for_each = local.module_functions
  #checkov:skip=CKV_AWS_116:The state machine retries and records failures of the synchronous functions; the alarm handler relies on SNS's asynchronous retries (event_invoke_config below); the events function on its event source mapping's retries and on-failure destination.
  #checkov:skip=CKV_AWS_117:The functions only call DynamoDB and CloudWatch Logs; a VPC would add NAT or endpoints for nothing.
  #checkov:skip=CKV_AWS_173:The environment holds configuration only (names, thresholds), no secrets.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; out of scope for the module's own small packages.
  #checkov:skip=CKV_AWS_115:Reserved concurrency would throttle the state check exactly when traffic peaks; the account limit applies.

  function_name    = "${var.name}-${replace(each.key, "_", "-")}"
  description      = "Circuit breaker ${var.name}: ${replace(each.key, "_", " ")}"
  role             = aws_iam_role.function[each.key].arn
  handler          = each.value.handler
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  memory_size      = var.lambda_memory_size
  timeout          = each.value.timeout
  filename         = data.archive_file.function[each.key].output_path
  source_code_hash = data.archive_file.function[each.key].output_base64sha256
  layers           = [local.powertools_layer_arn]

  environment {
    variables = each.key == "circuit_events" ? local.circuit_events_environment : local.function_environment
  }

  tracing_config {
    mode = var.tracing_enabled ? "Active" : "PassThrough"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
    # Lambda filters JSON logs itself and its level outranks POWERTOOLS_LOG_LEVEL: both follow log_level.
    application_log_level = local.lambda_log_levels[var.log_level]
    # INFO keeps the platform's REPORT line (duration, memory, init time) of every invocation; the
    # functions run only off the healthy path, so it costs little.
    system_log_level = "INFO"
  }

  lifecycle {
    precondition {
      condition     = var.powertools_layer_arn != null || data.aws_partition.current.partition == "aws"
      error_message = "The public Powertools layer exists only in the aws partition: in ${data.aws_partition.current.partition}, set powertools_layer_arn to a Powertools v3 layer of your own or the one Powertools publishes there."
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.module_functions
  #checkov:skip=CKV_AWS_158:Handlers log circuit names and states, never payloads or secrets; the default encryption suffices.
  #checkov:skip=CKV_AWS_338:Retention is a variable (log_retention_days).

  name              = "/aws/lambda/${var.name}-${replace(each.key, "_", "-")}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function_event_invoke_config" "alarm_handler" {
  function_name                = aws_lambda_function.this["alarm_handler"].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}
