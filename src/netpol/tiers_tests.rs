//! The cluster-wide tiers: truth tables from the intent of sigs.k8s.io/network-policy-api's
//! conformance tests (AdminNetworkPolicy/BaselineAdminNetworkPolicy "Allow", "Deny", "Pass",
//! priority and rule order, gress rules with ports and named ports; ClusterNetworkPolicy's tiers),
//! rewritten on this project's e2e layout: namespaces x, y, z (`ns=<name>`), pods a, b, c (`pod=<name>`)
//! serving 80 and 81; and the property tests the issue names.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

// The layout of the NetworkPolicy property tests: x, y, z × a, b, c, ports 80 and 81.
use super::props::{NS, POD, namespaces, pod};

fn index(name: &str) -> usize {
    let (ns, p) = name.split_once('/').unwrap();
    NS.iter().position(|n| *n == ns).unwrap() * 3 + POD.iter().position(|q| *q == p).unwrap()
}

/// NetworkPolicies and tier policies from one YAML stream.
fn set(yaml: &str) -> Result<PolicySet, InvalidPolicy> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(yaml).expect("YAML");
    let mut nps = Vec::new();
    let mut tiers = Vec::new();
    for d in docs {
        if d["kind"] == "NetworkPolicy" {
            nps.push(serde_json::from_value(d).expect("NetworkPolicy"));
        } else {
            tiers.push(serde_json::from_value::<TierPolicy>(d).expect("tier policy"));
        }
    }
    PolicySet::compile(&nps)?.with_tiers(&tiers)
}

fn decide(set: &PolicySet, from: &str, to: &str, port: u16) -> PathDecision {
    set.decide(
        &namespaces(),
        &Party::Pod(pod(index(from))),
        &Party::Pod(pod(index(to))),
        port,
        Protocol::Tcp,
    )
}

fn word(set: &PolicySet, from: &str, to: &str, port: u16) -> &'static str {
    decide(set, from, to, port).verdict().word()
}

const ANP: &str = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n";
const BANP: &str = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\n";
const NP: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n";

#[test]
fn an_admin_deny_beats_a_networkpolicy_allow_and_names_its_rule() {
    let s = set(&format!(
        "{NP}metadata: {{name: allow-y, namespace: x}}\nspec: {{podSelector: {{}}, ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{ns: \"y\"}}}}}}]}}]}}\n---\n\
         {ANP}metadata: {{name: tenant-isolation}}\nspec:\n  priority: 10\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress:\n  - {{name: deny-from-y, action: Deny, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}\n"
    ))
    .unwrap();
    let d = decide(&s, "y/b", "x/a", 80);
    assert_eq!(d.verdict(), Verdict::Denied);
    assert_eq!(
        d.ingress.reason,
        "denied by AdminNetworkPolicy tenant-isolation rule deny-from-y (priority 10); NetworkPolicies that would allow it are not consulted"
    );
    let r = d.ingress.cluster_rule.unwrap();
    assert_eq!((r.tier, r.action, r.index), (Tier::Admin, Action::Deny, 0));
    // z is not the ANP's peer: NetworkPolicy decides (it allows only y).
    assert_eq!(word(&s, "z/b", "x/a", 80), "denied");
    assert!(decide(&s, "z/b", "x/a", 80).ingress.cluster_rule.is_none());
    // Outside the subject nothing changes.
    assert_eq!(word(&s, "y/b", "z/a", 80), "allowed");
}

#[test]
fn an_admin_allow_beats_a_networkpolicy_deny() {
    let s = set(&format!(
        "{NP}metadata: {{name: deny-all, namespace: x}}\nspec: {{podSelector: {{}}, policyTypes: [Ingress]}}\n---\n\
         {ANP}metadata: {{name: monitoring}}\nspec:\n  priority: 3\n  subject: {{namespaces: {{}}}}\n  ingress:\n  - {{name: allow-y, action: Allow, from: [{{pods: {{namespaceSelector: {{matchLabels: {{ns: \"y\"}}}}, podSelector: {{matchLabels: {{pod: c}}}}}}}}]}}\n"
    ))
    .unwrap();
    assert_eq!(word(&s, "y/c", "x/a", 80), "allowed");
    let d = decide(&s, "y/c", "x/a", 80);
    assert!(
        d.ingress
            .reason
            .ends_with("NetworkPolicies that would deny it are not consulted"),
        "{}",
        d.ingress.reason
    );
    assert_eq!(word(&s, "y/b", "x/a", 80), "denied");
}

#[test]
fn pass_hands_over_to_networkpolicy_then_to_the_baseline() {
    // Priority 5 passes y; priority 10 denies every namespace: y reaches NetworkPolicy, z does
    // not.
    let anps = format!(
        "{ANP}metadata: {{name: pass-y}}\nspec:\n  priority: 5\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress: [{{name: pass-y, action: Pass, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}]\n---\n\
         {ANP}metadata: {{name: deny-all}}\nspec:\n  priority: 10\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress: [{{name: deny, action: Deny, from: [{{namespaces: {{}}}}]}}]\n"
    );
    let np_deny = format!(
        "{NP}metadata: {{name: only-z, namespace: x}}\nspec: {{podSelector: {{}}, ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{ns: z}}}}}}]}}]}}\n"
    );
    let s = set(&format!("{anps}---\n{np_deny}")).unwrap();
    let d = decide(&s, "y/a", "x/a", 80);
    assert_eq!(d.verdict(), Verdict::Denied, "NetworkPolicy denies y");
    assert!(
        d.ingress
            .reason
            .starts_with("AdminNetworkPolicy pass-y rule pass-y (priority 5) passes it on"),
        "{}",
        d.ingress.reason
    );
    assert_eq!(
        d.ingress.cluster_rule.as_ref().unwrap().action,
        Action::Pass
    );
    assert_eq!(
        word(&s, "z/a", "x/a", 80),
        "denied",
        "the Admin Deny, whatever NetworkPolicy says"
    );
    // No NetworkPolicy: the baseline decides what was passed.
    let banp = format!(
        "{BANP}spec:\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress: [{{name: baseline-deny-y, action: Deny, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}]\n"
    );
    let s = set(&format!("{anps}---\n{banp}")).unwrap();
    let d = decide(&s, "y/a", "x/a", 80);
    assert_eq!(d.verdict(), Verdict::Denied);
    assert_eq!(
        d.ingress.cluster_rule.as_ref().unwrap().tier,
        Tier::Baseline
    );
    // And without a baseline, default allow.
    let s = set(&anps).unwrap();
    assert_eq!(word(&s, "y/a", "x/a", 80), "allowed");
}

#[test]
fn the_baseline_applies_only_where_no_networkpolicy_isolates() {
    let banp = format!(
        "{BANP}spec:\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress: [{{name: deny-y, action: Deny, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}]\n"
    );
    let s = set(&banp).unwrap();
    assert_eq!(word(&s, "y/a", "x/a", 80), "denied");
    assert_eq!(
        decide(&s, "y/a", "x/a", 80).ingress.reason,
        "denied by BaselineAdminNetworkPolicy default rule deny-y (Deny, Baseline tier): no NetworkPolicy selects x/a for ingress"
    );
    assert_eq!(word(&s, "z/a", "x/a", 80), "allowed");
    // A NetworkPolicy isolating x/a (allowing y) overrides the baseline there only.
    let np = format!(
        "{NP}metadata: {{name: allow-y, namespace: x}}\nspec: {{podSelector: {{matchLabels: {{pod: a}}}}, ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{ns: \"y\"}}}}}}]}}]}}\n"
    );
    let s = set(&format!("{banp}---\n{np}")).unwrap();
    assert_eq!(word(&s, "y/a", "x/a", 80), "allowed");
    assert_eq!(
        word(&s, "z/a", "x/a", 80),
        "denied",
        "NetworkPolicy isolates x/a"
    );
    assert_eq!(
        word(&s, "y/a", "x/b", 80),
        "denied",
        "the baseline still holds x/b"
    );
    assert_eq!(word(&s, "z/a", "x/b", 80), "allowed");
}

#[test]
fn priorities_order_policies_and_equal_ones_that_disagree_are_implementation_defined() {
    let two = |p1: u32, a1: &str, p2: u32, a2: &str| {
        set(&format!(
            "{ANP}metadata: {{name: first}}\nspec:\n  priority: {p1}\n  subject: {{namespaces: {{}}}}\n  ingress: [{{name: r1, action: {a1}, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}]\n---\n\
             {ANP}metadata: {{name: second}}\nspec:\n  priority: {p2}\n  subject: {{namespaces: {{}}}}\n  ingress: [{{name: r2, action: {a2}, from: [{{namespaces: {{}}}}]}}]\n"
        ))
        .unwrap()
    };
    // Lower priority values are evaluated first.
    assert_eq!(
        word(&two(20, "Allow", 10, "Deny"), "y/a", "x/a", 80),
        "denied"
    );
    assert_eq!(
        word(&two(10, "Allow", 20, "Deny"), "y/a", "x/a", 80),
        "allowed"
    );
    assert_eq!(
        word(&two(10, "Allow", 20, "Deny"), "z/a", "x/a", 80),
        "denied"
    );
    // Equal priorities: agree → decided; disagree → the implementation's choice.
    assert_eq!(word(&two(7, "Deny", 7, "Deny"), "y/a", "x/a", 80), "denied");
    let d = decide(&two(7, "Allow", 7, "Deny"), "y/a", "x/a", 80);
    match d.verdict() {
        Verdict::ImplementationDefined(r) => assert!(r.contains("equal priority"), "{r}"),
        other => panic!("{other:?}"),
    }
    // Where only one of them matches, it decides.
    assert_eq!(
        word(&two(7, "Allow", 7, "Deny"), "z/a", "x/a", 80),
        "denied"
    );
}

#[test]
fn rules_are_evaluated_in_order_and_ports_narrow_them() {
    let s = set(&format!(
        "{ANP}metadata: {{name: ordered}}\nspec:\n  priority: 1\n  subject: {{pods: {{namespaceSelector: {{matchLabels: {{ns: x}}}}, podSelector: {{matchLabels: {{pod: a}}}}}}}}\n  ingress:\n  - {{name: allow-81, action: Allow, from: [{{namespaces: {{}}}}], ports: [{{portNumber: {{protocol: TCP, port: 81}}}}]}}\n  - {{name: deny-named-80, action: Deny, from: [{{namespaces: {{}}}}], ports: [{{namedPort: serve-80-tcp}}]}}\n  - {{name: deny-rest, action: Deny, from: [{{namespaces: {{}}}}]}}\n"
    ))
    .unwrap();
    assert_eq!(word(&s, "y/a", "x/a", 81), "allowed");
    let d = decide(&s, "y/a", "x/a", 80);
    assert_eq!(d.ingress.cluster_rule.unwrap().rule, "deny-named-80");
    // Only pod a is the subject.
    assert_eq!(word(&s, "y/a", "x/b", 80), "allowed");
    // Over every port: 81/TCP only.
    let r = s.allowed_ports(&namespaces(), &Party::Pod(pod(3)), &Party::Pod(pod(0)));
    assert_eq!(r.allowed.to_string(), "TCP 81");
    assert_eq!(r.cluster, vec!["AdminNetworkPolicy ordered".to_string()]);
}

#[test]
fn egress_to_networks_and_nodes() {
    let s = set(&format!(
        "{ANP}metadata: {{name: egress}}\nspec:\n  priority: 1\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  egress:\n  - {{name: deny-nodes, action: Deny, to: [{{nodes: {{matchLabels: {{role: control-plane}}}}}}]}}\n  - {{name: deny-pod-cidr-z, action: Deny, to: [{{networks: [10.0.3.0/24]}}]}}\n"
    ))
    .unwrap();
    // Networks match pod addresses too.
    assert_eq!(word(&s, "x/a", "z/a", 80), "denied");
    assert_eq!(word(&s, "x/a", "y/a", 80), "allowed");
    // Nodes: by their labels, to their addresses.
    let node_ip: IpAddr = "192.168.1.10".parse().unwrap();
    let external = Party::External(node_ip);
    let src = Party::Pod(pod(0));
    // Without the nodes read: unknown, never a claim.
    let d = s.decide(&namespaces(), &src, &external, 6443, Protocol::Tcp);
    assert_eq!(d.verdict().word(), "unknown");
    let nodes = vec![NodeInfo {
        name: "cp-1".into(),
        labels: [("role".to_string(), "control-plane".to_string())].into(),
        addresses: vec![node_ip],
    }];
    let nss = namespaces().with_nodes(nodes);
    assert_eq!(
        s.decide(&nss, &src, &external, 6443, Protocol::Tcp)
            .verdict(),
        Verdict::Denied
    );
    let other: IpAddr = "192.168.1.11".parse().unwrap();
    assert_eq!(
        s.decide(&nss, &src, &Party::External(other), 6443, Protocol::Tcp)
            .verdict(),
        Verdict::Allowed
    );
}

#[test]
fn cluster_network_policy_tiers_and_actions() {
    let cnp = "apiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\n";
    let s = set(&format!(
        "{cnp}metadata: {{name: admin}}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress:\n  - {{name: accept-y-81, action: Accept, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}], protocols: [{{tcp: {{destinationPort: {{number: 81}}}}}}]}}\n  - {{name: pass-y, action: Pass, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}\n---\n\
         {cnp}metadata: {{name: baseline}}\nspec:\n  tier: Baseline\n  priority: 1\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress: [{{name: deny-y, action: Deny, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}]\n"
    ))
    .unwrap();
    assert_eq!(word(&s, "y/a", "x/a", 81), "allowed");
    let d = decide(&s, "y/a", "x/a", 80);
    assert_eq!(
        d.verdict(),
        Verdict::Denied,
        "passed, then the baseline denies"
    );
    assert_eq!(
        d.ingress.cluster_rule.as_ref().unwrap().kind,
        "ClusterNetworkPolicy"
    );
    assert_eq!(word(&s, "z/a", "x/a", 80), "allowed");
}

#[test]
fn offline_unknown_namespace_labels_make_namespace_subjects_unknown() {
    let s = set(&format!(
        "{ANP}metadata: {{name: by-team}}\nspec:\n  priority: 1\n  subject: {{namespaces: {{matchLabels: {{team: pay}}}}}}\n  ingress: [{{name: deny, action: Deny, from: [{{namespaces: {{}}}}]}}]\n"
    ))
    .unwrap();
    let partial = Namespaces::partial(Default::default());
    let d = s.decide(
        &partial,
        &Party::Pod(pod(3)),
        &Party::Pod(pod(0)),
        80,
        Protocol::Tcp,
    );
    assert_eq!(d.verdict().word(), "unknown");
    // Known labels: no such team, not a subject.
    assert_eq!(word(&s, "y/a", "x/a", 80), "allowed");
}

#[test]
fn host_network_pods_are_neither_subjects_nor_pod_peers() {
    let s = set(&format!(
        "{ANP}metadata: {{name: deny-all}}\nspec:\n  priority: 1\n  subject: {{namespaces: {{}}}}\n  ingress: [{{name: deny, action: Deny, from: [{{namespaces: {{}}}}]}}]\n"
    ))
    .unwrap();
    let mut host = pod(3);
    host.host_network = true;
    let d = s.decide(
        &namespaces(),
        &Party::Pod(host.clone()),
        &Party::Pod(pod(0)),
        80,
        Protocol::Tcp,
    );
    assert_eq!(d.verdict(), Verdict::Allowed, "{}", d.ingress.reason);
    let d = s.decide(
        &namespaces(),
        &Party::Pod(pod(0)),
        &Party::Pod(host),
        80,
        Protocol::Tcp,
    );
    assert_eq!(d.verdict(), Verdict::Allowed);
}

#[test]
fn invalid_cluster_policies_name_the_policy_and_the_rule() {
    let bad = |spec: &str| {
        set(&format!("{ANP}metadata: {{name: bad}}\nspec:\n{spec}\n"))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        bad("  priority: 1001\n  subject: {namespaces: {}}"),
        "invalid AdminNetworkPolicy bad: spec.priority 1001: must be 0 to 1000"
    );
    assert_eq!(
        bad(
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{name: r, action: Accept, from: [{namespaces: {}}]}]"
        ),
        "invalid AdminNetworkPolicy bad: spec.ingress[0] (r): action \"Accept\": must be Allow, Deny or Pass"
    );
    assert!(bad("  priority: 1\n  subject: {}").contains("exactly one of namespaces and pods"));
    assert!(
        bad("  priority: 1\n  subject: {namespaces: {}}\n  egress: [{action: Deny, to: [{networks: [10.0.0.300/8]}]}]")
            .contains("spec.egress[0]: to[0]: networks: \"10.0.0.300/8\" is not a CIDR")
    );
    let banp = set(
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: other}\nspec: {subject: {namespaces: {}}}\n",
    );
    assert!(
        banp.unwrap_err()
            .message
            .contains("must be named \"default\"")
    );
}

/// `reach` skips the pairs `possible_sources` leaves out. Through the Admin tier, a Deny and a
/// Pass of one priority for the same source leave the port implementation-defined: that source
/// must stay a candidate although no rule allows it and NetworkPolicy admits only x.
#[test]
fn possible_sources_keep_sources_that_equal_priorities_leave_undecided() {
    let s = set(&format!(
        "{ANP}metadata: {{name: deny-y}}\nspec:\n  priority: 5\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress: [{{action: Deny, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}]\n---\n\
         {ANP}metadata: {{name: pass-y}}\nspec:\n  priority: 5\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress: [{{action: Pass, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}]\n---\n\
         {NP}metadata: {{name: only-x, namespace: x}}\nspec: {{podSelector: {{}}, ingress: [{{from: [{{podSelector: {{}}}}]}}]}}\n"
    ))
    .unwrap();
    let nss = namespaces();
    let pods: Vec<PodInfo> = (0..9).map(pod).collect();
    let mut by_ns: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, p) in pods.iter().enumerate() {
        by_ns.entry(p.namespace.clone()).or_default().push(i);
    }
    let (ya, xa) = (index("y/a"), index("x/a"));
    let r = s.allowed_ports(&nss, &Party::Pod(pod(ya)), &Party::Pod(pod(xa)));
    assert!(r.allowed.is_empty() && !r.undecided.is_empty(), "{r:?}");
    let sources = s
        .possible_sources(&nss, &pod(xa), &pods, &by_ns, &mut PeerMatches::default())
        .expect("x/a is isolated: a list of sources");
    assert!(sources.contains(&ya), "{sources:?}");
    // z reaches x/a through nothing: neither a rule nor NetworkPolicy names it.
    assert!(!sources.contains(&index("z/a")), "{sources:?}");
}

// --- Properties ---

fn ns_sel() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{}".to_string()),
        (0..3usize).prop_map(|i| format!("{{matchLabels: {{ns: \"{}\"}}}}", NS[i]))
    ]
}

fn pod_sel() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{}".to_string()),
        (0..3usize).prop_map(|i| format!("{{matchLabels: {{pod: {}}}}}", POD[i]))
    ]
}

fn peer() -> impl Strategy<Value = String> {
    prop_oneof![
        ns_sel().prop_map(|n| format!("{{namespaces: {n}}}")),
        (ns_sel(), pod_sel())
            .prop_map(|(n, p)| format!("{{pods: {{namespaceSelector: {n}, podSelector: {p}}}}}")),
    ]
}

fn ports() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(", ports: [{portNumber: {protocol: TCP, port: 80}}]".to_string()),
        Just(", ports: [{namedPort: serve-81-tcp}]".to_string()),
        Just(", ports: [{portRange: {protocol: UDP, start: 79, end: 81}}]".to_string()),
    ]
}

fn rule(actions: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        proptest::sample::select(actions),
        proptest::collection::vec(peer(), 1..3),
        ports(),
        any::<bool>(),
    )
        .prop_map(|(action, peers, ports, egress)| {
            let field = if egress { "to" } else { "from" };
            format!(
                "{}{{action: {action}, {field}: [{}]{ports}}}",
                if egress { "E" } else { "I" },
                peers.join(", ")
            )
        })
}

fn subject() -> impl Strategy<Value = String> {
    prop_oneof![
        ns_sel().prop_map(|n| format!("{{namespaces: {n}}}")),
        (ns_sel(), pod_sel())
            .prop_map(|(n, p)| format!("{{pods: {{namespaceSelector: {n}, podSelector: {p}}}}}")),
    ]
}

/// A policy of `kind` from generated rules (each tagged I/E for its direction).
fn policy(
    head: &str,
    name: &str,
    priority: Option<u32>,
    subject: &str,
    rules: &[String],
) -> String {
    let (ing, eg): (Vec<&String>, Vec<&String>) = rules.iter().partition(|r| r.starts_with('I'));
    let list = |rs: Vec<&String>| {
        rs.iter()
            .map(|r| r[1..].to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let prio = priority
        .map(|p| format!("  priority: {p}\n"))
        .unwrap_or_default();
    format!(
        "{head}metadata: {{name: {name}}}\nspec:\n{prio}  subject: {subject}\n  ingress: [{}]\n  egress: [{}]\n",
        list(ing),
        list(eg)
    )
}

fn anp() -> impl Strategy<Value = String> {
    (
        1..5u32,
        0..1000u32,
        subject(),
        proptest::collection::vec(rule(&["Allow", "Deny", "Pass"]), 0..4),
    )
        .prop_map(|(p, id, s, rules)| policy(ANP, &format!("anp{id}"), Some(p), &s, &rules))
}

fn banp() -> impl Strategy<Value = String> {
    (
        subject(),
        proptest::collection::vec(rule(&["Allow", "Deny"]), 0..4),
    )
        .prop_map(|(s, rules)| {
            policy(
                "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n",
                "default",
                None,
                &s,
                &rules,
            )
        })
}

fn nps() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        (0..3usize, pod_sel(), ns_sel(), any::<bool>()).prop_map(|(ns, p, from, egress)| {
            let (types, rules) = if egress {
                ("[Egress]", format!("egress: [{{to: [{{namespaceSelector: {from}}}]}}]"))
            } else {
                ("[Ingress]", format!("ingress: [{{from: [{{namespaceSelector: {from}}}]}}]"))
            };
            format!(
                "{NP}metadata: {{name: np-{ns}, namespace: \"{}\"}}\nspec: {{podSelector: {p}, policyTypes: {types}, {rules}}}\n",
                NS[ns]
            )
        }),
        0..3,
    )
}

fn case() -> impl Strategy<Value = (usize, usize, u16, Protocol)> {
    (
        0..9usize,
        0..9usize,
        prop_oneof![Just(80u16), Just(81)],
        prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp)],
    )
}

fn verdict(docs: &[String], (s, d, port, proto): (usize, usize, u16, Protocol)) -> Verdict {
    let set = set(&docs.join("---\n")).expect("generated policies are valid");
    set.decide(
        &namespaces(),
        &Party::Pod(pod(s)),
        &Party::Pod(pod(d)),
        port,
        proto,
    )
    .verdict()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// An Admin Allow rule placed first in a new policy of the highest precedence (priority 0)
    /// never turns an allowed connection into anything else.
    #[test]
    fn adding_an_admin_allow_never_removes_an_allow(
        anps in proptest::collection::vec(anp(), 0..3),
        base in proptest::option::of(banp()),
        np in nps(),
        allow in rule(&["Allow"]),
        subj in subject(),
        c in case(),
    ) {
        let mut docs: Vec<String> = anps.iter().chain(base.iter()).chain(np.iter()).cloned().collect();
        docs.sort();
        docs.dedup_by(|a, b| a.lines().nth(2) == b.lines().nth(2));
        let before = verdict(&docs, c);
        docs.push(policy(ANP, "added", Some(0), &subj, &[allow]));
        let after = verdict(&docs, c);
        if before == Verdict::Allowed {
            prop_assert_eq!(after, Verdict::Allowed);
        }
    }

    /// A baseline never changes the decision for a pod a NetworkPolicy isolates in that
    /// direction.
    #[test]
    fn the_baseline_never_changes_a_networkpolicy_isolated_decision(
        base in banp(),
        np in nps(),
        c in case(),
    ) {
        let (s, d, port, proto) = c;
        let without = set(&np.join("---\n")).unwrap();
        let nss = namespaces();
        let (src, dst) = (Party::Pod(pod(s)), Party::Pod(pod(d)));
        let a = without.decide(&nss, &src, &dst, port, proto);
        let mut docs = np.clone();
        docs.push(base);
        let with = set(&docs.join("---\n")).unwrap();
        let b = with.decide(&nss, &src, &dst, port, proto);
        if without.isolates(&pod(d), Direction::Ingress) {
            prop_assert_eq!(&a.ingress.verdict, &b.ingress.verdict);
        }
        if without.isolates(&pod(s), Direction::Egress) {
            prop_assert_eq!(&a.egress.verdict, &b.egress.verdict);
        }
    }

    /// Without NetworkPolicies, a policy whose only rules pass behaves as if it were absent: the
    /// baseline decides.
    #[test]
    fn pass_without_networkpolicy_leaves_it_to_the_baseline(
        base in proptest::option::of(banp()),
        subj in subject(),
        passes in proptest::collection::vec(rule(&["Pass"]), 1..3),
        c in case(),
    ) {
        let docs: Vec<String> = base.into_iter().collect();
        let before = verdict(&docs, c);
        let mut with = docs.clone();
        with.push(policy(ANP, "passes", Some(1), &subj, &passes));
        prop_assert_eq!(verdict(&with, c), before);
    }

    /// `reach` decides only the pairs `possible_sources` lists: through the tiers too, it must
    /// never leave out a source that can reach (or might: undecided ports) the destination.
    #[test]
    fn possible_sources_never_misses_a_reachable_pair_through_the_tiers(
        anps in proptest::collection::vec(anp(), 0..4),
        base in proptest::option::of(banp()),
        np in nps(),
    ) {
        let mut docs: Vec<String> = anps.iter().chain(base.iter()).chain(np.iter()).cloned().collect();
        docs.sort();
        docs.dedup_by(|a, b| a.lines().nth(2) == b.lines().nth(2));
        let set = set(&docs.join("---\n")).unwrap();
        prop_assert_eq!(super::props::missed_source(&set), None);
    }

    /// `reach`'s port sets and `decide` agree through the tiers.
    #[test]
    fn allowed_ports_agree_with_decide_through_the_tiers(
        anps in proptest::collection::vec(anp(), 0..3),
        base in proptest::option::of(banp()),
        np in nps(),
        c in case(),
    ) {
        let mut docs: Vec<String> = anps.iter().chain(base.iter()).chain(np.iter()).cloned().collect();
        docs.sort();
        docs.dedup_by(|a, b| a.lines().nth(2) == b.lines().nth(2));
        let set = set(&docs.join("---\n")).unwrap();
        let (s, d, port, proto) = c;
        let nss = namespaces();
        let (src, dst) = (Party::Pod(pod(s)), Party::Pod(pod(d)));
        let r = set.allowed_ports(&nss, &src, &dst);
        let v = set.decide(&nss, &src, &dst, port, proto).verdict();
        prop_assert_eq!(v == Verdict::Allowed, r.allowed.contains(proto, port), "{:?} vs {:?}", v, r);
        prop_assert_eq!(v == Verdict::Denied, !r.allowed.contains(proto, port) && !r.undecided.contains(proto, port), "{:?} vs {:?}", v, r);
    }
}

#[test]
fn reasons_name_tier_kinds_in_exposure() {
    let s = set(&format!(
        "{ANP}metadata: {{name: tenant}}\nspec:\n  priority: 10\n  subject: {{namespaces: {{matchLabels: {{ns: x}}}}}}\n  ingress: [{{name: deny-y, action: Deny, from: [{{namespaces: {{matchLabels: {{ns: \"y\"}}}}}}]}}]\n"
    ))
    .unwrap();
    let e: BTreeMap<String, String> = s
        .exposure(&namespaces(), Direction::Ingress, &pod(0))
        .into_iter()
        .map(|(w, p)| (w, p.to_string()))
        .collect();
    assert_eq!(
        e.keys().cloned().collect::<Vec<_>>(),
        vec![
            "Deny: AdminNetworkPolicy tenant (deny-y): every pod in namespaces ns=y".to_string(),
            "any source (no policy isolates it)".to_string()
        ]
    );
}
