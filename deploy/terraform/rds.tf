# RDS MySQL 8: patients, doctors, departments and appointments (store R). Private subnets only, not publicly
# accessible, reachable only from the task security group (network.tf), storage encrypted, deletion protection and
# a final snapshot by default.
#
# The master password is generated here and only ever written to Secrets Manager, as part of the DATABASE_URL the
# service reads (ECS `secrets`, ecs.tf). It is also in the Terraform state, which is why the state must live in
# an encrypted remote backend (versions.tf).

resource "random_password" "db" {
  length = 40
  # Letters and digits only: safe in a mysql:// URL and accepted by RDS (which refuses / @ " and space).
  special = false
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = aws_subnet.private[*].id

  tags = { Name = var.name }
}

resource "aws_db_instance" "this" {
  identifier     = "${var.name}-mysql"
  engine         = "mysql"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name  = var.db_name
  username = var.db_username
  password = random_password.db.result
  port     = 3306

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period    = var.db_backup_retention_days
  copy_tags_to_snapshot      = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${var.name}-mysql-final"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  enabled_cloudwatch_logs_exports = ["error", "slowquery"]

  tags = { Name = "${var.name}-mysql" }

  depends_on = [aws_cloudwatch_log_group.rds]
}

resource "aws_secretsmanager_secret" "database_url" {
  name_prefix             = "${var.name}/database-url-"
  description             = "DATABASE_URL of the Gospital service: mysql://user:password@host:3306/db (RDS, generated password)"
  recovery_window_in_days = 7
}

# The audit checkpoint key (Ed25519, PKCS#8 PEM) every task signs with; `gospital audit verify` needs it too.
resource "tls_private_key" "audit" {
  algorithm = "ED25519"
}

resource "aws_secretsmanager_secret" "audit_key" {
  name_prefix             = "${var.name}/audit-key-"
  description             = "GOSPITAL_AUDIT_KEY of the Gospital service: the Ed25519 key that signs audit checkpoints"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "audit_key" {
  secret_id     = aws_secretsmanager_secret.audit_key.id
  secret_string = tls_private_key.audit.private_key_pem
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = "mysql://${var.db_username}:${urlencode(random_password.db.result)}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.db_name}"
}
