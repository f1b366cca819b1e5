# Several instances of the module side by side, each around its own copy of the example's functions
# (examples/basic/functions) and its own health parameter: what the sandbox's tests and benchmarks apply
# when they need configurations the examples do not have. The module block is circuit_breaker.tf,
# generated from variables.tf: an input an instance leaves out passes null, which the module reads as
# its own default (its variables are nullable = false), so nothing here restates an input or a default.

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
  description = <<-EOT
    Module instances by name, each an object of the module's own inputs (any it leaves out, or sets to
    null, takes the module's default). The sandbox supplies the functions and topics (local.supplied),
    and reads these settings of its own:
      healthcheck   = false (none), or the module's healthcheck object without function_arn (default {})
      table_name    = an existing table (create_table = false), or one no instance creates
      circuit_events = true or false (circuit_events.enabled)
      notifications = true: a topic of its own for the circuit notifications
      fallback_mode = "function": the example's fallback function
      slow_seconds  = the example downstream's delay while its parameter says slow (default 1)
  EOT
  type        = any
}

locals {
  # The inputs the sandbox supplies itself, which circuit_breaker.tf (generated) passes from here; the
  # others it passes from the instance's settings. No try() around a value unknown until apply (an ARN):
  # try() would make the whole value unknown, and the module's counts depend on whether it is null.
  supplied = {
    for name, instance in var.instances : name => {
      name                    = name
      downstream_function_arn = aws_lambda_function.example["${name}/downstream"].arn
      healthcheck = try(instance.healthcheck, true) == false ? null : merge(
        try(instance.healthcheck, {}), { function_arn = aws_lambda_function.example["${name}/healthcheck"].arn }
      )
      fallback_function_arn = try(instance.fallback_mode, null) == "function" ? aws_lambda_function.example["${name}/fallback"].arn : null
      create_table          = try(instance.table_name, null) == null
      circuit_events        = try(instance.circuit_events, null) == null ? null : { enabled = instance.circuit_events }
      notifications         = try(instance.notifications, false) ? { topic_arn = aws_sns_topic.notifications[name].arn } : null
    }
  }
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
      SLOW_SECONDS         = tostring(try(var.instances[each.value.instance].slow_seconds, 1))
    }
  }
}

resource "aws_sns_topic" "notifications" {
  #checkov:skip=CKV_AWS_26:A sandbox topic for the circuit notifications; examples/basic shows it encrypted.
  for_each = { for name, instance in var.instances : name => instance if try(instance.notifications, false) }

  name = "${each.key}-circuit-notifications"
}

################################################################################
# The instances: their module block is circuit_breaker.tf
################################################################################

output "instances" {
  description = "Per instance, the handles the sandbox drives it by (the names examples/basic's outputs use)."
  value = {
    for name, breaker in module.circuit_breaker : name => {
      state_machine_arn      = breaker.state_machine_arn
      sns_topic_arn          = breaker.sns_topic_arn
      circuit_name           = breaker.circuit_name
      dynamodb_table_name    = breaker.dynamodb_table_name
      table_key              = breaker.table_key
      cloudwatch_alarm_names = breaker.cloudwatch_alarm_names
      health_parameter       = aws_ssm_parameter.health[name].name
      notification_topic_arn = try(aws_sns_topic.notifications[name].arn, null)
      notification_rule_arn  = breaker.notification_rule_arn
      lambda_function_names = merge(
        breaker.lambda_function_names,
        { for key in ["downstream", "healthcheck", "fallback"] : key => aws_lambda_function.example["${name}/${key}"].function_name },
      )
    }
  }
}
