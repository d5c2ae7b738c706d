//! `gospital healthcheck`: asks a running server's `/health/live` and exits 0 on 200, so container health checks
//! need no curl in the image. Speaks just enough HTTP/1.1 for that one request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The address to probe for a server listening on `listen`: a wildcard address is reached on loopback.
pub fn target(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `GET /health/live` on `addr` within `timeout`; `Err` says why it is not healthy.
pub async fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let request = format!("GET /health/live HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|e| format!("cannot send to {addr}: {e}"))?;
        // The status line is all we need; a live answer is short, so cap what is read.
        let mut head = Vec::with_capacity(256);
        let mut buf = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 4096 {
            let n = stream.read(&mut buf).await.map_err(|e| format!("cannot read from {addr}: {e}"))?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let status_line = String::from_utf8_lossy(&head);
        let status_line = status_line.lines().next().unwrap_or("").trim();
        match status_line.split_whitespace().nth(1) {
            Some("200") => Ok(()),
            Some(code) => Err(format!("{addr} answered {code} on /health/live")),
            None => Err(format!("{addr} sent no HTTP status line")),
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer from {addr} within {} ms", timeout.as_millis())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_address_is_probed_on_loopback() {
        assert_eq!(target("0.0.0.0:8080".parse().unwrap()), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(target("[::]:9000".parse().unwrap()), "[::1]:9000".parse().unwrap());
        assert_eq!(target("10.0.0.5:8080".parse().unwrap()), "10.0.0.5:8080".parse().unwrap());
    }

    /// A one-shot server answering with `response`.
    async fn answering(response: &'static str) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(response.as_bytes()).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn only_a_200_is_healthy() {
        let ok = answering("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        assert_eq!(probe(ok, Duration::from_secs(2)).await, Ok(()));
        let down = answering("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").await;
        assert!(probe(down, Duration::from_secs(2)).await.unwrap_err().contains("503"));
        let garbage = answering("hello").await;
        assert!(probe(garbage, Duration::from_secs(2)).await.is_err());
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let err = probe(addr, Duration::from_millis(100)).await.unwrap_err();
        assert!(err.contains("no answer"), "{err}");
        drop(listener);
    }
}
