//! [auth] as an operator meets it (SECURITY.md §1): `gospital token` prints a token and nothing else, the key
//! file is created private and refused when others may read it, mode `off` only on loopback, and a served API
//! that wants the token `gospital token` printed.

use crate::process::{Server, assert_one_line, http, run, sqlite_url};

#[tokio::test]
async fn gospital_token_prints_one_token_that_the_server_accepts_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("gospital.key");
    let key = key.to_str().unwrap();
    let out =
        run(&["token", "--role", "receptionist", "--name", "Front Desk"], &[("GOSPITAL_AUTH_KEY_FILE", key)]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stdout: {stdout:?}");
    assert_eq!(lines[0].split('.').count(), 3, "a JWS compact token");
    assert!(out.stderr.is_empty(), "nothing on stderr: {}", String::from_utf8_lossy(&out.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let url = sqlite_url(dir.path(), "g.db");
    let server =
        Server::start(&[("DATABASE_URL", &url), ("GOSPITAL_AUTH", "local"), ("GOSPITAL_AUTH_KEY_FILE", key)]).await;
    let (status, _, _) = http(server.addr, "GET", "/api/v1/doctors", None).await;
    assert_eq!(status, 401);
    let (_, _, metrics) = http(server.addr, "GET", "/metrics", None).await;
    assert!(metrics.lines().any(|l| l == "auth_disabled 0"), "auth_disabled is 0 in mode local");
    let (status, _, body) = bearer_get(server.addr, "/api/v1/me", lines[0]).await;
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((me["sub"].as_str(), me["name"].as_str()), (Some("receptionist"), Some("Front Desk")));
}

async fn bearer_get(addr: std::net::SocketAddr, path: &str, token: &str) -> (u16, Option<String>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap();
    (status, None, body.to_owned())
}

#[tokio::test]
async fn bad_token_requests_exit_2_with_one_line_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    let env = [("GOSPITAL_AUTH_KEY_FILE", key.to_str().unwrap())];
    assert_one_line(&run(&["token", "--role", "root"], &env).await, 2, &["--role", "root"]);
    assert_one_line(&run(&["token", "--role", "patient"], &env).await, 2, &["--patient", "required"]);
    assert_one_line(&run(&["token", "--role", "doctor", "--ttl", "48h"], &env).await, 2, &["--ttl"]);
}

#[cfg(unix)]
#[tokio::test]
async fn a_key_file_others_can_read_stops_the_start_naming_the_variable() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("open.key");
    let env = [("GOSPITAL_AUTH_KEY_FILE", key.to_str().unwrap())];
    assert!(run(&["token", "--role", "admin"], &env).await.status.success());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = sqlite_url(dir.path(), "g.db");
    let out = run(&["serve"], &[env[0], ("DATABASE_URL", &url), ("GOSPITAL_ADDR", "127.0.0.1:0")]).await;
    assert_one_line(&out, 2, &["GOSPITAL_AUTH_KEY_FILE", "readable by group or others"]);
}

#[tokio::test]
async fn mode_off_refuses_a_non_loopback_address_naming_gospital_auth_and_serves_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path(), "g.db");
    let out =
        run(&["serve"], &[("GOSPITAL_AUTH", "off"), ("GOSPITAL_ADDR", "0.0.0.0:0"), ("DATABASE_URL", &url)]).await;
    assert_one_line(&out, 2, &["GOSPITAL_AUTH", "loopback"]);
    let server = Server::start(&[("DATABASE_URL", &url), ("GOSPITAL_AUTH", "off")]).await;
    let (status, _, _) = http(server.addr, "GET", "/api/v1/doctors", None).await;
    assert_eq!(status, 200);
    let (_, _, metrics) = http(server.addr, "GET", "/metrics", None).await;
    assert!(metrics.lines().any(|l| l == "auth_disabled 1"), "auth_disabled is 1 in mode off");
}
