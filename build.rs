//! Rebuilds when a migration is added, so `sqlx::migrate!` embeds the new file; and turns on the MySQL HTTP
//! suite (`tests/api_mysql`) when `GOSPITAL_TEST_MYSQL_URL` is set at build time, since a test binary cannot
//! skip hundreds of tests one by one at run time.
fn main() {
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rerun-if-env-changed=GOSPITAL_TEST_MYSQL_URL");
    println!("cargo::rustc-check-cfg=cfg(gospital_mysql_http_tests)");
    if std::env::var("GOSPITAL_TEST_MYSQL_URL").is_ok_and(|url| !url.trim().is_empty()) {
        println!("cargo::rustc-cfg=gospital_mysql_http_tests");
    }
}
