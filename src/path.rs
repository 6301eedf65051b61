//! `path --from CLIENT --to svc/NAME[:PORT]|pod/NAME:PORT`: can this client reach that target?
//! The NetworkPolicy decision both ways (the client's egress, the target's ingress) for every
//! backend pod and port, with the deciding rules; the client's DNS egress when it is restricted.
//! Then, live, a probe from the client's identity (a Job carrying the client's policy-relevant
//! labels, or `--inside` the client pod) connects to every path: packets have the last word.
//! Exit 0 reachable, 1 denied or unreachable, 3 when undecided (implementation-defined, unknown,
//! or a probe that could not run on an allowed path).

use std::io::Write;

use serde::Serialize;

use crate::checks::netpol_allows::{self as np, Target};
use crate::config::{self};
use crate::error::{Error, Result};
use crate::k8s;
use crate::netpol::{Decision, Party, PodInfo, Protocol, Verdict};
use crate::report::API_VERSION;
use crate::state::{ClusterState, SourceKind};
use crate::text::sanitize;

/// What `--to` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Destination {
    /// A Service, optionally one of its ports (number or name).
    Service { name: String, port: Option<String> },
    /// A pod and a port (number or container port name), with the protocol.
    Pod {
        name: String,
        port: String,
        protocol: Protocol,
    },
}

pub(crate) fn parse_destination(s: &str) -> Result<Destination> {
    let bad = || {
        Error::Usage(format!(
            "invalid --to {s:?}: use svc/NAME[:PORT] or pod/NAME:PORT[/UDP]"
        ))
    };
    let (kind, rest) = s.split_once('/').ok_or_else(bad)?;
    match kind {
        "svc" | "service" | "services" => {
            let (name, port) = match rest.split_once(':') {
                Some((n, p)) if !p.is_empty() => (n, Some(p.to_string())),
                Some(_) => return Err(bad()),
                None => (rest, None),
            };
            config::validate_name("Service name", name)?;
            Ok(Destination::Service {
                name: name.to_string(),
                port,
            })
        }
        "pod" | "pods" | "po" => {
            let (name, port) = rest.split_once(':').ok_or_else(bad)?;
            config::validate_name("pod name", name)?;
            let (port, protocol) = match port.split_once('/') {
                Some((p, proto)) => (
                    p,
                    Protocol::parse(Some(&proto.to_uppercase()))
                        .map_err(|e| Error::Usage(format!("--to: {e}")))?,
                ),
                None => (port, Protocol::Tcp),
            };
            if port.is_empty() {
                return Err(bad());
            }
            Ok(Destination::Pod {
                name: name.to_string(),
                port: port.to_string(),
                protocol,
            })
        }
        _ => Err(bad()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Side {
    pub(crate) verdict: &'static str,
    pub(crate) reason: String,
    pub(crate) selecting: Vec<String>,
    pub(crate) allowed_by: Vec<String>,
    /// The cluster-wide rule that decided this side (Allow/Accept, Deny) or passed it on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cluster_rule: Option<ClusterRule>,
}

/// A cluster-wide policy rule, as `path -o json` names it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClusterRule {
    /// `Admin` or `Baseline`.
    pub(crate) tier: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) policy: String,
    pub(crate) rule: String,
    /// As the kind spells it: `Allow`, `Accept`, `Deny`, `Pass`.
    pub(crate) action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) priority: Option<i64>,
}

impl From<&Decision> for Side {
    fn from(d: &Decision) -> Self {
        Side {
            verdict: d.verdict.word(),
            reason: d.reason.clone(),
            selecting: d.selecting.clone(),
            allowed_by: d.allowed_by.iter().map(ToString::to_string).collect(),
            cluster_rule: d.cluster_rule.as_ref().map(|r| ClusterRule {
                tier: match r.tier {
                    crate::netpol::Tier::Admin => "Admin",
                    crate::netpol::Tier::Baseline => "Baseline",
                },
                kind: r.kind,
                policy: r.policy.clone(),
                rule: r.rule.clone(),
                action: r.action_word,
                priority: r
                    .priority
                    .filter(|_| r.kind != "BaselineAdminNetworkPolicy"),
            }),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Row {
    pub(crate) to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) service_port: Option<String>,
    pub(crate) port: u16,
    pub(crate) protocol: String,
    pub(crate) verdict: &'static str,
    pub(crate) egress: Side,
    pub(crate) ingress: Side,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DnsRow {
    pub(crate) to: String,
    pub(crate) udp: &'static str,
    pub(crate) tcp: &'static str,
    pub(crate) selecting: Vec<String>,
}

/// The `path` document (`-o json`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PathReport {
    pub(crate) api_version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) source: SourceKind,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) verdict: &'static str,
    pub(crate) paths: Vec<Row>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dns: Option<DnsRow>,
    pub(crate) notes: Vec<String>,
    /// What a live probe from the client's identity saw (absent offline and with --no-probe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) probe: Option<ProbeReport>,
}

/// The probe's part of a `path` report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProbeReport {
    /// "reachable", "unreachable", or "not run" (then `reason`).
    pub(crate) observed: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// Where it ran and as whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
    pub(crate) results: Vec<ProbeRow>,
    pub(crate) notes: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProbeRow {
    pub(crate) target: String,
    pub(crate) verdict: crate::wire::Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reply: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reply_from: Option<String>,
    pub(crate) evidence: String,
}

pub(crate) fn not_found(what: String) -> Error {
    Error::NotFound(what)
}

pub(crate) fn build(
    state: &ClusterState,
    dest: &Destination,
    from: &str,
    to: &str,
) -> Result<PathReport> {
    if let Destination::Service { name, .. } = dest {
        if state.service().is_none() {
            return Err(match state.service.as_result() {
                Err(u) => Error::Unreachable(format!(
                    "cannot read Service {}/{name}: {}",
                    state.namespace,
                    u.reason()
                )),
                Ok(_) => not_found(format!("Service {}/{name} not found", state.namespace)),
            });
        }
    }
    let policies = match state.policies.as_result() {
        Ok(p) => p,
        Err(u) => return Err(Error::Unreachable(format!("cannot decide: {}", u.reason()))),
    };
    let set = crate::checks::netpol_allows::policy_set(state, policies)
        .map_err(|e| Error::Manifest(e.to_string()))?;
    let client = state
        .client
        .as_ref()
        .ok_or_else(|| Error::Unreachable("the client could not be read".to_string()))?;
    let c = np::client_info(client)
        .map_err(|o| Error::Unreachable(o.summary.trim_start_matches("skipped: ").to_string()))?;
    let targets = targets(state, dest)?;
    let (nss, note) = np::namespaces(state);
    let src = Party::Pod(c.clone());
    let mut rows = Vec::new();
    let mut worst = Verdict::Allowed;
    for t in &targets {
        let d = set.decide(&nss, &src, &Party::Pod(t.pod.clone()), t.port, t.protocol);
        let v = d.verdict();
        worst = combine(worst, v.clone());
        rows.push(Row {
            to: np::who(t),
            service_port: matches!(dest, Destination::Service { .. }).then(|| t.port_label.clone()),
            port: t.port,
            protocol: t.protocol.to_string(),
            verdict: v.word(),
            egress: (&d.egress).into(),
            ingress: (&d.ingress).into(),
        });
    }
    let dns = np::dns_findings(state, &set, &nss, &c);
    let dns_row = (!dns.selecting.is_empty()).then(|| {
        if dns.denied_udp {
            worst = combine(worst.clone(), Verdict::Denied);
        }
        DnsRow {
            to: dns.target.clone(),
            udp: if dns.denied_udp { "denied" } else { "allowed" },
            tcp: if dns.denied_tcp { "denied" } else { "allowed" },
            selecting: dns.selecting.clone(),
        }
    });
    Ok(PathReport {
        api_version: API_VERSION,
        kind: "PathReport",
        source: state.source,
        from: from.to_string(),
        to: to.to_string(),
        verdict: worst.word(),
        paths: rows,
        dns: dns_row,
        notes: note.into_iter().map(|e| e.message).collect(),
        probe: None,
    })
}

/// The destinations judged: the Service's pods on its (chosen) ports, or the pod on its port.
fn targets(state: &ClusterState, dest: &Destination) -> Result<Vec<Target>> {
    let pods = state.pods.known().cloned().unwrap_or_default();
    match dest {
        Destination::Service { name, port } => {
            let svc = state.service().ok_or_else(|| {
                not_found(format!("Service {}/{name} not found", state.namespace))
            })?;
            let spec = svc.spec.clone().unwrap_or_default();
            if pods.is_empty() {
                return Err(not_found(format!(
                    "Service {}/{name} selects no pods (kubectl netdoctor svc {} -n {} tells why)",
                    state.namespace,
                    crate::text::shell_quote(name),
                    crate::text::shell_quote(&state.namespace)
                )));
            }
            let all = np::targets(&spec, &pods);
            let Some(p) = port else {
                return Ok(all);
            };
            let chosen: Vec<Target> = all
                .into_iter()
                .filter(|t| {
                    spec.ports.iter().flatten().any(|sp| {
                        (sp.port.to_string() == *p || sp.name.as_deref() == Some(p.as_str()))
                            && k8s::describe_service_port(sp) == t.port_label
                    })
                })
                .collect();
            if chosen.is_empty() {
                return Err(Error::Usage(format!(
                    "Service {}/{name} has no port {p} that resolves on its pods",
                    state.namespace
                )));
            }
            Ok(chosen)
        }
        Destination::Pod {
            name,
            port,
            protocol,
        } => {
            let pod = pods
                .first()
                .ok_or_else(|| not_found(format!("pod {}/{name} not found", state.namespace)))?;
            let info = PodInfo::from_pod(pod);
            let number = match port.parse::<u16>() {
                Ok(n) => n,
                Err(_) => info
                    .ports
                    .iter()
                    .find(|(n, _, p)| n == port && p == protocol)
                    .map(|(_, n, _)| *n)
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "pod {}/{name} declares no {protocol} port named {port}",
                            state.namespace
                        ))
                    })?,
            };
            Ok(vec![Target {
                pod: info,
                count: 1,
                port_label: format!("{number}/{protocol}"),
                service_port: None,
                port: number,
                protocol: *protocol,
            }])
        }
    }
}

/// Denied beats undecided beats allowed.
pub(crate) fn combine(a: Verdict, b: Verdict) -> Verdict {
    match (&a, &b) {
        (Verdict::Denied, _) => a,
        (_, Verdict::Denied) => b,
        (Verdict::Allowed, _) => b,
        _ => a,
    }
}

pub(crate) fn human(r: &PathReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} → {}: {}",
        sanitize(&r.from),
        sanitize(&r.to),
        r.verdict.to_uppercase()
    )?;
    let mut table = crate::render::grid::Grid::new([
        "to",
        "port",
        "verdict",
        "client egress",
        "target ingress",
    ]);
    for row in &r.paths {
        table.row([
            sanitize(&row.to),
            format!("{}/{}", row.port, row.protocol),
            row.verdict.to_string(),
            sanitize(&row.egress.reason),
            sanitize(&row.ingress.reason),
        ]);
    }
    writeln!(out, "{}", table.render(crate::render::width()))?;
    if let Some(d) = &r.dns {
        writeln!(
            out,
            "DNS → {}: UDP {}, TCP {} (client egress restricted by {})",
            sanitize(&d.to),
            d.udp,
            d.tcp,
            crate::text::some_of(&d.selecting, ", ")
        )?;
    }
    for n in &r.notes {
        writeln!(out, "note: {}", sanitize(n))?;
    }
    if let Some(p) = &r.probe {
        match &p.from {
            Some(from) => writeln!(
                out,
                "probe from {}: {}",
                sanitize(from),
                p.observed.to_uppercase()
            )?,
            None => writeln!(
                out,
                "probe: not run ({})",
                sanitize(p.reason.as_deref().unwrap_or(""))
            )?,
        }
        if !p.results.is_empty() {
            let mut table =
                crate::render::grid::Grid::new(["target", "verdict", "reply", "from", "evidence"]);
            for row in &p.results {
                table.row([
                    sanitize(&row.target),
                    sanitize(row.verdict.as_str()),
                    sanitize(row.reply.as_deref().unwrap_or("-")),
                    sanitize(row.reply_from.as_deref().unwrap_or("-")),
                    row.evidence.clone(),
                ]);
            }
            writeln!(out, "{}", table.render(crate::render::width()))?;
        }
        for n in &p.notes {
            writeln!(out, "note: {}", sanitize(n))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(
            parse_destination("svc/cart").unwrap(),
            Destination::Service {
                name: "cart".into(),
                port: None
            }
        );
        assert_eq!(
            parse_destination("svc/cart:http").unwrap(),
            Destination::Service {
                name: "cart".into(),
                port: Some("http".into())
            }
        );
        assert_eq!(
            parse_destination("pod/db-0:5432").unwrap(),
            Destination::Pod {
                name: "db-0".into(),
                port: "5432".into(),
                protocol: Protocol::Tcp
            }
        );
        assert_eq!(
            parse_destination("pod/dns-1:53/udp").unwrap(),
            Destination::Pod {
                name: "dns-1".into(),
                port: "53".into(),
                protocol: Protocol::Udp
            }
        );
        assert!(parse_destination("pod/db-0").is_err());
        assert!(parse_destination("deploy/x").is_err());
        assert!(parse_destination("svc/x:").is_err());
    }
}
