//! What the agent is asked to probe, as given on its command line.
//!
//! `tcp:IP:PORT`, `udp:IP:PORT` (IPv6 in brackets: `tcp:[fd00::1]:80`) and
//! `dns:NAME[/TYPE][@SERVER[:PORT]]` with TYPE one of A, AAAA, SRV (default A). A DNS target
//! without a server resolves the way a process in the pod would: through its resolv.conf.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use hickory_resolver::proto::rr::RecordType;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Tcp(SocketAddr),
    /// `mesh:IP:PORT`: TCP to a pod behind a mesh proxy, then a few plaintext bytes to see whether
    /// the proxy turns a client without mTLS away.
    Mesh(SocketAddr),
    Udp(SocketAddr),
    Dns(DnsQuery),
    /// `http:IP:PORT[/PATH]`: a GET of PATH (default `/`).
    Http(SocketAddr, String),
    /// `mtu:IP[:PORT]`: the path MTU (UDP to PORT, 33434 by default).
    Mtu(SocketAddr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DnsQuery {
    pub name: String,
    pub record: RecordType,
    /// None: the servers of the resolv.conf, with its search list and ndots.
    pub server: Option<SocketAddr>,
}

impl Target {
    pub(crate) fn parse(arg: &str) -> Result<Target, String> {
        let (scheme, rest) = arg.split_once(':').ok_or_else(|| {
            format!("target {arg:?}: expected tcp:IP:PORT, udp:IP:PORT or dns:NAME")
        })?;
        match scheme {
            "tcp" => Ok(Target::Tcp(
                socket_addr(rest, None).map_err(|e| format!("target {arg:?}: {e}"))?,
            )),
            "mesh" => Ok(Target::Mesh(
                socket_addr(rest, None).map_err(|e| format!("target {arg:?}: {e}"))?,
            )),
            "udp" => Ok(Target::Udp(
                socket_addr(rest, None).map_err(|e| format!("target {arg:?}: {e}"))?,
            )),
            "dns" => DnsQuery::parse(rest)
                .map(Target::Dns)
                .map_err(|e| format!("target {arg:?}: {e}")),
            "http" => {
                // The address ends at the first '/' after the port (IPv6 is bracketed).
                let split = rest.find(']').map_or(0, |i| i + 1);
                let (addr, path) = match rest[split..].find('/') {
                    Some(i) => rest.split_at(split + i),
                    None => (rest, "/"),
                };
                let path_ok = path.len() <= 256
                    && path
                        .chars()
                        .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\'));
                if !path_ok {
                    return Err(format!(
                        "target {arg:?}: the path must be printable ASCII, at most 256 bytes"
                    ));
                }
                Ok(Target::Http(
                    socket_addr(addr, None).map_err(|e| format!("target {arg:?}: {e}"))?,
                    path.to_string(),
                ))
            }
            "mtu" => Ok(Target::Mtu(
                socket_addr(rest, Some(33434)).map_err(|e| format!("target {arg:?}: {e}"))?,
            )),
            other => Err(format!(
                "target {arg:?}: unknown kind {other:?} (expected tcp, mesh, udp, dns, http or mtu)"
            )),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tcp(addr) => write!(f, "tcp:{addr}"),
            Target::Mesh(addr) => write!(f, "mesh:{addr}"),
            Target::Udp(addr) => write!(f, "udp:{addr}"),
            Target::Dns(q) => write!(f, "dns:{q}"),
            Target::Http(addr, path) => write!(f, "http:{addr}{path}"),
            Target::Mtu(addr) => write!(f, "mtu:{addr}"),
        }
    }
}

impl DnsQuery {
    fn parse(spec: &str) -> Result<DnsQuery, String> {
        let (query, server) = match spec.split_once('@') {
            Some((query, server)) => (query, Some(socket_addr(server, Some(53))?)),
            None => (spec, None),
        };
        let (name, record) = match query.split_once('/') {
            Some((name, kind)) => (name, record_type(kind)?),
            None => (query, RecordType::A),
        };
        if name.is_empty() || name.len() > 253 {
            return Err("a DNS name of 1 to 253 characters is needed".into());
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(format!("{name:?} is not a DNS name"));
        }
        Ok(DnsQuery {
            name: name.to_string(),
            record,
            server,
        })
    }
}

impl fmt::Display for DnsQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if self.record != RecordType::A {
            write!(f, "/{}", self.record)?;
        }
        match self.server {
            Some(server) if server.port() == 53 => write!(f, "@{}", server.ip()),
            Some(server) => write!(f, "@{server}"),
            None => Ok(()),
        }
    }
}

fn record_type(kind: &str) -> Result<RecordType, String> {
    match kind.to_ascii_uppercase().as_str() {
        "A" => Ok(RecordType::A),
        "AAAA" => Ok(RecordType::AAAA),
        "SRV" => Ok(RecordType::SRV),
        _ => Err(format!(
            "record type {kind:?} is not supported (A, AAAA or SRV)"
        )),
    }
}

/// `IP:PORT`, `[IPv6]:PORT`, or — when a default port is given — a bare IP.
fn socket_addr(spec: &str, default_port: Option<u16>) -> Result<SocketAddr, String> {
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        if addr.port() == 0 {
            return Err("port 0 cannot be probed".into());
        }
        return Ok(addr);
    }
    if let Some(port) = default_port {
        let bare = spec.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
    }
    Err(format!(
        "{spec:?} is not IP:PORT (IPv6 as [ADDR]:PORT; names are not resolved here)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            Target::parse("tcp:10.0.0.5:8080").unwrap(),
            Target::Tcp("10.0.0.5:8080".parse().unwrap())
        );
        assert_eq!(
            Target::parse("udp:[fd00::5]:53").unwrap(),
            Target::Udp("[fd00::5]:53".parse().unwrap())
        );
        assert_eq!(
            Target::parse("dns:cart.shop.svc.cluster.local/SRV@10.96.0.10").unwrap(),
            Target::Dns(DnsQuery {
                name: "cart.shop.svc.cluster.local".into(),
                record: RecordType::SRV,
                server: Some("10.96.0.10:53".parse().unwrap()),
            })
        );
        assert_eq!(
            Target::parse("http:10.0.0.5:31000/healthz").unwrap(),
            Target::Http("10.0.0.5:31000".parse().unwrap(), "/healthz".into())
        );
        let v6 = Target::parse("http:[fd00::5]:10256").unwrap();
        assert_eq!(
            v6,
            Target::Http("[fd00::5]:10256".parse().unwrap(), "/".into())
        );
        assert_eq!(v6.to_string(), "http:[fd00::5]:10256/");
        let plain = Target::parse("dns:cart").unwrap();
        assert_eq!(plain.to_string(), "dns:cart");
        assert_eq!(
            Target::parse("dns:x/aaaa@[fd00::a]:5353")
                .unwrap()
                .to_string(),
            "dns:x/AAAA@[fd00::a]:5353"
        );
    }

    #[test]
    fn refuses_what_it_cannot_probe() {
        for bad in [
            "10.0.0.5:80",
            "tcp:10.0.0.5",
            "tcp:host.example:80",
            "tcp:10.0.0.5:0",
            "icmp:10.0.0.5:1",
            "http:10.0.0.5:80/a b",
            "http:10.0.0.5/x",
            "dns:",
            "dns:a b",
            "dns:x/MX",
            "dns:x@nameserver",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }
}
