//! Scenario fixtures: one folder per failure under tests/scenarios/, each run live (fake API server
//! loaded with manifests.yaml + cluster.yaml, the real binary) and offline (`-f manifests.yaml`).
//! expect.yaml holds the verdict per source, written from the Kubernetes rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::support::cluster::RealCluster;
use crate::support::{Output, Run, repo, server_with};

#[derive(Debug, Deserialize)]
pub(crate) struct Expect {
    pub(crate) service: String,
    pub(crate) namespace: String,
    /// Extra arguments (e.g. --from pod/web).
    #[serde(default)]
    pub(crate) args: Vec<String>,
    pub(crate) live: Option<Expected>,
    offline: Option<Expected>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Expected {
    pub(crate) exit: i32,
    /// The verdict's check id; absent when the verdict is pass.
    verdict: Option<String>,
    checks: BTreeMap<String, String>,
    /// Substrings of the human output.
    #[serde(default)]
    says: Vec<String>,
    /// Exit code under --strict, when it differs.
    strict_exit: Option<i32>,
}

pub(crate) fn scenarios() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expect.yaml").exists())
        .collect();
    dirs.sort();
    dirs
}

pub(crate) fn load(dir: &Path) -> Expect {
    let text = std::fs::read_to_string(dir.join("expect.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// Validates `-o json` output against the documented schema.
pub(crate) fn validate_schema(value: &serde_json::Value) -> Result<(), String> {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let path = repo().join("schema/diagnosis.schema.json");
    let idx = compiler
        .compile(path.to_str().unwrap(), &mut schemas)
        .map_err(|e| format!("{e:#}"))?;
    schemas.validate(value, idx).map_err(|e| format!("{e:#}"))
}

fn judge(name: &str, source: &str, e: &Expected, json: &Output, human: &Output) -> Vec<String> {
    let mut problems = Vec::new();
    let ctx = format!("{name} ({source})");
    if json.code != e.exit {
        problems.push(format!(
            "{ctx}: exit {} (want {})\nstderr: {}",
            json.code, e.exit, json.stderr
        ));
        return problems;
    }
    let j = json.json();
    if let Err(err) = validate_schema(&j) {
        problems.push(format!(
            "{ctx}: output does not match schema/diagnosis.schema.json: {err}"
        ));
    }
    let verdict = j["verdict"]["check"].as_str().map(String::from);
    if verdict != e.verdict {
        problems.push(format!(
            "{ctx}: verdict {verdict:?} (want {:?}): {}",
            e.verdict, j["verdict"]["summary"]
        ));
    }
    for (id, want) in &e.checks {
        let got = json.check_status(id);
        if &got != want {
            let c = j["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id.as_str())
                .unwrap();
            problems.push(format!(
                "{ctx}: {id} is {got} (want {want}): {}",
                c["summary"]
            ));
        }
    }
    let listed: Vec<&str> = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    // The probe checks: live scenarios run with --no-probe (the fake kubelet's scenarios are in
    // tests/probe_flow.rs), offline has no cluster; either way they skip, saying why.
    const PROBE_CHECKS: [&str; 3] = ["pods.listening", "service.clusterip", "dns.resolves"];
    for c in j["checks"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap_or("");
        if !PROBE_CHECKS.contains(&id) || e.checks.contains_key(id) {
            continue;
        }
        let reason = c["reason"].as_str().unwrap_or("");
        let why = if source != "offline" {
            "--no-probe"
        } else {
            "offline"
        };
        if c["status"] != "skip" || !(reason.contains(why) || reason.starts_with("depends on")) {
            problems.push(format!(
                "{ctx}: {id} is {} ({reason}), want skip for {why}",
                c["status"]
            ));
        }
    }
    for id in &listed {
        if !e.checks.contains_key(*id) && !PROBE_CHECKS.contains(id) {
            problems.push(format!(
                "{ctx}: check {id} ran but expect.yaml says nothing of it"
            ));
        }
    }
    if human.code != e.exit {
        problems.push(format!(
            "{ctx}: human view exit {} (want {})",
            human.code, e.exit
        ));
    }
    for s in &e.says {
        if !human.stdout.contains(s.as_str()) {
            problems.push(format!(
                "{ctx}: human output lacks {s:?}:\n{}",
                human.stdout
            ));
        }
    }
    problems
}

#[test]
fn every_scenario_live_and_offline() {
    let dirs = scenarios();
    assert!(
        dirs.len() >= 14,
        "expected the scenario folders, found {}",
        dirs.len()
    );
    let mut problems = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let exp = load(dir);
        let manifests = dir.join("manifests.yaml");
        let mut base = vec!["svc", exp.service.as_str(), "-n", exp.namespace.as_str()];
        base.extend(exp.args.iter().map(String::as_str));
        if let Some(e) = &exp.live {
            let mut files = vec![manifests.as_path()];
            let cluster = dir.join("cluster.yaml");
            if cluster.exists() {
                files.push(cluster.as_path());
            }
            let server = server_with(&files);
            let json = Run::new(&base)
                .args(["-o", "json"])
                .kubeconfig(&server, None)
                .run();
            let human = Run::new(&base).kubeconfig(&server, None).run();
            problems.extend(judge(&name, "live", e, &json, &human));
            if let Some(code) = e.strict_exit {
                let strict = Run::new(&base)
                    .arg("--strict")
                    .kubeconfig(&server, None)
                    .run();
                if strict.code != code {
                    problems.push(format!(
                        "{name} (live): --strict exit {} (want {code})",
                        strict.code
                    ));
                }
            }
        }
        if let Some(e) = &exp.offline {
            let f = manifests.display().to_string();
            let json = Run::new(&base).args(["-o", "json", "-f", &f]).run();
            let human = Run::new(&base).args(["-f", &f]).run();
            let mut p = judge(&name, "offline", e, &json, &human);
            // Offline fixes point at files: the path printed is the one given.
            for s in p.iter_mut() {
                *s = s.replace(&f, "manifests.yaml");
            }
            problems.extend(p);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// The same scenarios, live against the real control plane (tests/cluster): each folder loaded
/// as `cluster load` does (the objects applied, then their statuses written through the status
/// subresource; EndpointSlices of selector Services are the controller's), the same expectations
/// judged, then the cluster reset for the next one. Where the fake API and the real one
/// disagree, the real one is right.
///
/// A reset waits for the namespace controller, which holds every deleted namespace for 5 s
/// before it empties it (namespaceDeletionGracePeriod, for HA API servers): four clusters share
/// the folders to keep that wait off the suite's length.
#[test]
fn every_scenario_live_on_the_real_cluster() {
    if crate::support::cluster::unavailable().is_some() {
        return;
    }
    let dirs = scenarios();
    const CLUSTERS: usize = 4;
    let chunks: Vec<Vec<PathBuf>> = (0..CLUSTERS)
        .map(|i| dirs.iter().skip(i).step_by(CLUSTERS).cloned().collect())
        .collect();
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| scope.spawn(move || real_scenarios(chunk)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ran: usize = results.iter().map(|r| r.0).sum();
    let problems: Vec<String> = results.into_iter().flat_map(|r| r.1).collect();
    // Counted where CI prints it (.ci/run): libtest hides a passing test's output.
    let line = format!(
        "real cluster: {ran} scenario(s) run live, {} problem(s)",
        problems.len()
    );
    eprintln!("{line}");
    let _ = std::fs::write(
        repo().join("target/real-cluster-scenarios.txt"),
        format!("{line}\n"),
    );
    assert!(ran >= 30, "only {ran} scenarios ran on the real cluster");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Runs scenario folders one after another on one real cluster: how many ran, and what differed.
fn real_scenarios(dirs: &[PathBuf]) -> (usize, Vec<String>) {
    let cluster = RealCluster::up(&[]).expect("the real cluster");
    let mut problems = Vec::new();
    let mut ran = 0;
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let exp = load(dir);
        let Some(e) = &exp.live else { continue };
        if let Err(err) = cluster.try_load(dir) {
            problems.push(format!("{name} (real): cluster load refused it:\n{err}"));
            cluster.reset();
            continue;
        }
        let mut base = vec!["svc", exp.service.as_str(), "-n", exp.namespace.as_str()];
        base.extend(exp.args.iter().map(String::as_str));
        let json = Run::new(&base)
            .args(["-o", "json"])
            .kubeconfig_file(cluster.kubeconfig())
            .run();
        let human = Run::new(&base).kubeconfig_file(cluster.kubeconfig()).run();
        problems.extend(judge(&name, "real", e, &json, &human));
        if let Some(code) = e.strict_exit {
            let strict = Run::new(&base)
                .arg("--strict")
                .kubeconfig_file(cluster.kubeconfig())
                .run();
            if strict.code != code {
                problems.push(format!(
                    "{name} (real): --strict exit {} (want {code})",
                    strict.code
                ));
            }
        }
        ran += 1;
        cluster.reset();
    }
    (ran, problems)
}
