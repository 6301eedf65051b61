//! Truth tables: the intent of the upstream Kubernetes e2e NetworkPolicy tests (the semantics real
//! CNIs are certified against), rewritten as this project's own fixtures on the same layout —
//! namespaces x, y, z (labelled `ns=<name>`), pods a, b, c in each (labelled `pod=<name>`), each
//! serving ports 80 and 81 over TCP, UDP and SCTP under names like `serve-80-tcp`.
//!
//! A pod always reaches itself (loopback), as upstream's probes allow. Where upstream probes pod
//! addresses with ipBlock, this engine answers "implementation-defined" by design (DESIGN §4); those
//! cases say so and test external addresses instead.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::*;

const NAMESPACES: [&str; 3] = ["x", "y", "z"];
const PODS: [&str; 3] = ["a", "b", "c"];

fn pod(ns: usize, p: usize) -> PodInfo {
    let mut ports = Vec::new();
    for port in [80u16, 81] {
        for (proto, word) in [
            (Protocol::Tcp, "tcp"),
            (Protocol::Udp, "udp"),
            (Protocol::Sctp, "sctp"),
        ] {
            ports.push((format!("serve-{port}-{word}"), port, proto));
        }
    }
    PodInfo {
        namespace: NAMESPACES[ns].into(),
        name: PODS[p].into(),
        labels: [("pod".to_string(), PODS[p].to_string())].into(),
        ip: Some(format!("10.0.{}.{}", ns + 1, p + 1).parse().unwrap()),
        host_network: false,
        node: Some(format!("node-{p}")),
        ports,
    }
}

fn namespaces() -> Namespaces {
    Namespaces::complete(
        NAMESPACES
            .iter()
            .map(|n| (n.to_string(), [("ns".to_string(), n.to_string())].into()))
            .collect(),
    )
}

fn policies(yaml: &str) -> PolicySet {
    let docs: Vec<NetworkPolicy> = serde_saphyr::from_multiple(yaml).expect("policy YAML");
    PolicySet::compile(&docs).expect("valid policies")
}

/// Expected reachability between the nine pods, like upstream's `Reachability`.
struct Reach(BTreeMap<(String, String), bool>);

fn expand(pattern: &str) -> Vec<String> {
    let (ns, p) = pattern.split_once('/').unwrap_or((pattern, "*"));
    let mut out = Vec::new();
    for n in NAMESPACES {
        for q in PODS {
            if (ns == "*" || ns == n) && (p == "*" || p == q) {
                out.push(format!("{n}/{q}"));
            }
        }
    }
    out
}

impl Reach {
    fn all(allowed: bool) -> Self {
        let mut m = BTreeMap::new();
        for from in expand("*") {
            for to in expand("*") {
                m.insert((from.clone(), to), allowed);
            }
        }
        Reach(m)
    }

    /// `from` and `to`: "x/a", "x/*" (or "x"), "*".
    fn expect(mut self, from: &str, to: &str, allowed: bool) -> Self {
        for f in expand(from) {
            for t in expand(to) {
                self.0.insert((f.clone(), t), allowed);
            }
        }
        self
    }
}

fn check(name: &str, yaml: &str, port: u16, proto: Protocol, reach: Reach) {
    let set = policies(yaml);
    let ns = namespaces();
    let mut wrong = Vec::new();
    for (i, from) in expand("*").iter().enumerate() {
        for (j, to) in expand("*").iter().enumerate() {
            let src = Party::Pod(pod(i / 3, i % 3));
            let dst = Party::Pod(pod(j / 3, j % 3));
            let d = set.decide(&ns, &src, &dst, port, proto);
            let want = from == to || reach.0[&(from.clone(), to.clone())];
            let got = d.verdict();
            if (got == Verdict::Allowed) != want {
                wrong.push(format!(
                    "  {from} → {to}: got {} (egress: {}; ingress: {}), want {}",
                    got.word(),
                    d.egress.reason,
                    d.ingress.reason,
                    if want { "allowed" } else { "denied" }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{name} ({proto} {port}):\n{}",
        wrong.join("\n")
    );
}

use Protocol::{Sctp, Tcp, Udp};

#[test]
fn no_policies_allow_everything() {
    check("no policies", "", 80, Tcp, Reach::all(true));
}

#[test]
fn default_deny_ingress() {
    let p = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-ingress, namespace: x}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";
    check(
        "default-deny-ingress",
        p,
        80,
        Tcp,
        Reach::all(true).expect("*", "x", false),
    );
    // ingress: [] and policyTypes omitted mean the same.
    let p2 = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-ingress, namespace: x}\nspec: {podSelector: {}, ingress: []}\n";
    check(
        "default-deny-ingress, types omitted",
        p2,
        81,
        Udp,
        Reach::all(true).expect("*", "x", false),
    );
}

#[test]
fn default_deny_all() {
    let p = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: x}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n";
    check(
        "default-deny-all",
        p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x", false)
            .expect("x", "*", false),
    );
}

const HEAD: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n";

fn pol(ns: &str, name: &str, spec: &str) -> String {
    format!("{HEAD}metadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}\n")
}

#[test]
fn allow_from_pods_in_the_server_namespace_by_pod_selector() {
    let p = pol(
        "x",
        "allow-b",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]",
    );
    check(
        "podSelector within namespace",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("x/b", "x/a", true),
    );
}

#[test]
fn allow_from_all_namespaces() {
    let p = pol(
        "x",
        "allow-all-ns",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {}}]}]",
    );
    check("namespaceSelector {}", &p, 80, Tcp, Reach::all(true));
}

#[test]
fn allow_only_from_another_namespace_by_namespace_selector() {
    let p = pol(
        "x",
        "allow-y",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]",
    );
    check(
        "namespaceSelector ns=y",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("y", "x/a", true),
    );
}

#[test]
fn pod_selector_with_match_expressions() {
    let p = pol(
        "x",
        "expr",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b]}]}}]}]",
    );
    check(
        "podSelector In",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("x/b", "x/a", true),
    );
}

#[test]
fn namespace_selector_with_match_expressions() {
    let p = pol(
        "x",
        "expr",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: [y]}]}}]}]",
    );
    check(
        "namespaceSelector In",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("y", "x/a", true),
    );
}

#[test]
fn pod_selector_or_namespace_selector() {
    let p = pol(
        "x",
        "or",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}}, {podSelector: {matchLabels: {pod: b}}}]}]",
    );
    check(
        "two peers (OR)",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("x", "x/a", false)
            .expect("x/b", "x/a", true),
    );
}

#[test]
fn pod_selector_and_namespace_selector() {
    let p = pol(
        "x",
        "and",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}, podSelector: {matchLabels: {pod: b}}}]}]",
    );
    check(
        "one peer with both (AND)",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("y/b", "x/a", true)
            .expect("z/b", "x/a", true),
    );
}

#[test]
fn multiple_pod_selectors_and_namespace_selectors() {
    let p = pol(
        "x",
        "multi",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}, podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}}]}]",
    );
    let r = Reach::all(true)
        .expect("*", "x/a", false)
        .expect("y/b", "x/a", true)
        .expect("y/c", "x/a", true)
        .expect("z/b", "x/a", true)
        .expect("z/c", "x/a", true);
    check("pod In (b,c) AND ns NotIn (x)", &p, 80, Tcp, r);
}

#[test]
fn any_pod_selector_means_same_namespace_only() {
    let p = pol(
        "x",
        "same-ns",
        "  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]",
    );
    check(
        "from podSelector {}",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x", false)
            .expect("x", "x", true),
    );
}

#[test]
fn pod_in_a_different_namespace_by_both_selectors() {
    let p = pol(
        "x",
        "y-a",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: a}}}]}]",
    );
    check(
        "y/a only",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("y/a", "x/a", true),
    );
}

#[test]
fn ports_restrict_the_allowed_port() {
    let p = pol(
        "x",
        "port-81",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 81, protocol: TCP}]}]",
    );
    check(
        "port 80 not allowed",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("*", "x/a", false),
    );
    check(
        "port 81 from y",
        &p,
        81,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("y", "x/a", true),
    );
}

#[test]
fn stacked_policies_add_up() {
    let p = [
        pol("x", "port-81", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 81}]}]"),
        pol("x", "port-80", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80}]}]"),
    ]
    .join("---\n");
    for port in [80, 81] {
        check(
            "stacked",
            &p,
            port,
            Tcp,
            Reach::all(true)
                .expect("*", "x/a", false)
                .expect("y", "x/a", true),
        );
    }
}

#[test]
fn allow_all_ingress_rule() {
    let p = pol("x", "allow-all", "  podSelector: {}\n  ingress: [{}]");
    check("ingress: [{}]", &p, 80, Tcp, Reach::all(true));
    let p = pol(
        "x",
        "allow-all",
        "  podSelector: {}\n  ingress: [{from: []}]",
    );
    check("from: []", &p, 81, Udp, Reach::all(true));
}

#[test]
fn ingress_on_one_named_port() {
    let p = pol(
        "x",
        "named",
        "  podSelector: {}\n  ingress: [{ports: [{port: serve-81-tcp}]}]",
    );
    check("named 81 allowed", &p, 81, Tcp, Reach::all(true));
    check(
        "80 denied",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("*", "x", false),
    );
    // The name carries its protocol: serve-81-tcp does not open 81/UDP.
    check(
        "81/UDP denied",
        &p,
        81,
        Udp,
        Reach::all(true).expect("*", "x", false),
    );
}

#[test]
fn ingress_from_a_namespace_on_one_named_port() {
    let p = pol(
        "x",
        "named-ns",
        "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: serve-80-tcp}]}]",
    );
    check(
        "80 from y",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x", false)
            .expect("y", "x", true),
    );
    check(
        "81 from nobody",
        &p,
        81,
        Tcp,
        Reach::all(true).expect("*", "x", false),
    );
}

#[test]
fn egress_on_one_named_port() {
    // Named egress ports resolve on the destination pod.
    let p = pol(
        "x",
        "egress-named",
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: serve-81-udp, protocol: UDP}]}]",
    );
    check("81/UDP allowed", &p, 81, Udp, Reach::all(true));
    check(
        "80/UDP denied",
        &p,
        80,
        Udp,
        Reach::all(true).expect("x", "*", false),
    );
}

#[test]
fn deny_egress_by_pod_selector_and_for_a_namespace() {
    let p = pol(
        "x",
        "deny-egress-a",
        "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]",
    );
    check(
        "x/a sends nowhere",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("x/a", "*", false),
    );
    let p = pol(
        "x",
        "deny-egress",
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress: []",
    );
    check(
        "x sends nowhere",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("x", "*", false),
    );
}

#[test]
fn ingress_and_egress_together() {
    let p = pol(
        "x",
        "both",
        "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress, Egress]\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]\n  egress: [{to: [{podSelector: {matchLabels: {pod: c}}}]}]",
    );
    let r = Reach::all(true)
        .expect("*", "x/a", false)
        .expect("x/b", "x/a", true)
        .expect("x/a", "*", false)
        .expect("x/a", "x/c", true);
    check("ingress from x/b, egress to x/c", &p, 80, Tcp, r);
}

#[test]
fn client_egress_denial_wins_over_server_allow() {
    let p = [
        pol(
            "x",
            "deny-egress-a",
            "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]",
        ),
        pol("y", "allow-all", "  podSelector: {}\n  ingress: [{}]"),
    ]
    .join("---\n");
    check(
        "egress deny on client",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("x/a", "*", false),
    );
}

#[test]
fn egress_to_a_pod_in_another_namespace_by_both_selectors() {
    let p = pol(
        "x",
        "egress-yb",
        "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: b}}}]}]",
    );
    check(
        "x/a → y/b only",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("x/a", "*", false)
            .expect("x/a", "y/b", true),
    );
}

#[test]
fn any_port_on_a_specific_protocol() {
    let p = pol(
        "x",
        "tcp-only",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{protocol: TCP}]}]",
    );
    check("TCP 80", &p, 80, Tcp, Reach::all(true));
    check("TCP 81", &p, 81, Tcp, Reach::all(true));
    check(
        "UDP 80 denied",
        &p,
        80,
        Udp,
        Reach::all(true).expect("*", "x/a", false),
    );
}

#[test]
fn allow_all_takes_precedence_in_ingress_and_egress() {
    let p = [
        pol("x", "narrow", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 80}], from: [{podSelector: {matchLabels: {pod: none}}}]}]"),
        pol("x", "allow-all", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{}]"),
    ]
    .join("---\n");
    check("ingress union", &p, 81, Tcp, Reach::all(true));
    let p = [
        pol("x", "narrow", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: 80}]}]"),
        pol("x", "allow-all", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{}]"),
    ]
    .join("---\n");
    check("egress union", &p, 81, Tcp, Reach::all(true));
}

#[test]
fn sctp_is_not_tcp_and_udp_is_not_tcp() {
    let p = pol(
        "x",
        "sctp",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{protocol: SCTP, port: 80}]}]",
    );
    check(
        "TCP 80 denied",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("*", "x/a", false),
    );
    check("SCTP 80 allowed", &p, 80, Sctp, Reach::all(true));
    let p = pol(
        "x",
        "udp",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{protocol: UDP, port: 81}]}]",
    );
    check(
        "TCP 81 denied",
        &p,
        81,
        Tcp,
        Reach::all(true).expect("*", "x/a", false),
    );
    check("UDP 81 allowed", &p, 81, Udp, Reach::all(true));
}

#[test]
fn namespace_selector_on_the_default_name_label() {
    let p = pol(
        "x",
        "by-name",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]",
    );
    check(
        "kubernetes.io/metadata.name=y",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("y", "x/a", true),
    );
    let p = pol(
        "x",
        "by-name-expr",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [y]}]}}]}]",
    );
    check(
        "metadata.name NotIn (y)",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("y", "x/a", false),
    );
}

#[test]
fn end_port_ranges() {
    let p = pol(
        "x",
        "range",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 81, endPort: 82}]}]",
    );
    check(
        "80 outside",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("*", "x/a", false),
    );
    check(
        "81 inside",
        &p,
        81,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("y", "x/a", true),
    );
}

#[test]
fn egress_only_policy_does_not_isolate_ingress() {
    let p = pol(
        "x",
        "egress-only",
        "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: []",
    );
    check(
        "[Egress]",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("x/a", "*", false),
    );
    // And an [Ingress] policy with egress rules does not isolate egress.
    let p = pol(
        "x",
        "ingress-only",
        "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress]\n  ingress: []\n  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]",
    );
    check(
        "[Ingress] with egress rules",
        &p,
        80,
        Tcp,
        Reach::all(true).expect("*", "x/a", false),
    );
    // policyTypes omitted with egress rules: both directions.
    let p = pol(
        "x",
        "implied",
        "  podSelector: {matchLabels: {pod: a}}\n  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]",
    );
    check(
        "types implied",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("x/a", "*", false)
            .expect("x/a", "x/b", true),
    );
}

#[test]
fn ingress_and_egress_are_controlled_independently() {
    let p = [
        pol("x", "ingress-a", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]"),
        pol("x", "egress-b", "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {matchLabels: {pod: c}}}]}]"),
    ]
    .join("---\n");
    // x/b may reach only x/c, so nobody reaches x/a any more.
    check(
        "independent",
        &p,
        80,
        Tcp,
        Reach::all(true)
            .expect("*", "x/a", false)
            .expect("x/b", "*", false)
            .expect("x/b", "x/c", true),
    );
}

fn external(ip: &str) -> Party {
    Party::External(ip.parse::<IpAddr>().unwrap())
}

#[test]
fn ip_blocks_with_except_for_external_addresses() {
    let set = policies(&pol(
        "x",
        "egress-cidr",
        "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}}]}]",
    ));
    let ns = namespaces();
    let xa = Party::Pod(pod(0, 0));
    assert_eq!(
        set.decide(&ns, &xa, &external("192.0.2.10"), 443, Tcp)
            .verdict(),
        Verdict::Allowed
    );
    assert_eq!(
        set.decide(&ns, &xa, &external("192.0.2.200"), 443, Tcp)
            .verdict(),
        Verdict::Denied
    );
    assert_eq!(
        set.decide(&ns, &xa, &external("198.51.100.1"), 443, Tcp)
            .verdict(),
        Verdict::Denied
    );
    // Upstream probes pod addresses here; this engine refuses to guess (DESIGN §4).
    let yb = Party::Pod(PodInfo {
        ip: Some("192.0.2.5".parse().unwrap()),
        ..pod(1, 1)
    });
    assert!(matches!(
        set.decide(&ns, &xa, &yb, 80, Tcp).verdict(),
        Verdict::ImplementationDefined(_)
    ));
    // A pod address outside the block is simply not matched.
    assert_eq!(
        set.decide(&ns, &xa, &Party::Pod(pod(2, 2)), 80, Tcp)
            .verdict(),
        Verdict::Denied
    );
}

#[test]
fn an_address_in_both_cidr_and_except_is_allowed_by_another_policy() {
    let p = [
        pol("x", "cidr-except", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.7/32]}}]}]"),
        pol("x", "just-7", "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 192.0.2.7/32}}]}]"),
    ]
    .join("---\n");
    let set = policies(&p);
    let d = set.decide(
        &namespaces(),
        &Party::Pod(pod(0, 0)),
        &external("192.0.2.7"),
        80,
        Tcp,
    );
    assert_eq!(d.verdict(), Verdict::Allowed);
    assert_eq!(
        d.egress.allowed_by,
        vec![RuleRef {
            policy: "x/just-7".into(),
            index: 0
        }]
    );
}

#[test]
fn ipv6_blocks() {
    let set = policies(&pol(
        "x",
        "v6",
        "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: '2001:db8::/32', except: ['2001:db8:ff::/48']}}]}]",
    ));
    let ns = namespaces();
    let xa = Party::Pod(pod(0, 0));
    assert_eq!(
        set.decide(&ns, &external("2001:db8:1::1"), &xa, 80, Tcp)
            .verdict(),
        Verdict::Allowed
    );
    assert_eq!(
        set.decide(&ns, &external("2001:db8:ff::1"), &xa, 80, Tcp)
            .verdict(),
        Verdict::Denied
    );
    assert_eq!(
        set.decide(&ns, &external("192.0.2.1"), &xa, 80, Tcp)
            .verdict(),
        Verdict::Denied
    );
}

#[test]
fn decisions_name_the_deciding_policies_and_rules() {
    let p = [
        pol("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress]"),
        pol("x", "allow-b", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}]}, {from: [{podSelector: {matchLabels: {pod: b}}}]}]"),
    ]
    .join("---\n");
    let set = policies(&p);
    let ns = namespaces();
    let d = set.decide(&ns, &Party::Pod(pod(0, 1)), &Party::Pod(pod(0, 0)), 80, Tcp);
    assert_eq!(d.ingress.verdict, Verdict::Allowed);
    assert_eq!(
        d.ingress.allowed_by,
        vec![RuleRef {
            policy: "x/allow-b".into(),
            index: 1
        }]
    );
    assert_eq!(d.ingress.reason, "allowed by x/allow-b rule 1");
    let d = set.decide(&ns, &Party::Pod(pod(1, 1)), &Party::Pod(pod(0, 0)), 80, Tcp);
    assert_eq!(d.ingress.verdict, Verdict::Denied);
    assert_eq!(
        d.ingress.selecting,
        vec!["x/deny-all".to_string(), "x/allow-b".to_string()]
    );
    assert_eq!(
        d.ingress.reason,
        "selected by x/deny-all, x/allow-b; no ingress rule matches: denied"
    );
    let d = set.decide(&ns, &Party::Pod(pod(0, 0)), &Party::Pod(pod(1, 0)), 80, Tcp);
    assert_eq!(
        d.ingress.reason,
        "no policy selects y/a for ingress: allowed by default"
    );
}

#[test]
fn host_network_peers_are_implementation_defined_except_from_the_own_node() {
    let set = policies(&pol(
        "x",
        "from-b",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]",
    ));
    let ns = namespaces();
    let xa = pod(0, 0);
    let host = |node: &str| PodInfo {
        host_network: true,
        node: Some(node.into()),
        ..pod(0, 1)
    };
    // The selector matches, but a hostNetwork pod's traffic carries its node's address.
    let d = set.decide(
        &ns,
        &Party::Pod(host("elsewhere")),
        &Party::Pod(xa.clone()),
        80,
        Tcp,
    );
    assert!(
        matches!(d.verdict(), Verdict::ImplementationDefined(_)),
        "{d:?}"
    );
    // From the pod's own node, the plugin may read the client as node traffic (always allowed)
    // or as the pod (selectors): allowed only where both readings allow — pod b is allowed.
    let d = set.decide(
        &ns,
        &Party::Pod(host("node-0")),
        &Party::Pod(xa.clone()),
        80,
        Tcp,
    );
    assert_eq!(d.verdict(), Verdict::Allowed);
    // Pod c is not: as node traffic allowed, as the pod denied — the CNI decides.
    let c_on_node = PodInfo {
        host_network: true,
        node: Some("node-0".into()),
        ..pod(0, 2)
    };
    let d = set.decide(
        &ns,
        &Party::Pod(c_on_node.clone()),
        &Party::Pod(xa.clone()),
        80,
        Tcp,
    );
    assert!(
        matches!(d.verdict(), Verdict::ImplementationDefined(_)),
        "{d:?}"
    );
    // reach's port sets say the same: nothing allowed for certain, everything undecided.
    let r = set.allowed_ports(&ns, &Party::Pod(c_on_node), &Party::Pod(xa));
    assert!(r.allowed.is_empty() && r.undecided.is_all(), "{r:?}");
}

#[test]
fn unknown_namespace_labels_offline_are_unknown_not_denied() {
    let set = policies(&pol(
        "x",
        "from-team",
        "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}]}]",
    ));
    let offline = Namespaces::partial(HashMap::new());
    let d = set.decide(
        &offline,
        &Party::Pod(pod(1, 0)),
        &Party::Pod(pod(0, 0)),
        80,
        Tcp,
    );
    assert!(matches!(d.verdict(), Verdict::Unknown(_)), "{d:?}");
    // The name label is always known, so a selector on it still decides.
    let set = policies(&pol(
        "x",
        "from-y",
        "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}}]}]",
    ));
    let d = set.decide(
        &offline,
        &Party::Pod(pod(1, 0)),
        &Party::Pod(pod(0, 0)),
        80,
        Tcp,
    );
    assert_eq!(d.verdict(), Verdict::Denied);
}

#[test]
fn invalid_policies_are_errors_naming_the_policy() {
    let cases = [
        (
            "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]",
            "invalid ipBlock.cidr",
        ),
        (
            "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]",
            "not within",
        ),
        (
            "  podSelector: {matchLabels: {'bad key': x}}",
            "invalid label key",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: http, endPort: 90}]}]",
            "endPort cannot be used with the named port",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: 90, endPort: 80}]}]",
            "endPort 80 must be between",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: 80, protocol: ICMP}]}]",
            "unknown protocol",
        ),
        (
            "  podSelector: {}\n  ingress: [{from: [{}]}]",
            "must specify",
        ),
        (
            "  podSelector: {}\n  policyTypes: [Sideways]",
            "unknown type",
        ),
    ];
    for (spec, want) in cases {
        let docs: Vec<NetworkPolicy> =
            serde_saphyr::from_multiple(&pol("x", "broken", spec)).unwrap();
        let err = PolicySet::compile(&docs).expect_err(spec);
        assert_eq!(err.policy, "x/broken");
        assert!(err.to_string().contains(want), "{spec}: {err}");
    }
}
