//! TCP and UDP probes, and the verdict each one's packets support.
//!
//! TCP: bind a local port, connect with a short deadline, then read what the capture saw for that
//! port: SYN-ACK → open; RST → refused; ICMP port-unreachable or prohibited → rejected; ICMP
//! host/net-unreachable → unreachable; only our SYNs → dropped. The deadline ends the wait: no
//! retransmission schedule is assumed (kernels differ: some retry every second). Without capture
//! the connect() outcome is all there is, and the line says so (`"evidence": "connect"`).

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::{TcpSocket, UdpSocket};

use super::capture::{Capture, Seen};
use super::host;
use super::packet::{L4, Proto, Unreachable, tcp_flags};
pub(crate) use crate::wire::{AfterAccept, Evidence, SocketLine as ProbeLine, Verdict};

/// How long after the socket's answer the capture gets to deliver the packet that caused it.
const SETTLE: Duration = Duration::from_millis(250);

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// What the socket reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SocketOutcome {
    Connected,
    Replied,
    Timeout,
    Failed(ErrorKind, String),
}

impl SocketOutcome {
    fn from_error(e: &std::io::Error) -> SocketOutcome {
        SocketOutcome::Failed(e.kind(), socket_error_name(e))
    }

    fn describe(&self) -> String {
        match self {
            SocketOutcome::Connected => "connected".into(),
            SocketOutcome::Replied => "reply".into(),
            SocketOutcome::Timeout => "timeout".into(),
            SocketOutcome::Failed(_, name) => name.clone(),
        }
    }
}

fn socket_error_name(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => "refused".into(),
        ErrorKind::HostUnreachable => "host unreachable".into(),
        ErrorKind::NetworkUnreachable => "network unreachable".into(),
        ErrorKind::PermissionDenied => "not permitted".into(),
        ErrorKind::ConnectionReset => "reset".into(),
        _ => e.to_string(),
    }
}

pub(crate) async fn tcp(
    target: SocketAddr,
    deadline: Duration,
    capture: Option<&Capture>,
) -> ProbeLine {
    timed(
        "tcp",
        target,
        tcp_exchange(target, deadline, capture, false),
    )
    .await
}

/// A TCP probe of a pod behind a mesh proxy (`mesh:IP:PORT`): the handshake as for `tcp:`, then a
/// few plaintext bytes and what the peer does with them (see [`AfterAccept`]). The proxy answers
/// the SYN itself whatever the app does, so the handshake alone proves only the proxy.
pub(crate) async fn mesh(
    target: SocketAddr,
    deadline: Duration,
    capture: Option<&Capture>,
) -> ProbeLine {
    timed(
        "mesh",
        target,
        tcp_exchange(target, deadline, capture, true),
    )
    .await
}

/// What a mesh probe writes after the handshake: not TLS (its first byte is no TLS record type),
/// not an HTTP request line (a NUL cannot start a method), so a proxy's protocol detection decides
/// at once; an app that reads it sees a stray line.
const PLAINTEXT: &[u8] = b"\0\r\n";

/// How long a mesh probe waits for the peer's reaction to [`PLAINTEXT`] (within the deadline).
const AFTER_ACCEPT_WAIT: Duration = Duration::from_millis(1500);

/// Writes [`PLAINTEXT`] and waits for the peer's first move.
async fn after_accept(mut stream: tokio::net::TcpStream, wait: Duration) -> AfterAccept {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if let Err(e) = stream.write_all(PLAINTEXT).await {
        return match e.kind() {
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => AfterAccept::Reset,
            _ => AfterAccept::Closed,
        };
    }
    let mut buf = [0u8; 64];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(0)) => AfterAccept::Closed,
        Ok(Ok(_)) => AfterAccept::Answered,
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => AfterAccept::Reset,
        Ok(Err(_)) => AfterAccept::Closed,
        Err(_) => AfterAccept::Held,
    }
}

/// A probe's line with its target and how long it took.
async fn timed(
    proto: &str,
    target: SocketAddr,
    exchange: impl std::future::Future<Output = ProbeLine>,
) -> ProbeLine {
    let started = Instant::now();
    let mut result = exchange.await;
    result.target = format!("{proto}:{target}");
    result.elapsed_ms = ms(started.elapsed());
    result
}

/// What the capture saw of this probe's port, once its answer had time to arrive.
async fn seen(
    capture: Option<&Capture>,
    proto: Proto,
    local: Option<SocketAddr>,
    outcome: &SocketOutcome,
) -> Option<Vec<Seen>> {
    match (capture, local) {
        (Some(capture), Some(local)) => Some(settle(capture, proto, local, outcome).await),
        _ => None,
    }
}

/// A probe that could not even start: the socket's error, and why nothing was sent.
fn failed(verdict: Verdict, e: std::io::Error, detail: String) -> ProbeLine {
    ProbeLine::socket_only(verdict, &SocketOutcome::from_error(&e), detail)
}

/// The local address the kernel would send from to `target`, or the line saying there is none.
fn source_for(target: SocketAddr) -> Result<std::net::IpAddr, Box<ProbeLine>> {
    host::source_for(target.ip()).map_err(|e| {
        let ip = target.ip();
        let detail = format!("no route to {ip} from this host ({e}): nothing was sent");
        Box::new(failed(Verdict::Unreachable, e, detail))
    })
}

async fn tcp_exchange(
    target: SocketAddr,
    deadline: Duration,
    capture: Option<&Capture>,
    plaintext: bool,
) -> ProbeLine {
    let source = match source_for(target) {
        Ok(ip) => ip,
        Err(line) => return *line,
    };
    let socket = match bind_tcp(source) {
        Ok(s) => s,
        Err(e) => {
            let detail = format!("cannot bind a TCP socket: {e}");
            return failed(Verdict::Error, e, detail);
        }
    };
    let local = socket.local_addr().ok();
    if let (Some(capture), Some(local)) = (capture, local) {
        capture.watch(Proto::Tcp, local);
    }
    let sent_at = Instant::now();
    let mut after = None;
    let outcome = match tokio::time::timeout(deadline, socket.connect(target)).await {
        Ok(Ok(stream)) => {
            let socket_took = sent_at.elapsed();
            if plaintext {
                let wait = AFTER_ACCEPT_WAIT.min(deadline.saturating_sub(socket_took));
                after = Some(after_accept(stream, wait).await);
            } else {
                drop(stream);
            }
            SocketOutcome::Connected
        }
        Ok(Err(e)) => SocketOutcome::from_error(&e),
        Err(_) => SocketOutcome::Timeout,
    };
    let socket_took = sent_at.elapsed();
    let seen = seen(capture, Proto::Tcp, local, &outcome).await;
    let mut result = classify_tcp(seen.as_deref(), &outcome, socket_took);
    result.local = local;
    if let Some(after) = after {
        result.after_accept = Some(after);
        result.detail = format!(
            "{}; after a few plaintext bytes the peer {}",
            result.detail,
            match after {
                AfterAccept::Reset => "reset the connection",
                AfterAccept::Closed => "closed the connection",
                AfterAccept::Answered => "answered",
                AfterAccept::Held => "kept it open without a word",
            }
        );
    }
    result
}

pub(crate) async fn udp(
    target: SocketAddr,
    deadline: Duration,
    capture: Option<&Capture>,
) -> ProbeLine {
    timed("udp", target, udp_exchange(target, deadline, capture)).await
}

async fn udp_exchange(
    target: SocketAddr,
    deadline: Duration,
    capture: Option<&Capture>,
) -> ProbeLine {
    let source = match source_for(target) {
        Ok(ip) => ip,
        Err(line) => return *line,
    };

    let socket = match UdpSocket::bind(SocketAddr::new(source, 0)).await {
        Ok(s) => s,
        Err(e) => return failed(Verdict::Error, e, "cannot bind a UDP socket".into()),
    };
    let local = socket.local_addr().ok();
    if let (Some(capture), Some(local)) = (capture, local) {
        capture.watch(Proto::Udp, local);
    }
    // Connected, so that an ICMP port unreachable comes back as ECONNREFUSED.
    if let Err(e) = socket.connect(target).await {
        return failed(
            Verdict::Unreachable,
            e,
            "connect failed: nothing was sent".into(),
        );
    }
    let payload = datagram_for(target.port());
    let sent_at = Instant::now();
    let outcome = match socket.send(&payload).await {
        Err(e) => SocketOutcome::from_error(&e),
        Ok(_) => {
            let mut buf = [0u8; 2048];
            match tokio::time::timeout(deadline, socket.recv(&mut buf)).await {
                Ok(Ok(_)) => SocketOutcome::Replied,
                Ok(Err(e)) => SocketOutcome::from_error(&e),
                Err(_) => SocketOutcome::Timeout,
            }
        }
    };
    let socket_took = sent_at.elapsed();
    let seen = seen(capture, Proto::Udp, local, &outcome).await;
    let mut result = classify_udp(seen.as_deref(), &outcome, socket_took);
    result.local = local;
    result
}

/// A datagram a server may answer: a DNS query for the root's NS records on port 53 (any DNS
/// server replies, even with REFUSED), else a few bytes.
fn datagram_for(port: u16) -> Vec<u8> {
    if port == 53 {
        // id, flags (RD), 1 question, 0 answers/authority/additional; "." NS IN
        vec![
            0x6e, 0x64, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1,
        ]
    } else {
        b"netdoctor probe\n".to_vec()
    }
}

fn bind_tcp(source: IpAddr) -> std::io::Result<TcpSocket> {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    Ok(socket)
}

/// Waits (briefly) until the capture holds the packet that explains the socket's outcome, then
/// stops watching.
async fn settle(
    capture: &Capture,
    proto: Proto,
    local: SocketAddr,
    outcome: &SocketOutcome,
) -> Vec<Seen> {
    let expect_answer = !matches!(outcome, SocketOutcome::Timeout);
    let until = Instant::now()
        + if expect_answer {
            SETTLE
        } else {
            Duration::from_millis(30)
        };
    loop {
        let seen = capture.seen(proto, local);
        let answered = seen.iter().any(|s| !s.outgoing);
        if answered || Instant::now() >= until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    capture.take(proto, local)
}

impl ProbeLine {
    /// A line with only the socket's word on it (nothing captured yet).
    fn socket_only(verdict: Verdict, outcome: &SocketOutcome, detail: String) -> ProbeLine {
        ProbeLine {
            target: String::new(),
            verdict,
            evidence: Evidence::Connect,
            local: None,
            iface: None,
            sent: 0,
            retransmits: 0,
            reply: None,
            reply_from: None,
            rtt_ms: None,
            socket: outcome.describe(),
            elapsed_ms: 0.0,
            detail,
            after_accept: None,
        }
    }
}

/// What the first answer to our SYN says: RST (refused), SYN-ACK (open), or an ICMP error
/// (rejected, or unreachable).
fn answered_tcp(line: &mut ProbeLine, answer: &Seen, outcome: &SocketOutcome) {
    let from = answer.packet.src;
    match &answer.packet.l4 {
        L4::Tcp { flags, .. } if flags & tcp_flags::RST != 0 => {
            line.verdict = Verdict::Refused;
            line.reply = Some("rst".into());
            line.detail = format!(
                "{from} answered the SYN with a reset: nothing listens on that port (or only on \
                 127.0.0.1), or a policy engine rejects with tcp-reset"
            );
        }
        L4::Tcp { flags, .. } if flags & tcp_flags::SYN != 0 => {
            line.verdict = Verdict::Open;
            line.reply = Some("syn-ack".into());
            line.detail = format!("{from} answered with SYN-ACK: something listens");
        }
        L4::IcmpError { kind, .. } => {
            line.reply = Some(icmp_name(*kind));
            if kind.is_rejection() {
                line.verdict = Verdict::Rejected;
                line.detail = format!(
                    "{from} sent {}: a firewall's REJECT, or a service proxy with no endpoints \
                     for a ClusterIP",
                    kind.describe()
                );
            } else {
                line.verdict = Verdict::Unreachable;
                line.detail = format!(
                    "{from} sent {}: no path to the pod (CNI routes, the node's network)",
                    kind.describe()
                );
            }
        }
        other => {
            line.verdict = from_connect_tcp(outcome);
            line.reply = Some(format!("{other:?}"));
            line.detail = format!("an unexpected answer from {from}");
        }
    }
}

/// The verdict for a TCP probe: from its packets when the capture saw any, else from connect().
pub(crate) fn classify_tcp(
    seen: Option<&[Seen]>,
    outcome: &SocketOutcome,
    socket_took: Duration,
) -> ProbeLine {
    let mut line = ProbeLine::socket_only(Verdict::Error, outcome, String::new());
    let packets = seen.unwrap_or_default();
    let syns: Vec<&Seen> = packets
        .iter()
        .filter(|s| s.outgoing && matches!(s.packet.l4, L4::Tcp { flags, .. } if flags & tcp_flags::SYN != 0 && flags & tcp_flags::ACK == 0))
        .collect();
    line.sent = syns.len() as u32;
    line.retransmits = line.sent.saturating_sub(1);
    line.iface = syns
        .first()
        .copied()
        .or(packets.first())
        .map(|s| s.iface.to_string());
    let answer = packets.iter().find(|s| !s.outgoing);
    if let (Some(first), Some(answer)) = (syns.first(), answer) {
        line.evidence = Evidence::Packets;
        line.reply_from = Some(answer.packet.src);
        line.rtt_ms = Some(ms(answer.at.saturating_duration_since(first.at)));
        answered_tcp(&mut line, answer, outcome);
        return line;
    }
    if let Some(first) = syns.first() {
        if matches!(outcome, SocketOutcome::Timeout) {
            line.evidence = Evidence::Packets;
            line.verdict = Verdict::Dropped;
            let waited = ms(socket_took);
            line.detail = format!(
                "{} SYN(s) sent on {}, nothing came back in {waited} ms: dropped by a \
                 NetworkPolicy, a firewall or a security group",
                line.sent, first.iface
            );
            return line;
        }
    }
    // The capture saw nothing that explains the outcome (or was off): what connect() said.
    line.verdict = from_connect_tcp(outcome);
    line.rtt_ms = (!matches!(outcome, SocketOutcome::Timeout)).then(|| ms(socket_took));
    line.detail = match (seen, outcome) {
        (None, _) => format!(
            "connect(): {} (no packet capture: a reset and a reject look alike, and a drop is \
             only a timeout)",
            outcome.describe()
        ),
        (Some(_), SocketOutcome::Timeout) if line.sent == 0 => "no SYN of this probe left the \
             host before the deadline: the next hop did not answer ARP/neighbour discovery, or \
             the packet was captured on another interface"
            .into(),
        (Some(_), _) => format!(
            "connect(): {}; the capture saw no answer for this probe (socket-level load \
             balancing answers inside the host)",
            outcome.describe()
        ),
    };
    line
}

fn from_connect_tcp(outcome: &SocketOutcome) -> Verdict {
    match outcome {
        SocketOutcome::Connected | SocketOutcome::Replied => Verdict::Open,
        SocketOutcome::Timeout => Verdict::Dropped,
        SocketOutcome::Failed(ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset, _) => {
            Verdict::Refused
        }
        SocketOutcome::Failed(ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable, _) => {
            Verdict::Unreachable
        }
        SocketOutcome::Failed(ErrorKind::PermissionDenied, _) => Verdict::Rejected,
        SocketOutcome::Failed(..) => Verdict::Error,
    }
}

fn icmp_name(kind: Unreachable) -> String {
    match kind {
        Unreachable::Port => "icmp-port-unreachable".into(),
        Unreachable::Protocol => "icmp-proto-unreachable".into(),
        Unreachable::Prohibited => "icmp-admin-prohibited".into(),
        Unreachable::Host => "icmp-host-unreachable".into(),
        Unreachable::Network => "icmp-net-unreachable".into(),
        Unreachable::Other(code) => format!("icmp-unreachable-{code}"),
    }
}

/// The verdict for a UDP probe.
pub(crate) fn classify_udp(
    seen: Option<&[Seen]>,
    outcome: &SocketOutcome,
    socket_took: Duration,
) -> ProbeLine {
    let mut line = ProbeLine::socket_only(Verdict::Error, outcome, String::new());
    let packets = seen.unwrap_or_default();
    let sent: Vec<&Seen> = packets.iter().filter(|s| s.outgoing).collect();
    line.sent = sent.len() as u32;
    line.iface = packets.first().map(|s| s.iface.to_string());
    if let (Some(first), Some(answer)) = (sent.first(), packets.iter().find(|s| !s.outgoing)) {
        let from = answer.packet.src;
        line.evidence = Evidence::Packets;
        line.reply_from = Some(from);
        line.rtt_ms = Some(ms(answer.at.saturating_duration_since(first.at)));
        let target = first.packet.dst;
        match &answer.packet.l4 {
            // A port unreachable from another address than the target is a REJECT rule answering
            // for it (kube-router's NetworkPolicy chains, a node firewall), not the target's
            // stack. Through a ClusterIP the target's own error comes back from the ClusterIP:
            // conntrack translates the error's outer source with the connection.
            L4::IcmpError {
                kind: Unreachable::Port,
                ..
            } if from != target => {
                line.verdict = Verdict::Rejected;
                line.reply = Some(icmp_name(Unreachable::Port));
                line.detail = format!(
                    "{from}, not {target}, sent ICMP port unreachable: a firewall rejects the datagram on the target's behalf"
                );
            }
            L4::IcmpError {
                kind: Unreachable::Port,
                ..
            } => {
                line.verdict = Verdict::Closed;
                line.reply = Some(icmp_name(Unreachable::Port));
                line.detail =
                    format!("{from} sent ICMP port unreachable: nothing is bound to the port");
            }
            L4::IcmpError { kind, .. } if kind.is_rejection() => {
                line.verdict = Verdict::Rejected;
                line.reply = Some(icmp_name(*kind));
                line.detail = format!("{from} sent {}: a firewall rejects it", kind.describe());
            }
            L4::IcmpError { kind, .. } => {
                line.verdict = Verdict::Unreachable;
                line.reply = Some(icmp_name(*kind));
                line.detail = format!("{from} sent {}: no path to the target", kind.describe());
            }
            _ => {
                line.verdict = Verdict::Open;
                line.reply = Some("udp".into());
                line.detail = format!("{from} replied");
            }
        }
        return line;
    }
    line.verdict = match outcome {
        SocketOutcome::Replied | SocketOutcome::Connected => Verdict::Open,
        SocketOutcome::Timeout => Verdict::NoAnswer,
        SocketOutcome::Failed(ErrorKind::ConnectionRefused, _) => Verdict::Closed,
        SocketOutcome::Failed(ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable, _) => {
            Verdict::Unreachable
        }
        SocketOutcome::Failed(ErrorKind::PermissionDenied, _) => Verdict::Rejected,
        SocketOutcome::Failed(..) => Verdict::Error,
    };
    if !matches!(outcome, SocketOutcome::Timeout) {
        line.rtt_ms = Some(ms(socket_took));
    }
    line.detail = match (line.verdict, seen.is_some()) {
        (Verdict::NoAnswer, _) => format!(
            "no reply and no ICMP error in {} ms: inconclusive for UDP (the service may ignore \
             the probe, or a filter drops it)",
            ms(socket_took)
        ),
        (_, true) => format!(
            "socket: {} (the capture saw no answer for this probe)",
            outcome.describe()
        ),
        (_, false) => format!("socket: {} (no packet capture)", outcome.describe()),
    };
    line
}

/// `http:IP:PORT/PATH`: connects, sends `GET PATH HTTP/1.0`, and reads the answer (at most
/// [`crate::wire::HTTP_READ_MAX`] bytes, until the server closes or the deadline). The verdict is
/// the connection's; the status and the body's start are the answer's.
pub(crate) async fn http(
    addr: SocketAddr,
    path: &str,
    deadline: Duration,
) -> crate::wire::HttpLine {
    use crate::wire::{HTTP_BODY_MAX, HTTP_READ_MAX, HttpLine};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let target = format!("http:{addr}{path}");
    let line = |verdict, status, body: String, detail: String| HttpLine {
        target: target.clone(),
        verdict,
        status,
        body,
        elapsed_ms: ms(started.elapsed()),
        detail,
    };
    let connect = tokio::time::timeout(deadline, tokio::net::TcpStream::connect(addr)).await;
    let mut stream = match connect {
        Err(_) => {
            return line(
                Verdict::Dropped,
                None,
                String::new(),
                "no answer to the connect before the deadline".into(),
            );
        }
        Ok(Err(e)) => {
            let verdict = match e.kind() {
                ErrorKind::ConnectionRefused => Verdict::Refused,
                ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Verdict::Unreachable,
                _ => Verdict::Error,
            };
            return line(verdict, None, String::new(), socket_error_name(&e));
        }
        Ok(Ok(s)) => s,
    };
    let host = match addr.ip() {
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}:{}\r\nUser-Agent: kubectl-netdoctor\r\nConnection: close\r\n\r\n",
        addr.port()
    );
    let left = deadline.saturating_sub(started.elapsed());
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        while buf.len() < HTTP_READ_MAX {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n.min(HTTP_READ_MAX - buf.len())]);
        }
        Ok::<_, std::io::Error>(buf)
    };
    let answer = match tokio::time::timeout(left, exchange).await {
        Err(_) => {
            return line(
                Verdict::Open,
                None,
                String::new(),
                "connected; no answer to the request before the deadline".into(),
            );
        }
        Ok(Err(e)) => {
            return line(
                Verdict::Open,
                None,
                String::new(),
                format!("connected; the exchange failed: {}", socket_error_name(&e)),
            );
        }
        Ok(Ok(buf)) => buf,
    };
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok());
    let body: String = body.chars().take(HTTP_BODY_MAX).collect();
    let detail = match status {
        Some(code) => format!("HTTP {code}"),
        None => "connected; the answer is not HTTP".into(),
    };
    line(Verdict::Open, status, body, detail)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A `mesh:` probe against servers on loopback that do what mesh proxies do after accepting:
    /// reset (Istio's STRICT inbound listener to plaintext), close (Linkerd denying), answer (a
    /// permissive proxy passing the bytes to an app), or hold (waiting for more).
    #[tokio::test]
    async fn mesh_probes_say_what_the_peer_did_with_plaintext_after_accepting() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        async fn server(behaviour: AfterAccept) -> (SocketAddr, tokio::task::JoinHandle<Vec<u8>>) {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let task = tokio::spawn(async move {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut got = vec![0u8; 16];
                let n = conn.read(&mut got).await.unwrap();
                got.truncate(n);
                match behaviour {
                    AfterAccept::Reset => {
                        // SO_LINGER 0: the close sends a RST.
                        conn.set_zero_linger().unwrap();
                        drop(conn);
                    }
                    AfterAccept::Closed => drop(conn),
                    AfterAccept::Answered => conn
                        .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                        .await
                        .unwrap(),
                    AfterAccept::Held => tokio::time::sleep(Duration::from_secs(3)).await,
                }
                got
            });
            (addr, task)
        }
        for behaviour in [
            AfterAccept::Reset,
            AfterAccept::Closed,
            AfterAccept::Answered,
            AfterAccept::Held,
        ] {
            let (addr, task) = server(behaviour).await;
            let line = mesh(addr, Duration::from_millis(800), None).await;
            assert_eq!(line.target, format!("mesh:{addr}"));
            // The handshake itself succeeded: the proxy accepted.
            assert_eq!(line.verdict, Verdict::Open, "{behaviour:?}: {line:?}");
            assert_eq!(line.after_accept, Some(behaviour), "{line:?}");
            if behaviour != AfterAccept::Held {
                assert_eq!(task.await.unwrap(), PLAINTEXT);
            } else {
                task.abort();
            }
        }
        // A plain `tcp:` probe sends nothing and says nothing after the handshake.
        let (addr, task) = server(AfterAccept::Closed).await;
        let line = tcp(addr, Duration::from_millis(800), None).await;
        assert_eq!(line.after_accept, None);
        assert!(task.await.unwrap().is_empty());
    }

    /// An HTTP GET against a server on loopback: the status and body as sent; a refused port.
    #[tokio::test]
    async fn http_reads_the_status_and_body() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut req = vec![0u8; 512];
            let n = conn.read(&mut req).await.unwrap();
            let req = String::from_utf8_lossy(&req[..n]).into_owned();
            conn.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n{\"localEndpoints\": 0}")
                .await
                .unwrap();
            req
        });
        let line = http(addr, "/healthz", Duration::from_secs(2)).await;
        let req = server.await.unwrap();
        assert!(req.starts_with("GET /healthz HTTP/1.0\r\n"), "{req}");
        assert_eq!(line.verdict, Verdict::Open);
        assert_eq!(line.status, Some(503));
        assert_eq!(line.body, "{\"localEndpoints\": 0}");
        // Nothing listens there any more: refused, no status.
        let line = http(addr, "/", Duration::from_secs(2)).await;
        assert_eq!(line.verdict, Verdict::Refused);
        assert_eq!(line.status, None);
    }
    use crate::agent::packet::Packet;

    fn seen(ms_after: u64, outgoing: bool, src: &str, l4: L4) -> Seen {
        Seen {
            at: base() + Duration::from_millis(ms_after),
            iface: Arc::from("eth0"),
            outgoing,
            packet: Packet {
                src: src.parse().unwrap(),
                dst: "10.0.0.1".parse().unwrap(),
                l4,
            },
        }
    }

    fn base() -> Instant {
        static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *BASE.get_or_init(Instant::now)
    }

    fn syn(at: u64) -> Seen {
        seen(
            at,
            true,
            "10.0.0.1",
            L4::Tcp {
                sport: 40000,
                dport: 80,
                flags: tcp_flags::SYN,
            },
        )
    }

    #[test]
    fn packets_decide_over_the_socket() {
        let rst = seen(
            1,
            false,
            "10.0.0.9",
            L4::Tcp {
                sport: 80,
                dport: 40000,
                flags: tcp_flags::RST | tcp_flags::ACK,
            },
        );
        let refused = SocketOutcome::Failed(ErrorKind::ConnectionRefused, "refused".into());
        let line = classify_tcp(Some(&[syn(0), rst]), &refused, Duration::from_millis(1));
        assert_eq!(
            (line.verdict, line.evidence),
            (Verdict::Refused, Evidence::Packets)
        );
        assert_eq!(line.reply.as_deref(), Some("rst"));

        // Linux reports an ICMP port unreachable to connect() as ECONNREFUSED too: only the
        // packet tells a REJECT from an RST.
        let icmp = seen(
            1,
            false,
            "10.0.0.9",
            L4::IcmpError {
                kind: Unreachable::Port,
                proto: Proto::Tcp,
                inner_src: "10.0.0.1:40000".parse().unwrap(),
                inner_dst: "10.0.0.9:80".parse().unwrap(),
            },
        );
        let line = classify_tcp(
            Some(&[syn(0), icmp.clone()]),
            &refused,
            Duration::from_millis(1),
        );
        assert_eq!(line.verdict, Verdict::Rejected);
        assert_eq!(line.reply_from, Some("10.0.0.9".parse().unwrap()));
        let line = classify_tcp(None, &refused, Duration::from_millis(1));
        assert_eq!(
            (line.verdict, line.evidence),
            (Verdict::Refused, Evidence::Connect)
        );
    }

    #[test]
    fn unanswered_syns_are_a_drop_with_retransmits_counted() {
        let line = classify_tcp(
            Some(&[syn(0), syn(1000)]),
            &SocketOutcome::Timeout,
            Duration::from_millis(1500),
        );
        assert_eq!(
            (line.verdict, line.sent, line.retransmits),
            (Verdict::Dropped, 2, 1)
        );
        assert_eq!(line.reply, None);
        let nothing = classify_tcp(
            Some(&[]),
            &SocketOutcome::Timeout,
            Duration::from_millis(1500),
        );
        assert_eq!(
            (nothing.verdict, nothing.evidence),
            (Verdict::Dropped, Evidence::Connect)
        );
        assert!(nothing.detail.contains("no SYN"), "{}", nothing.detail);
    }

    #[test]
    fn host_unreachable_from_a_router_is_unreachable() {
        let icmp = seen(
            3,
            false,
            "10.0.0.254",
            L4::IcmpError {
                kind: Unreachable::Host,
                proto: Proto::Tcp,
                inner_src: "10.0.0.1:40000".parse().unwrap(),
                inner_dst: "10.0.0.9:80".parse().unwrap(),
            },
        );
        let outcome = SocketOutcome::Failed(ErrorKind::HostUnreachable, "host unreachable".into());
        let line = classify_tcp(Some(&[syn(0), icmp]), &outcome, Duration::from_millis(3));
        assert_eq!(line.verdict, Verdict::Unreachable);
        assert_eq!(line.reply_from, Some("10.0.0.254".parse().unwrap()));
        assert_eq!(line.rtt_ms, Some(3.0));
    }

    #[test]
    fn a_udp_port_unreachable_is_closed_from_the_target_and_rejected_from_anyone_else() {
        let at = |ms: u64, outgoing: bool, src: &str, dst: &str, l4: L4| Seen {
            at: base() + Duration::from_millis(ms),
            iface: Arc::from("eth0"),
            outgoing,
            packet: Packet {
                src: src.parse().unwrap(),
                dst: dst.parse().unwrap(),
                l4,
            },
        };
        let out = at(
            0,
            true,
            "10.244.1.5",
            "10.244.2.7",
            L4::Udp {
                sport: 40000,
                dport: 5353,
            },
        );
        let icmp = |from: &str| {
            at(
                1,
                false,
                from,
                "10.244.1.5",
                L4::IcmpError {
                    kind: Unreachable::Port,
                    proto: Proto::Udp,
                    inner_src: "10.244.1.5:40000".parse().unwrap(),
                    inner_dst: "10.244.2.7:5353".parse().unwrap(),
                },
            )
        };
        let refused = SocketOutcome::Failed(ErrorKind::ConnectionRefused, "refused".into());
        let closed = classify_udp(
            Some(&[out.clone(), icmp("10.244.2.7")]),
            &refused,
            Duration::from_millis(1),
        );
        assert_eq!(closed.verdict, Verdict::Closed);
        // The node's REJECT rule answers with the node's address (kube-router's policy chains).
        let rejected = classify_udp(
            Some(&[out, icmp("10.0.0.12")]),
            &refused,
            Duration::from_millis(1),
        );
        assert_eq!(rejected.verdict, Verdict::Rejected);
        assert_eq!(rejected.reply_from, Some("10.0.0.12".parse().unwrap()));
        assert!(rejected.detail.contains("firewall"), "{}", rejected.detail);
    }

    #[test]
    fn udp_silence_is_inconclusive() {
        let out = seen(
            0,
            true,
            "10.0.0.1",
            L4::Udp {
                sport: 40000,
                dport: 9999,
            },
        );
        let line = classify_udp(
            Some(&[out]),
            &SocketOutcome::Timeout,
            Duration::from_millis(1500),
        );
        assert_eq!(line.verdict, Verdict::NoAnswer);
        let refused = SocketOutcome::Failed(ErrorKind::ConnectionRefused, "refused".into());
        assert_eq!(
            classify_udp(None, &refused, Duration::ZERO).verdict,
            Verdict::Closed
        );
    }
}
