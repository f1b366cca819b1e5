################################################################################
# Circuit table: one item per circuit, key `id` (Powertools' circuit-breaker layout)
################################################################################

resource "aws_dynamodb_table" "this" {
  count = var.create_table ? 1 : 0

  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  # The circuit events function turns every change of state or override into an event (events.tf). The stream stays on
  # when this instance's events are off: other instances sharing the table may read it.
  stream_enabled   = var.table_stream_enabled
  stream_view_type = var.table_stream_enabled ? "NEW_AND_OLD_IMAGES" : null

  attribute {
    name = "id"
    type = "S"
  }

  # Powertools stamps `expiration` on the records it writes; this module's transitions clear it.
  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.table_point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.table_kms_key_arn
  }

  tags = var.tags
}
