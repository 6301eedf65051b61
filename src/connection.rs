//! The cluster a live run talked to, and the flags that reach it again. Every command the run
//! prints for a person to paste — fixes, "did you mean" re-runs — carries those flags, so that
//! it acts on the cluster the diagnosis was about, not on whatever the kubeconfig's current
//! context is when it is pasted (`svc postgres --context prod` printed `kubectl patch …` that
//! patched staging). Set once, when the run connects; offline runs have none.

use std::sync::OnceLock;

use serde::Serialize;

use crate::config::Settings;
use crate::text::shell_quote;

/// Where a live run's requests went, as its reports name it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Cluster {
    /// The kubeconfig context (none in a pod's service-account config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The API server's URL.
    pub server: String,
    /// The flags that reach it again, in shell syntax: ` --context prod --kubeconfig /x`.
    #[serde(skip)]
    pub flags: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// Records the run's cluster: the context used (given or current), the API server, and the
/// flags that select them — the context always (the current context may change before a fix is
/// pasted), the kubeconfig when given, and kubectl's overrides as given (never a token).
pub(crate) fn connected(settings: &Settings, context: Option<String>, server: &str) {
    let mut flags = String::new();
    let mut push = |flag: &str, value: &str| {
        flags.push_str(&format!(" {flag} {}", shell_quote(value)));
    };
    if let Some(c) = &context {
        push("--context", c);
    }
    if let Some(k) = &settings.kubeconfig {
        push("--kubeconfig", &k.display().to_string());
    }
    let auth = &settings.auth;
    for (flag, value) in [
        ("--cluster", &auth.cluster),
        ("--user", &auth.user),
        ("--server", &auth.server),
        ("--as", &auth.impersonate),
    ] {
        if let Some(v) = value {
            push(flag, v);
        }
    }
    for g in &auth.impersonate_groups {
        push("--as-group", g);
    }
    if let Some(ca) = &auth.certificate_authority {
        push("--certificate-authority", &ca.display().to_string());
    }
    if auth.insecure_skip_tls_verify {
        flags.push_str(" --insecure-skip-tls-verify");
    }
    let _ = CLUSTER.set(Cluster {
        context,
        server: server.to_string(),
        flags,
    });
}

/// The live run's cluster, if this run connected to one.
pub(crate) fn cluster() -> Option<&'static Cluster> {
    CLUSTER.get()
}

/// A printed command with the run's connection flags in every `kubectl` it runs.
pub(crate) fn targeted(fix: &str) -> String {
    match cluster() {
        Some(c) if !c.flags.is_empty() => with_flags(fix, &c.flags),
        _ => fix.to_string(),
    }
}

/// Inserts `flags` (` --context prod …`) after each `kubectl` (and `kubectl netdoctor`) that
/// starts a command: at the start of a line, or after `|`, `;`, `&&`, `||` or `$(`. Comments
/// and the lines of a here-document (after a `<<'EOF'` line, up to `EOF`) are left alone.
pub(crate) fn with_flags(fix: &str, flags: &str) -> String {
    let mut out = Vec::new();
    let mut heredoc: Option<String> = None;
    for line in fix.split('\n') {
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            out.push(line.to_string());
            continue;
        }
        heredoc = heredoc_end(line);
        out.push(command_line(line, flags));
    }
    out.join("\n")
}

/// The word that ends a here-document this line opens (`<<'EOF'`, `<<EOF`, `<<-EOF`).
pub(crate) fn heredoc_end(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("<<")?;
    let word = rest.trim_start_matches('-').trim_start();
    let word: String = word
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

fn command_line(line: &str, flags: &str) -> String {
    let mut out = String::with_capacity(line.len() + flags.len());
    let mut at_command = true;
    let mut i = 0;
    let bytes = line.as_bytes();
    while i < line.len() {
        let rest = &line[i..];
        if at_command {
            let trimmed = rest.trim_start();
            out.push_str(&rest[..rest.len() - trimmed.len()]);
            i += rest.len() - trimmed.len();
            if trimmed.starts_with('#') {
                out.push_str(trimmed);
                break;
            }
            at_command = false;
            for word in ["kubectl netdoctor ", "kubectl "] {
                if trimmed.starts_with(word) {
                    out.push_str(word.trim_end());
                    out.push_str(flags);
                    out.push(' ');
                    i += word.len();
                    break;
                }
            }
            continue;
        }
        // A comment ends the command; quoted text is copied whole.
        let c = rest.chars().next().unwrap_or_default();
        match c {
            '\'' | '"' => {
                let end = rest[1..].find(c).map_or(rest.len(), |e| e + 2);
                out.push_str(&rest[..end]);
                i += end;
            }
            '#' if i > 0 && bytes[i - 1] == b' ' => {
                out.push_str(rest);
                break;
            }
            '|' | ';' | '&' => {
                let run = rest.len() - rest.trim_start_matches(['|', ';', '&']).len();
                out.push_str(&rest[..run]);
                i += run;
                at_command = true;
            }
            '$' if rest.starts_with("$(") => {
                out.push_str("$(");
                i += 2;
                at_command = true;
            }
            _ => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: &str = " --context prod --kubeconfig /home/me/.kube/prod";

    #[test]
    fn every_kubectl_that_starts_a_command_gets_the_flags() {
        assert_eq!(
            with_flags(
                "kubectl patch deployment postgres -n shop --type merge -p '{\"a\":1}'   # labels the pods (rolls them)",
                PROD
            ),
            "kubectl --context prod --kubeconfig /home/me/.kube/prod patch deployment postgres -n shop --type merge -p '{\"a\":1}'   # labels the pods (rolls them)"
        );
        assert_eq!(
            with_flags("kubectl netdoctor svc cart -n shop", PROD),
            "kubectl netdoctor --context prod --kubeconfig /home/me/.kube/prod svc cart -n shop"
        );
        assert_eq!(
            with_flags(
                "kubectl get pods -n shop -l app=x | grep kubectl && kubectl get svc; echo $(kubectl get ns)",
                " --context p"
            ),
            "kubectl --context p get pods -n shop -l app=x | grep kubectl && kubectl --context p get svc; echo $(kubectl --context p get ns)"
        );
    }

    #[test]
    fn comments_quotes_and_heredocs_are_left_alone() {
        let fix = "# check first: kubectl get pods\nkubectl apply -f - <<'EOF'\nkind: NetworkPolicy\nkubectl: not a command\nEOF\nkubectl label pod p 'note=kubectl x'";
        assert_eq!(
            with_flags(fix, " --context p"),
            "# check first: kubectl get pods\nkubectl --context p apply -f - <<'EOF'\nkind: NetworkPolicy\nkubectl: not a command\nEOF\nkubectl --context p label pod p 'note=kubectl x'"
        );
        // Prose is not a command.
        assert_eq!(
            with_flags("edit deploy.yaml: set app: web", " --context p"),
            "edit deploy.yaml: set app: web"
        );
    }
}
