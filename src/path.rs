//! `path --from CLIENT --to svc/NAME[:PORT]|pod/NAME:PORT`: can this client reach that target?
//! The NetworkPolicy decision both ways (the client's egress, the target's ingress) for every
//! backend pod and port, with the deciding rules; the client's DNS egress when it is restricted.
//! Then, live, a probe from the client's identity (a Job carrying the client's policy-relevant
//! labels, or `--inside` the client pod) connects to every path: packets have the last word.
//! Exit 0 reachable, 1 denied or unreachable, 3 when undecided (implementation-defined, unknown,
//! or a probe that could not run on an allowed path).

use std::io::Write;
use std::process::ExitCode;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use crate::checks::netpol_allows::{self as np, Target};
use crate::cli::{OutputFormat, PathArgs};
use crate::config::{self, Settings};
use crate::error::{Error, Result, exit};
use crate::k8s;
use crate::netpol::{Decision, Party, PodInfo, PolicySet, Protocol, Verdict};
use crate::report::API_VERSION;
use crate::source::live::Live;
use crate::source::manifests;
use crate::state::{ClusterState, Fact, SourceKind};
use crate::text::sanitize;

/// What `--to` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A Service, optionally one of its ports (number or name).
    Service { name: String, port: Option<String> },
    /// A pod and a port (number or container port name), with the protocol.
    Pod {
        name: String,
        port: String,
        protocol: Protocol,
    },
}

pub fn parse_destination(s: &str) -> Result<Destination> {
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
struct Side {
    verdict: &'static str,
    reason: String,
    selecting: Vec<String>,
    allowed_by: Vec<String>,
}

impl From<&Decision> for Side {
    fn from(d: &Decision) -> Self {
        Side {
            verdict: d.verdict.word(),
            reason: d.reason.clone(),
            selecting: d.selecting.clone(),
            allowed_by: d.allowed_by.iter().map(ToString::to_string).collect(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_port: Option<String>,
    port: u16,
    protocol: String,
    verdict: &'static str,
    egress: Side,
    ingress: Side,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DnsRow {
    to: String,
    udp: &'static str,
    tcp: &'static str,
    selecting: Vec<String>,
}

/// The `path` document (`-o json`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PathReport {
    api_version: &'static str,
    kind: &'static str,
    source: SourceKind,
    from: String,
    to: String,
    verdict: &'static str,
    paths: Vec<Row>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns: Option<DnsRow>,
    notes: Vec<String>,
    /// What a live probe from the client's identity saw (absent offline and with --no-probe).
    #[serde(skip_serializing_if = "Option::is_none")]
    probe: Option<ProbeReport>,
}

/// The probe's part of a `path` report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProbeReport {
    /// "reachable", "unreachable", or "not run" (then `reason`).
    observed: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Where it ran and as whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    results: Vec<ProbeRow>,
    notes: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProbeRow {
    target: String,
    verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_from: Option<String>,
    evidence: String,
}

pub async fn run(settings: &Settings, args: &PathArgs) -> Result<ExitCode> {
    let client = config::client_spec(Some(&args.from), args.labels.as_deref())?
        .ok_or_else(|| Error::Usage("--from is required".into()))?;
    let dest = parse_destination(&args.to)?;
    let svc_name = match &dest {
        Destination::Service { name, .. } => name.clone(),
        Destination::Pod { .. } => String::new(),
    };
    if args.inside && !matches!(client, crate::state::ClientSpec::Pod { .. }) {
        return Err(Error::Usage("--inside needs --from pod/NAME".into()));
    }
    let mut live_conn = None;
    let state = if args.filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = settings
            .namespace
            .clone()
            .unwrap_or_else(|| live.default_namespace.clone());
        let state = match &dest {
            Destination::Service { name, .. } => {
                live.service_state(&ns, name, Some(&client)).await?
            }
            Destination::Pod { name, .. } => live.pod_state(&ns, name, Some(&client)).await?,
        };
        live_conn = Some(live);
        state
    } else {
        let loaded = manifests::load(&args.filenames, settings.verbose > 0)?;
        let ns = crate::source::live::offline_namespace(settings);
        let mut s = manifests::state_for_service(&loaded, &ns, &svc_name, Some(&client))?;
        if let Destination::Pod { name, .. } = &dest {
            let found = s.namespace_pods.known().and_then(|p| {
                p.iter()
                    .find(|p| k8s::name_of(&p.metadata) == name)
                    .cloned()
            });
            s.pods = Fact::Known(found.into_iter().collect());
        }
        s
    };
    let mut report = build(&state, &dest, &args.from, &args.to)?;
    if let (Some(live), false) = (&live_conn, args.probe.no_probe) {
        report.probe = Some(probe(live, &state, &dest, args, &report).await);
    }
    let mut out = std::io::stdout().lock();
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
        OutputFormat::Yaml => {
            let y = serde_saphyr::to_string(&report).map_err(std::io::Error::other)?;
            out.write_all(y.as_bytes())?;
        }
        _ => human(&report, &mut out)?,
    }
    out.flush()?;
    // Packets answer the question when they were seen; else the policy decision does.
    Ok(ExitCode::from(
        match (report.probe.as_ref().map(|p| p.observed), report.verdict) {
            (Some("reachable"), _) => exit::OK,
            (Some("unreachable"), _) | (_, "denied") => exit::FAILED,
            (Some(_), "allowed") => exit::INCOMPLETE,
            (_, "allowed") => exit::OK,
            _ => exit::INCOMPLETE,
        },
    ))
}

/// A live probe from the client's identity to the paths of the report.
async fn probe(
    live: &Live,
    state: &ClusterState,
    dest: &Destination,
    args: &PathArgs,
    report: &PathReport,
) -> ProbeReport {
    use crate::probe::{ProbePlan, Purpose};
    let labels = state
        .policies
        .known()
        .map(|p| crate::probe::plan::referenced_labels(p))
        .unwrap_or_default();
    let ports: Vec<(u16, String)> = report
        .paths
        .iter()
        .map(|r| (r.port, r.protocol.clone()))
        .collect();
    let plan = match dest {
        Destination::Service { port, .. } => {
            let mut plan = ProbePlan::for_service(state, &labels);
            let spec = state
                .service()
                .and_then(|s| s.spec.clone())
                .unwrap_or_default();
            let chosen: Vec<u16> = spec
                .ports
                .iter()
                .flatten()
                .filter(|sp| {
                    port.as_ref().is_none_or(|p| {
                        sp.port.to_string() == *p || sp.name.as_deref() == Some(p.as_str())
                    })
                })
                .filter_map(|sp| u16::try_from(sp.port).ok())
                .collect();
            plan.retain_connections(|purpose| match purpose {
                Purpose::Endpoint { port, protocol, .. } => {
                    ports.iter().any(|(n, p)| n == port && p == protocol)
                }
                Purpose::ClusterIp { port, .. } => chosen.contains(port),
                Purpose::Dns { .. } => false,
            });
            plan
        }
        Destination::Pod { name, .. } => {
            let ip = state
                .pods
                .known()
                .and_then(|p| p.first())
                .and_then(|p| p.status.as_ref())
                .and_then(|s| s.pod_ip.clone());
            match (ip, ports.first()) {
                (Some(ip), Some((port, protocol))) => {
                    ProbePlan::for_pod(state, &labels, name, &ip, *port, protocol)
                }
                _ => {
                    return ProbeReport {
                        observed: "not run",
                        reason: Some(format!("pod {}/{name} has no IP yet", state.namespace)),
                        from: None,
                        results: Vec::new(),
                        notes: Vec::new(),
                    };
                }
            }
        }
    };
    if plan.targets.is_empty() {
        return ProbeReport {
            observed: "not run",
            reason: Some("no ready backend to probe".into()),
            from: None,
            results: Vec::new(),
            notes: plan
                .unsupported
                .iter()
                .map(|u| format!("cannot probe {u}"))
                .collect(),
        };
    }
    let opts = crate::probe::job::ProbeOptions::from_args(&args.probe);
    let prober = live.prober();
    let outcome = match (&state.client, args.inside) {
        (Some(crate::state::Client::Pod { pod, .. }), true) => match pod.as_ref() {
            Fact::Known(Some(pod)) => prober.run_inside(&plan, &opts, pod).await,
            _ => Fact::Unavailable(crate::state::Unavailable::Failed(
                "the --from pod does not exist: nothing to run inside".into(),
            )),
        },
        _ => prober.run(&plan, &opts).await,
    };
    let results = match outcome {
        Fact::Known(r) => r,
        Fact::Unavailable(u) => {
            return ProbeReport {
                observed: "not run",
                reason: Some(u.reason()),
                from: None,
                results: Vec::new(),
                notes: Vec::new(),
            };
        }
    };
    let rows: Vec<ProbeRow> = results
        .records
        .iter()
        .map(|r| ProbeRow {
            target: r.target.clone(),
            verdict: r.verdict.clone(),
            reply: r.reply.clone(),
            reply_from: r.reply_from.map(|ip| ip.to_string()),
            evidence: r.evidence.clone().unwrap_or_else(|| "connect".into()),
        })
        .collect();
    let reached = rows
        .iter()
        .all(|r| matches!(r.verdict.as_str(), "open" | "no-answer"));
    let mut notes = results.notes.clone();
    if !reached && report.verdict == "allowed" {
        notes.push(
            "NetworkPolicy allows this path, yet the probe did not get through: a host firewall, a cloud security group, the CNI, or another policy engine"
                .into(),
        );
    }
    if reached && report.verdict == "denied" {
        notes.push(
            "NetworkPolicy denies this path, yet the probe got through: NetworkPolicy is not enforced here"
                .into(),
        );
    }
    if !results.captured() {
        notes.push("no packet capture in the probe: verdicts from connect(), weaker".into());
    }
    // The client's labels it carried (the probe's own are not news).
    let mut copied = results.labels.clone();
    copied.retain(|k, _| k != crate::probe::MANAGED_BY.0 && k != crate::probe::NAME_LABEL.0);
    let identity = if copied.is_empty() {
        String::new()
    } else {
        format!(" with labels {}", crate::text::labels(&copied))
    };
    ProbeReport {
        observed: if reached { "reachable" } else { "unreachable" },
        reason: None,
        from: Some(format!("{}/{}{identity}", results.namespace, results.pod)),
        results: rows,
        notes,
    }
}

fn not_found(what: String) -> Error {
    Error::NotFound(what)
}

fn build(state: &ClusterState, dest: &Destination, from: &str, to: &str) -> Result<PathReport> {
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
    let set = PolicySet::compile(policies).map_err(|e| Error::Manifest(e.to_string()))?;
    let client = state
        .client
        .as_ref()
        .ok_or_else(|| Error::Unreachable("the client could not be read".to_string()))?;
    let c = np::client_info(client)
        .map_err(|o| Error::Unreachable(o.summary.trim_start_matches("skipped: ").to_string()))?;
    let pods = state.pods.known().cloned().unwrap_or_default();
    let targets: Vec<Target> = match dest {
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
            match port {
                None => all,
                Some(p) => {
                    let chosen: Vec<Target> = all
                        .into_iter()
                        .filter(|t| {
                            spec.ports.iter().flatten().any(|sp| {
                                (sp.port.to_string() == *p
                                    || sp.name.as_deref() == Some(p.as_str()))
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
                    chosen
                }
            }
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
            vec![Target {
                pod: info,
                count: 1,
                port_label: format!("{number}/{protocol}"),
                service_port: None,
                port: number,
                protocol: *protocol,
            }]
        }
    };
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

/// Denied beats undecided beats allowed.
fn combine(a: Verdict, b: Verdict) -> Verdict {
    match (&a, &b) {
        (Verdict::Denied, _) => a,
        (_, Verdict::Denied) => b,
        (Verdict::Allowed, _) => b,
        _ => a,
    }
}

fn human(r: &PathReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} → {}: {}",
        sanitize(&r.from),
        sanitize(&r.to),
        r.verdict.to_uppercase()
    )?;
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["to", "port", "verdict", "client egress", "target ingress"]);
    for row in &r.paths {
        table.add_row([
            sanitize(&row.to),
            format!("{}/{}", row.port, row.protocol),
            row.verdict.to_string(),
            sanitize(&row.egress.reason),
            sanitize(&row.ingress.reason),
        ]);
    }
    writeln!(out, "{table}")?;
    if let Some(d) = &r.dns {
        writeln!(
            out,
            "DNS → {}: UDP {}, TCP {} (client egress restricted by {})",
            sanitize(&d.to),
            d.udp,
            d.tcp,
            d.selecting.join(", ")
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
            let mut table = Table::new();
            table
                .load_style(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(["target", "verdict", "reply", "from", "evidence"]);
            for row in &p.results {
                table.add_row([
                    sanitize(&row.target),
                    sanitize(&row.verdict),
                    sanitize(row.reply.as_deref().unwrap_or("-")),
                    sanitize(row.reply_from.as_deref().unwrap_or("-")),
                    row.evidence.clone(),
                ]);
            }
            writeln!(out, "{table}")?;
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
