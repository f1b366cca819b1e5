################################################################################
# Alarm topic: only this account's CloudWatch alarms of this module may publish
################################################################################

locals {
  sns_kms_key_id = var.create_sns_kms_key ? aws_kms_key.alarms[0].arn : var.sns_kms_master_key_id
  alarm_arn_like = "arn:${local.partition}:cloudwatch:${data.aws_region.current.region}:${local.account_id}:alarm:${var.name}-*"
}

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:Encrypted unless the user sets create_sns_kms_key = false without a key of their own.
  name              = "${var.name}-alarms"
  kms_master_key_id = local.sns_kms_key_id
  tags              = var.tags
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisModule"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_like]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarm_handler" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.this["alarm_handler"].arn
}

resource "aws_lambda_permission" "alarm_handler" {
  statement_id  = "AllowAlarmTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["alarm_handler"].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.alarms.arn
}

resource "aws_kms_key" "alarms" {
  count = var.create_sns_kms_key ? 1 : 0

  description         = "Circuit breaker ${var.name}: alarm topic encryption"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.alarms_key[0].json
  tags                = var.tags
}

data "aws_iam_policy_document" "alarms_key" {
  count = var.create_sns_kms_key ? 1 : 0

  statement {
    #checkov:skip=CKV_AWS_109:A key policy must let the account administer its own key; "*" here means this key.
    #checkov:skip=CKV_AWS_111:Same: the resource of a key policy statement is the key itself.
    #checkov:skip=CKV_AWS_356:Same: in a key policy "*" is this key, not every resource.
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsEncrypt"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_alias" "alarms" {
  count = length(aws_kms_key.alarms)

  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms[0].key_id
}
