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
