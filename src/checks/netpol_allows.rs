//! `netpol.allows`: the NetworkPolicies that select the backend pods allow the client on each
//! targetPort, and the client's own egress policies allow the pods and its DNS path.
//!
//! With `--from`, the verdict is the engine's decision for that client, naming the deciding
//! policies and rules, with the smallest policy to add when it is denied. Without it, the check
//! summarises from the policies' own rules which sources may reach each port.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::unavailable;
use crate::cni::{self, Enforcement};
use crate::k8s;
use crate::netpol::{Namespaces, Party, PathDecision, PodInfo, PolicySet, Protocol, Verdict};
use crate::report::{Evidence, Outcome, SkipKind};
use crate::state::{Client, ClusterState, Fact, ObjectRef};

/// Labels that identify a pod revision, never a role: not copied into suggested selectors.
const REVISION_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/controller-uid",
    "controller-uid",
];

/// One backend pod (a representative of pods with the same labels) and one of its target ports.
pub(crate) struct Target {
    pub(crate) pod: PodInfo,
    /// How many matched pods share these labels.
    pub(crate) count: usize,
    pub(crate) port_label: String,
    /// The Service port that leads to `port` (None when a pod port was named directly).
    pub(crate) service_port: Option<i32>,
    pub(crate) port: u16,
    pub(crate) protocol: Protocol,
}

pub(super) fn run(state: &ClusterState) -> Outcome {
    let spec = match super::backed_spec(state, "no pods behind them") {
        Ok(spec) => spec,
        Err(skip) => return *skip,
    };
    let selector = spec.selector.clone().unwrap_or_default();
    if selector.is_empty() {
        return Outcome::skip(
            SkipKind::NotApplicable,
            "selector-less Service: its endpoints are not pods the policies select",
        );
    }
    let policies = match state.policies.as_result() {
        Ok(p) => p,
        Err(u) => return unavailable(u),
    };
    let set = match policy_set(state, policies) {
        Ok(s) => s,
        Err(e) => return invalid_policy(state, &e),
    };
    let pods = match state.pods.as_result() {
        Ok(p) => p,
        Err(u) => return unavailable(u),
    };
    if pods.is_empty() {
        return Outcome::skip(SkipKind::NotApplicable, "no backend pods (scaled to zero)");
    }
    let targets = targets(&spec, pods);
    if targets.is_empty() {
        return Outcome::skip(
            SkipKind::Dependency,
            "no backend pod resolves a target port (see ports.target)",
        );
    }
    let (mut enforced, mut notes) = enforcement(state);
    // Packets beat the DaemonSet heuristics: the probe got through where policy says no.
    if let Some(proof) = super::common::unenforced(state) {
        notes.push(Evidence::new(
            "Enforcement",
            format!("NetworkPolicy is not enforced here: {proof}"),
        ));
        enforced = Enforcement::NotEnforced(proof);
    }
    let outcome = match &state.client {
        None => summary(state, &set, &targets, &selector),
        Some(client) => with_client(state, &set, client, &targets, &selector),
    };
    let outcome = ingress_controllers(state, &set, &targets, &selector, outcome);
    let outcome = moot(outcome, &enforced);
    other_engines(outcome, &notes).evidence(notes)
}

/// The NetworkPolicies with the cluster-wide tiers around them (none when they could not be
/// read: `tiers_unread` says so).
pub(crate) fn policy_set(
    state: &ClusterState,
    policies: &[k8s_openapi::api::networking::v1::NetworkPolicy],
) -> Result<PolicySet, crate::netpol::InvalidPolicy> {
    let tiers = state.tier_policies.known().map_or(&[][..], Vec::as_slice);
    PolicySet::compile(policies)?.with_tiers(tiers)
}

/// Cluster-wide policies that could not be read: the verdict is NetworkPolicy's alone.
fn tiers_unread(state: &ClusterState) -> Option<Evidence> {
    match &state.tier_policies {
        Fact::Unavailable(crate::state::Unavailable::NotRequested(_)) | Fact::Known(_) => None,
        Fact::Unavailable(u) => Some(Evidence::new(
            "OtherPolicy",
            format!(
                "could not read the cluster-wide policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy): {}; they are not evaluated",
                u.reason()
            ),
        )),
    }
}

/// A policy the API server would refuse: what to look at.
fn invalid_policy(state: &ClusterState, e: &crate::netpol::InvalidPolicy) -> Outcome {
    // A cluster-wide policy is named "Kind name" (no namespace).
    if let Some((kind, name)) = e.policy.split_once(' ') {
        return Outcome::fail(e.to_string())
            .code("ND8001")
            .fix([if state.is_offline() {
                format!(
                    "fix {} (the API server would refuse it)",
                    state.edit_location(kind, "", name)
                )
            } else {
                format!(
                    "kubectl get {} {} -o yaml",
                    kind.to_lowercase(),
                    crate::text::shell_quote(name)
                )
            }]);
    }
    Outcome::fail(e.to_string())
        .code("ND8001")
        .fix([if state.is_offline() {
            format!(
                "fix {} (the API server would refuse it)",
                location(state, &e.policy)
            )
        } else {
            format!(
                "kubectl get networkpolicy -n {} -o yaml",
                crate::text::shell_quote(e.policy.split('/').next().unwrap_or(""))
            )
        }])
}

/// Another engine's policies exist here: an allow is only NetworkPolicy's half of the answer.
fn other_engines(outcome: Outcome, notes: &[Evidence]) -> Outcome {
    let others = notes
        .iter()
        .filter(|e| e.kind == "OtherPolicy" && e.message.ends_with("not evaluated"))
        .count();
    if outcome.status != crate::report::Status::Pass || others == 0 {
        return outcome;
    }
    let mut w = Outcome::warn(format!(
        "{} — NetworkPolicy only: {others} other-engine policies apply here and are not evaluated",
        outcome.summary,
    ))
    .code("ND8002");
    w.evidence = outcome.evidence;
    w.fix = outcome.fix;
    w
}

fn location(state: &ClusterState, policy: &str) -> String {
    let (ns, name) = policy.split_once('/').unwrap_or(("", policy));
    state.edit_location("NetworkPolicy", ns, name)
}

/// Backends grouped by their labels (policies select by labels), with every Service port's
/// resolved target port.
pub(crate) fn targets(spec: &k8s_openapi::api::core::v1::ServiceSpec, pods: &[Pod]) -> Vec<Target> {
    let mut groups: Vec<(BTreeMap<String, String>, &Pod, usize)> = Vec::new();
    for pod in pods {
        let labels = role_labels(&k8s::labels_of(pod));
        match groups.iter_mut().find(|(l, _, _)| *l == labels) {
            Some(g) => g.2 += 1,
            None => groups.push((labels, pod, 1)),
        }
    }
    let mut out = Vec::new();
    for (_, pod, count) in groups {
        let info = PodInfo::from_pod(pod);
        for sp in spec.ports.iter().flatten() {
            let Some(port) = k8s::find_port(pod, sp).and_then(|n| u16::try_from(n).ok()) else {
                continue;
            };
            let Ok(protocol) = Protocol::parse(sp.protocol.as_deref()) else {
                continue;
            };
            out.push(Target {
                pod: info.clone(),
                count,
                port_label: k8s::describe_service_port(sp),
                service_port: Some(sp.port),
                port,
                protocol,
            });
        }
    }
    out
}

/// Labels Kubernetes copies from the pod's node when it is bound (the PodTopologyLabels
/// admission plugin: `topology.kubernetes.io/zone`, `…/region`): where a pod runs, not what it
/// is — a policy selecting on them would admit the client only in that zone.
const PLACEMENT_PREFIX: &str = "topology.kubernetes.io/";

fn role_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| !REVISION_LABELS.contains(&k.as_str()) && !k.starts_with(PLACEMENT_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn who(t: &Target) -> String {
    if t.count > 1 {
        format!("{} pods like {}/{}", t.count, t.pod.namespace, t.pod.name)
    } else {
        format!("{}/{}", t.pod.namespace, t.pod.name)
    }
}

fn summary(
    state: &ClusterState,
    set: &PolicySet,
    targets: &[Target],
    selector: &BTreeMap<String, String>,
) -> Outcome {
    let mut lines = Vec::new();
    let mut evidence = Vec::new();
    let mut closed = Vec::new();
    let mut cluster_denies = false;
    let (nss, _) = namespaces(state);
    for t in targets {
        let s = set.ingress_sources(&t.pod, t.port, t.protocol);
        let port = format!("{}/{}", t.port, t.protocol);
        let line = if s.selecting.is_empty() {
            format!(
                "{}: no NetworkPolicy selects the pods, every source allowed",
                t.port_label
            )
        } else if s.open_to_all() {
            format!("{}: every source allowed on {port}", t.port_label)
        } else if s.allowed.is_empty() {
            closed.push(t);
            evidence.extend(every_selecting(&s.selecting, &port));
            format!(
                "{}: every source denied on {port} (selected by {})",
                t.port_label,
                crate::text::some_of(&s.selecting, ", ")
            )
        } else {
            let mut sources: Vec<String> =
                s.allowed.iter().flat_map(|(_, src)| src.clone()).collect();
            sources.dedup();
            format!(
                "{}: allowed from {}; denied: everything else",
                t.port_label,
                crate::text::some_of(&sources, "; ")
            )
        };
        // Cluster-wide rules come before NetworkPolicy: say which apply to this port.
        let rules: Vec<(crate::netpol::Action, String)> = set
            .cluster_rules(&nss, crate::netpol::Direction::Ingress, &t.pod)
            .into_iter()
            .filter(|(_, _, ports)| ports.contains(t.protocol, t.port))
            .map(|(action, who, _)| (action, who))
            .collect();
        cluster_denies |= rules.iter().any(|(a, _)| *a == crate::netpol::Action::Deny);
        let cluster: Vec<String> = rules.into_iter().map(|(_, who)| who).collect();
        let line = if cluster.is_empty() {
            line
        } else {
            for c in &cluster {
                evidence.push(
                    Evidence::new(
                        "ClusterPolicyRule",
                        format!("{c} (on {port} to {})", who(t)),
                    )
                    .field("port", port.clone()),
                );
            }
            format!(
                "NetworkPolicy: {line} — but cluster-wide rules decide first: {}",
                crate::text::some_of(&cluster, "; ")
            )
        };
        for (rule, sources) in &s.allowed {
            evidence.push(
                Evidence::new(
                    "PolicyRule",
                    format!(
                        "{rule} allows {port} to {} from {}",
                        who(t),
                        crate::text::some_of(sources, "; ")
                    ),
                )
                .on(policy_ref(&rule.policy))
                .field("policy", rule.policy.clone())
                .field("rule", rule.index.to_string())
                .field("port", port.clone())
                .field("from", sources.join("; ")),
            );
        }
        lines.push(line);
    }
    lines.dedup();
    let summary = lines.join("; ");
    if closed.is_empty() {
        let judge = format!(
            "judge one client: kubectl netdoctor svc {} -n {} --from pod/CLIENT",
            crate::text::shell_quote(&state.service_name),
            crate::text::shell_quote(&state.namespace)
        );
        // A cluster-wide Deny before NetworkPolicy: which sources really pass is a client's
        // question, not the policies' summary.
        if cluster_denies {
            return Outcome::warn(summary)
                .code("ND8016")
                .evidence(evidence)
                .fix([judge]);
        }
        return Outcome::pass(summary).evidence(evidence).fix([judge]);
    }
    let t = closed[0];
    // Without --from, the clients the policies themselves name are judged as --from would
    // judge them: a rule one field away from admitting them is the smallest fix, offered first,
    // and a new policy names them, not a placeholder.
    // A few: a policy of thousands of rules names thousands of clients, each a what-if over
    // every rule.
    let clients: Vec<PodInfo> = named_clients(state, t)
        .into_iter()
        .take(crate::text::MAX_NAMED)
        .collect();
    let mut summary = summary;
    let mut fix = Vec::new();
    for c in &clients {
        for (said, change) in near_misses(state, c, t) {
            summary.push_str(&format!("; {said}"));
            fix.push(change);
        }
    }
    let snippet = ingress_policy(state, selector, clients.first(), t);
    let what = match clients.first() {
        Some(c) => format!("or a new policy for {} (additive)", c.name),
        None => "a policy for the client (edit its labels), or name a client with --from".into(),
    };
    fix.push(apply(state, &what, &snippet));
    Outcome::fail(summary)
        .code("ND8003")
        .evidence(evidence)
        .fix(fix)
}

/// The clients the policies selecting `t`'s pod name by their labels alone (a `podSelector` of
/// `matchLabels`, no namespaceSelector: pods of the policy's namespace), each as a would-be pod.
fn named_clients(state: &ClusterState, t: &Target) -> Vec<PodInfo> {
    let Some(policies) = state.policies.known() else {
        return Vec::new();
    };
    let mut out: Vec<PodInfo> = Vec::new();
    for p in policies {
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let Some(spec) = &p.spec else { continue };
        let sel = spec.pod_selector.clone().unwrap_or_default();
        let selects = sel.match_expressions.is_none()
            && sel
                .match_labels
                .iter()
                .flatten()
                .all(|(k, v)| t.pod.labels.get(k) == Some(v));
        if ns != t.pod.namespace || !selects {
            continue;
        }
        let peers = spec
            .ingress
            .iter()
            .flatten()
            .flat_map(|r| r.from.iter().flatten());
        for peer in peers {
            let Some(sel) = &peer.pod_selector else {
                continue;
            };
            let labels = sel.match_labels.clone().unwrap_or_default();
            if peer.namespace_selector.is_some()
                || peer.ip_block.is_some()
                || sel.match_expressions.is_some()
                || labels.is_empty()
            {
                continue;
            }
            let name = format!("pods {}", crate::text::labels(&labels));
            if out.iter().any(|c| c.name == name) {
                continue;
            }
            out.push(PodInfo {
                namespace: ns.clone(),
                name,
                labels,
                ..PodInfo::default()
            });
        }
    }
    out
}

/// The ingress controllers and Gateway data planes in front of the Service must reach the
/// backends too: a policy that admits "the frontend" but not the proxy turns every request
/// through the Ingress (or the Gateway) into a 502/504.
fn ingress_controllers(
    state: &ClusterState,
    set: &PolicySet,
    targets: &[Target],
    selector: &BTreeMap<String, String>,
    outcome: Outcome,
) -> Outcome {
    let controllers: Vec<(String, &k8s_openapi::api::core::v1::Pod)> =
        crate::checks::ingress_routes::controller_pods(state)
            .into_iter()
            .map(|(name, pod)| (format!("the ingress controller {name}"), pod))
            .chain(crate::checks::gateway_routes::data_plane_pods(state))
            .collect();
    if controllers.is_empty() {
        return outcome;
    }
    let (nss, _) = namespaces(state);
    let mut outcome = outcome;
    let mut denied: Option<(String, &Target, PathDecision)> = None;
    let mut undecided: Option<(String, String)> = None;
    for (name, pod) in &controllers {
        let c = PodInfo::from_pod(pod);
        for t in targets {
            let d = set.decide(
                &nss,
                &Party::Pod(c.clone()),
                &Party::Pod(t.pod.clone()),
                t.port,
                t.protocol,
            );
            let line = format!(
                "{name} ({}) → {} {}/{}: {}",
                client_name(&c),
                who(t),
                t.port,
                t.protocol,
                d.verdict().word()
            );
            outcome.evidence.push(Evidence::new(
                "IngressControllerPath",
                format!("{line} ({})", d.ingress.reason),
            ));
            match d.verdict() {
                Verdict::Denied if denied.is_none() => denied = Some((name.to_string(), t, d)),
                Verdict::ImplementationDefined(r) | Verdict::Unknown(r) if undecided.is_none() => {
                    undecided = Some((name.to_string(), r))
                }
                _ => {}
            }
        }
    }
    if let Some((name, t, d)) = denied {
        let c = controllers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| PodInfo::from_pod(p))
            .unwrap_or_default();
        return controller_denied(state, selector, outcome, &name, &c, t, &d);
    }
    if let Some((name, reason)) = undecided {
        if outcome.status == crate::report::Status::Pass {
            let mut o = Outcome::warn(format!(
                "{}; the path of {name} is implementation-defined: {reason}",
                outcome.summary
            ))
            .code("ND8004");
            o.evidence = outcome.evidence;
            o.fix = outcome.fix;
            return o;
        }
    }
    outcome
}

/// The ingress controller `c` is denied the backends: requests through the Ingress fail.
fn controller_denied(
    state: &ClusterState,
    selector: &BTreeMap<String, String>,
    mut outcome: Outcome,
    name: &str,
    c: &PodInfo,
    t: &Target,
    d: &PathDecision,
) -> Outcome {
    let summary = format!(
        "NetworkPolicy blocks {name} ({}) from the backends on {}/{} ({}): requests through it fail with 502/504",
        client_name(c),
        t.port,
        t.protocol,
        d.ingress.reason
    );
    let fix =
        match d.ingress.cluster_rule.as_ref().filter(|r| {
            r.action == crate::netpol::Action::Deny && r.tier == crate::netpol::Tier::Admin
        }) {
            Some(r) => admin_allow(state, c, t, r, selector),
            None => apply(
                state,
                "admit the controller",
                &ingress_policy(state, selector, Some(c), t),
            ),
        };
    if outcome.status == crate::report::Status::Fail {
        outcome.summary = format!("{}; {summary}", outcome.summary);
        outcome.fix.push(fix);
        outcome
    } else {
        let mut o = Outcome::fail(summary).code("ND8005").fix([fix]);
        o.evidence = outcome.evidence;
        o
    }
}

/// Who enforces NetworkPolicy, and which other engines' policies the verdict does not cover.
fn enforcement(state: &ClusterState) -> (Enforcement, Vec<Evidence>) {
    let e = match &state.daemonsets {
        Fact::Known(ds) => cni::enforcement(ds),
        Fact::Unavailable(_) => Enforcement::Unknown,
    };
    let mut notes: Vec<Evidence> = [
        tiers_unread(state),
        super::unread(&state.daemonsets, "DaemonSets", "whether this cluster enforces NetworkPolicy at all is not known"),
        super::unread(&state.policy_apis, "the API groups", "the verdict may miss other policy engines (Calico, Cilium, Istio, Linkerd) and the cluster-wide tiers and their policies"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Fact::Known(groups) = &state.policy_apis {
        for (engine, group) in cni::other_engines(groups) {
            notes.push(Evidence::new(
                "OtherPolicyEngine",
                format!("this verdict covers NetworkPolicy only: {engine} ({group}) is installed and its policies are not evaluated"),
            ));
        }
    }
    for fact in &state.other_policies {
        match fact {
            Fact::Known(names) => {
                for n in names {
                    notes.push(Evidence::new(
                        "OtherPolicy",
                        format!("{n} also applies here and is not evaluated"),
                    ));
                }
            }
            Fact::Unavailable(u) => notes.push(Evidence::new(
                "OtherPolicy",
                format!("could not look for other engines' policies: {}", u.reason()),
            )),
        }
    }
    match &e {
        Enforcement::Enforced(name) => notes.push(Evidence::new(
            "Enforcement",
            format!("NetworkPolicy is enforced by {name}"),
        )),
        Enforcement::NotEnforced(why) => notes.push(Evidence::new(
            "Enforcement",
            format!("NetworkPolicy is not enforced here: {why}"),
        )),
        Enforcement::Unknown => {}
    }
    (e, notes)
}

/// A deny where nothing enforces NetworkPolicy is moot: a warning, not a failure.
fn moot(outcome: Outcome, e: &Enforcement) -> Outcome {
    match e {
        Enforcement::NotEnforced(why) if outcome.status == crate::report::Status::Fail => {
            let mut w = Outcome::warn(format!(
                "{} — but {why}, so this deny does not block traffic",
                outcome.summary
            ))
            .code("ND8006");
            w.evidence = outcome.evidence;
            w.fix = outcome.fix;
            w
        }
        _ => outcome,
    }
}

fn policy_ref(id: &str) -> ObjectRef {
    let (ns, name) = id.split_once('/').unwrap_or(("", id));
    ObjectRef::new("NetworkPolicy", ns, name)
}

/// Each policy that selects the pods and allows nothing on `port`, one evidence line each — only
/// when the sentence that names them had to count the rest ("… and 9,995 more"): JSON keeps them
/// all, the table shows a screenful.
fn every_selecting(selecting: &[String], port: &str) -> Vec<Evidence> {
    if selecting.len() <= crate::text::MAX_NAMED {
        return Vec::new();
    }
    selecting
        .iter()
        .map(|p| {
            Evidence::new(
                "SelectingPolicy",
                format!("{p} selects the pods and allows no source on {port}"),
            )
            .on(policy_ref(p))
        })
        .collect()
}

pub(crate) fn namespaces(state: &ClusterState) -> (Namespaces, Option<Evidence>) {
    let (nss, note) = namespaces_alone(state);
    // Cluster policies' `nodes` peers read the nodes' labels and addresses, when they were read.
    let nss = match state.nodes.known().filter(|n| !n.is_empty()) {
        Some(nodes) => nss.with_nodes(crate::netpol::NodeInfo::of(nodes)),
        None => nss,
    };
    (nss, note)
}

fn namespaces_alone(state: &ClusterState) -> (Namespaces, Option<Evidence>) {
    match &state.namespaces {
        // Built once per snapshot; a clone shares the labels.
        Fact::Known(list) => match &state.namespace_labels {
            Some(built) => (Namespaces::clone(built), None),
            None => (Namespaces::of(list, !state.is_offline()), None),
        },
        Fact::Unavailable(u) => (
            Namespaces::partial(Default::default()),
            Some(Evidence::new(
                "NamespaceLabels",
                format!(
                    "namespace labels unknown ({}): namespaceSelectors on other labels answer \"unknown\"",
                    u.reason()
                ),
            )),
        ),
    }
}

/// "env=prod,kubernetes.io/metadata.name=front", or what is unknown about them.
fn namespace_labels(state: &ClusterState, ns: &str) -> String {
    let found = state
        .namespaces
        .known()
        .and_then(|list| list.iter().find(|n| n.metadata.name.as_deref() == Some(ns)));
    match found {
        Some(n) => {
            let mut l = n.metadata.labels.clone().unwrap_or_default();
            l.insert(crate::netpol::NAMESPACE_NAME_LABEL.into(), ns.into());
            crate::text::labels(&l)
        }
        None => format!(
            "{}={ns} (others unknown)",
            crate::netpol::NAMESPACE_NAME_LABEL
        ),
    }
}

pub(crate) fn client_info(client: &Client) -> Result<PodInfo, Box<Outcome>> {
    match client {
        Client::Hypothetical { namespace, labels } => Ok(PodInfo {
            namespace: namespace.clone(),
            name: "(would-be client)".into(),
            labels: labels.clone(),
            ..Default::default()
        }),
        Client::Pod {
            namespace,
            name,
            pod,
            near,
        } => match pod.as_ref() {
            Fact::Known(Some(p)) => Ok(PodInfo::from_pod(p)),
            Fact::Known(None) => Err(Box::new(Outcome::skip(
                SkipKind::Unavailable,
                if near.is_empty() {
                    format!("client {namespace}/{name} not found")
                } else {
                    format!(
                        "client {namespace}/{name} not found; did you mean {}?",
                        near.join(" or ")
                    )
                },
            ))),
            Fact::Unavailable(u) => Err(Box::new(unavailable(u))),
        },
    }
}

pub(crate) fn client_name(c: &PodInfo) -> String {
    format!("{}/{}", c.namespace, c.name)
}

fn with_client(
    state: &ClusterState,
    set: &PolicySet,
    client: &Client,
    targets: &[Target],
    selector: &BTreeMap<String, String>,
) -> Outcome {
    let c = match client_info(client) {
        Ok(c) => c,
        Err(o) => return *o,
    };
    let (nss, ns_note) = namespaces(state);
    let src = Party::Pod(c.clone());
    let mut evidence: Vec<Evidence> = ns_note.into_iter().collect();
    let mut denied: Vec<(&Target, PathDecision)> = Vec::new();
    let mut undecided: Vec<(&Target, PathDecision)> = Vec::new();
    let mut allowed_lines = Vec::new();
    for t in targets {
        let d = set.decide(&nss, &src, &Party::Pod(t.pod.clone()), t.port, t.protocol);
        evidence.push(decision_evidence(&c, t, &d));
        match d.verdict() {
            Verdict::Allowed => {
                allowed_lines.push(format!("{} {}/{}", t.port_label, t.port, t.protocol))
            }
            Verdict::Denied => denied.push((t, d)),
            _ => undecided.push((t, d)),
        }
    }
    let dns = dns_findings(state, set, &nss, &c);
    evidence.extend(dns.evidence.iter().cloned());

    let cname = client_name(&c);
    if !denied.is_empty() || dns.denied_udp {
        let first = denied.first().map(|(t, d)| (*t, d));
        return denied_outcome(state, set, &c, first, &dns, selector, evidence);
    }
    if let Some((t, d)) = undecided.first() {
        let reason = match d.verdict() {
            Verdict::ImplementationDefined(r) | Verdict::Unknown(r) => r,
            _ => String::new(),
        };
        return Outcome::warn(format!("{cname} → {} on {}/{}: {}: {reason}", who(t), t.port, t.protocol, d.verdict().word()))
            .code("ND8007")
            .evidence(evidence)
            .fix(["confirm with a probe from the client (pods.listening, when it is built), or with `kubectl exec` and `nc -zv`".to_string()]);
    }
    if dns.denied_tcp {
        return Outcome::warn(format!(
            "{cname} may reach the Service, but its egress allows DNS over UDP only: large answers (TCP fallback) fail"
        ))
        .code("ND8008")
        .evidence(evidence)
        .fix([apply(state, "allow DNS over TCP too", &dns_policy(&c, &dns))]);
    }
    allowed_lines.dedup();
    Outcome::pass(format!(
        "{cname} may reach the backends on {}",
        allowed_lines.join(", ")
    ))
    .evidence(evidence)
}

/// The client is denied (a backend path, or DNS over UDP): why, and the fixes, smallest first.
fn denied_outcome(
    state: &ClusterState,
    set: &PolicySet,
    c: &PodInfo,
    first: Option<(&Target, &PathDecision)>,
    dns: &Dns,
    selector: &BTreeMap<String, String>,
    evidence: Vec<Evidence>,
) -> Outcome {
    let mut denial = Denial {
        parts: Vec::new(),
        fix: Vec::new(),
        evidence,
    };
    if let Some((t, d)) = first {
        let tiered = |side: &crate::netpol::Decision| {
            side.cluster_rule
                .clone()
                .filter(|r| r.action == crate::netpol::Action::Deny)
        };
        if let Some(r) = tiered(&d.ingress) {
            denial.cluster(state, c, t, &r, &d.ingress, selector);
        } else if d.ingress.verdict == Verdict::Denied {
            denial.ingress(state, set, c, t, d, selector);
        }
        if let Some(r) = tiered(&d.egress) {
            denial.cluster(state, c, t, &r, &d.egress, selector);
        } else if d.egress.verdict == Verdict::Denied {
            denial.parts.push(format!(
                "the client's egress is restricted by {} and allows no traffic to {} on {}/{}",
                crate::text::some_of(&d.egress.selecting, ", "),
                who(t),
                t.port,
                t.protocol
            ));
            denial.fix.push(apply(
                state,
                "let the client's egress reach the backends",
                &egress_policy(state, selector, c, t),
            ));
        }
    }
    if dns.denied_udp {
        denial.parts.push(format!(
            "forgot DNS egress: {} restricts the client's egress and allows no DNS to {} (the client cannot resolve the Service's name)",
            crate::text::some_of(&dns.selecting, ", "),
            dns.target
        ));
        denial
            .fix
            .push(apply(state, "allow DNS", &dns_policy(c, dns)));
    }
    // Only DNS denied: its own code; a cluster-wide tier's deny its own; else the client's path.
    let tier = first.and_then(|(_, d)| {
        [&d.ingress, &d.egress]
            .into_iter()
            .filter(|s| s.verdict == Verdict::Denied)
            .find_map(|s| s.cluster_rule.as_ref())
            .filter(|r| r.action == crate::netpol::Action::Deny)
            .map(|r| r.tier)
    });
    let code = match (first, tier) {
        (None, _) => "ND8010",
        (Some(_), Some(crate::netpol::Tier::Admin)) => "ND8014",
        (Some(_), Some(crate::netpol::Tier::Baseline)) => "ND8015",
        (Some(_), None) => "ND8009",
    };
    Outcome::fail(denial.parts.join("; "))
        .code(code)
        .evidence(denial.evidence)
        .fix(denial.fix)
}

/// One path's decision as evidence: both sides' reasons.
fn decision_evidence(c: &PodInfo, t: &Target, d: &PathDecision) -> Evidence {
    let port = format!("{}/{}", t.port, t.protocol);
    Evidence::new(
        "PolicyDecision",
        format!(
            "{} → {} {port}: {} (egress: {}; ingress: {})",
            client_name(c),
            who(t),
            d.verdict().word(),
            d.egress.reason,
            d.ingress.reason
        ),
    )
    .field("to", who(t))
    .field("port", port)
    .field("verdict", d.verdict().word())
    .field("egress", d.egress.reason.clone())
    .field("ingress", d.ingress.reason.clone())
}

/// What a denial says, what fixes it, and the evidence behind it.
struct Denial {
    parts: Vec<String>,
    fix: Vec<String>,
    evidence: Vec<Evidence>,
}

impl Denial {
    /// A cluster-wide rule denies. An Admin-tier Deny outranks every NetworkPolicy: the fix is
    /// the cluster admin's, an Allow rule for this client just before the denying one (same
    /// policy, same priority). A Baseline Deny gives way to any NetworkPolicy that selects the
    /// pod: a policy admitting the client is the fix.
    fn cluster(
        &mut self,
        state: &ClusterState,
        c: &PodInfo,
        t: &Target,
        r: &crate::netpol::ClusterRuleRef,
        side: &crate::netpol::Decision,
        selector: &BTreeMap<String, String>,
    ) {
        use crate::netpol::{Direction, Tier};
        let port = format!("{}/{}", t.port, t.protocol);
        let path = format!("{} → {} on {port}", client_name(c), who(t));
        match r.tier {
            Tier::Admin => {
                self.parts.push(format!(
                    "{path}: {}; no NetworkPolicy can override an Admin-tier Deny — the fix is the cluster admin's",
                    side.reason
                ));
                self.fix.push(admin_allow(state, c, t, r, selector));
            }
            Tier::Baseline => {
                self.parts.push(format!("{path}: {}", side.reason));
                match side.direction {
                    Direction::Ingress => self.fix.push(apply(
                        state,
                        "a NetworkPolicy selecting the backends overrides the baseline (it isolates them: other sources then need rules too)",
                        &ingress_policy(state, selector, Some(c), t),
                    )),
                    Direction::Egress => self.fix.push(apply(
                        state,
                        "a NetworkPolicy selecting the client overrides the baseline (it isolates its egress: other destinations then need rules too)",
                        &egress_policy(state, selector, c, t),
                    )),
                }
            }
        }
    }

    /// Ingress on the backends denies the client: which policies select them, the rules one field
    /// away (their change first), a new additive policy, what the rules do allow, and who the
    /// client is.
    fn ingress(
        &mut self,
        state: &ClusterState,
        set: &PolicySet,
        c: &PodInfo,
        t: &Target,
        d: &PathDecision,
        selector: &BTreeMap<String, String>,
    ) {
        let port = format!("{}/{}", t.port, t.protocol);
        self.parts.push(format!(
            "NetworkPolicy denies {} → {} on {port}: {} selects the backend pods and no ingress rule allows this client",
            client_name(c),
            who(t),
            crate::text::some_of(&d.ingress.selecting, ", ")
        ));
        // One field of an existing policy is a smaller change than a new policy.
        for (said, change) in near_misses(state, c, t) {
            self.parts.push(said);
            self.fix.push(change);
        }
        self.fix.push(apply(
            state,
            "or a new policy (additive: it allows only this client)",
            &ingress_policy(state, selector, Some(c), t),
        ));
        // What the selecting policies do allow, next to what the client is.
        let sources = set.ingress_sources(&t.pod, t.port, t.protocol);
        for (rule, from) in &sources.allowed {
            self.evidence.push(
                Evidence::new(
                    "PolicyRule",
                    format!(
                        "{rule} allows {port} only from {}",
                        crate::text::some_of(from, "; ")
                    ),
                )
                .on(policy_ref(&rule.policy)),
            );
        }
        if sources.allowed.is_empty() {
            self.evidence
                .extend(every_selecting(&d.ingress.selecting, &port));
            self.evidence.push(Evidence::new(
                "PolicyRule",
                format!(
                    "no rule of {} allows {port} from any source",
                    crate::text::some_of(&d.ingress.selecting, ", ")
                ),
            ));
        }
        let client_ns_labels = namespace_labels(state, &c.namespace);
        self.evidence.push(Evidence::new(
            "ClientIdentity",
            format!(
                "the client: pod labels {}; namespace {} labels {}",
                crate::text::labels(&role_labels(&c.labels)),
                c.namespace,
                client_ns_labels
            ),
        ));
    }
}

/// A policy to add: live one pasteable command (a here-document the shell does not expand),
/// offline the document to add to the manifests.
fn apply(state: &ClusterState, why: &str, yaml: &str) -> String {
    if state.is_offline() {
        format!("{why}: add to the manifests:\n{yaml}")
    } else {
        format!("# {why}\nkubectl apply -f - <<'EOF'\n{yaml}\nEOF")
    }
}

/// The namespaces read, by name: their labels.
pub(crate) fn labels_by_namespace(
    state: &ClusterState,
) -> BTreeMap<String, BTreeMap<String, String>> {
    state
        .namespaces
        .known()
        .into_iter()
        .flat_map(|l| l.iter())
        .filter_map(|n| {
            Some((
                n.metadata.name.clone()?,
                n.metadata.labels.clone().unwrap_or_default(),
            ))
        })
        .collect()
}

/// Existing rules one field away from admitting the client: what was nearly allowed, and the
/// one-field change (before any new policy).
fn near_misses(state: &ClusterState, c: &PodInfo, t: &Target) -> Vec<(String, String)> {
    use crate::netpol::near_miss::{self, NearMiss};
    use crate::text::shell_quote as q;
    let Some(policies) = state.policies.known() else {
        return Vec::new();
    };
    let labels = labels_by_namespace(state);
    let complete = !state.is_offline() && state.namespaces.known().is_some();
    let misses = near_miss::near_misses(policies, &labels, complete, c, &t.pod, t.port, t.protocol);
    let patch = |policy: &str, ops: serde_json::Value| {
        let (ns, name) = policy.split_once('/').unwrap_or(("", policy));
        format!(
            "kubectl patch networkpolicy {} -n {} --type json -p {}",
            q(name),
            q(ns),
            q(&ops.to_string())
        )
    };
    misses
        .into_iter()
        .map(|m| match m {
            NearMiss::Port {
                policy,
                rule,
                ports,
            } => port_near_miss(state, t, &policy, rule, &ports, &patch),
            NearMiss::NamespaceLabels {
                policy,
                rule,
                namespace,
                labels,
            } => namespace_near_miss(state, &policy, rule, &namespace, &labels),
        })
        .collect()
}

/// A rule that admits the client on other ports: the port it names that is the Service's (or an
/// undeclared name) replaced, else the pod's port added.
fn port_near_miss(
    state: &ClusterState,
    t: &Target,
    policy: &str,
    rule: usize,
    ports: &[k8s_openapi::api::networking::v1::NetworkPolicyPort],
    patch: &dyn Fn(&str, serde_json::Value) -> String,
) -> (String, String) {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let (port, proto) = (t.port, t.protocol);
    let declared = |name: &str| t.pod.ports.iter().any(|(n, _, p)| n == name && *p == proto);
    let spot = ports.iter().enumerate().find_map(|(k, p)| match &p.port {
        Some(IntOrString::Int(n)) if Some(*n) == t.service_port && *n != i32::from(port) => Some((k, format!(
            "rule {rule} of {policy} allows port {n} — the Service's port; NetworkPolicy sees the pod's port {port} (the targetPort)"
        ))),
        Some(IntOrString::String(name)) if !declared(name) => Some((k, format!(
            "rule {rule} of {policy} allows the named port {name}, which the backend pods do not declare for {proto}"
        ))),
        _ => None,
    });
    match spot {
        Some((k, said)) => {
            let change = if state.is_offline() {
                format!(
                    "edit {}: set spec.ingress[{rule}].ports[{k}].port to {port}",
                    location(state, policy)
                )
            } else {
                patch(
                    policy,
                    serde_json::json!([{"op": "replace", "path": format!("/spec/ingress/{rule}/ports/{k}/port"), "value": port}]),
                )
            };
            (format!("nearly allowed: {said}"), change)
        }
        None => {
            let change = if state.is_offline() {
                format!(
                    "edit {}: add {{port: {port}, protocol: {proto}}} to spec.ingress[{rule}].ports",
                    location(state, policy)
                )
            } else {
                patch(
                    policy,
                    serde_json::json!([{"op": "add", "path": format!("/spec/ingress/{rule}/ports/-"), "value": {"port": port, "protocol": proto.to_string()}}]),
                )
            };
            (
                format!(
                    "nearly allowed: rule {rule} of {policy} admits this client, but not on {port}/{proto}"
                ),
                change,
            )
        }
    }
}

/// A rule that admits namespaces with labels the client's namespace lacks: label it.
fn namespace_near_miss(
    state: &ClusterState,
    policy: &str,
    rule: usize,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> (String, String) {
    use crate::text::shell_quote as q;
    let shown = crate::text::labels(labels);
    let said = format!(
        "nearly allowed: rule {rule} of {policy} admits namespaces labelled {shown}, and namespace {namespace} is not"
    );
    let change = if state.is_offline() {
        let place = state
            .origins
            .iter()
            .find(|(k, _)| k.kind == "Namespace" && k.name == namespace)
            .map(|(_, o)| {
                format!(
                    "edit {} (document {}, Namespace {namespace})",
                    o.file, o.document
                )
            });
        let yaml: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        match place {
            Some(p) => format!("{p}: add {} under metadata.labels", yaml.join(", ")),
            None => format!("add Namespace {namespace} to the manifests with the labels {shown}"),
        }
    } else {
        let pairs: Vec<String> = labels.iter().map(|(k, v)| q(&format!("{k}={v}"))).collect();
        format!(
            "kubectl label namespace {} {} --overwrite",
            q(namespace),
            pairs.join(" ")
        )
    };
    (said, change)
}

/// The DNS path of a client: cluster DNS pods, read or assumed.
pub(crate) struct Dns {
    pub(crate) denied_udp: bool,
    pub(crate) denied_tcp: bool,
    pub(crate) selecting: Vec<String>,
    pub(crate) target: String,
    pub(crate) pod: PodInfo,
    pub(crate) evidence: Vec<Evidence>,
}

pub(crate) fn dns_findings(
    state: &ClusterState,
    set: &PolicySet,
    nss: &Namespaces,
    client: &PodInfo,
) -> Dns {
    let (pod, assumed) = match &state.dns_pods {
        Fact::Known(pods) if !pods.is_empty() => (PodInfo::from_pod(&pods[0]), false),
        _ => (
            PodInfo {
                namespace: "kube-system".into(),
                name: "kube-dns".into(),
                labels: [("k8s-app".to_string(), "kube-dns".to_string())].into(),
                ports: vec![
                    ("dns".into(), 53, Protocol::Udp),
                    ("dns-tcp".into(), 53, Protocol::Tcp),
                ],
                ..Default::default()
            },
            true,
        ),
    };
    let port_for = |proto: Protocol| {
        pod.ports
            .iter()
            .find(|(n, _, p)| *p == proto && n.starts_with("dns"))
            .map_or(53, |(_, n, _)| *n)
    };
    let target = format!(
        "{}/{} pods (k8s-app=kube-dns){}",
        pod.namespace,
        "kube-dns",
        if assumed { ", assumed" } else { "" }
    );
    let src = Party::Pod(client.clone());
    let udp = set.decide(
        nss,
        &src,
        &Party::Pod(pod.clone()),
        port_for(Protocol::Udp),
        Protocol::Udp,
    );
    let tcp = set.decide(
        nss,
        &src,
        &Party::Pod(pod.clone()),
        port_for(Protocol::Tcp),
        Protocol::Tcp,
    );
    let mut evidence = Vec::new();
    if !udp.egress.selecting.is_empty() {
        evidence.push(Evidence::new(
            "DnsEgress",
            format!(
                "DNS {} → {target}: UDP {} ({}), TCP {} ({})",
                client_name(client),
                udp.egress.verdict.word(),
                udp.egress.reason,
                tcp.egress.verdict.word(),
                tcp.egress.reason
            ),
        ));
    }
    Dns {
        denied_udp: udp.egress.verdict == Verdict::Denied,
        denied_tcp: tcp.egress.verdict == Verdict::Denied,
        selecting: udp.egress.selecting,
        target,
        pod,
        evidence,
    }
}

fn flow_map(labels: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k:?}: {v:?}"))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn peer_yaml(indent: &str, labels: &BTreeMap<String, String>, namespace: Option<&str>) -> String {
    let mut s = format!(
        "{indent}- podSelector: {{matchLabels: {}}}\n",
        flow_map(labels)
    );
    if let Some(ns) = namespace {
        s.push_str(&format!("{indent}  namespaceSelector: {{matchLabels: {{\"kubernetes.io/metadata.name\": {ns:?}}}}}\n"));
    }
    s
}

fn slug(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').chars().take(40).collect()
}

/// An additive ingress policy allowing exactly this client (or a placeholder) to the backends.
fn ingress_policy(
    state: &ClusterState,
    selector: &BTreeMap<String, String>,
    client: Option<&PodInfo>,
    t: &Target,
) -> String {
    let (labels, ns, name) = match client {
        Some(c) => (
            role_labels(&c.labels),
            (c.namespace != state.namespace).then_some(c.namespace.as_str()),
            slug(&c.name),
        ),
        None => (
            [("app".to_string(), "CLIENT".to_string())].into(),
            None,
            "client".to_string(),
        ),
    };
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-{name}-to-{svc}\n  namespace: {sns}\nspec:\n  podSelector: {{matchLabels: {sel}}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n{peer}    ports:\n    - {{port: {port}, protocol: {proto}}}",
        svc = state.service_name,
        sns = state.namespace,
        sel = flow_map(selector),
        peer = peer_yaml("    ", &labels, ns),
        port = t.port,
        proto = t.protocol,
    )
}

/// An additive egress policy for the client to the backends.
fn egress_policy(
    state: &ClusterState,
    selector: &BTreeMap<String, String>,
    c: &PodInfo,
    t: &Target,
) -> String {
    let ns = (c.namespace != state.namespace).then_some(state.namespace.as_str());
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-{name}-to-{svc}\n  namespace: {cns}\nspec:\n  podSelector: {{matchLabels: {client}}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n{peer}    ports:\n    - {{port: {port}, protocol: {proto}}}",
        name = slug(&c.name),
        svc = state.service_name,
        cns = c.namespace,
        client = flow_map(&role_labels(&c.labels)),
        peer = peer_yaml("    ", selector, ns),
        port = t.port,
        proto = t.protocol,
    )
}

fn dns_policy(c: &PodInfo, dns: &Dns) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns\n  namespace: {cns}\nspec:\n  podSelector: {{matchLabels: {client}}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n{peer}    ports:\n    - {{port: 53, protocol: UDP}}\n    - {{port: 53, protocol: TCP}}",
        cns = c.namespace,
        client = flow_map(&role_labels(&c.labels)),
        peer = peer_yaml(
            "    ",
            &role_labels(&dns.pod.labels),
            Some(dns.pod.namespace.as_str())
        ),
    )
}

/// An Allow rule for exactly this path inserted before the denying Admin-tier rule `r` (rules
/// are evaluated in order within a policy: it is reached first). Live a JSON patch (a CRD takes no
/// strategic merge); offline the rule to add, in YAML.
fn admin_allow(
    state: &ClusterState,
    c: &PodInfo,
    t: &Target,
    r: &crate::netpol::ClusterRuleRef,
    selector: &BTreeMap<String, String>,
) -> String {
    use crate::netpol::Direction;
    use serde_json::json;
    let name_label = crate::netpol::NAMESPACE_NAME_LABEL;
    let (peer_ns, peer_labels) = match r.direction {
        Direction::Ingress => (c.namespace.clone(), role_labels(&c.labels)),
        Direction::Egress => (t.pod.namespace.clone(), selector.clone()),
    };
    let peer = json!({"pods": {
        "namespaceSelector": {"matchLabels": {name_label: peer_ns}},
        "podSelector": {"matchLabels": peer_labels},
    }});
    let proto = t.protocol.to_string();
    let cnp = r.kind == "ClusterNetworkPolicy";
    let ports = if cnp {
        json!([{ proto.to_lowercase(): {"destinationPort": {"number": t.port}} }])
    } else {
        json!([{"portNumber": {"protocol": proto, "port": t.port}}])
    };
    let rule_name = format!("allow-{}", slug(&c.name));
    let peers_field = match r.direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let mut rule = serde_json::Map::new();
    rule.insert("name".into(), json!(rule_name));
    rule.insert("action".into(), json!(if cnp { "Accept" } else { "Allow" }));
    rule.insert(peers_field.into(), json!([peer]));
    rule.insert((if cnp { "protocols" } else { "ports" }).into(), ports);
    let dir = r.direction.word();
    if state.is_offline() {
        // JSON is YAML: the rule as one list item.
        return format!(
            "(the cluster admin) insert before spec.{dir}[{}] ({}) in {}:\n- {}",
            r.index,
            r.rule,
            state.edit_location(r.kind, "", &r.policy),
            serde_json::Value::Object(rule)
        );
    }
    let ops = json!([{"op": "add", "path": format!("/spec/{dir}/{}", r.index), "value": rule}]);
    format!(
        "(the cluster admin) allow this path ahead of rule {}: kubectl patch {} {} --type json -p {}",
        r.rule,
        r.kind.to_lowercase(),
        crate::text::shell_quote(&r.policy),
        crate::text::shell_quote(&ops.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_selectors_leave_out_revision_and_placement_labels() {
        // Kubernetes writes these, not the workload's author: a revision hash changes on every
        // rollout, and the node's zone and region are copied onto a pod at binding
        // (PodTopologyLabels admission; seen on the real test cluster) — selecting on them
        // would admit the client only in one revision or one zone.
        let labels = BTreeMap::from(
            [
                ("app", "frontend"),
                ("pod-template-hash", "6b7c"),
                ("topology.kubernetes.io/zone", "zone-a"),
                ("topology.kubernetes.io/region", "lab"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let kept: Vec<String> = role_labels(&labels).into_keys().collect();
        assert_eq!(kept, vec!["app".to_string()]);
    }
}
