//! Who enforces NetworkPolicy here: the CNI, recognised by its DaemonSet, and other policy engines
//! announced in API discovery. A deny is moot where nothing enforces it; an allow is only half the
//! story where another engine adds its own policies.

use crate::state::Workload;

/// Whether the cluster's network plugin enforces NetworkPolicy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Enforcement {
    /// This plugin enforces it.
    Enforced(String),
    /// This plugin does not (the reason names it).
    NotEnforced(String),
    /// No plugin recognised.
    Unknown,
}

fn has(ds: &Workload, needle: &str) -> bool {
    ds.name.contains(needle)
}

/// Recognises the CNI from the cluster's DaemonSets.
pub(crate) fn enforcement(daemonsets: &[Workload]) -> Enforcement {
    let enforcers: [(&str, &str); 8] = [
        ("calico-node", "Calico"),
        ("canal", "Canal (Calico policy)"),
        ("cilium", "Cilium"),
        ("anetd", "GKE Dataplane V2 (Cilium)"),
        ("antrea-agent", "Antrea"),
        ("azure-npm", "Azure Network Policy Manager"),
        ("weave-net", "Weave Net"),
        ("kube-router", "kube-router"),
    ];
    for ds in daemonsets {
        for (needle, name) in enforcers {
            if !has(ds, needle) {
                continue;
            }
            if needle == "kube-router"
                && ds
                    .containers
                    .iter()
                    .any(|c| c.contains("--run-firewall=false"))
            {
                continue;
            }
            return Enforcement::Enforced(name.to_string());
        }
    }
    for ds in daemonsets {
        if ds.name == "aws-node" {
            let agent = ds.containers.iter().any(|c| {
                (c.starts_with("aws-network-policy-agent") || c.starts_with("aws-eks-nodeagent"))
                    && c.contains("--enable-network-policy=true")
            });
            return if agent {
                Enforcement::Enforced("Amazon VPC CNI with its network policy agent".into())
            } else {
                Enforcement::NotEnforced("the Amazon VPC CNI runs without its network policy agent (enable-network-policy)".into())
            };
        }
    }
    if daemonsets.iter().any(|ds| has(ds, "flannel")) {
        return Enforcement::NotEnforced("flannel alone does not enforce NetworkPolicy".into());
    }
    Enforcement::Unknown
}

/// Policy kinds of other engines, to name the ones that exist: (group, kind, plural, namespaced).
pub(crate) const ENGINE_KINDS: &[(&str, &str, &str, bool)] = &[
    (
        "crd.projectcalico.org",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    (
        "crd.projectcalico.org",
        "GlobalNetworkPolicy",
        "globalnetworkpolicies",
        false,
    ),
    (
        "cilium.io",
        "CiliumNetworkPolicy",
        "ciliumnetworkpolicies",
        true,
    ),
    (
        "cilium.io",
        "CiliumClusterwideNetworkPolicy",
        "ciliumclusterwidenetworkpolicies",
        false,
    ),
    (
        "security.istio.io",
        "AuthorizationPolicy",
        "authorizationpolicies",
        true,
    ),
    (
        "policy.linkerd.io",
        "AuthorizationPolicy",
        "authorizationpolicies",
        true,
    ),
    (
        "networking.gke.io",
        "FQDNNetworkPolicy",
        "fqdnnetworkpolicies",
        true,
    ),
];

/// Other policy engines whose API groups discovery lists: (engine, group).
pub(crate) fn other_engines(groups: &[String]) -> Vec<(&'static str, String)> {
    let known: [(&str, &str); 5] = [
        (
            "crd.projectcalico.org",
            "Calico NetworkPolicy/GlobalNetworkPolicy",
        ),
        (
            "cilium.io",
            "CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy",
        ),
        ("security.istio.io", "Istio AuthorizationPolicy"),
        ("policy.linkerd.io", "Linkerd AuthorizationPolicy/Server"),
        ("networking.gke.io", "GKE FQDNNetworkPolicy"),
    ];
    known
        .iter()
        .filter(|(g, _)| groups.iter().any(|x| x == g))
        .map(|(g, engine)| (*engine, g.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(name: &str, containers: &[&str]) -> Workload {
        Workload {
            namespace: "kube-system".into(),
            name: name.into(),
            containers: containers.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn recognises_enforcing_and_non_enforcing_plugins() {
        assert_eq!(
            enforcement(&[ds("calico-node", &["calico-node"])]),
            Enforcement::Enforced("Calico".into())
        );
        assert!(matches!(
            enforcement(&[ds("kube-flannel-ds", &["kube-flannel"])]),
            Enforcement::NotEnforced(_)
        ));
        // Flannel with Calico's policy (canal, or both DaemonSets): enforced.
        assert!(matches!(
            enforcement(&[ds("kube-flannel-ds", &[]), ds("calico-node", &[])]),
            Enforcement::Enforced(_)
        ));
        assert!(matches!(
            enforcement(&[ds(
                "aws-node",
                &[
                    "aws-node",
                    "aws-eks-nodeagent --enable-network-policy=false"
                ]
            )]),
            Enforcement::NotEnforced(_)
        ));
        assert!(matches!(
            enforcement(&[ds(
                "aws-node",
                &["aws-node", "aws-eks-nodeagent --enable-network-policy=true"]
            )]),
            Enforcement::Enforced(_)
        ));
        assert!(matches!(
            enforcement(&[ds("kube-router", &["kube-router --run-firewall=false"])]),
            Enforcement::Unknown
        ));
        assert_eq!(enforcement(&[ds("kube-proxy", &[])]), Enforcement::Unknown);
    }

    #[test]
    fn other_engines_from_discovery() {
        // policy.networking.k8s.io (AdminNetworkPolicy and its kin) is evaluated, not "other".
        let groups: Vec<String> = ["apps", "cilium.io", "policy.networking.k8s.io"]
            .map(String::from)
            .into();
        let found: Vec<String> = other_engines(&groups).into_iter().map(|(_, g)| g).collect();
        assert_eq!(found, vec!["cilium.io"]);
    }
}
