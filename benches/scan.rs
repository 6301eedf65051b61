//! `scan -A` at scale, against synthetic clusters served by the fake API server (paged lists,
//! 5 ms of latency per request), and offline on the same cluster written as manifests.
//!
//! - 10,000 pods (200 namespaces, 5,000 Services, 1,000 NetworkPolicies, 500 Ingresses):
//!   `scan -A -o json` wall time, API requests and peak RSS; as baselines measured in the same run,
//!   the same scan with a fifth of the Services (the request count must not change) and
//!   `kubectl get` of the same kinds (what reading them by hand costs).
//! - Kubernetes' scalability envelope, 150,000 pods on 5,000 nodes (1,000 namespaces, 10,000
//!   Services, 2,000 NetworkPolicies, 2,000 Ingresses): `scan -A` as a ratio to the 10,000-pod
//!   run (15× the objects), and `svc NAME` there (its requests and memory must not grow with the
//!   cluster).
//! - Offline: the 10,000-pod cluster as one YAML stream and as one JSON List, `scan -A -f` and
//!   `svc NAME -f`, in MB/s of input.
//!
//! Run: `cargo bench --bench scan` (`-- --quick`: the 10,000-pod cluster only; `-- --keep DIR`:
//! leave the offline manifests in DIR, to run the tool on them by hand).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fakeapi::FakeApi;

#[path = "common/measure.rs"]
mod measure;
use measure::measure;
use serde_json::{Value, json};

/// A synthetic cluster's proportions.
#[derive(Clone, Copy)]
struct Shape {
    namespaces: usize,
    pods_per_ns: usize,
    apps_per_ns: usize,
    services_per_ns: usize,
    policies_per_ns: usize,
    nodes: usize,
}

const TEN_THOUSAND: Shape = Shape {
    namespaces: 200,
    pods_per_ns: 50,
    apps_per_ns: 5,
    services_per_ns: 25,
    policies_per_ns: 5,
    nodes: 0,
};

const ENVELOPE: Shape = Shape {
    namespaces: 1000,
    pods_per_ns: 150,
    apps_per_ns: 10,
    services_per_ns: 10,
    policies_per_ns: 2,
    nodes: 5000,
};

impl Shape {
    fn pods(&self) -> usize {
        self.namespaces * self.pods_per_ns
    }

    fn describe(&self) -> String {
        format!(
            "{} pods, {} Services, {} NetworkPolicies, {} namespaces, {} nodes",
            self.pods(),
            self.namespaces * self.services_per_ns,
            self.namespaces * self.policies_per_ns,
            self.namespaces,
            self.nodes
        )
    }
}

fn pod_ip(n: usize, p: usize) -> String {
    format!("10.{}.{}.{}", n / 64, (n % 64) * 4 + p / 250, p % 250 + 1)
}

/// Every object of the cluster, as the API serves them (`kind` and `apiVersion` set).
fn objects(shape: Shape) -> Vec<Value> {
    let mut out = vec![
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx", "labels": {"app.kubernetes.io/name": "ingress-nginx"}},
            "spec": {"containers": [{"name": "controller", "image": "x"}]},
            "status": {"phase": "Running", "podIP": "10.255.0.1", "conditions": [{"type": "Ready", "status": "True"}]}
        }),
    ];
    for i in 0..shape.nodes {
        out.push(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{i}"), "labels": {
                "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": format!("172.16.{}.{}", i / 250, i % 250 + 1)}],
                "conditions": [{"type": "Ready", "status": "True"}]}
        }));
    }
    for n in 0..shape.namespaces {
        let ns = format!("ns{n}");
        out.push(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns,
            "labels": {"kubernetes.io/metadata.name": ns, "team": format!("t{}", n % 7)}}}),
        );
        for p in 0..shape.pods_per_ns {
            let app = p % shape.apps_per_ns;
            let mut spec = json!({"containers": [{"name": "c", "image": "x", "ports": [{"name": "http", "containerPort": 8080}]}]});
            if shape.nodes > 0 {
                spec["nodeName"] = json!(format!(
                    "node-{}",
                    (n * shape.pods_per_ns + p) % shape.nodes
                ));
            }
            out.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("app{app}-{p}"), "namespace": ns, "labels": {"app": format!("app{app}")}},
                "spec": spec,
                "status": {"phase": "Running", "podIP": pod_ip(n, p), "conditions": [{"type": "Ready", "status": "True"}]}
            }));
        }
        for s in 0..shape.services_per_ns {
            let app = s % shape.apps_per_ns;
            let name = format!("svc{s}");
            out.push(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": format!("app{app}")}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
            }));
            let endpoints: Vec<_> = (0..shape.pods_per_ns)
                .filter(|p| p % shape.apps_per_ns == app)
                .map(|p| json!({"addresses": [pod_ip(n, p)], "conditions": {"ready": true}}))
                .collect();
            out.push(json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": format!("{name}-abc"), "namespace": ns, "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], "endpoints": endpoints
            }));
        }
        for k in 0..shape.policies_per_ns {
            out.push(json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": format!("np{k}"), "namespace": ns},
                "spec": {"podSelector": {"matchLabels": {"app": format!("app{k}")}}, "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}]}
            }));
        }
        for i in 0..(2 + n % 2).min(shape.services_per_ns) {
            out.push(json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": format!("ing{i}"), "namespace": ns},
                "spec": {"ingressClassName": "nginx", "rules": [{"host": format!("{ns}-{i}.example.com"), "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": format!("svc{i}"), "port": {"number": 80}}}}]}}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}}
            }));
        }
    }
    out
}

/// The objects served as an API server sends them: pods carry the `managedFields` their
/// writers left (the controller that made them, the kubelet that reports their status), which
/// `kubectl get` hides and the API sends with every list.
fn serve(objects: &[Value]) -> FakeApi {
    let api = FakeApi::new();
    let managed = json!([
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {
            "f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}},
                "f:ownerReferences": {".": {}, "k:{\"uid\":\"5f1c7a2e-1d2b-4c1e-9f5a-0b8a3e2d1c4f\"}": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                "f:ports": {".": {}, "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}},
                "f:resources": {}, "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}},
                "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {},
                "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}},
        {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:05Z",
         "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {
            "f:status": {"f:conditions": {
                "k:{\"type\":\"ContainersReady\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
                "k:{\"type\":\"Initialized\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
                "k:{\"type\":\"PodReadyToStartContainers\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
                "k:{\"type\":\"Ready\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}},
                "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {}, "f:podIP": {},
                "f:podIPs": {".": {}, "k:{\"ip\":\"10.0.0.1\"}": {".": {}, "f:ip": {}}}, "f:startTime": {}}}}
    ]);
    for o in objects {
        let mut o = o.clone();
        if o["kind"] == "Pod" {
            o["metadata"]["managedFields"] = managed.clone();
        }
        api.insert(o).unwrap();
    }
    api.set_latency(Duration::from_millis(5));
    api
}

struct Run {
    secs: f64,
    rss: f64,
    /// Its own CPU seconds: the rest of the wall time it waited, on the server (which shares
    /// the machine's two cores) or the latency.
    cpu: f64,
    requests: usize,
}

/// Runs the binary with `args` against a started server (`--kubeconfig` added).
fn against(server: &fakeapi::Server, home: &Path, args: &[&str]) -> Run {
    let kc = home.join("kubeconfig");
    std::fs::write(&kc, server.kubeconfig(None)).unwrap();
    let before = server.requests().len();
    let m = measure(
        Command::new(env!("CARGO_BIN_EXE_kubectl-netdoctor"))
            .args(args)
            .arg("--kubeconfig")
            .arg(&kc)
            .env("HOME", home),
    );
    assert!(m.ok, "{args:?} failed");
    Run {
        secs: m.wall.as_secs_f64(),
        rss: m.rss,
        cpu: m.cpu,
        requests: server.requests().len() - before,
    }
}

fn offline(home: &Path, args: &[&str]) -> Run {
    let m = measure(
        Command::new(env!("CARGO_BIN_EXE_kubectl-netdoctor"))
            .args(args)
            .env("HOME", home),
    );
    assert!(m.ok, "{args:?} failed");
    Run {
        secs: m.wall.as_secs_f64(),
        rss: m.rss,
        cpu: m.cpu,
        requests: 0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1));
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let manifests = keep.map_or(home.to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&manifests).unwrap();
    let scan = ["scan", "-A", "-o", "json"];

    // 1. 10,000 pods.
    let t0 = Instant::now();
    let small_objects = objects(TEN_THOUSAND);
    let api = serve(&small_objects);
    let server = api.start();
    println!(
        "synthetic cluster: {}, 500 Ingresses (built in {:.1} s); 5 ms latency per request",
        TEN_THOUSAND.describe(),
        t0.elapsed().as_secs_f64()
    );
    let ten = against(&server, home, &scan);
    println!(
        "scan -A: {:.2} s ({:.2} s of its own CPU), {} API requests, peak RSS {:.0} MiB (targets: < 1 s, < 100 MiB)",
        ten.secs, ten.cpu, ten.requests, ten.rss
    );

    // Baseline 1: a fifth of the Services: the request count must not change.
    let fifth = Shape {
        services_per_ns: 5,
        ..TEN_THOUSAND
    };
    let fifth_api = serve(&objects(fifth));
    let fifth_server = fifth_api.start();
    let few = against(&fifth_server, home, &scan);
    println!(
        "baseline, 1000 Services: {:.2} s, {} requests; requests ratio {:.2} (target 1.00), time ratio {:.2}",
        few.secs,
        few.requests,
        ten.requests as f64 / few.requests as f64,
        ten.secs / few.secs
    );
    drop(fifth_server);

    // Baseline 2: reading the same kinds with kubectl.
    kubectl_baseline(&server, home, ten.secs);

    // 2. Offline: the same cluster as one YAML stream and as one JSON List.
    let yaml_path = manifests.join("cluster.yaml");
    let mut yaml = String::new();
    for o in &small_objects {
        yaml.push_str("---\n");
        yaml.push_str(&serde_saphyr::to_string(o).unwrap());
    }
    std::fs::write(&yaml_path, &yaml).unwrap();
    let json_path = manifests.join("cluster.json");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": small_objects});
    std::fs::write(&json_path, serde_json::to_string_pretty(&list).unwrap()).unwrap();
    let mut yaml_svc = 0.0;
    for (what, path) in [("YAML", &yaml_path), ("JSON", &json_path)] {
        let mb = std::fs::metadata(path).unwrap().len() as f64 / 1e6;
        let p = path.to_str().unwrap();
        let all = offline(home, &["scan", "-A", "-o", "json", "-f", p]);
        let one = offline(home, &["svc", "svc0", "-n", "ns0", "-o", "json", "-f", p]);
        println!(
            "offline, one {what} file of {mb:.1} MB: scan -A {:.2} s ({:.0} MB/s), peak RSS {:.0} MiB; svc {:.2} s ({:.0} MB/s; target 50 MB/s)",
            all.secs,
            mb / all.secs,
            all.rss,
            one.secs,
            mb / one.secs
        );
        if what == "YAML" {
            yaml_svc = one.secs;
        }
    }
    // A GitOps repository's layout: one file per object, in a folder per namespace.
    let repo = manifests.join("repo");
    let _ = std::fs::remove_dir_all(&repo);
    for (i, o) in small_objects.iter().enumerate() {
        let dir = repo.join(o["metadata"]["namespace"].as_str().unwrap_or("cluster"));
        std::fs::create_dir_all(&dir).unwrap();
        let text = serde_saphyr::to_string(o).unwrap();
        std::fs::write(dir.join(format!("{i:05}.yaml")), text).unwrap();
    }
    let r = repo.to_str().unwrap();
    let one = offline(home, &["svc", "svc0", "-n", "ns0", "-o", "json", "-f", r]);
    println!(
        "offline, the same as {} YAML files in a folder per namespace: svc {:.2} s ({:.1} s of CPU on {} cores); ratio to the one YAML file {:.2}",
        small_objects.len(),
        one.secs,
        one.cpu,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        one.secs / yaml_svc
    );
    drop(server);
    drop(api);
    if quick {
        return;
    }

    // 3. The scalability envelope.
    let t0 = Instant::now();
    let big = serve(&objects(ENVELOPE));
    let big_server = big.start();
    println!(
        "synthetic cluster: {}, 2000 Ingresses (built in {:.1} s)",
        ENVELOPE.describe(),
        t0.elapsed().as_secs_f64()
    );
    let envelope = against(&big_server, home, &scan);
    println!(
        "scan -A: {:.2} s ({:.2} s of its own CPU), {} API requests, peak RSS {:.0} MiB (targets: < 10 s, < 1024 MiB); ratio to 10,000 pods {:.1} (CPU {:.1}) for {:.0}x the pods (target <= 16)",
        envelope.secs,
        envelope.cpu,
        envelope.requests,
        envelope.rss,
        envelope.secs / ten.secs,
        envelope.cpu / ten.cpu,
        ENVELOPE.pods() as f64 / TEN_THOUSAND.pods() as f64
    );
    let one = against(
        &big_server,
        home,
        &["svc", "svc3", "-n", "ns500", "--no-probe", "-o", "json"],
    );
    println!(
        "svc NAME --no-probe there: {:.2} s, {} API requests, peak RSS {:.0} MiB (target < 100 MiB)",
        one.secs, one.requests, one.rss
    );
}

fn kubectl_baseline(server: &fakeapi::Server, home: &Path, scan_secs: f64) {
    let kc = home.join("kubeconfig-kubectl");
    std::fs::write(&kc, server.kubeconfig(None)).unwrap();
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
        .arg(home.join("cache"))
        .env("HOME", home);
    match kubectl.output() {
        Ok(_) => {
            let k = measure(&mut kubectl);
            println!(
                "baseline, kubectl get of the same kinds (no diagnosis): {:.2} s, peak RSS {:.0} MiB; scan/kubectl time ratio {:.2}",
                k.wall.as_secs_f64(),
                k.rss,
                scan_secs / k.wall.as_secs_f64()
            );
        }
        Err(_) => println!("kubectl not installed: no kubectl baseline"),
    }
}
