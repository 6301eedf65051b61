//! The adversarial invariants (issue 18), held over hostile fixtures in every command and format,
//! offline and live: no panic, exit codes that mean something (0–3), no terminal control or
//! invisible character in any output, machine formats that parse, no write to the cluster under
//! `--no-probe`, bounded time and memory, and a signal that stops the run within a second.

use std::time::Duration;

use crate::support::{FakeApi, Output, Run};

const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}\n";

fn pod(name: &str, labels: &str, ip: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: shop, labels: {{{labels}}}}}\nspec: {{containers: [{{name: c, image: i, ports: [{{name: http, containerPort: 8080}}]}}]}}\nstatus: {{phase: Running, podIP: {ip}, conditions: [{{type: Ready, status: 'True'}}]}}\n"
    )
}

/// Each fixture: a name and a YAML stream around the Service shop/web.
fn fixtures() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    // Terminal escapes, OSC, bidi, zero-width and TAG characters wherever a string may be.
    let hostile =
        "we\u{200B}b\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202E}txt.exe\u{E0041}\u{9b}31m\nVERDICT: PASS";
    out.push((
        "escapes",
        format!(
            "{SVC}---\n{}---\napiVersion: v1\nkind: Event\nmetadata: {{name: e1, namespace: shop}}\ninvolvedObject: {{kind: Pod, namespace: shop, name: web-1}}\ntype: Warning\nreason: Hostile\nmessage: {}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: other, namespace: shop, annotations: {{a: {}}}}}\nspec: {{selector: {{app: {}}}, ports: [{{port: 81}}]}}\n",
            pod("web-1", &format!("app: {}", serde_json::to_string(hostile).unwrap()), "10.244.0.5"),
            serde_json::to_string(hostile).unwrap(),
            serde_json::to_string(hostile).unwrap(),
            serde_json::to_string(hostile).unwrap(),
        ),
    ));
    // Lookalike letters: a Cyrillic е in the pods' value.
    out.push((
        "lookalike",
        format!("{SVC}---\n{}", pod("web-1", "app: w\u{435}b", "10.244.0.5")),
    ));
    // A CRD whose schema nests 60 levels, as `kubectl get crd -o json` prints it.
    let mut schema = serde_json::json!({"type": "string"});
    for _ in 0..60 {
        schema = serde_json::json!({"type": "object", "properties": {"x": schema}});
    }
    let crd = serde_json::json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "deep.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Deep", "plural": "deep"}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema}}]}});
    out.push((
        "deep-crd",
        format!(
            "{SVC}---\n{}---\n{}\n",
            pod("web-1", "app: web", "10.244.0.5"),
            serde_json::to_string(&crd).unwrap()
        ),
    ));
    // Two thousand policies that select the pods and allow nothing on the port.
    let mut many = format!("{SVC}---\n{}", pod("web-1", "app: web", "10.244.0.5"));
    for i in 0..2000 {
        many.push_str(&format!("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: shop}}\nspec: {{podSelector: {{matchLabels: {{app: web}}}}, ingress: [{{ports: [{{port: 9999}}]}}]}}\n"));
    }
    out.push(("many-policies", many));
    // 200 pods, each with a label of its own, and one policy with 200 rules naming them.
    let mut uniq = SVC.to_string();
    let mut rules = Vec::new();
    for i in 0..200 {
        uniq.push_str("---\n");
        uniq.push_str(&pod(
            &format!("web-{i}"),
            &format!("app: web, uniq: u{i}, role: r{i}"),
            &format!("10.244.{}.{}", i / 200, i % 200 + 2),
        ));
        rules.push(format!(
            "{{from: [{{podSelector: {{matchLabels: {{role: r{i}}}}}}}], ports: [{{port: {}}}]}}",
            1000 + i
        ));
    }
    uniq.push_str(&format!("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: big, namespace: shop}}\nspec: {{podSelector: {{}}, ingress: [{}]}}\n", rules.join(", ")));
    out.push(("uniq-labels", uniq));
    // Ports the API server would refuse, and a megabyte annotation.
    out.push((
        "weird-ports",
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: shop, annotations: {{big: '{}'}}}}\nspec: {{selector: {{app: web}}, ports: [{{name: a, port: 0, targetPort: 'bad name!'}}, {{name: b, port: 70000, targetPort: -1}}, {{name: c, port: 80, targetPort: HTTP}}]}}\n---\n{}",
            "x".repeat(1 << 20),
            pod("web-1", "app: web", "10.244.0.5")
        ),
    ));
    out
}

/// Characters that must never reach an output raw: controls but newline and tab, bidi marks,
/// zero-width characters, TAG characters.
fn raw_hidden(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{E0000}'..='\u{E007F}')
    })
}

/// The invariants every run holds, whatever the input.
fn holds(what: &str, format: &str, out: &Output) {
    assert!(
        (0..=3).contains(&out.code),
        "{what}: exit {}: {}",
        out.code,
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("RUST_BACKTRACE"),
        "{what}: {}",
        out.stderr
    );
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if let Some(c) = raw_hidden(text) {
            panic!("{what}: {stream} holds {c:?} raw");
        }
    }
    // A forged verdict line never starts a line of its own: one verdict line at most.
    let verdicts = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("VERDICT: "))
        .count();
    assert!(verdicts <= 1, "{what}: {verdicts} verdict lines");
    match format {
        "json" | "sarif" => {
            serde_json::from_str::<serde_json::Value>(&out.stdout)
                .unwrap_or_else(|e| panic!("{what}: JSON does not parse ({e})"));
        }
        "yaml" => {
            serde_saphyr::from_str::<serde_json::Value>(&out.stdout)
                .unwrap_or_else(|e| panic!("{what}: YAML does not parse ({e})"));
        }
        "junit" => {
            roxmltree::Document::parse(&out.stdout)
                .unwrap_or_else(|e| panic!("{what}: JUnit does not parse ({e})"));
        }
        _ => {}
    }
}

fn runs() -> Vec<(Vec<&'static str>, &'static str)> {
    let mut out = Vec::new();
    for format in ["table", "json", "yaml", "junit", "markdown", "sarif"] {
        out.push((vec!["svc", "web", "-n", "shop", "-o", format], format));
        out.push((vec!["scan", "-n", "shop", "-o", format], format));
    }
    for format in ["table", "json", "csv"] {
        out.push((vec!["reach", "-n", "shop", "-o", format], format));
    }
    out
}

#[test]
fn hostile_fixtures_hold_the_invariants_offline() {
    for (name, yaml) in fixtures() {
        for (args, format) in runs() {
            let out = Run::new(&args)
                .args(["-f", "-"])
                .stdin(&yaml)
                .timeout(Duration::from_secs(60))
                .run();
            holds(&format!("{name}: {args:?} offline"), format, &out);
        }
    }
}

#[test]
fn hostile_fixtures_hold_the_invariants_live_without_a_write() {
    for (name, yaml) in fixtures() {
        let api = FakeApi::new();
        // What the API server would refuse cannot be served: those stay offline fixtures.
        if api.load_yaml(&yaml).is_err() {
            continue;
        }
        let server = api.start();
        for (args, format) in runs() {
            let out = Run::new(&args)
                .kubeconfig(&server, None)
                .timeout(Duration::from_secs(60))
                .run();
            holds(&format!("{name}: {args:?} live"), format, &out);
        }
        let writes: Vec<String> = server
            .requests()
            .iter()
            .filter(|r| r.is_write())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(writes.is_empty(), "{name}: wrote {writes:?}");
    }
}

/// Bounded memory and time on the largest fixtures, and a signal that stops the run within a
/// second whatever it is doing (issue 18 item 3).
#[test]
fn hostile_fixtures_stop_on_a_signal_and_stay_bounded() {
    for (name, yaml) in fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.yaml");
        std::fs::write(&file, &yaml).unwrap();
        let args = ["scan", "-A", "-o", "json", "-f"].map(std::ffi::OsStr::new);
        let mut args = args.to_vec();
        args.push(file.as_os_str());
        let out = crate::support::measured(&args, dir.path());
        let (code, kib) = (out.code, out.peak_kib);
        assert!((0..=3).contains(&code), "{name}: exit {code}");
        assert!(kib < 512 * 1024, "{name}: peak RSS {} MiB", kib / 1024);
    }
    // reach over the 200-rule fixture decides for seconds: SIGINT and SIGTERM stop it at once.
    let (_, uniq) = fixtures()
        .into_iter()
        .find(|(n, _)| *n == "uniq-labels")
        .unwrap();
    // The signal lands while rows stream (300 ms), or while the input is still parsed (60 ms):
    // the command takes stdout only after, and must still stop at its first row.
    for ((signal, code), after_ms) in [("INT", 130), ("TERM", 143)]
        .into_iter()
        .flat_map(|s| [(s, 60), (s, 300)])
    {
        let run = Run::new(["reach", "-n", "shop", "-o", "json"]);
        let file = run.write("in.yaml", &uniq);
        let after = Duration::from_millis(after_ms);
        let out = run
            .arg("-f")
            .arg(file.display().to_string())
            .run_interrupted(signal, after);
        if out.elapsed < after {
            continue; // finished before the signal: nothing to stop
        }
        if out.code == -1 {
            // Killed by the signal itself: it came before the process installed its handlers
            // (a slow start), which stops it at once too, with nothing to say.
            continue;
        }
        assert_eq!(out.code, code, "SIG{signal}: {}", out.stderr);
        assert!(
            out.elapsed < after + Duration::from_secs(1),
            "SIG{signal} at {after_ms} ms: stopped after {:?}",
            out.elapsed
        );
        serde_json::from_str::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("SIG{signal}: no JSON document ({e}): {}", out.stdout));
    }
}
