//! SARIF 2.1.0 (`-o sarif`), for code scanning (GitHub annotates the pull request's lines): one
//! rule per finding code, with its runbook section as help; one result per failing or warning
//! check and per scan-wide finding, at the error or warning level. Offline a result points at the
//! manifest's file, line and column of the field at fault (the Service's `selector` key, the
//! port's `targetPort`, the policy rule, the Ingress backend); live at the object, as a logical
//! location `Service/shop/web`. Ignored findings carry SARIF's own `suppressions` (external for
//! `--ignore`, inSource for an annotation), so code scanning shows them as dismissed.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::{Value, json};

use crate::codes::Severity;
use crate::report::{At, Diagnosis, Finding, ScanReport, Status, Suppressed};
use crate::source::locate::Position;
use crate::state::{ObjectRef, Origin};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/kubectl-netdoctor/kubectl-netdoctor";

/// One result before it is written.
struct Found<'a> {
    code: &'static str,
    status: Status,
    message: String,
    object: Option<&'a ObjectRef>,
    /// Offline: the field's position in the manifests.
    position: Option<Position>,
    suppressed: Option<&'a Suppressed>,
}

/// A Service's diagnosis as a SARIF log.
pub(crate) fn diagnosis(d: &Diagnosis, out: &mut dyn Write) -> std::io::Result<()> {
    write(&results_of(std::slice::from_ref(d), &[]), out)
}

/// A scan's (or several flows') report as a SARIF log.
pub(crate) fn scan(r: &ScanReport, out: &mut dyn Write) -> std::io::Result<()> {
    write(&results_of(&r.items, &r.findings), out)
}

/// The log a run that could not finish still writes: no results, the error as the invocation's
/// notification.
pub(crate) fn failed(message: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver(&BTreeSet::new())},
            "invocations": [{
                "executionSuccessful": false,
                "toolExecutionNotifications": [{
                    "level": "error",
                    "message": {"text": crate::text::sanitize(message)},
                }],
            }],
            "results": [],
        }],
    });
    super::escaped::json_pretty(out, &log)?;
    writeln!(out)
}

fn results_of<'a>(items: &'a [Diagnosis], findings: &'a [Finding]) -> Vec<Found<'a>> {
    let mut found = Vec::new();
    let mut locator = crate::source::locate::Locator::default();
    let mut position = |at: Option<&At>, origin: Option<&Origin>| {
        let (at, origin) = (at?, origin?);
        locator.locate(origin, &at.path)
    };
    for d in items {
        for c in &d.checks {
            let Some(code) = c.code else {
                continue;
            };
            if !matches!(c.status, Status::Fail | Status::Warn) {
                continue;
            }
            found.push(Found {
                code,
                status: c.status,
                message: format!(
                    "{}/{}: {}: {}",
                    d.target.namespace, d.target.name, c.id, c.summary
                ),
                object: c.at.as_ref().map(|a| &a.object),
                position: position(c.at.as_ref(), c.origin.as_ref()),
                suppressed: c.suppressed.as_ref(),
            });
        }
    }
    for f in findings {
        let Some(code) = f.code else {
            continue;
        };
        let status = match crate::codes::find(code).map(|c| c.severity) {
            Some(Severity::Error) => Status::Fail,
            _ => Status::Warn,
        };
        found.push(Found {
            code,
            status,
            message: f.message.clone(),
            object: f.at.as_ref().map(|a| &a.object).or(f.object.as_ref()),
            position: position(f.at.as_ref(), f.origin.as_ref()),
            suppressed: f.suppressed.as_ref(),
        });
    }
    found
}

fn write(found: &[Found], out: &mut dyn Write) -> std::io::Result<()> {
    let used: BTreeSet<&'static str> = found.iter().map(|f| f.code).collect();
    let rules: Vec<&'static str> = used.iter().copied().collect();
    let results: Vec<Value> = found
        .iter()
        .map(|f| result(f, rules.iter().position(|r| *r == f.code)))
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver(&used)},
            "invocations": [{"executionSuccessful": true}],
            "results": results,
        }],
    });
    super::escaped::json_pretty(out, &log)?;
    writeln!(out)
}

/// The tool and one rule per code used, in code order (results refer to them by index).
fn driver(used: &BTreeSet<&'static str>) -> Value {
    let rules: Vec<Value> = used
        .iter()
        .filter_map(|id| crate::codes::find(id))
        .map(|c| {
            let help = crate::codes::section(c).unwrap_or_else(|| c.title.to_string());
            // The text without the section's heading and Markdown's marks.
            let text: String = help
                .lines()
                .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n")
                .replace('`', "");
            json!({
                "id": c.id,
                "name": pascal(c.title),
                "shortDescription": {"text": c.title},
                "fullDescription": {"text": text},
                "help": {"text": text, "markdown": help},
                "helpUri": format!("{INFORMATION_URI}/blob/main/{}", page_file(c)),
                "defaultConfiguration": {"level": level_of(c.severity)},
                "properties": {"tags": [c.check, "kubernetes", "networking"]},
            })
        })
        .collect();
    json!({
        "name": "kubectl-netdoctor",
        "version": env!("CARGO_PKG_VERSION"),
        "informationUri": INFORMATION_URI,
        "rules": rules,
    })
}

/// A rule's friendly name: its title in PascalCase ("TheSelectorMatchesNoPods").
fn pascal(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The runbook page a code's section is in, as a repository path.
fn page_file(c: &crate::codes::Code) -> String {
    if c.check == "scan" {
        "checks/scan-findings.md".into()
    } else {
        format!("checks/{}.md", c.check)
    }
}

fn level_of(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn result(f: &Found, rule_index: Option<usize>) -> Value {
    let level = if f.status == Status::Fail {
        "error"
    } else {
        "warning"
    };
    let mut location = serde_json::Map::new();
    if let Some(p) = &f.position {
        location.insert(
            "physicalLocation".into(),
            json!({
                "artifactLocation": {"uri": uri(&p.file)},
                "region": {"startLine": p.line, "startColumn": p.column},
            }),
        );
    }
    if let Some(o) = f.object {
        let qualified = match &o.namespace {
            Some(ns) => format!("{}/{ns}/{}", o.kind, o.name),
            None => format!("{}/{}", o.kind, o.name),
        };
        location.insert(
            "logicalLocations".into(),
            json!([{"name": o.name, "fullyQualifiedName": qualified, "kind": "object"}]),
        );
    }
    let mut r = json!({
        "ruleId": f.code,
        "level": level,
        "message": {"text": crate::text::sanitize(&f.message)},
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    if !location.is_empty() {
        r["locations"] = json!([Value::Object(location)]);
    }
    if let Some(s) = f.suppressed {
        let kind = if s.by == "annotation" {
            "inSource"
        } else {
            "external"
        };
        let mut suppression = json!({"kind": kind, "status": "accepted"});
        suppression["justification"] = json!(s.describe());
        r["suppressions"] = json!([suppression]);
    }
    r
}

/// A manifest path as SARIF wants it: a relative path as a relative URI reference (what code
/// scanning matches against the repository), an absolute one as a `file://` URI.
fn uri(path: &str) -> String {
    let encoded: String = path
        .trim_start_matches("./")
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect();
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}
