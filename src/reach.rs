//! `reach [-n NS | -A] [-f PATH]`: who can talk to whom. Every allowed workload → workload
//! connection with its protocols and port ranges, from the same policy engine as `netpol.allows`,
//! plus each workload's exposure as its policies state it (other namespaces by selector, addresses
//! outside the cluster by ipBlock). Pairs not listed are denied.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::k8s;
use crate::netpol::{Direction, Namespaces, Party, PodInfo, PolicySet};
use crate::state::{Fact, SourceKind};

pub use crate::state::ReachInput;

/// Pods the policies cannot tell apart, judged once: the same namespace, labels, declared ports
/// and hostNetwork, and — only where they can change a decision — the same node (when a
/// hostNetwork pod is in scope: own-node traffic) and the same side of every ipBlock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct ClassKey {
    namespace: String,
    /// The labels policies read: the value when a selector names it, `None` for "present".
    labels: Vec<(String, Option<String>)>,
    ports: Vec<(String, u16, String)>,
    host_network: bool,
    node: Option<String>,
    /// Per ipBlock of the policies: 0 outside, 1 inside, 2 address unknown.
    ip_blocks: Vec<u8>,
}

/// A workload (kind in lower case, namespace, name).
type WorkloadId = (String, String, String);
/// A pod of a class: its workload and its name.
type Member = (WorkloadId, String);

/// One row's subject: a class of pods, named after what people know them by.
struct Class {
    /// Its index among the groups: what JSON rows reference.
    id: usize,
    name: String,
    rep: PodInfo,
    pods: usize,
    /// Its pods, each with its workload.
    members: Vec<Member>,
    /// The node when the grouping set its pods apart by node (hostNetwork pods).
    node: Option<String>,
}

/// A group as JSON describes it: what a program follows instead of parsing the display name.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Group {
    pub(crate) id: usize,
    /// The name the table shows (`deployment/shop/web [on node n1] #2`).
    pub(crate) display: String,
    pub(crate) namespace: String,
    /// The workloads its pods belong to (kind lowercase, as kubectl names them: deployment).
    pub(crate) workloads: Vec<WorkloadRef>,
    pub(crate) pods: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) node: Option<String>,
}

/// A workload of a group.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WorkloadRef {
    pub(crate) kind: String,
    pub(crate) name: String,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub(crate) from: String,
    pub(crate) to: String,
    /// The groups (ids in the document's `groups`) the row is between; a rule's peer (a
    /// selector or an address) is no group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from_group: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to_group: Option<usize>,
    /// "workload" (pods of these two groups) or "rule" (a policy's own peer, by selector or
    /// address).
    pub(crate) kind: &'static str,
    pub(crate) ports: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) undecided: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) note: String,
}

/// What is known before the first row: for headers and column widths.
pub struct Head {
    pub(crate) source: SourceKind,
    pub(crate) scope: String,
    /// Groups of pods the rows name (a workload, or the part of one that decisions set apart).
    pub(crate) groups: Vec<Group>,
    pub(crate) workloads: usize,
    /// The longest group name, for aligned columns.
    pub(crate) name_width: usize,
}

/// Where rows go as they are decided: nothing holds the whole table.
pub trait Sink {
    fn begin(&mut self, head: &Head) -> std::io::Result<()>;
    fn connection(&mut self, c: &Connection) -> std::io::Result<()>;
    fn end(&mut self, notes: &[String]) -> std::io::Result<()>;
}

/// What one run found, for the benchmark and the exit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub groups: usize,
    pub workloads: usize,
    /// Rows between groups of pods.
    pub pairs: usize,
    /// Exposure rows (policies' own peers).
    pub rules: usize,
    /// Source groups whose rows are missing: the work budget ran out ([`RULE_BUDGET`]).
    pub undecided_sources: usize,
    /// The exit code of the signal that stopped the rows (SIGINT 130, SIGTERM 143, SIGHUP 129).
    pub interrupted: Option<u8>,
}

/// How many rule checks `reach` spends deciding pairs of groups before it stops and says so:
/// a few seconds of work. 600 groups under one policy of 5,000 rules would otherwise take
/// minutes (1.8 billion rule checks) before the last row.
pub(crate) const RULE_BUDGET: usize = 50_000_000;

/// A sink that only counts (the benchmark's).
#[derive(Default)]
pub struct Discard;

impl Sink for Discard {
    fn begin(&mut self, _: &Head) -> std::io::Result<()> {
        Ok(())
    }
    fn connection(&mut self, _: &Connection) -> std::io::Result<()> {
        Ok(())
    }
    fn end(&mut self, _: &[String]) -> std::io::Result<()> {
        Ok(())
    }
}

/// Groups the pods in scope into classes, named by workload.
fn classes(pods: &[Pod], set: &PolicySet) -> (Vec<Class>, usize) {
    let live: Vec<&Pod> = pods
        .iter()
        .filter(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .collect();
    let infos: Vec<PodInfo> = live.iter().map(|p| PodInfo::from_pod(p)).collect();
    let any_host = infos.iter().any(|p| p.host_network);
    let blocks = set.ip_blocks();
    // Only what some policy's selector reads tells pods apart: a label no selector names (a
    // per-pod id, pod-template-hash) would otherwise make each pod a class of its own.
    let read = set.pod_labels_read();
    let key = |p: &PodInfo| ClassKey {
        namespace: p.namespace.clone(),
        labels: p
            .labels
            .iter()
            .filter_map(|(k, v)| {
                let named = read.get(k)?;
                Some((k.clone(), named.contains(v).then(|| v.clone())))
            })
            .collect(),
        ports: p
            .ports
            .iter()
            .map(|(n, num, proto)| (n.clone(), *num, proto.to_string()))
            .collect(),
        host_network: p.host_network,
        node: (any_host && (p.host_network || set.isolates(p, Direction::Ingress)))
            .then(|| p.node.clone())
            .flatten(),
        ip_blocks: blocks
            .iter()
            .map(|(cidr, except)| match p.ip {
                None => 2,
                Some(ip) => u8::from(cidr.contains(&ip) && !except.iter().any(|e| e.contains(&ip))),
            })
            .collect(),
    };
    // workload (kind, ns, name) → pods; class → (its pods' workloads and names).
    let mut totals: HashMap<WorkloadId, usize> = HashMap::new();
    let mut by_key: BTreeMap<ClassKey, (PodInfo, Vec<Member>)> = BTreeMap::new();
    for (pod, info) in live.iter().zip(infos) {
        let (kind, name) = k8s::workload_of(pod)
            .unwrap_or_else(|| ("Pod".into(), k8s::name_of(&pod.metadata).to_string()));
        let w = (kind.to_lowercase(), info.namespace.clone(), name);
        *totals.entry(w.clone()).or_default() += 1;
        let pod_name = info.name.clone();
        by_key
            .entry(key(&info))
            .or_insert_with(|| (info, Vec::new()))
            .1
            .push((w, pod_name));
    }
    let workloads = totals.len();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Class> = by_key
        .into_iter()
        .enumerate()
        .map(|(id, (key, (rep, members)))| Class {
            id,
            name: class_name(&key, &members, &totals),
            rep,
            pods: members.len(),
            node: key.node.clone(),
            members,
        })
        .collect();
    // Names stay unique whatever the grouping produced.
    for c in &mut out {
        let n = names.entry(c.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            c.name = format!("{} #{n}", c.name);
        }
    }
    (out, workloads)
}

/// A class as JSON describes it.
fn describe(c: &Class) -> Group {
    let mut workloads: Vec<WorkloadRef> = c
        .members
        .iter()
        .map(|((kind, _, name), _)| WorkloadRef {
            kind: kind.clone(),
            name: name.clone(),
        })
        .collect();
    workloads.sort();
    workloads.dedup();
    Group {
        id: c.id,
        display: c.name.clone(),
        namespace: c.rep.namespace.clone(),
        workloads,
        pods: c.members.iter().map(|(_, p)| p.clone()).collect(),
        node: c.node.clone(),
    }
}

/// A class's name: its workload when it is all of it; the workload with the part of it (a node, some
/// pods) when it is not; the labels and some pods when several workloads share it.
fn class_name(key: &ClassKey, members: &[Member], totals: &HashMap<WorkloadId, usize>) -> String {
    let first = &members[0].0;
    let one_workload = members.iter().all(|(w, _)| w == first);
    let id = format!("{}/{}/{}", first.0, first.1, first.2);
    if one_workload && totals[first] == members.len() {
        id
    } else if one_workload {
        let part = match &key.node {
            Some(n) => format!("on node {n}"),
            None => pod_list(members),
        };
        format!("{id} [{part}]")
    } else {
        // The labels that set the class apart: `app=web`, or `tier` when any value of it does.
        let labels: Vec<String> = key
            .labels
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect();
        format!(
            "pods/{}/{{{}}} [{}]",
            key.namespace,
            labels.join(","),
            pod_list(members)
        )
    }
}

/// "pods a, b, c" or "12 pods: a, b, c, …".
fn pod_list(members: &[Member]) -> String {
    let names: Vec<&str> = members.iter().take(3).map(|(_, p)| p.as_str()).collect();
    if members.len() <= 3 {
        format!("pods {}", names.join(", "))
    } else {
        format!("{} pods: {}, …", members.len(), names.join(", "))
    }
}

/// Every connection in scope, written to `sink` as it is decided; public for the benchmark.
pub fn analyse(
    input: &ReachInput,
    all_namespaces: bool,
    scope: &str,
    sink: &mut dyn Sink,
) -> Result<Counts> {
    let mut notes = Vec::new();
    let tiers = match &input.tier_policies {
        Fact::Known(t) => t.as_slice(),
        Fact::Unavailable(u) => {
            notes.push(format!(
                "warning: the cluster-wide policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) could not be read ({}): the rows are NetworkPolicy's alone",
                u.reason()
            ));
            &[]
        }
    };
    let set = PolicySet::compile(&input.policies)
        .and_then(|s| s.with_tiers(tiers))
        .map_err(|e| Error::Manifest(e.to_string()))?;
    let nss = namespaces(input, &mut notes);
    let (groups, workloads) = classes(&input.pods, &set);
    if groups.is_empty() {
        notes.push("no pods or workloads in scope".into());
    }
    let infos: Vec<PodInfo> = input.pods.iter().map(PodInfo::from_pod).collect();
    notes.extend(
        set.lint(&infos, &nss, all_namespaces)
            .into_iter()
            .map(|(_, _, _, l)| format!("warning: {l}")),
    );
    drop(infos);
    let mut counts = Counts {
        groups: groups.len(),
        workloads,
        ..Counts::default()
    };
    sink.begin(&Head {
        source: input.source,
        scope: scope.to_string(),
        groups: groups.iter().map(describe).collect(),
        workloads,
        name_width: groups
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(4),
    })?;
    // Rows in a stable order: by source name, then destination name.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| groups[a].name.cmp(&groups[b].name));
    let budget = std::env::var("NETDOCTOR_REACH_RULE_BUDGET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RULE_BUDGET);
    let Decided { written, undecided } = pairs(&set, &nss, &groups, &order, budget, sink)?;
    counts.pairs = written;
    if undecided > 0 && stop().is_none() {
        counts.undecided_sources = undecided;
        notes.push(format!(
            "incomplete: the rows from {} of {} source groups are missing: deciding every pair of groups against {} rule(s) takes more than {} rule checks; ask about one pair with `kubectl netdoctor path --from … --to …`, or narrow the scope with -n",
            crate::text::thousands(undecided),
            crate::text::thousands(groups.len()),
            crate::text::thousands(set.rules_total()),
            crate::text::thousands(budget),
        ));
    }
    if stop().is_none() {
        counts.rules = exposures(&set, &nss, &groups, &order, sink)?;
    }
    // A signal ends the rows, not the document: it closes with a note saying so.
    if let Some(signal) = stop() {
        counts.interrupted = Some(signal.exit_code());
        notes.push(format!(
            "incomplete: interrupted by {}: the rows end here",
            signal.name()
        ));
    }
    sink.end(&notes)?;
    Ok(counts)
}

/// The namespaces' labels as the policies see them: complete live, partial from manifests or
/// when they could not be read (said in `notes`).
fn namespaces(input: &ReachInput, notes: &mut Vec<String>) -> Namespaces {
    match &input.namespaces {
        Fact::Known(list) => Namespaces::of(list, input.source == SourceKind::Live),
        Fact::Unavailable(u) => {
            notes.push(format!("namespace labels unknown ({}): namespaceSelectors on other labels answer \"unknown\"", u.reason()));
            Namespaces::partial(Default::default())
        }
    }
}

/// What [`pairs`] did: rows written, and the source groups left out when the budget ran out
/// or a signal came.
struct Decided {
    written: usize,
    undecided: usize,
}

/// A signal received since the run began: the rows stop at the next one.
fn stop() -> Option<crate::interrupt::Signal> {
    crate::interrupt::received()
}

/// Every pair of groups that can talk, source by source in `order`, until deciding them has cost
/// `budget` rule checks (a pair costs the rules of its two namespaces).
fn pairs(
    set: &PolicySet,
    nss: &Namespaces,
    groups: &[Class],
    order: &[usize],
    budget: usize,
    sink: &mut dyn Sink,
) -> Result<Decided> {
    let reps: Vec<PodInfo> = groups.iter().map(|c| c.rep.clone()).collect();
    let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, c) in groups.iter().enumerate() {
        by_namespace
            .entry(c.rep.namespace.clone())
            .or_default()
            .push(i);
    }
    let mut rank = vec![0; groups.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    // Per destination, the sources its ingress rules could admit at all (`None`: any): pairs
    // outside are denied at ingress whatever else holds, so they are never decided one by one.
    let mut seen = crate::netpol::PeerMatches::default();
    let admissible: Vec<Option<Vec<usize>>> = groups
        .iter()
        .map(|dst| set.possible_sources(nss, &dst.rep, &reps, &by_namespace, &mut seen))
        .collect();
    let mut rules_in: HashMap<&str, usize> = HashMap::new();
    for c in groups {
        let ns = c.rep.namespace.as_str();
        rules_in.entry(ns).or_insert_with(|| set.rules_in(ns));
    }
    let mut spent = 0usize;
    let mut written = 0;
    for (n, &i) in order.iter().enumerate() {
        if spent > budget || stop().is_some() {
            return Ok(Decided {
                written,
                undecided: order.len() - n,
            });
        }
        let src = Party::Pod(groups[i].rep.clone());
        let src_rules = rules_in[groups[i].rep.namespace.as_str()];
        let mut row: Vec<(usize, Connection)> = Vec::new();
        for (j, dst) in groups.iter().enumerate() {
            // Pods of one group talk to each other: judged against a twin, never loopback. A
            // lone bare pod has no sibling to reach.
            if i == j && dst.pods == 1 && dst.name.starts_with("pod/") {
                continue;
            }
            if i != j
                && admissible[j]
                    .as_ref()
                    .is_some_and(|s| s.binary_search(&i).is_err())
            {
                continue;
            }
            spent += 1 + src_rules + rules_in[dst.rep.namespace.as_str()];
            if j % 64 == 0 && stop().is_some() {
                return Ok(Decided {
                    written,
                    undecided: order.len() - n,
                });
            }
            if let Some(c) = connection(set, nss, &src, &groups[i], dst, i == j) {
                row.push((rank[j], c));
            }
        }
        row.sort_by_key(|(r, _)| *r);
        for (_, c) in row {
            written += 1;
            sink.connection(&c)?;
        }
    }
    Ok(Decided {
        written,
        undecided: 0,
    })
}

/// What `src` may reach of `dst` (a twin of it when they are one group), if anything.
fn connection(
    set: &PolicySet,
    nss: &Namespaces,
    src: &Party,
    from: &Class,
    dst: &Class,
    same: bool,
) -> Option<Connection> {
    let dst_party = if same {
        Party::Pod(PodInfo {
            name: format!("{}~peer", dst.rep.name),
            ..dst.rep.clone()
        })
    } else {
        Party::Pod(dst.rep.clone())
    };
    let r = set.allowed_ports(nss, src, &dst_party);
    if r.allowed.is_empty() && r.undecided.is_empty() {
        return None;
    }
    Some(Connection {
        from: from.name.clone(),
        to: dst.name.clone(),
        from_group: Some(from.id),
        to_group: Some(dst.id),
        kind: "workload",
        ports: r.allowed.to_string(),
        undecided: if r.undecided.is_empty() {
            String::new()
        } else {
            r.undecided.to_string()
        },
        note: {
            let mut note = r.reasons;
            if !r.cluster.is_empty() {
                note.push(format!("decided with {}", r.cluster.join(", ")));
            }
            note.join("; ")
        },
    })
}

/// What each group's policies open to the outside (ipBlocks, any namespace): how many rules.
fn exposures(
    set: &PolicySet,
    nss: &Namespaces,
    groups: &[Class],
    order: &[usize],
    sink: &mut dyn Sink,
) -> Result<usize> {
    let mut written = 0;
    for &i in order {
        if stop().is_some() {
            break;
        }
        let c = &groups[i];
        for (dir, (who, ports)) in set
            .exposure(nss, Direction::Ingress, &c.rep)
            .into_iter()
            .map(|x| (Direction::Ingress, x))
            .chain(
                set.exposure(nss, Direction::Egress, &c.rep)
                    .into_iter()
                    .map(|x| (Direction::Egress, x)),
            )
        {
            let (from, to, from_group, to_group) = match dir {
                Direction::Ingress => (who, c.name.clone(), None, Some(c.id)),
                Direction::Egress => (c.name.clone(), who, Some(c.id), None),
            };
            written += 1;
            sink.connection(&Connection {
                from,
                to,
                from_group,
                to_group,
                kind: "rule",
                ports: ports.to_string(),
                undecided: String::new(),
                note: String::new(),
            })?;
        }
    }
    Ok(written)
}
