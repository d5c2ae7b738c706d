# Medical records and invoices (store D), with exactly the key design the service expects and checks at start-up
# (src/store/dynamodb/schema.rs: a table with other keys is refused). On-demand billing, point-in-time recovery,
# server-side encryption (AWS managed KMS key), deletion protection by default.
#
# Terraform owns the tables: `gospital migrate` only verifies them (and the task role has no CreateTable).

resource "aws_dynamodb_table" "medical_records" {
  name         = "${var.name}-medical-records"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "recordId"

  attribute {
    name = "recordId"
    type = "S"
  }

  attribute {
    name = "patientId"
    type = "S"
  }

  # <visitDate>#<recordId>: RFC 3339 UTC with milliseconds, then the ID; sorts as the contract orders.
  attribute {
    name = "visitDateKey"
    type = "S"
  }

  global_secondary_index {
    name            = "PatientIdIndex"
    hash_key        = "patientId"
    range_key       = "visitDateKey"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection

  tags = { Name = "${var.name}-medical-records" }
}

resource "aws_dynamodb_table" "invoices" {
  name         = "${var.name}-invoices"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "invoiceId"

  attribute {
    name = "invoiceId"
    type = "S"
  }

  attribute {
    name = "patientId"
    type = "S"
  }

  # <invoiceDate>#<invoiceId>: YYYY-MM-DD, then the ID.
  attribute {
    name = "invoiceDateKey"
    type = "S"
  }

  global_secondary_index {
    name            = "PatientIdIndex"
    hash_key        = "patientId"
    range_key       = "invoiceDateKey"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection

  tags = { Name = "${var.name}-invoices" }
}
