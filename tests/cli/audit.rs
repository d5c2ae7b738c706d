//! `gospital audit verify` as an auditor runs it (SECURITY.md §5): against the database a real server wrote, with
//! the checkpoint lines copied from that server's log; exit 0 with the counts on an untouched trail, exit 1 naming
//! the store, the seq and the kind once the trail is changed; and no patient data in any log line.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::process::{Server, http, run, sqlite_url};

/// Distinctive patient data: none of it may reach a log line.
const PHI: [&str; 5] = ["Xanthippe", "Quarrington", "quixotic.zebra", "013 9876", "Hyperborean"];

#[tokio::test]
async fn audit_verify_accepts_the_trail_a_server_wrote_and_names_the_first_tampered_seq() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "g.db");
    let key = dir.path().join("audit.key").display().to_string();
    let env = [("DATABASE_URL", url.as_str()), ("GOSPITAL_AUDIT_KEY_FILE", key.as_str())];
    let server = Server::start(&env).await;
    let patient = json!({
        "firstName": "Xanthippe", "lastName": "Quarrington", "dateOfBirth": "1985-03-15", "gender": "female",
        "email": "quixotic.zebra@example.org", "phone": "+1 555 013 9876",
        "address": {"street": "1 Elm", "city": "Springfield", "state": "IL", "zipCode": "62701", "country": "USA"}
    });
    let (status, _, body) = http(server.addr, "POST", "/api/v1/patients", Some(&patient)).await;
    assert_eq!(status, 201, "{body}");
    let pid = serde_json::from_str::<Value>(&body).unwrap()["patientId"].as_str().unwrap().to_owned();
    let doctor = json!({"firstName": "Greg", "lastName": "House", "email": "house@example.org", "phone": "+1 555 010 0000",
        "specialty": "Diagnostics", "licenseNumber": "LIC-CLI-AUDIT", "departmentId": "DEPT-001", "yearsOfExperience": 20});
    let (status, _, body) = http(server.addr, "POST", "/api/v1/doctors", Some(&doctor)).await;
    assert_eq!(status, 201, "{body}");
    let did = serde_json::from_str::<Value>(&body).unwrap()["doctorId"].as_str().unwrap().to_owned();
    let record = json!({"patientId": pid, "doctorId": did, "visitDate": "2026-11-20T09:00:00Z",
                        "chiefComplaint": "Cough", "diagnosis": "Hyperborean fever"});
    assert_eq!(http(server.addr, "POST", "/api/v1/medical-records", Some(&record)).await.0, 201);
    for _ in 0..3 {
        assert_eq!(http(server.addr, "GET", &format!("/api/v1/patients/{pid}"), None).await.0, 200);
        assert_eq!(http(server.addr, "GET", &format!("/api/v1/patients/{pid}/medical-records"), None).await.0, 200);
    }
    assert_eq!(http(server.addr, "GET", "/api/v1/patients?name=Xanthippe", None).await.0, 200);

    // Both chains sequenced and checkpointed: the checkpoint lines are in the log.
    let started = Instant::now();
    let checkpoints = loop {
        let lines: Vec<String> =
            server.log_lines().into_iter().filter(|l| l.contains("\"audit checkpoint\"")).collect();
        let stores: Vec<String> = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["fields"]["store"].as_str().map(str::to_owned))
            .collect();
        if stores.contains(&"R".to_owned()) && stores.contains(&"D".to_owned()) {
            break lines;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no checkpoint of each store logged: {lines:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let log = server.log_lines().join("\n");
    drop(server);
    for phi in PHI {
        assert!(!log.contains(phi), "{phi} in the server's log");
    }
    let copies = dir.path().join("checkpoints.jsonl");
    std::fs::write(&copies, format!("{}\nunrelated line\n", log)).unwrap();
    let copies = copies.display().to_string();

    let out = run(&["audit", "verify", "--checkpoints", &copies], &env).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("verified "), "{stdout}");
    assert!(stdout.contains("(R: ") && stdout.contains(", D: "), "{stdout}");
    assert!(stdout.contains(&format!("{} checkpoints", checkpoints.len())) || stdout.contains("checkpoints"));

    // The tail of R cut (its stored checkpoints with it): only the copies from the log show it.
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let last: i64 =
        sqlx::query_scalar("SELECT MAX(seq) FROM audit_events WHERE chain = 'R'").fetch_one(&db).await.unwrap();
    sqlx::query("DELETE FROM audit_events WHERE chain = 'R' AND seq = ?").bind(last).execute(&db).await.unwrap();
    sqlx::query("DELETE FROM audit_checkpoints WHERE chain = 'R'").execute(&db).await.unwrap();
    assert!(run(&["audit", "verify"], &env).await.status.success(), "without the copies the cut is not visible");
    let out = run(&["audit", "verify", "--checkpoints", &copies], &env).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains(&format!("store R: seq {last}: truncated")), "{stdout}");

    // One event changed: the first bad seq is named.
    sqlx::query("UPDATE audit_events SET body = REPLACE(body, '\"outcome\":200', '\"outcome\":204') WHERE chain = 'D' AND seq = 2")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let out = run(&["audit", "verify"], &env).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("store D: seq 2: modified"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.starts_with("gospital: audit verify: store D: seq 2: modified"), "{stderr}");

    // Without the key, nothing is judged.
    let other = [("DATABASE_URL", url.as_str()), ("GOSPITAL_AUDIT_KEY_FILE", "/nonexistent/audit.key")];
    let out = run(&["audit", "verify"], &other).await;
    assert_eq!(out.status.code(), Some(2), "a missing key is a configuration error, not a verdict");
    assert!(String::from_utf8_lossy(&out.stderr).contains("GOSPITAL_AUDIT_KEY_FILE"));
}

#[cfg(unix)]
mod cluster {
    //! Two real servers sharing one MariaDB database and one DynamoDB emulator: concurrent writers through both
    //! leave one contiguous chain per store, and when the server holding the sequencer leases dies the other takes
    //! over and the chains stay contiguous and verify.

    use std::time::{Duration, Instant};

    use serde_json::{Value, json};

    use crate::dynamo_support::{Emulator, settings_for};
    use crate::process::{Server, http, run};
    use crate::support::mysql_test_db;

    /// The holder ID a server logged when its sequencers started.
    fn holder_of(server: &Server) -> String {
        server
            .log_lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["fields"]["message"] == "audit sequencers started")
            .and_then(|v| v["fields"]["holder"].as_str().map(str::to_owned))
            .expect("the sequencers' start is logged")
    }

    async fn writers(servers: &[std::net::SocketAddr], n: usize, tag: &str, doctor: &str) -> usize {
        let posts = (0..n).map(|i| {
            let addr = servers[i % servers.len()];
            let doctor = doctor.to_owned();
            let tag = tag.to_owned();
            async move {
                let patient = json!({"firstName": "Chain", "lastName": "Writer", "dateOfBirth": "1980-01-01",
                    "email": format!("writer-{tag}-{i}@example.org"), "phone": "+1 555 010 0000"});
                let (status, _, body) = http(addr, "POST", "/api/v1/patients", Some(&patient)).await;
                assert_eq!(status, 201, "{body}");
                let pid = serde_json::from_str::<Value>(&body).unwrap()["patientId"].as_str().unwrap().to_owned();
                let record = json!({"patientId": pid, "doctorId": doctor, "visitDate": "2026-11-20T09:00:00Z",
                                    "chiefComplaint": "Check-up"});
                let (status, _, body) = http(addr, "POST", "/api/v1/medical-records", Some(&record)).await;
                assert_eq!(status, 201, "{body}");
            }
        });
        futures::future::join_all(posts).await.len()
    }

    /// Waits until both chains have no event waiting; returns R's (count, max seq) as stored.
    async fn settled(db: &sqlx::MySqlPool) -> (i64, i64) {
        let started = Instant::now();
        loop {
            let (waiting, count, max): (i64, i64, Option<i64>) =
                sqlx::query_as("SELECT CAST(COALESCE(SUM(seq IS NULL), 0) AS SIGNED), COUNT(*), MAX(seq) FROM audit_events WHERE chain = 'R'")
                    .fetch_one(db)
                    .await
                    .unwrap();
            if waiting == 0 {
                return (count, max.unwrap_or(0));
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{waiting} R events still unsequenced");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn lease_holder(db: &sqlx::MySqlPool) -> String {
        sqlx::query_scalar("SELECT holder FROM audit_leases WHERE chain = 'R'").fetch_one(db).await.unwrap()
    }

    #[tokio::test]
    #[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
    async fn two_servers_keep_one_contiguous_chain_per_store_and_one_takes_over_when_the_holder_dies() {
        let test_db = mysql_test_db("two_servers_one_chain").await;
        let url = test_db.url();
        let emulator = Emulator::start().await;
        let tables = settings_for(emulator.endpoint());
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("audit.key").display().to_string();
        let endpoint = emulator.endpoint();
        let env = [
            ("DATABASE_URL", url.as_str()),
            ("GOSPITAL_AUDIT_KEY_FILE", key.as_str()),
            ("GOSPITAL_RECORDS_STORE", "dynamodb"),
            ("DYNAMODB_ENDPOINT", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("MEDICAL_RECORDS_TABLE", tables.records_table.as_str()),
            ("INVOICES_TABLE", tables.invoices_table.as_str()),
            ("MEDICAL_RECORD_HISTORY_TABLE", tables.history_table.as_str()),
            ("IDEMPOTENCY_TABLE", tables.idempotency_table.as_str()),
            ("AUDIT_EVENTS_TABLE", tables.audit_table.as_str()),
        ];
        let migrated = run(&["migrate"], &env).await;
        assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
        let a = Server::start(&env).await;
        let b = Server::start(&env).await;
        let doctor = json!({"firstName": "Meredith", "lastName": "Grey", "email": "grey@example.org",
            "phone": "+1 555 010 0001", "specialty": "Surgery", "licenseNumber": "LIC-CHAIN", "departmentId": "DEPT-001",
            "yearsOfExperience": 10});
        let (status, _, body) = http(a.addr, "POST", "/api/v1/doctors", Some(&doctor)).await;
        assert_eq!(status, 201, "{body}");
        let did = serde_json::from_str::<Value>(&body).unwrap()["doctorId"].as_str().unwrap().to_owned();

        // 50 concurrent writers through both servers.
        assert_eq!(writers(&[a.addr, b.addr], 50, "both", &did).await, 50);
        let db = &test_db.db.pool;
        let (count, max) = settled(db).await;
        assert_eq!(count, max, "R's seqs are contiguous: {count} events, last seq {max}");
        assert!(count >= 51, "{count}");

        // The holder dies; the other takes over and goes on from the same chain.
        let holder = lease_holder(db).await;
        let (dead, alive) = if holder == holder_of(&a) { (a, b) } else { (b, a) };
        assert_eq!(holder, holder_of(&dead));
        let survivor = holder_of(&alive);
        drop(dead);
        let killed = Instant::now();
        assert_eq!(writers(&[alive.addr], 20, "after", &did).await, 20);
        let (count, max) = settled(db).await;
        eprintln!("sequencer takeover: R settled {} ms after the holder was killed", killed.elapsed().as_millis());
        assert_eq!(count, max, "still contiguous after the takeover");
        assert_eq!(lease_holder(db).await, survivor);

        // D's chain is on the emulator, its lease taken over likewise: verify (the survivor still serving) until
        // nothing is pending there either.
        let started = Instant::now();
        let stdout = loop {
            let out = run(&["audit", "verify"], &env).await;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
            if !stdout.contains("pending") {
                break stdout;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{stdout}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        // R: the doctor, 70 patients (and nothing else); D: 70 records, each once.
        assert!(stdout.starts_with(&format!("verified {} events (R: {count}, D: 70)", count + 70)), "{stdout}");
        drop(alive);
        test_db.close().await;
    }
}
