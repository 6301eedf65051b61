//! Path MTU to a target (`mtu:IP[:PORT]`): UDP datagrams with the don't-fragment bit set
//! (`IP_PMTUDISC_DO`), at sizes from 1,280 bytes up to the outgoing interface's MTU, to a port
//! where nothing listens (traceroute's 33434 by default). Each size is classified by what the
//! connected socket reports: ICMP port unreachable from the target (`reached`), ICMP
//! fragmentation-needed from a router (`frag-needed`: path MTU discovery works and says the
//! smaller size), or nothing (`silent`). A size that is silent while a smaller one reached, with no
//! fragmentation-needed, is a path MTU black hole: packets over the last size that reached are
//! dropped on the way and nobody says so.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::wire::{MtuLine, MtuStep, Verdict};

/// The sizes tried (whole IP packets), those up to the interface's MTU, and the MTU itself.
const SIZES: &[u32] = &[1280, 1400, 1450, 1500, 4000, 9000];

/// How long each size waits for its answer.
fn per_size(deadline: Duration) -> Duration {
    (deadline / 3).clamp(Duration::from_millis(200), Duration::from_millis(800))
}

fn interface_mtu(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

pub(crate) async fn probe(target: SocketAddr, deadline: Duration) -> MtuLine {
    let started = Instant::now();
    let mut line = MtuLine {
        target: format!("mtu:{target}"),
        verdict: Verdict::Error,
        iface: None,
        iface_mtu: None,
        path_mtu: None,
        steps: Vec::new(),
        elapsed_ms: 0.0,
        detail: String::new(),
    };
    let finish = |mut line: MtuLine| {
        line.elapsed_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
        line
    };
    if !target.is_ipv4() {
        line.detail = "only IPv4 paths are measured".into();
        return finish(line);
    }
    let interfaces = super::host::interfaces();
    let iface = super::host::source_for(target.ip())
        .ok()
        .and_then(|source| super::host::interface_for(&interfaces, target.ip(), source));
    // No IPv4 packet is larger than 65,535 bytes, whatever the interface (loopback's is 65,536).
    let mtu = iface
        .as_deref()
        .and_then(interface_mtu)
        .unwrap_or(1500)
        .min(65_535);
    line.iface = iface;
    line.iface_mtu = Some(mtu);
    let socket = match tokio::net::UdpSocket::bind("0.0.0.0:0").await {
        Ok(s) => s,
        Err(e) => {
            line.detail = format!("no UDP socket: {e}");
            return finish(line);
        }
    };
    let set = rustix::net::sockopt::set_ip_mtu_discover(
        &socket,
        rustix::net::sockopt::Ipv4PathMtuDiscovery::DO,
    );
    if let Err(e) = set.map_err(std::io::Error::from).and(Ok(())) {
        line.detail = format!("cannot set don't-fragment: {e}");
        return finish(line);
    }
    if let Err(e) = socket.connect(target).await {
        line.detail = format!("cannot route to {target}: {e}");
        return finish(line);
    }
    let mut sizes: Vec<u32> = SIZES.iter().copied().filter(|s| *s < mtu).collect();
    sizes.push(mtu);
    let wait = per_size(deadline);
    let msgsize = rustix::io::Errno::MSGSIZE.raw_os_error();
    for size in sizes {
        let payload = vec![0u8; size.saturating_sub(28) as usize];
        let outcome = match socket.send(&payload).await {
            Err(e) if e.raw_os_error() == Some(msgsize) => "frag-needed",
            Err(_) => "error",
            Ok(_) => {
                let mut buf = [0u8; 64];
                match tokio::time::timeout(wait, socket.recv(&mut buf)).await {
                    Err(_) => "silent",
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => "reached",
                    Ok(Err(e)) if e.raw_os_error() == Some(msgsize) => "frag-needed",
                    // Something answered the datagram itself: it got there.
                    Ok(Ok(_)) => "reached",
                    Ok(Err(_)) => "error",
                }
            }
        };
        line.steps.push(MtuStep {
            size,
            outcome: outcome.into(),
        });
        if outcome == "frag-needed" {
            line.path_mtu = rustix::net::sockopt::ip_mtu(&socket).ok();
            break;
        }
    }
    judge(&mut line);
    finish(line)
}

/// The verdict of the steps: open (every size up to the interface's MTU reached), rejected (a
/// router announced a smaller MTU: discovery works), dropped (a black hole), or no-answer (nothing
/// reached, even 1,280 bytes: nothing to say).
fn judge(line: &mut MtuLine) {
    let reached: Vec<u32> = line
        .steps
        .iter()
        .filter(|s| s.outcome == "reached")
        .map(|s| s.size)
        .collect();
    let largest = reached.iter().copied().max();
    let announced = line.steps.iter().any(|s| s.outcome == "frag-needed");
    let silent_above = line
        .steps
        .iter()
        .any(|s| s.outcome == "silent" && largest.is_some_and(|l| s.size > l));
    let iface_mtu = line.iface_mtu.unwrap_or(1500);
    (line.verdict, line.detail) = if announced {
        let pmtu = line
            .path_mtu
            .map_or("a smaller size".to_string(), |m| m.to_string());
        (
            Verdict::Rejected,
            format!(
                "a router announced path MTU {pmtu} (ICMP fragmentation-needed): discovery works"
            ),
        )
    } else if let (Some(l), true) = (largest, silent_above) {
        line.path_mtu = Some(l);
        (
            Verdict::Dropped,
            format!(
                "packets up to {l} bytes arrive, larger ones (up to the interface's {iface_mtu}) are dropped without an ICMP fragmentation-needed: a path MTU black hole"
            ),
        )
    } else if largest == Some(iface_mtu) {
        line.path_mtu = Some(iface_mtu);
        (
            Verdict::Open,
            format!("every size up to the interface's MTU ({iface_mtu}) arrives"),
        )
    } else {
        (
            Verdict::NoAnswer,
            "no size drew an answer (a firewall may drop UDP to closed ports): the path MTU is not known".into(),
        )
    };
}
