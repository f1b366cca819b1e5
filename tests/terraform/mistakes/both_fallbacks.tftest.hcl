# One common mistake, caught at plan with the likely fix in its message. The run fails on purpose:
# tests/terraform/test_terraform.py runs this folder (one file per mistake, as a failed run skips the
# runs after it) and checks each file's message.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}
mock_provider "archive" {}

variables {
  name                    = "orders"
  downstream_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
}

run "both_fallbacks" {
  command = plan
  variables {
    fallback_payload      = { fallback = true }
    fallback_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-fallback"
  }
}
