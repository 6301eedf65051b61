//! `agent --serve SPEC…`: the stand-in application of the test lab's data plane. The node agent
//! (tests/cluster) runs it in a scenario pod's network namespace on the pod's declared
//! containerPorts, so probes meet a real socket through real pod networking: a TCP listener that
//! answers an HTTP request with 200 (readiness and liveness paths included) and closes anything
//! else after reading it, and a UDP socket that echoes each datagram. It runs until killed.
//!
//! SPEC: `tcp:PORT`, `udp:PORT`, or with the address to bind, `tcp:ADDR:PORT` (`tcp:127.0.0.1:8080`:
//! the "listens on loopback only" failure the checks diagnose); `none` for a container that
//! declares no port (a client): it serves nothing and runs until killed. `tcp-reset:…` accepts as
//! `tcp:` does, then resets a connection whose first bytes are not an HTTP request — what a mesh
//! proxy that requires mTLS does with a plaintext client, on the wire.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use crate::error::{Error, Result};

/// One socket to serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spec {
    /// Nothing to serve: the container only runs.
    None,
    Tcp(SocketAddr),
    /// TCP that resets plaintext which is not HTTP (`tcp-reset:`).
    TcpReset(SocketAddr),
    Udp(SocketAddr),
}

impl Spec {
    pub(crate) fn parse(s: &str) -> std::result::Result<Spec, String> {
        let bad = || {
            format!(
                "--serve {s:?}: want tcp:PORT, tcp-reset:PORT, udp:PORT, tcp:ADDR:PORT, udp:ADDR:PORT or none"
            )
        };
        if s == "none" {
            return Ok(Spec::None);
        }
        let (proto, rest) = s.split_once(':').ok_or_else(bad)?;
        let addr = match rest.rsplit_once(':') {
            Some((ip, port)) => SocketAddr::new(
                ip.trim_matches(|c| c == '[' || c == ']')
                    .parse::<IpAddr>()
                    .map_err(|_| bad())?,
                port.parse::<u16>().map_err(|_| bad())?,
            ),
            None => SocketAddr::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                rest.parse::<u16>().map_err(|_| bad())?,
            ),
        };
        if addr.port() == 0 {
            return Err(bad());
        }
        match proto {
            "tcp" => Ok(Spec::Tcp(addr)),
            "tcp-reset" => Ok(Spec::TcpReset(addr)),
            "udp" => Ok(Spec::Udp(addr)),
            _ => Err(bad()),
        }
    }
}

/// Binds every spec (any failure is the process's error, before anything is served), says what
/// it serves on stdout, one line each, then serves until killed.
pub(crate) fn run(specs: &[String]) -> Result<ExitCode> {
    let specs: Vec<Spec> = specs
        .iter()
        .map(|s| Spec::parse(s))
        .collect::<std::result::Result<_, _>>()
        .map_err(Error::Usage)?;
    let mut threads = Vec::new();
    for spec in specs {
        match spec {
            Spec::None => println!("{}", serde_json::json!({"serving": "none"})),
            Spec::Tcp(addr) | Spec::TcpReset(addr) => {
                let reset = matches!(spec, Spec::TcpReset(_));
                let kind = if reset { "tcp-reset" } else { "tcp" };
                let l = TcpListener::bind(addr)
                    .map_err(|e| Error::Usage(format!("--serve {kind}:{addr}: {e}")))?;
                println!(
                    "{}",
                    serde_json::json!({"serving": format!("{kind}:{addr}")})
                );
                threads.push(std::thread::spawn(move || accept(&l, reset)));
            }
            Spec::Udp(addr) => {
                let s = UdpSocket::bind(addr)
                    .map_err(|e| Error::Usage(format!("--serve udp:{addr}: {e}")))?;
                println!("{}", serde_json::json!({"serving": format!("udp:{addr}")}));
                threads.push(std::thread::spawn(move || echo(&s)));
            }
        }
    }
    if threads.is_empty() {
        // A container that serves nothing runs until killed, as its process would.
        loop {
            std::thread::park();
        }
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(ExitCode::SUCCESS)
}

fn accept(l: &TcpListener, reset: bool) {
    for conn in l.incoming().flatten() {
        std::thread::spawn(move || answer(conn, reset));
    }
}

/// Reads what the client sends (bounded: 8 KiB, 2 s); an HTTP request gets `200 OK`. With
/// `reset`, first bytes that cannot start an HTTP request are left unread and the connection
/// closed: a close with unread data sends a reset (RFC 2525 §2.17, as Linux does).
fn answer(mut conn: TcpStream, reset: bool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    if reset {
        let mut first = [0u8; 1];
        if conn.peek(&mut first).is_ok_and(|n| n == 1) && !first[0].is_ascii_uppercase() {
            return;
        }
    }
    let mut buf = [0u8; 8192];
    let mut n = 0;
    while n < buf.len() {
        match conn.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n += k;
                if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    if is_http(&buf[..n]) {
        let _ = conn.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
        );
    }
}

fn is_http(req: &[u8]) -> bool {
    const METHODS: [&[u8]; 7] = [
        b"GET ",
        b"HEAD ",
        b"POST ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
    ];
    METHODS.iter().any(|m| req.starts_with(m))
}

fn echo(s: &UdpSocket) {
    let mut buf = [0u8; 65535];
    while let Ok((n, from)) = s.recv_from(&mut buf) {
        let _ = s.send_to(&buf[..n], from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_as_documented() {
        let any = |p| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), p);
        assert_eq!(Spec::parse("tcp:8080"), Ok(Spec::Tcp(any(8080))));
        assert_eq!(Spec::parse("udp:53"), Ok(Spec::Udp(any(53))));
        assert_eq!(Spec::parse("none"), Ok(Spec::None));
        assert!(Spec::parse("nothing").is_err());
        assert_eq!(
            Spec::parse("tcp:127.0.0.1:8080"),
            Ok(Spec::Tcp("127.0.0.1:8080".parse().unwrap()))
        );
        assert_eq!(
            Spec::parse("udp:[::1]:53"),
            Ok(Spec::Udp("[::1]:53".parse().unwrap()))
        );
        for bad in [
            "sctp:80",
            "tcp:0",
            "tcp:x",
            "8080",
            "tcp:1.2.3:80",
            "tcp:70000",
        ] {
            assert!(Spec::parse(bad).is_err(), "{bad}");
        }
    }

    fn any_port(p: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), p)
    }

    #[test]
    fn it_answers_http_with_200_and_echoes_udp_on_loopback() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || accept(&l, false));
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        // Not HTTP: read, then closed without an answer.
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"\x00\x01binary").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert!(got.is_empty());

        // tcp-reset: HTTP is still answered; other bytes get a reset, not a close.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || accept(&l, true));
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"\0\r\n").unwrap();
        let mut got = Vec::new();
        let err = c.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
        assert_eq!(
            Spec::parse("tcp-reset:8080"),
            Ok(Spec::TcpReset(any_port(8080)))
        );

        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let at = s.local_addr().unwrap();
        std::thread::spawn(move || echo(&s));
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.send_to(b"ping", at).unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = c.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
    }
}
