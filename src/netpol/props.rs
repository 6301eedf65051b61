//! Property tests of invariants that really hold for NetworkPolicy, on random policies over the
//! e2e layout (namespaces x, y, z; pods a, b, c; ports 80, 81; TCP and UDP).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use proptest::prelude::*;

use super::*;

pub(super) const NS: [&str; 3] = ["x", "y", "z"];
pub(super) const POD: [&str; 3] = ["a", "b", "c"];

pub(super) fn pod(i: usize) -> PodInfo {
    let mut ports = Vec::new();
    for port in [80u16, 81] {
        ports.push((format!("serve-{port}-tcp"), port, Protocol::Tcp));
        ports.push((format!("serve-{port}-udp"), port, Protocol::Udp));
    }
    PodInfo {
        namespace: NS[i / 3].into(),
        name: POD[i % 3].into(),
        labels: [("pod".to_string(), POD[i % 3].to_string())].into(),
        ip: Some(format!("10.0.{}.{}", i / 3 + 1, i % 3 + 1).parse().unwrap()),
        ports,
        ..Default::default()
    }
}

pub(super) fn namespaces() -> Namespaces {
    Namespaces::complete(
        NS.iter()
            .map(|n| (n.to_string(), [("ns".to_string(), n.to_string())].into()))
            .collect(),
    )
}

fn labels(key: &str, value: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(key.to_string(), value.to_string())])),
        ..Default::default()
    }
}

fn selector() -> impl Strategy<Value = LabelSelector> {
    prop_oneof![
        Just(LabelSelector::default()),
        (0..3usize).prop_map(|i| labels("pod", POD[i]))
    ]
}

fn ns_selector() -> impl Strategy<Value = LabelSelector> {
    prop_oneof![
        Just(LabelSelector::default()),
        (0..3usize).prop_map(|i| labels("ns", NS[i]))
    ]
}

fn peer() -> impl Strategy<Value = NetworkPolicyPeer> {
    (
        proptest::option::of(selector()),
        proptest::option::of(ns_selector()),
    )
        .prop_filter("a peer needs a selector", |(p, n)| {
            p.is_some() || n.is_some()
        })
        .prop_map(|(pod_selector, namespace_selector)| NetworkPolicyPeer {
            pod_selector,
            namespace_selector,
            ip_block: None,
        })
}

fn port() -> impl Strategy<Value = NetworkPolicyPort> {
    let proto = prop_oneof![Just(None), Just(Some("UDP".to_string()))];
    let number = prop_oneof![
        Just(None),
        Just(Some(IntOrString::Int(80))),
        Just(Some(IntOrString::Int(81))),
        Just(Some(IntOrString::String("serve-81-tcp".into()))),
    ];
    (proto, number).prop_map(|(protocol, port)| NetworkPolicyPort {
        protocol,
        port,
        end_port: None,
    })
}

type RuleParts = (
    Option<Vec<NetworkPolicyPeer>>,
    Option<Vec<NetworkPolicyPort>>,
);

fn rule() -> impl Strategy<Value = RuleParts> {
    (
        proptest::option::of(proptest::collection::vec(peer(), 0..3)),
        proptest::option::of(proptest::collection::vec(port(), 0..3)),
    )
}

fn ingress_rule(r: RuleParts) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: r.0,
        ports: r.1,
    }
}

fn egress_rule(r: RuleParts) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: r.0,
        ports: r.1,
    }
}

fn policy() -> impl Strategy<Value = NetworkPolicy> {
    let types = prop_oneof![
        Just(None),
        Just(Some(vec!["Ingress".to_string()])),
        Just(Some(vec!["Egress".to_string()])),
        Just(Some(vec!["Ingress".to_string(), "Egress".to_string()])),
    ];
    (
        0..3usize,
        0..1000u32,
        selector(),
        types,
        proptest::option::of(proptest::collection::vec(rule(), 0..3)),
        proptest::option::of(proptest::collection::vec(rule(), 0..3)),
    )
        .prop_map(
            |(ns, id, pod_selector, policy_types, ingress, egress)| NetworkPolicy {
                metadata: ObjectMeta {
                    name: Some(format!("p{id}")),
                    namespace: Some(NS[ns].into()),
                    ..Default::default()
                },
                spec: Some(NetworkPolicySpec {
                    pod_selector: Some(pod_selector),
                    policy_types,
                    ingress: ingress.map(|rs| rs.into_iter().map(ingress_rule).collect()),
                    egress: egress.map(|rs| rs.into_iter().map(egress_rule).collect()),
                }),
            },
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

fn verdict(
    policies: &[NetworkPolicy],
    (s, d, port, proto): (usize, usize, u16, Protocol),
) -> Verdict {
    let set = PolicySet::compile(policies).expect("generated policies are valid");
    set.decide(
        &namespaces(),
        &Party::Pod(pod(s)),
        &Party::Pod(pod(d)),
        port,
        proto,
    )
    .verdict()
}

fn isolates(p: &NetworkPolicy, dir: Direction) -> bool {
    let spec = p.spec.as_ref().unwrap();
    match (&spec.policy_types, dir) {
        (Some(t), Direction::Ingress) => t.iter().any(|t| t == "Ingress"),
        (Some(t), Direction::Egress) => t.iter().any(|t| t == "Egress"),
        (None, Direction::Ingress) => true,
        (None, Direction::Egress) => spec.egress.as_ref().is_some_and(|e| !e.is_empty()),
    }
}

/// A pair `reach` would skip although it can (or might) connect: a source the destination's
/// `possible_sources` leaves out, on the layout above. `None`: there is none.
pub(super) fn missed_source(set: &PolicySet) -> Option<String> {
    let nss = namespaces();
    let pods: Vec<PodInfo> = (0..9).map(pod).collect();
    let mut by_ns: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, p) in pods.iter().enumerate() {
        by_ns.entry(p.namespace.clone()).or_default().push(i);
    }
    // One memory of peers' answers for every destination, as reach uses it.
    let mut seen = crate::netpol::PeerMatches::default();
    for (j, dst) in pods.iter().enumerate() {
        let Some(sources) = set.possible_sources(&nss, dst, &pods, &by_ns, &mut seen) else {
            continue;
        };
        for (i, src) in pods.iter().enumerate().filter(|(i, _)| *i != j) {
            let r = set.allowed_ports(&nss, &Party::Pod(src.clone()), &Party::Pod(dst.clone()));
            if (!r.allowed.is_empty() || !r.undecided.is_empty()) && !sources.contains(&i) {
                return Some(format!(
                    "{}/{} → {}/{} reachable ({r:?}) but not a possible source",
                    src.namespace, src.name, dst.namespace, dst.name
                ));
            }
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn without_policies_everything_is_allowed(c in case()) {
        prop_assert_eq!(verdict(&[], c), Verdict::Allowed);
    }

    #[test]
    fn adding_a_rule_to_an_isolating_policy_never_removes_an_allow(
        mut policies in proptest::collection::vec(policy(), 1..5),
        which in 0..5usize,
        extra in rule(),
        egress in any::<bool>(),
        c in case(),
    ) {
        let i = which % policies.len();
        let dir = if egress { Direction::Egress } else { Direction::Ingress };
        prop_assume!(isolates(&policies[i], dir));
        let before = verdict(&policies, c);
        let spec = policies[i].spec.as_mut().unwrap();
        match dir {
            Direction::Ingress => spec.ingress.get_or_insert_with(Vec::new).push(ingress_rule(extra)),
            Direction::Egress => spec.egress.get_or_insert_with(Vec::new).push(egress_rule(extra)),
        }
        let after = verdict(&policies, c);
        if before == Verdict::Allowed {
            prop_assert_eq!(after, Verdict::Allowed);
        }
    }

    #[test]
    fn deny_all_alone_denies_everything_in_its_namespace_and_direction(ns in 0..3usize, egress in any::<bool>(), c in case()) {
        let types = if egress { "Egress" } else { "Ingress" };
        let deny = NetworkPolicy {
            metadata: ObjectMeta { name: Some("deny".into()), namespace: Some(NS[ns].into()), ..Default::default() },
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(vec![types.to_string()]),
                ..Default::default()
            }),
        };
        let (s, d, _, _) = c;
        let governed = if egress { s / 3 == ns } else { d / 3 == ns };
        let v = verdict(&[deny], c);
        if s == d {
            prop_assert_eq!(v, Verdict::Allowed); // loopback
        } else if governed {
            prop_assert_eq!(v, Verdict::Denied);
        } else {
            prop_assert_eq!(v, Verdict::Allowed);
        }
    }

    #[test]
    fn order_of_policies_and_rules_does_not_matter(policies in proptest::collection::vec(policy(), 0..6), c in case()) {
        let mut reversed = policies.clone();
        reversed.reverse();
        for p in &mut reversed {
            let spec = p.spec.as_mut().unwrap();
            if let Some(r) = spec.ingress.as_mut() { r.reverse(); }
            if let Some(r) = spec.egress.as_mut() { r.reverse(); }
        }
        prop_assert_eq!(verdict(&policies, c), verdict(&reversed, c));
    }

    #[test]
    fn allowed_ports_agree_with_decide(policies in proptest::collection::vec(policy(), 0..6), c in case(), sctp in any::<bool>()) {
        let (s, d, port, proto) = c;
        let proto = if sctp { Protocol::Sctp } else { proto };
        let set = PolicySet::compile(&policies).unwrap();
        let nss = namespaces();
        let (src, dst) = (Party::Pod(pod(s)), Party::Pod(pod(d)));
        let r = set.allowed_ports(&nss, &src, &dst);
        let v = set.decide(&nss, &src, &dst, port, proto).verdict();
        prop_assert_eq!(v == Verdict::Allowed, r.allowed.contains(proto, port), "{:?} vs {:?}", v, r);
        prop_assert_eq!(v == Verdict::Denied, !r.allowed.contains(proto, port) && !r.undecided.contains(proto, port));
    }

    #[test]
    fn possible_sources_never_misses_a_reachable_pair(policies in proptest::collection::vec(policy(), 0..6)) {
        let set = PolicySet::compile(&policies).unwrap();
        prop_assert_eq!(missed_source(&set), None);
    }
}
