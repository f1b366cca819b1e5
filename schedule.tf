################################################################################
# Schedules (EventBridge Scheduler): the healthcheck, and the probe that waits for no traffic
################################################################################

resource "aws_scheduler_schedule" "healthcheck" {
  #checkov:skip=CKV_AWS_297:The schedule holds a constant, non-secret input ({source, circuit}); AWS-owned encryption suffices.
  count = local.healthcheck_enabled ? 1 : 0

  name                = "${var.name}-healthcheck"
  description         = "Circuit breaker ${var.name}: runs the healthcheck; its Errors alarm drives the circuit."
  schedule_expression = var.healthcheck.schedule_expression

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.healthcheck.function_arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = jsonencode({ source = "circuit-breaker", circuit = local.circuit_name })

    # Scheduler invokes asynchronously: this stops Scheduler's own retries of a failed delivery. A failed run
    # is still retried by Lambda's asynchronous retries (2 by default), which the healthcheck function's own
    # aws_lambda_function_event_invoke_config (maximum_retry_attempts = 0) turns off; see the README.
    retry_policy {
      maximum_retry_attempts = 0
    }
  }
}

resource "aws_scheduler_schedule" "probe" {
  #checkov:skip=CKV_AWS_297:The schedule holds the probe's input, which the caller writes into the HCL: no secret.
  count = local.probe_enabled ? 1 : 0

  name                = "${var.name}-probe"
  description         = "Circuit breaker ${var.name}: runs probe.input through the state machine; the first run after the open duration is the probe."
  schedule_expression = var.probe.schedule_expression

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.this.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = var.probe.input

    # The next run is the next chance; a run retried late would only be a second call.
    retry_policy {
      maximum_retry_attempts = 0
    }
  }
}
