################################################################################
# Circuit table: one item per circuit, keyed as table_key says (Powertools' circuit-breaker layout: `id`, or a single table)
################################################################################

resource "aws_dynamodb_table" "this" {
  count = var.create_table ? 1 : 0

  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = var.table_key.partition_key
  range_key    = var.table_key.sort_key

  # The circuit events function turns every change of state or override into an event (events.tf). The stream stays on
  # when this instance's events are off: other instances sharing the table may read it.
  stream_enabled   = var.table_stream_enabled
  stream_view_type = var.table_stream_enabled ? "NEW_AND_OLD_IMAGES" : null

  dynamic "attribute" {
    for_each = local.table_key_attributes
    content {
      name = attribute.value
      type = "S"
    }
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
