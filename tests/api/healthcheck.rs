//! `gospital healthcheck` (the container health check) against a real listening server and against nothing.

use std::process::Command;

use crate::helpers::TestApp;

fn healthcheck(addr: std::net::SocketAddr) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gospital"))
        .arg("healthcheck")
        .env("GOSPITAL_ADDR", addr.to_string())
        .env_remove("SERVER_PORT")
        .output()
        .expect("run gospital healthcheck")
}

#[tokio::test]
async fn healthcheck_exits_0_against_a_running_server_and_1_when_none_answers() {
    let app = TestApp::spawn().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, app.router.clone()).into_future());

    let up = tokio::task::spawn_blocking(move || healthcheck(addr)).await.unwrap();
    assert!(up.status.success(), "stderr: {}", String::from_utf8_lossy(&up.stderr));

    server.abort();
    let _ = server.await;
    let down = tokio::task::spawn_blocking(move || healthcheck(addr)).await.unwrap();
    assert_eq!(down.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(stderr.contains("cannot connect"), "names the reason: {stderr}");
}
