################################################################################
# Dashboard: the module's own EMF metrics and the AWS/Lambda metrics of the functions passed in
################################################################################

locals {
  # The levels of the State gauge the events function emits (lambdas/circuit_breaker/events.py: STATUS_LEVELS,
  # kept equal by tests/test_contract.py): forced statuses beyond the automatic ones.
  state_levels = { FORCED_CLOSED = -1, CLOSED = 0, HALF_OPEN = 1, OPEN = 2, FORCED_OPEN = 3 }
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  # Dashboards are account-wide, not regional: the region keeps one region's instance from replacing another's.
  dashboard_name = "${var.name}-circuit-breaker-${data.aws_region.current.region}"
  dashboard_body = templatefile("${path.module}/templates/dashboard.json.tftpl", {
    region                 = data.aws_region.current.region
    namespace              = local.metrics_namespace
    service                = var.name
    circuits               = local.function_circuits.check_circuit
    status_levels          = local.state_levels
    downstream_name        = local.downstream_dimensions.FunctionName
    downstream_dimensions  = local.downstream_dimensions
    healthcheck_name       = local.healthcheck_enabled ? local.healthcheck_dimensions.FunctionName : null
    healthcheck_dimensions = local.healthcheck_enabled ? local.healthcheck_dimensions : null
    alarm_names            = merge(local.alarm_names, local.events_pipeline_alarm_names)
    alarm_arns             = local.alarm_arns
    function_names         = [for key in keys(local.module_functions) : "${var.name}-${replace(key, "_", "-")}"]
    circuit_events         = local.circuit_events_enabled
    events_function_name   = "${var.name}-circuit-events"
    notification_rule      = var.notifications != null ? "${var.name}-circuit-notifications" : null
    event_metrics = concat(
      ["StoreErrors"],
      local.circuit_events_enabled ? ["EventsPublished", "EventPublishErrors"] : [],
      length(var.event_source_mappings) > 0 ? ["EventSourcesPaused", "EventSourcesResumed", "EventSourceErrors"] : [],
    )
  })
}
