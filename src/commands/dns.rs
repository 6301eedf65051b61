//! `dns`: the cluster DNS Service's flow, plus what only DNS has.

use std::process::ExitCode;

use crate::checks;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::report::{API_VERSION, Finding, ScanReport, Summary};
use crate::source::live::Live;
use crate::state::SourceKind;

use super::{not_probed, print_flows, probe_watched};

/// `dns`: the cluster DNS Service's flow, plus what only DNS has: NodeLocal DNSCache, the cluster
/// domain, DNS pods that restart. The probe half (resolution from a client) comes with the probe.
pub(crate) async fn run(settings: &Settings, args: &crate::cli::DnsArgs) -> Result<ExitCode> {
    let (ns, name) = args.service.split_once('/').ok_or_else(|| {
        Error::Usage(format!(
            "invalid --service {:?}: use NAMESPACE/NAME",
            args.service
        ))
    })?;
    crate::config::validate_name("namespace", ns)?;
    crate::config::validate_name("Service name", name)?;
    let live = Live::connect(settings).await?;
    let mut state = live.service_state(ns, name, None).await?;
    if matches!(state.service, crate::state::Fact::Known(None)) {
        // Not there: the cluster DNS Service may go by another name (coredns, rke2-coredns…).
        state.dns_target = Some(
            live.services_labelled("k8s-app=kube-dns")
                .await
                .unwrap_or_default(),
        );
    } else {
        state.dns_target = Some(Vec::new());
    }
    // The DNS pods are this Service's own: each replica is asked directly.
    if let Some(pods) = state.pods.known() {
        state.dns_pods = crate::state::Fact::Known(pods.clone());
    }
    let mut interrupted = None;
    state.probe = match not_probed(&state, args.flow.probe.no_probe) {
        Some(skip) => skip,
        None => {
            // Resolution as a client sees it: from the user's namespace, not the DNS Service's.
            let client_ns = live.namespace(settings);
            if args.nodes.selector().is_some() {
                let (probe, per_node, signal) = super::per_node(
                    settings,
                    &live,
                    &state,
                    &args.nodes,
                    &args.flow.probe,
                    Some(client_ns),
                )
                .await;
                state.per_node = per_node;
                interrupted = signal;
                probe
            } else {
                let opts = crate::probe::job::ProbeOptions::from_args(&args.flow.probe);
                let (probe, signal) = probe_watched(settings, &live, |prober| async {
                    let prober = prober;
                    crate::probe::probe_service_from(&prober, &state, &opts, Some(client_ns)).await
                })
                .await;
                interrupted = signal;
                probe
            }
        }
    };
    let d = checks::diagnose(&state);
    let infra = live.dns_infra(ns).await;
    let mut findings: Vec<Finding> = infra
        .into_iter()
        .map(|(kind, message)| Finding {
            kind,
            // Facts (the domain, NodeLocal DNSCache) have no code; an unreadable kind does.
            code: (kind == "Unreadable").then_some("ND9002"),
            message,
            object: None,
            suppressed: None,
            at: None,
            origin: None,
        })
        .collect();
    for pod in state.pods.known().into_iter().flatten() {
        for cs in pod
            .status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten())
        {
            if cs.restart_count > 0 {
                findings.push(Finding {
                    kind: "DnsPodRestarts",
                    code: Some("ND5101"),
                    message: format!(
                        "{} container {} restarted {} times{}{} (lookups time out while it restarts)",
                        crate::k8s::describe_pod(pod),
                        cs.name,
                        cs.restart_count,
                        crate::k8s::last_exit(cs),
                        cs.state
                            .as_ref()
                            .and_then(|s| s.waiting.as_ref())
                            .and_then(|w| w.reason.as_deref())
                            .map(|r| format!(", now {r}"))
                            .unwrap_or_default()
                    ),
                    object: Some(crate::state::ObjectRef::new(
                        "Pod",
                        pod.metadata.namespace.as_deref().unwrap_or(ns),
                        crate::k8s::name_of(&pod.metadata),
                    )),
                    suppressed: None,
                    at: None,
                    origin: None,
                });
            }
        }
    }
    crate::suppress::findings(&mut findings, &|o| {
        crate::suppress::meta_in_state(&state, o).cloned()
    });
    let items = vec![d];
    let report = ScanReport {
        api_version: API_VERSION,
        kind: "ScanReport",
        cluster: crate::report::live_cluster(SourceKind::Live),
        source: SourceKind::Live,
        scope: format!("cluster DNS ({ns}/{name})"),
        summary: Summary::of(&items),
        items,
        findings,
    };
    let code = print_flows(settings, report, &args.flow.gate, args.flow.show_skipped)?;
    Ok(interrupted.map_or(code, |s| ExitCode::from(s.exit_code())))
}
