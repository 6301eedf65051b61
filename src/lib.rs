//! kubectl-netdoctor: why can't traffic reach my Service?
//!
//! Data flows one way (DESIGN §4): a source (live API or manifests) builds a [`state::ClusterState`];
//! [`checks`] judge it without I/O; the [`report`] picks the verdict; a [`render`]er formats it.
//!
//! The crate is a binary: its documentation is for maintainers, built with
//! `--document-private-items` (as CI does), where links to private modules resolve.
#![allow(rustdoc::private_intra_doc_links)]

/// What the benchmarks reach, and nothing else: this binary has no public API. The model, the
/// check flow, the policy engine and `reach`.
pub mod front {
    pub use crate::checks::run_all;
    pub use crate::netpol::{Namespaces, Party, PodInfo, PolicySet, Protocol, TierPolicy, Verdict};
    pub use crate::reach::{Discard, ReachInput, analyse};
    pub use crate::state::{Client, ClusterState, Fact, SourceKind};
}

mod agent;
mod bundle;
mod checks;
mod cli;
mod cni;
mod codes;
mod commands;
mod complete;
mod config;
mod connection;
mod error;
mod fix;
#[cfg(test)]
mod fixtures;
mod gateway;
mod generate;
mod ingress;
mod interrupt;
mod k8s;
mod mesh;
mod netpol;
mod path;
mod probe;
mod reach;
mod render;
mod report;
mod scan;
mod source;
mod state;
mod suppress;
mod text;
mod tls;
mod wire;

use std::io::Write;
use std::process::ExitCode;

use clap::FromArgMatches;

use crate::cli::{Cli, Command};
use crate::config::Settings;
use crate::error::{Error, Result};

/// The program: parse, run, print errors once, map to an exit code.
pub fn main() -> ExitCode {
    // kubectl's plugin completion, before any parsing: the words may be anything, flags included.
    // Arguments are bytes: read them as such (std::env::args panics on one that is not UTF-8).
    // A completion word that is not UTF-8 completes as its lossy text; clap refuses such a word
    // where it must be text (a name), with a one-line error, and keeps it as given for a path.
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.first().map(String::as_str) == Some("__complete") {
        print!("{}", complete::complete(&args[1..]));
        return ExitCode::SUCCESS;
    }
    let matches = match cli::command().try_get_matches_from(kubectl_verbosity(std::env::args_os()))
    {
        Ok(m) => m,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            // As clap prints it (styled on a terminal), with each example whole on its line.
            let styled = e.render();
            let color = std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let text = if color {
                styled.ansi().to_string()
            } else {
                styled.to_string()
            };
            print!("{}", cli::help_text(&text));
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let (command, service, offline) = what_runs(&cli.command);
    let verbose = cli.global.verbose > 0;
    let about = About {
        command,
        service,
        namespace: cli.global.namespace.clone(),
        offline,
        format: cli.global.output,
    };
    {
        let about = about.clone();
        interrupt::watchdog(move |signal| {
            let message = format!("interrupted by {}", signal.name());
            eprintln!("error: {message}");
            about.last_document(&message, signal.exit_code());
        });
    }
    match run(cli) {
        Ok(code) => code,
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let message = e.chain();
            eprintln!("error: {}", text::sanitize(&message));
            if verbose {
                for cause in e.causes() {
                    eprintln!("  caused by: {}", text::sanitize(&cause));
                }
            }
            // A machine format still prints its document (CI keeps a report file either way);
            // not when the output itself is what failed, or the format was the mistake.
            let format_refused = matches!(&e, Error::Usage(m) if m.contains("does not support -o"));
            if !matches!(e, Error::Output(_)) && !format_refused {
                about.last_document(&message, e.code());
            }
            e.exit_code()
        }
    }
}

/// kubectl's `-v 6` (its level as the next word) read as `-v=6`: our `-v` may also stand alone,
/// so clap takes its value only after `=`. Only a word of digits is joined; anything after `--`
/// is left alone.
fn kubectl_verbosity(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    let mut args = args.into_iter().peekable();
    while let Some(a) = args.next() {
        if a == "--" {
            out.push(a);
            out.extend(args);
            break;
        }
        let level = args
            .peek()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string);
        match level {
            Some(n) if a == "-v" || a == "--v" || a == "--verbose" => {
                args.next();
                let mut joined = a.clone();
                joined.push(format!("={n}"));
                out.push(joined);
            }
            _ => out.push(a),
        }
    }
    out
}

/// What a run was about, for the document a machine format prints when the run fails.
#[derive(Clone)]
struct About {
    command: &'static str,
    service: Option<String>,
    namespace: Option<String>,
    offline: bool,
    format: config::OutputFormat,
}

impl About {
    /// Prints the fatal error's document in the run's format (nothing for the table).
    fn last_document(&self, message: &str, exit_code: u8) {
        let failed = render::fatal::Failed {
            command: self.command,
            service: self.service.as_deref(),
            namespace: self.namespace.as_deref().unwrap_or("default"),
            offline: self.offline,
            message,
            exit_code,
        };
        let mut out = std::io::stdout().lock();
        let _ = render::fatal::render(&failed, self.format, &mut out).and_then(|()| out.flush());
    }
}

/// The command's name, the Service it names and whether it reads manifests: what a fatal
/// error's document says it was about.
fn what_runs(command: &Command) -> (&'static str, Option<String>, bool) {
    match command {
        Command::Svc(a) => ("svc", Some(a.name.clone()), !a.filenames.is_empty()),
        Command::Ingress(a) => ("ingress", None, !a.filenames.is_empty()),
        Command::Gateway(a) => ("gateway", None, !a.filenames.is_empty()),
        Command::Route(a) => ("route", None, !a.filenames.is_empty()),
        Command::Dns(_) => ("dns", None, false),
        Command::Scan(a) => ("scan", None, !a.filenames.is_empty()),
        Command::Path(a) => ("path", None, !a.filenames.is_empty()),
        Command::Reach(a) => ("reach", None, !a.filenames.is_empty()),
        Command::Diff(_) => ("diff", None, true),
        _ => ("other", None, false),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let settings = Settings::from_args(&cli.global)?;
    match cli.command {
        Command::Explain(args) => {
            settings.require_output("explain")?;
            commands::explain::run(&settings, &args)
        }
        Command::Path(args) => {
            settings.require_output("path")?;
            let runtime = runtime()?;
            runtime.block_on(interruptible(commands::path::run(&settings, &args)))
        }
        Command::Ingress(args) => {
            settings.require_output("ingress")?;
            runtime()?.block_on(interruptible(commands::ingress::run(&settings, &args)))
        }
        Command::Gateway(args) => {
            settings.require_output("gateway")?;
            let start = commands::gateway::Start::gateway(&args.name)?;
            let (files, flow) = (&args.filenames, &args.flow);
            runtime()?.block_on(interruptible(commands::gateway::run(
                &settings, files, flow, start,
            )))
        }
        Command::Route(args) => {
            settings.require_output("route")?;
            let start = commands::gateway::Start::route(&args.name)?;
            let (files, flow) = (&args.filenames, &args.flow);
            runtime()?.block_on(interruptible(commands::gateway::run(
                &settings, files, flow, start,
            )))
        }
        Command::Dns(args) => {
            settings.require_output("dns")?;
            runtime()?.block_on(interruptible(commands::dns::run(&settings, &args)))
        }
        Command::Scan(args) => {
            settings.require_output("scan")?;
            runtime()?.block_on(interruptible(commands::scan::run(&settings, &args)))
        }
        Command::Reach(args) => {
            settings.require_output("reach")?;
            runtime()?.block_on(interruptible(commands::reach::run(&settings, &args)))
        }
        Command::Diff(args) => {
            settings.require_output("diff")?;
            runtime()?.block_on(interruptible(commands::diff::run(&settings, &args)))
        }
        Command::Agent(args) => agent::run(&args),
        Command::Capture(args) => {
            settings.require_output("capture")?;
            runtime()?.block_on(interruptible(commands::capture::run(&settings, &args)))
        }
        Command::Cleanup(args) => {
            settings.require_output("cleanup")?;
            runtime()?.block_on(interruptible(commands::cleanup::run(&settings, &args)))
        }
        Command::Completions { shell } => {
            std::io::stdout().write_all(&generate::completions(shell))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            std::io::stdout().write_all(&generate::man()?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Svc(args) => {
            settings.require_output("svc")?;
            let name = commands::svc::service_name(&args.name)?;
            runtime()?.block_on(interruptible(commands::svc::run(&settings, &args, &name)))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            context: "cannot start the async runtime",
            source,
        })
}

/// Runs the work until it ends or a signal arrives: SIGINT exits 130, SIGTERM 143, SIGHUP 129 (a
/// closed terminal or SSH session: handled like SIGTERM, so the probe Job is deleted and a
/// machine format still written), after deleting the probe Jobs this run created.
async fn interruptible<F: std::future::Future<Output = Result<ExitCode>>>(
    work: F,
) -> Result<ExitCode> {
    #[cfg(unix)]
    {
        let _handling = interrupt::handling();
        use tokio::signal::unix::{SignalKind, signal};
        let handler = |kind| {
            signal(kind).map_err(|source| Error::Io {
                context: "cannot install the signal handlers",
                source,
            })
        };
        let mut term = handler(SignalKind::terminate())?;
        let mut int = handler(SignalKind::interrupt())?;
        let mut hup = handler(SignalKind::hangup())?;
        let mut work = std::pin::pin!(work);
        let signal = tokio::select! {
            res = &mut work => return res,
            _ = int.recv() => interrupt::Signal::Int,
            _ = term.recv() => interrupt::Signal::Term,
            _ = hup.recv() => interrupt::Signal::Hup,
        };
        // A command in a part that can end early (svc's probe) prints what it has and exits with
        // the signal's code itself; the others stop here.
        let finished = if interrupt::raise(signal) {
            tokio::time::timeout(std::time::Duration::from_secs(10), &mut work)
                .await
                .ok()
        } else {
            None
        };
        let left = probe::run::cleanup_registered(std::time::Duration::from_secs(10)).await;
        if !left.is_empty() {
            eprintln!(
                "warning: probe jobs left behind: {} (kubectl netdoctor cleanup deletes them)",
                text::sanitize(&left.join(", "))
            );
        }
        finished.unwrap_or(Err(Error::Interrupted {
            name: signal.name(),
            code: signal.exit_code(),
        }))
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            res = work => res,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted { name: "SIGINT", code: error::exit::SIGINT }),
        }
    }
}
