//! `ingress NAME`: starts from an Ingress and runs the flow of each backend Service (probe
//! included), as one report.

use std::process::ExitCode;

use crate::checks;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::report::{API_VERSION, ScanReport, Summary};
use crate::source::live::Live;
use crate::source::manifests;
use crate::state::SourceKind;

use super::{not_probed, print_flows, probe_watched};

/// `ingress NAME`: the flow of every Service the Ingress routes to, as one report.
pub(crate) async fn run(settings: &Settings, args: &crate::cli::IngressArgs) -> Result<ExitCode> {
    use k8s_openapi::api::networking::v1::Ingress;
    let name = args
        .name
        .strip_prefix("ing/")
        .or_else(|| args.name.strip_prefix("ingress/"))
        .or_else(|| args.name.strip_prefix("ingresses/"))
        .unwrap_or(&args.name)
        .to_string();
    crate::config::validate_name("Ingress name", &name)?;
    let backends = |ing: &Ingress| -> Vec<String> {
        let spec = ing.spec.as_ref();
        let mut names: Vec<String> = spec
            .and_then(|s| s.default_backend.as_ref())
            .and_then(|b| b.service.as_ref())
            .map(|b| b.name.clone())
            .into_iter()
            .chain(
                spec.into_iter()
                    .flat_map(|s| s.rules.iter().flatten())
                    .flat_map(|r| r.http.iter().flat_map(|h| h.paths.iter()))
                    .filter_map(|p| p.backend.service.as_ref().map(|b| b.name.clone())),
            )
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let mut items = Vec::new();
    let mut interrupted: Option<crate::interrupt::Signal> = None;
    let (source, ns) = if args.filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = live.namespace(settings);
        let ing = live
            .ingress(&ns, &name)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Ingress {ns}/{name} not found")))?;
        let opts = crate::probe::job::ProbeOptions::from_args(&args.probe);
        for svc in backends(&ing) {
            let mut state = live.service_state(&ns, &svc, None).await?;
            state.probe = match (interrupted, not_probed(&state, args.probe.no_probe)) {
                (_, Some(skip)) => skip,
                (Some(signal), None) => {
                    crate::state::Fact::Unavailable(crate::state::Unavailable::Failed(format!(
                        "not probed: interrupted by {}",
                        signal.name()
                    )))
                }
                (None, None) => {
                    let (probe, signal) = probe_watched(settings, &live, |prober| async {
                        let prober = prober;
                        crate::probe::probe_service(&prober, &state, &opts).await
                    })
                    .await;
                    interrupted = signal;
                    probe
                }
            };
            items.push(checks::diagnose(&state));
        }
        (SourceKind::Live, ns)
    } else {
        let loaded = manifests::load(&args.filenames, settings.verbose > 0)?;
        let ns = crate::source::live::offline_namespace(settings);
        let snap = manifests::classify(&loaded, &ns)?;
        let ing = snap
            .ingresses
            .iter()
            .find(|i| {
                i.metadata.namespace.as_deref() == Some(ns.as_str())
                    && i.metadata.name.as_deref() == Some(name.as_str())
            })
            .cloned()
            .ok_or_else(|| {
                Error::NotFound(format!("Ingress {ns}/{name} not found in the manifests"))
            })?;
        for svc in backends(&ing) {
            let state = snap.state_for_service(&ns, &svc, None);
            items.push(checks::diagnose(&state));
        }
        (SourceKind::Manifests, ns)
    };
    let summary = Summary::of(&items);
    let report = ScanReport {
        api_version: API_VERSION,
        kind: "ScanReport",
        source,
        scope: format!("Ingress {ns}/{name}"),
        items,
        findings: Vec::new(),
        summary,
    };
    let code = print_flows(settings, &report, args.strict, args.show_skipped)?;
    Ok(interrupted.map_or(code, |s| ExitCode::from(s.exit_code())))
}
