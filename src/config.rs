//! The validated configuration: the clap structs turned into what the program acts on, with no I/O.

use std::time::Duration;

use crate::error::{Error, Result};

/// The output formats; each command accepts some ([`Settings::require_output`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Ordered checklist and verdict, for people.
    Table,
    /// The Diagnosis document (schema netdoctor.io/v1).
    Json,
    /// The Diagnosis document as YAML.
    Yaml,
    /// JUnit XML, one testcase per check.
    Junit,
    /// Markdown, for tickets and runbooks.
    Markdown,
    /// Comma-separated values (reach).
    Csv,
    /// SARIF 2.1.0, for code scanning: a result per finding, at its manifest line offline.
    Sarif,
}

impl OutputFormat {
    pub(crate) fn name(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
            OutputFormat::Yaml => "yaml",
            OutputFormat::Junit => "junit",
            OutputFormat::Markdown => "markdown",
            OutputFormat::Csv => "csv",
            OutputFormat::Sarif => "sarif",
        }
    }
}

/// The formats each command prints (one list: dispatch, help and completion read it).
pub(crate) fn output_formats(command: &str) -> &'static [OutputFormat] {
    use OutputFormat::{Csv, Json, Junit, Markdown, Sarif, Table, Yaml};
    match command {
        "svc" | "service" | "ingress" | "ing" | "gateway" | "gw" | "route" | "dns" | "scan" => {
            &[Table, Json, Yaml, Junit, Markdown, Sarif]
        }
        "path" => &[Table, Json, Yaml],
        "diff" => &[Table, Json, Markdown, Sarif],
        "reach" => &[Table, Json, Csv],
        "explain" => &[Table, Markdown],
        _ => &[Table],
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub output: OutputFormat,
    /// `None`: no timeout ("0").
    pub request_timeout: Option<Duration>,
    pub color: bool,
    pub verbose: u8,
    /// kubectl's connection and identity overrides (--server, --token, --as, …).
    pub auth: AuthOverrides,
}

/// kubectl's global flags that change where and as whom requests go, applied over the kubeconfig.
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthOverrides {
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub server: Option<String>,
    pub token: Option<String>,
    pub impersonate: Option<String>,
    pub impersonate_groups: Vec<String>,
    pub certificate_authority: Option<std::path::PathBuf>,
    pub insecure_skip_tls_verify: bool,
}

impl Settings {
    /// Rejects an output format the command does not produce (exit 2).
    pub(crate) fn require_output(&self, command: &str) -> Result<()> {
        let allowed = output_formats(command);
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
pub(crate) fn validate_name(what: &str, s: &str) -> Result<()> {
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

/// The longest duration any flag takes: a day is more than any timeout, probe or capture needs,
/// and far from the values where a deadline timestamp overflows.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// kubectl's duration syntax: "30s", "1m", "1m30s", "500ms", "2h"; a bare number means seconds.
/// At most [`MAX_DURATION`].
/// A duration that must not be zero (a probe given no time creates a Job that cannot succeed).
pub(crate) fn parse_positive_duration(s: &str) -> std::result::Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err(format!(
            "{:?} leaves no time: give a duration such as 60s",
            s.trim()
        )),
        d => Ok(d),
    }
}

pub(crate) fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let too_long = || format!("{s:?} is longer than the maximum, 24h");
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    let bare = s.bytes().all(|b| b.is_ascii_digit());
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
            "" if bare => 1.0,
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("unknown unit {unit:?} (use ms, s, m or h)")),
        };
        let part = Duration::try_from_secs_f64(value * scale).map_err(|_| too_long())?;
        total = total.checked_add(part).ok_or_else(too_long)?;
        if total > MAX_DURATION {
            return Err(too_long());
        }
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
        assert!(parse_duration("10 s").is_err());
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
    }

    // Values past what Duration (or a deadline timestamp) holds were panics; a usage error now.
    #[test]
    fn absurd_durations_are_refused_naming_the_maximum() {
        for s in [
            "99999999999999999999s",
            "99999999999999999999",
            "99999999999999h",
            "24h1s",
        ] {
            let e = parse_duration(s).unwrap_err();
            assert!(e.contains("maximum, 24h"), "{s}: {e}");
        }
        assert!(
            parse_duration("99999999999999999999s")
                .unwrap_err()
                .contains("24h")
        );
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_name("namespace", "shop-1").is_ok());
        assert!(validate_name("namespace", "Shop").is_err());
        assert!(validate_name("namespace", "a/b").is_err());
    }
}

/// Parses `--from` and `--labels` (DESIGN §2): `pod/NAME`, `pod/NAMESPACE/NAME`, `ns/NAMESPACE`.
pub(crate) fn client_spec(
    from: Option<&str>,
    labels: Option<&str>,
) -> Result<Option<crate::state::ClientSpec>> {
    use crate::state::ClientSpec;
    let Some(from) = from else { return Ok(None) };
    let bad = || {
        Error::Usage(format!(
            "invalid --from {from:?}: use pod/NAME, deploy/NAME, sts/NAME, ds/NAME (NAMESPACE/NAME elsewhere) or ns/NAMESPACE"
        ))
    };
    let (kind, rest) = from.split_once('/').ok_or_else(bad)?;
    match kind {
        "pod" | "pods" | "po" | "deploy" | "deployment" | "deployments" | "sts" | "statefulset"
        | "statefulsets" | "ds" | "daemonset" | "daemonsets" => {
            if labels.is_some() {
                return Err(Error::Usage(
                    "--labels describes a would-be client: use it with --from ns/NAMESPACE".into(),
                ));
            }
            let workload = match kind {
                "deploy" | "deployment" | "deployments" => Some("Deployment"),
                "sts" | "statefulset" | "statefulsets" => Some("StatefulSet"),
                "ds" | "daemonset" | "daemonsets" => Some("DaemonSet"),
                _ => None,
            };
            let (namespace, name) = match rest.split_once('/') {
                Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                None => (None, rest.to_string()),
            };
            if let Some(ns) = &namespace {
                validate_name("namespace", ns)?;
            }
            validate_name(
                if workload.is_some() {
                    "workload name"
                } else {
                    "pod name"
                },
                &name,
            )?;
            Ok(Some(ClientSpec::Pod {
                namespace,
                name,
                workload,
            }))
        }
        "ns" | "namespace" | "namespaces" => {
            validate_name("namespace", rest)?;
            let map = match labels {
                Some(l) => parse_labels(l)?,
                None => Default::default(),
            };
            Ok(Some(ClientSpec::Namespace {
                namespace: rest.to_string(),
                labels: map,
            }))
        }
        _ => Err(bad()),
    }
}

/// `--labels k=v,k2=v2`: every entry a valid label key and value, each key once (a client
/// carries one value per key, so `a=b,a=c` cannot describe one).
fn parse_labels(s: &str) -> Result<std::collections::BTreeMap<String, String>> {
    let bad = |why: String| {
        Error::Usage(crate::text::sanitize(&format!(
            "invalid --labels {s:?}: {why}"
        )))
    };
    let mut map = std::collections::BTreeMap::new();
    for pair in s.split(',') {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| bad(format!("entry {pair:?} is not key=value")))?;
        let (k, v) = (k.trim(), v.trim());
        label_key(k).map_err(|e| bad(format!("key {k:?}: {e}")))?;
        if !v.is_empty() {
            label_name(v).map_err(|e| bad(format!("value {v:?}: {e}")))?;
        }
        if map.insert(k.to_string(), v.to_string()).is_some() {
            return Err(bad(format!("key {k:?} is given twice")));
        }
    }
    Ok(map)
}

/// A label key: `[prefix/]name`, the prefix a DNS subdomain (Kubernetes' label syntax).
fn label_key(k: &str) -> std::result::Result<(), &'static str> {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix {
        let ok = !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        if !ok {
            return Err("the prefix must be a DNS subdomain");
        }
    }
    label_name(name)
}

/// A label name or value: at most 63 characters, alphanumerics with '-', '_', '.' inside.
fn label_name(n: &str) -> std::result::Result<(), &'static str> {
    let ok = !n.is_empty()
        && n.len() <= 63
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && n.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err("must be at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric")
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
                name: "web-1".into(),
                workload: None,
            })
        );
        assert_eq!(
            client_spec(Some("pod/front/web-1"), None).unwrap(),
            Some(ClientSpec::Pod {
                namespace: Some("front".into()),
                name: "web-1".into(),
                workload: None,
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
        assert_eq!(
            client_spec(Some("deploy/front/web"), None).unwrap(),
            Some(ClientSpec::Pod {
                namespace: Some("front".into()),
                name: "web".into(),
                workload: Some("Deployment"),
            })
        );
        assert!(client_spec(Some("rs/web"), None).is_err());
        assert!(client_spec(Some("pod/web"), Some("a=b")).is_err());
        assert!(client_spec(Some("ns/front"), Some("novalue")).is_err());
        // An empty entry or a key given twice describes no pod (kubectl's label syntax).
        for bad in [
            "a=b,,", "a=b,", ",a=b", "a=b,a=c", "=b", "a=b c", "-a=b", "a/=b",
        ] {
            let e = client_spec(Some("ns/front"), Some(bad)).unwrap_err();
            assert!(e.to_string().starts_with("invalid --labels"), "{bad}: {e}");
        }
        assert!(client_spec(Some("ns/front"), Some("app.kubernetes.io/name=web,empty=")).is_ok());
        assert_eq!(client_spec(None, None).unwrap(), None);
    }
}
