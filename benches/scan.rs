//! `scan -A` against a synthetic cluster in the fake API server (5,000 Services, 10,000 pods,
//! 1,000 NetworkPolicies, 500 Ingresses across 200 namespaces) with 5 ms of latency per request.
//! Prints wall time, API requests and peak RSS of the scan, and as baselines measured in the same
//! run: the same scan on a cluster with a fifth of the Services (the request count must not
//! change), and `kubectl get` of the same kinds (what reading them by hand costs).
//!
//! Run: `cargo bench --bench scan`.

use std::process::Command;
use std::time::{Duration, Instant};

use fakeapi::FakeApi;

#[path = "common/measure.rs"]
mod measure;
use measure::measure;
use serde_json::json;

const NAMESPACES: usize = 200;
const PODS_PER_NS: usize = 50;
const APPS_PER_NS: usize = 5;

fn cluster(services_per_ns: usize) -> FakeApi {
    let api = FakeApi::new();
    api.insert(json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}})).unwrap();
    api.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx", "labels": {"app.kubernetes.io/name": "ingress-nginx"}},
        "spec": {"containers": [{"name": "controller", "image": "x"}]},
        "status": {"phase": "Running", "podIP": "10.255.0.1", "conditions": [{"type": "Ready", "status": "True"}]}
    })).unwrap();
    for n in 0..NAMESPACES {
        let ns = format!("ns{n}");
        for p in 0..PODS_PER_NS {
            let app = p % APPS_PER_NS;
            api.insert(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("app{app}-{p}"), "namespace": ns, "labels": {"app": format!("app{app}")}},
                "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"name": "http", "containerPort": 8080}]}]},
                "status": {"phase": "Running", "podIP": format!("10.{}.{}.{}", n / 250, n % 250, p + 1), "conditions": [{"type": "Ready", "status": "True"}]}
            })).unwrap();
        }
        for s in 0..services_per_ns {
            let app = s % APPS_PER_NS;
            let name = format!("svc{s}");
            api.insert(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": format!("app{app}")}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
            })).unwrap();
            let endpoints: Vec<_> = (0..PODS_PER_NS)
                .filter(|p| p % APPS_PER_NS == app)
                .map(|p| json!({"addresses": [format!("10.{}.{}.{}", n / 250, n % 250, p + 1)], "conditions": {"ready": true}}))
                .collect();
            api.insert(json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": format!("{name}-abc"), "namespace": ns, "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], "endpoints": endpoints
            })).unwrap();
        }
        for k in 0..5 {
            api.insert(json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": format!("np{k}"), "namespace": ns},
                "spec": {"podSelector": {"matchLabels": {"app": format!("app{k}")}}, "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}]}
            })).unwrap();
        }
        for i in 0..(2 + n % 2) {
            api.insert(json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": format!("ing{i}"), "namespace": ns},
                "spec": {"ingressClassName": "nginx", "rules": [{"host": format!("{ns}-{i}.example.com"), "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": format!("svc{i}"), "port": {"number": 80}}}}]}}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}}
            })).unwrap();
        }
    }
    api
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_kubectl-netdoctor");
    let home = tempfile::tempdir().unwrap();
    let run_scan = |api: &FakeApi| {
        api.set_latency(Duration::from_millis(5));
        let server = api.start();
        let kc = home.path().join("kubeconfig");
        std::fs::write(&kc, server.kubeconfig(None)).unwrap();
        let before = server.requests().len();
        let (t, rss, ok) = measure(
            Command::new(bin)
                .args(["scan", "-A", "-o", "json", "--kubeconfig"])
                .arg(&kc)
                .env("HOME", home.path()),
        );
        assert!(ok, "scan failed");
        let requests = server.requests().len() - before;
        (t, rss, requests, server)
    };
    let t0 = Instant::now();
    let big = cluster(25);
    println!(
        "synthetic cluster: 5000 Services, 10000 pods, 1000 NetworkPolicies, 500 Ingresses, 200 namespaces (built in {:.1} s); 5 ms latency per request",
        t0.elapsed().as_secs_f64()
    );
    let (t_big, rss_big, req_big, server) = run_scan(&big);
    println!(
        "scan -A: {:.2} s, {req_big} API requests, peak RSS {rss_big:.0} MiB (targets: < 2 s, < 200 MiB)",
        t_big.as_secs_f64()
    );

    // Baseline 1: a fifth of the Services: the request count must not change.
    let small = cluster(5);
    let (t_small, _, req_small, _small_server) = run_scan(&small);
    println!(
        "baseline, 1000 Services: {:.2} s, {req_small} requests; requests ratio {:.2} (target 1.00), time ratio {:.2}",
        t_small.as_secs_f64(),
        req_big as f64 / req_small as f64,
        t_big.as_secs_f64() / t_small.as_secs_f64()
    );

    // Baseline 2: reading the same kinds with kubectl.
    let kc = home.path().join("kubeconfig-kubectl");
    std::fs::write(&kc, server.kubeconfig(None)).unwrap();
    let cache = home.path().join("cache");
    let mut kubectl = Command::new("kubectl");
    kubectl
        .args([
            "get",
            "services,pods,endpointslices,networkpolicies,ingresses",
            "-A",
            "-o",
            "json",
            "--kubeconfig",
        ])
        .arg(&kc)
        .arg("--cache-dir")
        .arg(&cache)
        .env("HOME", home.path());
    match kubectl.output() {
        Ok(_) => {
            let (t_k, rss_k, _) = measure(&mut kubectl);
            println!(
                "baseline, kubectl get of the same kinds (no diagnosis): {:.2} s, peak RSS {rss_k:.0} MiB; scan/kubectl time ratio {:.2}",
                t_k.as_secs_f64(),
                t_big.as_secs_f64() / t_k.as_secs_f64()
            );
        }
        Err(_) => println!("kubectl not installed: no kubectl baseline"),
    }
}
