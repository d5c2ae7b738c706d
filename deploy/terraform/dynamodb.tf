# Medical records, invoices, record history and idempotency records (store D), with exactly the key design the
# service expects and checks at start-up
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

# Earlier versions of medical records ([history], API.md §3.7): one item per superseded version, written in the
# same TransactWriteItems as the amendment and never changed afterwards.
resource "aws_dynamodb_table" "medical_record_history" {
  name         = "${var.name}-medical-record-history"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "recordId"
  range_key    = "version"

  attribute {
    name = "recordId"
    type = "S"
  }

  attribute {
    name = "version"
    type = "N"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection

  tags = { Name = "${var.name}-medical-record-history" }
}

# Idempotency records of the POSTs that create records and invoices ([safe-writes], API.md §1.11). DynamoDB's TTL
# deletes each one some time after `expiresAt` (epoch seconds, at least 24 h after the POST succeeded); until it
# does, the service treats an expired item as absent.
resource "aws_dynamodb_table" "idempotency" {
  name         = "${var.name}-idempotency"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "scope"

  attribute {
    name = "scope"
    type = "S"
  }

  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection

  tags = { Name = "${var.name}-idempotency" }
}

# D's audit trail ([audit], SECURITY.md §5): events, their chain's lease, head and signed checkpoints, keyed like the
# document tables (src/store/dynamodb/audit.rs has the item layout). The service only ever adds to it; PITR keeps
# 35 days of it restorable, and deletion protection follows var.deletion_protection like the other tables.
resource "aws_dynamodb_table" "audit_events" {
  name         = "${var.name}-audit-events"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  # The list an item belongs to: all#D, pending#D, seq#D, checkpoints#D, or a patient ID.
  attribute {
    name = "patientId"
    type = "S"
  }

  # <recordedAt ms, 20 digits>#<eventId>, or a 20-digit seq.
  attribute {
    name = "sortKey"
    type = "S"
  }

  global_secondary_index {
    name            = "PatientIdIndex"
    hash_key        = "patientId"
    range_key       = "sortKey"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection

  tags = { Name = "${var.name}-audit-events" }
}
