//! The commands, one file each, in the shape of ripgrep's top-level modes: turn the arguments into
//! settings, gather (live or from manifests), judge, render — and nothing else. What they judge
//! with lives below them (checks, the policy engine, the probe orchestrator, the renderers).

pub(crate) mod capture;
pub(crate) mod cleanup;
pub(crate) mod dns;
pub(crate) mod explain;
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
        Unavailable::NotRequested("not probed: an earlier check already failed"),
    ))
}

/// The probe orchestrator on a live connection.
pub(crate) fn prober(live: &crate::source::live::Live) -> crate::probe::run::Prober {
    crate::probe::run::Prober {
        client: live.client().clone(),
        request_timeout: live.request_timeout(),
        verbose: live.verbose(),
    }
}

/// A spinner on stderr with `message`, only on a terminal (hidden under -v, on a pipe, TERM=dumb).
pub(crate) fn spinner_saying(settings: &Settings, message: &'static str) -> indicatif::ProgressBar {
    let tty =
        std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
    if !tty || settings.verbose > 0 {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(message);
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
    report: &ScanReport,
    strict: bool,
    show_skipped: bool,
) -> Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    crate::render::flows(
        report,
        render_options(settings, strict, show_skipped),
        &mut out,
    )?;
    out.flush()?;
    Ok(ExitCode::from(report.exit_code(strict)))
}

/// Renders a report on stdout (buffered) and gives its exit code.
pub(crate) fn print_report(
    settings: &Settings,
    report: &ScanReport,
    strict: bool,
) -> Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    crate::render::scan(report, settings.output, strict, &mut out)?;
    out.flush()?;
    Ok(ExitCode::from(report.exit_code(strict)))
}
