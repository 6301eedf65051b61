//! Hostile cluster text: whoever can create an event or name an object must not be able to break a
//! CI report, forge a line in it, hide text from a reader, or run a command through a pasted fix.

use crate::support::{FakeApi, Run, repo};

/// The not-ready scenario plus an event whose message carries XML-invalid characters, a newline
/// followed by a forged verdict, and invisible bidirectional and zero-width characters.
fn hostile_events() -> fakeapi::Server {
    let dir = repo().join("tests/scenarios/not-ready");
    let api = FakeApi::new();
    for f in ["manifests.yaml", "cluster.yaml"] {
        api.load_yaml(&std::fs::read_to_string(dir.join(f)).unwrap())
            .unwrap();
    }
    api.insert(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "cart-7c9d5-aaaaa.2", "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "cart-7c9d5-aaaaa"},
        "type": "Warning",
        "reason": "Hostile",
        "message": "bad\u{FFFE}\u{FFFF} xml\nVERDICT: PASS\u{2028}VERDICT: PASS \u{202E}evil\u{200E}\u{200F}\u{061C}\u{200B}\u{FEFF}end",
    }))
    .unwrap();
    api.start()
}

const INVISIBLE: &[char] = &[
    '\u{FFFE}', '\u{FFFF}', '\u{2028}', '\u{202E}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}',
    '\u{FEFF}',
];

#[test]
fn a_hostile_event_cannot_break_or_forge_a_junit_report() {
    let server = hostile_events();
    let out = Run::new(["svc", "cart", "-n", "shop", "-o", "junit"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = roxmltree::Document::parse(&out.stdout)
        .unwrap_or_else(|e| panic!("ill-formed JUnit: {e}\n{}", out.stdout));
    let text: String = doc
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        // Issue 18 item 20: invisible characters are shown escaped, never dropped.
        text.contains(
            r"event Hostile: bad\ufffe\uffff xml VERDICT: PASS VERDICT: PASS \u202eevil\u200e\u200f\u061c\u200b\ufeffend"
        ),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.trim() == "VERDICT: PASS"),
        "a forged line: {text}"
    );
    assert!(!out.stdout.contains(INVISIBLE), "{}", out.stdout);
}

#[test]
fn a_hostile_event_is_neutralised_in_table_and_markdown() {
    let server = hostile_events();
    for format in ["table", "markdown"] {
        let out = Run::new(["svc", "cart", "-n", "shop", "-o", format])
            .kubeconfig(&server, None)
            .run();
        assert_eq!(out.code, 1, "{}", out.stderr);
        let shown = match format {
            // Markdown shows a backslash as `\\`: rendered, it reads as the table does.
            "markdown" => r"\\u202eevil\\u200e\\u200f\\u061c\\u200b\\ufeffend",
            _ => r"\u202eevil\u200e\u200f\u061c\u200b\ufeffend",
        };
        assert!(out.stdout.contains(shown), "{format}: {}", out.stdout);
        assert!(!out.stdout.contains(INVISIBLE), "{format}: {}", out.stdout);
        assert!(
            !out.stdout.lines().any(|l| l.trim() == "VERDICT: PASS"),
            "{format}: {}",
            out.stdout
        );
    }
}

/// JSON and YAML keep the event's message exactly (a reader gets the same string back) but print
/// no bidirectional, zero-width or C1 character raw (issue 18 item 20): `-o json | less` and a CI
/// log must not reorder or hide text either.
#[test]
fn a_hostile_event_is_escaped_in_json_and_yaml() {
    let server = hostile_events();
    let c1 = "\u{9b}31m";
    for format in ["json", "yaml"] {
        let out = Run::new(["svc", "cart", "-n", "shop", "-o", format])
            .kubeconfig(&server, None)
            .run();
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(!out.stdout.contains(INVISIBLE), "{format}: {}", out.stdout);
        assert!(!out.stdout.contains(c1), "{format}");
        let doc: serde_json::Value = match format {
            "json" => serde_json::from_str(&out.stdout).unwrap(),
            _ => serde_saphyr::from_str(&out.stdout).unwrap(),
        };
        let text = doc.to_string();
        assert!(
            text.contains(r"\u202eevil\u200e\u200f\u061c\u200b\ufeffend")
                || text.contains("\u{202E}evil\u{200E}\u{200F}\u{061C}\u{200B}\u{FEFF}end"),
            "{format}: the message did not read back: {text}"
        );
    }
}

/// Runs every `kubectl …` command of the fixes in a real bash, with a `kubectl` that records its
/// arguments: the names must arrive as one argument each, and nothing else may run.
#[test]
fn fix_commands_quote_every_cluster_name() {
    let owner = "web$(touch pwned)`touch pwned2`-7d9f";
    let api = FakeApi::new();
    api.load_yaml(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web, tier: 'db;x'}, ports: [{port: 80}]}\n",
    )
    .unwrap();
    api.insert(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-1", "namespace": "shop", "labels": {"app": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": "u", "controller": true}],
        },
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "podIP": "10.1.1.1", "conditions": [{"type": "Ready", "status": "True"}]},
    }))
    .unwrap();
    let server = api.start();
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let fixes = crate::support::fix_texts(&out.json()["verdict"]["fix"]);
    let commands: Vec<String> = crate::support::fix_commands(&out.json()["verdict"]["fix"])
        .iter()
        .map(|c| crate::support::unflagged(c))
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("kubectl patch replicaset")),
        "{fixes:#?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let kubectl = dir.path().join("kubectl");
    std::fs::write(
        &kubectl,
        "#!/bin/bash\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> \"$ARGS\"\necho --- >> \"$ARGS\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &kubectl,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let args = dir.path().join("args");
    for c in &commands {
        let status = std::process::Command::new("bash")
            .arg("-c")
            .arg(c)
            .current_dir(dir.path())
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .env("ARGS", &args)
            .status()
            .unwrap();
        assert!(status.success(), "{c}");
    }
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists());
    let recorded = std::fs::read_to_string(&args).unwrap();
    assert!(
        recorded.lines().any(|l| l == owner),
        "the owner's name is not one argument: {recorded}"
    );
}

/// `-v` says what it reads — the Service's selector, names from the cluster — and that text
/// reaches the terminal: an escape sequence in it (ESC, OSC setting the title) is neutralised
/// like everywhere else (issue 18 item 21).
#[test]
fn verbose_lines_neutralise_what_the_cluster_says() {
    let api = FakeApi::new();
    api.insert(serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "w\u{1b}]0;pwned\u{7}eb\u{1b}[2J"}, "ports": [{"port": 80}]},
    }))
    .unwrap();
    let server = api.start();
    let out = Run::new(["svc", "web", "-n", "shop", "-v"])
        .kubeconfig(&server, None)
        .run();
    assert!(
        out.stderr.contains("netdoctor: list pods"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    assert!(!out.stderr.contains('\u{7}'), "{:?}", out.stderr);
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
}
