//! `-o sarif` (issue 19): valid against the official SARIF 2.1.0 schema (schema/ holds the OASIS
//! file as the serde-sarif crate ships it), one rule per code, and — offline — each result at the
//! file, line and column of the field at fault, read here from the fixture files themselves.

use std::path::Path;

use serde_json::Value;

use crate::support::{FakeApi, Run, repo};

/// Validates a SARIF log against the SARIF 2.1.0 JSON schema.
fn validate(log: &Value) {
    crate::support::validate_with(log, "sarif-2.1.0.schema.json");
}

/// The line (1-based) and column of the first line of `file` after line `after` that starts with
/// `prefix` (leading spaces counted): where the field is written.
fn line_of(file: &Path, after: usize, prefix: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(file).unwrap();
    let (i, line) = text
        .lines()
        .enumerate()
        .skip(after)
        .find(|(_, l)| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} not in {}", file.display()));
    let column = line.len() - line.trim_start().len() + 1;
    ((i + 1) as u64, column as u64)
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

fn region(result: &Value) -> (u64, u64) {
    let r = &result["locations"][0]["physicalLocation"]["region"];
    (
        r["startLine"].as_u64().unwrap(),
        r["startColumn"].as_u64().unwrap(),
    )
}

fn uri(result: &Value) -> &str {
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
}

/// `svc` offline: the selector's key, and a named targetPort's key, at their lines.
#[test]
fn svc_offline_points_at_the_field_at_fault() {
    let dir = repo();
    for (scenario, service, code, prefix) in [
        ("selector-mismatch", "postgres", "ND1108", "selector:"),
        // `- {name: http, port: 80, targetPort: http}`: the targetPort inside the flow mapping.
        ("named-port-one-pod", "web", "ND3001", "- {name: http"),
    ] {
        let rel = format!("tests/scenarios/{scenario}/manifests.yaml");
        let out = Run::new(["svc", service, "-n", "shop", "-o", "sarif", "-f", &rel]).run_in(&dir);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let log: Value = serde_json::from_str(&out.stdout).unwrap();
        validate(&log);
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), 1, "{log:#}");
        assert_eq!(rules[0]["id"], code);
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
        assert!(
            rules[0]["help"]["markdown"]
                .as_str()
                .unwrap()
                .starts_with(&format!("### {code} — ")),
            "{log:#}"
        );
        let r = &results(&log)[0];
        assert_eq!(r["ruleId"], code);
        assert_eq!(r["level"], "error");
        assert_eq!(uri(r), rel, "a relative path stays relative: {r:#}");
        let file = dir.join(&rel);
        let (line, column) = line_of(&file, 0, prefix);
        let want = if code == "ND3001" {
            let text = std::fs::read_to_string(&file).unwrap();
            let l = text.lines().nth(line as usize - 1).unwrap();
            (line, (l.find("targetPort").unwrap() + 1) as u64)
        } else {
            (line, column)
        };
        assert_eq!(region(r), want, "{scenario}: {r:#}");
        assert_eq!(
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            format!("Service/shop/{service}")
        );
    }
}

/// `scan` offline: a policy rule whose peer matches nothing, a policy that selects nothing, an
/// Ingress backend naming a Service that does not exist — each at its line; an ignored finding
/// carries SARIF's suppression.
#[test]
fn scan_offline_points_at_policy_rules_and_ingress_backends() {
    let dir = tempfile::tempdir().unwrap();
    let bait =
        std::fs::read_to_string(repo().join("tests/reach/shop/policies/lint-bait.yaml")).unwrap();
    let ingress = "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: broken, namespace: shop}\nspec:\n  rules:\n  - host: shop.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: ghost\n            port: {number: 80}\n";
    let file = dir.path().join("all.yaml");
    std::fs::write(&file, format!("{bait}{ingress}")).unwrap();
    let workloads = repo().join("tests/reach/shop/workloads.yaml");
    let out = Run::new([
        "scan", "-n", "shop", "-o", "sarif", "--ignore", "ND8011", "-f",
    ])
    .arg(file.display().to_string())
    .args(["-f", workloads.to_str().unwrap()])
    .run();
    let log: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    validate(&log);
    let by_code = |code: &str| {
        results(&log)
            .iter()
            .find(|r| r["ruleId"] == code)
            .unwrap_or_else(|| panic!("no {code}: {log:#}"))
            .clone()
    };
    // ghost-metrics' ingress rule 0: the item `- from: …`, at its first key.
    let ghost = line_of(&file, 0, "metadata: {name: ghost-metrics").0 as usize;
    let (line, dash) = line_of(&file, ghost, "- from:");
    assert_eq!(region(&by_code("ND8012")), (line, dash + 2), "{log:#}");
    assert_eq!(
        uri(&by_code("ND8012")),
        format!("file://{}", file.display()),
        "an absolute path is a file URI"
    );
    // stale's podSelector.
    let stale = line_of(&file, 0, "metadata: {name: stale").0 as usize;
    assert_eq!(
        region(&by_code("ND8011")),
        line_of(&file, stale, "podSelector:")
    );
    assert_eq!(by_code("ND8011")["suppressions"][0]["kind"], "external");
    assert_eq!(by_code("ND8012")["level"], "warning");
    // The backend's Service name.
    let broken = line_of(&file, 0, "metadata: {name: broken").0 as usize;
    assert_eq!(
        region(&by_code("ND6020")),
        line_of(&file, broken, "name: ghost")
    );
}

/// Live: no file to point at — the object, as a logical location; and a run that cannot finish
/// still writes a valid log, its invocation failed.
#[test]
fn live_results_are_logical_and_a_failed_run_still_writes_a_log() {
    let dir = repo().join("tests/scenarios/selector-mismatch");
    let api = FakeApi::new();
    for f in ["manifests.yaml", "cluster.yaml"] {
        api.load_yaml(&std::fs::read_to_string(dir.join(f)).unwrap())
            .unwrap();
    }
    let server = api.start();
    let out = Run::new(["svc", "postgres", "-n", "shop", "-o", "sarif"])
        .kubeconfig(&server, None)
        .run();
    let log: Value = serde_json::from_str(&out.stdout).unwrap();
    validate(&log);
    let r = &results(&log)[0];
    assert_eq!(r["ruleId"], "ND1108");
    assert!(r["locations"][0].get("physicalLocation").is_none(), "{r:#}");
    assert_eq!(
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "Service/shop/postgres"
    );

    let down = Run::new([
        "scan",
        "-n",
        "shop",
        "-o",
        "sarif",
        "--server",
        "http://127.0.0.1:1",
    ])
    .kubeconfig(&server, None)
    .run();
    assert_eq!(down.code, 3, "{}", down.stderr);
    let log: Value = serde_json::from_str(&down.stdout).unwrap();
    validate(&log);
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
}
