//! The real `gospital` binary as an operator runs it: one-shot commands with a clean environment, a serving
//! process whose address is read from its own log, and just enough HTTP/1.1 to talk to it.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `gospital` with nothing from the test's environment but `envs`, so a developer's GOSPITAL_* or AWS_*
/// variables cannot change the outcome.
pub fn command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gospital"));
    cmd.args(args)
        .env_clear()
        .env("GOSPITAL_AUTH_KEY_FILE", key_file())
        .env("GOSPITAL_AUDIT_KEY_FILE", audit_key_file())
        .envs(envs.iter().copied());
    cmd
}

/// The token key file of every process a test starts, unless it names its own: outside the source tree.
pub fn key_file() -> String {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("gospital-cli-{}.key", std::process::id()));
        path.display().to_string()
    })
    .clone()
}

/// The audit checkpoint key of every process a test starts, unless it names its own: outside the source tree.
pub fn audit_key_file() -> String {
    std::env::temp_dir().join(format!("gospital-cli-audit-{}.key", std::process::id())).display().to_string()
}

/// Longest a one-shot command may take: a `serve` that should have refused to start would otherwise run forever.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Runs a command to its end (off the async runtime: a test may be serving what the command talks to); panics
/// when it is still running after a minute.
pub async fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = command(args, envs);
    let what = format!("gospital {}", args.join(" "));
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run gospital");
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        };
        let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
        let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} still running after {RUN_LIMIT:?} (it should have exited)");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output { status, stdout: stdout.join().expect("stdout"), stderr: stderr.join().expect("stderr") }
    })
    .await
    .expect("join")
}

/// Asserts the operator's view of a failed start: exit status `code` and exactly one stderr line, prefixed
/// `gospital: `, containing every one of `needles`. Answers that line.
#[track_caller]
pub fn assert_one_line(out: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(out.status.code(), Some(code), "exit status; stderr: {stderr}");
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {stderr:?}");
    let line = lines[0];
    assert!(line.starts_with("gospital: "), "{line}");
    for needle in needles {
        assert!(line.contains(needle), "{needle:?} missing from: {line}");
    }
    line.to_owned()
}

/// A `sqlite://` URL for a file in `dir`.
pub fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// A local port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A serving `gospital` process, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Every line the server has logged so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `gospital serve` on 127.0.0.1 and a port of its choosing, with `envs`, and waits (off the async
    /// runtime, which may be serving what it needs) until its log says where it listens. Panics with its stderr
    /// when it does not get there.
    pub async fn start(envs: &[(&str, &str)]) -> Self {
        // Mode off unless a test asks for another: these tests drive the API as the Go original's clients did.
        let mut all: Vec<(String, String)> = vec![
            ("GOSPITAL_ADDR".into(), "127.0.0.1:0".into()),
            ("GOSPITAL_CPU_SHED_OPEN".into(), "0".into()),
            ("GOSPITAL_AUTH".into(), "off".into()),
            ("GOSPITAL_AUTH_KEY_FILE".into(), key_file()),
            ("GOSPITAL_AUDIT_KEY_FILE".into(), audit_key_file()),
        ];
        all.extend(envs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        tokio::task::spawn_blocking(move || Self::start_blocking(&all)).await.expect("join")
    }

    fn start_blocking(envs: &[(String, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gospital"))
            .arg("serve")
            .env_clear()
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gospital serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (found, listening) = mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        // The log is read to its end in any case: a full pipe would stall the server's (non-lossy) log writer.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                let Ok(json) = serde_json::from_str::<Value>(&line) else { continue };
                if json["fields"]["message"] == "gospital listening" {
                    let _ = found.send(json["fields"]["addr"].as_str().unwrap_or_default().to_owned());
                }
            }
        });
        match listening.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Self { child, addr: addr.parse().expect("listen address in the log"), log },
            Err(_) => {
                let _ = child.kill();
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                panic!("gospital serve did not start listening: {text}");
            }
        }
    }
}

impl Server {
    /// The lines logged so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM, as an orchestrator stopping the task does (through `kill(1)`: the crate forbids unsafe
    /// code, and a signal needs no more than that).
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status once the process has ended, or `None` if it is still running after `within`.
    pub async fn exit_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange (`Connection: close`): status, `Location` and the body.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Option<String>, String) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.expect("connect to gospital");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read the answer");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let location = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("location")))
        .map(|(_, v)| v.trim().to_owned());
    (status, location, body.to_owned())
}

/// `GET path` parsed as JSON.
pub async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, _, body) = http(addr, "GET", path, None).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}
