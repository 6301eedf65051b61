//! Cluster-wide policy tiers (sigs.k8s.io/network-policy-api): AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy (`policy.networking.k8s.io/v1alpha1`) and ClusterNetworkPolicy
//! (`v1alpha2`, `v1beta1`), compiled into one form and evaluated around NetworkPolicy.
//!
//! The order of evaluation, per direction, as the API's documentation defines it
//! (ClusterNetworkPolicySpec.Tier; AdminNetworkPolicySpec.Priority):
//! 1. The Admin tier: policies whose subject selects the pod, lowest `priority` first; within a
//!    policy, rules in the order written; the first rule that matches decides. `Allow`/`Accept`
//!    and `Deny` end evaluation (NetworkPolicy is not consulted); `Pass` skips the remaining
//!    Admin rules. Two policies of one priority that both match and disagree: "the
//!    implementation can apply any of the matching policies" — implementation-defined.
//! 2. NetworkPolicy, as always: it makes the final decision for a pod it isolates.
//! 3. The Baseline tier, only for a pod no NetworkPolicy isolates in that direction.
//! 4. Default allow.
//!
//! Subjects and pod/namespace peers never include host-networked pods. `networks` peers match
//! pod addresses too ("cluster-internal traffic will be checked against the rule as well").
//! `domainNames` match by DNS name, which a connection to an address does not carry: unknown.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

use super::RuleMatch as PeerMatch;
use super::compile::PortSpec;
use super::ports::PROTOCOLS;
use super::selector::Match;
use super::{Direction, InvalidPolicy, Namespaces, Party, PodInfo, PortSet, Protocol, Selector};

/// The group every tier kind belongs to.
pub(crate) const GROUP: &str = "policy.networking.k8s.io";

/// The kinds, their resources and the versions their CRDs serve (newest first):
/// sigs.k8s.io/network-policy-api v0.1.x serves AdminNetworkPolicy and
/// BaselineAdminNetworkPolicy at v1alpha1; v0.2 and later replace both with ClusterNetworkPolicy
/// (v1alpha2, then v1beta1).
pub(crate) const KINDS: &[(&str, &str, &[&str])] = &[
    (
        "AdminNetworkPolicy",
        "adminnetworkpolicies.policy.networking.k8s.io",
        &["v1alpha1"],
    ),
    (
        "BaselineAdminNetworkPolicy",
        "baselineadminnetworkpolicies.policy.networking.k8s.io",
        &["v1alpha1"],
    ),
    (
        "ClusterNetworkPolicy",
        "clusternetworkpolicies.policy.networking.k8s.io",
        &["v1beta1", "v1alpha2"],
    ),
];

/// One cluster-scoped policy of any tier kind, as read (serde; no crate covers these kinds).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TierPolicy {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: TierSpec,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TierSpec {
    /// ClusterNetworkPolicy only: `Admin` or `Baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(default)]
    pub subject: RawSubject,
    #[serde(default)]
    pub ingress: Vec<RawRule>,
    #[serde(default)]
    pub egress: Vec<RawRule>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<NamespacedPod>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedPod {
    #[serde(default)]
    pub namespace_selector: LabelSelector,
    #[serde(default)]
    pub pod_selector: LabelSelector,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<RawPeer>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<RawPeer>>,
    /// v1alpha1 (AdminNetworkPolicy, BaselineAdminNetworkPolicy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<RawPort>>,
    /// v1alpha2/v1beta1 (ClusterNetworkPolicy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<RawProtocol>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawPeer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<NamespacedPod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_names: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_number: Option<RawPortNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<RawPortRange>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawPortNumber {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default)]
    pub port: i64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawPortRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default)]
    pub start: i64,
    #[serde(default)]
    pub end: i64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawProtocol {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<RawDestination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<RawDestination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp: Option<RawDestination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_named_port: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawDestination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<RawCnpPort>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawCnpPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RawCnpRange>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawCnpRange {
    #[serde(default)]
    pub start: i64,
    #[serde(default)]
    pub end: i64,
}

/// Which tier a cluster policy sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Admin,
    Baseline,
}

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `Allow` (v1alpha1) or `Accept` (ClusterNetworkPolicy).
    Allow,
    Deny,
    Pass,
}

/// The cluster-policy rule that decided (or passed) a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRuleRef {
    pub kind: &'static str,
    pub policy: String,
    /// The rule's `name`, else `ingress[i]`/`egress[i]`.
    pub rule: String,
    pub index: usize,
    pub direction: Direction,
    pub tier: Tier,
    pub priority: Option<i64>,
    /// The action word as the kind spells it (`Allow`, `Accept`, `Deny`, `Pass`).
    pub action_word: &'static str,
    pub action: Action,
}

impl fmt::Display for ClusterRuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} rule {}", self.kind, self.policy, self.rule)?;
        match self.priority {
            Some(p) if self.kind != "BaselineAdminNetworkPolicy" => write!(f, " (priority {p})"),
            _ => Ok(()),
        }
    }
}

#[derive(Clone, Debug)]
enum Peer {
    /// `namespaces` (pods: everything) or `pods`.
    Pods {
        namespaces: Selector,
        pods: Selector,
    },
    Nodes(Selector),
    Networks(Vec<IpNet>),
    DomainNames(Vec<String>),
}

#[derive(Clone, Debug)]
struct Rule {
    name: String,
    action: Action,
    action_word: &'static str,
    peers: Vec<Peer>,
    /// `None`: every port.
    ports: Option<Vec<PortSpec>>,
}

#[derive(Clone, Debug)]
pub(super) struct ClusterPolicy {
    kind: &'static str,
    name: String,
    tier: Tier,
    /// BaselineAdminNetworkPolicy has none (a singleton).
    priority: Option<i64>,
    subject_namespaces: Selector,
    /// `None`: every pod of the selected namespaces.
    subject_pods: Option<Selector>,
    ingress: Vec<Rule>,
    egress: Vec<Rule>,
}

/// A node as `nodes` peers see it.
#[derive(Clone, Debug, Default)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub addresses: Vec<IpAddr>,
}

impl NodeInfo {
    pub(crate) fn of(list: &[k8s_openapi::api::core::v1::Node]) -> Vec<NodeInfo> {
        list.iter()
            .map(|n| NodeInfo {
                name: n.metadata.name.clone().unwrap_or_default(),
                labels: n.metadata.labels.clone().unwrap_or_default(),
                addresses: n
                    .status
                    .iter()
                    .flat_map(|s| s.addresses.iter().flatten())
                    .filter_map(|a| a.address.parse().ok())
                    .collect(),
            })
            .collect()
    }
}

/// The compiled tiers: Admin and Baseline, each sorted by priority (stable: input order breaks
/// ties only for display; equal priorities are judged together).
#[derive(Debug, Default)]
pub(super) struct Tiers {
    admin: Vec<ClusterPolicy>,
    baseline: Vec<ClusterPolicy>,
    /// Which policies select a pod as their subject, remembered: `reach -A` asks for every pair
    /// of groups, and with a hundred policies that question is most of its work.
    subjects: std::sync::Mutex<SubjectMemo>,
}

impl Clone for Tiers {
    fn clone(&self) -> Self {
        Tiers {
            admin: self.admin.clone(),
            baseline: self.baseline.clone(),
            subjects: Default::default(),
        }
    }
}

/// The policies (indexes: Admin's, then Baseline's after them) whose subject may select a pod
/// (yes or unknown), by the pod's namespace and labels — all a subject reads — for the
/// namespaces' labels they were judged with (another set of namespaces starts afresh).
#[derive(Debug, Default)]
struct SubjectMemo {
    namespaces: Option<(std::sync::Arc<NamespaceLabels>, bool)>,
    /// By a hash of (namespace, labels): those, and the policies.
    by_pod: HashMap<u64, Vec<Remembered>>,
}

type Remembered = (String, BTreeMap<String, String>, std::sync::Arc<[usize]>);

type NamespaceLabels = HashMap<String, BTreeMap<String, String>>;

impl Tiers {
    pub(super) fn compile(list: &[TierPolicy]) -> Result<Tiers, InvalidPolicy> {
        let mut t = Tiers::default();
        for p in list {
            let c = compile(p)?;
            match c.tier {
                Tier::Admin => t.admin.push(c),
                Tier::Baseline => t.baseline.push(c),
            }
        }
        // BaselineAdminNetworkPolicy (no priority) after every ClusterNetworkPolicy of its tier:
        // a cluster holds one API or the other.
        let key = |c: &ClusterPolicy| (c.priority.unwrap_or(i64::MAX), c.name.clone());
        t.admin.sort_by_key(key);
        t.baseline.sort_by_key(key);
        Ok(t)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.admin.is_empty() && self.baseline.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.admin.len() + self.baseline.len()
    }

    fn of(&self, tier: Tier) -> &[ClusterPolicy] {
        match tier {
            Tier::Admin => &self.admin,
            Tier::Baseline => &self.baseline,
        }
    }

    /// The pod label keys the tiers' pod selectors read (see `PolicySet::pod_labels_read`).
    pub(super) fn mentions(&self, out: &mut BTreeMap<String, std::collections::BTreeSet<String>>) {
        for c in self.admin.iter().chain(&self.baseline) {
            if let Some(p) = &c.subject_pods {
                p.mentions(out);
            }
            for r in c.ingress.iter().chain(&c.egress) {
                for p in &r.peers {
                    if let Peer::Pods { pods, .. } = p {
                        pods.mentions(out);
                    }
                }
            }
        }
    }

    /// Every `networks` CIDR: where a pod's address matters to a decision.
    pub(super) fn networks(&self) -> Vec<IpNet> {
        let mut out = Vec::new();
        for c in self.admin.iter().chain(&self.baseline) {
            for r in c.ingress.iter().chain(&c.egress) {
                for p in &r.peers {
                    if let Peer::Networks(n) = p {
                        for net in n {
                            if !out.contains(net) {
                                out.push(*net);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether any policy of a tier may select `pod` as its subject (unknown counts).
    pub(super) fn may_select(&self, namespaces: &Namespaces, pod: &PodInfo) -> bool {
        !self.is_empty() && !self.selecting(namespaces, pod).is_empty()
    }

    /// The policies whose subject may select `pod` (see [`SubjectMemo`]), in order.
    fn selecting(&self, namespaces: &Namespaces, pod: &PodInfo) -> std::sync::Arc<[usize]> {
        use std::hash::{Hash, Hasher};
        let judge = || -> std::sync::Arc<[usize]> {
            self.admin
                .iter()
                .chain(&self.baseline)
                .enumerate()
                .filter(|(_, c)| c.subject(namespaces, pod) != Match::No)
                .map(|(i, _)| i)
                .collect()
        };
        // Host-networked and nameless parties are no policy's subject; nothing to remember.
        if pod.host_network || pod.name.is_empty() && pod.namespace.is_empty() {
            return judge();
        }
        let Ok(mut memo) = self.subjects.lock() else {
            return judge();
        };
        let same = memo.namespaces.as_ref().is_some_and(|(labels, complete)| {
            std::sync::Arc::ptr_eq(labels, &namespaces.labels) && *complete == namespaces.complete
        });
        if !same {
            *memo = SubjectMemo {
                namespaces: Some((namespaces.labels.clone(), namespaces.complete)),
                by_pod: HashMap::new(),
            };
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&pod.namespace, &pod.labels).hash(&mut h);
        let bucket = memo.by_pod.entry(h.finish()).or_default();
        if let Some((_, _, known)) = bucket
            .iter()
            .find(|(ns, labels, _)| *ns == pod.namespace && *labels == pod.labels)
        {
            return known.clone();
        }
        let found = judge();
        bucket.push((pod.namespace.clone(), pod.labels.clone(), found.clone()));
        found
    }

    /// The pods (indexes into `pods`) the Admin tier could admit to `dst` on some port (or
    /// leave undecided for them): a superset, as [`super::PolicySet::possible_sources`] gives.
    /// Deny admits no one and Pass hands over to NetworkPolicy, so only Allow rules count —
    /// and every rule of a policy that shares its priority with another selecting `dst`, whose
    /// disagreement leaves ports undecided. `None`: any pod may be admitted.
    pub(super) fn admin_sources(
        &self,
        namespaces: &Namespaces,
        dst: &PodInfo,
        pods: &[PodInfo],
        seen: &mut super::PeerMatches,
    ) -> Option<Vec<usize>> {
        let selecting: Vec<(&ClusterPolicy, Match)> = self
            .admin
            .iter()
            .map(|c| (c, c.subject(namespaces, dst)))
            .filter(|(_, m)| *m != Match::No)
            .collect();
        let mut out = Vec::new();
        for (k, (policy, subject)) in selecting.iter().enumerate() {
            if policy.ingress.is_empty() {
                continue;
            }
            if *subject == Match::Unknown {
                return None;
            }
            let shared = selecting
                .iter()
                .enumerate()
                .any(|(j, (other, _))| j != k && other.priority == policy.priority);
            for rule in &policy.ingress {
                if rule.action != Action::Allow && !shared {
                    continue;
                }
                for peer in &rule.peers {
                    // A peer admits the same pods whichever pod it guards.
                    let key = std::ptr::from_ref(peer) as usize;
                    if let Some(known) = seen.0.get(&key) {
                        out.extend_from_slice(known);
                        continue;
                    }
                    let maybe = |p: &PodInfo| match peer {
                        Peer::Pods {
                            namespaces: ns,
                            pods: sel,
                        } => {
                            !p.host_network
                                && sel.matches(&p.labels)
                                && namespaces.matches(ns, &p.namespace) != Match::No
                        }
                        Peer::Networks(nets) => {
                            p.ip.is_none_or(|ip| nets.iter().any(|n| n.contains(&ip)))
                        }
                        Peer::Nodes(_) => p.host_network,
                        Peer::DomainNames(_) => true,
                    };
                    let from = out.len();
                    out.extend(
                        pods.iter()
                            .enumerate()
                            .filter(|(_, p)| maybe(p))
                            .map(|(i, _)| i),
                    );
                    seen.0.insert(key, out[from..].to_vec());
                }
            }
        }
        Some(out)
    }

    /// The rules that apply to `pod` in `dir`, in evaluation order, for `reach`'s exposure: the
    /// Admin tier's, then (when no NetworkPolicy isolates the pod) the Baseline tier's.
    /// Each with its action, "Deny: AdminNetworkPolicy x (rule): peers", and its ports.
    pub(super) fn exposure(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        owner: Option<&PodInfo>,
        np_isolated: bool,
    ) -> Vec<(Action, String, PortSet)> {
        let baseline: &[ClusterPolicy] = if np_isolated { &[] } else { &self.baseline };
        self.admin
            .iter()
            .chain(baseline)
            .filter(|c| c.subject(namespaces, pod) != Match::No)
            .flat_map(|c| c.describe(dir, owner))
            .filter(|(_, _, ports)| !ports.is_empty())
            .collect()
    }

    /// The decision of one tier for one connection, seen from `pod` (the subject) in `dir`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn decide(
        &self,
        tier: Tier,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        peer: &Party,
        port: u16,
        protocol: Protocol,
    ) -> TierOutcome {
        let owner = port_owner(dir, pod, peer);
        let policies = self.of(tier);
        // Policies of one priority are judged together (sorted: equal ones are adjacent).
        for group in policies.chunk_by(|a, b| a.priority == b.priority) {
            let mut acted: Vec<ClusterRuleRef> = Vec::new();
            for policy in group {
                match policy.first_match(namespaces, dir, pod, peer, port, protocol, owner) {
                    TierOutcome::None => {}
                    TierOutcome::Act(r) => acted.push(r),
                    undecided @ TierOutcome::Undecided(_) => return undecided,
                }
            }
            if let Some(first) = acted.first() {
                if let Some(other) = acted.iter().find(|r| r.action != first.action) {
                    return TierOutcome::Undecided(super::Verdict::ImplementationDefined(format!(
                        "{first} says {} and {other} says {}: policies of equal priority that disagree are implementation-defined",
                        first.action_word, other.action_word
                    )));
                }
                return TierOutcome::Act(first.clone());
            }
        }
        TierOutcome::None
    }

    /// The same over every port: what each tier decides, port by port.
    pub(super) fn ports(
        &self,
        tier: Tier,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        peer: &Party,
    ) -> TierPorts {
        let owner = port_owner(dir, pod, peer);
        let mut out = TierPorts::default();
        let mut open = PortSet::all();
        // Only the policies that select the pod decide anything (the others' answers are empty):
        // with a hundred AdminNetworkPolicies, `reach -A` asks this for every pair of groups.
        let first = match tier {
            Tier::Admin => 0,
            Tier::Baseline => self.admin.len(),
        };
        let all = self.of(tier);
        let policies: Vec<&ClusterPolicy> = self
            .selecting(namespaces, pod)
            .iter()
            .filter_map(|&i| i.checked_sub(first).and_then(|i| all.get(i)))
            .collect();
        for same in policies.chunk_by(|a, b| a.priority == b.priority) {
            if open.is_empty() {
                break;
            }
            // Each policy of the group on its own, then where they disagree.
            let mut group: Vec<TierPorts> = Vec::new();
            for policy in same {
                group.push(policy.ports(namespaces, dir, pod, peer, owner, &open));
            }
            let mut decided = PortSet::empty();
            for (k, g) in group.iter().enumerate() {
                for (action, set) in [
                    (Action::Allow, &g.allow),
                    (Action::Deny, &g.deny),
                    (Action::Pass, &g.pass),
                ] {
                    let mut conflict = PortSet::empty();
                    for (j, h) in group.iter().enumerate() {
                        if j == k {
                            continue;
                        }
                        for (a2, s2) in [
                            (Action::Allow, &h.allow),
                            (Action::Deny, &h.deny),
                            (Action::Pass, &h.pass),
                        ] {
                            if a2 != action {
                                conflict.union(&set.intersect(s2));
                            }
                        }
                        conflict.union(&set.intersect(&h.undecided));
                    }
                    if !conflict.is_empty() {
                        out.undecided.union(&conflict);
                        out.reasons.push(format!(
                            "{} shares priority {} with another policy that disagrees: implementation-defined",
                            g.names.first().cloned().unwrap_or_default(),
                            same[0].priority.unwrap_or_default()
                        ));
                    }
                    let clean = set.minus(&conflict).minus(&decided);
                    match action {
                        Action::Allow => out.allow.union(&clean),
                        Action::Deny => out.deny.union(&clean),
                        Action::Pass => out.pass.union(&clean),
                    }
                    decided.union(set);
                }
                out.undecided.union(&g.undecided);
                decided.union(&g.undecided);
                for r in &g.reasons {
                    if !out.reasons.contains(r) {
                        out.reasons.push(r.clone());
                    }
                }
                out.names.extend(g.names.iter().cloned());
            }
            open = open.minus(&decided);
        }
        out
    }
}

/// One tier's answer for one port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TierOutcome {
    /// No rule of the tier matches (or no policy selects the pod).
    None,
    Act(ClusterRuleRef),
    Undecided(super::Verdict),
}

/// One tier's answer for every port (disjoint sets; the rest: no rule matches).
#[derive(Clone, Debug, Default)]
pub(super) struct TierPorts {
    pub(super) allow: PortSet,
    pub(super) deny: PortSet,
    pub(super) pass: PortSet,
    pub(super) undecided: PortSet,
    pub(super) reasons: Vec<String>,
    /// The policies whose rules decided some port.
    pub(super) names: Vec<String>,
}

impl TierPorts {
    /// Ports no rule of the tier decided.
    pub(super) fn rest(&self) -> PortSet {
        let mut d = self.allow.clone();
        d.union(&self.deny);
        d.union(&self.pass);
        d.union(&self.undecided);
        PortSet::all().minus(&d)
    }
}

/// The pod whose named ports a rule's named ports resolve on: the destination.
fn port_owner<'a>(dir: Direction, pod: &'a PodInfo, peer: &'a Party) -> Option<&'a PodInfo> {
    match dir {
        Direction::Ingress => Some(pod),
        Direction::Egress => match peer {
            Party::Pod(p) => Some(p),
            Party::External(_) => None,
        },
    }
}

impl ClusterPolicy {
    pub(super) fn id(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }

    fn rules(&self, dir: Direction) -> &[Rule] {
        match dir {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// Whether the subject selects `pod` (never a host-networked pod).
    fn subject(&self, namespaces: &Namespaces, pod: &PodInfo) -> Match {
        if pod.host_network || pod.name.is_empty() && pod.namespace.is_empty() {
            return Match::No;
        }
        if let Some(p) = &self.subject_pods {
            if !p.matches(&pod.labels) {
                return Match::No;
            }
        }
        namespaces.matches(&self.subject_namespaces, &pod.namespace)
    }

    fn rule_ref(&self, dir: Direction, index: usize, rule: &Rule) -> ClusterRuleRef {
        ClusterRuleRef {
            kind: self.kind,
            policy: self.name.clone(),
            rule: rule.name.clone(),
            index,
            direction: dir,
            tier: self.tier,
            priority: self.priority,
            action_word: rule.action_word,
            action: rule.action,
        }
    }

    /// The first rule (in order) that matches, for one port.
    #[allow(clippy::too_many_arguments)]
    fn first_match(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        peer: &Party,
        port: u16,
        protocol: Protocol,
        owner: Option<&PodInfo>,
    ) -> TierOutcome {
        match self.subject(namespaces, pod) {
            Match::No => return TierOutcome::None,
            Match::Unknown => {
                if self.rules(dir).is_empty() {
                    return TierOutcome::None;
                }
                return TierOutcome::Undecided(super::Verdict::Unknown(format!(
                    "namespace {}'s labels are not known (offline): cannot tell whether {} selects {}/{}",
                    pod.namespace,
                    self.id(),
                    pod.namespace,
                    pod.name
                )));
            }
            Match::Yes => {}
        }
        for (index, rule) in self.rules(dir).iter().enumerate() {
            if !super::ports_match(&rule.ports, port, protocol, owner) {
                continue;
            }
            match any_peer(namespaces, self, rule, peer) {
                PeerMatch::Yes => return TierOutcome::Act(self.rule_ref(dir, index, rule)),
                PeerMatch::No => {}
                PeerMatch::Undecided(v) => return TierOutcome::Undecided(v),
            }
        }
        TierOutcome::None
    }

    /// What this policy's rules do to each port still `open` (first rule first).
    fn ports(
        &self,
        namespaces: &Namespaces,
        dir: Direction,
        pod: &PodInfo,
        peer: &Party,
        owner: Option<&PodInfo>,
        open: &PortSet,
    ) -> TierPorts {
        let mut out = TierPorts::default();
        let mut left = open.clone();
        match self.subject(namespaces, pod) {
            Match::No => return out,
            Match::Unknown if !self.rules(dir).is_empty() => {
                out.undecided = left;
                out.reasons.push(format!(
                    "namespace {}'s labels are not known (offline): cannot tell whether {} selects it",
                    pod.namespace,
                    self.id()
                ));
                return out;
            }
            _ => {}
        }
        for rule in self.rules(dir) {
            if left.is_empty() {
                break;
            }
            let ports = super::rule_ports(&rule.ports, owner).intersect(&left);
            if ports.is_empty() {
                continue;
            }
            match any_peer(namespaces, self, rule, peer) {
                PeerMatch::Yes => {
                    match rule.action {
                        Action::Allow => out.allow.union(&ports),
                        Action::Deny => out.deny.union(&ports),
                        Action::Pass => out.pass.union(&ports),
                    }
                    if !out.names.contains(&self.id()) {
                        out.names.push(self.id());
                    }
                }
                PeerMatch::No => continue,
                PeerMatch::Undecided(v) => {
                    out.undecided.union(&ports);
                    if let super::Verdict::Unknown(r) | super::Verdict::ImplementationDefined(r) = v
                    {
                        out.reasons.push(r);
                    }
                }
            }
            left = left.minus(&ports);
        }
        out
    }

    /// The rules of one direction, described for `reach` exposure: (who, action, ports).
    pub(super) fn describe(
        &self,
        dir: Direction,
        owner: Option<&PodInfo>,
    ) -> Vec<(Action, String, PortSet)> {
        self.rules(dir)
            .iter()
            .map(|r| {
                let who: Vec<String> = r.peers.iter().map(describe_peer).collect();
                (
                    r.action,
                    format!(
                        "{}: {} ({}): {}",
                        r.action_word,
                        self.id(),
                        r.name,
                        who.join("; ")
                    ),
                    super::rule_ports(&r.ports, owner),
                )
            })
            .collect()
    }
}

fn describe_peer(p: &Peer) -> String {
    match p {
        Peer::Pods { namespaces, pods } => {
            let ns = if namespaces.is_everything() {
                "every namespace".to_string()
            } else {
                format!("namespaces {namespaces}")
            };
            if pods.is_everything() {
                format!("every pod in {ns}")
            } else {
                format!("pods {pods} in {ns}")
            }
        }
        Peer::Nodes(s) if s.is_everything() => "every node".into(),
        Peer::Nodes(s) => format!("nodes {s}"),
        Peer::Networks(n) => {
            let n: Vec<String> = n.iter().map(ToString::to_string).collect();
            format!("networks {}", n.join(", "))
        }
        Peer::DomainNames(d) => format!("domains {}", d.join(", ")),
    }
}

fn any_peer(
    namespaces: &Namespaces,
    policy: &ClusterPolicy,
    rule: &Rule,
    party: &Party,
) -> PeerMatch {
    super::first_yes(
        rule.peers
            .iter()
            .map(|p| peer_matches(namespaces, policy, p, party)),
    )
}

fn peer_matches(
    namespaces: &Namespaces,
    policy: &ClusterPolicy,
    peer: &Peer,
    party: &Party,
) -> PeerMatch {
    match (peer, party) {
        (Peer::Pods { .. }, Party::External(_)) => PeerMatch::No,
        // "host-networked pods are not included in this type of peer".
        (Peer::Pods { .. }, Party::Pod(p)) if p.host_network => PeerMatch::No,
        (
            Peer::Pods {
                namespaces: ns,
                pods,
            },
            Party::Pod(p),
        ) => {
            if !pods.matches(&p.labels) {
                return PeerMatch::No;
            }
            match namespaces.matches(ns, &p.namespace) {
                Match::Yes => PeerMatch::Yes,
                Match::No => PeerMatch::No,
                Match::Unknown => PeerMatch::Undecided(super::Verdict::Unknown(format!(
                    "namespace {}'s labels are not known (offline): cannot tell whether {}'s namespace selector matches it",
                    p.namespace,
                    policy.id()
                ))),
            }
        }
        (Peer::Networks(nets), party) => {
            let ip = match party {
                Party::External(ip) => Some(*ip),
                Party::Pod(p) => p.ip,
            };
            match ip {
                Some(ip) if nets.iter().any(|n| n.contains(&ip)) => PeerMatch::Yes,
                Some(_) => PeerMatch::No,
                None => PeerMatch::Undecided(super::Verdict::Unknown(format!(
                    "{}'s networks peer against {party}, whose address is not known (offline)",
                    policy.id()
                ))),
            }
        }
        (Peer::Nodes(sel), party) => match namespaces.node_of(party) {
            NodeOf::Node(labels) => {
                if sel.matches(labels) {
                    PeerMatch::Yes
                } else {
                    PeerMatch::No
                }
            }
            NodeOf::NotANode => PeerMatch::No,
            NodeOf::Unknown => PeerMatch::Undecided(super::Verdict::Unknown(format!(
                "{}'s nodes peer against {party}: the nodes' labels and addresses are not known",
                policy.id()
            ))),
        },
        (Peer::DomainNames(d), _) => PeerMatch::Undecided(super::Verdict::Unknown(format!(
            "{} matches domain names ({}): a connection to an address does not say which name it was resolved from",
            policy.id(),
            d.join(", ")
        ))),
    }
}

/// What a party is to `nodes` peers.
pub(super) enum NodeOf<'a> {
    Node(&'a BTreeMap<String, String>),
    NotANode,
    Unknown,
}

impl Namespaces {
    /// The node a party's address belongs to (a host-networked pod's node; an address of a node).
    pub(super) fn node_of(&self, party: &Party) -> NodeOf<'_> {
        let Some(nodes) = &self.nodes else {
            return match party {
                Party::Pod(p) if !p.host_network => NodeOf::NotANode,
                _ => NodeOf::Unknown,
            };
        };
        match party {
            Party::Pod(p) if p.host_network => {
                match nodes.iter().find(|n| Some(&n.name) == p.node.as_ref()) {
                    Some(n) => NodeOf::Node(&n.labels),
                    None => NodeOf::Unknown,
                }
            }
            Party::Pod(_) => NodeOf::NotANode,
            Party::External(ip) => match nodes.iter().find(|n| n.addresses.contains(ip)) {
                Some(n) => NodeOf::Node(&n.labels),
                None => NodeOf::NotANode,
            },
        }
    }
}

fn compile(p: &TierPolicy) -> Result<ClusterPolicy, InvalidPolicy> {
    let name = p.metadata.name.clone().unwrap_or_default();
    let (kind, tier) = match p.kind.as_str() {
        "AdminNetworkPolicy" => ("AdminNetworkPolicy", Tier::Admin),
        "BaselineAdminNetworkPolicy" => ("BaselineAdminNetworkPolicy", Tier::Baseline),
        "ClusterNetworkPolicy" => (
            "ClusterNetworkPolicy",
            match p.spec.tier.as_deref() {
                Some("Admin") => Tier::Admin,
                Some("Baseline") => Tier::Baseline,
                other => {
                    return Err(InvalidPolicy {
                        policy: format!("ClusterNetworkPolicy {name}"),
                        message: format!(
                            "spec.tier: {} (must be Admin or Baseline)",
                            other.map_or("missing".to_string(), |t| format!("{t:?}"))
                        ),
                    });
                }
            },
        ),
        other => {
            return Err(InvalidPolicy {
                policy: name,
                message: format!("not a cluster policy kind: {other:?}"),
            });
        }
    };
    let err = |message: String| InvalidPolicy {
        policy: format!("{kind} {name}"),
        message,
    };
    // v1alpha1: the BaselineAdminNetworkPolicy is a singleton named `default`.
    if kind == "BaselineAdminNetworkPolicy" && name != "default" {
        return Err(err(
            "a BaselineAdminNetworkPolicy must be named \"default\" (it is a singleton)".into(),
        ));
    }
    let priority = match (kind, p.spec.priority) {
        ("BaselineAdminNetworkPolicy", _) => None,
        (_, Some(n)) if (0..=1000).contains(&n) => Some(n),
        (_, Some(n)) => return Err(err(format!("spec.priority {n}: must be 0 to 1000"))),
        (_, None) => return Err(err("spec.priority is required".into())),
    };
    let s = &p.spec.subject;
    let (subject_namespaces, subject_pods) = match (&s.namespaces, &s.pods) {
        (Some(ns), None) => (
            Selector::compile(ns).map_err(|e| err(format!("spec.subject.namespaces: {e}")))?,
            None,
        ),
        (None, Some(pods)) => (
            Selector::compile(&pods.namespace_selector)
                .map_err(|e| err(format!("spec.subject.pods.namespaceSelector: {e}")))?,
            Some(
                Selector::compile(&pods.pod_selector)
                    .map_err(|e| err(format!("spec.subject.pods.podSelector: {e}")))?,
            ),
        ),
        _ => {
            return Err(err(
                "spec.subject: exactly one of namespaces and pods must be set".into(),
            ));
        }
    };
    let rules = |dir: Direction, list: &[RawRule]| -> Result<Vec<Rule>, InvalidPolicy> {
        if list.len() > 100 {
            return Err(err(format!(
                "spec.{}: {} rules (at most 100)",
                dir.word(),
                list.len()
            )));
        }
        list.iter()
            .enumerate()
            .map(|(i, r)| {
                let at = format!("spec.{}[{i}]", dir.word());
                let label = r.name.clone().filter(|n| !n.is_empty());
                let named = |m: String| {
                    err(match &label {
                        Some(n) => format!("{at} ({n}): {m}"),
                        None => format!("{at}: {m}"),
                    })
                };
                rule(kind, dir, r).map_err(named).map(|mut rule| {
                    rule.name = label.unwrap_or_else(|| format!("{}[{i}]", dir.word()));
                    rule
                })
            })
            .collect()
    };
    let ingress = rules(Direction::Ingress, &p.spec.ingress)?;
    let egress = rules(Direction::Egress, &p.spec.egress)?;
    Ok(ClusterPolicy {
        kind,
        name,
        tier,
        priority,
        subject_namespaces,
        subject_pods,
        ingress,
        egress,
    })
}

fn rule(kind: &'static str, dir: Direction, r: &RawRule) -> Result<Rule, String> {
    let (action, action_word) = match (kind, r.action.as_str()) {
        ("ClusterNetworkPolicy", "Accept") => (Action::Allow, "Accept"),
        ("ClusterNetworkPolicy", "Pass") | ("AdminNetworkPolicy", "Pass") => (Action::Pass, "Pass"),
        ("ClusterNetworkPolicy", _)
        | ("AdminNetworkPolicy", _)
        | ("BaselineAdminNetworkPolicy", _)
            if r.action == "Deny" =>
        {
            (Action::Deny, "Deny")
        }
        ("AdminNetworkPolicy", "Allow") | ("BaselineAdminNetworkPolicy", "Allow") => {
            (Action::Allow, "Allow")
        }
        (_, other) => {
            let allowed = match kind {
                "ClusterNetworkPolicy" => "Accept, Deny or Pass",
                "AdminNetworkPolicy" => "Allow, Deny or Pass",
                _ => "Allow or Deny",
            };
            return Err(format!("action {other:?}: must be {allowed}"));
        }
    };
    let raw_peers = match dir {
        Direction::Ingress => r.from.as_deref(),
        Direction::Egress => r.to.as_deref(),
    };
    let field = match dir {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let raw_peers = raw_peers
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("{field} must name at least one peer"))?;
    let mut peers = Vec::with_capacity(raw_peers.len());
    for (i, p) in raw_peers.iter().enumerate() {
        peers.push(peer(dir, action, p).map_err(|e| format!("{field}[{i}]: {e}"))?);
    }
    let ports = match kind {
        "ClusterNetworkPolicy" => {
            if r.ports.is_some() {
                return Err(
                    "ports is v1alpha1's field: ClusterNetworkPolicy uses protocols".into(),
                );
            }
            protocols(r.protocols.as_deref())?
        }
        _ => {
            if r.protocols.is_some() {
                return Err(
                    "protocols is ClusterNetworkPolicy's field: v1alpha1 uses ports".into(),
                );
            }
            anp_ports(r.ports.as_deref())?
        }
    };
    Ok(Rule {
        name: String::new(),
        action,
        action_word,
        peers,
        ports,
    })
}

fn peer(dir: Direction, action: Action, p: &RawPeer) -> Result<Peer, String> {
    let set = [
        p.namespaces.is_some(),
        p.pods.is_some(),
        p.nodes.is_some(),
        p.networks.is_some(),
        p.domain_names.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count();
    if set != 1 {
        return Err(
            "exactly one of namespaces, pods, nodes, networks and domainNames must be set".into(),
        );
    }
    if dir == Direction::Ingress
        && (p.nodes.is_some() || p.networks.is_some() || p.domain_names.is_some())
    {
        return Err("nodes, networks and domainNames are egress peers only".into());
    }
    if let Some(ns) = &p.namespaces {
        return Ok(Peer::Pods {
            namespaces: Selector::compile(ns).map_err(|e| format!("namespaces: {e}"))?,
            pods: Selector::compile(&LabelSelector::default()).expect("empty selector"),
        });
    }
    if let Some(pods) = &p.pods {
        return Ok(Peer::Pods {
            namespaces: Selector::compile(&pods.namespace_selector)
                .map_err(|e| format!("pods.namespaceSelector: {e}"))?,
            pods: Selector::compile(&pods.pod_selector)
                .map_err(|e| format!("pods.podSelector: {e}"))?,
        });
    }
    if let Some(nodes) = &p.nodes {
        return Ok(Peer::Nodes(
            Selector::compile(nodes).map_err(|e| format!("nodes: {e}"))?,
        ));
    }
    if let Some(nets) = &p.networks {
        if nets.is_empty() || nets.len() > 25 {
            return Err(format!("networks: {} entries (1 to 25)", nets.len()));
        }
        let mut out = Vec::with_capacity(nets.len());
        for n in nets {
            let net: IpNet = n
                .parse()
                .map_err(|_| format!("networks: {n:?} is not a CIDR"))?;
            out.push(net);
        }
        return Ok(Peer::Networks(out));
    }
    let names = p.domain_names.clone().unwrap_or_default();
    if action != Action::Allow {
        return Err("domainNames may only be used in Allow/Accept rules".into());
    }
    Ok(Peer::DomainNames(names))
}

fn proto(s: Option<&str>) -> Result<Protocol, String> {
    Protocol::parse(s)
}

fn port_number(n: i64, what: &str) -> Result<u16, String> {
    u16::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{what} {n} out of range (1 to 65535)"))
}

/// v1alpha1 `ports`: exactly one of portNumber, namedPort, portRange per entry.
fn anp_ports(list: Option<&[RawPort]>) -> Result<Option<Vec<PortSpec>>, String> {
    let Some(list) = list else { return Ok(None) };
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let spec = match (&p.port_number, &p.named_port, &p.port_range) {
            (Some(n), None, None) => {
                let port = port_number(n.port, "port").map_err(|e| format!("ports[{i}]: {e}"))?;
                PortSpec::Range(
                    proto(n.protocol.as_deref()).map_err(|e| format!("ports[{i}]: {e}"))?,
                    port,
                    port,
                )
            }
            // A named port names a container port, whatever its protocol.
            (None, Some(name), None) => PortSpec::NamedAny(name.clone()),
            (None, None, Some(r)) => {
                let a = port_number(r.start, "start").map_err(|e| format!("ports[{i}]: {e}"))?;
                let b = port_number(r.end, "end").map_err(|e| format!("ports[{i}]: {e}"))?;
                if a >= b {
                    return Err(format!(
                        "ports[{i}]: portRange start {a} must be less than end {b}"
                    ));
                }
                PortSpec::Range(
                    proto(r.protocol.as_deref()).map_err(|e| format!("ports[{i}]: {e}"))?,
                    a,
                    b,
                )
            }
            _ => {
                return Err(format!(
                    "ports[{i}]: exactly one of portNumber, namedPort and portRange must be set"
                ));
            }
        };
        out.push(spec);
    }
    Ok(Some(out))
}

/// ClusterNetworkPolicy `protocols`: exactly one of tcp, udp, sctp, destinationNamedPort; a
/// protocol without destinationPort is every port of it.
fn protocols(list: Option<&[RawProtocol]>) -> Result<Option<Vec<PortSpec>>, String> {
    let Some(list) = list else { return Ok(None) };
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let set = [
            p.tcp.is_some(),
            p.udp.is_some(),
            p.sctp.is_some(),
            p.destination_named_port.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        if set != 1 {
            return Err(format!(
                "protocols[{i}]: exactly one of tcp, udp, sctp and destinationNamedPort must be set"
            ));
        }
        if let Some(name) = &p.destination_named_port {
            out.push(PortSpec::NamedAny(name.clone()));
            continue;
        }
        let (protocol, dest) = [
            (Protocol::Tcp, &p.tcp),
            (Protocol::Udp, &p.udp),
            (Protocol::Sctp, &p.sctp),
        ]
        .into_iter()
        .find_map(|(pr, d)| d.as_ref().map(|d| (pr, d)))
        .expect("one is set");
        let spec = match &dest.destination_port {
            None => PortSpec::Any(protocol),
            Some(RawCnpPort {
                number: Some(n),
                range: None,
            }) => {
                let n = port_number(*n, "number").map_err(|e| format!("protocols[{i}]: {e}"))?;
                PortSpec::Range(protocol, n, n)
            }
            Some(RawCnpPort {
                number: None,
                range: Some(r),
            }) => {
                let a =
                    port_number(r.start, "start").map_err(|e| format!("protocols[{i}]: {e}"))?;
                let b = port_number(r.end, "end").map_err(|e| format!("protocols[{i}]: {e}"))?;
                if a >= b {
                    return Err(format!(
                        "protocols[{i}]: range start {a} must be less than end {b}"
                    ));
                }
                PortSpec::Range(protocol, a, b)
            }
            Some(_) => {
                return Err(format!(
                    "protocols[{i}]: destinationPort takes exactly one of number and range"
                ));
            }
        };
        out.push(spec);
    }
    Ok(Some(out))
}

/// Every protocol: named ports in cluster policies match any protocol the container declares.
pub(super) fn named_any(owner: Option<&PodInfo>, name: &str, set: &mut PortSet) {
    for (n, num, proto) in owner.map(|o| o.ports.as_slice()).unwrap_or_default() {
        if n == name && PROTOCOLS.contains(proto) {
            set.add(*proto, *num, *num);
        }
    }
}
