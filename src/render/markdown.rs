//! Markdown: a section per Service with the checklist and the verdict, fit to paste into a ticket
//! or a runbook. Cluster-supplied text is sanitised and kept out of Markdown syntax.

use std::io::Write;

use crate::report::{Diagnosis, Status};

/// Sanitised, with the characters that would start Markdown syntax escaped.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::new();
    for c in crate::text::sanitize(s).chars() {
        if "\\`*_[]<>|#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Pass => "✅ pass",
        Status::Warn => "⚠️ warn",
        Status::Fail => "❌ fail",
        Status::Skip => "⏭️ skip",
        Status::Error => "💥 error",
    }
}

pub(crate) fn render(items: &[Diagnosis], out: &mut dyn Write) -> std::io::Result<()> {
    for (i, d) in items.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let v = &d.verdict;
        let verdict = match (v.check, v.code) {
            (Some(id), Some(code)) => format!("{} at `{id}` ({code})", v.status.to_uppercase()),
            (Some(id), None) => format!("{} at `{id}`", v.status.to_uppercase()),
            (None, _) => v.status.to_uppercase(),
        };
        writeln!(
            out,
            "## Service `{}/{}` — {verdict}",
            md(&d.target.namespace),
            md(&d.target.name)
        )?;
        writeln!(out)?;
        writeln!(out, "| check | status | finding |")?;
        writeln!(out, "|---|---|---|")?;
        for c in &d.checks {
            let status = match (&c.suppressed, c.code) {
                (Some(_), Some(code)) => format!("{} (ignored: {code})", mark(c.status)),
                _ => mark(c.status).to_string(),
            };
            writeln!(out, "| `{}` | {status} | {} |", c.id, md(&c.summary))?;
        }
        writeln!(out)?;
        writeln!(out, "**Verdict:** {}", md(&v.summary))?;
        let ignored = d.suppressed();
        if !ignored.is_empty() {
            writeln!(out)?;
            writeln!(out, "**Ignored:** {}", md(&ignored.join(", ")))?;
        }
        for c in d
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Warn | Status::Error))
        {
            if c.evidence.is_empty() {
                continue;
            }
            writeln!(out)?;
            writeln!(out, "Evidence for `{}`:", c.id)?;
            writeln!(out)?;
            let max = super::human::MAX_EVIDENCE;
            for e in c.evidence.iter().take(max) {
                writeln!(out, "- {}", md(&e.message))?;
            }
            if c.evidence.len() > max {
                let more = crate::text::thousands(c.evidence.len() - max);
                writeln!(out, "- … and {more} more (`-o json` lists them all)")?;
            }
        }
        if !v.fix.is_empty() {
            writeln!(out)?;
            writeln!(out, "**Fix:**")?;
            // Each fix in words, then its commands alone in a code block: what is pasted from
            // the ticket runs as it is.
            let code = |s: &str| crate::text::sanitize(s).replace("```", "'''");
            for (n, f) in v.fix.iter().enumerate() {
                writeln!(out)?;
                let mut said = format!("{}. {}", n + 1, md(&f.summary));
                if let Some(e) = &f.effect {
                    said.push_str(&format!(" ({})", md(e)));
                }
                if let Some(c) = &f.caution {
                    said.push_str(&format!(" — {}: the first command below shows it", md(c)));
                }
                writeln!(out, "{said}")?;
                let blocks = [
                    ("bash", f.commands.join("\n")),
                    ("yaml", f.manifest.clone().unwrap_or_default()),
                ];
                for (lang, block) in blocks {
                    if block.is_empty() {
                        continue;
                    }
                    writeln!(out, "\n```{lang}")?;
                    for line in block.lines() {
                        writeln!(out, "{}", code(line))?;
                    }
                    writeln!(out, "```")?;
                }
            }
        }
    }
    Ok(())
}
