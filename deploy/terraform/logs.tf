# CloudWatch log groups, each with a retention (var.log_retention_days, 30 days by default). The service logs one
# JSON line per request and never patient data (DESIGN.md §4).

resource "aws_cloudwatch_log_group" "service" {
  for_each = local.services

  name              = "/${var.name}/ecs/${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "migrate" {
  name              = "/${var.name}/ecs/migrate"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "collector" {
  name              = "/${var.name}/ecs/metrics-collector"
  retention_in_days = var.log_retention_days
}

# RDS exports its error and slow-query logs to these groups; made here first so they get the retention too.
resource "aws_cloudwatch_log_group" "rds" {
  for_each = toset(["error", "slowquery"])

  name              = "/aws/rds/instance/${var.name}-mysql/${each.key}"
  retention_in_days = var.log_retention_days
}
