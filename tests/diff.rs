//! `diff` (issue 19): what a change does before it is applied, on a scenario pair written for it
//! (tests/diff/policy-change): the expectations come from the NetworkPolicy and Service rules.

use serde_json::Value;

use crate::support::{FakeApi, Run, repo};

fn pair() -> (String, String) {
    let dir = repo().join("tests/diff/policy-change");
    (
        dir.join("base").display().to_string(),
        dir.join("new").display().to_string(),
    )
}

fn pairs(list: &Value) -> Vec<(String, String, String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("from"), s("to"), s("before"), s("after"))
        })
        .collect()
}

fn own(t: [&str; 4]) -> (String, String, String, String) {
    (t[0].into(), t[1].into(), t[2].into(), t[3].into())
}

/// The pair's loss: the new policy admits only the frontend to the cart's pods.
fn cart_loses_itself() -> (String, String, String, String) {
    own([
        "deployment/shop/cart",
        "deployment/shop/cart",
        "all",
        "none",
    ])
}

#[test]
fn a_policy_and_selector_change_shows_what_it_breaks() {
    let (base, new) = pair();
    let out = Run::new([
        "diff", "-n", "shop", "-o", "json", "-f", &new, "--base", &base,
    ])
    .run();
    // Without --fail-on-loss the diff reports and exits 0.
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    assert_eq!(j["kind"], "DiffReport");
    // No policy before: every pod reached every pod. After: cart's pods admit only the frontend,
    // on 8080 — cart → cart is lost, frontend → cart narrowed to TCP 8080; nothing selects the
    // frontend, so everything still reaches it.
    assert_eq!(pairs(&j["lost"]), [cart_loses_itself()]);
    assert_eq!(
        pairs(&j["narrowed"]),
        [own([
            "deployment/shop/frontend",
            "deployment/shop/cart",
            "all",
            "TCP 8080"
        ])]
    );
    assert!(pairs(&j["gained"]).is_empty(), "{j:#}");
    // The Service's selector now names a label no pod carries.
    let broken = j["broken"].as_array().unwrap();
    assert_eq!(broken.len(), 1, "{j:#}");
    assert_eq!(broken[0]["name"], "cart");
    assert_eq!(broken[0]["before"]["status"], "pass");
    assert_eq!(broken[0]["after"]["status"], "fail");
    assert_eq!(broken[0]["after"]["code"], "ND1108");
    // The Ingress added with the change routes to nothing.
    assert_eq!(j["newFindings"][0]["code"], "ND6020", "{j:#}");
    assert_eq!(j["summary"]["lost"], 1);
    assert_eq!(j["summary"]["broken"], 1);

    // --fail-on-loss: exit 1, and the table says the same.
    let out = Run::new([
        "diff",
        "-n",
        "shop",
        "-f",
        &new,
        "--base",
        &base,
        "--fail-on-loss",
    ])
    .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("deployment/shop/cart → deployment/shop/cart: all → none"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("shop/cart: pass → fail at service.selector (ND1108)"),
        "{}",
        out.stdout
    );

    // The other way round: gains and fixes only — nothing lost, exit 0 even with the flag.
    let back = Run::new([
        "diff",
        "-n",
        "shop",
        "-o",
        "json",
        "-f",
        &base,
        "--base",
        &new,
        "--fail-on-loss",
    ])
    .run();
    assert_eq!(back.code, 0, "{}", back.stdout);
    let j = back.json();
    assert!(
        pairs(&j["lost"]).is_empty() && pairs(&j["narrowed"]).is_empty(),
        "{j:#}"
    );
    let gained = pairs(&j["gained"]);
    assert!(
        gained.contains(&own([
            "deployment/shop/cart",
            "deployment/shop/cart",
            "none",
            "all"
        ])),
        "{gained:?}"
    );
    assert!(
        gained.contains(&own([
            "deployment/shop/frontend",
            "deployment/shop/cart",
            "TCP 8080",
            "all"
        ])),
        "{gained:?}"
    );
    assert_eq!(j["fixed"][0]["name"], "cart");
    assert_eq!(j["resolvedFindings"][0]["code"], "ND6020");
    // Markdown for the pull request.
    let md = Run::new([
        "diff", "-n", "shop", "-o", "markdown", "-f", &new, "--base", &base,
    ])
    .run();
    assert!(md.stdout.contains("### Connections lost"), "{}", md.stdout);
    assert!(
        md.stdout
            .contains("| deployment/shop/cart | deployment/shop/cart | all | none |"),
        "{}",
        md.stdout
    );
}

/// `--base live`: the change against the cluster as it runs (the fake API server holding the
/// base's objects as running pods).
#[test]
fn a_change_is_compared_with_the_live_cluster() {
    let (base, new) = pair();
    let api = FakeApi::new();
    for f in std::fs::read_dir(&base).unwrap() {
        api.load_yaml(&std::fs::read_to_string(f.unwrap().path()).unwrap())
            .unwrap();
    }
    let pod = |app: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {app}-7d9f-abcde\n  namespace: shop\n  labels: {{app: {app}, pod-template-hash: 7d9f}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {app}-7d9f, uid: u-{app}, controller: true}}]\nspec: {{nodeName: node-a, containers: [{{name: c, image: x, ports: [{{containerPort: 8080}}]}}]}}\nstatus: {{phase: Running, podIP: 10.244.0.{}, conditions: [{{type: Ready, status: 'True'}}]}}\n",
            if app == "cart" { 5 } else { 6 }
        )
    };
    api.load_yaml(&pod("cart")).unwrap();
    api.load_yaml(&pod("frontend")).unwrap();
    api.load_yaml("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: cart-1, namespace: shop, labels: {kubernetes.io/service-name: cart}}\naddressType: IPv4\nports: [{port: 8080, protocol: TCP}]\nendpoints: [{addresses: [10.244.0.5], conditions: {ready: true}, nodeName: node-a, targetRef: {kind: Pod, namespace: shop, name: cart-7d9f-abcde}}]\n").unwrap();
    let server = api.start();
    let out = Run::new([
        "diff",
        "-n",
        "shop",
        "-o",
        "json",
        "-f",
        &new,
        "--base",
        "live",
        "--fail-on-loss",
    ])
    .kubeconfig(&server, None)
    .run();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let j = out.json();
    assert_eq!(j["base"], "live");
    assert_eq!(pairs(&j["lost"]), [cart_loses_itself()]);
    assert_eq!(j["broken"][0]["after"]["code"], "ND1108", "{j:#}");
    // Only reads: a diff never writes to the cluster.
    assert!(server.requests().iter().all(|r| !r.is_write()));
}

/// `-o sarif` for the pull request: what the change breaks, as code scanning results — the lost
/// connection (ND9003), the narrowed one (ND9004), the Service that breaks (its finding's code)
/// and the new finding — valid SARIF 2.1.0.
#[test]
fn a_diff_as_sarif_names_what_the_change_breaks() {
    let (base, new) = pair();
    let out = Run::new([
        "diff", "-n", "shop", "-o", "sarif", "-f", &new, "--base", &base,
    ])
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = out.json();
    crate::support::validate_with(&log, "sarif-2.1.0.schema.json");
    let mut codes: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, ["ND1108", "ND6020", "ND9003", "ND9004"], "{log:#}");
    let lost = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "ND9003")
        .unwrap();
    assert_eq!(
        lost["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "deployment/shop/cart"
    );
}
