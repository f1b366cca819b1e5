provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region to deploy the example into."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of the example's resources (unique per account and region)."
  type        = string
  default     = "cb-shared"
}

################################################################################
# Two protected functions; two circuit breakers that share one circuit table
################################################################################

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = "${path.module}/../basic/functions"
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
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.example.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "downstream" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the state machine.
  #checkov:skip=CKV_AWS_117:Example functions call nothing in a VPC.
  #checkov:skip=CKV_AWS_173:The environment holds a flag, no secret.
  #checkov:skip=CKV_AWS_272:Example code is not signed.
  #checkov:skip=CKV_AWS_115:Example functions use the account's concurrency.
  #checkov:skip=CKV_AWS_50:X-Ray is optional for the example.
  for_each = toset(["orders", "payments"])

  function_name    = "${var.name}-${each.key}"
  role             = aws_iam_role.example.arn
  handler          = "downstream.lambda_handler"
  runtime          = "python3.12"
  timeout          = 10
  filename         = data.archive_file.functions.output_path
  source_code_hash = data.archive_file.functions.output_base64sha256

  environment {
    variables = { HEALTHY = "true" } # set to "false" to simulate an outage
  }
}

# STANDARD (for asynchronous callers), creates the shared table, fails fast with CircuitOpen.
module "orders" {
  source = "../../"

  name                    = "${var.name}-orders"
  type                    = "STANDARD"
  table_name              = "${var.name}-circuits"
  downstream_function_arn = aws_lambda_function.downstream["orders"].arn
}

# EXPRESS (the default), reuses the table and the alarm topic's key, answers with a fallback payload
# while open (marked, so that callers can tell it from a real answer).
module "payments" {
  source = "../../"

  name                    = "${var.name}-payments"
  create_table            = false
  table_name              = module.orders.dynamodb_table_name
  circuit_events          = { table_stream_arn = module.orders.dynamodb_table_stream_arn } # each instance publishes its own circuits' events
  create_sns_kms_key      = false
  sns_kms_master_key_id   = module.orders.sns_kms_key_arn # one key for both: $1 a month instead of 2
  create_dashboard        = true
  downstream_function_arn = aws_lambda_function.downstream["payments"].arn
  fallback_payload        = { fallback = true, accepted = false, retry_after_seconds = 30 }
  downstream_alarm        = { threshold = 40 } # error rate, as by default, tolerating more errors
}
