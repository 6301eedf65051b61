//! NetworkPolicy objects validated and compiled into the engine's form, indexed by namespace.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ipnet::IpNet;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Direction, Protocol, Selector};

/// A policy the API server would have refused, or that the engine cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {}: {message}", named(policy))]
pub struct InvalidPolicy {
    /// `ns/name` of a NetworkPolicy; `Kind name` of a cluster-wide policy.
    pub policy: String,
    pub message: String,
}

/// "NetworkPolicy shop/x", or a cluster-wide policy as it is already named.
fn named(policy: &str) -> String {
    if policy.contains(' ') {
        policy.to_string()
    } else {
        format!("NetworkPolicy {policy}")
    }
}

#[derive(Clone, Debug)]
pub(super) enum Peer {
    /// podSelector and/or namespaceSelector; `None` for an absent field.
    Pods {
        pods: Option<Selector>,
        namespaces: Option<Selector>,
    },
    IpBlock {
        cidr: IpNet,
        except: Vec<IpNet>,
    },
}

#[derive(Clone, Debug)]
pub(super) enum PortSpec {
    /// Every port of a protocol.
    Any(Protocol),
    /// `port` … `endPort` (inclusive).
    Range(Protocol, u16, u16),
    /// A named port, resolved on the destination pod.
    Named(Protocol, String),
    /// A named port of any protocol (AdminNetworkPolicy `namedPort`, ClusterNetworkPolicy
    /// `destinationNamedPort`): the container port's own protocol.
    NamedAny(String),
}

#[derive(Clone, Debug)]
pub(super) struct Rule {
    /// `None`: from/to missing or empty — every peer.
    pub(super) peers: Option<Vec<Peer>>,
    /// `None`: ports missing or empty — every port.
    pub(super) ports: Option<Vec<PortSpec>>,
}

#[derive(Clone, Debug)]
pub(super) struct Policy {
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) pod_selector: Selector,
    /// `Some` when the policy isolates ingress (then the rules, possibly none).
    pub(super) ingress: Option<Vec<Rule>>,
    pub(super) egress: Option<Vec<Rule>>,
}

impl Policy {
    pub(super) fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub(super) fn rules(&self, dir: Direction) -> Option<&Vec<Rule>> {
        match dir {
            Direction::Ingress => self.ingress.as_ref(),
            Direction::Egress => self.egress.as_ref(),
        }
    }
}

/// Compiled policies, indexed by namespace: a decision reads only the policies of the two pods'
/// namespaces.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    by_namespace: HashMap<String, Vec<Policy>>,
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy.
    pub(super) tiers: super::tiers::Tiers,
}

impl PolicySet {
    /// Validates and compiles policies; the first invalid one is an error naming it.
    pub fn compile(policies: &[NetworkPolicy]) -> Result<Self, InvalidPolicy> {
        let mut set = PolicySet::default();
        for np in policies {
            let p = compile_policy(np)?;
            set.by_namespace
                .entry(p.namespace.clone())
                .or_default()
                .push(p);
        }
        Ok(set)
    }

    /// Adds the cluster-wide tiers (validated like NetworkPolicies: the first invalid one is an
    /// error naming it and its rule).
    pub fn with_tiers(mut self, list: &[super::TierPolicy]) -> Result<Self, InvalidPolicy> {
        self.tiers = super::tiers::Tiers::compile(list)?;
        Ok(self)
    }

    /// How many cluster-wide policies were compiled in.
    pub fn cluster_policies(&self) -> usize {
        self.tiers.len()
    }

    pub(super) fn in_namespace<'a>(&'a self, ns: &str) -> impl Iterator<Item = &'a Policy> + 'a {
        self.by_namespace.get(ns).into_iter().flatten()
    }

    pub(super) fn by_namespace_values(&self) -> impl Iterator<Item = &Policy> {
        self.by_namespace.values().flatten()
    }

    /// Whether a policy isolates `pod` in direction `dir`.
    pub fn isolates(&self, pod: &super::PodInfo, dir: super::Direction) -> bool {
        self.in_namespace(&pod.namespace)
            .any(|p| p.rules(dir).is_some() && p.pod_selector.matches(&pod.labels))
    }

    /// Every peer of every rule of every policy, both directions.
    fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.by_namespace_values().flat_map(|policy| {
            policy
                .ingress
                .iter()
                .flatten()
                .chain(policy.egress.iter().flatten())
                .flat_map(|rule| rule.peers.iter().flatten())
        })
    }

    /// Every ipBlock of every rule, with its exceptions: the only places a pod's address
    /// matters to a decision.
    pub fn ip_blocks(&self) -> Vec<(ipnet::IpNet, Vec<ipnet::IpNet>)> {
        let mut out: Vec<(IpNet, Vec<IpNet>)> = Vec::new();
        for peer in self.peers() {
            if let Peer::IpBlock { cidr, except } = peer {
                if !out.iter().any(|(c, e)| c == cidr && e == except) {
                    out.push((*cidr, except.clone()));
                }
            }
        }
        for cidr in self.tiers.networks() {
            if !out.iter().any(|(c, e)| *c == cidr && e.is_empty()) {
                out.push((cidr, Vec::new()));
            }
        }
        out
    }

    /// The pod label keys any policy's selectors read, each with the values they name: two pods
    /// that agree on these (a value no selector names counting as "present") are told apart by
    /// no policy. Namespace selectors read namespaces' labels, not pods', and are not included.
    pub fn pod_labels_read(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out = BTreeMap::new();
        for policy in self.by_namespace_values() {
            policy.pod_selector.mentions(&mut out);
        }
        for peer in self.peers() {
            if let Peer::Pods { pods: Some(s), .. } = peer {
                s.mentions(&mut out);
            }
        }
        self.tiers.mentions(&mut out);
        out
    }

    /// How many rules the policies of a namespace hold (both directions): what deciding one
    /// pair of pods there can cost.
    pub fn rules_in(&self, ns: &str) -> usize {
        self.in_namespace(ns)
            .map(|p| p.ingress.as_ref().map_or(0, Vec::len) + p.egress.as_ref().map_or(0, Vec::len))
            .sum()
    }

    /// Every policy's rules, both directions.
    pub fn rules_total(&self) -> usize {
        self.by_namespace.keys().map(|ns| self.rules_in(ns)).sum()
    }

    pub fn len(&self) -> usize {
        self.by_namespace.values().map(Vec::len).sum()
    }

    /// No NetworkPolicy and no cluster-wide policy.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.tiers.is_empty()
    }
}

fn compile_policy(np: &NetworkPolicy) -> Result<Policy, InvalidPolicy> {
    let namespace = np
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = np.metadata.name.clone().unwrap_or_default();
    let err = |message: String| InvalidPolicy {
        policy: format!("{namespace}/{name}"),
        message,
    };
    let spec = np.spec.clone().unwrap_or_default();
    let pod_selector = Selector::compile(&spec.pod_selector.unwrap_or_default())
        .map_err(|e| err(format!("spec.podSelector: {e}")))?;
    let types: Vec<String> = match &spec.policy_types {
        Some(t) if !t.is_empty() => t.clone(),
        // Defaulted as the API server does: Ingress always, Egress when there are egress rules.
        _ => {
            let mut t = vec!["Ingress".to_string()];
            if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                t.push("Egress".into());
            }
            t
        }
    };
    for t in &types {
        if t != "Ingress" && t != "Egress" {
            return Err(err(format!("spec.policyTypes: unknown type {t:?}")));
        }
    }
    let ingress = if types.iter().any(|t| t == "Ingress") {
        let rules = spec.ingress.unwrap_or_default();
        let mut out = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let at = |e: String| err(format!("spec.ingress[{i}]: {e}"));
            out.push(Rule {
                peers: peers(r.from.as_deref()).map_err(at)?,
                ports: ports(r.ports.as_deref())
                    .map_err(|e| err(format!("spec.ingress[{i}]: {e}")))?,
            });
        }
        Some(out)
    } else {
        None
    };
    let egress = if types.iter().any(|t| t == "Egress") {
        let rules = spec.egress.unwrap_or_default();
        let mut out = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let at = |e: String| err(format!("spec.egress[{i}]: {e}"));
            out.push(Rule {
                peers: peers(r.to.as_deref()).map_err(at)?,
                ports: ports(r.ports.as_deref())
                    .map_err(|e| err(format!("spec.egress[{i}]: {e}")))?,
            });
        }
        Some(out)
    } else {
        None
    };
    Ok(Policy {
        namespace,
        name,
        pod_selector,
        ingress,
        egress,
    })
}

fn peers(list: Option<&[NetworkPolicyPeer]>) -> Result<Option<Vec<Peer>>, String> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let peer = match (&p.ip_block, &p.pod_selector, &p.namespace_selector) {
            (Some(b), None, None) => {
                let cidr: IpNet = b
                    .cidr
                    .parse()
                    .map_err(|_| format!("peer {i}: invalid ipBlock.cidr {:?}", b.cidr))?;
                let mut except = Vec::new();
                for e in b.except.iter().flatten() {
                    let net: IpNet = e
                        .parse()
                        .map_err(|_| format!("peer {i}: invalid ipBlock.except {e:?}"))?;
                    if !cidr.contains(&net) {
                        return Err(format!(
                            "peer {i}: ipBlock.except {e} is not within {}",
                            b.cidr
                        ));
                    }
                    except.push(net);
                }
                Peer::IpBlock { cidr, except }
            }
            (Some(_), _, _) => {
                return Err(format!(
                    "peer {i}: ipBlock may not be combined with selectors"
                ));
            }
            (None, None, None) => {
                return Err(format!(
                    "peer {i}: must specify podSelector, namespaceSelector or ipBlock"
                ));
            }
            (None, pods, nss) => Peer::Pods {
                pods: pods
                    .as_ref()
                    .map(Selector::compile)
                    .transpose()
                    .map_err(|e| format!("peer {i} podSelector: {e}"))?,
                namespaces: nss
                    .as_ref()
                    .map(Selector::compile)
                    .transpose()
                    .map_err(|e| format!("peer {i} namespaceSelector: {e}"))?,
            },
        };
        out.push(peer);
    }
    Ok(Some(out))
}

fn ports(list: Option<&[NetworkPolicyPort]>) -> Result<Option<Vec<PortSpec>>, String> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let proto =
            Protocol::parse(p.protocol.as_deref()).map_err(|e| format!("ports[{i}]: {e}"))?;
        let spec = match (&p.port, p.end_port) {
            (None, None) => PortSpec::Any(proto),
            (None, Some(_)) => return Err(format!("ports[{i}]: endPort without port")),
            (Some(IntOrString::String(name)), None) => PortSpec::Named(proto, name.clone()),
            (Some(IntOrString::String(name)), Some(_)) => {
                return Err(format!(
                    "ports[{i}]: endPort cannot be used with the named port {name:?}"
                ));
            }
            (Some(IntOrString::Int(n)), end) => {
                let from = u16::try_from(*n)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("ports[{i}]: port {n} out of range"))?;
                let to = match end {
                    None => from,
                    Some(e) => u16::try_from(e)
                        .ok()
                        .filter(|e| *e >= from)
                        .ok_or_else(|| {
                            format!("ports[{i}]: endPort {e} must be between port {from} and 65535")
                        })?,
                };
                PortSpec::Range(proto, from, to)
            }
        };
        out.push(spec);
    }
    Ok(Some(out))
}
