//! Near misses: an ingress deny that one field of an existing policy — or one namespace label —
//! would turn into an allow. Found by asking the engine "what if": the same decision with that one
//! field changed. The smallest fix is then that field, not a new policy.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPort};

use super::{Namespaces, Party, PodInfo, PolicySet, Protocol, Verdict};

/// One field away from allowed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NearMiss {
    /// Rule `rule` of `policy` (`ns/name`) admits the client, but not on this port: its ports.
    Port {
        policy: String,
        rule: usize,
        ports: Vec<NetworkPolicyPort>,
    },
    /// Rule `rule` of `policy` would admit the client if its namespace carried these labels.
    NamespaceLabels {
        policy: String,
        rule: usize,
        namespace: String,
        labels: BTreeMap<String, String>,
    },
}

/// The ingress near misses of `client` → `dst` on `port`/`protocol`, given the namespaces' known
/// labels (`complete` as for [`Namespaces::complete`]).
pub(crate) fn near_misses(
    policies: &[NetworkPolicy],
    namespaces: &BTreeMap<String, BTreeMap<String, String>>,
    complete: bool,
    client: &PodInfo,
    dst: &PodInfo,
    port: u16,
    protocol: Protocol,
) -> Vec<NearMiss> {
    let what_if = WhatIf {
        complete,
        client,
        dst,
        port,
        protocol,
    };
    let mut out = Vec::new();
    for (pi, policy) in policies.iter().enumerate() {
        if policy.metadata.namespace.as_deref() != Some(dst.namespace.as_str()) {
            continue;
        }
        let id = format!(
            "{}/{}",
            dst.namespace,
            policy.metadata.name.as_deref().unwrap_or_default()
        );
        let rules = policy
            .spec
            .as_ref()
            .and_then(|s| s.ingress.as_ref())
            .cloned()
            .unwrap_or_default();
        for (ri, rule) in rules.iter().enumerate() {
            // The ports: the same rule without them.
            if rule.ports.as_ref().is_some_and(|p| !p.is_empty())
                && what_if.without_ports(policies, namespaces, pi, ri)
            {
                out.push(NearMiss::Port {
                    policy: id.clone(),
                    rule: ri,
                    ports: rule.ports.clone().unwrap_or_default(),
                });
                continue;
            }
            if let Some(labels) = what_if.namespace_labels(policies, namespaces, rule) {
                out.push(NearMiss::NamespaceLabels {
                    policy: id.clone(),
                    rule: ri,
                    namespace: client.namespace.clone(),
                    labels,
                });
            }
        }
    }
    out
}

/// The path judged again with one field changed.
struct WhatIf<'a> {
    complete: bool,
    client: &'a PodInfo,
    dst: &'a PodInfo,
    port: u16,
    protocol: Protocol,
}

impl WhatIf<'_> {
    /// Whether these policies, with these namespace labels, admit the client at ingress.
    fn allowed(
        &self,
        policies: &[NetworkPolicy],
        labels: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> bool {
        let map = labels.clone().into_iter().collect();
        let nss = if self.complete {
            Namespaces::complete(map)
        } else {
            Namespaces::partial(map)
        };
        PolicySet::compile(policies).is_ok_and(|set| {
            set.decide(
                &nss,
                &Party::Pod(self.client.clone()),
                &Party::Pod(self.dst.clone()),
                self.port,
                self.protocol,
            )
            .ingress
            .verdict
                == Verdict::Allowed
        })
    }

    /// Rule `ri` of policy `pi` without its ports: does it admit the client then?
    fn without_ports(
        &self,
        policies: &[NetworkPolicy],
        namespaces: &BTreeMap<String, BTreeMap<String, String>>,
        pi: usize,
        ri: usize,
    ) -> bool {
        let mut changed = policies.to_vec();
        if let Some(r) = changed[pi]
            .spec
            .as_mut()
            .and_then(|s| s.ingress.as_mut())
            .and_then(|i| i.get_mut(ri))
        {
            r.ports = None;
        }
        self.allowed(&changed, namespaces)
    }

    /// A namespaceSelector (of matchLabels only) of the rule whose labels, given to the client's
    /// namespace, would admit it: those labels.
    fn namespace_labels(
        &self,
        policies: &[NetworkPolicy],
        namespaces: &BTreeMap<String, BTreeMap<String, String>>,
        rule: &k8s_openapi::api::networking::v1::NetworkPolicyIngressRule,
    ) -> Option<BTreeMap<String, String>> {
        let client_ns = &self.client.namespace;
        let have = namespaces.get(client_ns).cloned().unwrap_or_default();
        for peer in rule.from.iter().flatten() {
            let Some(sel) = &peer.namespace_selector else {
                continue;
            };
            if sel
                .match_expressions
                .as_ref()
                .is_some_and(|e| !e.is_empty())
            {
                continue;
            }
            let missing: BTreeMap<String, String> = sel
                .match_labels
                .iter()
                .flatten()
                .filter(|(k, v)| have.get(*k) != Some(*v))
                .filter(|(k, _)| k.as_str() != super::NAMESPACE_NAME_LABEL)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let mut labels = namespaces.clone();
            labels
                .entry(client_ns.clone())
                .or_default()
                .extend(missing.clone());
            if self.allowed(policies, &labels) {
                return Some(missing);
            }
        }
        None
    }
}
