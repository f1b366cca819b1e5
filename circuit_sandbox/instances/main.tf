# Several instances of the module side by side, each around its own copy of the example's functions
# (examples/basic/functions) and its own health parameter: what the sandbox's tests and benchmarks apply
# when they need configurations the examples do not have. An unset attribute of an instance passes null,
# which the module reads as its own default (its variables are nullable = false), so nothing here
# restates a default.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws     = { source = "hashicorp/aws", version = ">= 6.0" }
    archive = { source = "hashicorp/archive", version = ">= 2.4" }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region to deploy the instances into."
  type        = string
  default     = "us-east-1"
}

variable "instances" {
  description = "Module instances by name: the module variables each sets (unset: the module's default)."
  type = map(object({
    failure_threshold          = optional(number)
    success_threshold          = optional(number)
    half_open_max_probes       = optional(number)
    open_duration_seconds      = optional(number)
    max_open_duration_seconds  = optional(number)
    downstream_timeout_seconds = optional(number)
    on_store_error             = optional(string)
    ignored_errors             = optional(list(string))
    failure_result = optional(object({
      path     = string
      at_least = optional(number)
      equals   = optional(string)
    }))
    insufficient_data     = optional(string)
    allowed_circuits      = optional(list(string))
    fallback_mode         = optional(string)
    fallback_payload_json = optional(string) # fallback_payload, JSON-encoded (the map's objects share one type)
    downstream_alarm = optional(object({
      enabled             = optional(bool)
      metric_name         = optional(string)
      statistic           = optional(string)
      period              = optional(number)
      evaluation_periods  = optional(number)
      datapoints_to_alarm = optional(number)
      threshold           = optional(number)
      comparison_operator = optional(string)
      treat_missing_data  = optional(string)
      min_invocations     = optional(number)
    }))
    healthcheck                     = optional(bool, true) # the example's healthcheck function, scheduled, with its alarm
    healthcheck_schedule_expression = optional(string)
    healthcheck_recovery            = optional(string)
    healthcheck_alarm = optional(object({
      period              = optional(number)
      evaluation_periods  = optional(number)
      datapoints_to_alarm = optional(number)
      threshold           = optional(number)
      treat_missing_data  = optional(string)
    }))
    table_name     = optional(string) # an existing table (create_table = false), or one no instance creates
    circuit_events = optional(bool)
    notifications  = optional(bool, false) # a topic of its own for the circuit notifications
    type           = optional(string)
    log_level      = optional(string)
    slow_seconds   = optional(number, 1) # the example downstream's delay while its parameter says slow
  }))
}

locals {
  example_functions = {
    for pair in setproduct(keys(var.instances), ["downstream", "healthcheck", "fallback"]) :
    "${pair[0]}/${pair[1]}" => { instance = pair[0], function = pair[1] }
  }
}

################################################################################
# The example's functions, once per instance
################################################################################

resource "aws_ssm_parameter" "health" {
  #checkov:skip=CKV2_AWS_34:The health switch holds healthy, slow or failing: nothing secret.
  for_each = var.instances

  name  = "/${each.key}/dependency-health"
  type  = "String"
  value = "healthy"

  lifecycle {
    ignore_changes = [value]
  }
}

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = "${path.module}/../../examples/basic/functions"
  excludes    = ["__pycache__"]
  output_path = "${path.root}/.build/functions.zip"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "example" {
  name_prefix        = "sandbox-instances-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "example" {
  statement {
    actions   = ["ssm:GetParameter"]
    resources = [for parameter in aws_ssm_parameter.health : parameter.arn]
  }
}

resource "aws_iam_role_policy" "example" {
  name   = "example"
  role   = aws_iam_role.example.id
  policy = data.aws_iam_policy_document.example.json
}

resource "aws_lambda_function" "example" {
  #checkov:skip=CKV_AWS_116:Example functions are invoked synchronously.
  #checkov:skip=CKV_AWS_117:Example functions call only SSM.
  #checkov:skip=CKV_AWS_173:The environment holds a parameter name, no secret.
  #checkov:skip=CKV_AWS_272:Example code is not signed.
  #checkov:skip=CKV_AWS_115:Example functions use the account's concurrency.
  #checkov:skip=CKV_AWS_50:X-Ray is optional for the example.
  for_each = local.example_functions

  function_name    = "${each.value.instance}-${each.value.function}"
  role             = aws_iam_role.example.arn
  handler          = "${each.value.function}.lambda_handler"
  runtime          = "python3.12"
  timeout          = 10
  filename         = data.archive_file.functions.output_path
  source_code_hash = data.archive_file.functions.output_base64sha256

  environment {
    variables = {
      HEALTH_PARAMETER     = aws_ssm_parameter.health[each.value.instance].name
      HEALTH_CACHE_SECONDS = "0"
      SLOW_SECONDS         = tostring(var.instances[each.value.instance].slow_seconds)
    }
  }
}

resource "aws_sns_topic" "notifications" {
  #checkov:skip=CKV_AWS_26:A sandbox topic for the circuit notifications; examples/basic shows it encrypted.
  for_each = { for name, instance in var.instances : name => instance if instance.notifications }

  name = "${each.key}-circuit-notifications"
}

################################################################################
# The instances
################################################################################

module "circuit_breaker" {
  source   = "../../"
  for_each = var.instances

  name                    = each.key
  downstream_function_arn = aws_lambda_function.example["${each.key}/downstream"].arn
  healthcheck = each.value.healthcheck ? {
    function_arn        = aws_lambda_function.example["${each.key}/healthcheck"].arn
    schedule_expression = each.value.healthcheck_schedule_expression
    recovery            = each.value.healthcheck_recovery
    alarm               = each.value.healthcheck_alarm
  } : null

  failure_threshold          = each.value.failure_threshold
  success_threshold          = each.value.success_threshold
  half_open_max_probes       = each.value.half_open_max_probes
  open_duration_seconds      = each.value.open_duration_seconds
  max_open_duration_seconds  = each.value.max_open_duration_seconds
  downstream_timeout_seconds = each.value.downstream_timeout_seconds
  on_store_error             = each.value.on_store_error
  ignored_errors             = each.value.ignored_errors
  failure_result             = each.value.failure_result
  insufficient_data          = each.value.insufficient_data
  allowed_circuits           = each.value.allowed_circuits
  fallback_mode              = each.value.fallback_mode
  fallback_payload           = each.value.fallback_payload_json == null ? null : jsondecode(each.value.fallback_payload_json)
  fallback_function_arn      = each.value.fallback_mode == "function" ? aws_lambda_function.example["${each.key}/fallback"].arn : null
  downstream_alarm           = each.value.downstream_alarm
  create_table               = each.value.table_name == null
  table_name                 = each.value.table_name
  circuit_events             = each.value.circuit_events == null ? null : { enabled = each.value.circuit_events }
  notifications              = each.value.notifications ? { topic_arn = aws_sns_topic.notifications[each.key].arn } : null
  type                       = each.value.type
  log_level                  = each.value.log_level
}

output "instances" {
  description = "Per instance, the handles the sandbox drives it by (the names examples/basic's outputs use)."
  value = {
    for name, instance in module.circuit_breaker : name => {
      state_machine_arn      = instance.state_machine_arn
      sns_topic_arn          = instance.sns_topic_arn
      circuit_name           = instance.circuit_name
      dynamodb_table_name    = instance.dynamodb_table_name
      cloudwatch_alarm_names = instance.cloudwatch_alarm_names
      health_parameter       = aws_ssm_parameter.health[name].name
      notification_topic_arn = try(aws_sns_topic.notifications[name].arn, null)
      notification_rule_arn  = instance.notification_rule_arn
      lambda_function_names = merge(
        instance.lambda_function_names,
        { for key in ["downstream", "healthcheck", "fallback"] : key => aws_lambda_function.example["${name}/${key}"].function_name },
      )
    }
  }
}
