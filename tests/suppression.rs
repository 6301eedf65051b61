//! Thresholds and suppression (issue 19): `--fail-on`, `--ignore CODES` and the annotation
//! `netdoctor.io/ignore` on the object a finding is about — live and offline, in every format.
//! An ignored finding is reported and counted, never dropped; it no longer makes the verdict or
//! fails the run.

use std::path::PathBuf;

use crate::support::{FakeApi, Run, check_of, repo};

fn scenario(name: &str) -> (PathBuf, PathBuf) {
    let dir = repo().join("tests/scenarios").join(name);
    (dir.join("manifests.yaml"), dir.join("cluster.yaml"))
}

/// `svc postgres` on the selector-mismatch manifests, offline, with `args`.
fn offline(args: &[&str]) -> crate::support::Output {
    let (m, _) = scenario("selector-mismatch");
    Run::new(["svc", "postgres", "-n", "shop", "-f", m.to_str().unwrap()])
        .args(args)
        .run()
}

#[test]
fn ignore_by_flag_is_reported_in_every_format_and_fails_nothing() {
    // Without it: the selector fails (ND1108), exit 1.
    assert_eq!(offline(&[]).code, 1);
    let out = offline(&["--ignore", "ND1108"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("ignored (ND1108, --ignore): selector app=postgres,tier=db"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("VERDICT: PASS"), "{}", out.stdout);
    assert!(
        out.stdout.contains("  Ignored: ND1108 (--ignore)"),
        "{}",
        out.stdout
    );

    let j = offline(&["--ignore", "nd1108", "-o", "json"]).json();
    crate::scenarios::validate_schema(&j).unwrap();
    assert_eq!(j["verdict"]["status"], "pass", "{j:#}");
    assert!(
        j["verdict"]["summary"]
            .as_str()
            .unwrap()
            .ends_with("ignored: ND1108"),
        "{j:#}"
    );
    let selector = check_of(&j, "service.selector");
    assert_eq!(
        selector["status"], "fail",
        "the finding stays as found: {selector:#}"
    );
    assert_eq!(selector["suppressed"], serde_json::json!({"by": "flag"}));

    // JUnit: a skipped test case saying why, no failure.
    let junit = offline(&["--ignore", "ND1108", "-o", "junit"]).stdout;
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("failures"), Some("0"), "{junit}");
    let case = root
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("service.selector"))
        .expect("the selector's test case");
    let skipped = case
        .children()
        .find(|n| n.has_tag_name("skipped"))
        .expect(&junit);
    assert!(
        skipped
            .attribute("message")
            .unwrap()
            .starts_with("ignored ND1108 (--ignore): selector"),
        "{junit}"
    );
    let md = offline(&["--ignore", "ND1108", "-o", "markdown"]).stdout;
    assert!(md.contains("**Ignored:** ND1108 (--ignore)"), "{md}");
    assert!(md.contains("❌ fail (ignored: ND1108)"), "{md}");
    let yaml = offline(&["--ignore", "ND1108", "-o", "yaml"]).stdout;
    assert!(
        yaml.contains("suppressed:") && yaml.contains("by: flag"),
        "{yaml}"
    );

    // Another code ignores nothing here.
    assert_eq!(offline(&["--ignore", "ND6004,ND9001"]).code, 1);
}

#[test]
fn bad_codes_are_usage_errors_before_anything_is_read() {
    for (bad, says) in [
        ("ND7777", "unknown finding code ND7777"),
        ("selector", "selector is not a finding code"),
    ] {
        // A kubeconfig that points nowhere: the error comes first, with no connection tried.
        let out = Run::new([
            "svc",
            "web",
            "--ignore",
            bad,
            "--server",
            "https://192.0.2.1:6443",
        ])
        .run();
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(says), "{}", out.stderr);
        assert!(out.elapsed < std::time::Duration::from_secs(5));
    }
    // --strict says what --fail-on warn says; both at once is a contradiction to refuse.
    let out = offline(&["--strict", "--fail-on", "fail"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

// `--fail-on warn` is `--strict`: a warning (an undeclared numeric targetPort) fails the run.
#[test]
fn fail_on_warn_is_strict() {
    let (m, _) = scenario("numeric-undeclared");
    let run = |args: &[&str]| {
        Run::new(["svc", "ledger", "-n", "shop", "-f", m.to_str().unwrap()])
            .args(args)
            .run()
            .code
    };
    assert_eq!(run(&[]), 0);
    assert_eq!(run(&["--fail-on", "fail"]), 0);
    assert_eq!(run(&["--fail-on", "warn"]), 1);
    assert_eq!(run(&["--strict"]), 1);
    // Ignored, the warning fails nothing even then.
    assert_eq!(run(&["--fail-on", "warn", "--ignore", "ND3002"]), 0);
}

/// The annotation on the object the finding is about ignores it, live and offline, with its
/// reason; a code it does not list stays.
#[test]
fn ignore_by_annotation_live_and_offline() {
    let annotate = |text: String, code: &str| {
        text.replacen(
            "metadata:\n  name: postgres\n  namespace: shop\nspec:\n  selector:",
            &format!(
                "metadata:\n  name: postgres\n  namespace: shop\n  annotations: {{netdoctor.io/ignore: \"{code} # the replica set is retired\"}}\nspec:\n  selector:"
            ),
            1,
        )
    };
    let (m, c) = scenario("selector-mismatch");
    let manifests = std::fs::read_to_string(&m).unwrap();
    let cluster = std::fs::read_to_string(&c).unwrap();
    for (code, ignored) in [("ND1108", true), ("ND1107", false)] {
        let annotated = annotate(manifests.clone(), code);
        assert_ne!(annotated, manifests);
        // Offline.
        let run = Run::new(["svc", "postgres", "-n", "shop", "-o", "json", "-f"]);
        let path = run.write("m.yaml", &annotated);
        let out = run.arg(path.display().to_string()).run();
        // Live, against the fake API server.
        let api = FakeApi::new();
        api.load_yaml(&annotated).unwrap();
        api.load_yaml(&cluster).unwrap();
        let server = api.start();
        let live = Run::new(["svc", "postgres", "-n", "shop", "-o", "json"])
            .kubeconfig(&server, None)
            .run();
        for out in [&out, &live] {
            let j = out.json();
            crate::scenarios::validate_schema(&j).unwrap();
            let selector = check_of(&j, "service.selector");
            if ignored {
                assert_eq!(out.code, 0, "{j:#}");
                assert_eq!(
                    selector["suppressed"],
                    serde_json::json!({
                        "by": "annotation",
                        "object": {"kind": "Service", "namespace": "shop", "name": "postgres"},
                        "reason": "the replica set is retired"
                    }),
                    "{selector:#}"
                );
            } else {
                assert_eq!(out.code, 1, "{j:#}");
                assert!(selector.get("suppressed").is_none(), "{selector:#}");
            }
        }
    }
}

/// A scan's findings: by annotation on the policy they are about, and by flag; counted in the
/// summary, shown in the table, valid against the schema.
#[test]
fn scan_findings_are_ignored_by_annotation_and_flag_and_counted() {
    let dir = repo().join("tests/reach/shop");
    let bait = std::fs::read_to_string(dir.join("policies/lint-bait.yaml")).unwrap();
    let annotated = bait.replacen(
        "metadata: {name: stale, namespace: shop}",
        "metadata: {name: stale, namespace: shop, annotations: {netdoctor.io/ignore: 'ND8011 # kept for the rollback'}}",
        1,
    );
    assert_ne!(annotated, bait);
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bait.yaml");
    std::fs::write(&p, &annotated).unwrap();
    let j = Run::new([
        "scan", "-n", "shop", "-o", "json", "--ignore", "ND8012", "-f",
    ])
    .arg(p.display().to_string())
    .args(["-f", dir.join("workloads.yaml").to_str().unwrap()])
    .run()
    .json();
    crate::scan::validate(&j, "scan.schema.json");
    let by_code = |code: &str| {
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("no {code}: {j:#}"))
            .clone()
    };
    assert_eq!(by_code("ND8011")["suppressed"]["by"], "annotation", "{j:#}");
    assert_eq!(
        by_code("ND8011")["suppressed"]["reason"],
        "kept for the rollback"
    );
    assert_eq!(by_code("ND8012")["suppressed"]["by"], "flag", "{j:#}");
    assert!(by_code("ND8013").get("suppressed").is_none(), "{j:#}");
    assert_eq!(j["summary"]["suppressed"], 2, "{j:#}");

    let table = Run::new(["scan", "-n", "shop", "--ignore", "ND8012", "-f"])
        .arg(p.display().to_string())
        .args(["-f", dir.join("workloads.yaml").to_str().unwrap()])
        .run();
    assert!(table.stdout.contains("; 2 ignored"), "{}", table.stdout);
    assert!(
        table.stdout.contains(
            "(ND8011; ignored: annotation on NetworkPolicy shop/stale: kept for the rollback)"
        ),
        "{}",
        table.stdout
    );
}
