//! DNS lookups as a process in the pod makes them (its resolv.conf: nameservers, search list,
//! ndots), or against one given server (each CoreDNS replica) with the same search rules.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::system_conf::parse_resolv_conf;

use super::target::DnsQuery;

pub(crate) use crate::wire::{DnsLine, Verdict, WalkStep};

/// A parsed resolv.conf, shared by every DNS target.
pub(crate) struct ResolvConf {
    config: ResolverConfig,
    options: ResolverOpts,
}

impl ResolvConf {
    pub(crate) fn read(path: &std::path::Path) -> Result<ResolvConf, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (config, options) =
            parse_resolv_conf(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(ResolvConf { config, options })
    }
}

pub(crate) async fn lookup(
    query: &DnsQuery,
    conf: Result<&ResolvConf, &str>,
    deadline: Duration,
    repeat: u32,
) -> DnsLine {
    let mut line = DnsLine {
        target: format!("dns:{query}"),
        name: query.name.clone(),
        record: query.record.to_string(),
        via: query
            .server
            .map_or_else(|| "resolv.conf".to_string(), |s| s.to_string()),
        servers: Vec::new(),
        verdict: Verdict::Error,
        rcode: None,
        answered_name: None,
        answers: Vec::new(),
        latency_ms: 0.0,
        tries: 0,
        resolved: 0,
        intermittent: false,
        detail: String::new(),
        walk: Vec::new(),
        ndots: None,
    };
    let resolver = match resolver_for(query, conf, deadline) {
        Ok((resolver, servers)) => {
            line.servers = servers;
            resolver
        }
        Err(e) => {
            line.detail = e;
            return line;
        }
    };
    let mut first_failure: Option<Attempt> = None;
    let mut last_success: Option<Attempt> = None;
    let mut latency = Duration::ZERO;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        // The resolver's own timeouts multiply with attempts and search domains: the first name
        // that times out ends the lookup, and the whole of it is bounded by the deadline.
        let attempt = match tokio::time::timeout(
            deadline + Duration::from_millis(250),
            resolver.lookup(query.name.as_str(), query.record),
        )
        .await
        {
            Ok(result) => Attempt::from(result),
            Err(_) => Attempt::timeout(),
        };
        latency = latency.max(started.elapsed());
        line.tries += 1;
        if attempt.verdict == Verdict::Resolved {
            line.resolved += 1;
            last_success = Some(attempt);
        } else if first_failure.is_none() {
            first_failure = Some(attempt);
        }
    }
    line.latency_ms = (latency.as_secs_f64() * 100_000.0).round() / 100.0;
    line.intermittent = line.resolved > 0 && line.resolved < line.tries;
    let mut shown = first_failure.or(last_success).expect("at least one try");
    if shown.verdict == Verdict::Timeout {
        rejected_if_closed(&mut shown, &line.servers, deadline).await;
    }
    if let (Ok(conf), None) = (conf, query.server) {
        let (walk, ndots) = walk(query, conf, deadline).await;
        line.walk = walk;
        line.ndots = Some(ndots);
    }
    line.verdict = shown.verdict;
    line.rcode = shown.rcode;
    line.answered_name = shown.answered_name;
    line.answers = shown.answers;
    line.detail = if line.intermittent {
        format!(
            "resolved {} of {} times; the others: {}",
            line.resolved, line.tries, shown.detail
        )
    } else {
        shown.detail
    };
    line
}

/// A timeout may be a closed port: the resolver's unconnected sockets never see an ICMP port
/// unreachable, so a server where nothing listens looks like a black hole. Ask once more on a
/// connected socket; rejected when any server refuses.
async fn rejected_if_closed(shown: &mut Attempt, servers: &[SocketAddr], deadline: Duration) {
    let checks = servers
        .iter()
        .map(|s| async move { (*s, port_unreachable(*s, deadline).await) });
    let refused: Vec<String> = futures::future::join_all(checks)
        .await
        .into_iter()
        .filter(|(_, r)| *r)
        .map(|(s, _)| s.to_string())
        .collect();
    if !refused.is_empty() {
        shown.verdict = Verdict::Rejected;
        shown.detail = format!(
            "{} answered ICMP port unreachable on UDP: no DNS server listens there (not running on that address, or a REJECT rule)",
            refused.join(", ")
        );
    }
}

/// Whether `server` answers a DNS query on UDP with ICMP port unreachable: a connected socket
/// reports it as "connection refused".
async fn port_unreachable(server: SocketAddr, wait: Duration) -> bool {
    let local: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let Ok(socket) = tokio::net::UdpSocket::bind(local).await else {
        return false;
    };
    if socket.connect(server).await.is_err() {
        return false;
    }
    // A query for the root's NS records: id 0x4e44, recursion desired, one question.
    let query = [
        0x4e, 0x44, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1,
    ];
    let refused = |e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionRefused;
    // The server's kernel rate-limits ICMP errors per peer (a burst of 6, then one a second), and
    // the lookups before this one may have used the burst: ask again every 300 ms until `wait`.
    let until = tokio::time::Instant::now() + wait.max(Duration::from_millis(1200));
    let mut buf = [0u8; 512];
    while tokio::time::Instant::now() < until {
        if let Err(e) = socket.send(&query).await {
            return refused(&e);
        }
        match tokio::time::timeout(Duration::from_millis(300), socket.recv(&mut buf)).await {
            Ok(Err(e)) => return refused(&e),
            // Something answered: a server listens after all.
            Ok(Ok(_)) => return false,
            Err(_) => {}
        }
    }
    false
}

/// The names a resolver makes of `name` from the search list, in the order it asks them: the
/// name as given first when it has at least `ndots` dots, else after every search domain (the
/// resolv.conf rule glibc and musl follow); a name ending in a dot is only itself.
pub(crate) fn search_names(name: &str, search: &[String], ndots: usize) -> Vec<String> {
    if name.ends_with('.') {
        return vec![name.to_string()];
    }
    let as_is = format!("{name}.");
    let expanded = search
        .iter()
        .map(|d| format!("{name}.{}.", d.trim_end_matches('.')));
    if name.matches('.').count() >= ndots {
        std::iter::once(as_is).chain(expanded).collect()
    } else {
        expanded.chain(std::iter::once(as_is)).collect()
    }
}

/// The search-list walk of a lookup through resolv.conf: each name asked once, in order, until
/// one answers with records (as the pod's resolver does), with its code and time. A timeout ends
/// the walk: the resolver would spend its whole timeout there.
async fn walk(query: &DnsQuery, conf: &ResolvConf, deadline: Duration) -> (Vec<WalkStep>, usize) {
    let (domain, search, servers) = conf.config.clone().into_parts();
    let mut domains: Vec<String> = search.iter().map(|d| d.to_string()).collect();
    if domains.is_empty() {
        domains.extend(domain.map(|d| d.to_string()));
    }
    let ndots = conf.options.ndots;
    let mut options = conf.options.clone();
    options.timeout = deadline;
    options.attempts = 0;
    options.cache_size = 0;
    options.ndots = 0;
    let config = ResolverConfig::from_parts(None, Vec::new(), servers);
    let Ok(resolver) = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
    else {
        return (Vec::new(), ndots);
    };
    let mut steps = Vec::new();
    // At most a resolv.conf's worth of names (glibc reads 6 search domains; musl more).
    for name in search_names(&query.name, &domains, ndots)
        .into_iter()
        .take(8)
    {
        let started = Instant::now();
        let attempt = match tokio::time::timeout(
            deadline + Duration::from_millis(250),
            resolver.lookup(name.as_str(), query.record),
        )
        .await
        {
            Ok(result) => Attempt::from(result),
            Err(_) => Attempt::timeout(),
        };
        let done = matches!(attempt.verdict, Verdict::Resolved | Verdict::Timeout);
        steps.push(WalkStep {
            name,
            verdict: attempt.verdict,
            rcode: attempt.rcode,
            latency_ms: (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0,
        });
        if done {
            break;
        }
    }
    (steps, ndots)
}

fn resolver_for(
    query: &DnsQuery,
    conf: Result<&ResolvConf, &str>,
    deadline: Duration,
) -> Result<(TokioResolver, Vec<SocketAddr>), String> {
    let (config, mut options) = match (conf, query.server) {
        (Ok(conf), _) => (conf.config.clone(), conf.options.clone()),
        // An explicit server still needs no resolv.conf: the name is then asked as given.
        (Err(_), Some(_)) => (
            ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
            ResolverOpts::default(),
        ),
        (Err(e), None) => return Err(format!("cannot read the resolv.conf: {e}")),
    };
    let (domain, search, mut servers) = config.into_parts();
    if let Some(server) = query.server {
        let mut one = hickory_resolver::config::NameServerConfig::udp_and_tcp(server.ip());
        for connection in &mut one.connections {
            connection.port = server.port();
        }
        servers = vec![one];
        options.use_hosts_file = ResolveHosts::Never;
    }
    let asked: Vec<SocketAddr> = servers
        .iter()
        .flat_map(|s| s.connections.first().map(|c| SocketAddr::new(s.ip, c.port)))
        .collect();
    options.timeout = deadline;
    options.attempts = 0;
    options.cache_size = 0;
    let config = ResolverConfig::from_parts(domain, search, servers);
    let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .map_err(|e| format!("cannot build a resolver: {e}"))?;
    Ok((resolver, asked))
}

struct Attempt {
    verdict: Verdict,
    rcode: Option<String>,
    answered_name: Option<String>,
    answers: Vec<String>,
    detail: String,
}

impl Attempt {
    fn timeout() -> Attempt {
        Attempt {
            verdict: Verdict::Timeout,
            rcode: None,
            answered_name: None,
            answers: Vec::new(),
            detail: "no answer before the deadline: the server is unreachable, drops UDP/53 \
                     (DNS egress blocked?), or is overloaded"
                .into(),
        }
    }

    fn from(result: Result<hickory_resolver::lookup::Lookup, NetError>) -> Attempt {
        match result {
            Ok(lookup) => {
                let wanted = lookup.query().query_type();
                let answers: Vec<String> = lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == wanted)
                    .map(|r| r.data.to_string())
                    .collect();
                let name = lookup.query().name().to_string();
                Attempt {
                    verdict: Verdict::Resolved,
                    rcode: Some("NOERROR".into()),
                    detail: format!("{name} → {}", answers.join(", ")),
                    answered_name: Some(name),
                    answers,
                }
            }
            Err(e) => {
                let (verdict, rcode, detail) = failure(&e);
                Attempt {
                    verdict,
                    rcode: rcode.map(str::to_string),
                    answered_name: None,
                    answers: Vec::new(),
                    detail,
                }
            }
        }
    }
}

fn failure(e: &NetError) -> (Verdict, Option<&'static str>, String) {
    if e.is_nx_domain() {
        return (
            Verdict::Nxdomain,
            Some("NXDOMAIN"),
            "the name does not exist (NXDOMAIN) under any name of the search list".into(),
        );
    }
    if e.is_no_records_found() {
        return (
            Verdict::Nodata,
            Some("NOERROR"),
            "the name exists but has no record of this type".into(),
        );
    }
    match e {
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => (
            Verdict::Servfail,
            Some("SERVFAIL"),
            "the server failed (SERVFAIL): an upstream or plugin error in CoreDNS".into(),
        ),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => (
            Verdict::Refused,
            Some("REFUSED"),
            "the server refused the query (REFUSED): it does not serve this zone for us".into(),
        ),
        NetError::Dns(DnsError::ResponseCode(code)) => {
            (Verdict::Error, None, format!("response code {code}"))
        }
        NetError::Timeout => {
            let t = Attempt::timeout();
            (t.verdict, None, t.detail)
        }
        other => (Verdict::Error, None, other.to_string()),
    }
}

impl ResolvConf {
    /// The nameserver addresses, for choosing the interfaces to capture on.
    pub(crate) fn server_ips(&self) -> Vec<std::net::IpAddr> {
        self.config.name_servers().iter().map(|s| s.ip).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_list_walk_follows_ndots() {
        let search = [
            "shop.svc.cluster.local".to_string(),
            "svc.cluster.local".to_string(),
            "cluster.local".to_string(),
        ];
        // ndots:5 (Kubernetes' default): a short name goes through every search domain first.
        assert_eq!(
            search_names("cart.shop", &search, 5),
            [
                "cart.shop.shop.svc.cluster.local.",
                "cart.shop.svc.cluster.local.",
                "cart.shop.cluster.local.",
                "cart.shop.",
            ]
        );
        // Enough dots: the name as given first.
        assert_eq!(search_names("example.com", &search, 1)[0], "example.com.");
        // A trailing dot: that name alone.
        assert_eq!(search_names("example.com.", &search, 5), ["example.com."]);
    }

    #[tokio::test]
    async fn a_closed_udp_port_is_seen_on_a_connected_socket() {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        assert!(super::port_unreachable(server, std::time::Duration::from_secs(1)).await);
    }
}
