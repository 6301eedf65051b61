//! Renderers: one module per output format, each only formatting a [`Diagnosis`].

mod human;

use std::io::Write;

use crate::cli::OutputFormat;
use crate::report::Diagnosis;

/// Writes a diagnosis in the chosen format.
pub fn diagnosis(
    d: &Diagnosis,
    format: OutputFormat,
    color: bool,
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
        OutputFormat::Table => human::render(d, color, out),
        // Commands validate the format first (Settings::require_output); these come with `scan`.
        OutputFormat::Junit | OutputFormat::Markdown | OutputFormat::Csv => {
            Err(std::io::Error::other(format!(
                "-o {} is not produced for a single Service",
                format.name()
            )))
        }
    }
}
