//! The agent ↔ orchestrator wire: the JSON lines the agent prints in the probe pod's log and the
//! orchestrator reads back (schema: `explain pods.listening`). One set of types for both ends:
//! the agent serialises a [`Line`], the orchestrator deserialises the same [`Line`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// One line of the agent's output, tagged by its `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Line {
    Tcp(SocketLine),
    Udp(SocketLine),
    Dns(DnsLine),
    /// An HTTP GET (kube-proxy's healthCheckNodePort answer).
    Http(HttpLine),
    /// A path MTU measurement.
    Mtu(MtuLine),
    /// `agent --sockets`: the listening sockets of the pod's network namespace.
    Sockets(SocketsLine),
    /// The last line of every run.
    Summary(Summary),
}

impl Line {
    /// Reads one line of a log; `None` for lines that are not JSON objects (a runtime's noise).
    pub fn parse(line: &str) -> Option<Result<Line, serde_json::Error>> {
        let line = line.trim();
        line.starts_with('{').then(|| serde_json::from_str(line))
    }

    /// The line as the agent prints it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("wire lines serialise")
    }

    /// The target a probe line is about (`tcp:IP:PORT`, `dns:NAME`…); "" for other lines.
    pub fn target(&self) -> &str {
        match self {
            Line::Tcp(l) | Line::Udp(l) => &l.target,
            Line::Dns(l) => &l.target,
            Line::Http(l) => &l.target,
            Line::Mtu(l) => &l.target,
            Line::Sockets(_) | Line::Summary(_) => "",
        }
    }

    /// A probe line's verdict.
    pub fn verdict(&self) -> Option<Verdict> {
        match self {
            Line::Tcp(l) | Line::Udp(l) => Some(l.verdict),
            Line::Dns(l) => Some(l.verdict),
            Line::Http(l) => Some(l.verdict),
            Line::Mtu(l) => Some(l.verdict),
            Line::Sockets(_) | Line::Summary(_) => None,
        }
    }

    /// A TCP or UDP line.
    pub fn socket(&self) -> Option<&SocketLine> {
        match self {
            Line::Tcp(l) | Line::Udp(l) => Some(l),
            _ => None,
        }
    }

    /// A DNS line.
    pub fn dns(&self) -> Option<&DnsLine> {
        match self {
            Line::Dns(l) => Some(l),
            _ => None,
        }
    }

    /// A path MTU line.
    pub fn mtu(&self) -> Option<&MtuLine> {
        match self {
            Line::Mtu(l) => Some(l),
            _ => None,
        }
    }

    /// An HTTP line.
    pub fn http(&self) -> Option<&HttpLine> {
        match self {
            Line::Http(l) => Some(l),
            _ => None,
        }
    }
}

/// One HTTP target's line: `GET PATH` over a plain TCP connection, the status and the start of the
/// body. Only small answers are read (kube-proxy's health check is a line of JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpLine {
    /// The target as the agent was given it: `http:IP:PORT/PATH`.
    pub target: String,
    /// The connection's verdict: open when it connected (whatever the status), else why not.
    pub verdict: Verdict,
    /// The response's status code, when one came.
    pub status: Option<u16>,
    /// The body's first bytes (at most [`HTTP_BODY_MAX`]), lossily as UTF-8.
    pub body: String,
    pub elapsed_ms: f64,
    pub detail: String,
}

/// One path MTU target's line (`mtu:IP[:PORT]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MtuLine {
    pub target: String,
    /// open: every size up to the interface's MTU arrived; rejected: a router announced a smaller
    /// path MTU (discovery works); dropped: a black hole; no-answer: nothing to measure with.
    pub verdict: Verdict,
    pub iface: Option<String>,
    pub iface_mtu: Option<u32>,
    /// The largest size that arrived, or the one a router announced.
    pub path_mtu: Option<u32>,
    pub steps: Vec<MtuStep>,
    pub elapsed_ms: f64,
    pub detail: String,
}

/// One size tried: `reached`, `frag-needed`, `silent` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MtuStep {
    pub size: u32,
    pub outcome: String,
}

/// How much of an HTTP answer the agent reads, headers included.
pub(crate) const HTTP_READ_MAX: usize = 8192;
/// How much of an HTTP body a line carries.
pub(crate) const HTTP_BODY_MAX: usize = 1024;

/// What a probe of a target concluded: a TCP connect or UDP datagram from its packets (or its
/// socket's error), a DNS lookup from its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// TCP: SYN-ACK. UDP: a reply came back.
    Open,
    /// TCP RST: nothing listens (or it listens on 127.0.0.1 only), or a reject rule with
    /// tcp-reset. DNS: the server answered REFUSED.
    Refused,
    /// Our SYNs went out and nothing came back before the deadline: a policy or firewall drop.
    Dropped,
    /// ICMP port-unreachable or administratively prohibited: a firewall's REJECT, or — from a
    /// ClusterIP — the service proxy's "no endpoints" rule. DNS: the server's port is closed.
    Rejected,
    /// ICMP host/net-unreachable, or no route from here: CNI or routing.
    Unreachable,
    /// UDP: ICMP port unreachable (nothing bound to the port).
    Closed,
    /// UDP: silence. Inconclusive: many UDP services answer nothing to an unknown datagram.
    NoAnswer,
    /// DNS: an answer with records.
    Resolved,
    /// DNS: the name does not exist.
    Nxdomain,
    /// DNS: the name exists without records of the type.
    Nodata,
    /// DNS: the server failed.
    Servfail,
    /// DNS: no answer in time.
    Timeout,
    /// The probe itself could not run (e.g. no socket).
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Open => "open",
            Verdict::Refused => "refused",
            Verdict::Dropped => "dropped",
            Verdict::Rejected => "rejected",
            Verdict::Unreachable => "unreachable",
            Verdict::Closed => "closed",
            Verdict::NoAnswer => "no-answer",
            Verdict::Resolved => "resolved",
            Verdict::Nxdomain => "nxdomain",
            Verdict::Nodata => "nodata",
            Verdict::Servfail => "servfail",
            Verdict::Timeout => "timeout",
            Verdict::Error => "error",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a verdict comes from: the packets themselves, or only the socket's error (weaker: a
/// reject and an RST look alike, and a drop is only "no answer in time").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    Packets,
    Connect,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Packets => "packets",
            Evidence::Connect => "connect",
        }
    }
}

/// One TCP or UDP target's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketLine {
    /// The target as the agent was given it: `tcp:IP:PORT`, `udp:IP:PORT`.
    pub target: String,
    pub verdict: Verdict,
    pub evidence: Evidence,
    /// The local address and port the probe used (what its packets are matched by).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<SocketAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iface: Option<String>,
    /// Packets we sent (SYNs for TCP, datagrams for UDP) while the probe ran.
    pub sent: u32,
    /// SYN retransmits among them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retransmits: u32,
    /// What came back: "syn-ack", "rst", "udp", an ICMP error's name; null for nothing.
    pub reply: Option<String>,
    /// Who answered: the pod behind a DNAT, a router for an ICMP error.
    pub reply_from: Option<IpAddr>,
    /// From the first packet sent to the answer, or to the socket's outcome without capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// What the socket said: "connected", "refused", "timeout", "host unreachable", …
    pub socket: String,
    pub elapsed_ms: f64,
    pub detail: String,
    /// `mesh:IP:PORT` targets (a pod behind a mesh proxy): what the peer did with a few plaintext
    /// bytes after accepting the connection. A mesh proxy that requires mTLS (or denies the
    /// client) accepts the handshake itself, then resets or closes; absent for plain `tcp:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_accept: Option<AfterAccept>,
}

/// What a peer did after accepting a `mesh:` probe's connection and reading its plaintext bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterAccept {
    /// It reset the connection: a proxy that requires mTLS, denies the client, or found nothing
    /// listening behind it.
    Reset,
    /// It closed the connection without a byte.
    Closed,
    /// It sent bytes back: the plaintext reached something that speaks.
    Answered,
    /// It kept the connection open, silent, until the probe gave up waiting.
    Held,
}

impl AfterAccept {
    pub fn as_str(self) -> &'static str {
        match self {
            AfterAccept::Reset => "reset",
            AfterAccept::Closed => "closed",
            AfterAccept::Answered => "answered",
            AfterAccept::Held => "held",
        }
    }

    /// The peer turned the connection away after accepting it.
    pub fn turned_away(self) -> bool {
        matches!(self, AfterAccept::Reset | AfterAccept::Closed)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One DNS target's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsLine {
    /// The target as the agent was given it: `dns:NAME[:TYPE][@SERVER]`.
    pub target: String,
    pub name: String,
    #[serde(rename = "type")]
    pub record: String,
    /// "resolv.conf" or the server asked.
    pub via: String,
    /// The nameservers asked.
    pub servers: Vec<SocketAddr>,
    /// resolved | nxdomain | nodata | servfail | refused | timeout | rejected | error
    pub verdict: Verdict,
    /// The response code when a server answered; null for a timeout or a transport error.
    pub rcode: Option<String>,
    /// The name that answered after the search list (e.g. cart.shop.svc.cluster.local.).
    pub answered_name: Option<String>,
    pub answers: Vec<String>,
    pub latency_ms: f64,
    /// How many times the lookup ran (--repeat) and how many resolved.
    pub tries: u32,
    pub resolved: u32,
    /// Some tries resolved and some did not: the timeouts of a flapping replica or conntrack race.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intermittent: bool,
    pub detail: String,
    /// Through resolv.conf: the names the search list makes of it, in the order the resolver asks
    /// them (`ndots` decides whether the name as given goes first or last), each asked once until
    /// one answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub walk: Vec<WalkStep>,
    /// The resolv.conf's `ndots` (with a walk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndots: Option<usize>,
}

/// One name of a search-list walk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkStep {
    /// The fully qualified name asked (`cart.shop.svc.cluster.local.`).
    pub name: String,
    pub verdict: Verdict,
    pub rcode: Option<String>,
    pub latency_ms: f64,
}

/// `agent --sockets`: what listens in the pod's network namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketsLine {
    pub listening: Vec<Listening>,
}

/// A listening socket of a pod's network namespace (`agent --sockets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    /// "tcp" or "udp".
    pub proto: String,
    pub addr: IpAddr,
    pub port: u16,
}

/// The agent's last line: what it ran as, and whether it could capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub agent: String,
    pub targets: usize,
    pub verdicts: BTreeMap<Verdict, usize>,
    pub elapsed_ms: f64,
    pub uid: Option<u32>,
    pub euid: Option<u32>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    pub capture: CaptureSummary,
}

/// Whether verdicts could use packets, and what was captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureSummary {
    /// Whether verdicts could use packets (else they come from socket errors only).
    pub enabled: bool,
    /// Why capture is off: "--no-capture", or the error opening it (no CAP_NET_RAW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub interfaces: Vec<String>,
    #[serde(default)]
    pub packets: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcap: Option<PcapSummary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// A capture written to a pcap file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcapSummary {
    pub path: String,
    pub packets: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    // What the agent prints is what the orchestrator reads, variant for variant.
    #[test]
    fn every_line_reads_back_as_printed() {
        let lines = [
            r#"{"kind":"tcp","target":"tcp:10.0.0.9:8080","verdict":"dropped","evidence":"packets","local":"10.0.0.5:40000","iface":"eth0","sent":2,"retransmits":1,"reply":null,"reply_from":null,"socket":"timeout","elapsed_ms":1500.2,"detail":"2 SYN(s)"}"#,
            r#"{"kind":"udp","target":"udp:10.0.0.9:53","verdict":"no-answer","evidence":"connect","sent":1,"reply":null,"reply_from":null,"socket":"timeout","elapsed_ms":1000.0,"detail":"silence"}"#,
            r#"{"kind":"dns","target":"dns:web.shop","name":"web.shop","type":"A","via":"resolv.conf","servers":["10.96.0.10:53"],"verdict":"nxdomain","rcode":"NXDOMAIN","answered_name":null,"answers":[],"latency_ms":1.2,"tries":3,"resolved":0,"detail":"x"}"#,
            r#"{"kind":"sockets","listening":[{"proto":"tcp","addr":"127.0.0.1","port":8080}]}"#,
            r#"{"kind":"summary","agent":"kubectl-netdoctor 0.1.0","targets":2,"verdicts":{"open":1,"dropped":1},"elapsed_ms":3.5,"uid":0,"euid":0,"capabilities":["CAP_NET_RAW"],"capture":{"enabled":true,"interfaces":["eth0"],"packets":4}}"#,
        ];
        for text in lines {
            let line = Line::parse(text).expect("a JSON line").expect("reads");
            assert_eq!(line.to_json(), text);
        }
        assert!(Line::parse("runtime noise").is_none());
        // A verdict the wire does not define is an error, not a string passed along.
        let odd = lines[0].replace("\"dropped\"", "\"maybe\"");
        assert!(Line::parse(&odd).unwrap().is_err());
    }
}
