//! Shell completion as a person gets it: the committed scripts sourced into real shells, and
//! `kubectl netdoctor <TAB>` through kubectl's own completion and the plugin completion helper.

use std::process::Command;

use crate::support::{BIN, repo};

/// A directory on PATH with the binary and the plugin completion helper, as an install has them.
fn path_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(BIN, dir.path().join("kubectl-netdoctor")).unwrap();
    std::fs::copy(
        repo().join("completions/kubectl_complete-netdoctor"),
        dir.path().join("kubectl_complete-netdoctor"),
    )
    .unwrap();
    dir
}

fn shell(program: &str, script: &str, dir: &tempfile::TempDir) -> Option<String> {
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(program)
        .arg("-c")
        .arg(script)
        .current_dir(repo())
        .env("PATH", path)
        .env("HOME", dir.path())
        .env_remove("KUBECONFIG")
        .output();
    match out {
        Ok(o) => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        Err(_) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: no {program}");
            None
        }
        Err(e) => panic!("{program} is needed in CI: {e}"),
    }
}

/// What bash offers for the words of a command line whose last word is being typed.
const BASH: &str = r#"
source completions/kubectl-netdoctor.bash
f=$(complete -p kubectl-netdoctor | sed -n 's/.*-F \([^ ]*\).*/\1/p')
t() {
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); $f kubectl-netdoctor "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
  echo "${COMPREPLY[*]}"
}
t kubectl-netdoctor svc -o ""
t kubectl-netdoctor svc --pro
t kubectl-netdoctor explain ""
t kubectl-netdoctor ""
t kubectl-netdoctor reach -o ""
"#;

#[test]
fn bash_completes_formats_flags_checks_and_commands() {
    let dir = path_dir();
    let Some(out) = shell("bash", BASH, &dir) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    // svc prints table, json, yaml, junit and markdown — not csv, which only reach prints.
    assert_eq!(lines[0], "table json yaml junit markdown");
    assert_eq!(lines[1], "--probe-image --probe-timeout");
    for id in ["service.exists", "ports.target", "netpol.allows"] {
        assert!(lines[2].split(' ').any(|w| w == id), "{}", lines[2]);
    }
    let top: Vec<&str> = lines[3].split(' ').collect();
    for c in ["svc", "scan", "explain", "reach"] {
        assert!(top.contains(&c), "{}", lines[3]);
    }
    for hidden in ["agent", "completions", "man"] {
        assert!(
            !top.contains(&hidden),
            "hidden {hidden} offered: {}",
            lines[3]
        );
    }
    assert_eq!(lines[4], "table json csv");
}

// kubectl ≥ 1.26 completes a plugin's arguments by running `kubectl_complete-<plugin>`.
#[test]
fn kubectl_netdoctor_tab_completes_through_kubectl() {
    let dir = path_dir();
    let script = r#"
source /usr/share/bash-completion/bash_completion 2>/dev/null
source <(kubectl completion bash)
COMP_WORDS=(kubectl netdoctor svc -o ""); COMP_CWORD=4; COMP_LINE="kubectl netdoctor svc -o "; COMP_POINT=${#COMP_LINE}
__start_kubectl kubectl "" -o 2>/dev/null
echo "${COMPREPLY[*]}"
COMP_WORDS=(kubectl netdoctor ex); COMP_CWORD=2; COMP_LINE="kubectl netdoctor ex"; COMP_POINT=${#COMP_LINE}
__start_kubectl kubectl ex netdoctor 2>/dev/null
echo "${COMPREPLY[*]}"
"#;
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "kubectl is needed in CI"
        );
        return;
    }
    let Some(out) = shell("bash", script, &dir) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["table json yaml junit markdown", "explain"],
        "{out}"
    );
}

#[test]
fn fish_completes_formats_and_checks() {
    let dir = path_dir();
    let script = "source completions/kubectl-netdoctor.fish; complete -C 'kubectl-netdoctor svc -o '; echo ---; complete -C 'kubectl-netdoctor explain '";
    let Some(out) = shell("fish", script, &dir) else {
        return;
    };
    let (formats, checks) = out.split_once("---\n").expect("two lists");
    let formats: Vec<&str> = formats
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(
        formats,
        ["json", "junit", "markdown", "table", "yaml"],
        "{out}"
    );
    assert!(
        checks.lines().any(|l| l.starts_with("service.selector")),
        "{out}"
    );
}

#[test]
fn zsh_loads_the_completion_function() {
    let dir = path_dir();
    let script = "fpath=(completions $fpath); autoload -U compinit && compinit -u; print ${+_comps[kubectl-netdoctor]}";
    let Some(out) = shell("zsh", script, &dir) else {
        return;
    };
    assert_eq!(
        out.trim(),
        "1",
        "compinit did not register _kubectl-netdoctor"
    );
}

#[test]
fn the_plugin_completion_helper_speaks_cobras_protocol() {
    let out = Command::new(BIN)
        .args(["__complete", "svc", "--output", ""])
        .output()
        .unwrap();
    // Candidates, then the directive: 4 = ShellCompDirectiveNoFileComp.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "table\njson\nyaml\njunit\nmarkdown\n:4\n"
    );
    let out = Command::new(BIN)
        .args(["__complete", "explain", "service.s"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "service.selector\n:4\n"
    );
    // Path flags leave completion to the shell's file names: directive 0 (default), on which
    // cobra's scripts hand the word to readline's file completion (`compopt -o default`) —
    // issue 18 item 23; it was 4, no file names at all.
    for words in [
        &["svc", "web", "-f", ""][..],
        &["--kubeconfig", ""],
        &["capture", "web-a", "-w", ""],
        &["scan", "--certificate-authority", ""],
    ] {
        let out = Command::new(BIN)
            .arg("__complete")
            .args(words)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), ":0\n", "{words:?}");
    }
}
