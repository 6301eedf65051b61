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

use k8s_openapi::api::networking::v1::Ingress;

use super::{flows_of, print_flows};
use crate::interrupt::Signal;
use crate::report::Diagnosis;

/// `ingress NAME`: the flow of every Service the Ingress routes to, as one report.
pub(crate) async fn run(settings: &Settings, args: &crate::cli::IngressArgs) -> Result<ExitCode> {
    let name = args
        .name
        .strip_prefix("ing/")
        .or_else(|| args.name.strip_prefix("ingress/"))
        .or_else(|| args.name.strip_prefix("ingresses/"))
        .unwrap_or(&args.name)
        .to_string();
    crate::config::validate_name("Ingress name", &name)?;
    let (source, ns, items, interrupted) = if args.filenames.is_empty() {
        let (ns, items, interrupted) = live(settings, args, &name).await?;
        (SourceKind::Live, ns, items, interrupted)
    } else {
        let (ns, items) = offline(settings, args, &name)?;
        (SourceKind::Manifests, ns, items, None)
    };
    let summary = Summary::of(&items);
    let report = ScanReport {
        api_version: API_VERSION,
        kind: "ScanReport",
        cluster: crate::report::live_cluster(source),
        source,
        scope: format!("Ingress {ns}/{name}"),
        items,
        findings: Vec::new(),
        summary,
    };
    let code = print_flows(settings, report, &args.flow.gate, args.flow.show_skipped)?;
    Ok(interrupted.map_or(code, |s| ExitCode::from(s.exit_code())))
}

/// Each backend Service once, in name order.
fn backends(ing: &Ingress) -> Vec<String> {
    let mut names: Vec<String> = crate::ingress::backends(ing)
        .into_iter()
        .map(|b| b.name.clone())
        .collect();
    names.sort();
    names
}

/// Live: each backend's flow, probe included; after a signal the rest are not probed.
async fn live(
    settings: &Settings,
    args: &crate::cli::IngressArgs,
    name: &str,
) -> Result<(String, Vec<Diagnosis>, Option<Signal>)> {
    let live = Live::connect(settings).await?;
    let ns = live.namespace(settings);
    let Some(ing) = live.ingress(&ns, name).await? else {
        let hint = live
            .did_you_mean::<k8s_openapi::api::networking::v1::Ingress>(&ns, name)
            .await;
        return Err(Error::NotFound(format!(
            "Ingress {ns}/{name} not found{hint}"
        )));
    };
    let names: Vec<(String, String)> = backends(&ing)
        .into_iter()
        .map(|svc| (ns.clone(), svc))
        .collect();
    let (items, interrupted) = flows_of(settings, &live, &names, &args.flow).await?;
    Ok((ns, items, interrupted))
}

/// Offline: each backend's flow from the manifests.
fn offline(
    settings: &Settings,
    args: &crate::cli::IngressArgs,
    name: &str,
) -> Result<(String, Vec<Diagnosis>)> {
    let loaded = manifests::load(&args.filenames, settings.verbose > 0)?;
    let ns = crate::source::live::offline_namespace(settings);
    let snap = manifests::classify(&loaded, &ns)?;
    let ing = snap
        .ingresses
        .iter()
        .find(|i| {
            i.metadata.namespace.as_deref() == Some(ns.as_str())
                && i.metadata.name.as_deref() == Some(name)
        })
        .ok_or_else(|| {
            let names: Vec<String> = snap
                .ingresses
                .iter()
                .filter(|i| i.metadata.namespace.as_deref() == Some(ns.as_str()))
                .filter_map(|i| i.metadata.name.clone())
                .collect();
            let near = crate::text::near_names(name, &names);
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", near.join(" or "))
            };
            Error::NotFound(format!(
                "Ingress {ns}/{name} not found in the manifests{hint}"
            ))
        })?;
    let items = backends(ing)
        .iter()
        .map(|svc| checks::diagnose(&snap.state_for_service(&ns, svc, None)))
        .collect();
    Ok((ns, items))
}
