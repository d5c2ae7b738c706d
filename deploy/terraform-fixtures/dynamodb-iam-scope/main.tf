# Violates only dynamodb-iam-scope: DynamoDB granted beyond the service's two tables and four actions.

resource "aws_dynamodb_table" "records" {
  name         = "records"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "recordId"

  attribute {
    name = "recordId"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

resource "aws_dynamodb_table" "invoices" {
  name         = "invoices"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "invoiceId"

  attribute {
    name = "invoiceId"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

resource "aws_iam_role" "task" {
  name = "task"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

# dynamodb:* on every table of the account.
resource "aws_iam_role_policy" "everything" {
  name = "everything"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["dynamodb:*"], Resource = "*" }]
  })
}

data "aws_iam_policy_document" "extra" {
  # Fine: exactly the service's actions on its tables and their indexes.
  statement {
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:DescribeTable"]
    resources = [aws_dynamodb_table.records.arn, "${aws_dynamodb_table.records.arn}/index/*"]
  }

  # Scan is not an action the service calls; the other table is named by a literal ARN.
  statement {
    actions   = ["dynamodb:Scan"]
    resources = [aws_dynamodb_table.invoices.arn, "arn:aws:dynamodb:us-east-1:123456789012:table/other"]
  }
}

resource "aws_iam_role_policy" "extra" {
  name   = "extra"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.extra.json
}

resource "aws_iam_role_policy_attachment" "full_access" {
  role       = aws_iam_role.task.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
}
