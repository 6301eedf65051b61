//! `path --from CLIENT --to TARGET`: gather, decide both sides per backend pod and port, probe from
//! the client's identity, render.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{OutputFormat, PathArgs};
use crate::config::{self, Settings};
use crate::error::{Error, Result, exit};
use crate::k8s;
use crate::path::{
    Destination, PathReport, ProbeReport, ProbeRow, build, human, parse_destination,
};
use crate::source::live::Live;
use crate::source::manifests;
use crate::state::{ClusterState, Fact};
use crate::wire::Verdict;

pub(crate) async fn run(settings: &Settings, args: &PathArgs) -> Result<ExitCode> {
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
        let ns = live.namespace(settings);
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
            crate::render::escaped::json_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Yaml => crate::render::escaped::yaml(&mut out, &report)?,
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

async fn probe(
    live: &Live,
    state: &ClusterState,
    dest: &Destination,
    args: &PathArgs,
    report: &PathReport,
) -> ProbeReport {
    let plan = match plan(state, dest, report) {
        Ok(plan) => plan,
        Err(not_probed) => return not_probed,
    };
    let opts = crate::probe::job::ProbeOptions::from_args(&args.probe);
    let prober = super::prober(live);
    let outcome = match (&state.client, args.inside) {
        (Some(crate::state::Client::Pod { pod, .. }), true) => match pod.as_ref() {
            Fact::Known(Some(pod)) => prober.run_inside(&plan, &opts, pod).await,
            _ => Fact::Unavailable(crate::state::Unavailable::Stopped(
                "the --from pod does not exist: nothing to run inside".into(),
            )),
        },
        _ => prober.run(&plan, &opts).await,
    };
    match outcome {
        Fact::Known(results) => observed(&results, report),
        Fact::Unavailable(u) => not_run(u.reason(), Vec::new()),
    }
}

/// A probe that did not run, and why.
fn not_run(reason: String, notes: Vec<String>) -> ProbeReport {
    ProbeReport {
        observed: "not run",
        reason: Some(reason),
        from: None,
        results: Vec::new(),
        notes,
    }
}

/// The probe's targets for the paths judged: the Service's backends and ClusterIP on the chosen
/// ports, or the pod; else why there is nothing to probe.
fn plan(
    state: &ClusterState,
    dest: &Destination,
    report: &PathReport,
) -> Result<crate::state::plan::ProbePlan, ProbeReport> {
    use crate::probe::{ProbePlan, Purpose};
    let labels = state
        .policies
        .known()
        .map(|p| crate::state::plan::referenced_labels(p))
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
                Purpose::NodePort { .. }
                | Purpose::Mtu { .. }
                | Purpose::HealthCheck { .. }
                | Purpose::LoadBalancer { .. }
                | Purpose::Dns { .. } => false,
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
            let (Some(ip), Some((port, protocol))) = (ip, ports.first()) else {
                let why = format!("pod {}/{name} has no IP yet", state.namespace);
                return Err(not_run(why, Vec::new()));
            };
            ProbePlan::for_pod(state, &labels, name, &ip, *port, protocol)
        }
    };
    if plan.targets.is_empty() {
        let notes = plan
            .unsupported
            .iter()
            .map(|u| format!("cannot probe {u}"))
            .collect();
        return Err(not_run("no ready backend to probe".into(), notes));
    }
    Ok(plan)
}

/// What the probe saw, set against what NetworkPolicy decided: packets have the last word.
fn observed(results: &crate::state::probe::ProbeResults, report: &PathReport) -> ProbeReport {
    let rows: Vec<ProbeRow> = results
        .records
        .iter()
        .filter_map(|r| {
            let verdict = r.verdict()?;
            let socket = r.socket();
            Some(ProbeRow {
                target: r.target().to_string(),
                verdict,
                reply: socket.and_then(|s| s.reply.clone()),
                reply_from: socket.and_then(|s| s.reply_from).map(|ip| ip.to_string()),
                evidence: socket
                    .map_or(crate::wire::Evidence::Connect, |s| s.evidence)
                    .as_str()
                    .to_string(),
            })
        })
        .collect();
    let reached = rows
        .iter()
        .all(|r| matches!(r.verdict, Verdict::Open | Verdict::NoAnswer));
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
    let copied = results.copied_labels();
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
