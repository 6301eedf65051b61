//! NetworkPolicy engine at scale: 10,000 pods in 200 namespaces (2,000 workloads) with 1,000
//! policies. Prints wall times, evaluations per second, peak memory, and ratios against baselines
//! measured in the same run (never absolute claims):
//! - one Service's `netpol.allows` (with a client) against the same with 10x fewer policies in
//!   *other* namespaces: a ratio near 1 shows the cost follows the policies that select the two
//!   pods, not all policies;
//! - `reach -A` over every workload pair;
//! - the same `reach -A` with 100 AdminNetworkPolicies (Deny, Allow and Pass rules over namespace
//!   labels) and a BaselineAdminNetworkPolicy in front, against the run without them: what the
//!   cluster-wide tiers cost.
//!
//! Run: `cargo bench --bench netpol`.

use std::collections::BTreeMap;
use std::time::Instant;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Namespace, Pod, PodSpec, PodStatus, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kubectl_netdoctor::front::{
    Client, ClusterState, Discard, Fact, Namespaces, Party, PodInfo, PolicySet, Protocol,
    ReachInput, SourceKind, analyse, run_all,
};

const NAMESPACES: usize = 200;
const WORKLOADS_PER_NS: usize = 10;
const PODS_PER_WORKLOAD: usize = 5;
const POLICIES_PER_NS: usize = 5;

fn labels(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn pod(ns: usize, w: usize, i: usize) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("app{w}-{i}")),
            namespace: Some(format!("ns{ns}")),
            labels: Some(labels(&[
                ("app", format!("app{w}")),
                ("tier", format!("t{}", w % 3)),
                ("pod-template-hash", format!("h{w}")),
            ])),
            // Owned by Deployment app{w} through its ReplicaSet, as real pods are.
            owner_references: Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "ReplicaSet".into(),
                    name: format!("app{w}-h{w}"),
                    uid: format!("rs-{ns}-{w}"),
                    controller: Some(true),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                ports: Some(vec![ContainerPort {
                    name: Some("http".into()),
                    container_port: 8080,
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            pod_ip: Some(format!(
                "10.{}.{}.{}",
                ns / 250,
                ns % 250,
                w * PODS_PER_WORKLOAD + i + 1
            )),
            ..Default::default()
        }),
    }
}

/// Five policies per namespace: default deny, same-app, from a labelled namespace on a named port,
/// from an address range, and egress to DNS plus the namespace.
fn policies(ns: usize) -> Vec<NetworkPolicy> {
    let yaml = format!(
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny, namespace: ns{ns}}}
spec: {{podSelector: {{}}, policyTypes: [Ingress]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: same-app, namespace: ns{ns}}}
spec:
  podSelector: {{matchExpressions: [{{key: tier, operator: In, values: [t0, t1]}}]}}
  ingress: [{{from: [{{podSelector: {{matchLabels: {{tier: t0}}}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: from-team, namespace: ns{ns}}}
spec:
  podSelector: {{matchLabels: {{app: app1}}}}
  ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{team: t{team}}}}}}}], ports: [{{port: http}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: from-office, namespace: ns{ns}}}
spec:
  podSelector: {{matchLabels: {{app: app2}}}}
  ingress: [{{from: [{{ipBlock: {{cidr: 192.0.2.0/24}}}}], ports: [{{port: 8000, endPort: 8100}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: egress, namespace: ns{ns}}}
spec:
  podSelector: {{matchLabels: {{tier: t2}}}}
  policyTypes: [Egress]
  egress:
  - to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: kube-system}}}}, podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}}}]
    ports: [{{port: 53, protocol: UDP}}, {{port: 53, protocol: TCP}}]
  - to: [{{podSelector: {{}}}}]
",
        team = ns % 7
    );
    serde_saphyr::from_multiple(&yaml).expect("bench policies")
}

fn namespace(ns: usize) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(format!("ns{ns}")),
            labels: Some(labels(&[("team", format!("t{}", ns % 7))])),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// 100 AdminNetworkPolicies, each over one team's namespaces and one workload (Deny from one
/// team on 9090, Allow from another on 8080, Pass from every namespace), and a
/// BaselineAdminNetworkPolicy denying one team everywhere.
fn tier_policies() -> Vec<kubectl_netdoctor::front::TierPolicy> {
    let mut out = Vec::new();
    for i in 0..100usize {
        let yaml = format!(
            r#"
metadata: {{name: anp-{i}}}
spec:
  priority: {i}
  subject: {{pods: {{namespaceSelector: {{matchLabels: {{team: t{}}}}}, podSelector: {{matchLabels: {{app: app{}}}}}}}}}
  ingress:
  - {{name: deny, action: Deny, from: [{{namespaces: {{matchLabels: {{team: t{}}}}}}}], ports: [{{portNumber: {{protocol: TCP, port: 9090}}}}]}}
  - {{name: allow, action: Allow, from: [{{namespaces: {{matchLabels: {{team: t{}}}}}}}], ports: [{{portNumber: {{protocol: TCP, port: 8080}}}}]}}
  - {{name: pass, action: Pass, from: [{{namespaces: {{}}}}]}}
"#,
            i % 7,
            i % WORKLOADS_PER_NS,
            (i + 1) % 7,
            (i + 2) % 7
        );
        let mut p: kubectl_netdoctor::front::TierPolicy =
            serde_saphyr::from_str(&yaml).expect("an AdminNetworkPolicy");
        p.kind = "AdminNetworkPolicy".into();
        out.push(p);
    }
    let mut baseline: kubectl_netdoctor::front::TierPolicy = serde_saphyr::from_str(
        "metadata: {name: default}\nspec:\n  subject: {namespaces: {}}\n  ingress:\n  - {name: deny-t6, action: Deny, from: [{namespaces: {matchLabels: {team: t6}}}]}\n",
    )
    .expect("a BaselineAdminNetworkPolicy");
    baseline.kind = "BaselineAdminNetworkPolicy".into();
    out.push(baseline);
    out
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One Service's flow (selector, ports, policies) for a client in another namespace.
fn service_state(
    pods: &[Pod],
    policies: &[NetworkPolicy],
    namespaces: &[Namespace],
) -> ClusterState {
    let mut s = ClusterState::new(SourceKind::Live, "ns1", "app1");
    s.service = Fact::Known(Some(Service {
        metadata: ObjectMeta {
            name: Some("app1".into()),
            namespace: Some("ns1".into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(labels(&[("app", "app1".into())])),
            ports: Some(vec![ServicePort {
                port: 80,
                target_port: Some(
                    k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(
                        "http".into(),
                    ),
                ),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }));
    let backends: Vec<Pod> = pods
        .iter()
        .filter(|p| {
            p.metadata.namespace.as_deref() == Some("ns1")
                && p.metadata.labels.as_ref().unwrap()["app"] == "app1"
        })
        .cloned()
        .collect();
    s.pods = Fact::Known(backends);
    s.slices = Fact::Known(Vec::new());
    s.policies = Fact::Known(policies.to_vec());
    s.namespaces = Fact::Known(std::sync::Arc::new(namespaces.to_vec()));
    let client = pods
        .iter()
        .find(|p| p.metadata.namespace.as_deref() == Some("ns8"))
        .cloned();
    s.client = Some(Client::Pod {
        namespace: "ns8".into(),
        name: "app2-0".into(),
        pod: Box::new(Fact::Known(client)),
        near: Vec::new(),
    });
    s
}

fn time<T>(mut f: impl FnMut() -> T, runs: u32) -> (f64, T) {
    let mut last = None;
    let start = Instant::now();
    for _ in 0..runs {
        last = Some(f());
    }
    (
        start.elapsed().as_secs_f64() / f64::from(runs),
        last.unwrap(),
    )
}

fn main() {
    let t0 = Instant::now();
    let mut pods = Vec::new();
    for ns in 0..NAMESPACES {
        for w in 0..WORKLOADS_PER_NS {
            for i in 0..PODS_PER_WORKLOAD {
                pods.push(pod(ns, w, i));
            }
        }
    }
    let all_policies: Vec<NetworkPolicy> = (0..NAMESPACES).flat_map(policies).collect();
    assert_eq!(all_policies.len(), NAMESPACES * POLICIES_PER_NS);
    let namespaces: Vec<Namespace> = (0..NAMESPACES).map(namespace).collect();
    println!(
        "synthetic cluster: {} pods, {} workloads, {} namespaces, {} policies (built in {:.2} s)",
        pods.len(),
        NAMESPACES * WORKLOADS_PER_NS,
        NAMESPACES,
        all_policies.len(),
        t0.elapsed().as_secs_f64()
    );

    // 1. One Service's flow with a client, as the live source gathers it: the policies of the
    //    Service's and the client's namespaces only.
    let two: Vec<NetworkPolicy> = all_policies
        .iter()
        .filter(|p| matches!(p.metadata.namespace.as_deref(), Some("ns1" | "ns8")))
        .cloned()
        .collect();
    let state = service_state(&pods, &two, &namespaces);
    let (t_flow, results) = time(|| run_all(&state), 50);
    let netpol = results
        .iter()
        .find(|r| r.id == "netpol.allows")
        .expect("netpol.allows ran");
    println!(
        "svc flow incl. netpol.allows for one client: {:.3} ms per run [{}: {}] (target: < 50 ms)",
        t_flow * 1e3,
        netpol.status.as_str(),
        netpol.summary
    );
    let (t_compile, set) = time(|| PolicySet::compile(&all_policies).expect("valid"), 5);
    println!(
        "compiling all {} policies: {:.2} ms",
        all_policies.len(),
        t_compile * 1e3
    );

    // 2. Decisions a namespace scan needs (every workload → ns1's workloads, named port), against
    //    all 1,000 policies and, as the baseline in this run, against only the two namespaces'
    //    policies of each pair: a ratio near 1 means the cost follows the policies that select the
    //    two pods, not all policies (the set is indexed by namespace).
    let nss = Namespaces::complete(
        namespaces
            .iter()
            .map(|n| {
                (
                    n.metadata.name.clone().unwrap(),
                    n.metadata.labels.clone().unwrap_or_default(),
                )
            })
            .collect(),
    );
    let reps: Vec<PodInfo> = pods
        .iter()
        .step_by(PODS_PER_WORKLOAD)
        .map(PodInfo::from_pod)
        .collect();
    let dsts: Vec<Party> = reps
        .iter()
        .filter(|d| d.namespace == "ns1")
        .map(|d| Party::Pod(d.clone()))
        .collect();
    let srcs: Vec<Party> = reps.iter().map(|s| Party::Pod(s.clone())).collect();
    let run_decisions = |set: &PolicySet| {
        let mut allowed = 0u64;
        for src in &srcs {
            for dst in &dsts {
                let d = set.decide(&nss, src, dst, 8080, Protocol::Tcp);
                allowed += u64::from(d.verdict() == kubectl_netdoctor::front::Verdict::Allowed);
            }
        }
        allowed
    };
    let decisions = (srcs.len() * dsts.len()) as f64;
    let (t_all, allowed) = time(|| run_decisions(&set), 5);
    // Baseline: per source namespace, a set holding only ns1's and that namespace's policies.
    let small_sets: std::collections::HashMap<String, PolicySet> = (0..NAMESPACES)
        .map(|ns| {
            let name = format!("ns{ns}");
            let only: Vec<NetworkPolicy> = all_policies
                .iter()
                .filter(|p| {
                    p.metadata.namespace.as_deref() == Some("ns1")
                        || p.metadata.namespace.as_deref() == Some(name.as_str())
                })
                .cloned()
                .collect();
            (name, PolicySet::compile(&only).expect("valid"))
        })
        .collect();
    let (t_two, _) = time(
        || {
            let mut allowed = 0u64;
            for src in &srcs {
                let Party::Pod(s) = src else { continue };
                let set = &small_sets[&s.namespace];
                for dst in &dsts {
                    allowed += u64::from(
                        set.decide(&nss, src, dst, 8080, Protocol::Tcp).verdict()
                            == kubectl_netdoctor::front::Verdict::Allowed,
                    );
                }
            }
            allowed
        },
        5,
    );
    println!(
        "decisions: {decisions} (every workload → ns1's workloads) in {:.1} ms ({:.0} per second, {allowed} allowed) with all policies; {:.1} ms with only the pair's namespaces' policies; ratio {:.2}",
        t_all * 1e3,
        decisions / t_all,
        t_two * 1e3,
        t_all / t_two
    );

    // 3. reach -A: every workload pair.
    let input = ReachInput {
        source: SourceKind::Live,
        pods: pods.clone(),
        policies: all_policies.clone(),
        namespaces: Fact::Known(namespaces.clone()),
        tier_policies: Fact::Known(Vec::new()),
    };
    let start = Instant::now();
    let counts = analyse(&input, true, "all namespaces", &mut Discard).expect("reach");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "reach -A: {} workloads in {} groups ({} pairs) in {:.2} s, {} connections and {} exposure rows listed (target: < 5 s)",
        counts.workloads,
        counts.groups,
        counts.groups * counts.groups,
        secs,
        counts.pairs,
        counts.rules,
    );

    // 4. The same with the cluster-wide tiers in front.
    let tiered = ReachInput {
        tier_policies: Fact::Known(tier_policies()),
        ..input
    };
    let start = Instant::now();
    let with_tiers = analyse(&tiered, true, "all namespaces", &mut Discard).expect("reach");
    let tier_secs = start.elapsed().as_secs_f64();
    println!(
        "reach -A with 100 AdminNetworkPolicies and a BaselineAdminNetworkPolicy: {:.2} s, {} connections listed; ratio to the run without tiers {:.2}",
        tier_secs,
        with_tiers.pairs,
        tier_secs / secs
    );
    println!("peak memory: {:.0} MiB", peak_rss_mib());
}
