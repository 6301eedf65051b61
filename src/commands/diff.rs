//! `diff -f NEW [--base OLD | --base live]`: what a change does before it is applied — the
//! workload → workload connections it takes away or adds (the policy engine on both sides, as
//! `reach` decides them), the Services whose verdict changes (as `scan` judges them), and the
//! scan findings it brings or resolves (an Ingress backend that stops resolving). "What will my
//! NetworkPolicy change break?", answered from the manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::DiffArgs;
use crate::config::{OutputFormat, Settings};
use crate::error::Result;
use crate::reach::{Connection, Head, Sink};
use crate::report::API_VERSION;
use crate::source::live::Live;
use crate::source::manifests;
use crate::text::sanitize;

/// One side of the comparison, judged as scan and reach judge it.
struct Side {
    /// (namespace, name) → the Service's verdict.
    verdicts: BTreeMap<(String, String), Judged>,
    /// (from, to) → the ports allowed (rows with none allowed are not connections).
    connections: BTreeMap<(String, String), String>,
    /// (code, message) of the scan's findings.
    findings: BTreeSet<(&'static str, String)>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
struct Judged {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    summary: String,
}

/// Collects reach's rows workload by workload: groups differ between the two sides (a policy
/// that reads a label splits pods that were one group), workloads do not.
#[derive(Default)]
struct Rows {
    /// Each group's workloads, `kind/namespace/name`.
    groups: Vec<Vec<String>>,
    pairs: BTreeMap<(String, String), String>,
}

impl Sink for Rows {
    fn begin(&mut self, h: &Head) -> std::io::Result<()> {
        self.groups = h
            .groups
            .iter()
            .map(|g| {
                g.workloads
                    .iter()
                    .map(|w| format!("{}/{}/{}", w.kind, g.namespace, w.name))
                    .collect()
            })
            .collect();
        Ok(())
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        let (Some(from), Some(to)) = (c.from_group, c.to_group) else {
            return Ok(());
        };
        if c.kind != "workload" || c.ports == "none" {
            return Ok(());
        }
        for wf in self.groups.get(from).into_iter().flatten() {
            for wt in self.groups.get(to).into_iter().flatten() {
                // Parts of one workload that decide differently: every part's answer, joined.
                self.pairs
                    .entry((wf.clone(), wt.clone()))
                    .and_modify(|p| {
                        if !p.split(" | ").any(|x| x == c.ports) {
                            p.push_str(&format!(" | {}", c.ports));
                        }
                    })
                    .or_insert_with(|| c.ports.clone());
            }
        }
        Ok(())
    }
    fn end(&mut self, _: &[String]) -> std::io::Result<()> {
        Ok(())
    }
}

impl Side {
    fn judge(
        snap: &crate::state::snapshot::Snapshot,
        reach: &crate::state::ReachInput,
        scope_ns: Option<&str>,
        scope: &str,
    ) -> Result<Side> {
        let report = crate::scan::analyse(snap, scope_ns, None, scope)?;
        let verdicts = report
            .items
            .iter()
            .map(|d| {
                let v = &d.verdict;
                (
                    (d.target.namespace.clone(), d.target.name.clone()),
                    Judged {
                        status: v.status,
                        check: v.check,
                        code: v.code,
                        summary: v.summary.clone(),
                    },
                )
            })
            .collect();
        let findings = report
            .findings
            .iter()
            .filter_map(|f| Some((f.code?, f.message.clone())))
            .collect();
        let mut rows = Rows::default();
        crate::reach::analyse(reach, scope_ns.is_none(), scope, &mut rows)?;
        Ok(Side {
            verdicts,
            connections: rows.pairs,
            findings,
        })
    }
}

/// A connection that changed.
#[derive(Serialize, Debug)]
struct Changed {
    from: String,
    to: String,
    before: String,
    after: String,
}

/// A Service whose verdict changed.
#[derive(Serialize, Debug)]
struct Verdicts {
    namespace: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<Judged>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<Judged>,
}

#[derive(Serialize, Debug)]
struct Finding {
    code: &'static str,
    message: String,
}

#[derive(Serialize, Debug, Default)]
struct Summary {
    lost: usize,
    narrowed: usize,
    gained: usize,
    broken: usize,
    fixed: usize,
    #[serde(rename = "newFindings")]
    new_findings: usize,
}

/// The `DiffReport` document.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct DiffReport {
    api_version: &'static str,
    kind: &'static str,
    scope: String,
    /// "manifests" or "live".
    base: &'static str,
    lost: Vec<Changed>,
    narrowed: Vec<Changed>,
    gained: Vec<Changed>,
    broken: Vec<Verdicts>,
    fixed: Vec<Verdicts>,
    changed: Vec<Verdicts>,
    new_findings: Vec<Finding>,
    resolved_findings: Vec<Finding>,
    summary: Summary,
}

/// How bad a verdict is, to tell a break from a fix.
fn rank(status: &str) -> u8 {
    match status {
        "pass" => 0,
        "warn" => 1,
        "incomplete" => 2,
        _ => 3,
    }
}

/// Whether `after` allows less than `before` ("TCP 8080, TCP 9090" → "TCP 8080"; "all" → any
/// list): some port range of before is not in after.
fn narrower(before: &str, after: &str) -> bool {
    if after == "all" {
        return false;
    }
    before == "all"
        || before
            .split(", ")
            .any(|p| !after.split(", ").any(|a| a == p))
}

fn compare(base: &Side, new: &Side, scope: String, base_kind: &'static str) -> DiffReport {
    let mut r = DiffReport {
        api_version: API_VERSION,
        kind: "DiffReport",
        scope,
        base: base_kind,
        lost: Vec::new(),
        narrowed: Vec::new(),
        gained: Vec::new(),
        broken: Vec::new(),
        fixed: Vec::new(),
        changed: Vec::new(),
        new_findings: Vec::new(),
        resolved_findings: Vec::new(),
        summary: Summary::default(),
    };
    let changed = |(from, to): &(String, String), before: &str, after: &str| Changed {
        from: from.clone(),
        to: to.clone(),
        before: before.to_string(),
        after: after.to_string(),
    };
    for (pair, before) in &base.connections {
        match new.connections.get(pair) {
            None => r.lost.push(changed(pair, before, "none")),
            Some(after) if narrower(before, after) => r.narrowed.push(changed(pair, before, after)),
            Some(_) => {}
        }
    }
    for (pair, after) in &new.connections {
        match base.connections.get(pair) {
            None => r.gained.push(changed(pair, "none", after)),
            Some(before) if after != before && !narrower(before, after) => {
                r.gained.push(changed(pair, before, after));
            }
            Some(_) => {}
        }
    }
    let services: BTreeSet<&(String, String)> =
        base.verdicts.keys().chain(new.verdicts.keys()).collect();
    for key in services {
        let (before, after) = (base.verdicts.get(key), new.verdicts.get(key));
        if before == after {
            continue;
        }
        let v = Verdicts {
            namespace: key.0.clone(),
            name: key.1.clone(),
            before: before.cloned(),
            after: after.cloned(),
        };
        match (before, after) {
            (Some(b), Some(a)) if rank(a.status) > rank(b.status) => r.broken.push(v),
            (Some(b), Some(a)) if rank(a.status) < rank(b.status) => r.fixed.push(v),
            // The same status for another reason, or a Service added or removed.
            _ => r.changed.push(v),
        }
    }
    for (code, message) in new.findings.difference(&base.findings) {
        r.new_findings.push(Finding {
            code,
            message: message.clone(),
        });
    }
    for (code, message) in base.findings.difference(&new.findings) {
        r.resolved_findings.push(Finding {
            code,
            message: message.clone(),
        });
    }
    r.summary = Summary {
        lost: r.lost.len(),
        narrowed: r.narrowed.len(),
        gained: r.gained.len(),
        broken: r.broken.len(),
        fixed: r.fixed.len(),
        new_findings: r.new_findings.len(),
    };
    r
}

pub(crate) async fn run(settings: &Settings, args: &DiffArgs) -> Result<ExitCode> {
    let scope_ns = (!args.all_namespaces).then(|| crate::source::live::offline_namespace(settings));
    let scope = scope_ns
        .as_deref()
        .map_or("all namespaces".to_string(), |n| format!("namespace {n}"));
    let default_ns = crate::source::live::offline_namespace(settings);
    let verbose = settings.verbose > 0;
    let side_of = |loaded: &[crate::source::read::Loaded]| -> Result<Side> {
        let snap = manifests::classify(loaded, &default_ns)?;
        let reach = manifests::reach_input(loaded, scope_ns.as_deref(), &default_ns)?;
        Side::judge(&snap, &reach, scope_ns.as_deref(), &scope)
    };
    let new = side_of(&manifests::load(&args.filenames, verbose)?)?;
    let live_base = args.base.len() == 1 && args.base[0].as_os_str() == "live";
    let (base, base_kind) = if live_base {
        let live = Live::connect(settings).await?;
        let ns = scope_ns.clone().map(|_| live.namespace(settings));
        let snap = live.snapshot(ns.as_deref(), None).await?;
        let reach = live.reach_input(ns.as_deref()).await?;
        (Side::judge(&snap, &reach, ns.as_deref(), &scope)?, "live")
    } else {
        (
            side_of(&manifests::load(&args.base, verbose)?)?,
            "manifests",
        )
    };
    let report = compare(&base, &new, scope, base_kind);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    super::delivered(
        match settings.output {
            OutputFormat::Json => {
                crate::render::escaped::json_pretty(&mut out, &report).and_then(|()| writeln!(out))
            }
            OutputFormat::Markdown => markdown(&report, &mut out),
            OutputFormat::Sarif => sarif(&report, &mut out),
            _ => table(&report, &mut out),
        }
        .and_then(|()| out.flush()),
    )?;
    let s = &report.summary;
    let lost = s.lost + s.narrowed + s.broken + s.new_findings;
    Ok(ExitCode::from(if args.fail_on_loss && lost > 0 {
        crate::error::exit::FAILED
    } else {
        crate::error::exit::OK
    }))
}

/// SARIF for the pull request: what the change breaks as results — a connection taken away
/// (ND9003) or narrowed (ND9004), a Service whose verdict gets worse (its finding's code), a new
/// scan finding (its code) — each at its objects as logical locations.
fn sarif(r: &DiffReport, out: &mut dyn Write) -> std::io::Result<()> {
    use crate::report::{CheckResult, Diagnosis, ScanReport, Status, Summary, Target};
    let connection = |code: &'static str, c: &Changed, what: &str| crate::report::Finding {
        kind: "Connection",
        code: Some(code),
        message: format!("{} → {}: {what} ({} → {})", c.from, c.to, c.before, c.after),
        object: workload_ref(&c.to),
        suppressed: None,
        at: None,
        origin: None,
    };
    let mut findings: Vec<crate::report::Finding> = r
        .lost
        .iter()
        .map(|c| connection("ND9003", c, "the change takes this connection away"))
        .chain(
            r.narrowed
                .iter()
                .map(|c| connection("ND9004", c, "the change narrows its ports")),
        )
        .collect();
    findings.extend(r.new_findings.iter().map(|f| crate::report::Finding {
        kind: "NewFinding",
        code: Some(f.code),
        message: format!("the change brings: {}", f.message),
        object: None,
        suppressed: None,
        at: None,
        origin: None,
    }));
    // A Service that breaks: its new verdict as the one failing check SARIF reports.
    let items: Vec<Diagnosis> = r
        .broken
        .iter()
        .filter_map(|v| {
            let after = v.after.as_ref()?;
            let status = if after.status == "warn" {
                Status::Warn
            } else {
                Status::Fail
            };
            let service = crate::state::ObjectRef::new("Service", &v.namespace, &v.name);
            let check = CheckResult {
                id: after.check.unwrap_or("service.exists"),
                title: "",
                status,
                summary: format!(
                    "the change breaks it ({} → {})",
                    verdict_words(v.before.as_ref()),
                    after.summary
                ),
                reason: None,
                root_cause: None,
                evidence: Vec::new(),
                fix: Vec::new(),
                code: after.code,
                suppressed: None,
                at: Some(crate::report::At {
                    object: service,
                    path: Vec::new(),
                }),
                origin: None,
                skip_kind: None,
            };
            Some(Diagnosis::new(
                Target {
                    kind: "Service",
                    namespace: v.namespace.clone(),
                    name: v.name.clone(),
                },
                crate::state::SourceKind::Manifests,
                vec![check],
            ))
        })
        .collect();
    let report = ScanReport {
        api_version: API_VERSION,
        kind: "ScanReport",
        source: crate::state::SourceKind::Manifests,
        cluster: None,
        scope: r.scope.clone(),
        summary: Summary::of(&items),
        items,
        findings,
    };
    crate::render::sarif_scan(&report, out)
}

/// `deployment/shop/cart` as an object reference (the kind as kubectl names it).
fn workload_ref(display: &str) -> Option<crate::state::ObjectRef> {
    let mut parts = display.splitn(3, '/');
    let (kind, ns, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some(crate::state::ObjectRef::new(kind, ns, name))
}

fn verdict_words(j: Option<&Judged>) -> String {
    match j {
        None => "absent".into(),
        Some(j) => match (j.check, j.code) {
            (Some(c), Some(code)) => format!("{} at {c} ({code})", j.status),
            (Some(c), None) => format!("{} at {c}", j.status),
            _ => j.status.to_string(),
        },
    }
}

fn table(r: &DiffReport, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &r.summary;
    let head = format!(
        "Diff of {} against the {}: {} lost, {} narrowed, {} gained connection(s); {} Service(s) break, {} fixed; {} new finding(s)",
        sanitize(&r.scope),
        if r.base == "live" {
            "live cluster"
        } else {
            "base manifests"
        },
        s.lost,
        s.narrowed,
        s.gained,
        s.broken,
        s.fixed,
        s.new_findings
    );
    writeln!(out, "{}", crate::render::wrap_plain("", &head))?;
    let mut section = |title: &str, rows: Vec<String>| -> std::io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(out, "\n{title}:")?;
        for row in rows {
            writeln!(out, "{}", crate::render::wrap_plain("  ", &sanitize(&row)))?;
        }
        Ok(())
    };
    let pairs = |list: &[Changed]| -> Vec<String> {
        list.iter()
            .map(|c| format!("{} → {}: {} → {}", c.from, c.to, c.before, c.after))
            .collect()
    };
    let services = |list: &[Verdicts]| -> Vec<String> {
        list.iter()
            .map(|v| {
                let summary = v
                    .after
                    .as_ref()
                    .or(v.before.as_ref())
                    .map(|j| j.summary.clone());
                format!(
                    "{}/{}: {} → {}{}",
                    v.namespace,
                    v.name,
                    verdict_words(v.before.as_ref()),
                    verdict_words(v.after.as_ref()),
                    summary.map(|s| format!(" — {s}")).unwrap_or_default()
                )
            })
            .collect()
    };
    let findings = |list: &[Finding]| -> Vec<String> {
        list.iter()
            .map(|f| format!("{} ({})", f.message, f.code))
            .collect()
    };
    section("Connections lost", pairs(&r.lost))?;
    section("Connections narrowed", pairs(&r.narrowed))?;
    section("Connections gained", pairs(&r.gained))?;
    section("Services that break", services(&r.broken))?;
    section("Services fixed", services(&r.fixed))?;
    section("Services otherwise changed", services(&r.changed))?;
    section("New findings", findings(&r.new_findings))?;
    section("Resolved findings", findings(&r.resolved_findings))?;
    Ok(())
}

fn markdown(r: &DiffReport, out: &mut dyn Write) -> std::io::Result<()> {
    use crate::render::markdown_text as md;
    let s = &r.summary;
    writeln!(out, "## kubectl-netdoctor diff of {}\n", md(&r.scope))?;
    writeln!(
        out,
        "{} lost, {} narrowed, {} gained connection(s); {} Service(s) break, {} fixed; {} new finding(s).",
        s.lost, s.narrowed, s.gained, s.broken, s.fixed, s.new_findings
    )?;
    let mut table = |title: &str, rows: &[Changed]| -> std::io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(
            out,
            "\n### {title}\n\n| from | to | before | after |\n|---|---|---|---|"
        )?;
        for c in rows {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                md(&c.from),
                md(&c.to),
                md(&c.before),
                md(&c.after)
            )?;
        }
        Ok(())
    };
    table("Connections lost", &r.lost)?;
    table("Connections narrowed", &r.narrowed)?;
    table("Connections gained", &r.gained)?;
    for (title, list) in [
        ("Services that break", &r.broken),
        ("Services fixed", &r.fixed),
    ] {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "\n### {title}\n")?;
        for v in list {
            writeln!(
                out,
                "- `{}/{}`: {} → {}",
                md(&v.namespace),
                md(&v.name),
                md(&verdict_words(v.before.as_ref())),
                md(&verdict_words(v.after.as_ref()))
            )?;
        }
    }
    if !r.new_findings.is_empty() {
        writeln!(out, "\n### New findings\n")?;
        for f in &r.new_findings {
            writeln!(out, "- {} ({})", md(&f.message), f.code)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_is_a_loss_and_widening_is_not() {
        assert!(narrower("TCP 8080, TCP 9090", "TCP 8080"));
        assert!(narrower("all", "TCP 8080"));
        assert!(narrower("TCP 5432-5433", "TCP 5432"));
        assert!(!narrower("TCP 8080", "TCP 8080, TCP 9090"));
        assert!(!narrower("TCP 8080", "all"));
        assert!(!narrower("TCP 8080", "TCP 8080"));
    }
}
