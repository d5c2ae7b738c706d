# IAM, least privilege:
# - execution role (used by ECS itself to start a task): pull this stack's image, write its log groups, read the
#   one DATABASE_URL secret;
# - task role (used by the service): exactly the DynamoDB actions the service calls, on its four tables and their
#   indexes only (src/store/dynamodb.rs: GetItem, PutItem, UpdateItem, DeleteItem, Query, DescribeTable,
#   DescribeTimeToLive; transactions need no action of their own; no CreateTable or UpdateTimeToLive, Terraform
#   owns the tables), and remote write to this stack's Prometheus workspace;
# - flow-logs role and Grafana workspace role.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:ecs:${var.aws_region}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

# --- Execution role -----------------------------------------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-exec-"
  description        = "ECS task execution role of Gospital: image pull, logs, the DATABASE_URL secret"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken has no resource-level permissions; the pull itself is limited to this repository.
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "EcrPull"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid     = "Logs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = concat(
      [for group in aws_cloudwatch_log_group.service : "${group.arn}:*"],
      ["${aws_cloudwatch_log_group.migrate.arn}:*", "${aws_cloudwatch_log_group.collector.arn}:*"],
    )
  }

  statement {
    sid       = "DatabaseUrlSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.database_url.arn, aws_secretsmanager_secret.audit_key.arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- Task role ----------------------------------------------------------------------------------------------------

resource "aws_iam_role" "task" {
  name_prefix        = "${var.name}-task-"
  description        = "ECS task role of Gospital: its five DynamoDB tables and Prometheus remote write"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task" {
  # Checked by deploy/check-terraform (dynamodb-iam-scope): only these actions, only these five tables.
  # UpdateItem completes an idempotency record and DeleteItem releases one, both inside or beside the
  # TransactWriteItems that create records and invoices (IAM checks each item of a transaction by its action).
  statement {
    sid = "RecordsTables"
    actions = [
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:DescribeTimeToLive",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = [
      aws_dynamodb_table.medical_records.arn,
      "${aws_dynamodb_table.medical_records.arn}/index/*",
      aws_dynamodb_table.invoices.arn,
      "${aws_dynamodb_table.invoices.arn}/index/*",
      aws_dynamodb_table.medical_record_history.arn,
      aws_dynamodb_table.idempotency.arn,
      aws_dynamodb_table.audit_events.arn,
      "${aws_dynamodb_table.audit_events.arn}/index/*",
    ]
  }

  # The access log and the verifier read a patient's (or the chain's) events by ID, up to 100 per call.
  statement {
    sid       = "AuditEventsBatchRead"
    actions   = ["dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.audit_events.arn]
  }

  statement {
    sid       = "PrometheusRemoteWrite"
    actions   = ["aps:RemoteWrite"]
    resources = [aws_prometheus_workspace.this.arn]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "task"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# --- VPC flow logs ------------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name_prefix        = "${var.name}-flowlogs-"
  description        = "VPC flow logs of Gospital to CloudWatch Logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
    ]
    resources = [aws_cloudwatch_log_group.flow_logs.arn, "${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

# --- Grafana workspace role: query this stack's Prometheus workspace, nothing else -------------------------------

data "aws_iam_policy_document" "grafana_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["grafana.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "grafana" {
  name_prefix        = "${var.name}-grafana-"
  description        = "Amazon Managed Grafana workspace of Gospital: read its Prometheus workspace"
  assume_role_policy = data.aws_iam_policy_document.grafana_assume.json
}

data "aws_iam_policy_document" "grafana" {
  statement {
    sid       = "ListWorkspaces"
    actions   = ["aps:ListWorkspaces"]
    resources = ["*"]
  }

  statement {
    sid = "QueryWorkspace"
    actions = [
      "aps:DescribeWorkspace",
      "aps:QueryMetrics",
      "aps:GetLabels",
      "aps:GetSeries",
      "aps:GetMetricMetadata",
    ]
    resources = [aws_prometheus_workspace.this.arn]
  }
}

resource "aws_iam_role_policy" "grafana" {
  name   = "prometheus-query"
  role   = aws_iam_role.grafana.id
  policy = data.aws_iam_policy_document.grafana.json
}
