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
  default     = "cb-queue"
}

variable "open_duration_seconds" {
  description = "Seconds the circuit stays OPEN before the scheduled probe is admitted."
  type        = number
  default     = 30
}

variable "probe_schedule_expression" {
  description = "How often the probe runs through the state machine."
  type        = string
  default     = "rate(1 minute)"
}

################################################################################
# The example dependency (examples/basic's functions): one SSM parameter switches it between healthy and failing
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

data "archive_file" "downstream" {
  type        = "zip"
  source_dir  = "${path.module}/../basic/functions"
  excludes    = ["__pycache__"]
  output_path = "${path.module}/.build/downstream.zip"
}

data "archive_file" "consumer" {
  type        = "zip"
  source_dir  = "${path.module}/functions"
  excludes    = ["__pycache__"]
  output_path = "${path.module}/.build/consumer.zip"
}

data "aws_partition" "current" {}

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
  for_each = toset(["downstream", "consumer"])

  name_prefix        = "${substr(var.name, 0, 20)}-${each.key}-" # role names are global: unique per region needs a prefix
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "example" {
  for_each = toset(["downstream", "consumer"])

  dynamic "statement" {
    for_each = each.key == "downstream" ? [1] : []
    content {
      actions   = ["ssm:GetParameter"]
      resources = [aws_ssm_parameter.health.arn]
    }
  }
  dynamic "statement" {
    for_each = each.key == "consumer" ? [1] : []
    content {
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.orders.arn]
    }
  }
  dynamic "statement" {
    for_each = each.key == "consumer" ? [1] : []
    content {
      actions   = ["states:StartSyncExecution"]
      resources = [module.circuit_breaker.state_machine_arn]
    }
  }
  statement {
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:*:*:log-group:/aws/lambda/${var.name}-${each.key}:*"]
  }
}

resource "aws_iam_role_policy" "example" {
  for_each = toset(["downstream", "consumer"])

  name   = "example"
  role   = aws_iam_role.example[each.key].id
  policy = data.aws_iam_policy_document.example[each.key].json
}

resource "aws_lambda_function" "downstream" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the state machine.
  #checkov:skip=CKV_AWS_117:Example functions call only SSM.
  #checkov:skip=CKV_AWS_173:The environment holds a parameter name, no secret.
  #checkov:skip=CKV_AWS_272:Example code is not signed.
  #checkov:skip=CKV_AWS_115:Example functions use the account's concurrency.
  #checkov:skip=CKV_AWS_50:X-Ray is optional for the example.
  function_name    = "${var.name}-downstream"
  role             = aws_iam_role.example["downstream"].arn
  handler          = "downstream.lambda_handler"
  runtime          = "python3.12"
  timeout          = 10
  filename         = data.archive_file.downstream.output_path
  source_code_hash = data.archive_file.downstream.output_base64sha256

  environment {
    variables = { HEALTH_PARAMETER = aws_ssm_parameter.health.name, HEALTH_CACHE_SECONDS = "1" }
  }
}

################################################################################
# The queue and its consumer, paused while the circuit is open
################################################################################

resource "aws_sqs_queue" "orders_dead_letters" {
  name                      = "${var.name}-orders-dead-letters"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "orders" {
  name                       = "${var.name}-orders"
  visibility_timeout_seconds = 30 # at least 6 times the consumer's timeout, as Lambda advises
  sqs_managed_sse_enabled    = true
  # A message that fails 5 times goes to the dead-letter queue. While the circuit is open no message is received, so
  # an outage adds at most the few receives before the pause, however long it lasts.
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.orders_dead_letters.arn, maxReceiveCount = 5 })
}

resource "aws_lambda_function" "consumer" {
  #checkov:skip=CKV_AWS_116:Its failed messages stay in the queue, which has a dead-letter queue.
  #checkov:skip=CKV_AWS_117:Example functions call nothing in a VPC.
  #checkov:skip=CKV_AWS_173:The environment holds an ARN, no secret.
  #checkov:skip=CKV_AWS_272:Example code is not signed.
  #checkov:skip=CKV_AWS_115:Example functions use the account's concurrency.
  #checkov:skip=CKV_AWS_50:X-Ray is optional for the example.
  function_name    = "${var.name}-consumer"
  role             = aws_iam_role.example["consumer"].arn
  handler          = "consumer.lambda_handler"
  runtime          = "python3.12"
  timeout          = 5
  filename         = data.archive_file.consumer.output_path
  source_code_hash = data.archive_file.consumer.output_base64sha256

  environment {
    variables = { STATE_MACHINE_ARN = module.circuit_breaker.state_machine_arn }
  }
}

resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn        = aws_sqs_queue.orders.arn
  function_name           = aws_lambda_function.consumer.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]

  lifecycle {
    ignore_changes = [enabled] # the circuit breaker pauses and resumes it; an apply must not resume it
  }

  depends_on = [aws_iam_role_policy.example] # Lambda checks at creation that the consumer may read the queue
}

################################################################################
# The circuit breaker around the downstream, pausing the consumer while open
################################################################################

module "circuit_breaker" {
  source = "../../"

  name                    = var.name
  type                    = "EXPRESS" # the consumer waits for each call's answer (StartSyncExecution)
  downstream_function_arn = aws_lambda_function.downstream.arn
  open_duration_seconds   = var.open_duration_seconds

  # The paused consumer sends no call, so a schedule sends the probe: a request the downstream answers when healthy.
  probe                 = { input = jsonencode({ probe = true }), schedule_expression = var.probe_schedule_expression }
  event_source_mappings = [aws_lambda_event_source_mapping.orders.uuid]

  tags = { Example = "queue-consumer" }
}
