//! SIGTERM behind a load balancer: with `GOSPITAL_SHUTDOWN_DELAY_MS`, the instance fails readiness and closes each
//! connection after its answer, keeps serving for the delay, then drains and exits 0.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::{Server, http, sqlite_url};

/// A keep-alive GET (no `Connection: close` from the client): the answer's status line, and whether the server
/// closed the connection after it (read to EOF within 1 s) rather than keeping it open for the next request.
async fn keep_alive_get(addr: SocketAddr, path: &str) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break true,
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&received);
    (text.lines().next().unwrap_or_default().to_owned(), closed)
}

#[tokio::test]
async fn sigterm_with_a_delay_fails_readiness_keeps_serving_with_connection_close_then_exits_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(&[
        ("DATABASE_URL", &sqlite_url(dir.path(), "gospital.db")),
        ("GOSPITAL_SHUTDOWN_DELAY_MS", "2500"),
    ])
    .await;
    assert_eq!(http(server.addr, "GET", "/health/ready", None).await.0, 200);
    let (status, closed) = keep_alive_get(server.addr, "/api/v1/departments").await;
    assert!(status.ends_with("200 OK") && !closed, "before SIGTERM a connection stays open: {status}, {closed}");

    server.terminate();
    let signalled = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (ready, _, body) = http(server.addr, "GET", "/health/ready", None).await;
    assert_eq!(ready, 503, "draining instance must fail readiness: {body}");
    let (status, closed) = keep_alive_get(server.addr, "/api/v1/departments").await;
    assert!(status.ends_with("200 OK"), "requests are still served while draining: {status}");
    assert!(closed, "while draining every answer closes its connection");
    assert!(server.exit_within(Duration::ZERO).await.is_none(), "exited before the delay ended");

    let exit = server.exit_within(Duration::from_secs(10)).await.expect("exits after the delay");
    assert!(exit.success(), "{exit:?}");
    assert!(
        signalled.elapsed() >= Duration::from_millis(2400),
        "kept serving for the delay: {:?}",
        signalled.elapsed()
    );
    let lines = server.log_lines();
    assert!(lines.iter().any(|l| l.contains("not ready; serving until the delay ends")), "{lines:?}");
}
