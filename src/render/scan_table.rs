//! The human view of a scan: one row per Service, then findings, then each problem's verdict.

use std::io::Write;

use crate::report::ScanReport;
use crate::text::sanitize;

/// The human view of a scan: one row per Service, then findings, then each problem's verdict.
pub(crate) fn render(r: &ScanReport, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &r.summary;
    let head = format!(
        "Scan of {} ({}): {} — {} fail, {} warn, {} incomplete, {} pass{}",
        sanitize(&r.scope),
        super::human::source_words(r.source, r.cluster.as_ref()),
        crate::text::plural(s.services, "Service"),
        s.fail,
        s.warn,
        s.incomplete,
        s.pass,
        // Ignored findings are counted, never dropped.
        if s.suppressed > 0 {
            format!("; {} ignored", s.suppressed)
        } else {
            String::new()
        }
    );
    writeln!(out, "{}", super::human::wrap_plain("", &head))?;
    if !r.items.is_empty() {
        let mut table = super::grid::Grid::new(["service", "status", "check", "finding"]);
        for d in &r.items {
            table.row([
                sanitize(&format!("{}/{}", d.target.namespace, d.target.name)),
                d.verdict.status.to_uppercase(),
                d.verdict.check.unwrap_or("").to_string(),
                sanitize(&d.verdict.summary),
            ]);
        }
        writeln!(out, "{}", table.render(super::width()))?;
    }
    if !r.findings.is_empty() {
        writeln!(out, "\nFindings:")?;
        for f in &r.findings {
            let mark = if f.informational() { "i" } else { "!" };
            let code = match (f.code, &f.suppressed) {
                (Some(c), Some(s)) => format!(" ({c}; ignored: {})", s.describe()),
                (Some(c), None) => format!(" ({c})"),
                _ => String::new(),
            };
            writeln!(
                out,
                "{}",
                super::human::wrap_plain(
                    &format!("  {mark} "),
                    &format!("{}{code}", sanitize(&f.message))
                )
            )?;
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
        super::human::plain_fix_block(&d.verdict.fix, out)?;
    }
    Ok(())
}
