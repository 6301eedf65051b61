//! The socket table of the network namespace the agent runs in (`agent --sockets`): what listens,
//! from /proc/net/{tcp,tcp6,udp,udp6}. Run as an ephemeral container in a pod, it is the pod's own
//! table — which tells "bound to 127.0.0.1 only" or "listens on 8081, not 8080" apart.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) use crate::wire::Listening;

/// TCP state LISTEN in /proc/net/tcp.
const TCP_LISTEN: &str = "0A";
/// An unconnected UDP socket (state 07, no remote address) is a listener.
const UDP_UNCONNECTED: &str = "07";

pub(crate) fn read() -> Vec<Listening> {
    let mut out = Vec::new();
    for (file, proto) in [
        ("/proc/net/tcp", "tcp"),
        ("/proc/net/tcp6", "tcp"),
        ("/proc/net/udp", "udp"),
        ("/proc/net/udp6", "udp"),
    ] {
        if let Ok(text) = std::fs::read_to_string(file) {
            out.extend(parse(&text, proto));
        }
    }
    out.sort_by(|a, b| (&a.proto, a.port, a.addr).cmp(&(&b.proto, b.port, b.addr)));
    out.dedup();
    out
}

/// Parses one /proc/net table: `sl local_address rem_address st …`, addresses as hex words in
/// host (little-endian) order, ports big-endian hex.
pub(crate) fn parse(text: &str, proto: &str) -> Vec<Listening> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, remote, state) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
            let listening = match proto {
                "tcp" => *state == TCP_LISTEN,
                _ => *state == UDP_UNCONNECTED && remote.ends_with(":0000"),
            };
            if !listening {
                return None;
            }
            let (addr, port) = local.split_once(':')?;
            Some(Listening {
                proto: proto.to_string(),
                addr: hex_addr(addr)?,
                port: u16::from_str_radix(port, 16).ok()?,
            })
        })
        .collect()
}

fn hex_addr(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_le_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_listeners_from_proc_net() {
        // 127.0.0.1:8080 listening, 0.0.0.0:22 listening, an established connection.
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0201010A:A2B4 0202010A:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
";
        let got = parse(tcp, "tcp");
        assert_eq!(
            got,
            vec![
                Listening {
                    proto: "tcp".into(),
                    addr: "127.0.0.1".parse().unwrap(),
                    port: 8080
                },
                Listening {
                    proto: "tcp".into(),
                    addr: "0.0.0.0".parse().unwrap(),
                    port: 22
                },
            ]
        );
        // ::1 port 53 over UDP, unconnected.
        let udp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5 2 0 0
";
        assert_eq!(
            parse(udp6, "udp"),
            vec![Listening {
                proto: "udp".into(),
                addr: "::1".parse().unwrap(),
                port: 53
            }]
        );
    }
}
