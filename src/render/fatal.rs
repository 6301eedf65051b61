//! The document a machine format prints when the run cannot finish (the API server is down, the
//! kubeconfig is broken, a manifest is malformed): CI parses a report file whatever happened, so
//! an empty file is never written. JSON/YAML carry `verdict.status: incomplete` (or a scan's
//! `Error` finding) and an `error` object; JUnit an `<error>` testcase; Markdown the error; CSV its
//! header; SARIF a log whose invocation failed, with the error. The exit code stays the error's.

use std::io::Write;

use serde_json::json;

use crate::config::OutputFormat;
use crate::report::API_VERSION;

/// What is known of the run when it failed.
pub(crate) struct Failed<'a> {
    /// The command ("svc", "scan", …).
    pub(crate) command: &'a str,
    /// The Service a `svc` names, if any.
    pub(crate) service: Option<&'a str>,
    pub(crate) namespace: &'a str,
    /// Manifests (`-f`) rather than a live cluster.
    pub(crate) offline: bool,
    /// The error, one line.
    pub(crate) message: &'a str,
    pub(crate) exit_code: u8,
}

pub(crate) fn render(f: &Failed, format: OutputFormat, out: &mut dyn Write) -> std::io::Result<()> {
    let message = crate::text::sanitize(f.message);
    let error = json!({"message": message, "exitCode": f.exit_code});
    let source = if f.offline { "manifests" } else { "live" };
    let doc = match f.command {
        "svc" | "service" => json!({
            "apiVersion": API_VERSION, "kind": "Diagnosis",
            "target": {"kind": "Service", "namespace": f.namespace, "name": f.service.unwrap_or("-")},
            "source": source,
            "verdict": {"status": "incomplete", "check": null, "summary": message, "fix": []},
            "checks": [],
            "error": error,
        }),
        "scan" | "ingress" | "ing" | "gateway" | "gw" | "route" | "dns" => json!({
            "apiVersion": API_VERSION, "kind": "ScanReport", "source": source,
            "scope": format!("namespace {}", f.namespace),
            "items": [],
            "findings": [{"kind": "Error", "message": message}],
            "summary": {"services": 0, "pass": 0, "warn": 0, "fail": 0, "incomplete": 1, "suppressed": 0},
            "error": error,
        }),
        "path" => {
            json!({"apiVersion": API_VERSION, "kind": "PathReport", "verdict": "incomplete", "error": error})
        }
        "diff" => json!({"apiVersion": API_VERSION, "kind": "DiffReport", "error": error}),
        _ => {
            json!({"apiVersion": API_VERSION, "kind": "ReachReport", "connections": [], "notes": [], "error": error})
        }
    };
    match format {
        OutputFormat::Json => {
            super::escaped::json_pretty(out, &doc)?;
            writeln!(out)
        }
        OutputFormat::Yaml => super::escaped::yaml(out, &doc),
        OutputFormat::Junit => {
            let m = super::junit::escape(&message);
            writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
            writeln!(
                out,
                r#"<testsuites name="kubectl-netdoctor" tests="1" failures="0" errors="1" skipped="0">"#
            )?;
            writeln!(
                out,
                r#"  <testsuite name="kubectl-netdoctor {}" tests="1" failures="0" errors="1" skipped="0">"#,
                super::junit::escape(f.command)
            )?;
            writeln!(
                out,
                r#"    <testcase name="run" classname="kubectl-netdoctor">"#
            )?;
            writeln!(
                out,
                r#"      <error message="{m}">{m} (exit {})</error>"#,
                f.exit_code
            )?;
            writeln!(out, "    </testcase>\n  </testsuite>\n</testsuites>")
        }
        OutputFormat::Markdown => writeln!(
            out,
            "## kubectl-netdoctor {} could not finish\n\n**Error** (exit {}): {}",
            f.command,
            f.exit_code,
            super::markdown::md(&message)
        ),
        OutputFormat::Csv => writeln!(out, "from,to,kind,ports,undecided,note"),
        OutputFormat::Sarif => super::sarif::failed(&message, out),
        OutputFormat::Table => Ok(()),
    }
}
