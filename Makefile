# Thin wrappers over the commands the README documents; each target runs exactly what its comment says.

.PHONY: help run test ci migrate bench load-bulkhead load-database check-dashboard check-terraform image lint

help:              ## list the targets
	@grep -E "^[a-z-]+:.*##" $(MAKEFILE_LIST) | sed -E "s/:.*## /\t/"

run:               ## the server on the embedded default (SQLite in ./gospital.db)
	cargo run --release

test:              ## the whole test suite (MySQL suites need GOSPITAL_TEST_MYSQL_URL)
	cargo test

ci:                ## what CI runs: fmt, clippy, tests on every backend, dashboard and Terraform checks
	.ci/run

lint:              ## formatting and lints as CI checks them
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

migrate:           ## apply migrations to DATABASE_URL (and create DynamoDB tables when GOSPITAL_RECORDS_STORE=dynamodb)
	cargo run --release -- migrate

bench:             ## benchmark table; pass MYSQL_URL=mysql://root@127.0.0.1:3306 to include MySQL
	bench/run.sh $(if $(MYSQL_URL),--mysql-url $(MYSQL_URL))

load-bulkhead:     ## Locust staff-vs-public experiment against HOST (default http://127.0.0.1:8080)
	load_test/run.sh bulkhead $(if $(HOST),--host $(HOST))

load-database:     ## Locust relational-vs-records experiment against HOST
	load_test/run.sh database $(if $(HOST),--host $(HOST))

check-dashboard:   ## every Grafana panel query run against a real Prometheus scraping a real server
	deploy/check-dashboard

check-terraform:   ## policy checks on deploy/terraform (and that each check catches its bad fixture)
	deploy/test-check-terraform

image:             ## container image (needs a Docker engine; not available on the development machines)
	docker build -t gospital:$$(git rev-parse --short HEAD) -t gospital:latest .
