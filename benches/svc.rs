//! `svc --no-probe` against the fake API server with 20 ms of latency per request: how many
//! sequential round trips the gather needs (counted from the server's request log: requests that
//! arrive within half a latency of a round's first one belong to it), its wall time, and as the
//! baseline measured in the same run, the same facts read with `kubectl get` one after another
//! (what an on-call engineer types; kubectl's discovery cache warm).
//!
//! Run: `cargo bench --bench svc`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "common/timing.rs"]
mod timing;
use timing::{kubectl_installed, median, timed};

use fakeapi::FakeApi;

const LATENCY: Duration = Duration::from_millis(20);
const RUNS: usize = 7;

fn scenario(name: &str) -> FakeApi {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name);
    let api = FakeApi::new();
    for f in ["manifests.yaml", "cluster.yaml"] {
        let text = std::fs::read_to_string(dir.join(f)).expect("scenario file");
        api.load_yaml(&text).expect("scenario loads");
    }
    api.set_latency(LATENCY);
    api
}

/// Sequential rounds in a request log: a request starts a new round when it arrives more than
/// half a latency after the current round's first request.
fn rounds(at: &[Duration]) -> usize {
    let mut sorted = at.to_vec();
    sorted.sort();
    let mut rounds = 0;
    let mut start: Option<Duration> = None;
    for t in sorted {
        if start.is_none_or(|s| t > s + LATENCY / 2) {
            rounds += 1;
            start = Some(t);
        }
    }
    rounds
}

fn bench(scenario_name: &str, service: &str, kubectl_gets: &[&[&str]]) {
    let api = scenario(scenario_name);
    let server = api.start();
    let home = tempfile::tempdir().expect("temp dir");
    let kc = home.path().join("kubeconfig");
    std::fs::write(&kc, server.kubeconfig(Some("shop"))).expect("kubeconfig");
    let netdoctor = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kubectl-netdoctor"));
        c.args([
            "--kubeconfig",
            kc.to_str().unwrap(),
            "svc",
            service,
            "--no-probe",
            "-o",
            "json",
        ])
        .env("HOME", home.path())
        .env_remove("KUBECONFIG");
        c
    };
    // Rounds of one run, from the request log.
    let before = server.requests().len();
    timed(&mut netdoctor());
    let log: Vec<Duration> = server.requests()[before..].iter().map(|r| r.at).collect();
    let requests = log.len();
    let ours = median((0..RUNS).map(|_| timed(&mut netdoctor())).collect());

    let cache = home.path().join("kube-cache");
    let kubectl = |args: &[&str]| {
        let mut c = Command::new("kubectl");
        c.args([
            "--kubeconfig",
            kc.to_str().unwrap(),
            "-n",
            "shop",
            "--cache-dir",
        ])
        .arg(&cache)
        .args(args)
        .args(["-o", "json"])
        .env("HOME", home.path())
        .env_remove("KUBECONFIG");
        c
    };
    for args in kubectl_gets {
        timed(&mut kubectl(args)); // warm kubectl's discovery cache
    }
    let theirs = median(
        (0..RUNS)
            .map(|_| kubectl_gets.iter().map(|a| timed(&mut kubectl(a))).sum())
            .collect(),
    );
    println!(
        "svc {service} ({scenario_name}): {} sequential rounds, {requests} requests, {:.0} ms; {} kubectl gets in sequence: {:.0} ms; ratio {:.1}x (target ≥ 10x)",
        rounds(&log),
        ours.as_secs_f64() * 1e3,
        kubectl_gets.len(),
        theirs.as_secs_f64() * 1e3,
        theirs.as_secs_f64() / ours.as_secs_f64(),
    );
}

fn main() {
    if !kubectl_installed() {
        return;
    }
    let gets: &[&[&str]] = &[
        &["get", "service", "SERVICE"],
        &["get", "pods", "-l", "SELECTOR"],
        &[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=SERVICE",
        ],
        &["get", "ingresses"],
        &["get", "networkpolicies"],
        &["get", "events"],
        &["get", "nodes"],
    ];
    for (scenario, service, selector) in [
        ("healthy", "frontend", "app=frontend"),
        ("netpol-healthy-allow", "cart", "app=cart"),
        ("ingress-healthy", "web", "app=web"),
    ] {
        let owned: Vec<Vec<String>> = gets
            .iter()
            .map(|g| {
                g.iter()
                    .map(|a| a.replace("SERVICE", service).replace("SELECTOR", selector))
                    .collect()
            })
            .collect();
        let refs: Vec<Vec<&str>> = owned
            .iter()
            .map(|g| g.iter().map(String::as_str).collect())
            .collect();
        let slices: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
        bench(scenario, service, &slices);
    }
}
