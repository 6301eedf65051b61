//! `explain [CHECK]`: the list of checks, or one check's runbook page (`checks/<id>.md`, embedded
//! in the binary through the check's registry entry), or a topic page ([`TOPICS`]).

use crate::checks::REGISTRY;
use crate::error::{Error, Result};

/// A page split into its front matter (key: value lines) and its body.
pub(crate) struct Page {
    /// Front matter (id, title, order, needs): checked against the registry by a test.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) front: Vec<(String, String)>,
    pub(crate) body: &'static str,
}

impl Page {
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.front
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn parse(text: &'static str) -> Page {
    let mut front = Vec::new();
    let Some(rest) = text.strip_prefix("---\n") else {
        return Page { front, body: text };
    };
    let Some(end) = rest.find("\n---\n") else {
        return Page { front, body: text };
    };
    for line in rest[..end].lines() {
        if let Some((k, v)) = line.split_once(':') {
            front.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Page {
        front,
        body: rest[end + 5..].trim_start(),
    }
}

pub(crate) fn page(id: &str) -> Option<Page> {
    crate::checks::find(id).map(|def| parse(def.page))
}

/// Runbook pages that are not one check's: how the probe checks combine over several probes.
/// (id, title, page); `explain ID` prints them, kubectl-netdoctor-checks(7) carries them.
pub(crate) const TOPICS: &[(&str, &str, &str)] = &[(
    "per-node",
    "The probe checks from every node (--all-nodes, --nodes)",
    include_str!("../../checks/per-node.md"),
)];

/// `explain [CHECK] [--raw]`: rendered for the terminal and through `$PAGER` there (as git does:
/// `less -FRX` when unset, which exits at once for a short page); Markdown with `--raw` or
/// `-o markdown`; rendered without a pager when piped.
pub(crate) fn run(
    settings: &crate::config::Settings,
    args: &crate::cli::ExplainArgs,
) -> Result<std::process::ExitCode> {
    use std::io::{IsTerminal, Write};
    let text = explain(args.check.as_deref())?;
    let raw = args.raw || settings.output == crate::config::OutputFormat::Markdown;
    if raw || args.check.is_none() {
        std::io::stdout().write_all(text.as_bytes())?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let page = crate::render::page::terminal(&text, crate::render::width(), settings.color);
    if std::io::stdout().is_terminal() && page_through_pager(&page) {
        return Ok(std::process::ExitCode::SUCCESS);
    }
    std::io::stdout().write_all(page.as_bytes())?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Shows `text` through `$PAGER` (default `less -FRX`); false when no pager could run.
fn page_through_pager(text: &str) -> bool {
    use std::io::Write;
    let pager = std::env::var("PAGER").unwrap_or_else(|_| "less -FRX".to_string());
    if pager.trim().is_empty() || pager.trim() == "cat" {
        return false;
    }
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(&pager)
        .stdin(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit early closes the pipe: that is no error.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait().is_ok_and(|s| s.success())
}

/// `explain`: the list of checks, or one page.
/// `explain ND1108`: one finding's section, then a line naming its check and severity.
fn finding(id: &str) -> Result<String> {
    let codes = crate::codes::CODES;
    let code = crate::codes::find(id).ok_or_else(|| {
        Error::Usage(format!(
            "unknown finding code {} (the codes run {}–{}; `kubectl netdoctor explain CHECK` shows each check's)",
            crate::text::sanitize(id),
            codes[0].id,
            codes[codes.len() - 1].id
        ))
    })?;
    let section =
        crate::codes::section(code).unwrap_or_else(|| format!("{} — {}", code.id, code.title));
    let severity = match code.severity {
        crate::codes::Severity::Error => "fails",
        crate::codes::Severity::Warning => "warns",
    };
    let whose = if code.check == "scan" {
        "in a scan's findings".to_string()
    } else {
        format!(
            "check {} (its whole page: kubectl netdoctor explain {})",
            code.check, code.check
        )
    };
    Ok(format!("{section}\n\n{} {severity} {whose}.\n", code.id))
}

pub(crate) fn explain(check: Option<&str>) -> Result<String> {
    let Some(id) = check else {
        let mut out = String::from("Checks of `kubectl netdoctor svc`, in flow order:\n\n");
        for def in REGISTRY {
            out.push_str(&format!(
                "  {}. {:<18} [{}] {}\n",
                def.order,
                def.id,
                def.needs.as_str(),
                def.title
            ));
        }
        out.push_str("\nAnd how they combine:\n\n");
        for (id, title, _) in TOPICS {
            out.push_str(&format!("     {id:<18}      {title}\n"));
        }
        out.push_str("\nRun `kubectl netdoctor explain <check>` for its runbook page, `kubectl netdoctor explain <code>` (ND1108) for one finding's section.\n");
        return Ok(out);
    };
    if crate::codes::looks_like(id) {
        return finding(id);
    }
    // `explain 4`: the check's number in the flow, as the list shows it.
    let by_number = id
        .parse::<usize>()
        .ok()
        .and_then(|n| REGISTRY.iter().find(|d| d.order as usize == n))
        .map(|d| d.id);
    if let Some((_, _, text)) = TOPICS.iter().find(|(t, _, _)| *t == id) {
        return Ok(format!("{}\n", text.trim_end()));
    }
    match page(by_number.unwrap_or(id)) {
        Some(p) => Ok(format!("{}\n", p.body.trim_end())),
        None => {
            let ids: Vec<String> = REGISTRY
                .iter()
                .map(|d| d.id)
                .chain(TOPICS.iter().map(|(t, _, _)| *t))
                .map(str::to_string)
                .collect();
            let near = crate::text::near_names(id, &ids);
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", near.join(" or "))
            };
            Err(Error::Usage(format!(
                "unknown check {}{hint} (known: {})",
                crate::text::sanitize(&format!("{id:?}")),
                ids.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_a_page_and_every_page_a_check() {
        for def in REGISTRY {
            let p = page(def.id).unwrap_or_else(|| panic!("{} has no page", def.id));
            assert_eq!(p.get("id"), Some(def.id));
            assert_eq!(
                p.get("order"),
                Some(def.order.to_string().as_str()),
                "{}",
                def.id
            );
            assert_eq!(p.get("needs"), Some(def.needs.as_str()), "{}", def.id);
            assert!(p.get("title").is_some_and(|t| !t.is_empty()));
            for section in [
                "## What it checks",
                "## Why it fails",
                "## How to fix",
                "## Check by hand",
            ] {
                assert!(p.body.contains(section), "{} lacks {section}", def.id);
            }
            let file = format!(
                "{}/src/checks/{}.rs",
                env!("CARGO_MANIFEST_DIR"),
                def.id.replace('.', "_")
            );
            assert!(std::path::Path::new(&file).exists(), "{file} missing");
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let Some(id) = name.strip_suffix(".md") else {
                continue;
            };
            if name == "scan-findings.md" {
                // The scan-wide findings' page (crate::codes::SCAN_PAGE): no check of its own.
                continue;
            }
            if TOPICS.iter().any(|(t, _, _)| *t == id) {
                continue;
            }
            assert!(
                REGISTRY.iter().any(|d| d.id == id),
                "checks/{name} has no check"
            );
        }
    }

    /// A topic page reads as a check's does (the same sections), `explain` lists it and prints
    /// it, and a near miss suggests it.
    #[test]
    fn topic_pages_are_listed_explained_and_suggested() {
        for (id, title, text) in TOPICS {
            for section in [
                "## What it checks",
                "## Why it fails",
                "## How to fix",
                "## Check by hand",
            ] {
                assert!(text.contains(section), "{id} lacks {section}");
            }
            assert!(explain(None).unwrap().contains(title));
            assert_eq!(explain(Some(id)).unwrap(), format!("{}\n", text.trim_end()));
        }
        assert!(
            explain(Some("per-node"))
                .unwrap()
                .contains("node × path table")
        );
        let err = explain(Some("per-nodes")).unwrap_err();
        assert!(err.to_string().contains("did you mean per-node"), "{err}");
    }

    #[test]
    fn unknown_check_is_a_usage_error_with_a_suggestion() {
        let err = explain(Some("service.selectr")).unwrap_err();
        assert!(
            err.to_string().contains("did you mean service.selector"),
            "{err}"
        );
    }
}
