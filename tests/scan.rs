//! `scan`: every Service of a scope, exit codes for CI, request counts, and the CI formats.

use crate::support::{FakeApi, Run, repo, server_with};

pub(crate) fn validate(value: &serde_json::Value, schema: &str) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    // The scan schema refers to the Diagnosis schema by its published $id.
    let diagnosis: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schema/diagnosis.schema.json")).unwrap(),
    )
    .unwrap();
    compiler
        .add_resource("https://netdoctor.io/schema/v1/diagnosis.json", diagnosis)
        .unwrap();
    let path = repo().join("schema").join(schema);
    let idx = compiler
        .compile(path.to_str().unwrap(), &mut schemas)
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = schemas.validate(value, idx) {
        panic!("output does not match {schema}: {e:#}");
    }
}

#[test]
fn offline_scan_of_the_broken_shop_fails_and_matches_the_schema() {
    let dir = repo().join("examples/broken-shop").display().to_string();
    let out = Run::new(["scan", "-n", "shop", "-o", "json", "-f", &dir]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let j = out.json();
    validate(&j, "scan.schema.json");
    assert_eq!(j["kind"], "ScanReport");
    // scan is API-level: the probe's checks are not in its reports at all.
    for item in j["items"].as_array().unwrap() {
        let ids: Vec<&str> = item["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "service.exists",
                "service.selector",
                "endpoints.ready",
                "ports.target",
                "ingress.routes",
                "gateway.routes",
                "netpol.allows"
            ],
            "{item:#}"
        );
    }
    let s = &j["summary"];
    assert_eq!(
        (
            s["services"].as_u64(),
            s["fail"].as_u64(),
            s["warn"].as_u64(),
            s["pass"].as_u64()
        ),
        (Some(4), Some(2), Some(1), Some(1))
    );
    let verdicts: Vec<(String, String)> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["target"]["name"].as_str().unwrap().to_string(),
                d["verdict"]["check"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("cart", "ports.target"),
            ("frontend", "-"),
            ("postgres", "service.selector"),
            ("search", "ports.target")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // -l narrows the scope to the Services carrying the labels, offline and live (server-side).
    let web = Run::new([
        "scan", "-n", "shop", "-o", "json", "-l", "team=web", "-f", &dir,
    ])
    .run();
    assert_eq!(web.code, 0, "{}", web.stdout);
    assert_eq!(web.json()["summary"]["services"], 1);
    let not_web = Run::new([
        "scan",
        "-n",
        "shop",
        "-o",
        "json",
        "-l",
        "team!=web",
        "-f",
        &dir,
    ])
    .run();
    assert_eq!(not_web.json()["summary"]["services"], 3);
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(repo().join("examples/broken-shop"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let server = server_with(&refs);
    let live = Run::new(["scan", "-n", "shop", "-o", "json", "-l", "team=web"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(live.json()["summary"]["services"], 1);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/api/v1/namespaces/shop/services"
                && r.query.contains("labelSelector=team%3Dweb"))
    );
}

#[test]
fn a_clean_namespace_exits_0_live_and_offline_and_requests_do_not_grow_with_services() {
    let healthy = repo().join("tests/scenarios/healthy");
    let server = server_with(&[
        &healthy.join("manifests.yaml"),
        &healthy.join("cluster.yaml"),
    ]);
    let out = Run::new(["scan", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("1 Service — 0 fail, 0 warn, 0 incomplete, 1 pass"),
        "{}",
        out.stdout
    );
    let one = server.requests().len();
    assert!(server.requests().iter().all(|r| !r.is_write()));
    // Twenty more Services: the same requests.
    let api = FakeApi::new();
    for f in ["manifests.yaml", "cluster.yaml"] {
        api.load_yaml(&std::fs::read_to_string(healthy.join(f)).unwrap())
            .unwrap();
    }
    for i in 0..20 {
        api.load_yaml(&format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: extra-{i}, namespace: shop}}\nspec: {{selector: {{app: frontend}}, ports: [{{port: 80, targetPort: http}}]}}\n"
        ))
        .unwrap();
    }
    let server = api.start();
    let out = Run::new(["scan", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.json()["summary"]["services"], 21);
    assert_eq!(
        server.requests().len(),
        one,
        "request count must not depend on the number of Services"
    );
    let offline = Run::new(["scan", "-n", "shop", "-f"])
        .arg(healthy.join("manifests.yaml").display().to_string())
        .run();
    assert_eq!(offline.code, 0, "{}", offline.stdout);
}

#[test]
fn live_scan_with_a_mix_exits_1_and_junit_and_markdown_carry_it() {
    let mut files = Vec::new();
    for s in ["healthy", "not-ready", "numeric-undeclared"] {
        let d = repo().join("tests/scenarios").join(s);
        files.push(d.join("manifests.yaml"));
        files.push(d.join("cluster.yaml"));
    }
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let server = server_with(&refs);
    let out = Run::new(["scan", "-n", "shop", "-o", "junit"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = roxmltree::Document::parse(&out.stdout).expect("JUnit output is XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(names, ["shop/cart", "shop/frontend", "shop/ledger"]);
    for s in &suites {
        let cases = s.children().filter(|n| n.has_tag_name("testcase")).count();
        assert_eq!(s.attribute("tests").unwrap(), cases.to_string());
    }
    let cart = &suites[0];
    let failure = cart
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("cart fails");
    assert_eq!(
        failure.parent().unwrap().attribute("name"),
        Some("endpoints.ready")
    );
    assert!(
        failure
            .text()
            .unwrap_or("")
            .contains("Readiness probe failed"),
        "{:?}",
        failure.text()
    );
    assert_eq!(root.attribute("failures"), Some("1"));
    // ledger's warning is not a failure, except under --strict.
    let strict = Run::new(["scan", "-n", "shop", "-o", "junit", "--strict"])
        .kubeconfig(&server, None)
        .run();
    let doc = roxmltree::Document::parse(&strict.stdout).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("2"));

    let md = Run::new(["scan", "-n", "shop", "-o", "markdown"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(md.code, 1);
    assert!(
        md.stdout
            .starts_with("# kubectl-netdoctor scan of namespace shop"),
        "{}",
        md.stdout
    );
    let sections: Vec<&str> = md
        .stdout
        .lines()
        .filter(|l| l.starts_with("## Service"))
        .collect();
    assert_eq!(
        sections,
        [
            "## Service `shop/cart` — FAIL at `endpoints.ready` (ND2002)",
            "## Service `shop/frontend` — PASS",
            "## Service `shop/ledger` — WARN at `ports.target` (ND3002)",
        ]
    );
    assert!(
        md.stdout.contains("| `endpoints.ready` | ❌ fail |"),
        "{}",
        md.stdout
    );
}

#[test]
fn forbidden_kinds_make_a_scan_incomplete() {
    // The healthy scenario, served live.
    let healthy = || {
        let dir = repo().join("tests/scenarios/healthy");
        let api = FakeApi::new();
        for f in ["manifests.yaml", "cluster.yaml"] {
            api.load_yaml(&std::fs::read_to_string(dir.join(f)).unwrap())
                .unwrap();
        }
        api
    };
    let api = healthy();
    api.forbid("list", "endpointslices", Some("shop"));
    let server = api.start();
    let out = Run::new(["scan", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 3, "{}", out.stdout);
    let j = out.json();
    validate(&j, "scan.schema.json");
    assert!(
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["message"]
                == "endpointslices: forbidden: needs list endpointslices in shop"
                && f["code"] == "ND9002"),
        "{}",
        j["findings"]
    );
    // Ingresses unreadable: no Service's ingress.routes may say "no Ingress routes here".
    let api = healthy();
    api.forbid("list", "ingresses", Some("shop"));
    let server = api.start();
    let out = Run::new(["scan", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 3, "{}", out.stdout);
    let j = out.json();
    for item in j["items"].as_array().unwrap() {
        let routes = item["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "ingress.routes")
            .unwrap();
        assert_eq!(routes["status"], "skip", "{routes:#}");
        assert_eq!(
            routes["reason"], "forbidden: needs list ingresses in shop",
            "{routes:#}"
        );
    }
    // Services themselves unreadable: nothing to scan, exit 3 with one line.
    let api = FakeApi::new();
    api.forbid("list", "services", Some("shop"));
    let server = api.start();
    let out = Run::new(["scan", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr.trim(),
        "error: cannot scan: forbidden: needs list services in shop"
    );
}

#[test]
fn ingress_backends_to_missing_services_or_ports_are_findings() {
    let healthy =
        std::fs::read_to_string(repo().join("tests/scenarios/ingress-healthy/manifests.yaml"))
            .unwrap();
    let extra = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken, namespace: shop}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: ghost, port: {number: 80}}}
  rules:
  - http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}
";
    let run = Run::new(["scan", "-n", "shop", "-o", "json", "-f"]);
    let path = run.write("all.yaml", &format!("{healthy}\n---\n{extra}"));
    let out = run.arg(path.display().to_string()).run();
    let j = out.json();
    validate(&j, "scan.schema.json");
    let findings: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "IngressBackend")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        findings,
        [
            "Ingress shop/broken routes to Service ghost, which does not exist",
            "Ingress shop/broken routes to a port Service web does not have"
        ]
    );
    let codes: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "IngressBackend")
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(codes, ["ND6020", "ND6011"]);
    // The web Service itself fails: an Ingress in front of it uses a port it lacks.
    assert_eq!(out.code, 1);
}

/// Issue 19: a scan's NetworkPolicy findings carry their codes — a policy that selects no pod
/// (ND8011), a peer that matches none (ND8012), a named port no selected pod declares (ND8013).
#[test]
fn policy_findings_carry_their_codes() {
    let dir = repo().join("tests/reach/shop").display().to_string();
    let out = Run::new(["scan", "-n", "shop", "-o", "json", "-f", &dir]).run();
    let j = out.json();
    validate(&j, "scan.schema.json");
    let found: Vec<(&str, &str)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "NetworkPolicy")
        .map(|f| (f["code"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "ND8012",
                "shop/ghost-metrics ingress rule 0: peer pods app=ghost in shop matches no pod"
            ),
            (
                "ND8013",
                "shop/ghost-metrics ingress rule 0: named port metrics/TCP is declared by none of the pods it selects"
            ),
            (
                "ND8011",
                "shop/stale selects no pods (podSelector app=legacy)"
            ),
        ],
        "{j:#}"
    );
}

/// Issue 19: the README's CI recipes run as written — each `kubectl netdoctor …` line of the CI
/// section, with its directories standing for this repository's fixtures (`rendered/` the broken
/// shop, `old/` and `new/` the diff pair) and a live cluster for those without `-f` (the fake API
/// server holding the broken shop). Each finishes with the exit code its comment promises and a
/// document of its format.
#[test]
fn the_readme_ci_recipes_run_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("## CI: `scan`")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the CI section");
    let shop = repo().join("examples/broken-shop");
    let diff = repo().join("tests/diff/policy-change");
    let api = FakeApi::new();
    for entry in std::fs::read_dir(&shop).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            api.load_yaml(&std::fs::read_to_string(path).unwrap())
                .unwrap();
        }
    }
    let server = api.start();
    let mut ran = 0;
    for line in section
        .lines()
        .filter(|l| l.starts_with("kubectl netdoctor "))
    {
        let command = line.split(" # ").next().unwrap().trim();
        let (command, redirect) = match command.split_once(" > ") {
            Some((c, file)) => (c.trim(), Some(file.trim())),
            None => (command, None),
        };
        let words: Vec<String> = command
            .split_whitespace()
            .skip(2)
            .map(|w| match w {
                "rendered/" => shop.display().to_string(),
                "old/" => diff.join("base").display().to_string(),
                "new/" => diff.join("new").display().to_string(),
                w => w.to_string(),
            })
            .collect();
        let offline = words.iter().any(|w| w == "-f");
        let run = Run::new(&words);
        let out = if offline {
            run.run()
        } else {
            run.kubeconfig(&server, None).run()
        };
        ran += 1;
        // The broken shop fails (exit 1), as the comments say of a failure; so does the diff's
        // loss under --fail-on-loss. Ignoring codes it does not hold changes nothing.
        assert_eq!(out.code, 1, "{line}: {}", out.stderr);
        match redirect {
            Some(file) if file.ends_with(".xml") => {
                roxmltree::Document::parse(&out.stdout).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
            Some(file) if file.ends_with(".sarif") => {
                crate::support::validate_with(&out.json(), "sarif-2.1.0.schema.json");
            }
            Some(other) => panic!("{line}: a redirect to {other}"),
            None => assert!(!out.stdout.is_empty(), "{line}"),
        }
    }
    assert_eq!(ran, 5, "the CI section's recipes");
}
