//! The NetworkPolicy engine: `decide(src, dst, port, protocol)` exactly as strict as Kubernetes'
//! own semantics, for the ingress side (policies selecting the destination) and the egress side
//! (policies selecting the source) separately, naming the policies and rules that decided.
//!
//! The rules people get wrong, as upstream defines them:
//! - A policy isolates a pod for ingress when `policyTypes` contains Ingress, or when `policyTypes`
//!   is omitted (Ingress always; Egress only if it has egress rules). `policyTypes: [Egress]` does
//!   not isolate ingress.
//! - `ingress` absent or `[]` allows nothing; a rule whose `from` is missing or `[]` allows every
//!   source; `ingress: [{}]` allows everything. Policies are additive: the union of their allows.
//! - Peers: podSelector alone (the policy's namespace), namespaceSelector alone, both in one peer
//!   (AND), several peers (OR); ipBlock with except.
//! - ipBlock is meant for cluster-external addresses: against pod addresses and hostNetwork peers
//!   CNIs differ (pre/post NAT, node addresses), so the answer is implementation-defined.
//! - Ports by number, `endPort` range, or name (resolved on the destination pod's containers, per
//!   protocol); protocol defaults to TCP.
//! - Namespaces are matched by labels, including `kubernetes.io/metadata.name`; offline, a
//!   namespace whose other labels are unknown yields "unknown", not a deny.

mod compile;
pub(crate) use compile::InvalidPolicy;
pub(crate) mod near_miss;
mod ports;
pub(crate) mod selector;
pub(crate) mod tiers;

#[cfg(test)]
mod e2e_tests;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tiers_tests;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

pub use compile::PolicySet;
pub(crate) use ports::PortSet;
pub(crate) use selector::{Labels, Match, NAMESPACE_NAME_LABEL, Selector};
use tiers::TierOutcome;
pub use tiers::TierPolicy;
pub(crate) use tiers::{Action, ClusterRuleRef, NodeInfo, Tier};

use compile::{Peer, Policy, PortSpec, Rule};

/// A transport protocol as NetworkPolicy names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn parse(s: Option<&str>) -> Result<Self, String> {
        match s.unwrap_or("TCP") {
            "TCP" => Ok(Protocol::Tcp),
            "UDP" => Ok(Protocol::Udp),
            "SCTP" => Ok(Protocol::Sctp),
            other => Err(format!("unknown protocol {other:?}")),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

/// A pod as the engine sees it (a live pod, or a workload's pod template offline).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub ip: Option<IpAddr>,
    pub host_network: bool,
    pub node: Option<String>,
    /// Declared container ports (name, number, protocol), for named ports in policies.
    pub ports: Vec<(String, u16, Protocol)>,
}

/// One end of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Party {
    Pod(PodInfo),
    /// An address outside the cluster's pods.
    External(IpAddr),
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Pod(p) => write!(f, "{}/{}", p.namespace, p.name),
            Party::External(ip) => write!(f, "{ip}"),
        }
    }
}

/// What is known of the cluster's namespaces' labels.
#[derive(Clone, Debug, Default)]
pub struct Namespaces {
    /// Shared: a scan judges every Service against the same namespaces.
    labels: std::sync::Arc<HashMap<String, BTreeMap<String, String>>>,
    /// Whether a namespace missing from `labels` is known to carry only its name label (live:
    /// every namespace was read) or unknown (offline, or the list was forbidden).
    complete: bool,
    /// The nodes, for cluster policies' `nodes` peers (`None`: not read).
    nodes: Option<Vec<NodeInfo>>,
}

impl Namespaces {
    /// Every namespace's labels are known (live, after listing namespaces).
    pub fn complete(labels: HashMap<String, BTreeMap<String, String>>) -> Self {
        Namespaces {
            labels: std::sync::Arc::new(with_name_labels(labels)),
            complete: true,
            nodes: None,
        }
    }

    /// Only some namespaces' labels are known (offline: Namespace objects in the manifests).
    /// From Namespace objects: `complete` when they are every namespace of the cluster (live).
    pub(crate) fn of(list: &[k8s_openapi::api::core::v1::Namespace], complete: bool) -> Self {
        let labels = list
            .iter()
            .filter_map(|n| {
                Some((
                    n.metadata.name.clone()?,
                    n.metadata.labels.clone().unwrap_or_default(),
                ))
            })
            .collect();
        if complete {
            Namespaces::complete(labels)
        } else {
            Namespaces::partial(labels)
        }
    }

    pub fn partial(labels: HashMap<String, BTreeMap<String, String>>) -> Self {
        Namespaces {
            labels: std::sync::Arc::new(with_name_labels(labels)),
            complete: false,
            nodes: None,
        }
    }

    /// The nodes' labels and addresses, for cluster policies' `nodes` peers.
    pub fn with_nodes(mut self, nodes: Vec<NodeInfo>) -> Self {
        self.nodes = Some(nodes);
        self
    }

    fn matches(&self, sel: &Selector, ns: &str) -> Match {
        match self.labels.get(ns) {
            Some(labels) => sel.matches_partial(Labels::Known(labels)),
            None => {
                let labels: BTreeMap<String, String> =
                    [(NAMESPACE_NAME_LABEL.to_string(), ns.to_string())].into();
                if self.complete {
                    sel.matches_partial(Labels::Known(&labels))
                } else {
                    sel.matches_partial(Labels::Partial(&labels))
                }
            }
        }
    }
}

/// Every namespace carries `kubernetes.io/metadata.name`: set it once, up front.
fn with_name_labels(
    mut labels: HashMap<String, BTreeMap<String, String>>,
) -> HashMap<String, BTreeMap<String, String>> {
    for (ns, l) in labels.iter_mut() {
        l.insert(NAMESPACE_NAME_LABEL.into(), ns.clone());
    }
    labels
}

/// The answer for one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    /// CNIs differ (ipBlock against pod or node addresses, hostNetwork peers).
    ImplementationDefined(String),
    /// A fact the answer depends on is not known (offline namespace labels).
    Unknown(String),
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
            Verdict::ImplementationDefined(_) => "implementation-defined",
            Verdict::Unknown(_) => "unknown",
        }
    }
}

/// A policy rule: `shop/allow-web` ingress rule 0.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleRef {
    pub policy: String,
    pub index: usize,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rule {}", self.policy, self.index)
    }
}

/// Which side of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn word(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// The decision for one direction, with what decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub direction: Direction,
    pub verdict: Verdict,
    /// Policies (`ns/name`) that select the pod for this direction.
    pub selecting: Vec<String>,
    /// The rules that allow the connection (empty unless allowed by a rule).
    pub allowed_by: Vec<RuleRef>,
    /// The cluster-wide policy rule that decided (Allow/Deny), or passed the connection on to
    /// NetworkPolicy or the baseline (Pass).
    pub cluster_rule: Option<ClusterRuleRef>,
    /// One line for people.
    pub reason: String,
}

/// Both directions and their combination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathDecision {
    pub egress: Decision,
    pub ingress: Decision,
}

impl PathDecision {
    /// Allowed only if both sides allow; denied if either denies; else the undecided side's answer.
    pub fn verdict(&self) -> Verdict {
        match (&self.egress.verdict, &self.ingress.verdict) {
            (Verdict::Denied, _) | (_, Verdict::Denied) => Verdict::Denied,
            (Verdict::Allowed, Verdict::Allowed) => Verdict::Allowed,
            (Verdict::Allowed, other) | (other, Verdict::Allowed) => other.clone(),
            (a, _) => a.clone(),
        }
    }
}

/// The outcome of matching one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RuleMatch {
    Yes,
    No,
    Undecided(Verdict),
}

impl PolicySet {
    /// Decides whether `src` may open a connection to `dst` on `port`/`protocol`: the egress side
    /// (policies selecting `src`) and the ingress side (policies selecting `dst`).
    pub fn decide(
        &self,
        namespaces: &Namespaces,
        src: &Party,
        dst: &Party,
        port: u16,
        protocol: Protocol,
    ) -> PathDecision {
        let egress = match src {
            Party::Pod(s) => self.side(namespaces, Direction::Egress, s, dst, port, protocol),
            Party::External(_) => not_governed(
                Direction::Egress,
                "the source is outside the cluster: no policy governs its egress",
            ),
        };
        let ingress = match dst {
            Party::Pod(d) => {
                if let Party::Pod(s) = src {
                    if s.namespace == d.namespace && s.name == d.name && !s.name.is_empty() {
                        return PathDecision {
                            egress: not_governed(
                                Direction::Egress,
                                "a pod can always reach itself",
                            ),
                            ingress: not_governed(
                                Direction::Ingress,
                                "a pod can always reach itself",
                            ),
                        };
                    }
                }
                self.side(namespaces, Direction::Ingress, d, src, port, protocol)
            }
            Party::External(_) => not_governed(
                Direction::Ingress,
                "the destination is outside the cluster: no policy governs its ingress",
            ),
        };
        PathDecision { egress, ingress }
    }

    /// One direction through the tiers: the Admin tier, then NetworkPolicy, then (for a pod no
    /// NetworkPolicy isolates) the Baseline tier, then default allow.
    fn side(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        peer: &Party,
        port: u16,
        protocol: Protocol,
    ) -> Decision {
        let np = self.np_side(namespaces, dir, pod, peer, port, protocol);
        if self.tiers.is_empty() {
            return np;
        }
        let tier = |t| {
            self.tiers
                .decide(t, namespaces, dir, pod, peer, port, protocol)
        };
        let who = format!("{}/{}", pod.namespace, pod.name);
        let mut passed = None;
        match tier(Tier::Admin) {
            TierOutcome::Act(r) if r.action != Action::Pass => {
                return by_cluster_rule(dir, np, r, &who);
            }
            TierOutcome::Act(r) => passed = Some(r),
            TierOutcome::Undecided(v) => return undecided_tier(dir, np, v),
            TierOutcome::None => {}
        }
        let isolated = !np.selecting.is_empty();
        if !isolated {
            match tier(Tier::Baseline) {
                TierOutcome::Act(r) if r.action != Action::Pass => {
                    return by_cluster_rule(dir, np, r, &who);
                }
                TierOutcome::Undecided(v) => return undecided_tier(dir, np, v),
                _ => {}
            }
        }
        match passed {
            Some(r) => Decision {
                reason: format!("{r} passes it on: {}", np.reason),
                cluster_rule: Some(r),
                ..np
            },
            None => np,
        }
    }

    /// One direction of NetworkPolicy alone: `pod` is the selected pod (the destination for
    /// ingress, the source for egress), `peer` the other end.
    fn np_side(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        peer: &Party,
        port: u16,
        protocol: Protocol,
    ) -> Decision {
        let selecting: Vec<&Policy> = self
            .in_namespace(&pod.namespace)
            .filter(|p| p.pod_selector.matches(&pod.labels))
            .filter(|p| p.rules(dir).is_some())
            .collect();
        let names: Vec<String> = selecting.iter().map(|p| p.id()).collect();
        if let Some(d) = unselected_or_host(dir, pod, &names) {
            return d;
        }
        // A hostNetwork client on the pod's own node: Kubernetes leaves it to the plugin whether
        // its traffic is the node's (always allowed from the pod's own node) or the client pod's
        // (judged by the selectors). Allowed only when both readings allow.
        if let Some(as_pod) = own_node_host_peer(dir, pod, peer) {
            let d = self.np_side(namespaces, dir, pod, &as_pod, port, protocol);
            return both_readings(d, dir, pod, peer);
        }
        // The destination port's owner resolves named ports.
        let port_owner: Option<&PodInfo> = match dir {
            Direction::Ingress => Some(pod),
            Direction::Egress => match peer {
                Party::Pod(p) => Some(p),
                Party::External(_) => None,
            },
        };
        let mut allowed_by = Vec::new();
        let mut undecided: Option<Verdict> = None;
        for policy in &selecting {
            for (index, rule) in policy.rules(dir).into_iter().flatten().enumerate() {
                match rule_matches(namespaces, policy, rule, peer, port, protocol, port_owner) {
                    RuleMatch::Yes => allowed_by.push(RuleRef {
                        policy: policy.id(),
                        index,
                    }),
                    RuleMatch::No => {}
                    RuleMatch::Undecided(v) => {
                        // Implementation-defined outranks unknown: it stays undecided even when
                        // everything is known.
                        if !matches!(undecided, Some(Verdict::ImplementationDefined(_))) {
                            undecided = Some(v);
                        }
                    }
                }
            }
        }
        allowed_by.sort();
        decided(dir, names, allowed_by, undecided)
    }
}

/// A connection a cluster-wide rule allowed or denied: NetworkPolicy is not consulted.
fn by_cluster_rule(dir: Direction, np: Decision, r: ClusterRuleRef, who: &str) -> Decision {
    let (verdict, word) = match r.action {
        Action::Deny => (Verdict::Denied, "denied"),
        _ => (Verdict::Allowed, "allowed"),
    };
    let reason = match r.tier {
        Tier::Admin => {
            let unheard = match (&np.verdict, r.action) {
                (_, _) if np.selecting.is_empty() => String::new(),
                (Verdict::Allowed, Action::Deny) => {
                    "; NetworkPolicies that would allow it are not consulted".to_string()
                }
                (Verdict::Denied, Action::Allow) => {
                    "; NetworkPolicies that would deny it are not consulted".to_string()
                }
                _ => "; NetworkPolicies are not consulted".to_string(),
            };
            format!("{word} by {r}{unheard}")
        }
        Tier::Baseline => format!(
            "{word} by {r} ({}, Baseline tier): no NetworkPolicy selects {who} for {}",
            r.action_word,
            dir.word()
        ),
    };
    Decision {
        direction: dir,
        verdict,
        selecting: np.selecting,
        allowed_by: Vec::new(),
        cluster_rule: Some(r),
        reason,
    }
}

fn undecided_tier(dir: Direction, np: Decision, v: Verdict) -> Decision {
    let reason = match &v {
        Verdict::ImplementationDefined(r) | Verdict::Unknown(r) => r.clone(),
        _ => String::new(),
    };
    Decision {
        direction: dir,
        verdict: v,
        selecting: np.selecting,
        allowed_by: Vec::new(),
        cluster_rule: None,
        reason,
    }
}

/// A pod no policy selects in this direction (allowed), or a selected hostNetwork pod (what
/// policy does to it is the CNI's).
fn unselected_or_host(dir: Direction, pod: &PodInfo, names: &[String]) -> Option<Decision> {
    if names.is_empty() {
        return Some(Decision {
            direction: dir,
            verdict: Verdict::Allowed,
            selecting: Vec::new(),
            allowed_by: Vec::new(),
            cluster_rule: None,
            reason: format!(
                "no policy selects {}/{} for {}: allowed by default",
                pod.namespace,
                pod.name,
                dir.word()
            ),
        });
    }
    pod.host_network.then(|| Decision {
        direction: dir,
        verdict: Verdict::ImplementationDefined(format!(
            "{}/{} runs with hostNetwork: NetworkPolicy's effect on such pods is undefined (selected by {})",
            pod.namespace,
            pod.name,
            crate::text::some_of(names, ", ")
        )),
        selecting: names.to_vec(),
        allowed_by: Vec::new(),
        cluster_rule: None,
        reason: "hostNetwork pod selected by a policy: CNIs differ".into(),
    })
}

/// A hostNetwork client on the destination's own node: allowed only when its reading as a pod
/// (`d`) allows too; else which reading applies is the CNI's.
fn both_readings(d: Decision, dir: Direction, pod: &PodInfo, peer: &Party) -> Decision {
    match d.verdict {
        Verdict::Allowed => Decision {
            reason: format!(
                "{}; as node traffic from {}'s own node it is allowed too (hostNetwork client: allowed under both readings)",
                d.reason, pod.name
            ),
            ..d
        },
        _ => Decision {
            direction: dir,
            verdict: Verdict::ImplementationDefined(format!(
                "{peer} runs with hostNetwork on {}/{}'s own node: as node traffic it is always allowed, as the pod itself not ({}): the CNI decides which",
                pod.namespace, pod.name, d.reason
            )),
            selecting: d.selecting,
            allowed_by: Vec::new(),
            cluster_rule: None,
            reason: "hostNetwork client on the destination's node: CNIs differ".into(),
        },
    }
}

/// A selected pod's side: allowed by the rules that match, else undecided, else denied.
fn decided(
    dir: Direction,
    names: Vec<String>,
    allowed_by: Vec<RuleRef>,
    undecided: Option<Verdict>,
) -> Decision {
    let (verdict, reason) = if !allowed_by.is_empty() {
        let by: Vec<String> = allowed_by.iter().map(ToString::to_string).collect();
        (Verdict::Allowed, format!("allowed by {}", by.join(", ")))
    } else if let Some(v) = undecided {
        let why = match &v {
            Verdict::ImplementationDefined(r) | Verdict::Unknown(r) => r.clone(),
            _ => String::new(),
        };
        (v, why)
    } else {
        (
            Verdict::Denied,
            format!(
                "selected by {}; no {} rule matches: denied",
                crate::text::some_of(&names, ", "),
                dir.word()
            ),
        )
    };
    Decision {
        direction: dir,
        verdict,
        selecting: names,
        allowed_by,
        cluster_rule: None,
        reason,
    }
}

/// For ingress from a hostNetwork pod on the destination's own node: that client read as an
/// ordinary pod (the other reading being node traffic, always allowed).
fn own_node_host_peer(dir: Direction, pod: &PodInfo, peer: &Party) -> Option<Party> {
    match peer {
        Party::Pod(p)
            if dir == Direction::Ingress
                && p.host_network
                && p.node.is_some()
                && p.node == pod.node =>
        {
            Some(Party::Pod(PodInfo {
                host_network: false,
                ..p.clone()
            }))
        }
        _ => None,
    }
}

fn not_governed(dir: Direction, why: &str) -> Decision {
    Decision {
        direction: dir,
        verdict: Verdict::Allowed,
        selecting: Vec::new(),
        allowed_by: Vec::new(),
        cluster_rule: None,
        reason: why.to_string(),
    }
}

fn rule_matches(
    namespaces: &Namespaces,
    policy: &Policy,
    rule: &Rule,
    peer: &Party,
    port: u16,
    protocol: Protocol,
    port_owner: Option<&PodInfo>,
) -> RuleMatch {
    let ports = ports_match(&rule.ports, port, protocol, port_owner);
    if !ports {
        return RuleMatch::No;
    }
    let Some(peers) = &rule.peers else {
        return RuleMatch::Yes; // from/to missing or empty: every peer
    };
    first_yes(
        peers
            .iter()
            .map(|p| peer_matches(namespaces, policy, p, peer)),
    )
}

/// Peers are ORed: yes at the first that matches, else undecided if one was, else no.
fn first_yes(matches: impl Iterator<Item = RuleMatch>) -> RuleMatch {
    let mut undecided = None;
    for m in matches {
        match m {
            RuleMatch::Yes => return RuleMatch::Yes,
            RuleMatch::No => {}
            RuleMatch::Undecided(v) => undecided = Some(v),
        }
    }
    undecided.map_or(RuleMatch::No, RuleMatch::Undecided)
}

fn ports_match(
    ports: &Option<Vec<PortSpec>>,
    port: u16,
    protocol: Protocol,
    owner: Option<&PodInfo>,
) -> bool {
    let Some(ports) = ports else { return true };
    ports.iter().any(|spec| match spec {
        PortSpec::Any(p) => *p == protocol,
        PortSpec::Range(p, from, to) => *p == protocol && (*from..=*to).contains(&port),
        PortSpec::Named(p, name) => *p == protocol && declares(owner, name, protocol, port),
        PortSpec::NamedAny(name) => declares(owner, name, protocol, port),
    })
}

/// Whether the destination pod declares `port`/`protocol` under the name `name`.
fn declares(owner: Option<&PodInfo>, name: &str, protocol: Protocol, port: u16) -> bool {
    owner.is_some_and(|o| {
        o.ports
            .iter()
            .any(|(n, num, proto)| n == name && *proto == protocol && *num == port)
    })
}

fn peer_matches(namespaces: &Namespaces, policy: &Policy, peer: &Peer, party: &Party) -> RuleMatch {
    match (peer, party) {
        (Peer::IpBlock { cidr, except }, Party::External(ip)) => {
            if cidr.contains(ip) && !except.iter().any(|e| e.contains(ip)) {
                RuleMatch::Yes
            } else {
                RuleMatch::No
            }
        }
        (Peer::IpBlock { cidr, except }, Party::Pod(p)) => ip_block_pod(policy, cidr, except, p),
        (Peer::Pods { .. }, Party::External(_)) => RuleMatch::No,
        (
            Peer::Pods {
                pods,
                namespaces: ns_sel,
            },
            Party::Pod(p),
        ) => pods_peer(namespaces, policy, pods.as_ref(), ns_sel.as_ref(), p),
    }
}

/// An ipBlock against a pod: meant for addresses outside the cluster, so what a CNI does with a
/// pod's (or a node's) address inside it is its own; unknown offline without the pod's address.
fn ip_block_pod(
    policy: &Policy,
    cidr: &ipnet::IpNet,
    except: &[ipnet::IpNet],
    p: &PodInfo,
) -> RuleMatch {
    if p.ip.is_none() && !p.host_network {
        return RuleMatch::Undecided(Verdict::Unknown(format!(
            "ipBlock {cidr} of {} against {}/{}, whose address is not known (offline)",
            policy.id(),
            p.namespace,
            p.name
        )));
    }
    let inside = match p.ip {
        Some(ip) => cidr.contains(&ip) && !except.iter().any(|e| e.contains(&ip)),
        None => true,
    };
    if !inside && !p.host_network {
        return RuleMatch::No;
    }
    RuleMatch::Undecided(Verdict::ImplementationDefined(format!(
        "ipBlock {cidr} of {} compared with {}: ipBlock is meant for addresses outside the cluster, CNIs differ on pod and node addresses",
        policy.id(),
        if p.host_network {
            "a hostNetwork pod (the node's address)"
        } else {
            "a pod address"
        },
    )))
}

/// A podSelector/namespaceSelector peer against a pod: both must match (the namespace's own when
/// there is no namespaceSelector).
fn pods_peer(
    namespaces: &Namespaces,
    policy: &Policy,
    pods: Option<&Selector>,
    ns_sel: Option<&Selector>,
    p: &PodInfo,
) -> RuleMatch {
    let ns_match = match ns_sel {
        None if p.namespace == policy.namespace => Match::Yes,
        None => Match::No,
        Some(sel) => namespaces.matches(sel, &p.namespace),
    };
    let pod_match = match pods {
        Some(sel) if !sel.matches(&p.labels) => Match::No,
        _ => Match::Yes,
    };
    let result = match (ns_match, pod_match) {
        (Match::No, _) | (_, Match::No) => RuleMatch::No,
        (Match::Yes, Match::Yes) => RuleMatch::Yes,
        _ => RuleMatch::Undecided(Verdict::Unknown(format!(
            "namespace {}'s labels are not known (offline): cannot tell whether {}'s namespaceSelector matches it",
            p.namespace,
            policy.id()
        ))),
    };
    if result == RuleMatch::Yes && p.host_network {
        // Selectors match the pod, but its traffic carries the node's address.
        return RuleMatch::Undecided(Verdict::ImplementationDefined(format!(
            "{}/{} runs with hostNetwork: its traffic carries the node's address, which selectors in {} may or may not match depending on the CNI",
            p.namespace,
            p.name,
            policy.id()
        )));
    }
    result
}

impl PodInfo {
    /// The engine's view of a pod (or of a workload's pod template, offline).
    pub fn from_pod(pod: &k8s_openapi::api::core::v1::Pod) -> Self {
        let ports = crate::k8s::declared_ports(pod)
            .filter_map(|(_, p)| {
                let name = p.name.clone()?;
                let number = u16::try_from(p.container_port).ok()?;
                let proto = Protocol::parse(p.protocol.as_deref()).ok()?;
                Some((name, number, proto))
            })
            .collect();
        PodInfo {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            ip: pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.as_deref())
                .and_then(|ip| ip.parse().ok()),
            host_network: pod
                .spec
                .as_ref()
                .and_then(|s| s.host_network)
                .unwrap_or(false),
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            ports,
        }
    }
}

/// The pods each policy peer admits, remembered across destinations by
/// [`PolicySet::possible_sources`] (for one `pods` list and one `PolicySet`): `reach` asks for
/// every destination, and a peer's answer does not depend on which pod it guards.
#[derive(Default)]
pub struct PeerMatches(HashMap<usize, Vec<usize>>);

/// Who may send to a pod on a port, read off the policies' own rules (no client needed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceSummary {
    /// Policies (`ns/name`) that isolate the pod for ingress.
    pub selecting: Vec<String>,
    /// Each rule that allows the port, with the sources it allows, in words.
    pub allowed: Vec<(RuleRef, Vec<String>)>,
}

impl SourceSummary {
    /// Whether every source is allowed (no isolation, or a rule without `from`).
    pub fn open_to_all(&self) -> bool {
        self.selecting.is_empty()
            || self
                .allowed
                .iter()
                .any(|(_, s)| s.iter().any(|s| s == "every source"))
    }
}

impl PolicySet {
    /// The sources the policies allow to reach `pod` on `port`/`protocol` (DESIGN: "allowed from:
    /// pods app=frontend in shop; namespaces team=ops; denied: everything else").
    pub fn ingress_sources(&self, pod: &PodInfo, port: u16, protocol: Protocol) -> SourceSummary {
        let mut out = SourceSummary::default();
        for policy in self
            .in_namespace(&pod.namespace)
            .filter(|p| p.pod_selector.matches(&pod.labels))
        {
            let Some(rules) = &policy.ingress else {
                continue;
            };
            out.selecting.push(policy.id());
            for (index, rule) in rules.iter().enumerate() {
                if !ports_match(&rule.ports, port, protocol, Some(pod)) {
                    continue;
                }
                let sources = match &rule.peers {
                    None => vec!["every source".to_string()],
                    Some(peers) => peers.iter().map(|p| describe_peer(policy, p)).collect(),
                };
                out.allowed.push((
                    RuleRef {
                        policy: policy.id(),
                        index,
                    },
                    sources,
                ));
            }
        }
        out
    }
}

fn describe_peer(policy: &Policy, peer: &Peer) -> String {
    match peer {
        Peer::IpBlock { cidr, except } if except.is_empty() => format!("addresses {cidr}"),
        Peer::IpBlock { cidr, except } => {
            let ex: Vec<String> = except.iter().map(ToString::to_string).collect();
            format!("addresses {cidr} except {}", ex.join(", "))
        }
        Peer::Pods { pods, namespaces } => {
            let who = match pods {
                Some(p) if !p.is_everything() => format!("pods {p}"),
                _ => "every pod".to_string(),
            };
            match namespaces {
                None => format!("{who} in {}", policy.namespace),
                Some(n) if n.is_everything() => format!("{who} in every namespace"),
                Some(n) => format!("{who} in namespaces {n}"),
            }
        }
    }
}

/// Every (protocol, port) on which `src` may connect to `dst`, for `reach`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reachable {
    /// The cluster-wide policies (AdminNetworkPolicy …) whose rules decided some port.
    pub cluster: Vec<String>,
    pub allowed: PortSet,
    /// Ports whose answer is implementation-defined or unknown, with why.
    pub undecided: PortSet,
    pub reasons: Vec<String>,
}

struct SidePorts {
    allowed: PortSet,
    undecided: PortSet,
    reasons: Vec<String>,
    /// The cluster-wide policies whose rules decided some port.
    by: Vec<String>,
}

impl PolicySet {
    /// The ports `decide` would allow between two parties, over the whole port space.
    pub fn allowed_ports(&self, namespaces: &Namespaces, src: &Party, dst: &Party) -> Reachable {
        if let (Party::Pod(s), Party::Pod(d)) = (src, dst) {
            if s.namespace == d.namespace && s.name == d.name && !s.name.is_empty() {
                return Reachable {
                    allowed: PortSet::all(),
                    ..Default::default()
                };
            }
        }
        let full = || SidePorts {
            allowed: PortSet::all(),
            undecided: PortSet::empty(),
            reasons: Vec::new(),
            by: Vec::new(),
        };
        // Fast path: neither side isolated nor a cluster policy's subject.
        let isolated = |pod: &PodInfo, dir: Direction| {
            self.isolates(pod, dir) || self.tiers.may_select(namespaces, pod)
        };
        let src_isolated = matches!(src, Party::Pod(s) if isolated(s, Direction::Egress));
        let dst_isolated = matches!(dst, Party::Pod(d) if isolated(d, Direction::Ingress));
        if !src_isolated && !dst_isolated {
            return Reachable {
                allowed: PortSet::all(),
                ..Default::default()
            };
        }
        let egress = match src {
            Party::Pod(s) => self.side_ports(namespaces, Direction::Egress, s, dst),
            Party::External(_) => full(),
        };
        let ingress = match dst {
            Party::Pod(d) => self.side_ports(namespaces, Direction::Ingress, d, src),
            Party::External(_) => full(),
        };
        let allowed = egress.allowed.intersect(&ingress.allowed);
        let mut e_any = egress.allowed.clone();
        e_any.union(&egress.undecided);
        let mut i_any = ingress.allowed.clone();
        i_any.union(&ingress.undecided);
        let undecided = e_any.intersect(&i_any).minus(&allowed);
        let mut reasons = egress.reasons;
        reasons.extend(ingress.reasons);
        if undecided.is_empty() {
            reasons.clear();
        }
        let mut cluster = egress.by;
        push_new(&mut cluster, ingress.by);
        Reachable {
            cluster,
            allowed,
            undecided,
            reasons,
        }
    }

    /// One direction over every port, through the tiers as `side` goes.
    fn side_ports(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        peer: &Party,
    ) -> SidePorts {
        let np = self.np_side_ports(namespaces, dir, pod, peer);
        if self.tiers.is_empty() || !self.tiers.may_select(namespaces, pod) {
            return np;
        }
        let admin = self.tiers.ports(Tier::Admin, namespaces, dir, pod, peer);
        let mut rest = admin.rest();
        rest.union(&admin.pass);
        let next = if self.isolates(pod, dir) {
            np
        } else {
            let base = self.tiers.ports(Tier::Baseline, namespaces, dir, pod, peer);
            let mut allowed = base.allow.clone();
            allowed.union(&base.rest());
            allowed.union(&base.pass);
            SidePorts {
                allowed,
                undecided: base.undecided,
                reasons: base.reasons,
                by: base.names,
            }
        };
        let mut allowed = admin.allow;
        allowed.union(&rest.intersect(&next.allowed));
        let mut undecided = admin.undecided;
        undecided.union(&rest.intersect(&next.undecided));
        let mut reasons = admin.reasons;
        push_new(&mut reasons, next.reasons);
        let mut by = admin.names;
        push_new(&mut by, next.by);
        SidePorts {
            allowed,
            undecided,
            reasons,
            by,
        }
    }

    fn np_side_ports(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        peer: &Party,
    ) -> SidePorts {
        let selecting: Vec<&Policy> = self
            .in_namespace(&pod.namespace)
            .filter(|p| p.pod_selector.matches(&pod.labels))
            .filter(|p| p.rules(dir).is_some())
            .collect();
        if selecting.is_empty() || pod.host_network {
            return unselected_or_host_ports(pod, selecting.is_empty());
        }
        if let Some(as_pod) = own_node_host_peer(dir, pod, peer) {
            // Both readings (see `side`): the pod's reading allows what it allows, the node's
            // reading everything; the rest is the CNI's call.
            let as_pod = self.np_side_ports(namespaces, dir, pod, &as_pod);
            return SidePorts {
                undecided: PortSet::all().minus(&as_pod.allowed),
                by: Vec::new(),
                reasons: vec![format!(
                    "{peer} runs with hostNetwork on {}/{}'s own node: node traffic is always allowed, the pod itself only where its policies say; the CNI decides which",
                    pod.namespace, pod.name
                )],
                allowed: as_pod.allowed,
            };
        }
        let owner: Option<&PodInfo> = match dir {
            Direction::Ingress => Some(pod),
            Direction::Egress => match peer {
                Party::Pod(p) => Some(p),
                Party::External(_) => None,
            },
        };
        let mut out = SidePorts {
            allowed: PortSet::empty(),
            undecided: PortSet::empty(),
            reasons: Vec::new(),
            by: Vec::new(),
        };
        for policy in &selecting {
            for rule in policy.rules(dir).into_iter().flatten() {
                let ports = rule_ports(&rule.ports, owner);
                if ports.is_empty() {
                    continue;
                }
                match any_peer(namespaces, policy, rule.peers.as_deref(), peer) {
                    RuleMatch::Yes => out.allowed.union(&ports),
                    RuleMatch::Undecided(v) => {
                        out.undecided.union(&ports);
                        if let Verdict::ImplementationDefined(r) | Verdict::Unknown(r) = v {
                            if !out.reasons.contains(&r) {
                                out.reasons.push(r);
                            }
                        }
                    }
                    RuleMatch::No => {}
                }
            }
        }
        out
    }
}

/// Appends what `to` does not hold yet, in order.
fn push_new(to: &mut Vec<String>, from: Vec<String>) {
    for x in from {
        if !to.contains(&x) {
            to.push(x);
        }
    }
}

/// Every port for a pod no policy selects; none decided for a selected hostNetwork pod.
fn unselected_or_host_ports(pod: &PodInfo, unselected: bool) -> SidePorts {
    if unselected {
        return SidePorts {
            allowed: PortSet::all(),
            undecided: PortSet::empty(),
            reasons: Vec::new(),
            by: Vec::new(),
        };
    }
    SidePorts {
        allowed: PortSet::empty(),
        undecided: PortSet::all(),
        by: Vec::new(),
        reasons: vec![format!(
            "{}/{} runs with hostNetwork: policies selecting it are implementation-defined",
            pod.namespace, pod.name
        )],
    }
}

/// Whether any peer of a rule admits `party` (no peers: everyone): yes at the first that does,
/// else undecided if one is, else no.
fn any_peer(
    namespaces: &Namespaces,
    policy: &Policy,
    peers: Option<&[Peer]>,
    party: &Party,
) -> RuleMatch {
    let Some(peers) = peers else {
        return RuleMatch::Yes;
    };
    first_yes(
        peers
            .iter()
            .map(|p| peer_matches(namespaces, policy, p, party)),
    )
}

/// The ports a rule's `ports` field allows, named ports resolved on the destination pod.
fn rule_ports(ports: &Option<Vec<PortSpec>>, owner: Option<&PodInfo>) -> PortSet {
    let Some(specs) = ports else {
        return PortSet::all();
    };
    let mut set = PortSet::empty();
    for spec in specs {
        match spec {
            PortSpec::Any(p) => set.add(*p, 1, 65535),
            PortSpec::Range(p, a, b) => set.add(*p, *a, *b),
            PortSpec::Named(p, name) => {
                for (n, num, proto) in owner.map(|o| o.ports.as_slice()).unwrap_or_default() {
                    if n == name && proto == p {
                        set.add(*p, *num, *num);
                    }
                }
            }
            PortSpec::NamedAny(name) => tiers::named_any(owner, name, &mut set),
        }
    }
    set
}

impl PolicySet {
    /// What a pod is open to, read off its policies' own peers: `(who, ports)` for ingress (sources)
    /// or egress (destinations). Not isolated: `("any source"/"any destination", all)`.
    /// The cluster-wide rules that apply to `pod` in `dir`, in evaluation order: the action,
    /// the rule in words ("Deny: …") and its ports (the Baseline tier's only when no
    /// NetworkPolicy isolates the pod).
    pub(crate) fn cluster_rules(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
    ) -> Vec<(Action, String, PortSet)> {
        let owner = (dir == Direction::Ingress).then_some(pod);
        self.tiers
            .exposure(namespaces, dir, pod, owner, self.isolates(pod, dir))
    }

    /// Cluster-wide rules come first, each named with its action and tier ("Deny … by
    /// AdminNetworkPolicy x (rule)"), in the order they are evaluated.
    pub fn exposure(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
    ) -> Vec<(String, PortSet)> {
        let any = match dir {
            Direction::Ingress => "any source",
            Direction::Egress => "any destination",
        };
        let selecting: Vec<&Policy> = self
            .in_namespace(&pod.namespace)
            .filter(|p| p.pod_selector.matches(&pod.labels))
            .filter(|p| p.rules(dir).is_some())
            .collect();
        // Egress named ports resolve on destinations, which a description cannot know.
        let owner = (dir == Direction::Ingress).then_some(pod);
        let mut out: Vec<(String, PortSet)> = self
            .tiers
            .exposure(namespaces, dir, pod, owner, !selecting.is_empty())
            .into_iter()
            .map(|(_, who, ports)| (who, ports))
            .collect();
        if selecting.is_empty() {
            out.push((format!("{any} (no policy isolates it)"), PortSet::all()));
            return out;
        }
        // Peers in first-seen order, found by name: a policy of 5,000 rules is not 25 million
        // comparisons per pod.
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut push = |who: String, ports: &PortSet| match at.get(&who) {
            Some(&i) => out[i].1.union(ports),
            None => {
                at.insert(who.clone(), out.len());
                out.push((who, ports.clone()));
            }
        };
        for policy in selecting {
            for rule in policy.rules(dir).into_iter().flatten() {
                let ports = rule_ports(&rule.ports, owner);
                if ports.is_empty() {
                    continue;
                }
                match &rule.peers {
                    None => push(any.to_string(), &ports),
                    Some(peers) => {
                        for p in peers {
                            push(describe_peer(policy, p), &ports);
                        }
                    }
                }
            }
        }
        out
    }
}

impl PolicySet {
    /// Policies that do nothing useful, against the pods in scope: a policy that selects no pod,
    /// a selector peer that matches no pod, a named port no selected pod declares. `all_namespaces`
    /// says whether `pods` covers every namespace (else peers reaching other namespaces are not
    /// judged).
    pub fn lint(
        &self,
        pods: &[PodInfo],
        namespaces: &Namespaces,
        all_namespaces: bool,
    ) -> Vec<(&'static str, String, String, String)> {
        let mut out = Vec::new();
        let mut policies: Vec<&Policy> = self.by_namespace_values().collect();
        policies.sort_by_key(|p| p.id());
        // Each policy reads its own namespace's pods (and a namespaceSelector only the pods of
        // the namespaces it matches): one grouping, not every pod for every policy.
        let mut by_ns: HashMap<&str, Vec<&PodInfo>> = HashMap::new();
        for p in pods {
            by_ns.entry(p.namespace.as_str()).or_default().push(p);
        }
        let in_ns = |ns: &str| by_ns.get(ns).into_iter().flatten().copied();
        for policy in policies {
            let selected: Vec<&PodInfo> = in_ns(&policy.namespace)
                .filter(|p| policy.pod_selector.matches(&p.labels))
                .collect();
            if selected.is_empty() {
                out.push((
                    "ND8011",
                    policy.id(),
                    "spec.podSelector".to_string(),
                    format!(
                        "{} selects no pods (podSelector {})",
                        policy.id(),
                        policy.pod_selector
                    ),
                ));
                continue;
            }
            for dir in [Direction::Ingress, Direction::Egress] {
                for (i, rule) in policy.rules(dir).into_iter().flatten().enumerate() {
                    for peer in rule.peers.iter().flatten() {
                        let Peer::Pods {
                            pods: pod_sel,
                            namespaces: ns_sel,
                        } = peer
                        else {
                            continue;
                        };
                        if ns_sel.is_some() && !all_namespaces {
                            continue;
                        }
                        let pod_ok =
                            |p: &&PodInfo| pod_sel.as_ref().is_none_or(|s| s.matches(&p.labels));
                        let matches = match ns_sel {
                            None => in_ns(&policy.namespace).any(|p| pod_ok(&p)),
                            Some(sel) => by_ns.iter().any(|(ns, pods)| {
                                namespaces.matches(sel, ns) != Match::No && pods.iter().any(pod_ok)
                            }),
                        };
                        if !matches {
                            out.push((
                                "ND8012",
                                policy.id(),
                                format!("spec.{}.{i}", dir.word()),
                                format!(
                                    "{} {} rule {i}: peer {} matches no pod",
                                    policy.id(),
                                    dir.word(),
                                    describe_peer(policy, peer)
                                ),
                            ));
                        }
                    }
                    if dir == Direction::Ingress {
                        for spec in rule.ports.iter().flatten() {
                            if let PortSpec::Named(proto, name) = spec {
                                let declared = selected.iter().any(|p| {
                                    p.ports.iter().any(|(n, _, pr)| n == name && pr == proto)
                                });
                                if !declared {
                                    out.push((
                                        "ND8013",
                                        policy.id(),
                                        format!("spec.ingress.{i}.ports"),
                                        format!(
                                            "{} ingress rule {i}: named port {name}/{proto} is declared by none of the pods it selects",
                                            policy.id()
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

impl PolicySet {
    /// The pods (indexes into `pods`) that could possibly be admitted by `dst`'s ingress policies:
    /// a superset, for `reach` to evaluate instead of every pair. `None`: `dst` is not isolated
    /// for ingress, or a rule admits every source.
    pub fn possible_sources(
        &self,
        namespaces: &Namespaces,
        dst: &PodInfo,
        pods: &[PodInfo],
        by_namespace: &HashMap<String, Vec<usize>>,
        seen: &mut PeerMatches,
    ) -> Option<Vec<usize>> {
        let mut out: Vec<usize> = Vec::new();
        // The Admin tier decides first and may admit sources NetworkPolicy does not (Allow, or
        // ports left undecided); what it passes or leaves falls to NetworkPolicy when one
        // isolates `dst`, else to the Baseline, which admits every source it does not deny.
        if self.tiers.may_select(namespaces, dst) {
            if dst.host_network || !self.isolates(dst, Direction::Ingress) {
                return None;
            }
            out = self.tiers.admin_sources(namespaces, dst, pods, seen)?;
        }
        let selecting: Vec<&Policy> = self
            .in_namespace(&dst.namespace)
            .filter(|p| p.ingress.is_some() && p.pod_selector.matches(&dst.labels))
            .collect();
        if selecting.is_empty() || dst.host_network {
            return None;
        }
        let all_namespaces: Vec<&String> = by_namespace.keys().collect();
        for policy in selecting {
            for rule in policy.ingress.iter().flatten() {
                let Some(peers) = &rule.peers else {
                    return None;
                };
                for peer in peers {
                    match peer {
                        Peer::IpBlock { cidr, except } => {
                            out.extend(pods.iter().enumerate().filter_map(|(i, p)| {
                                let maybe = p.host_network
                                    || p.ip.is_none_or(|ip| {
                                        cidr.contains(&ip)
                                            && !except.iter().any(|e| e.contains(&ip))
                                    });
                                maybe.then_some(i)
                            }))
                        }
                        Peer::Pods {
                            pods: pod_sel,
                            namespaces: ns_sel,
                        } => {
                            // A peer admits the same pods whichever pod it guards.
                            let key = std::ptr::from_ref(peer) as usize;
                            if let Some(known) = seen.0.get(&key) {
                                out.extend_from_slice(known);
                                continue;
                            }
                            let from = out.len();
                            let nss: Vec<&String> = match ns_sel {
                                None => vec![&policy.namespace],
                                Some(sel) => all_namespaces
                                    .iter()
                                    .copied()
                                    .filter(|n| namespaces.matches(sel, n) != Match::No)
                                    .collect(),
                            };
                            for n in nss {
                                for &i in by_namespace.get(n.as_str()).into_iter().flatten() {
                                    if pod_sel.as_ref().is_none_or(|s| s.matches(&pods[i].labels))
                                        || pods[i].host_network
                                    {
                                        out.push(i);
                                    }
                                }
                            }
                            seen.0.insert(key, out[from..].to_vec());
                        }
                    }
                }
            }
        }
        // hostNetwork pods on dst's node are always admitted.
        out.extend(
            pods.iter()
                .enumerate()
                .filter(|(_, p)| p.host_network)
                .map(|(i, _)| i),
        );
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}
