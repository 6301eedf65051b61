//! A fix as data: what it does, the commands that do it, what it disturbs, and what to check
//! first. Checks say a fix in one line of text (`summary: command`, `command   # effect`, a
//! here-document, or, offline, the file edit in words); [`Fix::read`] takes that text apart once,
//! at the report's boundary, and puts the run's connection flags into every command
//! ([`crate::connection::targeted`]). Renderers then print commands as commands: alone on their
//! lines, never wrapped or indented into a here-document that cannot end.

use serde::Serialize;

/// One way to repair what a check found.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Fix {
    /// What it does, in words.
    pub summary: String,
    /// The commands, in order, each as it runs when pasted into bash (a here-document whole).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// What applying it disturbs ("rolls the pods").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    /// What to check before applying it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caution: Option<String>,
    /// Offline: the object to add to the manifests, as YAML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

/// The words that start a command a fix prints.
fn is_command(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("kubectl ") || t.starts_with("helm ")
}

impl Fix {
    /// Takes a check's fix text apart (see the module's doc).
    pub(crate) fn read(text: &str) -> Fix {
        let mut fix = Fix {
            summary: String::new(),
            commands: Vec::new(),
            effect: None,
            caution: None,
            manifest: None,
        };
        let mut summary: Vec<String> = Vec::new();
        let mut lines = text.split('\n').peekable();
        while let Some(line) = lines.next() {
            let line = line.trim_end();
            if line.trim().is_empty() {
                continue;
            }
            // Offline: "…: add to the manifests:" and the object's YAML after it.
            if line.trim_start().starts_with("apiVersion:") {
                let mut yaml = vec![line.to_string()];
                yaml.extend(lines.by_ref().map(str::to_string));
                fix.manifest = Some(yaml.join("\n").trim_end().to_string() + "\n");
                break;
            }
            let (prose, command) = match line.find(": kubectl ") {
                _ if is_command(line) => (None, Some(line.trim_start())),
                Some(i) => (Some(&line[..i]), Some(&line[i + 2..])),
                None => (Some(line), None),
            };
            if let Some(p) = prose {
                // A comment line heads the command under it ("# or a new policy").
                let p = p
                    .trim()
                    .trim_start_matches('#')
                    .trim()
                    .trim_end_matches(':')
                    .trim();
                let p = p
                    .strip_prefix("or, ")
                    .or_else(|| p.strip_prefix("or "))
                    .unwrap_or(p);
                if p.starts_with("check first") {
                    fix.caution = Some(p.to_string());
                } else if !p.is_empty() {
                    summary.push(p.to_string());
                }
            }
            let Some(command) = command else { continue };
            let (mut command, comment) = split_comment(command);
            // "labels the pods (rolls them)": what it does, and what that disturbs.
            if let Some(c) = comment {
                match c.strip_suffix(')').and_then(|c| c.rsplit_once(" (")) {
                    Some((what, effect)) if disturbs(effect) => {
                        summary.push(what.to_string());
                        fix.effect = Some(effect.to_string());
                    }
                    _ if disturbs(&c) => fix.effect = Some(c),
                    _ => summary.push(c),
                }
            }
            // A here-document runs to its closing word: one command.
            if let Some(end) = crate::connection::heredoc_end(&command) {
                for body in lines.by_ref() {
                    command.push('\n');
                    command.push_str(body);
                    if body.trim() == end {
                        break;
                    }
                }
            }
            fix.commands.push(command);
        }
        // A guard alone ("check first …: kubectl get …") joins the fix before it: see `ordered`.
        if summary.is_empty() && fix.caution.is_none() {
            summary.push(
                fix.commands
                    .first()
                    .map_or("see the evidence", |c| describe(c))
                    .to_string(),
            );
        }
        for c in &mut fix.commands {
            *c = crate::connection::targeted(c);
        }
        fix.summary = summary.join("; ");
        fix
    }

    /// Whether applying it restarts or replaces pods: such fixes come after the others.
    fn disruptive(&self) -> bool {
        self.effect.as_deref().is_some_and(disturbs)
    }

    /// The fix as lines of text (JUnit, a one-column view): the summary, then each command.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut out = vec![match &self.effect {
            Some(e) => format!("{} ({e})", self.summary),
            None => self.summary.clone(),
        }];
        if let Some(c) = &self.caution {
            out.push(format!("{c}:"));
        }
        out.extend(self.commands.iter().cloned());
        if let Some(m) = &self.manifest {
            out.push(m.trim_end().to_string());
        }
        out
    }
}

/// Orders fixes least disruptive first (a selector change before a template change that rolls
/// the pods), keeping the checks' order otherwise. A guard the checks wrote after the fix it
/// guards ("check first that …: kubectl get …") becomes that fix's caution, its command first.
pub(crate) fn ordered(fixes: Vec<Fix>) -> Vec<Fix> {
    let mut out: Vec<Fix> = Vec::new();
    for mut f in fixes {
        if f.summary.is_empty() {
            match out.last_mut() {
                Some(prev) if prev.caution.is_none() => {
                    prev.caution = f.caution;
                    f.commands.append(&mut prev.commands);
                    prev.commands = f.commands;
                    continue;
                }
                _ => f.summary = f.caution.clone().unwrap_or_default(),
            }
        }
        out.push(f);
    }
    out.sort_by_key(Fix::disruptive);
    out
}

/// Whether an effect restarts, replaces or deletes something.
fn disturbs(effect: &str) -> bool {
    ["roll", "restart", "delete", "replace"]
        .iter()
        .any(|w| effect.contains(w))
}

/// `command   # comment` → the command and the comment (a `#` inside quotes is not one).
fn split_comment(line: &str) -> (String, Option<String>) {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if prev == ' ' => {
                let comment = line[i + 1..].trim();
                return (
                    line[..i].trim_end().to_string(),
                    (!comment.is_empty()).then(|| comment.to_string()),
                );
            }
            _ => {}
        }
        prev = c;
    }
    (line.to_string(), None)
}

/// A summary for a bare command, from what it does.
fn describe(command: &str) -> &'static str {
    // The checks write the verb right after `kubectl` (the connection flags come later).
    let verb = command.split_whitespace().nth(1).unwrap_or_default();
    match verb {
        "get" => "see what exists",
        "describe" => "read its state and events",
        "logs" => "read its log",
        "netdoctor" => "diagnose again",
        "create" | "apply" => "create what is missing",
        "label" => "label it",
        "patch" | "edit" => "change it",
        "scale" => "scale it",
        _ => "run",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_commands_effects_and_cautions_are_told_apart() {
        let f = Fix::read(
            "kubectl patch deployment postgres -n shop --type merge -p '{\"a\":\"#1\"}'   # labels the pods (rolls them)",
        );
        assert_eq!(
            f.commands,
            ["kubectl patch deployment postgres -n shop --type merge -p '{\"a\":\"#1\"}'"]
        );
        assert_eq!(f.effect.as_deref(), Some("rolls them"));
        assert_eq!(f.summary, "labels the pods");
        let f = Fix::read(
            "or change the Service's selector: kubectl patch service postgres -n shop --type json -p '[]'\ncheck first that the new selector picks only the intended pods: kubectl get pods -n shop -l app=postgres",
        );
        assert_eq!(f.summary, "change the Service's selector");
        assert_eq!(
            f.caution.as_deref(),
            Some("check first that the new selector picks only the intended pods")
        );
        assert_eq!(f.commands.len(), 2);
        assert_eq!(f.effect, None);
    }

    #[test]
    fn a_heredoc_is_one_command_and_a_manifest_is_data() {
        let f = Fix::read(
            "or a new policy (additive: it allows only this client): kubectl apply -f - <<'EOF'\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nEOF",
        );
        assert_eq!(
            f.summary,
            "a new policy (additive: it allows only this client)"
        );
        assert_eq!(
            f.commands,
            [
                "kubectl apply -f - <<'EOF'\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nEOF"
            ]
        );
        let f =
            Fix::read("a policy for the client: add to the manifests:\napiVersion: v1\nkind: X\n");
        assert_eq!(f.summary, "a policy for the client: add to the manifests");
        assert_eq!(f.manifest.as_deref(), Some("apiVersion: v1\nkind: X\n"));
        assert!(f.commands.is_empty());
    }

    #[test]
    fn the_least_disruptive_fix_comes_first() {
        let fixes = ordered(vec![
            Fix::read("kubectl patch deployment x   # labels the pods (rolls them)"),
            Fix::read("or change the Service's selector: kubectl patch service x"),
        ]);
        assert_eq!(fixes[0].summary, "change the Service's selector");
        assert_eq!(fixes[1].summary, "labels the pods");
        // The guard written after a fix leads it.
        let fixes = ordered(vec![
            Fix::read("or change the Service's selector: kubectl patch service x"),
            Fix::read("check first that it picks only the intended pods: kubectl get pods -l a=b"),
        ]);
        assert_eq!(fixes.len(), 1);
        assert_eq!(
            fixes[0].commands,
            ["kubectl get pods -l a=b", "kubectl patch service x"]
        );
        assert_eq!(
            fixes[0].caution.as_deref(),
            Some("check first that it picks only the intended pods")
        );
    }
}
