//! `dns`: the cluster DNS Service's flow and the DNS infrastructure around it (no probe).

use crate::support::{FakeApi, Run};

fn cluster(ready: bool) -> String {
    let r = if ready { "True" } else { "False" };
    let er = if ready { "true" } else { "false" };
    format!(
        r#"apiVersion: v1
kind: Service
metadata: {{name: kube-dns, namespace: kube-system, labels: {{k8s-app: kube-dns}}}}
spec:
  clusterIP: 10.96.0.10
  selector: {{k8s-app: kube-dns}}
  ports:
  - {{name: dns, port: 53, protocol: UDP, targetPort: 53}}
  - {{name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}}
---
apiVersion: v1
kind: Pod
metadata: {{name: coredns-7db6-aaaaa, namespace: kube-system, labels: {{k8s-app: kube-dns}}}}
spec:
  containers:
  - name: coredns
    image: coredns
    ports: [{{name: dns, containerPort: 53, protocol: UDP}}, {{name: dns-tcp, containerPort: 53, protocol: TCP}}]
status:
  phase: Running
  podIP: 10.244.0.5
  conditions: [{{type: Ready, status: "{r}"}}]
  containerStatuses: [{{name: coredns, ready: {er}, restartCount: 4, image: coredns, imageID: "", lastState: {{terminated: {{exitCode: 1, reason: Error}}}}}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: kube-dns-abc, namespace: kube-system, labels: {{kubernetes.io/service-name: kube-dns}}}}
addressType: IPv4
ports: [{{name: dns, port: 53, protocol: UDP}}, {{name: dns-tcp, port: 53, protocol: TCP}}]
endpoints:
- {{addresses: [10.244.0.5], conditions: {{ready: {er}}}, targetRef: {{kind: Pod, namespace: kube-system, name: coredns-7db6-aaaaa}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: coredns, namespace: kube-system}}
data:
  Corefile: |
    .:53 {{
        errors
        kubernetes corp.internal in-addr.arpa ip6.arpa {{
          pods insecure
        }}
        forward . /etc/resolv.conf
    }}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: node-local-dns, namespace: kube-system}}
spec:
  selector: {{matchLabels: {{k8s-app: node-local-dns}}}}
  template:
    metadata: {{labels: {{k8s-app: node-local-dns}}}}
    spec: {{hostNetwork: true, containers: [{{name: node-cache, image: k8s-dns-node-cache}}]}}
status: {{numberReady: 3, desiredNumberScheduled: 3, currentNumberScheduled: 3, numberMisscheduled: 0}}
"#
    )
}

#[test]
fn healthy_dns_reports_node_local_cache_domain_and_restarts() {
    let api = FakeApi::new();
    api.load_yaml(&cluster(true)).unwrap();
    let server = api.start();
    let out = Run::new(["dns", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let j = out.json();
    assert_eq!(j["scope"], "cluster DNS (kube-system/kube-dns)");
    // Issue 17 item 6: a replica restarted 4 times (last exit 1) is not healthy: lookups through
    // it time out while it restarts. A warning naming it (exit 0; --strict fails on it).
    assert_eq!(j["items"][0]["verdict"]["status"], "warn", "{j:#}");
    assert_eq!(j["items"][0]["verdict"]["check"], "endpoints.ready");
    assert!(
        j["items"][0]["verdict"]["summary"]
            .as_str()
            .unwrap()
            .ends_with("coredns-7db6-aaaaa is crash-looping"),
        "{j:#}"
    );
    let findings: Vec<(String, String)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        findings
            .iter()
            .any(|(k, m)| k == "NodeLocalDNS" && m.contains("node-local-dns (3/3 ready)")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|(k, m)| k == "ClusterDomain" && m.contains("cluster domain: corp.internal")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|(k, m)| k == "DnsPodRestarts" && m.contains("restarted 4 times")),
        "{findings:?}"
    );
    // Problems carry their code; facts (the domain, NodeLocal DNSCache) none.
    for f in j["findings"].as_array().unwrap() {
        let code = match f["kind"].as_str().unwrap() {
            "DnsPodRestarts" => Some("ND5101"),
            _ => None,
        };
        assert_eq!(f["code"].as_str(), code, "{f:#}");
    }
    assert_eq!(j["items"][0]["verdict"]["code"], "ND2004", "{j:#}");
    assert!(server.requests().iter().all(|r| !r.is_write()));
}

// On a terminal `dns` shows the checklist `svc` shows, under the DNS facts: the cause of a DNS pod
// that is not ready (CrashLoopBackOff, its last exit, its restarts) is visible without -o json.
#[test]
fn dns_shows_the_checklist_with_the_cause() {
    let api = FakeApi::new();
    let crashing = cluster(false).replace(
        "lastState: {terminated:",
        "state: {waiting: {reason: CrashLoopBackOff, message: back-off 5m0s restarting failed container}}, lastState: {terminated:",
    );
    api.load_yaml(&crashing).unwrap();
    let server = api.start();
    let out = Run::new(["dns", "--no-probe"])
        .env("COLUMNS", "80")
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let text = &out.stdout;
    assert!(text.contains("✘ FAIL  endpoints.ready"), "{text}");
    assert!(text.contains("✔ PASS  service.exists"), "{text}");
    // Wrapped at 80 columns: the phrases are read across line breaks.
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("waiting: CrashLoopBackOff"), "{text}");
    assert!(
        words.contains("container coredns restarted 4 times, last exit 1 (Error)"),
        "{text}"
    );
    assert!(words.contains("now CrashLoopBackOff"), "{text}");
    assert!(text.contains("  i cluster domain: corp.internal"), "{text}");
    // The verdict comes last, where the eye lands.
    let verdict = text.find("VERDICT: FAIL at endpoints.ready").expect(text);
    assert!(text.find("i cluster domain").unwrap() < verdict);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80 || line.trim_start().starts_with("kubectl "),
            "{line}"
        );
    }
}

#[test]
fn kube_dns_without_ready_endpoints_fails() {
    let api = FakeApi::new();
    api.load_yaml(&cluster(false)).unwrap();
    let server = api.start();
    let out = Run::new(["dns"]).kubeconfig(&server, None).run();
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("1 Service — 1 fail"), "{}", out.stdout);
    // Facts are information, problems warnings: the domain is not a "!".
    assert!(!out.stdout.contains("! cluster domain"), "{}", out.stdout);
    if out.stdout.contains("cluster domain:") {
        assert!(out.stdout.contains("  i cluster domain:"), "{}", out.stdout);
    }
    let json = Run::new(["dns", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    let j = json.json();
    let v = &j["items"][0]["verdict"];
    assert_eq!(v["check"], "endpoints.ready");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("no ready endpoints for dns 53/UDP, dns-tcp 53/TCP"),
        "{v}"
    );
    let bad = Run::new(["dns", "--service", "kube-dns"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(bad.code, 2);
}

/// Issue 17 item 10: a DNS Service that is not where `dns` looks is named — by the cluster DNS
/// label (`k8s-app=kube-dns`, which kubeadm, k3s, RKE2 and the CoreDNS chart all set, whatever
/// the Service's name) and by a near name — and the printed re-run is `dns --service NS/NAME`
/// (not `svc`), which then finds it.
#[test]
fn a_dns_service_by_another_name_is_named_and_the_rerun_finds_it() {
    let api = FakeApi::new();
    // The cluster's DNS Service is kube-system/coredns (as RKE2 and some charts name it).
    let renamed = cluster(true)
        .replace(
            "name: kube-dns, namespace: kube-system, labels",
            "name: coredns, namespace: kube-system, labels",
        )
        .replace(
            "kubernetes.io/service-name: kube-dns",
            "kubernetes.io/service-name: coredns",
        );
    api.load_yaml(&renamed).unwrap();
    let server = api.start();
    let out = Run::new(["dns", "--no-probe", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let j = out.json();
    let v = &j["items"][0]["verdict"];
    assert_eq!(v["check"], "service.exists", "{v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("the cluster DNS label k8s-app=kube-dns is on kube-system/coredns"),
        "{summary}"
    );
    // Printed with this run's connection flags; compared without them.
    let commands: Vec<String> = crate::support::fix_commands(&v["fix"])
        .iter()
        .map(|c| crate::support::unflagged(c))
        .collect();
    let rerun = commands
        .iter()
        .find(|c| c.contains("kubectl netdoctor dns --service kube-system/coredns"))
        .unwrap_or_else(|| panic!("no dns re-run: {commands:?}"));
    assert!(
        !commands.iter().any(|c| c.contains("netdoctor svc")),
        "{commands:?}"
    );
    // The re-run finds the Service (against the same server: the first run's kubeconfig went
    // with its temporary HOME).
    let words: Vec<&str> = rerun.split_whitespace().collect();
    assert_eq!(&words[..2], ["kubectl", "netdoctor"], "{rerun}");
    let again = Run::new(
        words[2..]
            .iter()
            .copied()
            .chain(["--no-probe", "-o", "json"]),
    )
    .kubeconfig(&server, None)
    .run();
    let j = again.json();
    let checks = &j["items"][0]["checks"];
    let exists = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "service.exists")
        .unwrap();
    assert_eq!(exists["status"], "pass", "{j:#}");
    assert_eq!(again.code, 0, "{}", again.stderr);

    // A near name: "did you mean coredns?", re-run with dns --service.
    let out = Run::new([
        "dns",
        "--no-probe",
        "--service",
        "kube-system/corends",
        "-o",
        "json",
    ])
    .kubeconfig(&server, None)
    .run();
    let j = out.json();
    let v = &j["items"][0]["verdict"];
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("did you mean coredns?"),
        "{v}"
    );
    let commands = crate::support::fix_commands(&v["fix"]);
    assert!(
        commands.iter().any(|c| crate::support::unflagged(c)
            .contains("kubectl netdoctor dns --service kube-system/coredns")),
        "{commands:?}"
    );
}
