//! Renderers: one module per output format, each only formatting a [`Diagnosis`].

pub(crate) mod escaped;
pub(crate) mod fatal;
pub(crate) mod grid;
mod human;
pub(crate) use human::{width, wrap_plain};
pub(crate) use markdown::md as markdown_text;
pub(crate) use sarif::scan as sarif_scan;
mod junit;
mod markdown;
pub(crate) mod page;
mod sarif;
mod scan_table;

use std::io::Write;

use crate::config::OutputFormat;
use crate::report::Diagnosis;

/// How to render: the format and what the person asked of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options {
    pub format: OutputFormat,
    pub color: bool,
    /// Warnings count as failures (JUnit failures, exit 1).
    pub strict: bool,
    /// Every check skipped after a failure, not one line for them.
    pub show_skipped: bool,
}

/// Whether the terminal's locale cannot show our marks: LC_ALL, else LC_CTYPE, else LANG, when
/// set to a locale that is not UTF-8 (`LC_ALL=C`, `POSIX`, `en_US.ISO-8859-1`). Unset is taken
/// as UTF-8, as every current system's default is.
pub(crate) fn ascii_locale() -> bool {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
    locale.is_some_and(|l| {
        let l = l.to_ascii_lowercase();
        !l.contains("utf-8") && !l.contains("utf8")
    })
}

/// Our marks in ASCII: ✔ → `+`, ✘ → `x`, ○ → `-`, · → `-`, → → `->`, — → `--`, … → `...`, and
/// the table's box-drawing lines. Cluster text is left as it is.
pub(crate) fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '✔' => out.push('+'),
            '✘' => out.push('x'),
            '○' => out.push('-'),
            '·' => out.push('-'),
            '→' => out.push_str("->"),
            '—' => out.push_str("--"),
            '…' => out.push_str("..."),
            '─' | '═' | '╌' | '┄' => out.push('-'),
            '│' | '║' | '╎' | '┆' => out.push('|'),
            '\u{2500}'..='\u{257F}' => out.push('+'),
            c => out.push(c),
        }
    }
    out
}

/// A terminal view, written in ASCII when the locale cannot show our marks (`LC_ALL=C`).
fn terminal(
    out: &mut dyn Write,
    render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if !ascii_locale() {
        return render(out);
    }
    let mut text = Vec::new();
    render(&mut text)?;
    out.write_all(ascii(&String::from_utf8_lossy(&text)).as_bytes())
}

/// Writes a diagnosis in the chosen format.
pub(crate) fn diagnosis(d: &Diagnosis, o: Options, out: &mut dyn Write) -> std::io::Result<()> {
    let Options {
        format,
        color,
        strict,
        show_skipped,
    } = o;
    match format {
        OutputFormat::Json => {
            escaped::json_pretty(out, d)?;
            writeln!(out)
        }
        OutputFormat::Yaml => escaped::yaml(out, d),
        OutputFormat::Table => terminal(out, |o| human::render(d, color, show_skipped, o)),
        OutputFormat::Junit => junit::render(std::slice::from_ref(d), strict, out),
        OutputFormat::Markdown => markdown::render(std::slice::from_ref(d), out),
        OutputFormat::Sarif => sarif::diagnosis(d, out),
        // Commands validate the format first (Settings::require_output).
        OutputFormat::Csv => Err(std::io::Error::other(
            "-o csv is not produced for a Service",
        )),
    }
}

/// Writes a report of several Services' flows (`dns`, `ingress NAME`): on a terminal each flow as
/// `svc` shows it, under the scope's facts; machine formats as a scan's document.
pub(crate) fn flows(
    r: &crate::report::ScanReport,
    o: Options,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match o.format {
        OutputFormat::Table => terminal(out, |w| human::flows(r, o.color, o.show_skipped, w)),
        _ => scan(r, o.format, o.strict, out),
    }
}

/// Writes a scan report in the chosen format.
pub(crate) fn scan(
    r: &crate::report::ScanReport,
    format: OutputFormat,
    strict: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => {
            escaped::json_pretty(out, r)?;
            writeln!(out)
        }
        OutputFormat::Yaml => escaped::yaml(out, r),
        OutputFormat::Junit => junit::render(&r.items, strict, out),
        OutputFormat::Sarif => sarif::scan(r, out),
        OutputFormat::Markdown => {
            writeln!(
                out,
                "# kubectl-netdoctor scan of {}\n",
                crate::text::sanitize(&r.scope)
            )?;
            let s = &r.summary;
            writeln!(
                out,
                "{} Services: {} fail, {} warn, {} incomplete, {} pass.\n",
                s.services, s.fail, s.warn, s.incomplete, s.pass
            )?;
            if !r.findings.is_empty() {
                writeln!(out, "Findings:\n")?;
                for f in &r.findings {
                    writeln!(out, "- {}", crate::text::sanitize(&f.message))?;
                }
                writeln!(out)?;
            }
            markdown::render(&r.items, out)
        }
        OutputFormat::Table => terminal(out, |o| scan_table::render(r, o)),
        OutputFormat::Csv => Err(std::io::Error::other("-o csv is not produced for a scan")),
    }
}
