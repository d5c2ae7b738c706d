//! `gospital backup --to FILE` against a serving process: the copy is consistent, complete up to the moment it
//! started, checked, and never written over an existing file; other engines are refused with the right tool.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use crate::process::{Server, assert_one_line, http, run, sqlite_url};

/// Concurrent writers of the load.
const WRITERS: usize = 8;
/// Ballast in the database, so the copy takes long enough for writes to land while it runs.
const BALLAST_MIB: usize = 48;

/// One registration; answers the new patient's ID when acknowledged with 201.
async fn register(addr: std::net::SocketAddr, writer: usize, n: usize) -> Option<String> {
    let body = json!({
        "firstName": "Load", "lastName": format!("Writer{writer}"), "dateOfBirth": "1980-01-01",
        "email": format!("w{writer}-{n}@example.org"), "phone": "+1 555 010 0000",
    });
    let (status, _, text) = http(addr, "POST", "/api/v1/patients", Some(&body)).await;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    (status == 201).then(|| json["patientId"].as_str().map(str::to_owned)).flatten()
}

/// Opens a copy read-only, as an operator checking it would.
async fn open_copy(path: &Path) -> sqlx::SqliteConnection {
    SqliteConnectOptions::new().filename(path).read_only(true).connect().await.expect("open the copy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_during_a_write_load_passes_integrity_check_and_holds_every_write_acknowledged_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "gospital.db");
    assert!(run(&["migrate"], &[("DATABASE_URL", &url)]).await.status.success());
    {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
        conn.execute("CREATE TABLE ballast (b BLOB)").await.expect("ballast table");
        for _ in 0..BALLAST_MIB {
            conn.execute("INSERT INTO ballast VALUES (randomblob(1048576))").await.expect("ballast");
        }
        conn.close().await.expect("close");
    }
    let server = Server::start(&[("DATABASE_URL", &url), ("GOSPITAL_REQUEST_TIMEOUT_MS", "10000")]).await;
    let addr = server.addr;
    let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, stop) = (acked.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(id) = register(addr, w, n).await {
                        acked.lock().expect("lock").push((id, Instant::now()));
                    }
                    n += 1;
                }
            })
        })
        .collect();
    while acked.lock().expect("lock").len() < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let copy = dir.path().join("copy.db");
    let before: Vec<String> = acked.lock().expect("lock").iter().map(|(id, _)| id.clone()).collect();
    let started = Instant::now();
    let out = run(&["backup", "--to", copy.to_str().expect("utf-8")], &[("DATABASE_URL", &url)]).await;
    let finished = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }

    assert!(out.status.success(), "backup failed: {}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("integrity_check ok"), "{said}");
    let all = acked.lock().expect("lock").clone();
    let during = all.iter().filter(|(_, at)| *at > started && *at < finished).count();
    let mut conn = open_copy(&copy).await;
    let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await.expect("check");
    let in_copy: HashSet<String> = sqlx::query_scalar("SELECT patient_id FROM patients")
        .fetch_all(&mut conn)
        .await
        .expect("read")
        .into_iter()
        .collect();
    eprintln!(
        "acknowledged: {} before the backup, {during} while it ran ({:?}), {} in all; {} patients in the copy",
        before.len(),
        finished - started,
        all.len(),
        in_copy.len()
    );
    assert_eq!(check, ["ok"]);
    let lost: Vec<&String> = before.iter().filter(|id| !in_copy.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged before the backup but missing from it: {lost:?}");
    assert!(in_copy.len() <= all.len(), "the copy holds only acknowledged writes");
    assert!(during > 0, "the server kept acknowledging writes while the backup ran");
    drop(server);
}

#[tokio::test]
async fn a_backup_never_overwrites_an_existing_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "gospital.db");
    assert!(run(&["migrate"], &[("DATABASE_URL", &url)]).await.status.success());
    let taken = dir.path().join("taken.db");
    std::fs::write(&taken, b"precious").expect("write");

    let out = run(&["backup", "--to", taken.to_str().expect("utf-8")], &[("DATABASE_URL", &url)]).await;

    assert_one_line(&out, 2, &["--to", "already exists", "never overwrites"]);
    assert_eq!(std::fs::read(&taken).expect("read"), b"precious");
}

#[tokio::test]
async fn a_backup_of_a_database_that_does_not_exist_creates_neither_it_nor_the_copy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "missing.db");
    let copy = dir.path().join("copy.db");

    let out = run(&["backup", "--to", copy.to_str().expect("utf-8")], &[("DATABASE_URL", &url)]).await;

    assert_one_line(&out, 2, &["DATABASE_URL (--database-url)", "no SQLite database at"]);
    assert!(!dir.path().join("missing.db").exists() && !copy.exists());
}

#[tokio::test]
async fn backup_refuses_mysql_and_dynamodb_naming_the_right_tool_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy.db");
    let to = copy.to_str().expect("utf-8");

    let mysql = run(&["backup", "--to", to], &[("DATABASE_URL", "mysql://gospital:secret@db.internal/gospital")]).await;
    let line =
        assert_one_line(&mysql, 2, &["DATABASE_URL (--database-url) names MySQL", "mariadb-dump --single-transaction"]);
    assert!(!line.contains("secret"), "{line}");

    let url = sqlite_url(dir.path(), "gospital.db");
    let dynamo = run(&["backup", "--to", to], &[("DATABASE_URL", &url), ("GOSPITAL_RECORDS_STORE", "dynamodb")]).await;
    assert_one_line(&dynamo, 2, &["GOSPITAL_RECORDS_STORE=dynamodb", "point-in-time recovery", "create-backup"]);
    assert!(!copy.exists());
}
