//! `svc NAME`: the ordered flow for one Service — gather (live or offline), probe when the API
//! checks before the probe passed, judge, render.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::SvcArgs;
use crate::config::{self, Settings};
use crate::error::{Error, Result};
use crate::source::live::Live;
use crate::source::manifests;
use crate::{checks, probe, render, state, text};

use super::{not_probed, probe_watched};

/// Accepts `NAME`, `svc/NAME` and `service/NAME`, like kubectl.
pub(crate) fn service_name(arg: &str) -> Result<String> {
    let name = arg
        .strip_prefix("svc/")
        .or_else(|| arg.strip_prefix("service/"))
        .or_else(|| arg.strip_prefix("services/"))
        .unwrap_or(arg);
    config::validate_name("Service name", name)?;
    Ok(name.to_string())
}

pub(crate) async fn run(settings: &Settings, args: &SvcArgs, name: &str) -> Result<ExitCode> {
    if args.all_namespaces {
        return Err(Error::Usage(
            "svc diagnoses one Service in one namespace (-n NS); for every Service of every namespace use: kubectl netdoctor scan -A".into(),
        ));
    }
    let client = config::client_spec(args.from.as_deref(), args.labels.as_deref())?;
    if args.inside {
        if !matches!(client, Some(state::ClientSpec::Pod { .. })) {
            return Err(Error::Usage("--inside needs --from pod/NAME".into()));
        }
        if !args.filenames.is_empty() {
            return Err(Error::Usage(
                "--inside needs a live cluster (not -f)".into(),
            ));
        }
    }
    if let Some(path) = &args.bundle {
        crate::bundle::check_path(path)?;
    }
    let started = (
        std::time::Instant::now(),
        k8s_openapi::jiff::Timestamp::now().to_string(),
    );
    if args.nodes.selector().is_some() && !args.filenames.is_empty() {
        return Err(Error::Usage(
            "--all-nodes and --nodes probe a live cluster (not -f)".into(),
        ));
    }
    let mut interrupted = None;
    let state = if args.filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = live.namespace(settings);
        // On a terminal, a slow API is seen as work in progress, as scan shows it.
        let pb = super::spinner_saying(settings, "reading the cluster…");
        let state = live.service_state(&ns, name, client.as_ref()).await;
        pb.finish_and_clear();
        let mut state = state?;
        let skip = not_probed(&state, args.probe.no_probe);
        if skip.is_none() && state.dns_pods.known().is_none() {
            state.dns_pods = live.dns_pods().await;
        }
        state.probe = if let Some(skip) = skip {
            skip
        } else if args.nodes.selector().is_some() {
            let (probe, per_node, signal) =
                super::per_node(settings, &live, &state, &args.nodes, &args.probe, None).await;
            state.per_node = per_node;
            interrupted = signal;
            probe
        } else {
            let opts = probe::job::ProbeOptions::from_args(&args.probe);
            let (probe, signal) = probe_watched(settings, &live, |prober| async {
                let prober = prober;
                let mut probe = if args.inside {
                    probe::probe_service_inside(&prober, &state, &opts).await
                } else {
                    probe::probe_service(&prober, &state, &opts).await
                };
                if let (true, state::Fact::Known(results)) = (args.inspect, &mut probe) {
                    probe::inspect_refused(&prober, &state, results, &opts).await;
                }
                probe
            })
            .await;
            interrupted = signal;
            probe
        };
        state
    } else {
        let loaded = manifests::load(&args.filenames, settings.verbose > 0)?;
        let ns = crate::source::live::offline_namespace(settings);
        let state = manifests::state_for_service(&loaded, &ns, name, client.as_ref())?;
        // The Service's own duplicate is service.exists' warning; others are said here.
        let me = state::ObjectRef::new("Service", &ns, name);
        for dup in state.duplicates.iter().filter(|d| d.object != me) {
            eprintln!("warning: {}", text::sanitize(&dup.describe()));
        }
        state
    };
    let mut diagnosis = checks::diagnose(&state);
    diagnosis.suppress(&args.gate.ignore);
    let strict = args.gate.warnings_fail();
    let mut stdout = std::io::stdout().lock();
    super::delivered(
        render::diagnosis(
            &diagnosis,
            super::render_options(settings, strict, args.show_skipped),
            &mut stdout,
        )
        .and_then(|()| stdout.flush()),
    )?;
    if let Some(path) = &args.bundle {
        let meta = crate::bundle::Meta {
            command: crate::bundle::command_line(),
            started: started.1,
            elapsed_ms: started.0.elapsed().as_millis(),
        };
        let report = serde_json::to_value(&diagnosis).unwrap_or_default();
        if let Err(e) = crate::bundle::write(path, &report, &state, &meta) {
            // The report is out; the bundle is not: said, and the exit says a usage error.
            eprintln!("error: {}", text::sanitize(&e.to_string()));
            return Ok(ExitCode::from(2));
        }
    }
    // Interrupted: what the API checks found is printed, and the exit says it was cut short.
    if let Some(signal) = interrupted {
        return Ok(ExitCode::from(signal.exit_code()));
    }
    Ok(ExitCode::from(diagnosis.exit_code(strict)))
}
