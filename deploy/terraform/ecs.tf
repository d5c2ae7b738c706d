# ECS Fargate: two services of the same image, `staff` and `public` (as in the Go original), each behind its own
# target group (alb.tf), each auto-scaled on CPU and memory; plus a one-off `migrate` task definition.
#
# Each service task runs two containers: `gospital` (the API on container_port) and `metrics-collector`, an AWS
# Distro for OpenTelemetry sidecar that scrapes http://127.0.0.1:<port>/metrics and remote-writes to Amazon
# Managed Service for Prometheus (monitoring.tf), labelling each task's series with `instance` = the task ARN
# and `traffic_class` = the service, so deploy/grafana/dashboard.json works as it does locally.

locals {
  # Traffic classes; the load balancer routes `X-User-Type: staff` to `staff` and the rest to `public` (alb.tf).
  services = {
    staff  = { description = "requests with X-User-Type: staff" }
    public = { description = "all other requests (the listener's default)" }
  }

  image = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"

  # Plain settings only. Every name here is checked by deploy/check-terraform (no-literal-secrets): nothing that
  # looks like a password, token or database URL may appear in a task's environment.
  app_environment = [
    { name = "GOSPITAL_ADDR", value = "0.0.0.0:${var.container_port}" },
    { name = "GOSPITAL_RECORDS_STORE", value = "dynamodb" },
    { name = "AWS_REGION", value = var.aws_region },
    { name = "MEDICAL_RECORDS_TABLE", value = aws_dynamodb_table.medical_records.name },
    { name = "INVOICES_TABLE", value = aws_dynamodb_table.invoices.name },
    { name = "MEDICAL_RECORD_HISTORY_TABLE", value = aws_dynamodb_table.medical_record_history.name },
    { name = "IDEMPOTENCY_TABLE", value = aws_dynamodb_table.idempotency.name },
    { name = "AUDIT_EVENTS_TABLE", value = aws_dynamodb_table.audit_events.name },
    { name = "RUST_LOG", value = var.log_level },
    # [auth] mode oidc (SECURITY.md §1): the hospital's identity provider signs the tokens; the task holds no key
    # and no secret, only where to find the provider's public keys.
    { name = "GOSPITAL_AUTH", value = "oidc" },
    { name = "GOSPITAL_OIDC_ISSUER", value = var.oidc_issuer },
    { name = "GOSPITAL_OIDC_AUDIENCE", value = var.oidc_audience },
    { name = "GOSPITAL_OIDC_ROLES_CLAIM", value = var.oidc_roles_claim },
  ]

  # DATABASE_URL (mysql://user:password@host:3306/db) comes from Secrets Manager; ECS injects it at start-up
  # with the execution role, so it never appears in the task definition, the console or the Terraform plan.
  app_secrets = [
    { name = "DATABASE_URL", valueFrom = aws_secretsmanager_secret.database_url.arn },
    # Every task signs audit checkpoints with this one key (SECURITY.md §5), so one `gospital audit verify` with it
    # checks the checkpoints of all of them.
    { name = "GOSPITAL_AUDIT_KEY", valueFrom = aws_secretsmanager_secret.audit_key.arn },
  ]

  # The image has no curl: `gospital healthcheck` asks GOSPITAL_ADDR's /health/live and exits 0 on 200.
  app_health_check = {
    command     = ["CMD", "/usr/local/bin/gospital", "healthcheck"]
    interval    = 15
    timeout     = 5
    retries     = 3
    startPeriod = 30
  }

  # ADOT collector pipeline of each service: Prometheus scrape -> ECS resource detection -> instance = task ARN
  # -> SigV4 remote write with the task role (aps:RemoteWrite on this workspace only).
  collector_config = {
    for class in keys(local.services) : class => yamlencode({
      extensions = {
        health_check = {}
        sigv4auth    = { region = var.aws_region, service = "aps" }
      }
      receivers = {
        prometheus = {
          config = {
            global = { scrape_interval = var.metrics_scrape_interval }
            scrape_configs = [{
              job_name       = "gospital"
              metrics_path   = "/metrics"
              static_configs = [{ targets = ["127.0.0.1:${var.container_port}"], labels = { traffic_class = class } }]
            }]
          }
        }
      }
      processors = {
        resourcedetection = { detectors = ["ecs"], timeout = "5s", override = false }
        "resource/instance" = {
          attributes = [{ key = "service.instance.id", from_attribute = "aws.ecs.task.arn", action = "upsert" }]
        }
        batch = { timeout = "30s" }
      }
      exporters = {
        prometheusremotewrite = {
          endpoint = "${aws_prometheus_workspace.this.prometheus_endpoint}api/v1/remote_write"
          auth     = { authenticator = "sigv4auth" }
        }
      }
      service = {
        extensions = ["health_check", "sigv4auth"]
        pipelines = {
          metrics = {
            receivers  = ["prometheus"]
            processors = ["resourcedetection", "resource/instance", "batch"]
            exporters  = ["prometheusremotewrite"]
          }
        }
      }
    })
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "service" {
  for_each = local.services

  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name                   = "gospital"
      image                  = local.image
      essential              = true
      entryPoint             = ["/usr/local/bin/gospital"]
      command                = ["serve"]
      readonlyRootFilesystem = true
      stopTimeout            = 30
      portMappings           = [{ containerPort = var.container_port, protocol = "tcp" }]
      environment            = local.app_environment
      secrets                = local.app_secrets
      healthCheck            = local.app_health_check
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          "awslogs-group"         = aws_cloudwatch_log_group.service[each.key].name
          "awslogs-region"        = var.aws_region
          "awslogs-stream-prefix" = "gospital"
        }
      }
    },
    {
      # Not essential: losing metrics must never take the API down.
      name              = "metrics-collector"
      image             = var.collector_image
      essential         = false
      memoryReservation = var.collector_memory
      environment = [
        { name = "AOT_CONFIG_CONTENT", value = local.collector_config[each.key] },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          "awslogs-group"         = aws_cloudwatch_log_group.collector.name
          "awslogs-region"        = var.aws_region
          "awslogs-stream-prefix" = each.key
        }
      }
    },
  ])
}

# One-off: `gospital migrate` applies the MySQL migrations and seeds the six departments, and with
# GOSPITAL_RECORDS_STORE=dynamodb checks that the Terraform-made tables have the expected keys and are ACTIVE.
# Run it with the `migrate_command` output after the first apply and before rolling out an image whose
# migrations changed.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name                   = "gospital"
      image                  = local.image
      essential              = true
      entryPoint             = ["/usr/local/bin/gospital"]
      command                = ["migrate"]
      readonlyRootFilesystem = true
      environment            = local.app_environment
      secrets                = local.app_secrets
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          "awslogs-group"         = aws_cloudwatch_log_group.migrate.name
          "awslogs-region"        = var.aws_region
          "awslogs-stream-prefix" = "migrate"
        }
      }
    },
  ])
}

resource "aws_ecs_service" "service" {
  for_each = local.services

  name                              = each.key
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.service[each.key].arn
  desired_count                     = var.min_tasks
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  enable_execute_command            = false
  propagate_tags                    = "SERVICE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.service[each.key].arn
    container_name   = "gospital"
    container_port   = var.container_port
  }

  # The auto-scaler owns the task count after creation.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [
    aws_lb_listener.https,
    aws_lb_listener_rule.staff,
    aws_iam_role_policy.execution,
    aws_iam_role_policy.task,
  ]
}

# --- Auto-scaling: target tracking on average CPU and memory of each service -------------------------------------

resource "aws_appautoscaling_target" "service" {
  for_each = local.services

  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.service[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each = local.services

  name               = "${var.name}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.service[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.service[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_out_cooldown = var.scale_out_cooldown_seconds
    scale_in_cooldown  = var.scale_in_cooldown_seconds

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "memory" {
  for_each = local.services

  name               = "${var.name}-${each.key}-memory"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.service[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.service[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.memory_target_percent
    scale_out_cooldown = var.scale_out_cooldown_seconds
    scale_in_cooldown  = var.scale_in_cooldown_seconds

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageMemoryUtilization"
    }
  }
}
