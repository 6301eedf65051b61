//! `scan [-n NS | -A] [-l SELECTOR] [-f PATH]`: the API-level checks for every Service in scope,
//! plus findings about the scope itself, for CI smoke checks after deploy. Each kind is read once
//! per scope, however many Services there are.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use crate::checks;
use crate::cli::ScanArgs;
use crate::config::Settings;
use crate::error::{Error, Result, exit};
use crate::netpol::{Namespaces, PodInfo, PolicySet};
use crate::report::{API_VERSION, Diagnosis};
use crate::source::live::Live;
use crate::source::manifests;
use crate::source::snapshot::Snapshot;
use crate::state::{Fact, SourceKind};
use crate::text::sanitize;

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_domain_from_the_corefile() {
        let corefile = ".:53 {\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n    }\n    forward . /etc/resolv.conf\n}\n";
        assert_eq!(
            super::cluster_domain(corefile).as_deref(),
            Some("cluster.local")
        );
        assert_eq!(
            super::cluster_domain("kubernetes corp.example. in-addr.arpa").as_deref(),
            Some("corp.example")
        );
        assert_eq!(super::cluster_domain(".:53 { forward . 8.8.8.8 }"), None);
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct Finding {
    pub kind: &'static str,
    pub message: String,
}

#[derive(Serialize, Default, Debug)]
pub struct Summary {
    pub services: usize,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub incomplete: usize,
}

/// The `scan` document (DESIGN §4).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub source: SourceKind,
    pub scope: String,
    pub items: Vec<Diagnosis>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Summary {
    /// Counts of verdicts over Diagnoses.
    pub fn of(items: &[Diagnosis]) -> Self {
        let mut s = Summary {
            services: items.len(),
            ..Default::default()
        };
        for d in items {
            match d.verdict.status {
                "pass" => s.pass += 1,
                "warn" => s.warn += 1,
                "fail" => s.fail += 1,
                _ => s.incomplete += 1,
            }
        }
        s
    }
}

impl ScanReport {
    /// 1 if any Service failed (or warned, under --strict), else 3 if any is incomplete, else 0.
    pub fn exit_code(&self, strict: bool) -> u8 {
        let codes: Vec<u8> = self.items.iter().map(|d| d.exit_code(strict)).collect();
        if codes.contains(&exit::FAILED) {
            exit::FAILED
        } else if codes.contains(&exit::INCOMPLETE) {
            exit::INCOMPLETE
        } else {
            exit::OK
        }
    }
}

/// Equality-based label selectors for offline `-l` (`a=b,c!=d,e`), as kubectl accepts them.
fn selector_matches(
    selector: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<bool> {
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let ok = if let Some((k, v)) = term.split_once("!=") {
            labels.get(k.trim()).is_none_or(|x| x != v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            labels.get(k.trim()).is_some_and(|x| x == v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            !labels.contains_key(k.trim())
        } else if term.contains([' ', '(']) {
            return Err(Error::Usage(format!(
                "-l {selector:?}: offline, only k=v, k!=v, k and !k are supported"
            )));
        } else {
            labels.contains_key(term)
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Judges every Service of the snapshot in scope.
pub fn analyse(
    snap: &Snapshot,
    scope_ns: Option<&str>,
    selector: Option<&str>,
    scope: &str,
) -> Result<ScanReport> {
    let mut services: Vec<(String, String)> = Vec::new();
    for svc in &snap.services {
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        if scope_ns.is_some_and(|s| s != ns) {
            continue;
        }
        if let Some(sel) = selector {
            if snap.source == SourceKind::Manifests
                && !selector_matches(sel, &svc.metadata.labels.clone().unwrap_or_default())?
            {
                continue;
            }
        }
        services.push((ns, svc.metadata.name.clone().unwrap_or_default()));
    }
    services.sort();
    let mut items = Vec::with_capacity(services.len());
    for (ns, name) in &services {
        let mut state = snap.state_for_service(ns, name, None);
        state.scan = true;
        items.push(checks::diagnose_api(&state));
    }
    let summary = Summary::of(&items);
    let mut findings = Vec::new();
    match PolicySet::compile(&snap.policies) {
        Ok(set) => {
            let pods: Vec<PodInfo> = snap.pods.iter().map(PodInfo::from_pod).collect();
            let nss = Namespaces::partial(
                snap.namespaces
                    .iter()
                    .filter_map(|n| {
                        Some((
                            n.metadata.name.clone()?,
                            n.metadata.labels.clone().unwrap_or_default(),
                        ))
                    })
                    .collect(),
            );
            if !snap.unavailable.contains_key("pods") {
                for l in set.lint(&pods, &nss, scope_ns.is_none()) {
                    findings.push(Finding {
                        kind: "NetworkPolicy",
                        message: l,
                    });
                }
            }
        }
        Err(e) => findings.push(Finding {
            kind: "InvalidNetworkPolicy",
            message: e.to_string(),
        }),
    }
    // Ingress backends pointing at Services or ports that do not exist (only when every Service
    // of the scope was read: with -l, absent ones may just be filtered out).
    if selector.is_none() {
        for ing in snap
            .ingresses
            .iter()
            .filter(|i| scope_ns.is_none_or(|s| i.metadata.namespace.as_deref() == Some(s)))
        {
            let ins = ing.metadata.namespace.clone().unwrap_or_default();
            let iname = ing.metadata.name.clone().unwrap_or_default();
            let spec = ing.spec.as_ref();
            let backends = spec
                .and_then(|s| s.default_backend.as_ref())
                .and_then(|b| b.service.as_ref())
                .into_iter()
                .chain(
                    spec.into_iter()
                        .flat_map(|s| s.rules.iter().flatten())
                        .flat_map(|r| r.http.iter().flat_map(|h| h.paths.iter()))
                        .filter_map(|p| p.backend.service.as_ref()),
                );
            let mut seen = Vec::new();
            for b in backends {
                if seen.contains(&b.name) {
                    continue;
                }
                seen.push(b.name.clone());
                let svc = snap.services.iter().find(|s| {
                    s.metadata.namespace.as_deref() == Some(ins.as_str())
                        && s.metadata.name.as_deref() == Some(b.name.as_str())
                });
                match svc {
                    None => findings.push(Finding {
                        kind: "IngressBackend",
                        message: format!(
                            "Ingress {ins}/{iname} routes to Service {}, which does not exist",
                            b.name
                        ),
                    }),
                    Some(svc) => {
                        let ports = svc
                            .spec
                            .as_ref()
                            .and_then(|s| s.ports.clone())
                            .unwrap_or_default();
                        let ok = b.port.as_ref().is_none_or(|p| match (&p.name, p.number) {
                            (Some(n), _) => ports
                                .iter()
                                .any(|sp| sp.name.as_deref() == Some(n.as_str())),
                            (None, Some(n)) => ports.iter().any(|sp| sp.port == n),
                            (None, None) => true,
                        });
                        if !ok {
                            findings.push(Finding { kind: "IngressBackend", message: format!("Ingress {ins}/{iname} routes to a port Service {} does not have", b.name) });
                        }
                    }
                }
            }
        }
    }
    for dup in snap.duplicates.iter() {
        findings.push(Finding {
            kind: "DuplicateObject",
            message: dup.describe(),
        });
    }
    for (kind, u) in &snap.unavailable {
        findings.push(Finding {
            kind: "Unreadable",
            message: format!("{kind}: {}", u.reason()),
        });
    }
    if let Fact::Unavailable(u) = &snap.namespaces_fact {
        findings.push(Finding {
            kind: "Unreadable",
            message: format!("namespaces: {}", u.reason()),
        });
    }
    Ok(ScanReport {
        api_version: API_VERSION,
        kind: "ScanReport",
        source: snap.source,
        scope: scope.to_string(),
        items,
        findings,
        summary,
    })
}

/// `ingress NAME`: the flow of every Service the Ingress routes to, as one report.
pub async fn run_ingress(settings: &Settings, args: &crate::cli::IngressArgs) -> Result<ExitCode> {
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
    let (source, ns) = if args.filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = settings
            .namespace
            .clone()
            .unwrap_or_else(|| live.default_namespace.clone());
        let ing = live
            .ingress(&ns, &name)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Ingress {ns}/{name} not found")))?;
        let opts = crate::probe::job::ProbeOptions::from_args(&args.probe);
        for svc in backends(&ing) {
            let mut state = live.service_state(&ns, &svc, None).await?;
            state.probe = if args.probe.no_probe {
                crate::state::Fact::Unavailable(crate::state::Unavailable::NotRequested(
                    "--no-probe: API reads only",
                ))
            } else {
                crate::probe::probe_service(&live.prober(), &state, &opts).await
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
    print_report(settings, &report, args.strict)
}

/// `dns`: the cluster DNS Service's flow, plus what only DNS has: NodeLocal DNSCache, the cluster
/// domain, DNS pods that restart. The probe half (resolution from a client) comes with the probe.
pub async fn run_dns(settings: &Settings, args: &crate::cli::DnsArgs) -> Result<ExitCode> {
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
    // The DNS pods are this Service's own: each replica is asked directly.
    if let Some(pods) = state.pods.known() {
        state.dns_pods = crate::state::Fact::Known(pods.clone());
    }
    state.probe = if args.probe.no_probe {
        crate::state::Fact::Unavailable(crate::state::Unavailable::NotRequested(
            "--no-probe: API reads only",
        ))
    } else {
        // Resolution as a client sees it: from the user's namespace, not the DNS Service's.
        let client_ns = settings
            .namespace
            .clone()
            .unwrap_or_else(|| live.default_namespace.clone());
        let opts = crate::probe::job::ProbeOptions::from_args(&args.probe);
        crate::probe::probe_service_from(&live.prober(), &state, &opts, Some(client_ns)).await
    };
    let d = checks::diagnose(&state);
    let infra = live.dns_infra(ns).await;
    let mut findings: Vec<Finding> = infra
        .into_iter()
        .map(|(kind, message)| Finding { kind, message })
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
                    message: format!(
                        "{} container {} restarted {} times (timeouts while it restarts)",
                        crate::k8s::describe_pod(pod),
                        cs.name,
                        cs.restart_count
                    ),
                });
            }
        }
    }
    let items = vec![d];
    let report = ScanReport {
        api_version: API_VERSION,
        kind: "ScanReport",
        source: SourceKind::Live,
        scope: format!("cluster DNS ({ns}/{name})"),
        summary: Summary::of(&items),
        items,
        findings,
    };
    print_report(settings, &report, args.strict)
}

/// The cluster domain from a CoreDNS Corefile: the first zone of its `kubernetes` plugin.
pub fn cluster_domain(corefile: &str) -> Option<String> {
    corefile.lines().map(str::trim).find_map(|l| {
        let rest = l.strip_prefix("kubernetes ")?;
        rest.split_whitespace()
            .next()
            .map(|z| z.trim_end_matches('.').to_string())
    })
}

/// A spinner on stderr while a live scan gathers, only on a terminal.
fn spinner(settings: &Settings) -> indicatif::ProgressBar {
    spinner_saying(settings, "reading the cluster…")
}

/// A spinner on stderr with `message`, only on a terminal (hidden under -v, on a pipe, TERM=dumb).
pub fn spinner_saying(settings: &Settings, message: &'static str) -> indicatif::ProgressBar {
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

pub async fn run(settings: &Settings, args: &ScanArgs) -> Result<ExitCode> {
    let (snap, scope_ns) = if args.filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = settings
            .namespace
            .clone()
            .unwrap_or_else(|| live.default_namespace.clone());
        let scope_ns = (!args.all_namespaces).then_some(ns);
        let pb = spinner(settings);
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
    let report = analyse(&snap, scope_ns.as_deref(), args.selector.as_deref(), &scope)?;
    let judged = started.elapsed();
    let code = print_report(settings, &report, args.strict)?;
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

/// The human view of a scan: one row per Service, then findings, then each problem's verdict.
pub(crate) fn human(r: &ScanReport, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &r.summary;
    writeln!(
        out,
        "Scan of {} ({}): {} Services — {} fail, {} warn, {} incomplete, {} pass",
        r.scope,
        match r.source {
            SourceKind::Live => "live cluster",
            SourceKind::Manifests => "manifests",
        },
        s.services,
        s.fail,
        s.warn,
        s.incomplete,
        s.pass
    )?;
    if !r.items.is_empty() {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["service", "status", "check", "finding"]);
        for d in &r.items {
            table.add_row([
                sanitize(&format!("{}/{}", d.target.namespace, d.target.name)),
                d.verdict.status.to_uppercase(),
                d.verdict.check.unwrap_or("").to_string(),
                sanitize(&d.verdict.summary),
            ]);
        }
        writeln!(out, "{table}")?;
    }
    if !r.findings.is_empty() {
        writeln!(out, "\nFindings:")?;
        for f in &r.findings {
            writeln!(out, "  ! {}", sanitize(&f.message))?;
        }
    }
    for d in r
        .items
        .iter()
        .filter(|d| d.verdict.status != "pass" && !d.verdict.fix.is_empty())
    {
        writeln!(
            out,
            "\n{}/{}: {} at {}",
            sanitize(&d.target.namespace),
            sanitize(&d.target.name),
            d.verdict.status.to_uppercase(),
            d.verdict.check.unwrap_or("")
        )?;
        for f in &d.verdict.fix {
            for line in f.lines() {
                writeln!(out, "    {}", sanitize(line))?;
            }
        }
    }
    Ok(())
}

/// Renders a report on stdout (buffered) and gives its exit code.
fn print_report(settings: &Settings, report: &ScanReport, strict: bool) -> Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    crate::render::scan(report, settings.output, settings.color, strict, &mut out)?;
    out.flush()?;
    Ok(ExitCode::from(report.exit_code(strict)))
}
