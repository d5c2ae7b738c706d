//! Configuration errors (DESIGN.md §2): one stderr line naming the variable, its flag and the problem, exit 2;
//! failures of what the settings point at: one line with the cause, exit 1.

use crate::process::{assert_one_line, closed_port, run, sqlite_url};

#[tokio::test]
async fn a_request_timeout_that_is_not_a_number_is_one_line_naming_the_variable_and_the_flag_exit_2() {
    let out = run(&[], &[("GOSPITAL_REQUEST_TIMEOUT_MS", "abc")]).await;

    let line = assert_one_line(&out, 2, &["GOSPITAL_REQUEST_TIMEOUT_MS", "--request-timeout-ms", "\"abc\""]);
    assert_eq!(line, r#"gospital: GOSPITAL_REQUEST_TIMEOUT_MS (--request-timeout-ms): "abc" is not a whole number"#);
}

#[tokio::test]
async fn a_bad_value_given_as_a_flag_names_the_flag_first() {
    let out = run(&["serve", "--request-timeout-ms", "abc"], &[]).await;

    let line = assert_one_line(&out, 2, &["is not a whole number"]);
    assert!(line.starts_with("gospital: --request-timeout-ms (GOSPITAL_REQUEST_TIMEOUT_MS): "), "{line}");
}

#[tokio::test]
async fn a_listen_address_with_a_host_name_is_one_line_naming_gospital_addr_exit_2() {
    let out = run(&[], &[("GOSPITAL_ADDR", "localhost:8080")]).await;

    assert_one_line(&out, 2, &["GOSPITAL_ADDR (--addr)", "\"localhost:8080\"", "is not an IP address and port"]);
}

#[tokio::test]
async fn gospital_migrate_takes_1_and_refuses_what_is_not_a_boolean() {
    let refused = run(&["migrate"], &[("GOSPITAL_MIGRATE", "maybe")]).await;
    assert_one_line(&refused, 2, &["GOSPITAL_MIGRATE (--migrate)", "\"maybe\"", "is not a boolean"]);

    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "gospital.db");
    let accepted = run(&["migrate"], &[("GOSPITAL_MIGRATE", "1"), ("DATABASE_URL", &url)]).await;
    assert!(accepted.status.success(), "GOSPITAL_MIGRATE=1 accepted: {}", String::from_utf8_lossy(&accepted.stderr));
}

#[tokio::test]
async fn a_zero_pool_size_names_gospital_db_pool_size_not_the_bulkheads_it_defaults() {
    let out = run(&[], &[("GOSPITAL_DB_POOL_SIZE", "0")]).await;

    let line = assert_one_line(&out, 2, &["GOSPITAL_DB_POOL_SIZE (--db-pool-size)", "must be at least 1, got 0"]);
    assert!(!line.contains("BULKHEAD"), "names a setting nobody gave: {line}");
}

#[tokio::test]
async fn a_rule_between_two_settings_blames_the_one_given_and_marks_the_other_as_its_default() {
    let out = run(&[], &[("GOSPITAL_CPU_SHED_OPEN", "50")]).await;

    let line = assert_one_line(&out, 2, &["GOSPITAL_CPU_SHED_CLOSE (--cpu-shed-close) = 85 (the default)"]);
    assert!(line.starts_with("gospital: GOSPITAL_CPU_SHED_OPEN (--cpu-shed-open) = 50 must be at least"), "{line}");
}

#[tokio::test]
async fn a_mysql_url_without_a_database_name_is_refused_before_connecting_exit_2() {
    // Nothing listens on the port: the refusal comes from the URL alone.
    let port = closed_port();
    for url in [format!("mysql://root@127.0.0.1:{port}"), format!("mysql://root:secret@127.0.0.1:{port}/")] {
        let out = run(&[], &[("DATABASE_URL", &url)]).await;

        let line = assert_one_line(&out, 2, &["DATABASE_URL (--database-url)", "names no database"]);
        assert!(!line.contains("secret"), "the password is never printed: {line}");
    }
}

#[tokio::test]
async fn an_unknown_records_store_lists_the_accepted_ones() {
    let out = run(&[], &[("GOSPITAL_RECORDS_STORE", "nosql")]).await;

    assert_one_line(&out, 2, &["GOSPITAL_RECORDS_STORE (--records-store)", "\"nosql\" is not one of sql, dynamodb"]);
}

#[tokio::test]
async fn an_unknown_flag_is_one_line_exit_2_and_help_still_prints_exit_0() {
    let unknown = run(&["--bogus"], &[]).await;
    assert_one_line(&unknown, 2, &["'--bogus'", "gospital --help"]);

    let help = run(&["--help"], &[]).await;
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("GOSPITAL_REQUEST_TIMEOUT_MS"));
}

#[tokio::test]
async fn dynamodb_without_aws_credentials_is_one_line_exit_2_before_the_database_is_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "gospital.db");
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("GOSPITAL_RECORDS_STORE", "dynamodb"),
        ("DYNAMODB_ENDPOINT", endpoint.as_str()),
        // No profile, and no instance-metadata lookup (on an EC2 machine it would find the machine's role).
        ("HOME", dir.path().to_str().expect("utf-8 path")),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];

    let out = run(&[], &envs).await;

    assert_one_line(&out, 2, &["GOSPITAL_RECORDS_STORE=dynamodb needs AWS credentials", "AWS_ACCESS_KEY_ID"]);
    assert!(!dir.path().join("gospital.db").exists(), "a configuration error opens nothing");
}

#[tokio::test]
async fn a_stopped_dynamodb_emulator_is_one_line_naming_dynamodb_endpoint_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "gospital.db");
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("GOSPITAL_RECORDS_STORE", "dynamodb"),
        ("DYNAMODB_ENDPOINT", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ];

    let out = run(&[], &envs).await;

    let line = assert_one_line(&out, 1, &["DYNAMODB_ENDPOINT (--dynamodb-endpoint)", &endpoint, "does not answer"]);
    assert!(line.contains("refused"), "the cause, not an SDK dump: {line}");
    assert!(!line.contains("DispatchFailure"), "{line}");
}

#[tokio::test]
async fn an_unreachable_mysql_is_one_line_with_the_cause_exit_1() {
    let url = format!("mysql://gospital:secret@127.0.0.1:{}/gospital", closed_port());

    let out = run(&[], &[("DATABASE_URL", &url), ("GOSPITAL_DB_ACQUIRE_TIMEOUT_MS", "500")]).await;

    let line = assert_one_line(&out, 1, &["DATABASE_URL (--database-url): cannot connect to", "Connection refused"]);
    assert!(!line.contains("secret"), "the password is never printed: {line}");
}
