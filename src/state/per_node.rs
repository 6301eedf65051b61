//! Per-node probing (`svc NAME --all-nodes`, `--nodes SELECTOR`): which nodes get a probe pod of
//! their own, and what each saw. Pure: the nodes are read by the source, the probes run by
//! `crate::probe`; the checks judge each node's results as they judge one probe's.
//!
//! Which nodes: every Ready Linux node the selector matches, untainted unless asked
//! (`--tolerate-taints`, as a DaemonSet that runs everywhere tolerates every taint). When more
//! nodes qualify than `--max-nodes`, the nodes hosting the Service's ready endpoints come first
//! (faults there are the ones its clients meet), then one node per zone
//! (`topology.kubernetes.io/zone`) in turn until the cap: a sample the report says it is.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};

use super::Fact;
use super::probe::ProbeResults;
use crate::k8s;

/// The zone label nodes carry (kubelet sets it from the cloud provider).
pub(crate) const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// A node chosen for a probe pod of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenNode {
    pub name: String,
    pub zone: Option<String>,
    /// It hosts a ready endpoint of the Service.
    pub hosts_endpoints: bool,
}

/// Which nodes get a probe and why the others do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub chosen: Vec<ChosenNode>,
    /// Nodes that qualified by the selector but cannot run a probe pod: (node, why).
    pub skipped: Vec<(String, String)>,
    /// How many nodes the selector matched.
    pub matched: usize,
    /// Qualifying nodes left out by the cap (`--max-nodes`).
    pub left_out: usize,
}

/// How nodes are chosen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Choice {
    pub max_nodes: usize,
    pub tolerate_taints: bool,
}

/// Why a node cannot run a pinned probe pod, if it cannot.
fn unfit(node: &Node, tolerate_taints: bool) -> Option<String> {
    let labels = node.metadata.labels.as_ref();
    if let Some(os) = labels
        .and_then(|l| l.get("kubernetes.io/os"))
        .filter(|os| *os != "linux")
    {
        // The probe's pod asks for kubernetes.io/os=linux: the kubelet would refuse it.
        return Some(format!("a {os} node (the probe runs on Linux)"));
    }
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    if ready != Some("True") {
        return Some(format!(
            "not Ready (Ready={}): no pod starts there",
            ready.unwrap_or("unknown")
        ));
    }
    if tolerate_taints {
        return None;
    }
    let taints = node.spec.as_ref().and_then(|s| s.taints.as_ref());
    let blocking: Vec<String> = taints
        .into_iter()
        .flatten()
        .filter(|t| matches!(t.effect.as_str(), "NoSchedule" | "NoExecute"))
        .map(|t| match &t.value {
            Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
            _ => format!("{}:{}", t.key, t.effect),
        })
        .collect();
    (!blocking.is_empty()).then(|| {
        format!(
            "tainted {} (--tolerate-taints probes it too)",
            blocking.join(", ")
        )
    })
}

/// Chooses the nodes to probe from `nodes` (those the selector matched).
pub(crate) fn select(nodes: &[Node], hosting: &[String], choice: Choice) -> Selection {
    let mut selection = Selection {
        matched: nodes.len(),
        ..Default::default()
    };
    let mut fit: Vec<ChosenNode> = Vec::new();
    for node in nodes {
        let name = k8s::name_of(&node.metadata).to_string();
        if let Some(why) = unfit(node, choice.tolerate_taints) {
            selection.skipped.push((name, why));
            continue;
        }
        let zone = node
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(ZONE_LABEL))
            .cloned();
        fit.push(ChosenNode {
            hosts_endpoints: hosting.contains(&name),
            name,
            zone,
        });
    }
    fit.sort_by(|a, b| a.name.cmp(&b.name));
    fit.dedup_by(|a, b| a.name == b.name);
    let max = choice.max_nodes.max(1);
    if fit.len() <= max {
        selection.chosen = fit;
        return selection;
    }
    // The endpoints' nodes first, then one per zone in turn (zones by name, nodes by name).
    let (mut chosen, rest): (Vec<_>, Vec<_>) = fit.into_iter().partition(|n| n.hosts_endpoints);
    chosen.truncate(max);
    let mut zones: BTreeMap<Option<String>, std::collections::VecDeque<ChosenNode>> =
        BTreeMap::new();
    for n in rest {
        zones.entry(n.zone.clone()).or_default().push_back(n);
    }
    let mut left = zones.values().map(|z| z.len()).sum::<usize>();
    while chosen.len() < max && left > 0 {
        for zone in zones.values_mut() {
            if chosen.len() >= max {
                break;
            }
            if let Some(n) = zone.pop_front() {
                chosen.push(n);
                left -= 1;
            }
        }
    }
    selection.left_out = left;
    selection.chosen = chosen;
    selection
}

/// What one node's probe pod saw (or why it did not run), with the node agents read when it met
/// a fault.
#[derive(Debug, Clone)]
pub struct NodeProbe {
    pub node: ChosenNode,
    pub result: Fact<ProbeResults>,
    /// The node's network agents (service proxy, CNI, node-local DNS) — read only for a node whose
    /// probe saw something fail.
    pub agents: Fact<Vec<Pod>>,
}

/// Per-node probing's facts.
#[derive(Debug, Clone, Default)]
pub struct PerNode {
    pub selection: Selection,
    pub probes: Vec<NodeProbe>,
}

impl PerNode {
    /// How the nodes were chosen, in words: "3 nodes", "20 of 5,000 nodes matched: the 4 hosting
    /// endpoints and a sample per zone (--max-nodes 20)".
    pub fn scope(&self) -> String {
        let s = &self.selection;
        let probed = s.chosen.len();
        let mut line = if s.left_out == 0 {
            crate::text::plural(probed, "node")
        } else {
            let hosting = s.chosen.iter().filter(|n| n.hosts_endpoints).count();
            format!(
                "{probed} of {} nodes: the {hosting} hosting endpoints and a sample per zone (--max-nodes {probed})",
                crate::text::thousands(probed + s.left_out)
            )
        };
        if !s.skipped.is_empty() {
            line.push_str(&format!("; {} not probed", s.skipped.len()));
        }
        line
    }
}

/// The kinds of node agent a fault on a node points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgentKind {
    /// kube-proxy or a CNI that replaces it: ClusterIP and NodePort faults.
    ServiceProxy,
    /// The CNI's node agent: pod IPs unreachable from the node.
    Cni,
    /// NodeLocal DNSCache: DNS faults on one node.
    NodeDns,
}

impl AgentKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            AgentKind::ServiceProxy => "service proxy",
            AgentKind::Cni => "CNI agent",
            AgentKind::NodeDns => "node-local DNS cache",
        }
    }
}

/// The agent kinds a node pod is, by the names the common distributions give their DaemonSets
/// (the pod's owner name, else its name without the generated suffix). Cilium, kube-router and
/// Antrea replace kube-proxy in some clusters: they count as both.
pub(crate) fn agent_kinds(pod: &Pod) -> Vec<AgentKind> {
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "DaemonSet")
        .map(|o| o.name.as_str());
    let name = owner.unwrap_or_else(|| k8s::name_of(&pod.metadata));
    let has = |words: &[&str]| words.iter().any(|w| name.starts_with(w));
    let mut kinds = Vec::new();
    if has(&["kube-proxy", "cilium", "kube-router", "antrea-agent"]) {
        kinds.push(AgentKind::ServiceProxy);
    }
    if has(&[
        "calico-node",
        "cilium",
        "kube-flannel",
        "flannel",
        "canal",
        "weave-net",
        "kube-router",
        "antrea-agent",
        "aws-node",
        "kindnet",
        "ovnkube-node",
        "azure-cns",
        "azure-cni",
    ]) {
        kinds.push(AgentKind::Cni);
    }
    if has(&["node-local-dns", "nodelocaldns"]) {
        kinds.push(AgentKind::NodeDns);
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, zone: Option<&str>, extra: &str) -> Node {
        let zone = zone
            .map(|z| format!("{ZONE_LABEL}: {z}"))
            .unwrap_or_default();
        serde_saphyr::from_str(&format!(
            "metadata: {{name: {name}, labels: {{kubernetes.io/os: linux, {zone}}}}}\n\
             status: {{conditions: [{{type: Ready, status: 'True'}}]}}\n{extra}"
        ))
        .expect("node")
    }

    fn names(s: &Selection) -> Vec<&str> {
        s.chosen.iter().map(|n| n.name.as_str()).collect()
    }

    #[test]
    fn every_fit_node_under_the_cap() {
        let nodes = [
            node("b", None, ""),
            node("a", None, ""),
            node(
                "t",
                None,
                "spec: {taints: [{key: dedicated, value: gpu, effect: NoSchedule}]}",
            ),
            node(
                "p",
                None,
                "spec: {taints: [{key: x, effect: PreferNoSchedule}]}",
            ),
        ];
        let choice = Choice {
            max_nodes: 20,
            tolerate_taints: false,
        };
        let s = select(&nodes, &[], choice);
        // PreferNoSchedule only prefers: a pinned pod runs there.
        assert_eq!(names(&s), ["a", "b", "p"]);
        assert_eq!(
            s.skipped,
            [(
                "t".to_string(),
                "tainted dedicated=gpu:NoSchedule (--tolerate-taints probes it too)".to_string()
            )]
        );
        let s = select(
            &nodes,
            &[],
            Choice {
                tolerate_taints: true,
                ..choice
            },
        );
        assert_eq!(names(&s), ["a", "b", "p", "t"]);
    }

    #[test]
    fn not_ready_and_windows_nodes_are_skipped_with_the_reason() {
        let mut down = node("down", None, "");
        down.status = serde_saphyr::from_str("conditions: [{type: Ready, status: Unknown}]").ok();
        let mut win = node("win", None, "");
        win.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("kubernetes.io/os".into(), "windows".into());
        let s = select(
            &[down, win, node("a", None, "")],
            &[],
            Choice {
                max_nodes: 20,
                tolerate_taints: true,
            },
        );
        assert_eq!(names(&s), ["a"]);
        assert_eq!(s.skipped.len(), 2);
        assert!(s.skipped[0].1.starts_with("not Ready (Ready=Unknown)"));
        assert!(s.skipped[1].1.contains("windows"));
    }

    #[test]
    fn over_the_cap_endpoint_nodes_first_then_one_per_zone_in_turn() {
        let mut nodes = Vec::new();
        for (zone, count) in [("z1", 5), ("z2", 3), ("z3", 1)] {
            for i in 0..count {
                nodes.push(node(&format!("{zone}-n{i}"), Some(zone), ""));
            }
        }
        let hosting = vec!["z1-n3".to_string(), "z1-n4".to_string()];
        let s = select(
            &nodes,
            &hosting,
            Choice {
                max_nodes: 6,
                tolerate_taints: false,
            },
        );
        // Both endpoint nodes, then z1, z2, z3 in turn, then z1 again.
        assert_eq!(
            names(&s),
            ["z1-n3", "z1-n4", "z1-n0", "z2-n0", "z3-n0", "z1-n1"]
        );
        assert_eq!(s.left_out, 3);
        let per = PerNode {
            selection: s,
            probes: Vec::new(),
        };
        assert_eq!(
            per.scope(),
            "6 of 9 nodes: the 2 hosting endpoints and a sample per zone (--max-nodes 6)"
        );
    }

    #[test]
    fn agents_by_their_daemonset() {
        let pod = |name: &str, owner: Option<&str>| -> Pod {
            let owner = owner
                .map(|o| format!(", ownerReferences: [{{apiVersion: apps/v1, kind: DaemonSet, name: {o}, uid: u}}]"))
                .unwrap_or_default();
            serde_saphyr::from_str(&format!("metadata: {{name: {name}{owner}}}")).unwrap()
        };
        assert_eq!(
            agent_kinds(&pod("kube-proxy-7x2bq", Some("kube-proxy"))),
            [AgentKind::ServiceProxy]
        );
        assert_eq!(
            agent_kinds(&pod("cilium-abcde", Some("cilium"))),
            [AgentKind::ServiceProxy, AgentKind::Cni]
        );
        assert_eq!(
            agent_kinds(&pod("node-local-dns-q", None)),
            [AgentKind::NodeDns]
        );
        // A DaemonSet's owner name decides, not a pod name that happens to start alike.
        assert!(agent_kinds(&pod("kube-proxy-lookalike", Some("logs"))).is_empty());
    }
}
