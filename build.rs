//! Rebuilds when a migration is added, so `sqlx::migrate!` embeds the new file; and decides at build time whether
//! the MySQL tests run. With `GOSPITAL_TEST_MYSQL_URL` set, `gospital_mysql_tests` (contract, fault and CLI
//! suites) and `gospital_mysql_http_tests` (`tests/api_mysql`) are on; without it the MySQL cases are compiled
//! `#[ignore]`d, so a plain `cargo test` lists them as ignored instead of passing tests that tested nothing (a
//! test binary cannot mark a test skipped at run time). Likewise `gospital_oidc_tests` when `node` runs.
fn main() {
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rerun-if-env-changed=GOSPITAL_TEST_MYSQL_URL");
    println!("cargo::rustc-check-cfg=cfg(gospital_mysql_tests)");
    println!("cargo::rustc-check-cfg=cfg(gospital_mysql_http_tests)");
    if std::env::var("GOSPITAL_TEST_MYSQL_URL").is_ok_and(|url| !url.trim().is_empty()) {
        println!("cargo::rustc-cfg=gospital_mysql_tests");
        println!("cargo::rustc-cfg=gospital_mysql_http_tests");
    }
    // The oidc-provider suite (tests/oidc) needs Node: without it on the PATH its cases are built ignored.
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rustc-check-cfg=cfg(gospital_oidc_tests)");
    let node = std::process::Command::new("node").arg("--version").output();
    if node.is_ok_and(|o| o.status.success()) {
        println!("cargo::rustc-cfg=gospital_oidc_tests");
    }
}
