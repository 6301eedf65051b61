//! Runbook pages: `checks/<id>.md`, embedded in the binary and printed by `explain`.

use crate::checks::REGISTRY;
use crate::error::{Error, Result};

/// Every page, by check id. A test keeps this, the registry and `checks/` one-to-one.
pub const PAGES: &[(&str, &str)] = &[
    (
        "service.exists",
        include_str!("../checks/service.exists.md"),
    ),
    (
        "service.selector",
        include_str!("../checks/service.selector.md"),
    ),
    (
        "endpoints.ready",
        include_str!("../checks/endpoints.ready.md"),
    ),
    ("ports.target", include_str!("../checks/ports.target.md")),
    (
        "pods.listening",
        include_str!("../checks/pods.listening.md"),
    ),
    (
        "service.clusterip",
        include_str!("../checks/service.clusterip.md"),
    ),
    ("dns.resolves", include_str!("../checks/dns.resolves.md")),
    (
        "ingress.routes",
        include_str!("../checks/ingress.routes.md"),
    ),
    ("netpol.allows", include_str!("../checks/netpol.allows.md")),
];

/// A page split into its front matter (key: value lines) and its body.
pub struct Page {
    pub front: Vec<(String, String)>,
    pub body: &'static str,
}

impl Page {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.front
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub fn parse(text: &'static str) -> Page {
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

pub fn page(id: &str) -> Option<Page> {
    PAGES
        .iter()
        .find(|(p, _)| *p == id)
        .map(|(_, text)| parse(text))
}

/// `explain`: the list of checks, or one page.
pub fn explain(check: Option<&str>) -> Result<String> {
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
        out.push_str("\nRun `kubectl netdoctor explain <check>` for its runbook page.\n");
        return Ok(out);
    };
    match page(id) {
        Some(p) => Ok(format!("{}\n", p.body.trim_end())),
        None => {
            let ids: Vec<String> = REGISTRY.iter().map(|d| d.id.to_string()).collect();
            let near = crate::checks::near_ids(id, &ids);
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
            let p =
                page(def.id).unwrap_or_else(|| panic!("{} has no page in explain::PAGES", def.id));
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
            assert!(
                REGISTRY.iter().any(|d| d.id == id),
                "checks/{name} has no check"
            );
            assert!(
                PAGES.iter().any(|(p, _)| *p == id),
                "checks/{name} is not embedded"
            );
        }
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
