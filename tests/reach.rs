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
