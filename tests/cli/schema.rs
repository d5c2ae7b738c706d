//! `serve` checks the schema before it listens (MySQL: missing, failed, edited or unknown migrations stop it;
//! SQLite migrates itself, so only the last three do; DynamoDB: missing tables), and `/health` reports the
//! version it found.

use gospital::schema::latest;
use sqlx::{Connection, Executor};

use crate::process::{Server, assert_one_line, get_json, run, sqlite_url};

/// A row as a newer release's `gospital migrate` would leave it in `_sqlx_migrations`.
const NEWER_MIGRATION: &str = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                               VALUES (9999, 'from a newer release', TRUE, X'00', 0)";

#[tokio::test]
async fn health_reports_the_sqlite_schema_version_serve_migrated_to() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "gospital.db");
    let server = Server::start(&[("DATABASE_URL", &url)]).await;

    let (status, health) = get_json(server.addr, "/health").await;

    assert_eq!(status, 200, "{health}");
    assert_eq!(health["checks"]["database"]["schemaVersion"], latest(&gospital::store::sqlite::MIGRATOR));
    assert!(health["checks"]["records"].get("schemaVersion").is_none(), "reported once, on the database: {health}");
}

#[tokio::test]
async fn serve_on_a_sqlite_database_a_newer_release_migrated_refuses_unless_newer_schemas_are_allowed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "gospital.db");
    assert!(run(&["migrate"], &[("DATABASE_URL", &url)]).await.status.success());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open the database");
    conn.execute(NEWER_MIGRATION).await.expect("add a migration the binary does not know");
    conn.close().await.expect("close");

    let refused = run(&["serve"], &[("DATABASE_URL", &url), ("GOSPITAL_ADDR", "127.0.0.1:0")]).await;
    assert_one_line(&refused, 1, &["DATABASE_URL (--database-url)", "version 9999", "newer release"]);

    let server = Server::start(&[("DATABASE_URL", &url), ("GOSPITAL_ALLOW_NEWER_SCHEMA", "true")]).await;
    let (_, health) = get_json(server.addr, "/health").await;
    assert_eq!(health["checks"]["database"]["schemaVersion"], 9999);
}

#[tokio::test]
async fn serve_on_dynamodb_without_its_tables_names_gospital_migrate_which_creates_them() {
    let emulator = crate::dynamo_support::Emulator::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "gospital.db");
    let endpoint = emulator.endpoint();
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("GOSPITAL_RECORDS_STORE", "dynamodb"),
        ("DYNAMODB_ENDPOINT", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ];

    let refused = run(&["serve"], &envs).await;
    assert_one_line(&refused, 1, &["gospital-medical-records does not exist", "run `gospital migrate`"]);

    assert!(run(&["migrate"], &envs).await.status.success());
    let server = Server::start(&envs).await;
    let (status, health) = get_json(server.addr, "/health").await;
    assert_eq!((status, &health["checks"]["records"]["backend"]), (200, &"dynamodb".into()), "{health}");
}

mod mysql {
    use gospital::schema::latest;
    use gospital::store::mysql::MIGRATOR;
    use sqlx::Executor;

    use super::NEWER_MIGRATION;
    use crate::process::{Server, assert_one_line, get_json, run};
    use crate::support::mysql_unmigrated_test_db;

    #[tokio::test]
    #[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
    async fn serve_on_an_unmigrated_database_exits_1_naming_gospital_migrate_and_creates_nothing() {
        let test_db = mysql_unmigrated_test_db("serve_on_an_unmigrated_database").await;
        let url = test_db.url();

        let out = run(&["serve"], &[("DATABASE_URL", &url), ("GOSPITAL_ADDR", "127.0.0.1:0")]).await;

        assert_one_line(&out, 1, &["DATABASE_URL (--database-url)", "no migrations applied", "run `gospital migrate`"]);
        let tables: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
                .fetch_one(&test_db.db.pool)
                .await
                .expect("count tables");
        assert_eq!(tables, 0, "the check created nothing");
        test_db.close().await;
    }

    #[tokio::test]
    #[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
    async fn after_gospital_migrate_serve_starts_and_health_reports_the_latest_schema_version() {
        let test_db = mysql_unmigrated_test_db("after_gospital_migrate").await;
        let url = test_db.url();

        let migrated = run(&["migrate"], &[("DATABASE_URL", &url)]).await;
        assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
        let server = Server::start(&[("DATABASE_URL", &url)]).await;
        let (status, health) = get_json(server.addr, "/health").await;

        assert_eq!(status, 200, "{health}");
        assert_eq!(health["checks"]["database"]["backend"], "mysql");
        assert_eq!(health["checks"]["database"]["schemaVersion"], latest(&MIGRATOR));
        drop(server);
        test_db.close().await;
    }

    #[tokio::test]
    #[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
    async fn serve_on_a_database_with_an_unknown_migration_refuses_unless_newer_schemas_are_allowed() {
        let test_db = mysql_unmigrated_test_db("unknown_migration").await;
        let url = test_db.url();
        assert!(run(&["migrate"], &[("DATABASE_URL", &url)]).await.status.success());
        test_db.db.pool.execute(NEWER_MIGRATION).await.expect("add a migration the binary does not know");

        let refused = run(&["serve"], &[("DATABASE_URL", &url), ("GOSPITAL_ADDR", "127.0.0.1:0")]).await;
        assert_one_line(&refused, 1, &["DATABASE_URL (--database-url)", "version 9999", "newer release"]);

        let server = Server::start(&[("DATABASE_URL", &url), ("GOSPITAL_ALLOW_NEWER_SCHEMA", "1")]).await;
        let (status, health) = get_json(server.addr, "/health").await;
        assert_eq!((status, &health["checks"]["database"]["schemaVersion"]), (200, &9999.into()), "{health}");
        drop(server);
        test_db.close().await;
    }
}
