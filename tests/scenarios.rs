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
    /// The verdict's finding code (`explain CODE`); absent when the verdict is pass.
    code: Option<String>,
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
    let code = j["verdict"]["code"].as_str().map(String::from);
    if code != e.code {
        problems.push(format!(
            "{ctx}: verdict code {code:?} (want {:?}): {}",
            e.code, j["verdict"]["summary"]
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
    // What the fixes do, whichever kubeconfig the run was given (its flags are in every command).
    let shown: String = human
        .stdout
        .lines()
        .map(crate::support::unflagged)
        .collect::<Vec<_>>()
        .join("\n");
    for s in &e.says {
        if !shown.contains(s.as_str()) {
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

/// The command blocks of a table's fixes, as a person selects them: a line that starts with
/// `kubectl ` (at column 0, where the table prints commands), with the lines of its
/// here-document up to `EOF`.
fn table_commands(table: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = table.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("kubectl ") {
            continue;
        }
        let mut block = vec![line.to_string()];
        if line.contains("<<'EOF'") {
            for body in lines.by_ref() {
                block.push(body.to_string());
                if body == "EOF" {
                    break;
                }
            }
        }
        out.push(block.join("\n"));
    }
    out
}

/// Runs a command in a real bash with a `kubectl` that records what it was given: each
/// argument on a line, then what it read on stdin. `None` when bash could not run it whole
/// (an unterminated here-document or quote).
fn pasted(cmd: &str, shim: &Path) -> Option<String> {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .env("PATH", format!("{}:/usr/bin:/bin", shim.display()))
        .output()
        .expect("bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.success() && !stderr.contains("warning: here-document"))
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Issue 17 items 1–3: every fix of every failing scenario, selected from the table as a person
/// selects it and pasted into bash, runs whole (a here-document ends, quotes close) and hands
/// kubectl exactly what the JSON's command does — with the run's context and kubeconfig, so it
/// acts on the cluster the diagnosis was about. The table lists the same commands as the JSON.
#[test]
fn every_printed_fix_runs_as_pasted_from_the_table() {
    let shim = tempfile::tempdir().unwrap();
    let kubectl = shim.path().join("kubectl");
    std::fs::write(
        &kubectl,
        "#!/bin/bash\nprintf '%s\\n' \"$@\"\necho ---\n[ -t 0 ] || timeout 2 cat\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &kubectl,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut checked = 0;
    let mut problems = Vec::new();
    for dir in scenarios() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let exp = load(&dir);
        if exp.live.as_ref().is_none_or(|e| e.exit != 1) {
            continue;
        }
        let mut files = vec![dir.join("manifests.yaml")];
        if dir.join("cluster.yaml").exists() {
            files.push(dir.join("cluster.yaml"));
        }
        let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let server = server_with(&files);
        let mut base = vec!["svc", exp.service.as_str(), "-n", exp.namespace.as_str()];
        base.extend(exp.args.iter().map(String::as_str));
        // One run's kubeconfig for both views: the commands must be the same to the letter.
        let run = Run::new(&base);
        let kc = run.write("kc", &server.kubeconfig(None));
        let kc = kc.display().to_string();
        let table = Run::new(&base)
            .args(["--kubeconfig", &kc, "--context", "fake"])
            .env("COLUMNS", "80")
            .run();
        let json = Run::new(&base)
            .args(["--kubeconfig", &kc, "--context", "fake", "-o", "json"])
            .run()
            .json();
        let want = crate::support::fix_commands(&json["verdict"]["fix"]);
        let got = table_commands(&table.stdout);
        if got.len() != want.len() {
            problems.push(format!(
                "{name}: the table shows {} command(s), the JSON {}:\n{}",
                got.len(),
                want.len(),
                table.stdout
            ));
            continue;
        }
        for (t, j) in got.iter().zip(&want) {
            if !t.starts_with(&format!("kubectl --context fake --kubeconfig {kc} "))
                && !t.starts_with(&format!(
                    "kubectl netdoctor --context fake --kubeconfig {kc} "
                ))
            {
                problems.push(format!("{name}: not aimed at the run's cluster: {t}"));
            }
            match (pasted(t, shim.path()), pasted(j, shim.path())) {
                (Some(a), Some(b)) if a == b => checked += 1,
                (Some(a), Some(b)) => problems.push(format!(
                    "{name}: the table's command hands kubectl\n{a}\nthe JSON's\n{b}"
                )),
                (None, _) => problems.push(format!(
                    "{name}: pasted from the table, bash cannot run it whole:\n{t}"
                )),
                (_, None) => problems.push(format!("{name}: the JSON's command fails: {j}")),
            }
        }
    }
    assert!(checked >= 10, "only {checked} commands checked");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Every finding code is proven by a test (issue 19): written in a scenario's expect.yaml (the
/// scenario's verdict carries it) or asserted by name in a test file. With the unit tests of
/// src/codes.rs (every code documented and emitted by the source), code ↔ page ↔ emitted finding
/// stay one-to-one.
#[test]
fn every_finding_code_is_asserted_by_a_test() {
    let out = Run::new(["explain", "ND1001"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let registry = std::fs::read_to_string(repo().join("src/codes.rs")).unwrap();
    // The ids of the CODES table (each entry opens with its id).
    let table = registry
        .split("pub(crate) const CODES")
        .nth(1)
        .and_then(|t| t.split("\n];").next())
        .expect("the CODES table");
    let codes: Vec<&str> = table
        .match_indices("code(")
        .filter_map(|(i, _)| {
            let rest = table[i + 5..].trim_start().strip_prefix('"')?;
            rest.get(..6)
        })
        .collect();
    assert!(codes.len() > 50, "{codes:?}");
    let mut texts = String::new();
    for dir in scenarios() {
        texts.push_str(&std::fs::read_to_string(dir.join("expect.yaml")).unwrap());
    }
    for entry in std::fs::read_dir(repo().join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("scenarios.rs") {
            texts.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    // The unit tests of src/ (after #[cfg(test)]: what precedes is the emitting code).
    let mut stack = vec![repo().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.ends_with("codes.rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if let Some((_, tests)) = text.split_once("#[cfg(test)]\nmod tests {") {
                    texts.push_str(tests);
                }
            }
        }
    }
    let missing: Vec<&&str> = codes
        .iter()
        .filter(|c| !texts.contains(&format!("code: {c}")) && !texts.contains(&format!("\"{c}\"")))
        .collect();
    assert!(missing.is_empty(), "codes no test asserts: {missing:?}");
}

/// Every live scenario with `--bundle` (issue 23): the bundle is a gzip tar a person opens with
/// `tar`, holding the report, the objects and the metadata; no Secret's data and no env value
/// leaves in it; and `svc NAME -f BUNDLE` replays the API checks to the verdicts the live run gave
/// — the objects read are the facts they judged.
#[test]
fn every_scenario_replays_its_api_checks_from_its_bundle() {
    let api_checks = [
        "service.exists",
        "service.selector",
        "endpoints.ready",
        "ports.target",
        "ingress.routes",
        "gateway.routes",
        "netpol.allows",
    ];
    // A replay is judged as manifests are: what only a running cluster shows — that a controller
    // or a data plane runs and is ready, a Gateway API status as current — is "not known
    // offline", and the workloads that ask for zero replicas are not among the objects bundled.
    // These scenarios turn on exactly that (the live verdict's check and what it judged).
    let judged_offline_otherwise = [
        ("gateway-class-not-accepted", "gateway.routes"),
        ("gateway-controller-missing", "gateway.routes"),
        ("gateway-status-stale", "gateway.routes"),
        ("gateway-data-plane-denied", "netpol.allows"),
        ("ingress-classless-default", "ingress.routes"),
        ("ingress-controller-not-ready", "ingress.routes"),
        ("ingress-legacy-annotation", "ingress.routes"),
        ("scaled-to-zero", "service.selector"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut compared = 0;
    for scenario in scenarios() {
        let name = scenario.file_name().unwrap().to_string_lossy().to_string();
        let exp = load(&scenario);
        if exp.live.is_none() {
            continue;
        }
        let mut files = vec![scenario.join("manifests.yaml")];
        if scenario.join("cluster.yaml").exists() {
            files.push(scenario.join("cluster.yaml"));
        }
        let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let server = server_with(&files);
        let bundle = dir.path().join(format!("{name}.tar.gz"));
        let mut base = vec!["svc", exp.service.as_str(), "-n", exp.namespace.as_str()];
        base.extend(exp.args.iter().map(String::as_str));
        let live = Run::new(&base)
            .args(["-o", "json", "--bundle", bundle.to_str().unwrap()])
            .kubeconfig(&server, None)
            .run();
        let live_json = live.json();
        // Opened as a person would.
        let listing = std::process::Command::new("tar")
            .args(["-tzf", bundle.to_str().unwrap()])
            .output()
            .expect("tar");
        let listing = String::from_utf8_lossy(&listing.stdout);
        for member in ["README.txt", "report.json", "objects.json", "meta.json"] {
            if !listing.lines().any(|l| l == member) {
                problems.push(format!("{name}: no {member} in the bundle: {listing}"));
            }
        }
        let objects = std::process::Command::new("tar")
            .args(["-xzOf", bundle.to_str().unwrap(), "objects.json"])
            .output()
            .expect("tar");
        let objects: serde_json::Value =
            serde_json::from_slice(&objects.stdout).expect("objects.json is JSON");
        for o in objects["items"].as_array().unwrap() {
            if o["kind"] == "Secret" && (o.get("data").is_some() || o.get("stringData").is_some()) {
                problems.push(format!("{name}: a Secret's data in the bundle: {o}"));
            }
            let env = o.pointer("/spec/containers").map(|c| c.to_string());
            if env.is_some_and(|e| e.contains("\"value\":") && !e.contains("<redacted")) {
                problems.push(format!("{name}: an env value in the bundle: {o}"));
            }
        }
        let replay = Run::new(&base)
            .args(["-o", "json", "-f", bundle.to_str().unwrap()])
            .run();
        if !replay.stdout.trim_start().starts_with('{') || replay.code == 2 {
            problems.push(format!("{name}: the replay did not run: {}", replay.stderr));
            continue;
        }
        let replay_json = replay.json();
        compared += 1;
        for id in api_checks {
            if judged_offline_otherwise.contains(&(name.as_str(), id)) {
                continue;
            }
            let want = crate::support::check_status_of(&live_json, id);
            let got = crate::support::check_status_of(&replay_json, id);
            let code = |j: &serde_json::Value| crate::support::check_of(j, id)["code"].clone();
            if want != got || code(&live_json) != code(&replay_json) {
                problems.push(format!(
                    "{name}: {id} live {want} {}, replayed {got} {}",
                    code(&live_json),
                    code(&replay_json)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(compared >= 40, "only {compared} live scenarios replayed");
}
