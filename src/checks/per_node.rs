//! The probe's checks over per-node probes (`--all-nodes`, `--nodes`): each node's probe is judged
//! as one probe is, then the verdicts are put side by side. A check that fails from some nodes and
//! passes from others names the nodes and what on them to look at — the CNI agent when the pod
//! IPs fail (`pods.listening`), the service proxy when the ClusterIP or a NodePort does
//! (`service.clusterip`), NodeLocal DNSCache or the node's path to the DNS pods when names do not
//! resolve (`dns.resolves`) — with those agents' pods as read on the node.

use crate::report::{Evidence, NodeRow, Outcome, SkipKind, Status};
use crate::state::ClusterState;
use crate::state::per_node::{AgentKind, NodeProbe, PerNode, agent_kinds};
use crate::text;

/// Each node's state as a probe from it sees it: the state with that node's probe.
pub(super) fn node_states(state: &ClusterState, per: &PerNode) -> Vec<ClusterState> {
    per.probes
        .iter()
        .map(|p| {
            let mut s = state.clone();
            s.per_node = None;
            s.probe = p.result.clone();
            s
        })
        .collect()
}

/// What on a node a check's failure there points at.
fn suspect(check: &str) -> Option<(AgentKind, &'static str)> {
    match check {
        "pods.listening" => Some((
            AgentKind::Cni,
            "the pod network from there (the CNI agent on the node, its routes or tunnels)",
        )),
        "service.clusterip" => Some((
            AgentKind::ServiceProxy,
            "the service proxy there (kube-proxy, or the CNI's replacement for it)",
        )),
        "dns.resolves" => Some((
            AgentKind::NodeDns,
            "DNS as seen from there (NodeLocal DNSCache, or the node's path to the DNS pods)",
        )),
        _ => None,
    }
}

/// One check over every node's probe.
pub(super) fn judge(
    check: &str,
    run: fn(&ClusterState) -> Outcome,
    per: &PerNode,
    states: &[ClusterState],
) -> Outcome {
    let mut judged: Vec<(&NodeProbe, Outcome)> = Vec::new();
    let mut not_probed: Vec<(&NodeProbe, String)> = Vec::new();
    for (probe, state) in per.probes.iter().zip(states) {
        match probe.result.as_result() {
            Ok(_) => judged.push((probe, run(state))),
            Err(u) => not_probed.push((probe, u.reason())),
        }
    }
    let unprobed: Vec<Evidence> = not_probed
        .iter()
        .map(|(p, why)| {
            Evidence::new(
                "NodeNotProbed",
                format!("not probed from node {}: {why}", p.node.name),
            )
            .field("node", p.node.name.clone())
        })
        .collect();
    if judged.is_empty() {
        let whys: Vec<String> = not_probed
            .iter()
            .map(|(p, why)| format!("{}: {why}", p.node.name))
            .collect();
        let kind = match per.probes.first().map(|p| &p.result) {
            Some(crate::state::Fact::Unavailable(u)) => super::unavailable(u)
                .skip
                .map_or(SkipKind::Unavailable, |(k, _)| k),
            _ => SkipKind::Unavailable,
        };
        return Outcome::skip(kind, format!("no node's probe ran ({})", whys.join("; ")));
    }
    // Not applicable anywhere (a headless Service's ClusterIP): as one probe says it.
    if judged.iter().all(|(_, o)| o.status == Status::Skip) {
        return judged.swap_remove(0).1;
    }
    let names = |v: &[&(&NodeProbe, Outcome)]| -> Vec<String> {
        v.iter().map(|(p, _)| p.node.name.clone()).collect()
    };
    let (bad, good): (Vec<_>, Vec<_>) = judged
        .iter()
        .filter(|(_, o)| o.status != Status::Skip)
        .partition(|(_, o)| matches!(o.status, Status::Fail | Status::Warn | Status::Error));
    let probed_word = if unprobed.is_empty() {
        format!("every node probed ({})", judged.len())
    } else {
        format!("{} of {} nodes", judged.len(), per.probes.len())
    };
    if bad.is_empty() {
        let (_, first) = good[0];
        let mut outcome = Outcome::pass(format!("from {probed_word}: {}", first.summary));
        outcome.evidence = unprobed;
        return outcome;
    }
    let (first_node, first) = bad[0];
    let worst = bad
        .iter()
        .map(|(_, o)| o.status)
        .max()
        .unwrap_or(Status::Fail);
    let bad_names = names(&bad);
    let good_names = names(&good);
    let mut evidence = Vec::new();
    for (p, o) in bad.iter().chain(&good) {
        evidence.push(
            Evidence::new(
                "NodeVerdict",
                format!("from node {}: {}", p.node.name, o.summary),
            )
            .field("node", p.node.name.clone())
            .field("status", o.status.as_str())
            .field("summary", o.summary.clone()),
        );
    }
    let mut fix = first.fix.clone();
    let summary = if good.is_empty() {
        format!("from {probed_word}: {}", first.summary)
    } else {
        let hint = suspect(check).map_or("", |(_, h)| h);
        let agents = suspect(check).map(|(kind, _)| kind);
        for (p, _) in &bad {
            evidence.extend(agent_evidence(p, agents));
        }
        // The node's pods, unless the check's own fix already lists them. Only the command after
        // the colon is pasted: the words before it stay prose (the renderer adds the run's
        // connection flags to it).
        let on_node = format!("spec.nodeName={}", text::shell_quote(&first_node.node.name));
        if !fix.iter().any(|f| f.contains(&on_node)) {
            fix.push(format!(
                "look at the network agents on node {} (readiness, restarts, logs): kubectl get pods -A -o wide --field-selector {on_node}",
                first_node.node.name,
            ));
        }
        format!(
            "fails from node {} but not from {}: {hint} — from {}: {}",
            text::some_of(&bad_names, ", "),
            text::some_of(&good_names, ", "),
            first_node.node.name,
            first.summary
        )
    };
    evidence.extend(first.evidence.iter().cloned());
    evidence.extend(unprobed);
    let mut outcome = match worst {
        Status::Warn => Outcome::warn(summary),
        _ => Outcome::fail(summary),
    };
    outcome.status = worst;
    outcome.code = first.code;
    outcome.root_cause = first.root_cause;
    outcome.at = first.at.clone();
    fix.dedup();
    outcome.evidence(evidence).fix(fix)
}

/// The node's agents of the kind a fault points at, as read on the node: their pods' readiness
/// and restarts, or that none runs there as a pod.
fn agent_evidence(probe: &NodeProbe, kind: Option<AgentKind>) -> Vec<Evidence> {
    let node = &probe.node.name;
    let Some(kind) = kind else {
        return Vec::new();
    };
    let pods = match probe.agents.as_result() {
        Ok(pods) => pods,
        Err(u) => {
            return vec![Evidence::new(
                "NodeAgent",
                format!(
                    "the pods on node {node} could not be read ({}): its {} is not shown",
                    u.reason(),
                    kind.describe()
                ),
            )];
        }
    };
    let of_kind: Vec<&k8s_openapi::api::core::v1::Pod> = pods
        .iter()
        .filter(|p| agent_kinds(p).contains(&kind))
        .collect();
    if of_kind.is_empty() {
        let outside = match kind {
            AgentKind::ServiceProxy => {
                "kube-proxy may run outside Kubernetes there (a systemd unit: journalctl -u kube-proxy on the node)"
            }
            AgentKind::Cni => "the CNI may run outside Kubernetes there (look on the node)",
            AgentKind::NodeDns => {
                "without NodeLocal DNSCache the node's pods ask the DNS Service through its service proxy"
            }
        };
        return vec![
            Evidence::new(
                "NodeAgent",
                format!("no {} pod runs on node {node}: {outside}", kind.describe()),
            )
            .field("node", node.clone()),
        ];
    }
    of_kind
        .into_iter()
        .map(|pod| {
            let name = format!(
                "{}/{}",
                pod.metadata.namespace.as_deref().unwrap_or(""),
                crate::k8s::name_of(&pod.metadata)
            );
            let status = pod.status.clone().unwrap_or_default();
            let phase = status.phase.unwrap_or_else(|| "Unknown".into());
            let ready = status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let restarts: i32 = status
                .container_statuses
                .iter()
                .flatten()
                .map(|c| c.restart_count)
                .sum();
            Evidence::new(
                "NodeAgent",
                format!(
                    "{} on node {node}: {name} {phase}, {}, {}",
                    kind.describe(),
                    if ready { "ready" } else { "not ready" },
                    text::plural(restarts.max(0) as usize, "restart")
                ),
            )
            .field("node", node.clone())
            .field("pod", name)
            .field("phase", phase)
            .field("ready", ready.to_string())
            .field("restarts", restarts.to_string())
        })
        .collect()
}

/// The node × path table: each node's probe, path by path, in a word or two.
pub(super) fn table(per: &PerNode, states: &[ClusterState]) -> crate::report::NodeTable {
    use crate::report::{NodeTable, NotProbed};
    let rows = per
        .probes
        .iter()
        .zip(states)
        .map(|(p, state)| {
            let mut row = NodeRow {
                node: p.node.name.clone(),
                zone: p.node.zone.clone(),
                hosts_endpoints: p.node.hosts_endpoints,
                probe: String::new(),
                ok: false,
                pods: "-".into(),
                cluster_ip: "-".into(),
                node_ports: None,
                dns: "-".into(),
            };
            match p.result.as_result() {
                Ok(results) => {
                    row.probe = results.pod.clone();
                    paths(state, results, &mut row);
                }
                Err(u) => row.probe = format!("not probed: {}", u.reason()),
            }
            row
        })
        .collect();
    NodeTable {
        scope: per.scope(),
        rows,
        not_probed: per
            .selection
            .skipped
            .iter()
            .map(|(node, reason)| NotProbed {
                node: node.clone(),
                reason: reason.clone(),
            })
            .collect(),
    }
}

/// A path's verdicts in a word: "open" when all answered, else the tally ("4/6 open, 2 dropped").
fn tally(verdicts: &[crate::wire::Verdict], ok: impl Fn(crate::wire::Verdict) -> bool) -> String {
    use std::collections::BTreeMap;
    if verdicts.is_empty() {
        return "-".into();
    }
    let good = verdicts.iter().filter(|v| ok(**v)).count();
    let mut bad: BTreeMap<&str, usize> = BTreeMap::new();
    for v in verdicts.iter().filter(|v| !ok(**v)) {
        *bad.entry(v.as_str()).or_default() += 1;
    }
    if bad.is_empty() {
        return format!("{good}/{} ok", verdicts.len());
    }
    let rest: Vec<String> = bad.iter().map(|(v, n)| format!("{n} {v}")).collect();
    format!("{good}/{} ok, {}", verdicts.len(), rest.join(", "))
}

/// Fills a row's paths from one node's probe.
fn paths(state: &ClusterState, results: &crate::state::probe::ProbeResults, row: &mut NodeRow) {
    use crate::state::plan::{ProbePlan, Purpose};
    use crate::wire::Verdict;
    let plan = ProbePlan::as_run(state, results);
    let (mut pods, mut cluster_ip, mut node_ports, mut dns) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for t in &plan.targets {
        match &t.purpose {
            Purpose::Endpoint { .. } => {
                pods.extend(results.sockets_for(&t.arg).next().map(|r| r.verdict));
            }
            Purpose::ClusterIp { .. } => {
                cluster_ip.extend(results.sockets_for(&t.arg).map(|r| r.verdict));
            }
            Purpose::NodePort { .. } => {
                node_ports.extend(results.sockets_for(&t.arg).next().map(|r| r.verdict));
            }
            // The names as the pod's resolv.conf resolves them: what its clients see.
            Purpose::Dns { server: None, .. } => {
                dns.extend(results.lookups_for(&t.arg).map(|r| r.verdict));
            }
            Purpose::Dns { .. }
            | Purpose::Mtu { .. }
            | Purpose::LoadBalancer { .. }
            | Purpose::HealthCheck { .. } => {}
        }
    }
    let connected = |v: Verdict| matches!(v, Verdict::Open | Verdict::NoAnswer);
    row.pods = tally(&pods, connected);
    row.cluster_ip = tally(&cluster_ip, connected);
    if !node_ports.is_empty() {
        row.node_ports = Some(tally(&node_ports, connected));
    }
    row.dns = tally(&dns, |v| v == Verdict::Resolved);
    row.ok = !results.saw_fault();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::per_node::{ChosenNode, Selection};
    use crate::state::probe::{ProbeResults, Rung};
    use crate::state::{Fact, Unavailable};

    fn probe(node: &str, result: Fact<ProbeResults>) -> NodeProbe {
        NodeProbe {
            node: ChosenNode {
                name: node.into(),
                zone: None,
                hosts_endpoints: false,
            },
            result,
            agents: Fact::Known(Vec::new()),
        }
    }

    fn ran_on(node: &str) -> Fact<ProbeResults> {
        Fact::Known(ProbeResults {
            namespace: "shop".into(),
            pod: format!("probe-{node}"),
            node: Some(node.into()),
            rung: Rung::Privileged,
            notes: Vec::new(),
            records: Vec::new(),
            summary: None,
            labels: Default::default(),
            sockets: Default::default(),
        })
    }

    /// A check that fails from node-b only (as service.clusterip does where the proxy is down).
    fn fails_on_node_b(s: &ClusterState) -> Outcome {
        let node = s
            .probe
            .known()
            .and_then(|r| r.node.clone())
            .unwrap_or_default();
        if node == "node-b" {
            Outcome::fail("no service proxy rule on node node-b")
                .code("ND4102")
                .fix(["check the service proxy on node-b".to_string()])
        } else {
            Outcome::pass("10.96.0.20:80/TCP answered 4 of 4")
        }
    }

    #[test]
    fn a_check_failing_from_some_nodes_names_them_and_keeps_its_code() {
        let state = crate::fixtures::state("shop", "web", "");
        let per = PerNode {
            selection: Selection::default(),
            probes: vec![
                probe("node-a", ran_on("node-a")),
                probe("node-b", ran_on("node-b")),
                probe(
                    "node-c",
                    Fact::Unavailable(Unavailable::Stopped("the probe pod did not start".into())),
                ),
            ],
        };
        let states = node_states(&state, &per);
        let o = judge("service.clusterip", fails_on_node_b, &per, &states);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.code, Some("ND4102"));
        assert_eq!(
            o.summary,
            "fails from node node-b but not from node-a: the service proxy there (kube-proxy, or the CNI's replacement for it) — from node-b: no service proxy rule on node node-b"
        );
        let said: Vec<&str> = o.evidence.iter().map(|e| e.message.as_str()).collect();
        assert!(
            said.iter()
                .any(|m| m.starts_with("no service proxy pod runs on node node-b")),
            "{said:#?}"
        );
        assert!(
            said.contains(&"not probed from node node-c: the probe pod did not start"),
            "{said:#?}"
        );
        assert_eq!(o.fix[0], "check the service proxy on node-b");
        assert!(
            o.fix[1].ends_with("--field-selector spec.nodeName=node-b"),
            "{:?}",
            o.fix
        );
        // Passing everywhere it ran: said with how many nodes ran, not as every node.
        let o = judge(
            "service.clusterip",
            |_| Outcome::pass("answered"),
            &per,
            &states,
        );
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.summary, "from 2 of 3 nodes: answered");
        // No node's probe ran: a skip saying why, per node.
        let none = PerNode {
            selection: Selection::default(),
            probes: vec![probe(
                "node-c",
                Fact::Unavailable(Unavailable::Stopped("refused".into())),
            )],
        };
        let o = judge(
            "service.clusterip",
            fails_on_node_b,
            &none,
            &node_states(&state, &none),
        );
        assert_eq!(o.status, Status::Skip);
        assert_eq!(
            o.skip.map(|(_, why)| why).as_deref(),
            Some("no node's probe ran (node-c: refused)")
        );
    }
}
