# Application Load Balancer: HTTPS only (HTTP answers with a redirect), two target groups, one per ECS service.
#
# Routing as in the Go original: a request with the header `X-User-Type: staff` goes to the `staff` service,
# everything else to `public`. The header is a ROUTING HINT, NOT A SECURITY BOUNDARY: any client can send it
# (or leave it out). It only separates capacity, so that a flood of public traffic cannot starve staff traffic;
# it grants nothing. The service applies the same classification to its own in-flight caps
# (GOSPITAL_STAFF_MAX_IN_FLIGHT / GOSPITAL_PUBLIC_MAX_IN_FLIGHT). Inside the service the class follows the token's role.

resource "aws_lb" "this" {
  name               = var.name
  load_balancer_type = "application"
  internal           = false
  security_groups    = [aws_security_group.alb.id]
  subnets            = aws_subnet.public[*].id

  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 60

  dynamic "access_logs" {
    for_each = var.alb_access_logs_bucket == null ? [] : [var.alb_access_logs_bucket]

    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }

  tags = { Name = var.name }
}

resource "aws_wafv2_web_acl_association" "alb" {
  count = var.waf_web_acl_arn == null ? 0 : 1

  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.waf_web_acl_arn
}

resource "aws_lb_target_group" "service" {
  for_each = local.services

  name                 = "${var.name}-${each.key}"
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.this.id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = { Name = "${var.name}-${each.key}", TrafficClass = each.key }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["public"].arn
  }
}

# Plain HTTP only ever redirects to HTTPS; it never forwards to a target.
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

# `X-User-Type: staff` (header values match case-insensitively) -> staff service. Routing hint only, see above.
resource "aws_lb_listener_rule" "staff" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["staff"].arn
  }

  condition {
    http_header {
      http_header_name = "X-User-Type"
      values           = ["staff"]
    }
  }
}

resource "aws_route53_record" "api" {
  count = var.domain_name != null && var.route53_zone_id != null ? 1 : 0

  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}
