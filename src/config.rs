//! The validated configuration: the clap structs turned into what the program acts on, with no I/O.

use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Settings {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub output: OutputFormat,
    /// `None`: no timeout ("0").
    pub request_timeout: Option<Duration>,
    pub color: bool,
    pub verbose: u8,
}

impl Settings {
    pub fn from_args(g: &GlobalArgs) -> Result<Self> {
        let request_timeout = parse_duration(&g.request_timeout).map_err(|e| {
            Error::Usage(format!(
                "invalid --request-timeout {:?}: {e}",
                g.request_timeout
            ))
        })?;
        let env_no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let color = !g.no_color && !env_no_color && !dumb && std::io::stdout().is_terminal();
        if let Some(ns) = &g.namespace {
            validate_name("namespace", ns)?;
        }
        Ok(Settings {
            kubeconfig: g.kubeconfig.clone(),
            context: g.context.clone(),
            namespace: g.namespace.clone(),
            output: g.output,
            request_timeout: (!request_timeout.is_zero()).then_some(request_timeout),
            color,
            verbose: g.verbose,
        })
    }

    /// Rejects an output format the command does not produce (exit 2).
    pub fn require_output(&self, command: &str, allowed: &[OutputFormat]) -> Result<()> {
        if allowed.contains(&self.output) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|o| o.name()).collect();
        Err(Error::Usage(format!(
            "{command} does not support -o {} (supported: {})",
            self.output.name(),
            names.join(", ")
        )))
    }
}

/// A DNS-1123 label, as Kubernetes requires of namespaces and Service names.
pub fn validate_name(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "invalid {what} {}: must be lower-case letters, digits and '-'",
            crate::text::sanitize(&format!("{s:?}"))
        )))
    }
}

/// kubectl's duration syntax: "30s", "1m", "1m30s", "500ms", "2h"; a bare number means seconds.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(digits);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("expected a number in {s:?}"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("unknown unit {unit:?} (use ms, s, m or h)")),
        };
        total += Duration::from_secs_f64(value * scale);
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10x").is_err());
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_name("namespace", "shop-1").is_ok());
        assert!(validate_name("namespace", "Shop").is_err());
        assert!(validate_name("namespace", "a/b").is_err());
    }
}

/// Parses `--from` and `--labels` (DESIGN §2): `pod/NAME`, `pod/NAMESPACE/NAME`, `ns/NAMESPACE`.
pub fn client_spec(
    from: Option<&str>,
    labels: Option<&str>,
) -> Result<Option<crate::state::ClientSpec>> {
    use crate::state::ClientSpec;
    let Some(from) = from else { return Ok(None) };
    let bad = || {
        Error::Usage(format!(
            "invalid --from {from:?}: use pod/NAME, pod/NAMESPACE/NAME or ns/NAMESPACE"
        ))
    };
    let (kind, rest) = from.split_once('/').ok_or_else(bad)?;
    match kind {
        "pod" | "pods" | "po" => {
            if labels.is_some() {
                return Err(Error::Usage(
                    "--labels describes a would-be client: use it with --from ns/NAMESPACE".into(),
                ));
            }
            let (namespace, name) = match rest.split_once('/') {
                Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                None => (None, rest.to_string()),
            };
            if let Some(ns) = &namespace {
                validate_name("namespace", ns)?;
            }
            validate_name("pod name", &name)?;
            Ok(Some(ClientSpec::Pod { namespace, name }))
        }
        "ns" | "namespace" | "namespaces" => {
            validate_name("namespace", rest)?;
            let mut map = std::collections::BTreeMap::new();
            for pair in labels
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    Error::Usage(format!("invalid --labels entry {pair:?}: use key=value"))
                })?;
                map.insert(k.trim().to_string(), v.trim().to_string());
            }
            Ok(Some(ClientSpec::Namespace {
                namespace: rest.to_string(),
                labels: map,
            }))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod client_tests {
    use super::*;
    use crate::state::ClientSpec;

    #[test]
    fn from_forms() {
        assert_eq!(
            client_spec(Some("pod/web-1"), None).unwrap(),
            Some(ClientSpec::Pod {
                namespace: None,
                name: "web-1".into()
            })
        );
        assert_eq!(
            client_spec(Some("pod/front/web-1"), None).unwrap(),
            Some(ClientSpec::Pod {
                namespace: Some("front".into()),
                name: "web-1".into()
            })
        );
        assert_eq!(
            client_spec(Some("ns/front"), Some("app=web, tier=fe")).unwrap(),
            Some(ClientSpec::Namespace {
                namespace: "front".into(),
                labels: [
                    ("app".to_string(), "web".to_string()),
                    ("tier".to_string(), "fe".to_string())
                ]
                .into()
            })
        );
        assert!(client_spec(Some("deploy/web"), None).is_err());
        assert!(client_spec(Some("pod/web"), Some("a=b")).is_err());
        assert!(client_spec(Some("ns/front"), Some("novalue")).is_err());
        assert_eq!(client_spec(None, None).unwrap(), None);
    }
}
