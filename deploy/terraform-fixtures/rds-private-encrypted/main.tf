# Violates only rds-private-encrypted.

resource "random_password" "db" {
  length  = 40
  special = false
}

resource "aws_db_instance" "public" {
  identifier          = "public-db"
  engine              = "mysql"
  instance_class      = "db.t4g.small"
  allocated_storage   = 20
  username            = "app"
  password            = random_password.db.result
  publicly_accessible = true
  storage_encrypted   = false
}

# Both unset: AWS's defaults are not accepted, the settings must be explicit.
resource "aws_db_instance" "implicit" {
  identifier        = "implicit-db"
  engine            = "mysql"
  instance_class    = "db.t4g.small"
  allocated_storage = 20
  username          = "app"
  password          = random_password.db.result
}

# Fine.
resource "aws_db_instance" "good" {
  identifier          = "good-db"
  engine              = "mysql"
  instance_class      = "db.t4g.small"
  allocated_storage   = 20
  username            = "app"
  password            = random_password.db.result
  publicly_accessible = false
  storage_encrypted   = true
}
