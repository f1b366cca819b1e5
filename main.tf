data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  circuit_name = coalesce(var.circuit_name, var.name)
  table_name   = var.create_table ? coalesce(var.table_name, "${var.name}-circuits") : var.table_name
  # The circuit item's key (table_key): its name in the partition key, or in a single table the shared partition value
  # there and its name in the sort key. As the state machine writes it: for this instance's circuit, or the one in $.circuit.
  table_key_attributes  = compact([var.table_key.partition_key, var.table_key.sort_key])
  circuit_key_attribute = coalesce(var.table_key.sort_key, var.table_key.partition_key)
  circuit_partition     = { for attribute, value in { (var.table_key.partition_key) = var.table_key.partition_value } : attribute => { S = value } if value != null }
  circuit_key           = merge(local.circuit_partition, { (local.circuit_key_attribute) = { S = local.circuit_name } })
  selected_circuit_key  = merge(local.circuit_partition, { (local.circuit_key_attribute) = { "S.$" = "$.circuit" } })
  table_arn             = "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:table/${local.table_name}"

  # Known at plan time even when the healthcheck function is created in the same apply.
  healthcheck_enabled = var.healthcheck != null
  probe_enabled       = var.probe != null
  # The state machine's ARN, as AWS forms it from its name: known at plan time, so that a queue consumer this module
  # pauses (event_source_mappings) can be given it without a cycle, and the schedules' policy needs no replacement of
  # the state machine first.
  state_machine_arn = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:stateMachine:${var.name}"

  # EventBridge Scheduler runs the healthcheck and the probe with one role (schedule.tf).
  schedules_enabled = local.healthcheck_enabled || local.probe_enabled

  # The fallback the caller gave, unless fallback_mode names one (variables.tf refuses a mode that contradicts it).
  fallback_mode = coalesce(var.fallback_mode, var.fallback_payload != null ? "payload" : var.fallback_function_arn != null ? "function" : "fail")

  # A qualified ARN (arn:...:function:name:qualifier) names a version or alias.
  downstream_arn_parts  = split(":", var.downstream_function_arn)
  healthcheck_arn_parts = local.healthcheck_enabled ? split(":", var.healthcheck.function_arn) : []

  # AWS's recommended retry of transient Lambda service errors, on every Lambda task of the state machine. Each wait is
  # drawn at random (full jitter), so that executions throttled together do not all come back together.
  lambda_retry = {
    ErrorEquals     = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException"]
    IntervalSeconds = 1
    MaxAttempts     = 3
    BackoffRate     = 2
    JitterStrategy  = "FULL"
  }
  # Throttled or failing reads of the circuit are retried once or twice, each wait drawn at random (full jitter) so that
  # a fleet of executions throttled together does not retry together.
  store_retry = {
    ErrorEquals     = ["DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException", "DynamoDB.RequestLimitExceeded", "DynamoDB.InternalServerErrorException", "DynamoDB.AmazonDynamoDBException"]
    IntervalSeconds = 1
    MaxAttempts     = 2
    BackoffRate     = 2
    JitterStrategy  = "FULL"
  }
  # The Lambda init phase (at most 10 s) runs outside the function's timeout but inside the state's.
  downstream_state_timeout_seconds = var.downstream_timeout_seconds + 10
  # A probe may use every attempt, the backoff between them, and the recording of its outcome;
  # a shorter lease would let a second probe in while the first is still running.
  probe_lease_for_every_attempt = (
    (local.lambda_retry.MaxAttempts + 1) * local.downstream_state_timeout_seconds
    + sum([for attempt in range(local.lambda_retry.MaxAttempts) : local.lambda_retry.IntervalSeconds * pow(local.lambda_retry.BackoffRate, attempt)])
    + local.functions.record_outcome.timeout
  )
  # An EXPRESS execution is stopped after 5 minutes: a longer lease would hold the slot of a probe already gone.
  probe_lease_seconds = var.type == "EXPRESS" ? min(local.probe_lease_for_every_attempt, 300) : local.probe_lease_for_every_attempt

  # What a call does when the circuit cannot be read or the state check fails (throttled, broken, timed out): a call
  # (fail_open), or a short-circuit shaped as the state check answers one (Decision.to_output), with no time to retry
  # after, since nobody can tell. JSON text: the two objects differ in shape.
  store_unavailable_reason = "circuit state unavailable (${var.on_store_error})"
  store_unavailable_decision = var.on_store_error == "fail_open" ? jsonencode({
    circuit       = local.circuit_name
    action        = "call"
    state         = "UNKNOWN"
    generation    = null
    probe         = false
    failures_seen = 0
    reason        = local.store_unavailable_reason
    }) : jsonencode({
    circuit             = local.circuit_name
    action              = "short_circuit"
    state               = "UNKNOWN"
    reason              = local.store_unavailable_reason
    retry_after_seconds = null
  })

  # When the state check itself cannot answer, the state machine counts the store error where the functions count theirs
  # (the functions' EMF metrics: namespace, and the circuit and service dimensions Powertools adds).
  store_error_metric = {
    Namespace = local.metrics_namespace
    MetricData = [{
      MetricName = "StoreErrors"
      Unit       = "Count"
      Value      = 1
      Dimensions = [{ Name = "circuit", Value = local.circuit_name }, { Name = "service", Value = var.name }]
    }]
  }

  # A result the downstream returns is a failure when it matches failure_result: a Choice rule on the result, which
  # the state machine keeps under $.downstream.payload.
  failure_result_path = var.failure_result == null ? null : "$.downstream.payload${substr(var.failure_result.path, 1, -1)}"
  # Built as JSON text: Terraform would turn the comparisons' numbers and booleans into strings to unify the branches.
  failure_result_rule = var.failure_result == null ? "" : jsonencode({
    And = jsondecode(var.failure_result.at_least != null ? jsonencode([
      { Variable = local.failure_result_path, IsPresent = true },
      { Variable = local.failure_result_path, IsNumeric = true },
      { Variable = local.failure_result_path, NumericGreaterThanEquals = var.failure_result.at_least },
      ]) : jsonencode([
      { Variable = local.failure_result_path, IsPresent = true },
      { Variable = local.failure_result_path, IsString = true },
      { Variable = local.failure_result_path, StringEquals = var.failure_result.equals },
    ]))
  })
  # A success that completes while failures are pending on a closed circuit resets them (ResetFailures): only the
  # failures counted after its read stay counted. Items a failure of this version wrote carry failures_total and generation.
  pending_failures_rule = {
    And = [
      { Variable = "$.after.Item", IsPresent = true },
      { Not = { Variable = "$.after.Item.override", IsPresent = true } },
      { Variable = "$.after.Item.state.S", IsPresent = true },
      { Variable = "$.after.Item.state.S", StringEquals = "CLOSED" },
      { Variable = "$.after.Item.failures_total.N", IsPresent = true },
      { Variable = "$.after.Item.generation.N", IsPresent = true },
      { Variable = "$.after.Item.failure_count.N", IsPresent = true },
      { Not = { Variable = "$.after.Item.failure_count.N", StringEquals = "0" } },
    ]
    Next = "ResetFailures"
  }
  settle_choices = "[${join(",", compact([
    var.failure_result == null ? "" : jsonencode(merge(jsondecode(local.failure_result_rule), { Next = "RecordBadResult" })),
    jsonencode(local.pending_failures_rule),
  ]))}]"
  classify_probe_choices = var.failure_result == null ? "[]" : "[${jsonencode(merge(jsondecode(local.failure_result_rule), { Next = "RecordProbeBadResult" }))}]"
  # A result marked as a failure is recorded with what its call saw; with retry_after_path, with the result too (its
  # retry hint is read from it).
  with_result = var.retry_after_path == null ? {} : { "result.$" = "$.downstream.payload" }
  bad_result_payload = merge(
    { "execution.$" = "$$.Execution.Id", "circuit.$" = "$.circuit", "read.$" = "$.after", error = "FailureResult" },
    local.with_result,
  )
  probe_bad_result_payload = merge(
    {
      "execution.$"     = "$$.Execution.Id"
      "circuit.$"       = "$.circuit"
      "generation.$"    = "$.generation"
      "probe.$"         = "$.probe"
      "failures_seen.$" = "$.failures_seen"
      error             = "FailureResult"
    },
    local.with_result,
  )
  # States only a failure_result needs.
  failure_result_states = ["RecordBadResult", "ClassifyProbe", "RecordProbeBadResult"]

  # With allowed_circuits the execution input names the circuit: the state check validates it on every
  # call, so the state machine starts there, and the states that read a fixed circuit are left out.
  input_selects_circuit = length(var.allowed_circuits) > 0
  fixed_circuit_states  = ["ReadCircuit", "Route", "ForcedOpen"]

  check_payload = merge(
    { "circuit" = local.circuit_name, "caller.$" = "$$.Execution.Id" },
    length(var.allowed_circuits) > 0 ? { "input.$" = "$$.Execution.Input" } : {},
  )
  # A short-circuited call is told the circuit, its state, why, and retry_after_seconds: whole seconds until the
  # circuit may admit a probe, or null when nobody can tell. An object fallback_payload gets retry_after_seconds too,
  # unless it has a field of that name: it becomes the Pass state's Parameters, where only that field reads a path.
  fallback_payload_is_object = can(keys(var.fallback_payload))
  fallback_payload_parameters = local.fallback_payload_is_object ? (
    contains(keys(var.fallback_payload), "retry_after_seconds") ? null : merge(var.fallback_payload, { "retry_after_seconds.$" = "$.retry_after_seconds" })
  ) : null
  short_circuit_states = {
    fail = {
      Type      = "Fail"
      Comment   = "Fail fast: the circuit is open. The cause is JSON: circuit, action, state, reason and retry_after_seconds."
      Error     = "CircuitOpen"
      CausePath = "States.JsonToString($)"
    }
    # Through JSON text: the two shapes differ.
    payload = jsondecode(local.fallback_payload_parameters == null ? jsonencode({
      Type    = "Pass"
      Comment = "The circuit is open: return the configured fallback payload."
      Result  = var.fallback_payload
      End     = true
      }) : jsonencode({
      Type       = "Pass"
      Comment    = "The circuit is open: return the configured fallback payload, with retry_after_seconds."
      Parameters = local.fallback_payload_parameters
      End        = true
    }))
    function = {
      Type       = "Task"
      Comment    = "The circuit is open: the fallback function answers instead."
      Resource   = "arn:${data.aws_partition.current.partition}:states:::lambda:invoke"
      Parameters = { FunctionName = var.fallback_function_arn, Payload = { "input.$" = "$$.Execution.Input", "circuit.$" = "$" } }
      OutputPath = "$.Payload"
      Retry      = [local.lambda_retry]
      End        = true
    }
  }

  # Observe mode: a call the circuit would short-circuit reaches the downstream instead, and its outcome is not
  # recorded (in enforce mode it would not have been made, so it must not count, reset, close or reopen anything).
  observed_short_circuit = {
    Type           = "Task"
    Comment        = "Observe mode: the circuit would short-circuit this call (state check and metrics say so). It reaches the downstream, and its outcome is not recorded."
    Resource       = "arn:${data.aws_partition.current.partition}:states:::lambda:invoke"
    Parameters     = { FunctionName = var.downstream_function_arn, "Payload.$" = "$$.Execution.Input" }
    TimeoutSeconds = local.downstream_state_timeout_seconds
    ResultSelector = { "payload.$" = "$.Payload" }
    ResultPath     = "$.downstream"
    Retry          = [local.lambda_retry]
    Catch          = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "DownstreamFailed" }]
    Next           = "ReturnDownstreamResult"
  }
  short_circuit_state = var.mode == "observe" ? jsonencode(local.observed_short_circuit) : jsonencode(local.short_circuit_states[local.fallback_mode])

  rendered_definition = templatefile("${path.module}/statemachine/circuit_breaker.asl.json", {
    partition                        = data.aws_partition.current.partition
    start_state                      = local.input_selects_circuit ? "CheckCircuit" : "ReadCircuit"
    table_name                       = jsonencode(local.table_name)
    circuit_key                      = jsonencode(local.circuit_key)
    selected_circuit_key             = jsonencode(local.selected_circuit_key)
    circuit_name                     = jsonencode(local.circuit_name)
    lambda_retry                     = jsonencode([local.lambda_retry])
    check_circuit_function_arn       = aws_lambda_function.this["check_circuit"].arn
    record_outcome_function_arn      = aws_lambda_function.this["record_outcome"].arn
    downstream_function_arn          = var.downstream_function_arn
    downstream_state_timeout_seconds = local.downstream_state_timeout_seconds
    check_payload                    = jsonencode(local.check_payload)
    store_unavailable_decision       = local.store_unavailable_decision
    store_retry                      = jsonencode([local.store_retry])
    store_error_metric               = jsonencode(local.store_error_metric)
    settle_choices                   = local.settle_choices
    classify_probe_choices           = local.classify_probe_choices
    bad_result_payload               = jsonencode(local.bad_result_payload)
    probe_bad_result_payload         = jsonencode(local.probe_bad_result_payload)
    probe_outcome_state              = var.failure_result == null ? "RecordSuccess" : "ClassifyProbe"
    short_circuit_state              = local.short_circuit_state
  })
  # States this instance never enters are left out: those that read a fixed circuit when the input selects it, and
  # those that classify results when there is no failure_result.
  unused_states = concat(
    local.input_selects_circuit ? local.fixed_circuit_states : [],
    var.failure_result == null ? local.failure_result_states : [],
  )
  definition = length(local.unused_states) == 0 ? local.rendered_definition : jsonencode(merge(jsondecode(local.rendered_definition), {
    States = { for name, state in jsondecode(local.rendered_definition).States : name => state if !contains(local.unused_states, name) }
  }))
}

################################################################################
# State machine
################################################################################

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:Logging level is a variable (state_machine_log_level, default ERROR); logging ALL multiplies the cost of every healthy call.
  #checkov:skip=CKV_AWS_284:X-Ray is a variable (tracing_enabled, default false); tracing every call is the user's cost decision.
  name       = var.name
  type       = var.type
  role_arn   = aws_iam_role.state_machine.arn
  definition = local.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = false
    level                  = var.state_machine_log_level
  }

  tracing_configuration {
    enabled = var.tracing_enabled
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_158:Execution data is not logged (include_execution_data = false); the default encryption suffices.
  #checkov:skip=CKV_AWS_338:Retention is a variable (log_retention_days); a year's minimum is the user's choice.
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}
