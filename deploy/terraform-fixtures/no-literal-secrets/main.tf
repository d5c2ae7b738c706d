# Violates only no-literal-secrets: secrets written into the configuration, five ways.

variable "db_password" {
  type        = string
  description = "A secret variable with a literal default."
  default     = "changeme-123"
}

resource "aws_db_instance" "db" {
  identifier          = "db"
  engine              = "mysql"
  instance_class      = "db.t4g.small"
  allocated_storage   = 20
  username            = "app"
  password            = "Sup3r-Secret-Literal"
  publicly_accessible = false
  storage_encrypted   = true
}

resource "aws_secretsmanager_secret" "url" {
  name = "app/database-url"
}

resource "aws_secretsmanager_secret_version" "url" {
  secret_id     = aws_secretsmanager_secret.url.id
  secret_string = "mysql://app:hunter2@db.internal:3306/app"
}

resource "aws_ecs_task_definition" "app" {
  family                   = "app"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512

  container_definitions = jsonencode([
    {
      name  = "app"
      image = "example/app:1"
      environment = [
        { name = "GOSPITAL_ADDR", value = "0.0.0.0:8080" },
        { name = "DATABASE_URL", value = aws_secretsmanager_secret_version.url.secret_string },
        { name = "API_TOKEN", value = var.db_password },
      ]
      # Fine: this is where secrets belong.
      secrets = [{ name = "SESSION_SECRET", valueFrom = aws_secretsmanager_secret.url.arn }]
    },
  ])
}
