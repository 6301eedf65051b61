//! `reach`: who can talk to whom, offline on a directory and live, in every output format.

use std::collections::BTreeSet;

use crate::support::{Run, repo, server_with};

fn rows(out: &crate::support::Output, kind: &str) -> BTreeSet<(String, String, String)> {
    let j = out.json();
    assert_eq!(j["kind"], "ReachReport");
    j["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .map(|c| {
            (
                c["from"].as_str().unwrap().into(),
                c["to"].as_str().unwrap().into(),
                c["ports"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn reach_on_a_directory_of_manifests() {
    let dir = repo().join("tests/reach").display().to_string();
    let out = Run::new(["reach", "-n", "shop", "-o", "json", "-f", &dir]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // default-deny isolates every pod for ingress; two rules open two paths. Nothing else, not
    // even replicas of one workload among themselves — except that db's ipBlock cannot be judged
    // against pod templates, whose addresses are unknown offline: listed as undecided.
    assert_eq!(
        rows(&out, "workload"),
        set(&[
            (
                "deployment/shop/frontend",
                "deployment/shop/cart",
                "TCP 8080"
            ),
            (
                "deployment/shop/cart",
                "statefulset/shop/db",
                "TCP 5432-5433"
            ),
            ("deployment/shop/frontend", "statefulset/shop/db", "none"),
            ("statefulset/shop/db", "statefulset/shop/db", "none"),
        ])
    );
    let j = out.json();
    let undecided: Vec<&serde_json::Value> = j["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ports"] == "none")
        .collect();
    for c in undecided {
        assert_eq!(c["undecided"], "TCP 5432-5433");
        assert!(
            c["note"]
                .as_str()
                .unwrap()
                .contains("ipBlock 192.0.2.0/24 of shop/db-from-cart"),
            "{c}"
        );
    }
    let exposure = rows(&out, "rule");
    assert!(
        exposure.contains(&(
            "addresses 192.0.2.0/24".into(),
            "statefulset/shop/db".into(),
            "TCP 5432-5433".into()
        )),
        "{exposure:#?}"
    );
    assert!(
        exposure.contains(&(
            "pods app=frontend in shop".into(),
            "deployment/shop/cart".into(),
            "TCP 8080".into()
        )),
        "{exposure:#?}"
    );
    assert!(
        !exposure
            .iter()
            .any(|(_, to, _)| to == "deployment/shop/frontend"),
        "frontend admits nothing: {exposure:#?}"
    );

    let notes: Vec<&str> = j["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        vec![
            "warning: shop/ghost-metrics ingress rule 0: peer pods app=ghost in shop matches no pod",
            "warning: shop/ghost-metrics ingress rule 0: named port metrics/TCP is declared by none of the pods it selects",
            "warning: shop/stale selects no pods (podSelector app=legacy)",
        ]
    );

    let csv = Run::new(["reach", "-n", "shop", "-o", "csv", "-f", &dir]).run();
    assert_eq!(
        csv.stdout.lines().next(),
        Some("from,to,kind,ports,undecided,note")
    );
    assert!(
        csv.stdout
            .contains("deployment/shop/frontend,deployment/shop/cart,workload,TCP 8080,,"),
        "{}",
        csv.stdout
    );
    let table = Run::new(["reach", "-n", "shop", "-f", &dir]).run();
    assert!(table.stdout.contains("Pairs not listed are denied"));
    let bad = Run::new(["reach", "-o", "junit", "-f", &dir]).run();
    assert_eq!(bad.code, 2);
}

#[test]
fn reach_live_groups_pods_by_their_controller() {
    let d = repo().join("tests/scenarios/netpol-healthy-allow");
    let server = server_with(&[&d.join("manifests.yaml"), &d.join("cluster.yaml")]);
    let out = Run::new(["reach", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // cart's pod belongs to Deployment cart (through its ReplicaSet); frontend is a bare pod.
    let w = rows(&out, "workload");
    assert!(
        w.contains(&(
            "pod/shop/frontend".into(),
            "deployment/shop/cart".into(),
            "TCP 8080".into()
        )),
        "{w:#?}"
    );
    assert!(
        w.contains(&(
            "deployment/shop/cart".into(),
            "pod/shop/frontend".into(),
            "all".into()
        )),
        "{w:#?}"
    );
    assert!(
        !w.iter()
            .any(|(from, to, _)| from == "deployment/shop/cart" && to == "deployment/shop/cart"),
        "{w:#?}"
    );
    assert!(server.requests().iter().all(|r| !r.is_write()));
}

/// An agent DaemonSet on the host network on nodes n1 and n2, and an isolated `db` on n1 that
/// admits only `app=api`.
const HOST_AGENT: &str = "
apiVersion: v1
kind: Pod
metadata:
  name: agent-n1
  namespace: ops
  labels: {app: agent}
  ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: ds, controller: true}]
spec: {hostNetwork: true, nodeName: n1, containers: [{name: a, image: a}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: agent-n2
  namespace: ops
  labels: {app: agent}
  ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: ds, controller: true}]
spec: {hostNetwork: true, nodeName: n2, containers: [{name: a, image: a}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data, labels: {app: db}}
spec: {nodeName: n1, containers: [{name: db, image: pg, ports: [{containerPort: 5432}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-api, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]
";

// Kubernetes leaves hostNetwork pods to the plugin: on db's own node the agent's traffic may be
// node traffic (always allowed) or the agent pod's (denied by db's policy) — undecided; from n2 it
// is denied either way (no selector or ipBlock admits it). One representative pod for the whole
// DaemonSet cannot say both.
#[test]
fn reach_decides_host_network_pods_per_node() {
    let out = Run::new(["reach", "-A", "-o", "json", "-f", "-"])
        .stdin(HOST_AGENT)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    let to_db: Vec<&serde_json::Value> = j["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "workload" && c["to"] == "pod/data/db")
        .collect();
    assert_eq!(to_db.len(), 1, "{to_db:#?}");
    assert_eq!(to_db[0]["from"], "daemonset/ops/agent [on node n1]");
    assert_eq!(to_db[0]["ports"], "none");
    assert_eq!(to_db[0]["undecided"], "all");
    assert!(
        to_db[0]["note"]
            .as_str()
            .unwrap()
            .contains("hostNetwork on data/db's own node"),
        "{}",
        to_db[0]
    );
}

/// 600 bare pods in 5 namespaces (24 per app, 25 apps), on 3 nodes, with a default deny, an allow
/// and an ipBlock: the shape of cluster that printed millions of rows.
fn synthetic_cluster() -> String {
    let mut y = String::new();
    for i in 0..600 {
        let app = i % 25;
        let ns = app % 5;
        y.push_str(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns{ns}, labels: {{app: app{app}}}}}\nspec: {{nodeName: n{}, containers: [{{name: c, image: i, ports: [{{name: http, containerPort: 8080}}]}}]}}\nstatus: {{phase: Running, podIP: 10.244.{}.{}}}\n---\n",
            i % 3,
            i / 200,
            i % 200 + 1
        ));
    }
    for ns in 0..5 {
        y.push_str(&format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny, namespace: ns{ns}}}\nspec: {{podSelector: {{}}, policyTypes: [Ingress]}}\n---\n"));
        y.push_str(&format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: allow, namespace: ns{ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: app{ns}}}}}\n  ingress: [{{from: [{{namespaceSelector: {{}}}}, {{ipBlock: {{cidr: 10.244.1.0/24}}}}], ports: [{{port: http}}]}}]\n---\n"));
    }
    y
}

// Rows for groups of pods the policies cannot tell apart, streamed as decided: thousands of
// rows, not millions, in bounded memory in every format.
#[test]
fn reach_on_600_pods_prints_grouped_rows_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.yaml");
    std::fs::write(&file, synthetic_cluster()).unwrap();
    for format in ["table", "csv", "json"] {
        let args = ["reach", "-A", "-o", format, "-f"].map(std::ffi::OsStr::new);
        let mut args = args.to_vec();
        args.push(file.as_os_str());
        let out = crate::support::measured(&args, dir.path());
        assert_eq!(out.code, 0, "{}", out.stderr);
        let (lines, kib) = (out.stdout.lines().count(), out.peak_kib);
        assert!(lines < 20_000, "{format}: {lines} lines");
        assert!(lines > 25, "{format}: {lines} lines");
        assert!(kib < 200 * 1024, "{format}: peak RSS {} MiB", kib / 1024);
    }
}

/// `count` bare pods in shop, each with a label of its own (`uniq: u<i>`) and one of three apps.
fn uniquely_labelled_pods(count: usize, role: bool) -> String {
    let mut y = String::new();
    for i in 0..count {
        let extra = if role {
            format!(", role: r{i}")
        } else {
            String::new()
        };
        y.push_str(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: bare-{i}, namespace: shop, labels: {{app: a{}, uniq: u{i}{extra}}}}}\nspec: {{containers: [{{name: c, image: i, ports: [{{containerPort: 8080}}]}}]}}\nstatus: {{phase: Running, podIP: 10.244.0.{}}}\n---\n",
            i % 3,
            i + 2
        ));
    }
    y
}

/// Issue 18 item 17: a label no policy reads (a per-pod id) does not tell pods apart. 60 pods of
/// three apps under one policy that reads `app` are three groups — a0 (selected, admits a1), a1,
/// and the rest, named by what sets them apart (`app` with a value no selector names) — not 60.
#[test]
fn reach_groups_pods_by_the_labels_policies_read() {
    let mut y = uniquely_labelled_pods(60, false);
    y.push_str("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec: {podSelector: {matchLabels: {app: a0}}, ingress: [{from: [{podSelector: {matchLabels: {app: a1}}}]}]}\n");
    let out = Run::new(["reach", "-n", "shop", "-o", "json", "-f", "-"])
        .stdin(&y)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    let groups = j["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3, "{}", out.stdout);
    // Each group lists its 20 pods: a program needs no display name to know them.
    for g in groups {
        assert_eq!(g["pods"].as_array().unwrap().len(), 20, "{g:#}");
    }
    let pairs = rows(&out, "workload");
    let a0 = "pods/shop/{app=a0} [20 pods: bare-0, bare-3, bare-6, …]";
    let a1 = "pods/shop/{app=a1} [20 pods: bare-1, bare-4, bare-7, …]";
    let rest = "pods/shop/{app} [20 pods: bare-2, bare-5, bare-8, …]";
    // a0 admits only a1; a1 and the rest admit everyone (no policy isolates them).
    let mut want = vec![(a1, a0, "all")];
    for from in [a0, a1, rest] {
        for to in [a1, rest] {
            want.push((from, to, "all"));
        }
    }
    assert_eq!(pairs, set(&want), "{}", out.stdout);
}

/// Issue 18 item 17: deciding every pair is bounded. 40 groups under one policy of 40 rules with
/// a budget of 20,000 rule checks: the first rows come, the rest are said to be missing, and the
/// run is incomplete (exit 3) — never minutes of silence. Without the budget every pair is
/// decided: each pod reaches every other pod on the port its own rule names (40 × 39 rows: a lone
/// bare pod has no sibling to reach).
#[test]
fn reach_stops_at_its_rule_budget_and_says_so() {
    let mut y = uniquely_labelled_pods(40, true);
    let rules: Vec<String> = (0..40)
        .map(|i| format!("{{from: [{{podSelector: {{matchLabels: {{role: r{i}}}}}}}], ports: [{{port: {}}}]}}", 1000 + i))
        .collect();
    y.push_str(&format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: big, namespace: shop}}\nspec: {{podSelector: {{}}, ingress: [{}]}}\n", rules.join(", ")));
    let full = Run::new(["reach", "-n", "shop", "-o", "json", "-f", "-"])
        .stdin(&y)
        .run();
    assert_eq!(full.code, 0, "{}", full.stderr);
    assert_eq!(rows(&full, "workload").len(), 40 * 39);
    let cut = Run::new(["reach", "-n", "shop", "-o", "json", "-f", "-"])
        .env("NETDOCTOR_REACH_RULE_BUDGET", "20000")
        .stdin(&y)
        .run();
    assert_eq!(cut.code, 3, "{}", cut.stderr);
    let got = rows(&cut, "workload").len();
    assert!(got > 0 && got < 40 * 39, "{got} rows");
    let notes = cut.json()["notes"].to_string();
    assert!(
        notes.contains("incomplete: the rows from ")
            && notes.contains(" of 40 source groups are missing")
            && notes.contains("more than 20,000 rule checks"),
        "{notes}"
    );
}

/// Issue 19: `reach -o json` a program can follow — a `groups` array (id, namespace, workloads,
/// member pods) that rows reference by `fromGroup`/`toGroup`; the names stay as display text.
/// Valid against schema/reach.schema.json, also when the run cannot finish.
#[test]
fn reach_json_references_groups_by_id() {
    let dir = repo().join("tests/reach/shop").display().to_string();
    let out = Run::new(["reach", "-n", "shop", "-o", "json", "-f", &dir]).run();
    let j = out.json();
    validate(&j);
    let groups = j["groups"].as_array().unwrap();
    let by_id = |id: &serde_json::Value| {
        groups
            .iter()
            .find(|g| g["id"] == *id)
            .unwrap_or_else(|| panic!("no group {id}: {j:#}"))
    };
    let frontend = groups
        .iter()
        .find(|g| g["display"] == "deployment/shop/frontend")
        .expect("the frontend's group");
    assert_eq!(
        frontend["workloads"],
        serde_json::json!([{"kind": "deployment", "name": "frontend"}])
    );
    assert_eq!(frontend["namespace"], "shop");
    let mut referenced = 0;
    for c in j["connections"].as_array().unwrap() {
        for (id, name) in [("fromGroup", "from"), ("toGroup", "to")] {
            match c.get(id) {
                Some(id) => {
                    referenced += 1;
                    assert_eq!(by_id(id)["display"], c[name], "{c:#}");
                }
                // Only a rule's peer (a selector, an address, "any destination") is no group.
                None => assert_eq!(c["kind"], "rule", "{c:#}"),
            }
        }
        if c["kind"] == "workload" {
            assert!(
                c.get("fromGroup").is_some() && c.get("toGroup").is_some(),
                "{c:#}"
            );
        }
    }
    assert!(referenced > 4, "{j:#}");
    // A run that cannot finish writes a valid document too.
    let down = Run::new([
        "reach",
        "-n",
        "shop",
        "-o",
        "json",
        "--server",
        "http://127.0.0.1:1",
        "--token",
        "t",
    ])
    .run();
    assert_eq!(down.code, 3, "{}", down.stderr);
    validate(&down.json());
}

fn validate(value: &serde_json::Value) {
    crate::support::validate_with(value, "reach.schema.json");
}
