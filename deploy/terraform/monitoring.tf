# Metrics: Amazon Managed Service for Prometheus (AMP) stores what the ADOT sidecars scrape from each task
# (ecs.tf); Amazon Managed Grafana (AMG) shows deploy/grafana/dashboard.json over it.
#
# No anonymous access and no local admin: people sign in to Grafana through AWS IAM Identity Center (SSO), and
# only the groups in grafana_admin_group_ids / grafana_viewer_group_ids get a role. Terraform itself talks to
# Grafana's API with a short-lived service-account token (at most 30 days) to provision the data source and the
# dashboard. AMP needs SigV4-signed requests: the tasks write with their task role, Grafana reads with its
# workspace role (iam.tf); nothing is reachable without AWS credentials.

resource "aws_prometheus_workspace" "this" {
  alias = var.name
}

resource "aws_grafana_workspace" "this" {
  name                     = var.name
  description              = "Gospital dashboards (Prometheus workspace ${var.name})"
  account_access_type      = "CURRENT_ACCOUNT"
  authentication_providers = ["AWS_SSO"]
  permission_type          = "CUSTOMER_MANAGED"
  role_arn                 = aws_iam_role.grafana.arn
  grafana_version          = "10.4"
}

resource "aws_grafana_role_association" "admins" {
  count = length(var.grafana_admin_group_ids) > 0 ? 1 : 0

  workspace_id = aws_grafana_workspace.this.id
  role         = "ADMIN"
  group_ids    = var.grafana_admin_group_ids
}

resource "aws_grafana_role_association" "viewers" {
  count = length(var.grafana_viewer_group_ids) > 0 ? 1 : 0

  workspace_id = aws_grafana_workspace.this.id
  role         = "VIEWER"
  group_ids    = var.grafana_viewer_group_ids
}

# Terraform's own identity in Grafana (configures the grafana provider in versions.tf).
resource "aws_grafana_workspace_service_account" "terraform" {
  workspace_id = aws_grafana_workspace.this.id
  name         = "terraform"
  grafana_role = "ADMIN"
}

resource "aws_grafana_workspace_service_account_token" "terraform" {
  workspace_id       = aws_grafana_workspace.this.id
  service_account_id = aws_grafana_workspace_service_account.terraform.service_account_id
  name               = "terraform"
  seconds_to_live    = var.grafana_token_ttl_seconds
}

# The data source the dashboard expects: its `datasource` variable defaults to uid gospital-prometheus.
# "ec2_iam_role" = Grafana's "Workspace IAM role" authentication: requests are signed with aws_iam_role.grafana.
resource "grafana_data_source" "prometheus" {
  type       = "prometheus"
  name       = "Prometheus"
  uid        = "gospital-prometheus"
  url        = trimsuffix(aws_prometheus_workspace.this.prometheus_endpoint, "/")
  is_default = true

  json_data_encoded = jsonencode({
    httpMethod    = "POST"
    sigV4Auth     = true
    sigV4AuthType = "ec2_iam_role"
    sigV4Region   = var.aws_region
  })
}

# The same dashboard JSON that deploy/check-dashboard proves against a real Prometheus.
resource "grafana_dashboard" "gospital" {
  config_json = file("${path.module}/../grafana/dashboard.json")
  overwrite   = true

  depends_on = [grafana_data_source.prometheus]
}
