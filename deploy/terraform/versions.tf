# Gospital on AWS: ECS Fargate behind an Application Load Balancer, RDS MySQL 8 for patients, doctors,
# departments and appointments, DynamoDB for medical records and invoices, Amazon Managed Service for
# Prometheus and Amazon Managed Grafana for metrics and the dashboard of deploy/grafana/dashboard.json.
#
# Secure by default; deploy/check-terraform enforces the policies (no database or task port open to the
# internet, private and encrypted RDS, no literal secrets, encrypted DynamoDB with point-in-time recovery,
# HTTPS only, least-privilege DynamoDB IAM). The README's "Deploying to AWS" gives the apply order.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
    grafana = {
      source  = "grafana/grafana"
      version = "~> 3.0"
    }
  }

  # The state holds the generated database password (inside the DATABASE_URL secret), the audit checkpoint key
  # (inside the GOSPITAL_AUDIT_KEY secret) and the Grafana
  # service-account token, so it must live in an encrypted, access-controlled remote backend, never in a local
  # file that could be committed. Configure it at init time, e.g.:
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="key=gospital/terraform.tfstate" \
  #     -backend-config="region=<region>" -backend-config="encrypt=true" -backend-config="use_lockfile=true"
  # (use_lockfile needs Terraform >= 1.10; with older versions lock with -backend-config="dynamodb_table=<table>").
  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(
      {
        Project   = var.name
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}

# Grafana's own API, reached with a service-account token of the managed workspace (monitoring.tf). The
# workspace must exist before this provider can be configured: the first apply is two-phase (README,
# "Deploying to AWS").
provider "grafana" {
  url  = "https://${aws_grafana_workspace.this.endpoint}"
  auth = aws_grafana_workspace_service_account_token.terraform.key
}
