//! The cluster-wide policy tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
//! ClusterNetworkPolicy) through `path` and `reach`, live and offline, and what a read that
//! fails does to a verdict. The check's own verdicts are scenarios (tests/scenarios/tiers-*).

use crate::support::{Run, api_with, check_of, repo, server_with};

fn scenario(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = repo().join("tests/scenarios").join(name);
    (dir.join("manifests.yaml"), dir.join("cluster.yaml"))
}

/// `path` names the deciding rule on each side, with its tier, live and offline.
#[test]
fn path_names_the_deciding_cluster_rule() {
    let (m, c) = scenario("tiers-admin-deny-beats-allow");
    let server = server_with(&[&m, &c]);
    let live = Run::new([
        "path",
        "--from",
        "pod/frontend",
        "--to",
        "svc/cart",
        "-n",
        "shop",
        "--no-probe",
        "-o",
        "json",
    ])
    .kubeconfig(&server, None)
    .run();
    let offline = Run::new([
        "path",
        "--from",
        "pod/frontend",
        "--to",
        "svc/cart",
        "-n",
        "shop",
        "-o",
        "json",
        "-f",
    ])
    .arg(m.display().to_string())
    .run();
    for (source, out) in [("live", &live), ("offline", &offline)] {
        // Denied: exit 1 (an Admin-tier Deny, whatever shop/cart-from-frontend allows).
        assert_eq!(out.code, 1, "{source}: {}{}", out.stdout, out.stderr);
        let j = out.json();
        assert_eq!(j["verdict"], "denied", "{source}");
        let ingress = &j["paths"][0]["ingress"];
        assert_eq!(ingress["verdict"], "denied");
        assert_eq!(
            ingress["clusterRule"],
            serde_json::json!({
                "tier": "Admin", "kind": "AdminNetworkPolicy", "policy": "tenant-isolation",
                "rule": "deny-frontend", "action": "Deny", "priority": 10
            }),
            "{source}"
        );
        // The NetworkPolicy selecting the pods is still named, but did not decide.
        assert_eq!(ingress["selecting"][0], "shop/cart-from-frontend");
        assert!(ingress["allowedBy"].as_array().unwrap().is_empty());
        assert!(j["paths"][0]["egress"].get("clusterRule").is_none());
    }
    assert!(server.requests().iter().all(|r| !r.is_write()));
}

/// `reach`: the Admin-tier Deny closes frontend → cart on every port, the row says which cluster
/// policy decided, and cart's exposure lists the rule (with its action) before NetworkPolicy's.
#[test]
fn reach_shows_the_tiers_in_connections_and_exposure() {
    let (m, _) = scenario("tiers-admin-deny-beats-allow");
    let out = Run::new(["reach", "-n", "shop", "-o", "json", "-f"])
        .arg(m.display().to_string())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    let rows = j["connections"].as_array().unwrap();
    let to_cart: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|c| {
            c["kind"] == "workload"
                && c["from"] == "deployment/shop/frontend"
                && c["to"] == "deployment/shop/cart"
        })
        .collect();
    for r in &to_cart {
        assert_eq!(r["ports"], "none", "{r}");
    }
    // cart → frontend: nothing isolates frontend's ingress, cart's egress is free.
    assert!(
        rows.iter().any(|c| c["from"] == "deployment/shop/cart"
            && c["to"] == "deployment/shop/frontend"
            && c["ports"] == "all"),
        "{rows:#?}"
    );
    let exposure: Vec<&str> = rows
        .iter()
        .filter(|c| c["kind"] == "rule" && c["to"] == "deployment/shop/cart")
        .map(|c| c["from"].as_str().unwrap())
        .collect();
    assert_eq!(
        exposure.first().copied(),
        Some(
            "Deny: AdminNetworkPolicy tenant-isolation (deny-frontend): pods app=frontend in namespaces kubernetes.io/metadata.name=shop"
        ),
        "{exposure:?}"
    );
    assert!(
        exposure
            .iter()
            .any(|e| e.starts_with("pods app=frontend in shop")),
        "NetworkPolicy's own rule follows: {exposure:?}"
    );
}

/// A cluster whose cluster-wide policies cannot be read (forbidden): the verdict is
/// NetworkPolicy's alone and says so (a warning, never a silent pass).
#[test]
fn unreadable_cluster_policies_turn_a_pass_into_a_warning() {
    let (m, c) = scenario("tiers-baseline-ignored");
    let api = api_with(&[&m, &c]);
    api.forbid("list", "baselineadminnetworkpolicies", None);
    let server = api.start();
    let out = Run::new([
        "svc",
        "cart",
        "-n",
        "shop",
        "--from",
        "pod/frontend",
        "--no-probe",
        "-o",
        "json",
    ])
    .kubeconfig(&server, None)
    .run();
    let j = out.json();
    let check = check_of(&j, "netpol.allows").clone();
    assert_eq!(check["status"], "warn", "{check:#}");
    assert_eq!(check["code"], "ND8002");
    let said = check.to_string();
    assert!(
        said.contains("could not read the cluster-wide policies"),
        "{said}"
    );
}

/// Without `--from`, an Admin-tier Deny on the backends' port makes NetworkPolicy's summary only
/// part of the answer: a warning naming the rule, and the way to judge one client.
#[test]
fn without_a_client_a_cluster_deny_is_named_not_hidden_behind_a_pass() {
    let (m, _) = scenario("tiers-admin-deny-beats-allow");
    let out = Run::new(["svc", "cart", "-n", "shop", "-o", "json", "-f"])
        .arg(m.display().to_string())
        .run();
    assert_eq!(out.code, 0, "a warning: {}", out.stderr);
    let j = out.json();
    let check = check_of(&j, "netpol.allows").clone();
    assert_eq!(check["status"], "warn", "{check:#}");
    assert_eq!(check["code"], "ND8016");
    assert!(
        check["summary"]
            .as_str()
            .unwrap()
            .contains("Deny: AdminNetworkPolicy tenant-isolation (deny-frontend)"),
        "{check:#}"
    );
    // The baseline's Deny does not apply where NetworkPolicy isolates: a plain pass there.
    let (m, _) = scenario("tiers-baseline-ignored");
    let out = Run::new(["svc", "cart", "-n", "shop", "-o", "json", "-f"])
        .arg(m.display().to_string())
        .run();
    let j = out.json();
    let check = check_of(&j, "netpol.allows").clone();
    assert_eq!(check["status"], "pass", "{check:#}");
}

/// `scan` reads the cluster-wide policies like `svc`: the cart's policy summary names the Admin
/// Deny live, and a scan that cannot read them says so as a finding (never a silent pass).
#[test]
fn scan_reads_the_tiers_and_says_when_it_cannot() {
    let (m, c) = scenario("tiers-admin-deny-beats-allow");
    let server = server_with(&[&m, &c]);
    let out = Run::new(["scan", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    let j = out.json();
    let cart = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["target"]["name"] == "cart")
        .unwrap_or_else(|| panic!("{j:#}"));
    let check = check_of(cart, "netpol.allows");
    assert_eq!(check["code"], "ND8016", "{check:#}");

    let api = api_with(&[&m, &c]);
    api.forbid("list", "adminnetworkpolicies", None);
    let server = api.start();
    let out = Run::new(["scan", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    let j = out.json();
    // The policy verdict is NetworkPolicy's alone, and says so: a warning, not a pass.
    let cart = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["target"]["name"] == "cart")
        .unwrap_or_else(|| panic!("{j:#}"));
    assert_eq!(
        check_of(cart, "netpol.allows")["code"],
        "ND8002",
        "{cart:#}"
    );
    assert!(
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "ND9002"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("adminnetworkpolicies")),
        "{}",
        j["findings"]
    );
}
