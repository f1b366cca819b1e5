# A root module of an adopter's own, not one of the examples: one function behind two circuit breakers,
# an EXPRESS one (the module's default, called with StartSyncExecution) and a STANDARD one. The tests in
# this folder apply it with the circuit_sandbox pytest fixture, as an adopter tests their integration.

terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4"
    }
  }
}

provider "aws" {
  region = "eu-west-1" # the sandbox runs every provider in its own region
}

data "archive_file" "orders" {
  type        = "zip"
  source_file = "${path.module}/orders.py"
  output_path = "${path.module}/.build/orders.zip"
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

resource "aws_iam_role" "orders" {
  name_prefix        = "adopter-orders-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_lambda_function" "orders" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the state machines.
  #checkov:skip=CKV_AWS_117:Calls nothing in a VPC.
  #checkov:skip=CKV_AWS_173:The environment holds a flag, no secret.
  #checkov:skip=CKV_AWS_272:Test code is not signed.
  #checkov:skip=CKV_AWS_115:Uses the account's concurrency.
  #checkov:skip=CKV_AWS_50:X-Ray is optional for a test function.
  function_name    = "adopter-orders"
  role             = aws_iam_role.orders.arn
  handler          = "orders.handler"
  runtime          = "python3.12"
  timeout          = 5
  filename         = data.archive_file.orders.output_path
  source_code_hash = data.archive_file.orders.output_base64sha256

  environment {
    variables = { DATABASE = "up" } # the tests set "down" for an outage
  }

  lifecycle {
    ignore_changes = [environment] # flipped by the tests
  }
}

module "orders_express" {
  source = "../.."

  name                    = "adopter-orders-express"
  downstream_function_arn = aws_lambda_function.orders.arn
  failure_threshold       = 2
  open_duration_seconds   = 2
}

module "orders_standard" {
  source = "../.."

  name                    = "adopter-orders-standard"
  type                    = "STANDARD"
  downstream_function_arn = aws_lambda_function.orders.arn
  failure_threshold       = 2
  open_duration_seconds   = 2
}

output "express_state_machine_arn" {
  value = module.orders_express.state_machine_arn
}

output "standard_state_machine_arn" {
  value = module.orders_standard.state_machine_arn
}

output "orders_function_name" {
  value = aws_lambda_function.orders.function_name
}
