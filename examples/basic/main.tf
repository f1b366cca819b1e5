provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region to deploy the example into."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the example circuit breaker (unique per account and region)."
  type        = string
  default     = "cb-basic"
}

################################################################################
# Circuit settings (the module's variables of the same names); an unset attribute takes the module's default
################################################################################

variable "failure_threshold" {
  description = "Consecutive downstream failures that trip the circuit."
  type        = number
  default     = 5
}

variable "open_duration_seconds" {
  description = "Seconds the circuit stays OPEN before a probe is admitted."
  type        = number
  default     = 30
}

variable "max_open_duration_seconds" {
  description = "Cap of the open duration, doubled per consecutive failed probe."
  type        = number
  default     = 300
}

variable "downstream_alarm" {
  description = "The module's downstream_alarm, passed through (metric, statistic, period, thresholds; see the module's inputs); {} keeps its error-rate alarm."
  type        = any
  default     = {}
}

variable "healthcheck_schedule_expression" {
  description = "How often the healthcheck runs."
  type        = string
  default     = "rate(1 minute)"
}

variable "healthcheck_alarm" {
  description = "The module's healthcheck.alarm, passed through (period, evaluation periods, datapoints, threshold; see the module's inputs); {} keeps its own."
  type        = any
  default     = {}
}

variable "slow_seconds" {
  description = "How long each downstream call takes while the health parameter says slow."
  type        = number
  default     = 1
}

variable "health_cache_seconds" {
  description = "How long the example functions cache the health parameter (keeps them inside SSM's request rate)."
  type        = number
  default     = 1
}

################################################################################
# The example dependency: one SSM parameter switches it between healthy, slow and failing
################################################################################

resource "aws_ssm_parameter" "health" {
  #checkov:skip=CKV2_AWS_34:The example's health switch holds healthy, slow or failing: nothing secret.
  name  = "/${var.name}/dependency-health"
  type  = "String"
  value = "healthy"

  lifecycle {
    ignore_changes = [value] # flipped by hand to simulate an outage
  }
}

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = "${path.module}/functions"
  excludes    = ["__pycache__"]
  output_path = "${path.module}/.build/functions.zip"
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

data "aws_partition" "current" {}

resource "aws_iam_role" "example" {
  name_prefix        = "${substr(var.name, 0, 24)}-example-" # role names are global: unique per region needs a prefix
  assume_role_policy = data.aws_iam_policy_document.assume.json

  lifecycle {
    create_before_destroy = true # upgrades replace it before deleting the old one
  }
}

data "aws_iam_policy_document" "example" {
  statement {
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.health.arn]
  }
  statement {
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:*:*:log-group:/aws/lambda/${var.name}-*"]
  }
}

resource "aws_iam_role_policy" "example" {
  name   = "example"
  role   = aws_iam_role.example.id
  policy = data.aws_iam_policy_document.example.json

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lambda_function" "example" {
  #checkov:skip=CKV_AWS_116:Example functions are invoked synchronously by the state machine or the scheduler.
  #checkov:skip=CKV_AWS_117:Example functions call only SSM.
  #checkov:skip=CKV_AWS_173:The environment holds a parameter name, no secret.
  #checkov:skip=CKV_AWS_272:Example code is not signed.
  #checkov:skip=CKV_AWS_115:Example functions use the account's concurrency.
  #checkov:skip=CKV_AWS_50:X-Ray is optional for the example.
  for_each = toset(["downstream", "healthcheck"])

  function_name    = "${var.name}-${each.key}"
  role             = aws_iam_role.example.arn
  handler          = "${each.key}.lambda_handler"
  runtime          = "python3.12"
  timeout          = 10
  filename         = data.archive_file.functions.output_path
  source_code_hash = data.archive_file.functions.output_base64sha256
  publish          = true

  environment {
    variables = {
      HEALTH_PARAMETER     = aws_ssm_parameter.health.name
      HEALTH_CACHE_SECONDS = tostring(var.health_cache_seconds)
      SLOW_SECONDS         = tostring(var.slow_seconds)
    }
  }
}

# The scheduler invokes the healthcheck asynchronously: without this, Lambda retries a failed run twice,
# and each replay adds errors to the periods the healthcheck alarm evaluates.
resource "aws_lambda_function_event_invoke_config" "healthcheck" {
  function_name          = aws_lambda_function.example["healthcheck"].function_name
  maximum_retry_attempts = 0
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.example["downstream"].function_name
  function_version = aws_lambda_function.example["downstream"].version
}

################################################################################
# The circuit breaker around the downstream's `live` alias
################################################################################

module "circuit_breaker" {
  source = "../../"

  name                    = var.name
  downstream_function_arn = aws_lambda_alias.live.arn
  healthcheck = {
    function_arn        = aws_lambda_function.example["healthcheck"].arn
    schedule_expression = var.healthcheck_schedule_expression
    alarm               = var.healthcheck_alarm
  }

  failure_threshold          = var.failure_threshold
  open_duration_seconds      = var.open_duration_seconds
  max_open_duration_seconds  = var.max_open_duration_seconds
  downstream_alarm           = var.downstream_alarm
  downstream_timeout_seconds = 10
  ignored_errors             = ["ValidationError"]

  # Circuit events are on by default; these go to the topic below (subscribe an email address to it).
  notifications    = { topic_arn = aws_sns_topic.circuit_notifications.arn }
  create_dashboard = true

  tags = { Example = "basic" }
}

################################################################################
# Notifications: a topic EventBridge may publish to, encrypted with a key it may use
################################################################################

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "notifications_key" {
  statement {
    #checkov:skip=CKV_AWS_109:A key policy must let the account administer its own key; "*" here means this key.
    #checkov:skip=CKV_AWS_111:Same: the resource of a key policy statement is the key itself.
    #checkov:skip=CKV_AWS_356:Same: in a key policy "*" is this key, not every resource.
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    # EventBridge cannot publish to a topic encrypted with the AWS managed key for SNS.
    sid       = "EventBridgePublishes"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "notifications" {
  description         = "${var.name}: circuit notifications"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.notifications_key.json
}

resource "aws_sns_topic" "circuit_notifications" {
  name              = "${var.name}-circuit-notifications"
  kms_master_key_id = aws_kms_key.notifications.arn
}

data "aws_iam_policy_document" "circuit_notifications" {
  statement {
    sid       = "CircuitNotificationRule"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.circuit_notifications.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [module.circuit_breaker.notification_rule_arn]
    }
  }
}

resource "aws_sns_topic_policy" "circuit_notifications" {
  arn    = aws_sns_topic.circuit_notifications.arn
  policy = data.aws_iam_policy_document.circuit_notifications.json
}
