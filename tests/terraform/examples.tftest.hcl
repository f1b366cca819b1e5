# Every example, and a root module whose every ARN input is created alongside, planned as a first
# apply: with mocked providers, computed attributes (arn, version, ...) stay unknown at plan time,
# as hashicorp/aws leaves them, so a count that depends on one fails here as it would on AWS.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}
mock_provider "archive" {}

run "basic_plans_as_a_first_apply" {
  command = plan
  module {
    source = "./examples/basic"
  }
  assert {
    condition     = aws_lambda_function_event_invoke_config.healthcheck.maximum_retry_attempts == 0
    error_message = "The example turns off Lambda's asynchronous retries of the healthcheck."
  }
}

run "shared_table_express_plans_as_a_first_apply" {
  command = plan
  module {
    source = "./examples/shared-table-express"
  }
}

run "queue_consumer_plans_as_a_first_apply" {
  command = plan
  module {
    source = "./examples/queue-consumer"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.orders.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The consumer reports failed messages, so a short-circuited call keeps only its own message."
  }
}

run "every_arn_input_unknown_at_plan" {
  command = plan
  module {
    source = "./tests/terraform/fixtures/first_apply"
  }
}

run "basic_sends_notifications_and_has_a_dashboard" {
  command = plan
  module {
    source = "./examples/basic"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.notifications_key.statement[1].principals).identifiers == toset(["events.amazonaws.com"])
    error_message = "The notification topic's key lets EventBridge use it."
  }
}
