# Violates only sg-open-ports: the database and task ports reachable from the internet, four ways.

variable "admin_cidrs" {
  type        = list(string)
  description = "Who may reach the admin ports (an unsafe default on purpose)."
  default     = ["0.0.0.0/0"]
}

resource "aws_security_group" "db" {
  name   = "db"
  vpc_id = "vpc-0123456789abcdef0"

  ingress {
    description = "MySQL from anywhere"
    from_port   = 3306
    to_port     = 3306
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/16", "0.0.0.0/0"]
  }

  # Fine: HTTPS from anywhere is what a load balancer is for.
  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_vpc_security_group_ingress_rule" "task_ipv6" {
  security_group_id = aws_security_group.db.id
  ip_protocol       = "tcp"
  from_port         = 8080
  to_port           = 8080
  cidr_ipv6         = "::/0"
}

resource "aws_security_group_rule" "everything" {
  type              = "ingress"
  security_group_id = aws_security_group.db.id
  protocol          = "-1"
  from_port         = 0
  to_port           = 0
  cidr_blocks       = var.admin_cidrs
}

resource "aws_vpc_security_group_ingress_rule" "port_range" {
  for_each = toset(var.admin_cidrs)

  security_group_id = aws_security_group.db.id
  ip_protocol       = "tcp"
  from_port         = 3000
  to_port           = 9000
  cidr_ipv4         = each.value
}

# Fine: the task port from the load balancer's group only.
resource "aws_vpc_security_group_ingress_rule" "task_from_alb" {
  security_group_id            = aws_security_group.db.id
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
  referenced_security_group_id = "sg-0123456789abcdef0"
}
