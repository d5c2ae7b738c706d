output "alb_url" {
  description = "Base URL of the API (HTTPS). With domain_name set, that name (which the certificate covers); otherwise the load balancer's own DNS name, which the certificate normally does not cover."
  value       = var.domain_name != null ? "https://${var.domain_name}" : "https://${aws_lb.this.dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (target of a CNAME or alias record for domain_name)."
  value       = aws_lb.this.dns_name
}

output "ecr_repository_url" {
  description = "Push the gospital image here: <ecr_repository_url>:<image_tag>."
  value       = aws_ecr_repository.this.repository_url
}

output "grafana_url" {
  description = "Amazon Managed Grafana workspace (sign-in through IAM Identity Center)."
  value       = "https://${aws_grafana_workspace.this.endpoint}"
}

output "prometheus_endpoint" {
  description = "Amazon Managed Service for Prometheus workspace endpoint (SigV4-signed queries under api/v1/)."
  value       = aws_prometheus_workspace.this.prometheus_endpoint
}

output "prometheus_remote_write_url" {
  description = "Remote-write URL the metrics sidecars send to."
  value       = "${aws_prometheus_workspace.this.prometheus_endpoint}api/v1/remote_write"
}

output "ecs_cluster_name" {
  description = "ECS cluster of the staff and public services."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_names" {
  description = "ECS services by traffic class."
  value       = { for class, service in aws_ecs_service.service : class => service.name }
}

output "database_url_secret_arn" {
  description = "Secrets Manager secret holding DATABASE_URL (read by the execution role only)."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "dynamodb_tables" {
  description = "DynamoDB tables (MEDICAL_RECORDS_TABLE, INVOICES_TABLE, MEDICAL_RECORD_HISTORY_TABLE, IDEMPOTENCY_TABLE, AUDIT_EVENTS_TABLE)."
  value = {
    medical_records        = aws_dynamodb_table.medical_records.name
    invoices               = aws_dynamodb_table.invoices.name
    medical_record_history = aws_dynamodb_table.medical_record_history.name
    idempotency            = aws_dynamodb_table.idempotency.name
    audit_events           = aws_dynamodb_table.audit_events.name
  }
}

output "migrate_command" {
  description = "Runs `gospital migrate` once as a Fargate task in the private subnets (first deployment, and before rolling out an image with new migrations)."
  value = join(" ", [
    "aws ecs run-task",
    "--region ${var.aws_region}",
    "--cluster ${aws_ecs_cluster.this.name}",
    "--launch-type FARGATE",
    "--task-definition ${aws_ecs_task_definition.migrate.arn}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", aws_subnet.private[*].id)}],securityGroups=[${aws_security_group.tasks.id}],assignPublicIp=DISABLED}'",
  ])
}
