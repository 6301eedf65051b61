//! `scan [-n NS | -A] [-l SELECTOR] [-f PATH]`: the API-level checks for every Service in scope,
//! for CI: gather the scope once, judge every Service ([`crate::scan::analyse`]), render.

use std::process::ExitCode;

use crate::cli::ScanArgs;
use crate::config::Settings;
use crate::error::Result;
use crate::scan::analyse;
use crate::source::live::Live;
use crate::source::manifests;

use super::{print_report, spinner_saying};

pub(crate) async fn run(settings: &Settings, args: &ScanArgs) -> Result<ExitCode> {
    let (snap, scope_ns) = if args.filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = live.namespace(settings);
        let scope_ns = (!args.all_namespaces).then_some(ns);
        let pb = spinner_saying(settings, "reading the cluster…");
        let snap = live
            .snapshot(scope_ns.as_deref(), args.selector.as_deref())
            .await;
        pb.finish_and_clear();
        (snap?, scope_ns)
    } else {
        let loaded = manifests::load(&args.filenames, settings.verbose > 0)?;
        let ns = crate::source::live::offline_namespace(settings);
        let snap = manifests::classify(&loaded, &ns)?;
        (snap, (!args.all_namespaces).then_some(ns))
    };
    let scope = scope_ns
        .as_deref()
        .map_or("all namespaces".to_string(), |n| format!("namespace {n}"));
    let started = std::time::Instant::now();
    let mut report = analyse(&snap, scope_ns.as_deref(), args.selector.as_deref(), &scope)?;
    let judged = started.elapsed();
    let code = print_report(settings, &mut report, &args.gate)?;
    if settings.verbose > 0 {
        eprintln!(
            "netdoctor: judged {} Services in {} ms, rendered in {} ms",
            report.summary.services,
            judged.as_millis(),
            (started.elapsed() - judged).as_millis()
        );
    }
    Ok(code)
}
