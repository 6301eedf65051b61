//! The in-pod probe program (`kubectl-netdoctor agent`, hidden; DESIGN §4 `agent`).
//!
//! It connects to each target while capturing packets, and prints one JSON line per target, then a
//! summary line with its real uid and capabilities (the orchestrator's capture ladder reads them).
//! It exits 0 whenever it ran, whatever it found: verdicts are data, not failures. The schema of
//! the lines is documented in checks/pods.listening.md.

pub(crate) mod capture;
pub(crate) mod dns;
pub(crate) mod host;
pub(crate) mod mtu;
pub(crate) mod packet;
pub(crate) mod pcap;
pub(crate) mod probe;
pub(crate) mod serve;
pub(crate) mod sockets;
pub(crate) mod target;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::cli::AgentArgs;
use crate::error::{Error, Result};
use capture::{Capture, PcapSink};
use host::Identity;
use packet::LinkType;
use pcap::{Filter, PcapWriter};
use target::Target;

use crate::wire::{CaptureSummary, Line, PcapSummary, SocketsLine, Summary, Verdict};

pub(crate) fn run(args: &AgentArgs) -> Result<ExitCode> {
    if !args.serve.is_empty() {
        // The test lab's stand-in application: runs until killed (no deadline).
        return serve::run(&args.serve);
    }
    let targets = args
        .targets
        .iter()
        .map(|t| Target::parse(t))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::Usage)?;
    if args.sockets {
        // The socket table of this network namespace, then the summary.
        let line = Line::Sockets(SocketsLine {
            listening: sockets::read(),
        });
        emit(&line.to_json(), false)?;
        let id = Identity::current();
        let summary = Line::Summary(Summary {
            agent: agent_version(),
            targets: 0,
            verdicts: BTreeMap::new(),
            elapsed_ms: 0.0,
            uid: id.uid,
            euid: id.euid,
            capabilities: id.capabilities,
            capture: CaptureSummary {
                enabled: false,
                reason: Some("--sockets".into()),
                interfaces: Vec::new(),
                packets: 0,
                pcap: None,
                errors: Vec::new(),
            },
        });
        emit(&summary.to_json(), false)?;
        return Ok(ExitCode::SUCCESS);
    }
    if targets.is_empty() && args.pcap.is_none() {
        return Err(Error::Usage(
            "agent: give targets (tcp:IP:PORT, udp:IP:PORT, dns:NAME) or --pcap FILE to capture"
                .into(),
        ));
    }
    let filter = match &args.filter {
        Some(expr) => Filter::parse(expr).map_err(Error::Usage)?,
        None => Filter::default(),
    };
    if args.filter.is_some() && args.pcap.is_none() {
        return Err(Error::Usage(
            "--filter applies to --pcap: give --pcap FILE|-".into(),
        ));
    }
    watchdog(args.hard_deadline);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args, targets, filter))
}

/// Whatever happens, the process ends by the hard deadline: as an ephemeral container it cannot
/// be removed, and as a Job it must not outlive its activeDeadlineSeconds silently.
fn watchdog(deadline: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        eprintln!(
            "agent: hard deadline of {} s reached, exiting",
            deadline.as_secs()
        );
        std::process::exit(3);
    });
}

async fn run_async(args: &AgentArgs, targets: Vec<Target>, filter: Filter) -> Result<ExitCode> {
    let started = Instant::now();
    let identity = Identity::current();
    let resolv = dns::ResolvConf::read(&args.resolv_conf);
    let interfaces = host::interfaces();
    let (capture, reason) = if args.no_capture {
        (None, Some("--no-capture".to_string()))
    } else {
        let names = capture_interfaces(args, &targets, resolv.as_ref().ok(), &interfaces);
        match open_capture(args, &names, &interfaces, filter) {
            Ok(capture) => (Some(capture), None),
            Err(e) => (None, Some(e)),
        }
    };
    if args.pcap.is_some() && capture.is_none() {
        return Err(Error::Usage(format!(
            "cannot capture packets: {} (the agent needs CAP_NET_RAW)",
            reason.unwrap_or_default()
        )));
    }
    // With the pcap on stdout, the lines go to stderr.
    let to_stderr = args.pcap.as_deref() == Some(std::path::Path::new("-"));
    let mut verdicts = BTreeMap::new();
    let work = probe_all(
        args,
        &targets,
        capture.as_ref(),
        resolv.as_ref().map_err(String::as_str),
    );
    let mut interrupted = false;
    let lines = tokio::select! {
        lines = work => lines,
        _ = shutdown() => { interrupted = true; Vec::new() }
    };
    for (verdict, line) in &lines {
        *verdicts.entry(*verdict).or_insert(0) += 1;
        emit(line, to_stderr)?;
    }
    if let (Some(capture), false) = (&capture, interrupted) {
        keep_capturing(args, capture, started).await;
    }
    let report = capture.map(Capture::stop);
    let capture = CaptureSummary {
        enabled: report.is_some(),
        reason,
        interfaces: report
            .as_ref()
            .map(|r| r.interfaces.clone())
            .unwrap_or_default(),
        packets: report.as_ref().map_or(0, |r| r.packets),
        pcap: report.as_ref().and_then(|r| {
            Some(PcapSummary {
                path: args.pcap.as_ref()?.display().to_string(),
                packets: r.pcap_packets?,
            })
        }),
        errors: report.map(|r| r.errors).unwrap_or_default(),
    };
    let summary = Line::Summary(Summary {
        agent: agent_version(),
        targets: targets.len(),
        verdicts,
        elapsed_ms: (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0,
        uid: identity.uid,
        euid: identity.euid,
        capabilities: identity.capabilities,
        capture,
    });
    emit(&summary.to_json(), to_stderr)?;
    Ok(ExitCode::SUCCESS)
}

fn agent_version() -> String {
    format!("kubectl-netdoctor {}", env!("CARGO_PKG_VERSION"))
}

fn emit(line: &str, to_stderr: bool) -> Result<()> {
    if to_stderr {
        let mut err = std::io::stderr().lock();
        writeln!(err, "{line}")?;
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}

async fn probe_all(
    args: &AgentArgs,
    targets: &[Target],
    capture: Option<&Capture>,
    resolv: std::result::Result<&dns::ResolvConf, &str>,
) -> Vec<(Verdict, String)> {
    let deadline = args.timeout;
    let probes = targets.iter().map(|target| async move {
        let line = match target {
            Target::Tcp(addr) => Line::Tcp(probe::tcp(*addr, deadline, capture).await),
            Target::Mesh(addr) => Line::Tcp(probe::mesh(*addr, deadline, capture).await),
            Target::Udp(addr) => Line::Udp(probe::udp(*addr, deadline, capture).await),
            Target::Dns(query) => {
                Line::Dns(dns::lookup(query, resolv, deadline, args.repeat).await)
            }
            Target::Http(addr, path) => Line::Http(probe::http(*addr, path, deadline).await),
            Target::Mtu(addr) => Line::Mtu(mtu::probe(*addr, deadline).await),
        };
        let verdict = line.verdict().unwrap_or(Verdict::Error);
        (verdict, line.to_json())
    });
    futures::future::join_all(probes).await
}

/// After the probes, a capture-only run (or `--duration`) goes on until the duration ends, the
/// packet limit is reached, or a signal arrives.
async fn keep_capturing(args: &AgentArgs, capture: &Capture, started: Instant) {
    let endless = args.targets.is_empty() && args.duration.is_none();
    let Some(until) = args
        .duration
        .map(|d| started + d)
        .or(endless.then_some(started))
    else {
        return;
    };
    let wait = async {
        loop {
            if capture.is_full() || (!endless && Instant::now() >= until) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        _ = wait => {}
        _ = shutdown() => {}
    }
}

/// SIGINT or SIGTERM: stop and write what we have (a pcap cut off mid-record is unreadable).
async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

/// `--capture-iface`, else the interfaces the targets' packets leave by (DNS servers included),
/// else — capturing only — the interface of the default route or the first that is not loopback.
fn capture_interfaces(
    args: &AgentArgs,
    targets: &[Target],
    resolv: Option<&dns::ResolvConf>,
    interfaces: &[pnet::datalink::NetworkInterface],
) -> Vec<String> {
    if !args.capture_iface.is_empty() {
        return args.capture_iface.clone();
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    for target in targets {
        match target {
            Target::Tcp(addr)
            | Target::Mesh(addr)
            | Target::Udp(addr)
            | Target::Http(addr, _)
            | Target::Mtu(addr) => ips.push(addr.ip()),
            Target::Dns(query) => match query.server {
                Some(server) => ips.push(server.ip()),
                None => ips.extend(resolv.map(dns::ResolvConf::server_ips).unwrap_or_default()),
            },
        }
    }
    if ips.is_empty() {
        ips.push(IpAddr::from([192, 0, 2, 1])); // TEST-NET-1: where the default route goes
    }
    let mut names: Vec<String> = Vec::new();
    for ip in ips {
        let Ok(source) = host::source_for(ip) else {
            continue;
        };
        if let Some(name) = host::interface_for(interfaces, ip, source) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        names.extend(
            interfaces
                .iter()
                .find(|i| !i.is_loopback() && !i.ips.is_empty())
                .map(|i| i.name.clone()),
        );
    }
    names
}

fn open_capture(
    args: &AgentArgs,
    names: &[String],
    interfaces: &[pnet::datalink::NetworkInterface],
    filter: Filter,
) -> std::result::Result<Capture, String> {
    if names.is_empty() {
        return Err("no interface to capture on".into());
    }
    let links: Vec<LinkType> = names
        .iter()
        .filter_map(|n| interfaces.iter().find(|i| &i.name == n))
        .map(host::link_type)
        .collect();
    let link = match links.as_slice() {
        [first, rest @ ..] if rest.iter().all(|l| l == first) => *first,
        _ => LinkType::RawIp,
    };
    let sink = match &args.pcap {
        None => None,
        Some(path) => {
            let (out, stream): (Box<dyn Write + Send>, bool) = if path.as_os_str() == "-" {
                match args.pcap_encoding {
                    crate::cli::PcapEncoding::Raw => (Box::new(std::io::stdout()), true),
                    crate::cli::PcapEncoding::Base64 => {
                        (Box::new(pcap::Base64Lines::new(std::io::stdout())), true)
                    }
                }
            } else {
                let file =
                    std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
                (Box::new(std::io::BufWriter::new(file)), false)
            };
            let writer = PcapWriter::new(out, link, stream).map_err(|e| format!("pcap: {e}"))?;
            Some(PcapSink {
                writer,
                filter,
                link,
                max_packets: args.max_packets,
                error: None,
            })
        }
    };
    Capture::start(names, interfaces, sink).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            format!("{e} (opening a packet socket needs CAP_NET_RAW)")
        }
        _ => e.to_string(),
    })
}
