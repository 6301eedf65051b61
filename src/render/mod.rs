//! Renderers: one module per output format, each only formatting a [`Diagnosis`].

pub(crate) mod fatal;
mod human;
pub(crate) use human::width;
mod junit;
mod markdown;
pub(crate) mod page;
mod scan_table;

use std::io::Write;

use crate::config::OutputFormat;
use crate::report::Diagnosis;

/// Writes a diagnosis in the chosen format.
pub(crate) fn diagnosis(
    d: &Diagnosis,
    format: OutputFormat,
    color: bool,
    strict: bool,
    show_skipped: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, d)?;
            writeln!(out)
        }
        OutputFormat::Yaml => {
            let yaml = serde_saphyr::to_string(d).map_err(std::io::Error::other)?;
            out.write_all(yaml.as_bytes())
        }
        OutputFormat::Table => human::render(d, color, show_skipped, out),
        OutputFormat::Junit => junit::render(std::slice::from_ref(d), strict, out),
        OutputFormat::Markdown => markdown::render(std::slice::from_ref(d), out),
        // Commands validate the format first (Settings::require_output).
        OutputFormat::Csv => Err(std::io::Error::other(
            "-o csv is not produced for a Service",
        )),
    }
}

/// Writes a scan report in the chosen format.
pub(crate) fn scan(
    r: &crate::report::ScanReport,
    format: OutputFormat,
    _color: bool,
    strict: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, r)?;
            writeln!(out)
        }
        OutputFormat::Yaml => {
            let yaml = serde_saphyr::to_string(r).map_err(std::io::Error::other)?;
            out.write_all(yaml.as_bytes())
        }
        OutputFormat::Junit => junit::render(&r.items, strict, out),
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
        OutputFormat::Table => scan_table::render(r, out),
        OutputFormat::Csv => Err(std::io::Error::other("-o csv is not produced for a scan")),
    }
}
