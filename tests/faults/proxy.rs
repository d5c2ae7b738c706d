//! A TCP fault-injection proxy between the service and a real store, switched between modes on command:
//!
//! - `Pass`: forwards both ways.
//! - `Refuse`: the listening socket is closed, so new connections are refused (ECONNREFUSED), and every open
//!   connection is reset: a database server that went away. Passing again re-binds the same port.
//! - `Reset`: new connections are accepted and reset at once; open connections are reset.
//! - `Stall`: connections are accepted (and open ones kept) but nothing is forwarded either way until the mode
//!   changes: a hung server or a black-holed network. Bytes held back are forwarded if it passes again.
//! - `Delay(d)`: forwards, holding every chunk back for `d` first: a slow network or an overloaded server.
//!
//! Only ever listens on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Refuse,
    Reset,
    Stall,
    Delay(Duration),
}

/// The proxy; stops (and resets its connections) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on a fresh 127.0.0.1 port in front of `upstream`, passing.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Pass);
        let mode = Arc::new(mode);
        let accept_loop = tokio::spawn(accept_loop(listener, addr, upstream, mode.clone()));
        Self { addr, mode, accept_loop }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switches the mode for new and open connections. Returns once a refusing proxy has closed its port, or
    /// a passing one is listening again, so the caller's next connection sees the new mode.
    pub async fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
        // The accept loop closes or re-binds the port when it sees the change; wait for it to take effect.
        for _ in 0..200 {
            let refused = TcpStream::connect(self.addr).await.is_err();
            if refused == (mode == Mode::Refuse) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the fault proxy did not switch to {mode:?}");
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Reset);
        self.accept_loop.abort();
    }
}

async fn accept_loop(listener: TcpListener, addr: SocketAddr, upstream: SocketAddr, mode: Arc<watch::Sender<Mode>>) {
    let mut listener = Some(listener);
    let mut changes = mode.subscribe();
    loop {
        let current = *changes.borrow_and_update();
        match (current, listener.is_some()) {
            (Mode::Refuse, true) => listener = None,
            (Mode::Refuse, false) => {}
            (_, false) => match TcpListener::bind(addr).await {
                Ok(l) => listener = Some(l),
                Err(e) => panic!("the fault proxy could not re-bind {addr}: {e}"),
            },
            (_, true) => {}
        }
        let Some(l) = listener.as_ref() else {
            if changes.changed().await.is_err() {
                return;
            }
            continue;
        };
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((client, _)) = accepted {
                    tokio::spawn(connection(client, upstream, mode.subscribe()));
                }
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Closes `stream` with a TCP reset instead of an orderly shutdown.
// `set_linger` is deprecated because a non-zero linger blocks the dropping thread; a zero linger never waits,
// it makes the kernel send RST at once, which is the point here.
#[allow(deprecated)]
fn reset(stream: TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn connection(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let current = *mode.borrow_and_update();
    if matches!(current, Mode::Reset | Mode::Refuse) {
        return reset(client);
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else { return reset(client) };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        let current = *mode.borrow_and_update();
        let delay = match current {
            Mode::Pass => Duration::ZERO,
            Mode::Delay(d) => d,
            Mode::Refuse | Mode::Reset => {
                reset(server);
                return reset(client);
            }
            Mode::Stall => {
                if mode.changed().await.is_err() {
                    return;
                }
                continue;
            }
        };
        // Reads are cancel-safe, so a mode change may interrupt them; writes run to completion.
        let open = tokio::select! {
            n = client.read(&mut up) => relay(n, &up, &mut server, delay).await,
            n = server.read(&mut down) => relay(n, &down, &mut client, delay).await,
            changed = mode.changed() => changed.is_ok(),
        };
        if !open {
            return;
        }
    }
}

/// Forwards what one side's read returned to the other side after `delay`; false once the connection is done.
async fn relay(read: std::io::Result<usize>, buf: &[u8], to: &mut TcpStream, delay: Duration) -> bool {
    match read {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            tokio::time::sleep(delay).await;
            to.write_all(&buf[..n]).await.is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server: what the proxy forwards comes back.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
        s.write_all(b"ping").await.ok()?;
        let mut buf = [0u8; 4];
        match tokio::time::timeout(within, s.read_exact(&mut buf)).await {
            Ok(Ok(_)) => Some(buf.to_vec()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn each_mode_does_what_it_says() {
        let proxy = FaultProxy::start(echo().await).await;
        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut open, Duration::from_secs(2)).await.as_deref(), Some(&b"ping"[..]));

        proxy.set(Mode::Stall).await;
        assert_eq!(round_trip(&mut open, Duration::from_millis(200)).await, None, "stalled: nothing comes back");
        proxy.set(Mode::Pass).await;
        let mut late = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(2), open.read_exact(&mut late)).await.unwrap().unwrap();
        assert_eq!(&late, b"ping", "held-back bytes are forwarded once it passes again");

        proxy.set(Mode::Delay(Duration::from_millis(100))).await;
        let started = std::time::Instant::now();
        assert!(round_trip(&mut open, Duration::from_secs(2)).await.is_some());
        assert!(started.elapsed() >= Duration::from_millis(200), "delayed each way: {:?}", started.elapsed());

        proxy.set(Mode::Refuse).await;
        let err = TcpStream::connect(proxy.addr()).await.expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        let mut buf = [0u8; 1];
        assert!(matches!(open.read(&mut buf).await, Ok(0) | Err(_)), "open connections are cut");

        proxy.set(Mode::Reset).await;
        // Accepted, then reset: the reset may already arrive during the handshake's last step.
        match TcpStream::connect(proxy.addr()).await {
            Ok(mut fresh) => assert!(round_trip(&mut fresh, Duration::from_secs(2)).await.is_none(), "then reset"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        }

        proxy.set(Mode::Pass).await;
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(round_trip(&mut again, Duration::from_secs(2)).await.is_some(), "same port passes again");
    }
}
