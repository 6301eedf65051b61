//! The commands, one file each, in the shape of ripgrep's top-level modes: turn the arguments into
//! settings, gather (live or from manifests), judge, render — and nothing else. What they judge
//! with lives below them (checks, the policy engine, the probe orchestrator, the renderers).

pub(crate) mod capture;
pub(crate) mod cleanup;
pub(crate) mod diff;
pub(crate) mod dns;
pub(crate) mod explain;
pub(crate) mod gateway;
pub(crate) mod ingress;
pub(crate) mod path;
pub(crate) mod reach;
pub(crate) mod scan;
pub(crate) mod svc;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::Settings;
use crate::error::Result;
use crate::report::ScanReport;
use crate::state::probe::ProbeResults;
use crate::state::{ClusterState, Fact, Unavailable};

/// Why a Service's flow gets no probe, if it does not: the user said `--no-probe`, or an API check
/// before the probe's already failed (a probe pod would only confirm it).
pub(crate) fn not_probed(state: &ClusterState, no_probe: bool) -> Option<Fact<ProbeResults>> {
    if no_probe {
        return Some(Fact::Unavailable(Unavailable::NotRequested(
            "--no-probe: API reads only",
        )));
    }
    crate::checks::api_failed_before_probe(state).then_some(Fact::Unavailable(
        Unavailable::NotRequested(crate::state::NOT_PROBED_AFTER_FAILURE),
    ))
}

/// Each Service's flow, live, probe included (unless `--no-probe`, or an API check before the
/// probe failed); after a signal the rest are not probed. Services of one namespace are read in
/// the same rounds (what they share — Ingresses, policies, routes — once).
pub(crate) async fn flows_of(
    settings: &Settings,
    live: &crate::source::live::Live,
    services: &[(String, String)],
    flow: &crate::cli::FlowArgs,
) -> Result<(
    Vec<crate::report::Diagnosis>,
    Option<crate::interrupt::Signal>,
)> {
    let opts = crate::probe::job::ProbeOptions::from_args(&flow.probe);
    let mut namespaces: Vec<&str> = services.iter().map(|(ns, _)| ns.as_str()).collect();
    namespaces.dedup();
    let mut items = Vec::new();
    let mut interrupted: Option<crate::interrupt::Signal> = None;
    for ns in namespaces {
        let names: Vec<String> = services
            .iter()
            .filter(|(n, _)| n == ns)
            .map(|(_, s)| s.clone())
            .collect();
        let snap = live.services_snapshot(ns, &names, None).await?;
        for svc in &names {
            let mut state = snap.state_for_service(ns, svc, None);
            state.probe = match (interrupted, not_probed(&state, flow.probe.no_probe)) {
                (_, Some(skip)) => skip,
                (Some(signal), None) => Fact::Unavailable(Unavailable::Stopped(format!(
                    "not probed: interrupted by {}",
                    signal.name()
                ))),
                (None, None) => {
                    // The probe asks each DNS replica (read once per run).
                    if state.dns_pods.known().is_none() {
                        state.dns_pods = live.dns_pods().await;
                    }
                    let (probe, signal) = probe_watched(settings, live, |prober| async {
                        let prober = prober;
                        crate::probe::probe_service(&prober, &state, &opts).await
                    })
                    .await;
                    interrupted = signal;
                    probe
                }
            };
            items.push(crate::checks::diagnose(&state));
        }
    }
    Ok((items, interrupted))
}

/// The probe orchestrator on a live connection.
pub(crate) fn prober(live: &crate::source::live::Live) -> crate::probe::run::Prober {
    crate::probe::run::Prober {
        client: live.client().clone(),
        request_timeout: live.request_timeout(),
        verbose: live.verbose(),
        progress: None,
    }
}

/// Probes one Service's flow with its stages on a spinner (on a terminal), unless a signal comes
/// first: then the probe's checks are skipped as interrupted, and the signal is returned so the
/// command prints what it has and exits with the signal's code.
pub(crate) async fn probe_watched<F>(
    settings: &Settings,
    live: &crate::source::live::Live,
    probe: impl FnOnce(crate::probe::run::Prober) -> F,
) -> (Fact<ProbeResults>, Option<crate::interrupt::Signal>)
where
    F: std::future::Future<Output = Fact<ProbeResults>>,
{
    let spinner = spinner_saying(settings, "probe: starting…");
    let mut prober = prober(live);
    if !spinner.is_hidden() {
        // The clock after the stage moves with every tick: "(12 s of 60 s)".
        type Clock = std::sync::Arc<std::sync::Mutex<Option<(std::time::Instant, Duration)>>>;
        let clock: Clock = Clock::default();
        let ticking = clock.clone();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg}{clock}") {
            spinner.set_style(style.with_key(
                "clock",
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    if let Some((started, limit)) = ticking.lock().ok().and_then(|c| *c) {
                        let _ = write!(
                            w,
                            " ({} s of {} s)",
                            started.elapsed().as_secs(),
                            limit.as_secs()
                        );
                    }
                },
            ));
        }
        let pb = spinner.clone();
        prober.progress = Some(std::sync::Arc::new(
            move |stage: &str, started: std::time::Instant, limit: Duration| {
                if let Ok(mut c) = clock.lock() {
                    *c = Some((started, limit));
                }
                pb.set_message(stage.to_string());
            },
        ));
    }
    let result = crate::interrupt::unless_interrupted(probe(prober)).await;
    spinner.finish_and_clear();
    let signal = match result {
        Ok(probe) => return (probe, None),
        Err(signal) => signal,
    };
    // Deleted before the report is printed, so that the report can say so.
    let left = crate::probe::run::cleanup_registered(Duration::from_secs(10)).await;
    let what = if left.is_empty() {
        "its Job is deleted".to_string()
    } else {
        format!(
            "left behind: {}; kubectl netdoctor cleanup deletes it",
            left.join(", ")
        )
    };
    let reason = format!(
        "interrupted by {} before the probe finished ({what})",
        signal.name()
    );
    (
        Fact::Unavailable(Unavailable::Stopped(reason)),
        Some(signal),
    )
}

/// A spinner on stderr with `message`, only on a terminal (hidden under -v, on a pipe, TERM=dumb).
pub(crate) fn spinner_saying(settings: &Settings, message: &str) -> indicatif::ProgressBar {
    let tty =
        std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
    if !tty || settings.verbose > 0 {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(message.to_string());
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// How to render, with the command's `--strict` and `--show-skipped` (`-v` shows skips too).
pub(crate) fn render_options(
    settings: &Settings,
    strict: bool,
    show_skipped: bool,
) -> crate::render::Options {
    crate::render::Options {
        format: settings.output,
        color: settings.color,
        strict,
        show_skipped: show_skipped || settings.verbose > 0,
    }
}

/// Renders a report of several flows (`dns`, `ingress`) on stdout and gives its exit code.
pub(crate) fn print_flows(
    settings: &Settings,
    mut report: ScanReport,
    gate: &crate::cli::GateArgs,
    show_skipped: bool,
) -> Result<ExitCode> {
    report.suppress(&gate.ignore);
    let strict = gate.warnings_fail();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    delivered(
        crate::render::flows(
            &report,
            render_options(settings, strict, show_skipped),
            &mut out,
        )
        .and_then(|()| out.flush()),
    )?;
    Ok(ExitCode::from(report.exit_code(strict)))
}

/// A reader that stopped early (`… | head -1`) ends the output, not the diagnosis: a broken pipe
/// is no error, and the exit code stays the diagnosis' own.
pub(crate) fn delivered(written: std::io::Result<()>) -> Result<()> {
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Renders a report on stdout (buffered) and gives its exit code.
pub(crate) fn print_report(
    settings: &Settings,
    report: &mut ScanReport,
    gate: &crate::cli::GateArgs,
) -> Result<ExitCode> {
    report.suppress(&gate.ignore);
    let strict = gate.warnings_fail();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    delivered(
        crate::render::scan(report, settings.output, strict, &mut out).and_then(|()| out.flush()),
    )?;
    Ok(ExitCode::from(report.exit_code(strict)))
}

/// `--all-nodes` / `--nodes`: chooses the nodes, runs a probe pinned to each, and reads the network
/// agents of the nodes whose probe saw a fault. Gives the first node's probe (the state's own),
/// the per-node facts, and the signal that interrupted it, if one did.
pub(crate) async fn per_node(
    settings: &Settings,
    live: &crate::source::live::Live,
    state: &crate::state::ClusterState,
    nodes_args: &crate::cli::NodeArgs,
    probe_args: &crate::cli::ProbeArgs,
    namespace: Option<String>,
) -> (
    Fact<ProbeResults>,
    Option<crate::state::per_node::PerNode>,
    Option<crate::interrupt::Signal>,
) {
    use crate::state::per_node::{Choice, select};
    use crate::{probe, state, text};
    let selector = nodes_args.selector().unwrap_or_default();
    let nodes = match live.probe_nodes(selector).await {
        Fact::Known(nodes) => nodes,
        Fact::Unavailable(u) => return (Fact::Unavailable(u), None, None),
    };
    let choice = Choice {
        max_nodes: usize::from(nodes_args.max_nodes),
        tolerate_taints: nodes_args.tolerate_taints,
    };
    let hosting = state::plan::endpoint_nodes(state);
    let selection = select(&nodes, &hosting, choice);
    if selection.chosen.is_empty() {
        let why = if nodes.is_empty() {
            format!("no node matches --nodes {}", text::shell_quote(selector))
        } else {
            let skipped: Vec<String> = selection
                .skipped
                .iter()
                .map(|(n, why)| format!("{n}: {why}"))
                .collect();
            format!("no node can run a probe pod ({})", skipped.join("; "))
        };
        return (
            Fact::Unavailable(Unavailable::Stopped(text::sanitize(&why))),
            None,
            None,
        );
    }
    let opts = probe::job::ProbeOptions::from_args(probe_args);
    let mut slot = None;
    let (probe, signal) = probe_watched(settings, live, |prober| {
        let slot = &mut slot;
        async move {
            let mut per = probe::probe_service_per_node(
                &prober,
                state,
                &opts,
                selection,
                nodes_args.tolerate_taints,
                namespace,
            )
            .await;
            read_agents(live, &mut per).await;
            let first = per
                .probes
                .iter()
                .find(|p| p.result.known().is_some())
                .or(per.probes.first())
                .map(|p| p.result.clone())
                .unwrap_or(Fact::Unavailable(Unavailable::NotRequested(
                    "no node probed",
                )));
            *slot = Some(per);
            first
        }
    })
    .await;
    (probe, slot, signal)
}

/// The network agents (service proxy, CNI, node-local DNS) of each node whose probe saw a fault:
/// one read of the node's pods each, at once.
async fn read_agents(live: &crate::source::live::Live, per: &mut crate::state::per_node::PerNode) {
    use crate::state;
    let reads = per.probes.iter().map(|p| async {
        let faulty = p.result.known().is_some_and(|r| r.saw_fault());
        faulty.then_some(live.pods_on_node(&p.node.name).await)
    });
    let read = futures::future::join_all(reads).await;
    for (p, pods) in per.probes.iter_mut().zip(read) {
        if let Some(pods) = pods {
            p.agents = pods.map_known(|pods| {
                pods.into_iter()
                    .filter(|pod| !state::per_node::agent_kinds(pod).is_empty())
                    .collect()
            });
        }
    }
}
