//! What ships besides the binary and cannot run here: deploy/ manifests, the composite GitHub
//! Action and the workflows — checked against the Kubernetes schemas (kubernetes-validate
//! --strict) and by actionlint; and the NetworkPolicies the tool prints as fixes.

use std::process::Command;

use crate::support::{Run, repo};

/// Runs a checker, or skips outside CI when it is not installed (.ci/run installs it).
fn run(program: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(program)
        .args(args)
        .current_dir(repo())
        .output()
    {
        Ok(o) => Some(o),
        Err(e) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "{program} is needed in CI: {e}"
            );
            eprintln!("skipped: no {program}");
            None
        }
    }
}

fn strictly_valid(files: &[&str]) {
    let mut args = vec!["--strict"];
    args.extend(files);
    let Some(out) = run("kubernetes-validate", &args) else {
        return;
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("ERROR") && !said.contains("WARN"), "{said}");
}

#[test]
fn deploy_manifests_are_valid_kubernetes_objects() {
    strictly_valid(&["deploy/rbac.yaml", "deploy/cronjob.yaml"]);
    // The CronJob runs the probe image's binary, read-only and non-root.
    let cron = std::fs::read_to_string(repo().join("deploy/cronjob.yaml")).unwrap();
    assert!(cron.contains("command: [/usr/local/bin/kubectl-netdoctor]"));
    assert!(cron.contains("args: [scan, -A, -o, json"));
}

#[test]
fn workflows_pass_actionlint() {
    let Some(out) = run(
        "actionlint",
        &[".github/workflows/ci.yml", ".github/workflows/release.yml"],
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let ci = std::fs::read_to_string(repo().join(".github/workflows/ci.yml")).unwrap();
    assert!(ci.contains("bash .ci/run"), "ci.yml runs .ci/run");
}

#[test]
fn the_composite_action_declares_what_it_uses() {
    let text = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    assert_eq!(action["inputs"]["namespace"]["required"], true);
    // Every ${{ inputs.X }} is a declared input; every shell step says its shell.
    for (i, _) in text.match_indices("inputs.") {
        let name: String = text[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            action["inputs"].get(&name).is_some(),
            "undeclared input {name}"
        );
    }
    for step in action["runs"]["steps"].as_array().unwrap() {
        if step.get("run").is_some() {
            assert_eq!(step["shell"], "bash", "{step}");
        }
    }
    assert!(text.contains("scan -n \"${NAMESPACE}\" -o junit"));
}

// The NetworkPolicy a denied client's fix prints is a valid object, as printed.
#[test]
fn printed_network_policies_are_valid_kubernetes_objects() {
    let dir = repo().join("tests/scenarios/netpol-default-deny");
    let out = Run::new([
        "svc",
        "cart",
        "-n",
        "shop",
        "-o",
        "json",
        "--from",
        "pod/frontend",
        "-f",
    ])
    .arg(dir.join("manifests.yaml").display().to_string())
    .run();
    let yaml = crate::support::fix_texts(&out.json()["verdict"]["fix"])
        .iter()
        .find_map(|f| crate::support::fix_yaml(f))
        .expect("a policy in the fix");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("policy.yaml");
    std::fs::write(&file, yaml).unwrap();
    strictly_valid(&[file.to_str().unwrap()]);
}
