################################################################################
# Circuit
################################################################################

variable "name" {
  description = "Name of this circuit breaker: the state machine's name, the prefix of every resource, and the default circuit name."
  type        = string

  validation {
    condition     = length(var.name) >= 1 && length(var.name) <= 40
    error_message = "name is ${length(var.name)} characters long: it must be 1 to 40 (it prefixes function and alarm names, whose own limits are 64)."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]*$", var.name))
    error_message = "name \"${var.name}\" holds a character other than letters, digits, hyphens and underscores (function, role and alarm names allow only these)."
  }
}

variable "mode" {
  description = <<-EOT
    enforce: an open circuit short-circuits calls. observe: the breaker counts, trips, probes and recovers exactly as
    in enforce mode, and its metrics (EMF property mode), transition logs and circuit events (detail.mode) say
    observe, but every call reaches the downstream; a call it would have short-circuited is made, and its outcome is
    not recorded. To try failure_threshold and the alarm on your own traffic before the breaker blocks anything.
    Switching is an apply: the circuit's state is kept.
  EOT
  type        = string
  default     = "enforce"
  nullable    = false

  validation {
    condition     = contains(["enforce", "observe"], var.mode)
    error_message = "mode must be enforce or observe."
  }
}

variable "circuit_name" {
  description = "Circuit (DynamoDB item id) this state machine checks. Defaults to var.name."
  type        = string
  default     = null

  validation {
    condition     = var.circuit_name == null || can(regex("^[A-Za-z0-9_.:/-]{1,255}$", var.circuit_name))
    error_message = "circuit_name must be 1 to 255 letters, digits or _ . : / - characters."
  }
}

variable "allowed_circuits" {
  description = "Other circuits the execution input may select with a top-level \"circuit\" key. Empty: the input cannot choose. At most 100, about 3,000 characters in all: the list goes into the stream's event filter (at most 4,096 characters), into IAM conditions (twice in the state machine role's inline policy, at most 10,240 characters) and onto the dashboard (5 metrics per circuit in one widget, at most 500)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for circuit in var.allowed_circuits : can(regex("^[A-Za-z0-9_.:/-]{1,255}$", circuit))])
    error_message = "Each of allowed_circuits must be 1 to 255 letters, digits or _ . : / - characters, like circuit_name."
  }
  validation {
    condition     = length(var.allowed_circuits) <= 100 && length(jsonencode(var.allowed_circuits)) <= 3000
    error_message = "allowed_circuits may list at most 100 circuits, 3,000 characters as a JSON list: it must fit the stream's event filter, the IAM policies and the dashboard. Use more instances of the module for more circuits."
  }
}

variable "failure_threshold" {
  description = "Consecutive downstream failures, counted fleet-wide, that trip the circuit. Background errors at rate r calls/s and share p trip it about 3600 * r * p^failure_threshold times an hour: 10 keeps that near 0 up to 1000 calls/s at 5 % errors."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.failure_threshold >= 1 && floor(var.failure_threshold) == var.failure_threshold
    error_message = "failure_threshold must be a whole number of at least 1."
  }
}

variable "success_threshold" {
  description = "Probe successes that close a half-open circuit."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.success_threshold >= 1 && floor(var.success_threshold) == var.success_threshold
    error_message = "success_threshold must be a whole number of at least 1."
  }
}

variable "half_open_max_probes" {
  description = "Probes admitted at once, fleet-wide, while the circuit is half open."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.half_open_max_probes >= 1 && floor(var.half_open_max_probes) == var.half_open_max_probes
    error_message = "half_open_max_probes must be a whole number of at least 1."
  }
}

variable "open_duration_seconds" {
  description = "How long the circuit stays open before a probe is admitted. Doubled (with jitter) on each consecutive reopen."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.open_duration_seconds > 0
    error_message = "open_duration_seconds must be greater than 0."
  }
}

variable "max_open_duration_seconds" {
  description = "Cap on the backed-off open duration."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.max_open_duration_seconds >= var.open_duration_seconds
    error_message = "max_open_duration_seconds must be at least open_duration_seconds."
  }
}

variable "on_store_error" {
  description = "What a call does when the circuit table cannot be read: fail_open (call the downstream) or fail_closed (short-circuit)."
  type        = string
  default     = "fail_open"
  nullable    = false

  validation {
    condition     = contains(["fail_open", "fail_closed"], var.on_store_error)
    error_message = "on_store_error must be fail_open or fail_closed."
  }
}

variable "ignored_errors" {
  description = "Downstream error names (errorType) that neither count as failures nor reset the count, e.g. [\"ValidationError\"]."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "counted_errors" {
  description = "The only downstream error names (errorType) that count as failures, e.g. [\"DependencyUnavailable\", \"States.Timeout\"]: any other error neither counts nor resets the count, as an ignored one. Empty: every error counts but ignored_errors. Set this or ignored_errors, not both."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.counted_errors) == 0 || length(var.ignored_errors) == 0
    error_message = "counted_errors (the only errors that count) and ignored_errors (errors that do not) are both set: keep one. counted_errors = [...] alone counts only what it lists."
  }
  validation {
    condition     = alltrue([for name in var.counted_errors : length(trimspace(name)) > 0])
    error_message = "counted_errors holds an empty error name."
  }
  validation {
    condition     = length(var.counted_errors) == 0 || var.failure_result == null || contains(var.counted_errors, "FailureResult")
    error_message = "failure_result marks results as the error FailureResult, which counted_errors leaves out, so they would never count: add \"FailureResult\" to counted_errors."
  }
}

variable "failure_result" {
  description = <<-EOT
    Marks a result the downstream returns (rather than raises) as a failure: counted, recorded and shown as the error
    FailureResult, while the caller still gets the result. path is a JSONPath into the result, e.g. "$.statusCode";
    the result is a failure when the number there is at least at_least, or the string there equals equals (set one).
    A result without that path is a success. null: every returned result is a success.
  EOT
  type = object({
    path     = string
    at_least = optional(number)
    equals   = optional(string)
  })
  default = null

  validation {
    condition     = var.failure_result == null ? true : can(regex("^\\$(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.failure_result.path))
    error_message = "failure_result.path must be a JSONPath of field names into the result, like \"$.statusCode\" or \"$.body.status\"."
  }
  validation {
    condition     = var.failure_result == null ? true : (var.failure_result.at_least == null) != (var.failure_result.equals == null)
    error_message = "failure_result needs exactly one of at_least (a number, e.g. 500 for statusCode) or equals (a string, e.g. \"ERROR\")."
  }
}

variable "ramp_up_seconds" {
  description = <<-EOT
    After a recovery (a probe's success, or the healthcheck alarm back to OK, closes the circuit), calls return over
    this many seconds instead of all at once: 10 %, then 25 %, then 50 % of calls are admitted, each share for a third
    of it, and the rest short-circuited with retry_after_seconds until the next step; then every call. A failure
    during the ramp counts as usual. While it lasts every call runs the state check function; after it the healthy
    path is unchanged. An operator's close (force-closed, and its release) has no ramp. 0: no ramp, every call at once.
  EOT
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.ramp_up_seconds >= 0 && var.ramp_up_seconds <= 86400
    error_message = "ramp_up_seconds must be 0 (no ramp) or at most 86400 (a day)."
  }
}

variable "retry_after_path" {
  description = <<-EOT
    Where the downstream says how long to wait before calling it again, in seconds: a JSONPath of field names, e.g.
    "$.retry_after_seconds", read from a result failure_result marks as a failure, and from an error the downstream
    raises whose cause (the Lambda error document) or message is a JSON object holding it (raise
    Throttled(json.dumps({"retry_after_seconds": 120})) in Python). A number or a string of one. When the failure opens
    the circuit (or fails a probe), the circuit stays open that long, within [open_duration_seconds,
    max_open_duration_seconds]. null: no hint is read.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.retry_after_path == null ? true : can(regex("^\\$(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.retry_after_path))
    error_message = "retry_after_path must be a JSONPath of field names, like \"$.retry_after_seconds\" or \"$.headers.retry_after\"."
  }
}

variable "insufficient_data" {
  description = "How an alarm going to INSUFFICIENT_DATA is treated: ignore, alarm or ok."
  type        = string
  default     = "ignore"
  nullable    = false

  validation {
    condition     = contains(["ignore", "alarm", "ok"], var.insufficient_data)
    error_message = "insufficient_data must be ignore, alarm or ok."
  }
}

################################################################################
# Downstream and healthcheck
################################################################################

variable "downstream_function_arn" {
  description = "ARN of the Lambda function to protect; a qualified ARN (version or alias) is invoked and alarmed as such."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.downstream_function_arn))
    error_message = "downstream_function_arn is \"${var.downstream_function_arn}\", not an ARN: pass the function's ARN (aws_lambda_function.NAME.arn, or an alias's arn), not its name."
  }
  validation {
    condition     = !can(regex("^arn:aws[a-z-]*:apigateway:", var.downstream_function_arn))
    error_message = "downstream_function_arn is an invoke_arn (arn:...:apigateway:...), the address API Gateway invokes a function by: pass the function's arn (aws_lambda_function.NAME.arn), not its invoke_arn."
  }
  validation {
    condition     = !can(regex("^arn:", var.downstream_function_arn)) || can(regex("^arn:aws[a-z-]*:apigateway:", var.downstream_function_arn)) || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$", var.downstream_function_arn))
    error_message = "downstream_function_arn must be a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME), optionally qualified with a version or alias."
  }
}

variable "downstream_timeout_seconds" {
  description = "The downstream function's own timeout. The state machine's call allows it plus a margin for the Lambda init phase; the probe lease covers every attempt of a probe."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.downstream_timeout_seconds >= 1 && var.downstream_timeout_seconds <= 900 && floor(var.downstream_timeout_seconds) == var.downstream_timeout_seconds
    error_message = "downstream_timeout_seconds must be a whole number from 1 to 900."
  }
  validation {
    condition     = var.type != "EXPRESS" || var.downstream_timeout_seconds <= 240
    error_message = "With type = \"EXPRESS\", downstream_timeout_seconds must be at most 240: an EXPRESS execution stops at 5 minutes, and the call's init margin, the state check and the outcome recording need the rest. For a longer call set type = \"STANDARD\" (up to a year; its callers start the execution and poll it)."
  }
}

variable "downstream_alarm" {
  description = <<-EOT
    CloudWatch alarm on the downstream function that trips the circuit. metric_name: ErrorRate (the default: metric math
    100 * Failures / Invocations, 0 below min_invocations, where Failures are the failures the breaker counts, so
    ignored_errors are left out and failure_result's results are in, and Invocations the downstream's; by default >= 22 %
    in one minute of at least 40 calls: in the worst phase a 50 % outage opens the circuit within 2 minutes and a 25 %
    one within 3 at 10 calls/s or more (4 % of the time a minute later), and 5 % of background errors about once in 4
    months at 1 call/s; see docs/benchmarks.md for the trade-off; with allowed_circuits, Failures are the instance's own
    circuit's and Invocations all of the downstream's: use a downstream per circuit or metric_name = "Errors"), or the
    downstream's own AWS/Lambda Errors, Throttles or Duration (with statistic Sum, Average,
    Minimum, Maximum, SampleCount or pNN, e.g. p90 for brown-outs). Errors counts every exception, ignored ones too.
    The defaults fit ErrorRate: the other metrics need their own threshold (a count, or milliseconds for Duration), and
    Duration its statistic (Sum is the default of Errors and Throttles).
  EOT
  type = object({
    enabled             = optional(bool, true)
    metric_name         = optional(string, "ErrorRate")
    statistic           = optional(string)
    period              = optional(number, 60)
    evaluation_periods  = optional(number, 1)
    datapoints_to_alarm = optional(number, 1)
    threshold           = optional(number)
    comparison_operator = optional(string, "GreaterThanOrEqualToThreshold")
    treat_missing_data  = optional(string, "notBreaching")
    min_invocations     = optional(number, 40)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["Errors", "Throttles", "Duration", "ErrorRate"], var.downstream_alarm.metric_name)
    error_message = "downstream_alarm.metric_name must be Errors, Throttles, Duration or ErrorRate."
  }
  validation {
    condition     = var.downstream_alarm.statistic == null || can(regex("^(Sum|Average|Minimum|Maximum|SampleCount|p[0-9]{1,2}(\\.[0-9]+)?)$", var.downstream_alarm.statistic))
    error_message = "downstream_alarm.statistic must be Sum, Average, Minimum, Maximum, SampleCount or a percentile like p99."
  }
  validation {
    condition     = var.downstream_alarm.metric_name == "ErrorRate" || var.downstream_alarm.threshold != null
    error_message = "downstream_alarm.threshold has a default only for the ErrorRate metric (22 %): with Errors or Throttles set a count per period, with Duration milliseconds, e.g. { metric_name = \"Duration\", statistic = \"p90\", threshold = 2000 }."
  }
  validation {
    condition     = var.downstream_alarm.metric_name != "Duration" || !contains(["Sum", "SampleCount"], coalesce(var.downstream_alarm.statistic, "Sum"))
    error_message = "downstream_alarm with metric_name = \"Duration\" needs a statistic of latency, e.g. statistic = \"p90\" or \"Average\": Sum and SampleCount grow with traffic, not with latency."
  }
  validation {
    condition     = var.downstream_alarm.period >= 60 && var.downstream_alarm.period % 60 == 0
    error_message = "downstream_alarm.period must be a multiple of 60 seconds: AWS/Lambda metrics are published per minute."
  }
  validation {
    condition     = var.downstream_alarm.evaluation_periods >= 1 && var.downstream_alarm.datapoints_to_alarm >= 1 && var.downstream_alarm.datapoints_to_alarm <= var.downstream_alarm.evaluation_periods
    error_message = "downstream_alarm needs 1 <= datapoints_to_alarm <= evaluation_periods."
  }
  validation {
    condition     = var.downstream_alarm.period * var.downstream_alarm.evaluation_periods <= (var.downstream_alarm.period < 3600 ? 86400 : 604800)
    error_message = "downstream_alarm.period * evaluation_periods must be at most one day (86400 s) with a period under an hour, 7 days (604800 s) otherwise: CloudWatch refuses a longer alarm."
  }
  validation {
    condition     = contains(["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"], var.downstream_alarm.comparison_operator)
    error_message = "downstream_alarm.comparison_operator must be GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold."
  }
  validation {
    condition     = contains(["missing", "ignore", "breaching", "notBreaching"], var.downstream_alarm.treat_missing_data)
    error_message = "downstream_alarm.treat_missing_data must be missing, ignore, breaching or notBreaching."
  }
  validation {
    condition     = var.downstream_alarm.min_invocations >= 0
    error_message = "downstream_alarm.min_invocations must be 0 or more."
  }
}

variable "store_error_alarm" {
  description = <<-EOT
    CloudWatch alarm on sustained StoreErrors: calls routed by on_store_error because the circuit could not be read (a
    missing KMS grant, an SCP, a wrong shared table_name, throttling past the retries). By default ALARM when at least
    threshold (1) store error is counted in 3 of the last 5 minutes. It changes no circuit; it notifies the alarm topic
    (the sns_topic_arn output: subscribe your pager to it), where the alarm handler logs it as an error.
  EOT
  type = object({
    enabled             = optional(bool, true)
    period              = optional(number, 60)
    evaluation_periods  = optional(number, 5)
    datapoints_to_alarm = optional(number, 3)
    threshold           = optional(number, 1)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.store_error_alarm.period >= 60 && var.store_error_alarm.period % 60 == 0
    error_message = "store_error_alarm.period must be a multiple of 60 seconds."
  }
  validation {
    condition     = var.store_error_alarm.evaluation_periods >= 1 && var.store_error_alarm.datapoints_to_alarm >= 1 && var.store_error_alarm.datapoints_to_alarm <= var.store_error_alarm.evaluation_periods
    error_message = "store_error_alarm needs 1 <= datapoints_to_alarm <= evaluation_periods."
  }
  validation {
    condition     = var.store_error_alarm.period * var.store_error_alarm.evaluation_periods <= (var.store_error_alarm.period < 3600 ? 86400 : 604800)
    error_message = "store_error_alarm.period * evaluation_periods must be at most one day (86400 s) with a period under an hour, 7 days (604800 s) otherwise: CloudWatch refuses a longer alarm."
  }
  validation {
    condition     = var.store_error_alarm.threshold >= 1
    error_message = "store_error_alarm.threshold must be at least 1 store error per period."
  }
}

variable "events_pipeline_alarm" {
  description = <<-EOT
    CloudWatch alarms on the circuit events pipeline, with circuit events on: the events function's IteratorAge (how old
    the records it last received were; it grows while the function fails or falls behind) at least iterator_age_seconds
    (default 300), its errors (crashes, timeouts), and with notifications the notification rule's FailedInvocations
    (messages EventBridge could not deliver to the topic). Each goes to ALARM when datapoints_to_alarm of the last
    evaluation_periods minutes breach (default 3 of 5). They change no circuit; like the store-errors alarm they notify
    the alarm topic (the sns_topic_arn output: subscribe your pager to it), where the alarm handler logs them as errors.
  EOT
  type = object({
    enabled              = optional(bool, true)
    iterator_age_seconds = optional(number, 300)
    evaluation_periods   = optional(number, 5)
    datapoints_to_alarm  = optional(number, 3)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.events_pipeline_alarm.iterator_age_seconds >= 1 && var.events_pipeline_alarm.iterator_age_seconds <= 86400
    error_message = "events_pipeline_alarm.iterator_age_seconds must be from 1 to 86400 (a stream keeps records 24 hours)."
  }
  validation {
    condition     = var.events_pipeline_alarm.evaluation_periods >= 1 && var.events_pipeline_alarm.datapoints_to_alarm >= 1 && var.events_pipeline_alarm.datapoints_to_alarm <= var.events_pipeline_alarm.evaluation_periods
    error_message = "events_pipeline_alarm needs 1 <= datapoints_to_alarm <= evaluation_periods."
  }
  validation {
    condition     = var.events_pipeline_alarm.evaluation_periods <= 1440
    error_message = "events_pipeline_alarm.evaluation_periods must be at most 1440: its periods are minutes, and CloudWatch refuses an alarm over more than one day of them."
  }
}

variable "healthcheck" {
  description = <<-EOT
    The healthcheck: a Lambda function that fails while the downstream's dependency is unhealthy, run on a schedule.
    Its Errors alarm opens the circuit and vetoes probes while in ALARM; back to OK, it closes the circuit (recovery = "close")
    or admits a probe ("half_open"). null: no healthcheck, schedule or healthcheck alarm. function_arn may be unknown at plan
    time (a function created in the same apply): only the presence of this object decides what is created.
  EOT
  type = object({
    function_arn        = string
    schedule_expression = optional(string, "rate(1 minute)")
    recovery            = optional(string, "close")
    alarm = optional(object({
      period              = optional(number, 60)
      evaluation_periods  = optional(number, 1)
      datapoints_to_alarm = optional(number, 1)
      threshold           = optional(number, 1)
      treat_missing_data  = optional(string, "ignore") # a late or missed run is no evidence of recovery
    }), {})
  })
  default = null

  validation {
    condition     = var.healthcheck == null ? true : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$", var.healthcheck.function_arn))
    error_message = "healthcheck.function_arn must be a Lambda function ARN, optionally qualified with a version or alias."
  }
  validation {
    condition     = var.healthcheck == null ? true : can(regex("^(rate\\(.+\\)|cron\\(.+\\))$", var.healthcheck.schedule_expression))
    error_message = "healthcheck.schedule_expression must be rate(...) or cron(...)."
  }
  validation {
    condition     = var.healthcheck == null ? true : contains(["close", "half_open"], var.healthcheck.recovery)
    error_message = "healthcheck.recovery must be close or half_open."
  }
  validation {
    condition     = var.healthcheck == null ? true : (var.healthcheck.alarm.period >= 60 && var.healthcheck.alarm.period % 60 == 0)
    error_message = "healthcheck.alarm.period must be a multiple of 60 seconds: AWS/Lambda metrics are published per minute."
  }
  validation {
    condition     = var.healthcheck == null ? true : (var.healthcheck.alarm.evaluation_periods >= 1 && var.healthcheck.alarm.datapoints_to_alarm >= 1 && var.healthcheck.alarm.datapoints_to_alarm <= var.healthcheck.alarm.evaluation_periods)
    error_message = "healthcheck.alarm needs 1 <= datapoints_to_alarm <= evaluation_periods."
  }
  validation {
    condition     = var.healthcheck == null ? true : var.healthcheck.alarm.period * var.healthcheck.alarm.evaluation_periods <= (var.healthcheck.alarm.period < 3600 ? 86400 : 604800)
    error_message = "healthcheck.alarm.period * evaluation_periods must be at most one day (86400 s) with a period under an hour, 7 days (604800 s) otherwise: CloudWatch refuses a longer alarm."
  }
  validation {
    condition     = var.healthcheck == null ? true : contains(["missing", "ignore", "breaching", "notBreaching"], var.healthcheck.alarm.treat_missing_data)
    error_message = "healthcheck.alarm.treat_missing_data must be missing, ignore, breaching or notBreaching."
  }
}

variable "probe" {
  description = <<-EOT
    A probe that waits for no traffic: EventBridge Scheduler starts the state machine with input (a JSON object the
    downstream accepts, e.g. jsonencode({ ping = true })) on schedule_expression. Once the open duration ends, the next
    run is the circuit's probe; while the circuit is closed it is one more call like any other, and counts like one.
    Required with event_source_mappings, whose paused consumer sends no call to elect a probe from. null: probes come
    from the callers' own calls.
  EOT
  type = object({
    input               = string
    schedule_expression = optional(string, "rate(1 minute)")
  })
  default = null

  validation {
    condition     = var.probe == null ? true : can(keys(jsondecode(var.probe.input)))
    error_message = "probe.input must be a JSON object (e.g. jsonencode({ ping = true })): the state machine's input, which the downstream receives."
  }
  validation {
    condition     = var.probe == null ? true : can(regex("^(rate\\(.+\\)|cron\\(.+\\))$", var.probe.schedule_expression))
    error_message = "probe.schedule_expression must be rate(...) or cron(...)."
  }
}

variable "event_source_mappings" {
  description = <<-EOT
    Queue consumers paused while the circuit is open: the UUIDs (aws_lambda_event_source_mapping's uuid) of the event
    source mappings (SQS, Kinesis, DynamoDB streams) that feed a consumer calling the downstream through this circuit
    breaker. The events function disables them when the circuit admits no calls (OPEN, HALF_OPEN, FORCED_OPEN), whoever
    changed it, and enables them again when it does (CLOSED, FORCED_CLOSED): messages wait in their queue instead of
    failing into a dead-letter queue. Needs circuit_events and a probe; no ramp. Set lifecycle { ignore_changes =
    [enabled] } on the mappings, or an apply would enable a paused one. In observe mode nothing is paused.
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for uuid in var.event_source_mappings : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", uuid))])
    error_message = "event_source_mappings holds event source mapping UUIDs (aws_lambda_event_source_mapping.<name>.uuid), not ARNs or names."
  }
  validation {
    condition     = length(var.event_source_mappings) == 0 || var.circuit_events.enabled
    error_message = "event_source_mappings needs circuit_events.enabled: the events function pauses and resumes the mappings."
  }
  validation {
    condition     = length(var.event_source_mappings) == 0 || var.probe != null
    error_message = "event_source_mappings needs a probe: a paused consumer sends no call, so only a scheduled probe can close the circuit again."
  }
  validation {
    condition     = length(var.event_source_mappings) == 0 || var.ramp_up_seconds == 0
    error_message = "event_source_mappings and ramp_up_seconds do not go together: a ramp would send most of a resumed queue's messages back to it. Ramp a consumer with its mapping's scaling_config.maximum_concurrency instead."
  }
}

################################################################################
# Fallback
################################################################################

variable "fallback_mode" {
  description = "What a short-circuited call returns: fail (error CircuitOpen), payload (fallback_payload as success) or function (fallback_function_arn's answer). null: payload when fallback_payload is given, function when fallback_function_arn is, fail otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.fallback_mode == null || contains(["fail", "payload", "function"], coalesce(var.fallback_mode, "fail"))
    error_message = "fallback_mode must be fail, payload or function (or null: inferred from the fallback input given)."
  }
  validation {
    condition     = var.fallback_mode != "function" || var.fallback_function_arn != null
    error_message = "fallback_mode = \"function\" needs fallback_function_arn."
  }
  validation {
    condition     = var.fallback_mode != "payload" || var.fallback_payload != null
    error_message = "fallback_mode = \"payload\" needs fallback_payload: a short-circuited call would otherwise return null as success."
  }
  validation {
    condition     = var.fallback_mode == null || var.fallback_mode == "payload" || var.fallback_payload == null
    error_message = "fallback_payload is set, but fallback_mode is \"${coalesce(var.fallback_mode, "fail")}\", which ignores it: set fallback_mode = \"payload\" (or leave it out) to return it while the circuit is open."
  }
  validation {
    condition     = var.fallback_mode == null || var.fallback_mode == "function" || var.fallback_function_arn == null
    error_message = "fallback_function_arn is set, but fallback_mode is \"${coalesce(var.fallback_mode, "fail")}\", which ignores it: set fallback_mode = \"function\" (or leave it out) to call it while the circuit is open."
  }
}

variable "fallback_payload" {
  description = "Result returned as success while the circuit is open (fallback_mode \"payload\", inferred when this is given). Give it a marker field (e.g. fallback = true) so that callers can tell it from a real answer. An object gets the field retry_after_seconds (whole seconds until the circuit may admit a probe, or null when nobody can tell) unless it has one of its own."
  type        = any
  default     = null

  # Validation errors point at the line of the caller's module block that sets the input they are on:
  # this one is here, where a caller who gives both fallbacks wrote one of them.
  validation {
    condition     = var.fallback_payload == null || var.fallback_function_arn == null
    error_message = "fallback_payload and fallback_function_arn are both set: a short-circuited call returns one fallback, so give only the one you want."
  }
  validation {
    # An object payload becomes a Pass state's Parameters (to add retry_after_seconds), where a key ending in .$ reads a path.
    condition     = !can(regex("\\.\\$\":", jsonencode(var.fallback_payload)))
    error_message = "fallback_payload has a field name ending in \".$\", which Step Functions would read as a path into the call's state: rename it."
  }
}

variable "fallback_function_arn" {
  description = "Lambda function called with {input, circuit} while the circuit is open (fallback_mode \"function\", inferred when this is given)."
  type        = string
  default     = null
}

################################################################################
# State machine
################################################################################

variable "type" {
  description = "State machine type: EXPRESS (call it with StartSyncExecution; at most 5 minutes, billed per request) or STANDARD (StartExecution, for asynchronous callers; billed per state transition)."
  type        = string
  default     = "EXPRESS"
  nullable    = false

  validation {
    condition     = contains(["STANDARD", "EXPRESS"], var.type)
    error_message = "type must be STANDARD or EXPRESS."
  }
}

variable "state_machine_log_level" {
  description = "Step Functions execution log level: ALL, ERROR, FATAL or OFF. Execution data (payloads) is never logged."
  type        = string
  default     = "ERROR"
  nullable    = false

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "tracing_enabled" {
  description = "Enable X-Ray tracing on the state machine and the module's functions."
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# Table
################################################################################

variable "create_table" {
  description = "Create the circuit table. false: use an existing one named table_name (e.g. shared by several instances)."
  type        = bool
  default     = true
  nullable    = false

  # Here rather than on table_name or circuit_events, where a caller who set create_table = false and
  # forgot the others would have no line to be shown (and the rules of two inputs cannot refer to each other).
  validation {
    condition     = var.create_table || var.table_name != null
    error_message = "create_table = false needs table_name: the name of the existing circuit table."
  }
  validation {
    condition     = var.create_table || !var.circuit_events.enabled || var.circuit_events.table_stream_arn != null
    error_message = "With create_table = false, circuit_events.table_stream_arn must name the existing table's stream (stream_view_type NEW_AND_OLD_IMAGES), e.g. the dynamodb_table_stream_arn output of the instance that creates it; or set circuit_events.enabled = false."
  }
  validation {
    condition     = !var.create_table || var.circuit_events.table_stream_arn == null
    error_message = "circuit_events.table_stream_arn is for create_table = false only: the module enables the stream of the table it creates."
  }
}

variable "table_key" {
  description = <<-EOT
    How the circuit table keys a circuit's item. By default the circuit's name is the partition key "id", Powertools'
    default layout. For Powertools' single-table layout (its static_pk_value and sort_key_attr), name the partition key,
    the sort key that holds the circuit's name, and the partition key value every circuit shares, e.g. { partition_key =
    "pk", sort_key = "sk", partition_value = "circuit_breaker#orders" }: a function decorated with @circuit_breaker on
    the same table and key then sees this module's circuit, and the other way round. It keys the table this module
    creates and a shared one (create_table = false) alike. With a sort key, IAM scopes the module's roles and the
    operator policies to the partition (dynamodb:LeadingKeys names partition keys), not to their circuits; circuit
    events (circuits = "table" included) cover that partition's circuits, named by the sort key: keep names unique
    across the partitions of one table.
  EOT
  type = object({
    partition_key   = optional(string, "id")
    sort_key        = optional(string)
    partition_value = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = (var.table_key.sort_key == null) == (var.table_key.partition_value == null)
    error_message = "table_key needs sort_key and partition_value together: the circuit's name goes in the sort key, and partition_value in the partition key of every circuit (Powertools' static_pk_value)."
  }
  validation {
    condition     = var.table_key.partition_key != var.table_key.sort_key && var.table_key.partition_key != ""
    error_message = "table_key.partition_key must be a non-empty attribute name, other than sort_key."
  }
  validation {
    condition     = var.table_key.sort_key != "" && var.table_key.partition_value != ""
    error_message = "table_key.sort_key and partition_value must not be empty: DynamoDB refuses an empty key."
  }
}

variable "table_name" {
  description = "Name of the circuit table. Required with create_table = false; defaults to \"<name>-circuits\"."
  type        = string
  default     = null
}

variable "table_stream_enabled" {
  description = "Give the created table its DynamoDB stream (NEW_AND_OLD_IMAGES) whether or not this instance consumes it, so that other instances sharing the table keep their circuit events when this one turns its own off. Required with circuit events on; an unread stream costs nothing."
  type        = bool
  default     = true
  nullable    = false

  validation {
    condition     = var.table_stream_enabled || !var.create_table || !var.circuit_events.enabled
    error_message = "table_stream_enabled = false needs circuit_events.enabled = false: the circuit events read the created table's stream."
  }
}

variable "table_point_in_time_recovery" {
  description = "Enable point-in-time recovery on the created table."
  type        = bool
  default     = true
  nullable    = false
}

variable "table_kms_key_arn" {
  description = "The circuit table's customer managed KMS key, whether this instance creates the table or shares one (create_table = false): the functions, the state machine and the operator policies are granted its use, and the sent-events table is encrypted with it. An instance on a shared table encrypted with a customer managed key must pass that key, or every read, write and stream record of the table is denied. null: the AWS managed key for DynamoDB."
  type        = string
  default     = null

  validation {
    condition     = var.table_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.table_kms_key_arn))
    error_message = "table_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

################################################################################
# Alarm topic
################################################################################

variable "create_sns_kms_key" {
  description = "Create a customer managed KMS key for the alarm topic (CloudWatch cannot publish to a topic encrypted with the AWS managed key)."
  type        = bool
  default     = true
  nullable    = false
}

variable "sns_kms_master_key_id" {
  description = "Your own KMS key for the alarm topic (with create_sns_kms_key = false); its policy must let cloudwatch.amazonaws.com use it."
  type        = string
  default     = null

  validation {
    condition     = !(var.create_sns_kms_key && var.sns_kms_master_key_id != null)
    error_message = "Set create_sns_kms_key = false when passing sns_kms_master_key_id: the module creates a key only when asked, so the choice is known at plan time even for a key created in the same apply."
  }
}

################################################################################
# Alerting and monitoring
################################################################################

variable "circuit_events" {
  description = <<-EOT
    Circuit events: every change of a circuit's state or override, whoever makes it (this module, circuitctl, Powertools on
    the same table), becomes one "Circuit State Change" event on EventBridge, derived from the table's DynamoDB stream by a
    function of the module. enabled = false: no stream consumer, function or sent-events table. event_bus_name: name or ARN
    (default: the account's default bus). circuits: "own" (this instance's circuits: circuit_name and allowed_circuits) or
    "table" (every circuit of the table: on a table shared by more than two instances, one instance publishes for all and
    the others turn their events off, since a stream serves at most two readers per shard; each instance's notifications
    match its own circuits whoever publishes). table_stream_arn: the stream (NEW_AND_OLD_IMAGES) of an existing table,
    required with create_table = false. The rest tunes the event source mapping: by default a record is retried until the stream
    drops it (24 hours), so a change is not given up while EventBridge is briefly unavailable; on_failure_destination_arn
    (SQS queue or SNS topic) receives the description of records given up.
  EOT
  type = object({
    enabled                            = optional(bool, true)
    event_bus_name                     = optional(string, "default")
    source                             = optional(string, "circuit-breaker")
    circuits                           = optional(string, "own")
    table_stream_arn                   = optional(string)
    batch_size                         = optional(number, 100)
    maximum_batching_window_in_seconds = optional(number, 0)
    maximum_retry_attempts             = optional(number, -1)
    maximum_record_age_in_seconds      = optional(number, -1)
    on_failure_destination_arn         = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["own", "table"], var.circuit_events.circuits)
    error_message = "circuit_events.circuits must be \"own\" (this instance's circuits) or \"table\" (every circuit of the table, for one reader of a shared table)."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,256}$", var.circuit_events.source)) && !startswith(var.circuit_events.source, "aws.")
    error_message = "circuit_events.source must be 1 to 256 letters, digits or . _ / - characters, and must not start with \"aws.\" (reserved for AWS services)."
  }
  validation {
    condition     = startswith(var.circuit_events.event_bus_name, "arn:") || can(regex("^[A-Za-z0-9._-]{1,256}$", var.circuit_events.event_bus_name))
    error_message = "circuit_events.event_bus_name must be an event bus name or ARN."
  }
  validation {
    condition     = var.circuit_events.batch_size >= 1 && var.circuit_events.batch_size <= 10000
    error_message = "circuit_events.batch_size must be from 1 to 10000."
  }
  validation {
    condition     = var.circuit_events.maximum_batching_window_in_seconds >= 0 && var.circuit_events.maximum_batching_window_in_seconds <= 300
    error_message = "circuit_events.maximum_batching_window_in_seconds must be from 0 to 300."
  }
  validation {
    condition     = var.circuit_events.maximum_retry_attempts >= -1 && var.circuit_events.maximum_retry_attempts <= 10000
    error_message = "circuit_events.maximum_retry_attempts must be -1 (until the record expires) or from 0 to 10000."
  }
  validation {
    condition     = var.circuit_events.on_failure_destination_arn == null || can(regex("^arn:aws[a-z-]*:(sqs|sns):", var.circuit_events.on_failure_destination_arn))
    error_message = "circuit_events.on_failure_destination_arn must be an SQS queue or SNS topic ARN."
  }
  validation {
    condition     = var.circuit_events.maximum_record_age_in_seconds == -1 || (var.circuit_events.maximum_record_age_in_seconds >= 60 && var.circuit_events.maximum_record_age_in_seconds <= 604800)
    error_message = "circuit_events.maximum_record_age_in_seconds must be -1 (the stream's 24 hours) or from 60 to 604800."
  }
}

variable "notifications" {
  description = <<-EOT
    Send the circuit changes people care about to an SNS topic (email, chat or paging is then one subscription away):
    an EventBridge rule on the circuit events, with a readable message. statuses: the new status that notifies, among
    OPEN, HALF_OPEN, CLOSED, FORCED_OPEN and FORCED_CLOSED. OPEN notifies when the circuit opens, not when a failed
    probe reopens it (one message when an outage starts, one when it ends); reopens = true notifies those too (they
    are always on the event bus). The topic's policy must let events.amazonaws.com publish (see the README).
    EventBridge retries an undelivered message for 24 hours; dead_letter_arn (an SQS queue whose policy lets
    events.amazonaws.com send) then receives it instead of it being dropped. null: no rule. topic_arn and
    dead_letter_arn may be unknown at plan time: only the presence of this object decides.
  EOT
  type = object({
    topic_arn       = string
    statuses        = optional(list(string), ["OPEN", "FORCED_OPEN", "FORCED_CLOSED", "CLOSED"])
    reopens         = optional(bool, false)
    dead_letter_arn = optional(string)
  })
  default = null

  validation {
    condition     = try(var.notifications.dead_letter_arn, null) == null || can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.notifications.dead_letter_arn))
    error_message = "notifications.dead_letter_arn must be an SQS queue ARN (arn:aws:sqs:region:account:queue)."
  }
  validation {
    condition     = var.notifications == null ? true : length(var.notifications.statuses) > 0 && alltrue([for status in var.notifications.statuses : contains(["OPEN", "HALF_OPEN", "CLOSED", "FORCED_OPEN", "FORCED_CLOSED"], status)])
    error_message = "notifications.statuses must list one or more of OPEN, HALF_OPEN, CLOSED, FORCED_OPEN and FORCED_CLOSED."
  }
  validation {
    condition     = var.notifications == null ? true : var.circuit_events.enabled || !var.create_table
    error_message = "notifications need the circuit events: set circuit_events.enabled = true (the default). Only an instance on a shared table (create_table = false) may leave them to another instance with circuit_events.circuits = \"table\"."
  }
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard for this instance: circuit state over time, short-circuited calls, probes, the downstream's invocations, errors and p90/p99 duration, the healthcheck's errors, and its alarms with their thresholds."
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# Module functions
################################################################################

variable "lambda_runtime" {
  description = "Python runtime of the module's functions."
  type        = string
  default     = "python3.12"
  nullable    = false

  validation {
    condition     = can(regex("^python3\\.(1[2-9]|[2-9][0-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be python3.12 or newer."
  }
}

variable "lambda_architecture" {
  description = "Architecture of the module's functions: x86_64 or arm64."
  type        = string
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_memory_size" {
  description = "Memory (MB) of the module's functions."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be between 128 and 10240."
  }
}

variable "powertools_layer_arn" {
  description = "Lambda layer providing aws-lambda-powertools (e.g. one you build to bundle it). null: the public Powertools layer for the region, runtime and architecture."
  type        = string
  default     = null
}

variable "powertools_layer_version" {
  description = "Version of the public Powertools v3 layer used when powertools_layer_arn is null."
  type        = number
  default     = 27
  nullable    = false
}

variable "log_level" {
  description = "Log level of the module's functions (Powertools): DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Retention of the module's log groups."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
