# Inputs. Only `certificate_arn` and `image_tag` have no default; everything else defaults to the safe choice.

# --- General -------------------------------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Name prefix of every resource (ECS cluster and services, ALB, RDS, DynamoDB tables, ECR repository). With the default the DynamoDB tables get the service's default names, gospital-medical-records and gospital-invoices."
  default     = "gospital"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters of lower-case letters, digits and dashes (it prefixes names that AWS limits to 32 characters)."
  }
}

variable "aws_region" {
  type        = string
  description = "AWS region of everything; also passed to the service as AWS_REGION (region of the DynamoDB tables)."
  default     = "us-east-1"
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource."
  default     = {}
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection of the RDS instance, the DynamoDB tables and the load balancer. Turn it off (and apply) before a deliberate terraform destroy."
  default     = true
}

# --- Network ---------------------------------------------------------------------------------------------------

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC; split into two public and two private subnets over two availability zones."
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  type        = list(string)
  description = "The two availability zones to use, e.g. [\"eu-west-1a\", \"eu-west-1b\"]. Empty: the first two available zones of the region at the first apply (pin them afterwards, since a different pair would replace the subnets)."
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) == 2
    error_message = "availability_zones must be empty or name exactly two zones."
  }
}

variable "nat_gateway_per_az" {
  type        = bool
  description = "One NAT gateway per availability zone (true: private subnets keep outbound access when one AZ fails) or a single shared one (false: cheaper)."
  default     = true
}

variable "allowed_ingress_cidrs" {
  type        = list(string)
  description = "IPv4 CIDR blocks allowed to reach the load balancer on 443 (HTTPS) and 80 (redirect to HTTPS only). Only the load balancer is reachable from these; tasks and the database never are."
  default     = ["0.0.0.0/0"]
}

variable "flow_log_retention_days" {
  type        = number
  description = "Retention of the VPC flow logs (CloudWatch Logs), in days."
  default     = 30
}

# --- Load balancer -----------------------------------------------------------------------------------------------

variable "certificate_arn" {
  type        = string
  description = "ARN of the ACM certificate served by the HTTPS listener (in var.aws_region, covering the DNS name clients use). Required: there is no plain-HTTP mode."

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:...)."
  }
}

variable "ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener. The default allows TLS 1.3 and 1.2 with forward-secret ciphers only."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "alb_access_logs_bucket" {
  type        = string
  description = "Optional S3 bucket for the load balancer's access logs (its bucket policy must let the regional ELB account write). Null: access logs off."
  default     = null
}

variable "waf_web_acl_arn" {
  type        = string
  description = "Optional AWS WAFv2 web ACL (REGIONAL scope) to associate with the load balancer, e.g. with the AWS managed common rule set and a rate limit. Null: no WAF."
  default     = null
}

variable "domain_name" {
  type        = string
  description = "Optional DNS name of the API (must match the certificate). With route53_zone_id set, an alias record to the load balancer is created."
  default     = null
}

variable "route53_zone_id" {
  type        = string
  description = "Optional Route 53 hosted zone in which to create domain_name as an alias of the load balancer."
  default     = null
}

variable "health_check_path" {
  type        = string
  description = "Target-group health check path. /health probes both stores (503 when one is degraded); /health/live only proves the process answers. Note that ECS replaces tasks that fail the target-group check."
  default     = "/health"
}

# --- Service -----------------------------------------------------------------------------------------------------

variable "image_tag" {
  type        = string
  description = "Tag of the gospital image in this stack's ECR repository (tags are immutable: every release gets a new tag, e.g. the git commit)."

  validation {
    condition     = length(var.image_tag) > 0 && var.image_tag != "latest"
    error_message = "image_tag must be a release tag; 'latest' defeats immutable tags and rollbacks."
  }
}

variable "container_port" {
  type        = number
  description = "Port the service listens on inside the task (GOSPITAL_ADDR=0.0.0.0:<port>)."
  default     = 8080
}

variable "task_cpu" {
  type        = number
  description = "Fargate task CPU units (1024 = one vCPU), shared by the service and the metrics collector sidecar."
  default     = 512
}

variable "task_memory" {
  type        = number
  description = "Fargate task memory in MiB."
  default     = 1024
}

variable "collector_memory" {
  type        = number
  description = "Memory reserved for the ADOT collector sidecar (MiB, part of task_memory)."
  default     = 128
}

variable "log_level" {
  type        = string
  description = "RUST_LOG of the service."
  default     = "info,sqlx=warn"
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture of the gospital image and the Fargate tasks: X86_64 or ARM64."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "collector_image" {
  type        = string
  description = "AWS Distro for OpenTelemetry collector image (sidecar that scrapes /metrics and remote-writes to Amazon Managed Service for Prometheus). Pin a version."
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.47.0"
}

variable "metrics_scrape_interval" {
  type        = string
  description = "How often the sidecar scrapes the service's /metrics."
  default     = "15s"
}

# --- Auto-scaling (defaults as in the Go original) ---------------------------------------------------------------

variable "min_tasks" {
  type        = number
  description = "Fewest tasks of each service (staff, public)."
  default     = 1
}

variable "max_tasks" {
  type        = number
  description = "Most tasks of each service (staff, public)."
  default     = 10
}

variable "cpu_target_percent" {
  type        = number
  description = "Target average CPU utilisation of each service (target tracking)."
  default     = 50

  validation {
    condition     = var.cpu_target_percent > 0 && var.cpu_target_percent <= 100
    error_message = "cpu_target_percent must be in (0, 100]."
  }
}

variable "memory_target_percent" {
  type        = number
  description = "Target average memory utilisation of each service (target tracking)."
  default     = 80

  validation {
    condition     = var.memory_target_percent > 0 && var.memory_target_percent <= 100
    error_message = "memory_target_percent must be in (0, 100]."
  }
}

variable "scale_out_cooldown_seconds" {
  type        = number
  description = "Cooldown after a scale-out."
  default     = 60
}

variable "scale_in_cooldown_seconds" {
  type        = number
  description = "Cooldown after a scale-in."
  default     = 180
}

# --- Database ----------------------------------------------------------------------------------------------------

variable "db_engine_version" {
  type        = string
  description = "RDS MySQL engine version (major.minor; RDS picks the newest patch). 8.0 works too."
  default     = "8.4"
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class."
  default     = "db.t4g.small"
}

variable "db_allocated_storage_gb" {
  type        = number
  description = "Initial RDS storage (GiB, gp3, encrypted)."
  default     = 20
}

variable "db_max_allocated_storage_gb" {
  type        = number
  description = "Upper bound of RDS storage auto-scaling (GiB)."
  default     = 100
}

variable "db_multi_az" {
  type        = bool
  description = "Standby replica in the second availability zone with automatic fail-over."
  default     = true
}

variable "db_backup_retention_days" {
  type        = number
  description = "Days of automated RDS backups (point-in-time restore window)."
  default     = 7
}

variable "db_name" {
  type        = string
  description = "Database (schema) name on the RDS instance."
  default     = "gospital"
}

variable "db_username" {
  type        = string
  description = "Master user name of the RDS instance, used by the service. Its password is generated (random_password) and only stored in Secrets Manager (and the encrypted Terraform state)."
  default     = "gospital"
}

# --- Logs and monitoring ------------------------------------------------------------------------------------------

variable "log_retention_days" {
  type        = number
  description = "Retention of the CloudWatch log groups of the services, the migration task and the collector, in days."
  default     = 30
}

variable "grafana_admin_group_ids" {
  type        = list(string)
  description = "IAM Identity Center group IDs given the Admin role in the Grafana workspace. Grafana has no anonymous or local admin: people sign in through IAM Identity Center."
  default     = []
}

variable "grafana_viewer_group_ids" {
  type        = list(string)
  description = "IAM Identity Center group IDs given the Viewer role in the Grafana workspace."
  default     = []
}

variable "grafana_token_ttl_seconds" {
  type        = number
  description = "Lifetime of the Grafana service-account token Terraform uses to provision the data source and dashboard (at most 30 days). After it expires, re-create it with terraform apply -replace (README)."
  default     = 2592000

  validation {
    condition     = var.grafana_token_ttl_seconds > 0 && var.grafana_token_ttl_seconds <= 2592000
    error_message = "grafana_token_ttl_seconds must be between 1 and 2592000 (30 days)."
  }
}

variable "oidc_issuer" {
  type        = string
  description = "The hospital identity provider's issuer (GOSPITAL_OIDC_ISSUER): a token's iss must equal it exactly, e.g. https://sso.example.org/realms/hospital."

  validation {
    condition     = startswith(var.oidc_issuer, "https://")
    error_message = "oidc_issuer must be an https:// URL."
  }
}

variable "oidc_audience" {
  type        = string
  description = "The API's audience at the identity provider (GOSPITAL_OIDC_AUDIENCE): one of a token's aud values must equal it."

  validation {
    condition     = length(var.oidc_audience) > 0
    error_message = "oidc_audience must not be empty."
  }
}

variable "oidc_roles_claim" {
  type        = string
  description = "Dotted path to the roles in the access token (GOSPITAL_OIDC_ROLES_CLAIM): roles (Entra ID app roles), realm_access.roles (Keycloak), cognito:groups (Cognito)."
  default     = "roles"
}
