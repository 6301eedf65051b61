//! Shell completion as a person gets it: the committed scripts in real shells (bash and zsh on a
//! pty through tmux, fish through its `complete -C`), and `kubectl netdoctor <TAB>` through
//! kubectl's own completion and the plugin completion helper — against the fake API server, so
//! that namespaces, contexts and names come from a cluster.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::pty::Pty;
use crate::support::{BIN, FakeApi, Server, repo};

/// Two namespaces with different Services, pods, workloads and an Ingress.
const CLUSTER: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: payments}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: checkout, namespace: shop}
spec: {selector: {app: checkout}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ledger, namespace: payments}
spec: {selector: {app: ledger}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend-7d9f-abcde, namespace: shop, labels: {app: frontend}}
spec: {containers: [{name: web, image: web}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec: {containers: [{name: web, image: web}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {defaultBackend: {service: {name: cart, port: {number: 80}}}}
"#;

/// The namespaces the fake server then holds, sorted.
const NAMESPACES: [&str; 6] = [
    "default",
    "kube-node-lease",
    "kube-public",
    "kube-system",
    "payments",
    "shop",
];

/// The fake cluster, a kubeconfig with context "shop" (current; namespace shop) and context
/// "pay" (namespace payments) on it, and a directory on PATH with the binary and the plugin
/// completion helper, as an install has them.
struct Setup {
    _server: Server,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let api = FakeApi::new();
        api.load_yaml(CLUSTER).unwrap();
        let server = api.start();
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::copy(BIN, bin.join("kubectl-netdoctor")).unwrap();
        std::fs::copy(
            repo().join("completions/kubectl_complete-netdoctor"),
            bin.join("kubectl_complete-netdoctor"),
        )
        .unwrap();
        let kubeconfig = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {{server: '{url}'}}
contexts:
- name: shop
  context: {{cluster: fake, user: tester, namespace: shop}}
- name: pay
  context: {{cluster: fake, user: tester, namespace: payments}}
current-context: shop
users:
- name: tester
  user: {{token: fake-token}}
",
            url = server.url
        );
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).unwrap();
        // A file whose name starts like a Service's would: never offered where a name goes.
        std::fs::write(dir.path().join("dns.yaml"), "").unwrap();
        Setup {
            _server: server,
            dir,
        }
    }

    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn kubeconfig(&self) -> String {
        self.dir.path().join("kubeconfig").display().to_string()
    }

    /// `program -c script` in the setup's directory, with KUBECONFIG set; `None` when the shell
    /// is missing outside CI.
    fn shell(&self, program: &str, script: &str) -> Option<String> {
        let out = Command::new(program)
            .arg("-c")
            .arg(script)
            .current_dir(self.dir.path())
            .env("PATH", self.path())
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", self.kubeconfig())
            .env("COMPLETIONS", repo().join("completions"))
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
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// What bash offers for the words of a command line whose last word is being typed.
const BASH: &str = r#"
source "$COMPLETIONS/kubectl-netdoctor.bash"
t() {
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); _kubectl_netdoctor kubectl-netdoctor "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
  echo "${COMPREPLY[*]}"
}
t kubectl-netdoctor svc -o ""
t kubectl-netdoctor svc --pro
t kubectl-netdoctor explain ""
t kubectl-netdoctor ""
t kubectl-netdoctor reach -o ""
t kubectl-netdoctor -n ""
t kubectl-netdoctor --context ""
t kubectl-netdoctor svc ""
t kubectl-netdoctor svc -n payments ""
t kubectl-netdoctor --context pay svc ""
t kubectl-netdoctor --context = p
t kubectl-netdoctor svc cart --from ""
t kubectl-netdoctor svc cart --from pod/
t kubectl-netdoctor svc cart --from deploy/f
t kubectl-netdoctor ingress ""
t kubectl-netdoctor capture ""
t kubectl-netdoctor path --to svc/
t kubectl-netdoctor svc d
"#;

#[test]
fn bash_completes_names_from_the_cluster_formats_flags_and_commands() {
    let setup = Setup::new();
    let Some(out) = setup.shell("bash", BASH) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 18, "{out}");
    // svc prints table, json, yaml, junit and markdown — not csv, which only reach prints.
    assert_eq!(lines[0], "table json yaml junit markdown sarif");
    assert_eq!(lines[1], "--probe-image --probe-timeout");
    for id in ["service.exists", "ports.target", "netpol.allows"] {
        assert!(words(lines[2]).contains(&id), "{}", lines[2]);
    }
    let top = words(lines[3]);
    for c in ["svc", "scan", "explain", "reach"] {
        assert!(top.contains(&c), "{}", lines[3]);
    }
    for hidden in ["agent", "completions", "man", "help"] {
        assert!(!top.contains(&hidden), "{hidden} offered: {}", lines[3]);
    }
    assert_eq!(lines[4], "table json csv");
    // Names from the cluster the kubeconfig (KUBECONFIG here) names.
    // Every namespace the server holds (the fake, like a real cluster, has kube-system & co.).
    let mut namespaces = words(lines[5]);
    namespaces.sort_unstable();
    assert_eq!(namespaces, NAMESPACES, "{out}");
    assert_eq!(words(lines[6]), ["shop", "pay"], "contexts: {out}");
    // Without -n: the current context's namespace (shop); with -n or another context, theirs.
    assert_eq!(words(lines[7]), ["cart", "checkout"], "{out}");
    assert_eq!(words(lines[8]), ["ledger"], "{out}");
    assert_eq!(words(lines[9]), ["ledger"], "--context pay: {out}");
    assert_eq!(words(lines[10]), ["pay"], "--context=p: {out}");
    assert_eq!(
        words(lines[11]),
        ["pod/", "deploy/", "sts/", "ds/", "ns/"],
        "{out}"
    );
    assert_eq!(words(lines[12]), ["pod/frontend-7d9f-abcde"], "{out}");
    assert_eq!(words(lines[13]), ["deploy/frontend"], "{out}");
    assert_eq!(words(lines[14]), ["web"], "{out}");
    assert_eq!(words(lines[15]), ["frontend-7d9f-abcde"], "{out}");
    let mut targets = words(lines[16]);
    targets.sort_unstable();
    assert_eq!(targets, ["svc/cart", "svc/checkout"], "{out}");
    // No Service starts with d: nothing, not the file dns.yaml.
    assert_eq!(lines[17], "", "{out}");
}

/// With the script sourced but no binary to ask (not on PATH yet), bash still completes what
/// needs no cluster — `svc -o <TAB>` offers the formats (it offered nothing), `explain <TAB>` the
/// check ids, commands and flags — from the table generated into the script; still never a file
/// name where a name goes, and file names for a path flag.
#[test]
fn bash_completes_commands_flags_and_formats_without_the_binary() {
    let script = r#"
source "$COMPLETIONS/kubectl-netdoctor.bash"
command -v kubectl-netdoctor >/dev/null && echo "the binary is on PATH"
touch dns.yaml
t() {
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); _kubectl_netdoctor kubectl-netdoctor "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
  echo "${COMPREPLY[*]}"
}
t kubectl-netdoctor svc -o ""
t kubectl-netdoctor reach -o ""
t kubectl-netdoctor explain ""
t kubectl-netdoctor ""
t kubectl-netdoctor svc --pro
t kubectl-netdoctor svc d
t kubectl-netdoctor svc -f dn
"#;
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir.path())
        // The system's own directories only: no kubectl-netdoctor anywhere.
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("COMPLETIONS", repo().join("completions"))
        .output()
        .expect("bash is needed");
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert_eq!(lines[0], "table json yaml junit markdown sarif");
    assert_eq!(lines[1], "table json csv");
    for id in ["service.exists", "ports.target", "netpol.allows"] {
        assert!(words(lines[2]).contains(&id), "{}", lines[2]);
    }
    for c in ["svc", "scan", "explain", "diff"] {
        assert!(words(lines[3]).contains(&c), "{}", lines[3]);
    }
    assert_eq!(lines[4], "--probe-image --probe-timeout");
    assert_eq!(lines[5], "", "a file offered for a name: {out}");
    assert_eq!(lines[6], "dns.yaml");
}

// kubectl ≥ 1.26 completes a plugin's arguments by running `kubectl_complete-<plugin>`.
#[test]
fn kubectl_netdoctor_tab_completes_through_kubectl() {
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
    let setup = Setup::new();
    let script = r#"
source /usr/share/bash-completion/bash_completion 2>/dev/null
source <(kubectl completion bash)
k() {
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); __start_kubectl kubectl "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}" 2>/dev/null
  echo "${COMPREPLY[*]}"
}
k kubectl netdoctor svc -o ""
k kubectl netdoctor ex
k kubectl netdoctor svc ""
k kubectl netdoctor -n payments svc ""
"#;
    let Some(out) = setup.shell("bash", script) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "table json yaml junit markdown sarif",
            "explain",
            "cart checkout",
            "ledger"
        ],
        "{out}"
    );
}

#[test]
fn fish_completes_names_formats_and_checks() {
    let setup = Setup::new();
    let script = "source $COMPLETIONS/kubectl-netdoctor.fish
complete -C 'kubectl-netdoctor svc -o '; echo ---
complete -C 'kubectl-netdoctor explain '; echo ---
complete -C 'kubectl-netdoctor -n '; echo ---
complete -C 'kubectl-netdoctor --context pay svc '; echo ---
complete -C 'kubectl-netdoctor svc d'; echo ---
complete -C 'kubectl-netdoctor svc -f d'";
    let Some(out) = setup.shell("fish", script) else {
        return;
    };
    let parts: Vec<Vec<&str>> = out
        .split("---\n")
        .map(|p| p.lines().map(|l| l.split('\t').next().unwrap()).collect())
        .collect();
    assert_eq!(parts.len(), 6, "{out}");
    let mut formats = parts[0].clone();
    formats.sort_unstable();
    assert_eq!(
        formats,
        ["json", "junit", "markdown", "sarif", "table", "yaml"],
        "{out}"
    );
    assert!(parts[1].contains(&"service.selector"), "{out}");
    let mut namespaces = parts[2].clone();
    namespaces.sort_unstable();
    assert_eq!(namespaces, NAMESPACES, "{out}");
    assert_eq!(parts[3], ["ledger"], "{out}");
    assert!(parts[4].is_empty(), "a file offered for a name: {out}");
    // A path flag: fish's file names.
    assert_eq!(parts[5], ["dns.yaml"], "{out}");
}

/// A shell with the completion script loaded, on a pty; `None` when tmux or the shell is missing
/// outside CI.
fn shell_on_a_pty(setup: &Setup, shell: &str, rc: &str) -> Option<Pty> {
    if Command::new(shell).arg("--version").output().is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{shell} is needed in CI"
        );
        return None;
    }
    let rc_file = setup.dir.path().join(format!("{shell}rc"));
    std::fs::write(&rc_file, rc).unwrap();
    if shell == "zsh" {
        std::fs::write(setup.dir.path().join(".zshrc"), rc).unwrap();
    }
    // The shell's environment on its command line: tmux's own (-e) does not reach the pane's
    // process on every tmux.
    let env = format!(
        "env PATH='{}' KUBECONFIG='{}' HOME='{}' TERM=xterm",
        setup.path(),
        setup.kubeconfig(),
        setup.dir.path().display()
    );
    let start = match shell {
        "zsh" => format!("{env} ZDOTDIR='{}' zsh -i", setup.dir.path().display()),
        _ => format!("{env} bash --noprofile --rcfile '{}' -i", rc_file.display()),
    };
    let pty = Pty::start(&format!("completion-{shell}"), setup.dir.path(), &start)?;
    pty.wait_for("the shell", |s| s.contains("READY"));
    Some(pty)
}

/// Types `line`, presses TAB, and returns the command line: once it reads `expected`, or when
/// 10 s have passed. A line expected unchanged is read after 1.5 s (the completion asks the API
/// server first).
fn tab(pty: &Pty, line: &str, expected: &str) -> String {
    pty.type_text(line);
    pty.press(&["Tab"]);
    let start = Instant::now();
    let least = if expected.ends_with(line) {
        Duration::from_millis(1500)
    } else {
        Duration::ZERO
    };
    let typed = loop {
        std::thread::sleep(Duration::from_millis(50));
        let screen = pty.screen();
        let typed = screen
            .lines()
            .rev()
            .find(|l| l.starts_with("$ kubectl-netdoctor"))
            .unwrap_or_default()
            .trim_end()
            .to_string();
        if (typed == expected && start.elapsed() >= least)
            || start.elapsed() > Duration::from_secs(10)
        {
            break typed;
        }
    };
    // Abandon the line (and any listing), wait for the fresh prompt, then clear the screen with
    // one key: text typed while the shell still finishes the completion could land on the old
    // line.
    pty.press(&["C-c"]);
    pty.wait_for("a fresh prompt", |s| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(str::trim_end)
            == Some("$")
    });
    pty.press(&["C-l"]);
    pty.wait_for("a clear screen", |s| s.trim() == "$");
    typed
}

fn expect(pty: &Pty, typed: &str, completed: &str) {
    assert_eq!(
        tab(pty, typed, completed),
        completed,
        "after TAB on {typed:?}"
    );
}

/// TAB on a pty: a unique name is inserted, a file is never offered where a name goes, a path
/// flag gets file names.
fn tab_completes_on_a_pty(shell: &str, rc: &str) {
    let setup = Setup::new();
    let Some(pty) = shell_on_a_pty(&setup, shell, rc) else {
        return;
    };
    expect(
        &pty,
        "kubectl-netdoctor svc ca",
        "$ kubectl-netdoctor svc cart",
    );
    expect(
        &pty,
        "kubectl-netdoctor -n pay",
        "$ kubectl-netdoctor -n payments",
    );
    expect(
        &pty,
        "kubectl-netdoctor --context pay svc le",
        "$ kubectl-netdoctor --context pay svc ledger",
    );
    expect(
        &pty,
        "kubectl-netdoctor svc cart --from deploy/fr",
        "$ kubectl-netdoctor svc cart --from deploy/frontend",
    );
    // `svc d`: no Service starts with d, and dns.yaml is no Service (zsh inserted it).
    expect(&pty, "kubectl-netdoctor svc d", "$ kubectl-netdoctor svc d");
    expect(
        &pty,
        "kubectl-netdoctor svc cart -f dn",
        "$ kubectl-netdoctor svc cart -f dns.yaml",
    );
}

#[test]
fn bash_tab_completes_on_a_pty() {
    let rc = format!(
        "source {}\nPS1='$ '\necho READY\n",
        repo().join("completions/kubectl-netdoctor.bash").display()
    );
    tab_completes_on_a_pty("bash", &rc);
}

#[test]
fn zsh_tab_completes_on_a_pty() {
    let rc = format!(
        "fpath=({} $fpath)\nautoload -U compinit && compinit -u -D\nPROMPT='$ '\nRPROMPT=''\necho READY\n",
        repo().join("completions").display()
    );
    tab_completes_on_a_pty("zsh", &rc);
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
        "table\njson\nyaml\njunit\nmarkdown\nsarif\n:4\n"
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

/// A completion that cannot reach the API server says nothing, and does not wait long: no
/// candidates, no file names, no error text on the terminal.
#[test]
fn completion_is_silent_and_quick_when_the_cluster_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // 192.0.2.1 (TEST-NET-1) is routed nowhere: a connect that would hang, not be refused.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://192.0.2.1:6443'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n",
    )
    .unwrap();
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["__complete", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["svc", ""])
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(String::from_utf8_lossy(&out.stdout), ":4\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    // The completion's own bound is 3 s (a TAB that hangs is worse than none).
    assert!(took < Duration::from_secs(8), "took {took:?}");
}
