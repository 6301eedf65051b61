//! The human view: an ordered checklist, evidence (tables where tabular), and the verdict with its
//! fix last, where the eye lands. Every cluster-supplied string is sanitised here, before colour.

use std::io::Write;

use owo_colors::OwoColorize;

use crate::report::{CheckResult, Diagnosis, Evidence, Status};
use crate::state::SourceKind;
use crate::text::sanitize;

struct Paint {
    color: bool,
    /// The width prose wraps to (commands in fixes are never broken).
    width: usize,
}

/// The width human output wraps to: `COLUMNS`, else the terminal's, else 100 (a pipe, a file).
pub(crate) fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c >= 20)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
        .unwrap_or(100)
}

/// Fixes under a heading, uncoloured: prose wraps, commands stand whole (see [`fix_block`]).
pub(super) fn plain_fix_block(
    fixes: &[crate::report::Fix],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    fix_block(&Paint::new(false), fixes, 4, out)
}

/// `text` after a plain `prefix`, wrapped to the width with a hanging indent under the text.
pub(crate) fn wrap_plain(prefix: &str, text: &str) -> String {
    let p = Paint::new(false);
    let lead = prefix.chars().count();
    p.wrap(prefix, lead, lead, text)
}

/// Several Services' flows (`dns`, `ingress NAME`): a line on the scope, its facts, then each
/// flow as `svc` shows it — the last verdict last, where the eye lands.
pub(super) fn flows(
    r: &crate::report::ScanReport,
    color: bool,
    show_skipped: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let p = Paint::new(color);
    let s = &r.summary;
    let mut counts = Vec::new();
    for (n, word) in [
        (s.fail, "fail"),
        (s.warn, "warn"),
        (s.incomplete, "incomplete"),
        (s.pass, "pass"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {word}"));
        }
    }
    let line = format!(
        "{}: {}{}",
        sanitize(&r.scope),
        crate::text::plural(s.services, "Service"),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" — {}", counts.join(", "))
        }
    );
    writeln!(out, "{}", p.bold(&p.wrap("", 0, 2, &line)))?;
    for f in &r.findings {
        let mark = if f.informational() { "i" } else { "!" };
        let mark = match (color, f.informational()) {
            (false, _) => mark.to_string(),
            (true, true) => mark.blue().to_string(),
            (true, false) => mark.yellow().bold().to_string(),
        };
        writeln!(
            out,
            "{}",
            p.wrap(&format!("  {mark} "), 4, 4, &sanitize(&f.message))
        )?;
    }
    for d in &r.items {
        writeln!(out)?;
        render(d, color, show_skipped, out)?;
    }
    Ok(())
}

impl Paint {
    fn new(color: bool) -> Self {
        Paint {
            color,
            width: width(),
        }
    }

    /// `text` after a `prefix` of `lead` visible columns (already coloured), wrapped to the width
    /// with every further line indented by `hang`.
    fn wrap(&self, prefix: &str, lead: usize, hang: usize, text: &str) -> String {
        let first = " ".repeat(lead);
        let rest = " ".repeat(hang);
        let options = textwrap::Options::new(self.width.max(lead + 20))
            .initial_indent(&first)
            .subsequent_indent(&rest)
            .break_words(false)
            // Kubernetes names are hyphenated words: "kube-system" never breaks after "kube-".
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        let lines = textwrap::wrap(text, options);
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                out.push_str(prefix);
                out.push_str(line.get(lead..).unwrap_or(""));
            } else {
                out.push('\n');
                out.push_str(line);
            }
        }
        if lines.is_empty() {
            out.push_str(prefix);
        }
        out
    }
}

impl Paint {
    /// A status as `status` shows it, without colour.
    fn plain_status(&self, s: Status) -> String {
        Paint {
            color: false,
            ..*self
        }
        .status(s)
    }
    fn status(&self, s: Status) -> String {
        let (mark, word) = match s {
            Status::Pass => ("✔", "PASS"),
            Status::Warn => ("!", "WARN"),
            Status::Fail => ("✘", "FAIL"),
            Status::Skip => ("○", "SKIP"),
            Status::Error => ("✘", "ERROR"),
        };
        let text = format!("{mark} {word:<5}");
        if !self.color {
            return text;
        }
        match s {
            Status::Pass => text.green().to_string(),
            Status::Warn => text.yellow().to_string(),
            Status::Fail | Status::Error => text.red().bold().to_string(),
            Status::Skip => text.dimmed().to_string(),
        }
    }
    fn bold(&self, s: &str) -> String {
        if self.color {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.color {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }
    fn verdict(&self, status: &str) -> String {
        let word = status.to_uppercase();
        if !self.color {
            return word;
        }
        match status {
            "pass" => word.green().bold().to_string(),
            "warn" => word.yellow().bold().to_string(),
            _ => word.red().bold().to_string(),
        }
    }
}

/// The check a dependency skip leads back to: "depends on X (skip)" chains to X's own cause.
fn root_cause<'a>(d: &'a Diagnosis, c: &'a CheckResult) -> Option<&'a CheckResult> {
    // Not probed because an API check failed: that failure is the cause too.
    if c.reason.as_deref() == Some(crate::state::NOT_PROBED_AFTER_FAILURE) {
        return d
            .verdict
            .check
            .and_then(|id| d.checks.iter().find(|x| x.id == id));
    }
    let mut cur = c;
    for _ in 0..d.checks.len() {
        if cur.skip_kind != Some(crate::report::SkipKind::Dependency) {
            return (!std::ptr::eq(cur, c)).then_some(cur);
        }
        let dep = cur.reason.as_deref()?.strip_prefix("depends on ")?;
        let id = dep.split(' ').next()?;
        cur = d.checks.iter().find(|x| x.id == id)?;
    }
    None
}

pub(super) fn render(
    d: &Diagnosis,
    color: bool,
    show_skipped: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let p = Paint::new(color);
    let source = source_words(d.source, d.cluster.as_ref());
    let target = format!(
        "{}/{}",
        sanitize(&d.target.namespace),
        sanitize(&d.target.name)
    );
    let from = format!("· {source}");
    // The context and server on the same line when they fit, else on the next.
    let one_line = d.target.kind.len() + 1 + target.chars().count() + 1 + from.chars().count();
    let sep = if one_line <= p.width { " " } else { "\n  " };
    writeln!(
        out,
        "{} {target}{sep}{}",
        p.bold(d.target.kind),
        p.dim(&from)
    )?;
    writeln!(out)?;
    let width = d.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    // Skips that follow from one failure say so once, where the first of them stands (all of
    // them with --show-skipped or -v): the verdict stays on a small screen.
    let mut collapsed: Vec<&str> = Vec::new();
    for c in &d.checks {
        let group = root_cause(d, c).map(|root| {
            let n = d
                .checks
                .iter()
                .filter(|x| root_cause(d, x).is_some_and(|r| r.id == root.id))
                .count();
            (root, n)
        });
        // One dependent check is shown as it is: a summary line would save nothing.
        if let (false, Some((root, n))) = (show_skipped, group.filter(|(_, n)| *n > 1)) {
            if collapsed.contains(&root.id) {
                continue;
            }
            collapsed.push(root.id);
            let line = format!(
                "not run: {} {} {} ({}) (--show-skipped lists them)",
                crate::text::plural(n, "check"),
                if n == 1 { "needs" } else { "need" },
                root.id,
                root.status.as_str()
            );
            let prefix = format!("{} ", p.status(Status::Skip));
            writeln!(out, "{}", p.wrap(&prefix, 8, 8, &line))?;
            continue;
        }
        // The verdict's fix is printed once, at the end, where the eye lands.
        let show_fix = Some(c.id) != d.verdict.check;
        check(&p, c, width, show_fix, out)?;
    }
    if let Some(nodes) = &d.nodes {
        writeln!(out)?;
        node_table(&p, nodes, out)?;
    }
    writeln!(out)?;
    let v = &d.verdict;
    match v.check {
        Some(id) => writeln!(
            out,
            "{} {} at {}{}",
            p.bold("VERDICT:"),
            p.verdict(v.status),
            p.bold(id),
            // The finding's code: `explain ND1108` says what it means.
            v.code.map(|c| format!(" ({c})")).unwrap_or_default()
        )?,
        None => writeln!(out, "{} {}", p.bold("VERDICT:"), p.verdict(v.status))?,
    }
    writeln!(out, "{}", p.wrap("  ", 2, 2, &sanitize(&v.summary)))?;
    if !v.fix.is_empty() {
        writeln!(out, "  {}", p.bold("Fix:"))?;
        fix_block(&p, &v.fix, 4, out)?;
    }
    let ignored = d.suppressed();
    if !ignored.is_empty() {
        // Counted, never silently dropped.
        let line = format!("Ignored: {}", ignored.join(", "));
        writeln!(out, "{}", p.wrap("  ", 2, 2, &sanitize(&line)))?;
    }
    Ok(())
}

/// Where a report's facts come from: `context prod (https://10.0.0.1:6443/)` live (the cluster
/// a pasted fix will act on), `manifests (offline)`.
pub(super) fn source_words(
    source: SourceKind,
    cluster: Option<&crate::connection::Cluster>,
) -> String {
    match (source, cluster) {
        (SourceKind::Manifests, _) => "manifests (offline)".into(),
        (SourceKind::Live, Some(c)) => match &c.context {
            Some(ctx) => format!("context {} ({})", sanitize(ctx), sanitize(&c.server)),
            None => sanitize(&c.server),
        },
        (SourceKind::Live, None) => "live cluster".into(),
    }
}

/// Fixes as a person pastes them: each one's summary (and what it disturbs, what to check
/// first) as prose at `indent`, then its commands flush left, whole, never wrapped — a command
/// indented into a here-document would never see its closing `EOF`, and a wrapped one breaks.
fn fix_block(
    p: &Paint,
    fixes: &[crate::report::Fix],
    indent: usize,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let pad = " ".repeat(indent);
    for (n, f) in fixes.iter().enumerate() {
        let number = if fixes.len() > 1 {
            format!("{}. ", n + 1)
        } else {
            String::new()
        };
        let mut said = sanitize(&f.summary);
        if let Some(e) = &f.effect {
            said.push_str(&format!(" ({})", sanitize(e)));
        }
        if !f.commands.is_empty() || f.manifest.is_some() {
            said.push(':');
        }
        let lead = indent + number.chars().count();
        writeln!(
            out,
            "{}",
            p.wrap(&format!("{pad}{number}"), lead, lead, &said)
        )?;
        if let Some(c) = &f.caution {
            let text = format!("{}: the first command below shows it", sanitize(c));
            writeln!(
                out,
                "{}",
                p.wrap(&" ".repeat(lead), lead, lead, &p.dim(&text))
            )?;
        }
        for command in &f.commands {
            for line in command.lines() {
                writeln!(out, "{}", sanitize(line))?;
            }
        }
        if let Some(m) = &f.manifest {
            for line in m.lines() {
                writeln!(out, "{}", sanitize(line))?;
            }
        }
    }
    Ok(())
}

/// Evidence lines (or table rows) one check shows before it counts the rest.
pub(super) const MAX_EVIDENCE: usize = 20;

fn check(
    p: &Paint,
    c: &CheckResult,
    width: usize,
    show_fix: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // An ignored finding keeps its line, dimmed, saying who ignored it.
    let (status, summary) = match &c.suppressed {
        Some(s) => (
            p.dim(&p.plain_status(c.status)),
            format!(
                "ignored ({}, {}): {}",
                c.code.unwrap_or(c.id),
                s.describe(),
                c.summary
            ),
        ),
        None => (p.status(c.status), c.summary.clone()),
    };
    let prefix = format!("{status} {:<width$}  ", c.id);
    let lead = 8 + width + 2;
    writeln!(out, "{}", p.wrap(&prefix, lead, lead, &sanitize(&summary)))?;
    let indent = " ".repeat(9);
    // A screenful: ten thousand policies must not become three million lines (JSON keeps all).
    let shown = &c.evidence[..c.evidence.len().min(MAX_EVIDENCE)];
    let mut i = 0;
    while i < shown.len() {
        let kind = shown[i].kind;
        let run: Vec<&Evidence> = shown[i..].iter().take_while(|e| e.kind == kind).collect();
        i += run.len();
        if run.len() > 1 && !run[0].fields.is_empty() {
            let mut table = super::grid::Grid::new(run[0].fields.iter().map(|(k, _)| k.as_str()));
            for e in &run {
                table.row(e.fields.iter().map(|(_, v)| sanitize(v)));
            }
            for line in table.render(p.width.saturating_sub(indent.len())).lines() {
                writeln!(out, "{indent}{line}")?;
            }
        } else {
            // Evidence that only repeats the summary (one finding, said as the summary) is shown
            // once: the line above already says it.
            for e in run.into_iter().filter(|e| e.message != c.summary) {
                let prefix = format!("{indent}· ");
                let lead = indent.len() + 2;
                writeln!(
                    out,
                    "{}",
                    p.wrap(&prefix, lead, lead, &sanitize(&e.message))
                )?;
            }
        }
    }
    if let Some(more) = c
        .evidence
        .len()
        .checked_sub(MAX_EVIDENCE)
        .filter(|n| *n > 0)
    {
        writeln!(
            out,
            "{indent}· {}",
            p.dim(&format!(
                "… and {} more (-o json lists them all)",
                crate::text::thousands(more)
            ))
        )?;
    }
    if show_fix && !matches!(c.status, Status::Pass | Status::Skip) && !c.fix.is_empty() {
        writeln!(out, "{indent}{}", p.dim("fix:"))?;
        fix_block(p, &c.fix, indent.len() + 2, out)?;
    }
    Ok(())
}

/// Per-node probing's node × path table: a row per node probed, then the nodes not probed.
fn node_table(p: &Paint, t: &crate::report::NodeTable, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        p.wrap("", 0, 2, &format!("Per node ({}):", sanitize(&t.scope)))
    )?;
    let node_ports = t.rows.iter().any(|r| r.node_ports.is_some());
    let mut header = vec!["NODE", "ENDPOINTS", "PODS", "CLUSTERIP"];
    if node_ports {
        header.push("NODEPORTS");
    }
    header.extend(["DNS", "RESULT"]);
    let mut grid = super::grid::Grid::new(header);
    for r in &t.rows {
        let mut cells = vec![
            sanitize(&r.node),
            if r.hosts_endpoints { "yes" } else { "-" }.to_string(),
            sanitize(&r.pods),
            sanitize(&r.cluster_ip),
        ];
        if node_ports {
            cells.push(sanitize(r.node_ports.as_deref().unwrap_or("-")));
        }
        let result = if r.probe.starts_with("not probed") {
            sanitize(&r.probe)
        } else if r.ok {
            "ok".to_string()
        } else {
            "FAULT".to_string()
        };
        cells.extend([sanitize(&r.dns), result]);
        grid.row(cells);
    }
    for line in grid.render(p.width.saturating_sub(2)).lines() {
        writeln!(out, "  {line}")?;
    }
    for n in &t.not_probed {
        let line = format!("not probed: {}: {}", n.node, n.reason);
        writeln!(out, "{}", p.wrap("  · ", 4, 4, &sanitize(&line)))?;
    }
    Ok(())
}
