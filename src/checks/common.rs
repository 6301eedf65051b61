//! What the probe checks (5–7) share: reading the probe's lines for the planned targets, and the
//! NetworkPolicy decision for the probe's own identity (DESIGN §3, cross-check of probe results).

use crate::checks::netpol_allows;
use crate::netpol::{Party, PathDecision, PodInfo, Protocol};
use crate::report::Evidence;
use crate::state::ClusterState;
use crate::state::ObjectRef;
use crate::state::probe::ProbeResults;
use crate::wire::{SocketLine, Verdict};

/// The probe pod as the policy engine sees it: its namespace, labels (the client's, copied) and
/// node.
pub(crate) fn probe_identity(results: &ProbeResults) -> PodInfo {
    PodInfo {
        namespace: results.namespace.clone(),
        name: results.pod.clone(),
        labels: results.labels.clone(),
        node: results.node.clone(),
        ..Default::default()
    }
}

/// The policy decision for the probe pod → a backend pod, when the policies could be read.
pub(crate) fn probe_decision(
    state: &ClusterState,
    results: &ProbeResults,
    pod_name: &str,
    port: u16,
    protocol: &str,
) -> Option<PathDecision> {
    let policies = state.policies.known()?;
    let set = netpol_allows::policy_set(state, policies).ok()?;
    let (namespaces, _) = netpol_allows::namespaces(state);
    let pod = state
        .pods
        .known()?
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(pod_name))?;
    let probe = Party::Pod(probe_identity(results));
    let protocol = Protocol::parse(Some(protocol)).ok()?;
    Some(set.decide(
        &namespaces,
        &probe,
        &Party::Pod(PodInfo::from_pod(pod)),
        port,
        protocol,
    ))
}

/// Ingress rules that admit the probe's identity to `pod_name` except for their ports, whose
/// ports are all named ports the pod does not declare for `protocol` ("shop/web rule 0"). The API
/// says such a rule matches no traffic; kube-router v2.1 drops the unresolved names and, the rule
/// left without ports, accepts every port (measured in the lab: tests/enforcement.rs).
pub(crate) fn unresolved_named_port_rules(
    state: &ClusterState,
    results: &ProbeResults,
    pod_name: &str,
    port: u16,
    protocol: &str,
) -> Vec<String> {
    use crate::netpol::near_miss::{NearMiss, near_misses};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let (Some(policies), Some(pods)) = (state.policies.known(), state.pods.known()) else {
        return Vec::new();
    };
    let Some(pod) = pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(pod_name))
    else {
        return Vec::new();
    };
    let Ok(protocol) = Protocol::parse(Some(protocol)) else {
        return Vec::new();
    };
    let dst = PodInfo::from_pod(pod);
    let probe = probe_identity(results);
    let labels = netpol_allows::labels_by_namespace(state);
    let complete = state.namespaces.known().is_some();
    near_misses(policies, &labels, complete, &probe, &dst, port, protocol)
        .into_iter()
        .filter_map(|m| match m {
            NearMiss::Port {
                policy,
                rule,
                ports,
            } if !ports.is_empty()
                && ports.iter().all(|p| match &p.port {
                    Some(IntOrString::String(name)) => !dst
                        .ports
                        .iter()
                        .any(|(n, _, proto)| n == name && *proto == protocol),
                    _ => false,
                }) =>
            {
                Some(format!("{policy} rule {rule}"))
            }
            _ => None,
        })
        .collect()
}

/// The policies that deny, from a decision ("shop/deny-all").
pub(crate) fn denying(decision: &PathDecision) -> String {
    let mut names: Vec<&str> = Vec::new();
    for side in [&decision.egress, &decision.ingress] {
        if side.verdict == crate::netpol::Verdict::Denied {
            names.extend(side.selecting.iter().map(String::as_str));
        }
    }
    if names.is_empty() {
        "NetworkPolicy".into()
    } else {
        names.join(", ")
    }
}

/// One probe line as evidence.
pub(crate) fn evidence(kind: &'static str, what: &str, record: &SocketLine) -> Evidence {
    let mut e = Evidence::new(
        kind,
        format!("{what}: {} — {}", record.verdict, record.detail),
    )
    .field(
        "target",
        record
            .target
            .trim_start_matches("tcp:")
            .trim_start_matches("udp:"),
    )
    .field("verdict", record.verdict.to_string());
    if let Some(reply) = &record.reply {
        e = e.field("reply", reply.clone());
    }
    if let Some(from) = record.reply_from {
        e = e.field("from", from.to_string());
    }
    if let Some(rtt) = record.rtt_ms {
        e = e.field("rtt", format!("{rtt} ms"));
    }
    if record.sent > 1 {
        e = e.field("sent", record.sent.to_string());
    }
    e.field("evidence", record.evidence.as_str())
}

/// Where the probe ran, as the first evidence item of a probe check.
pub(crate) fn probe_evidence(results: &ProbeResults) -> Vec<Evidence> {
    let mut out = vec![
        Evidence::new(
            "ProbePod",
            format!(
                "probe pod {}/{} on node {} (Pod Security level {}, capture {})",
                results.namespace,
                results.pod,
                results.node.as_deref().unwrap_or("?"),
                results.rung.as_str(),
                if results.captured() { "on" } else { "off" }
            ),
        )
        .on(ObjectRef::new("Pod", &results.namespace, &results.pod)),
    ];
    out.extend(
        results
            .notes
            .iter()
            .map(|n| Evidence::new("ProbeNote", n.clone())),
    );
    let copied = results.copied_labels();
    if !copied.is_empty() {
        out.push(Evidence::new(
            "ProbeNote",
            format!(
                "the probe carried the client's labels {} (the deciding policies select on them)",
                crate::text::labels(&copied)
            ),
        ));
    }
    out
}

/// Proof from the probe that NetworkPolicy is not enforced: an endpoint answered although policy
/// denies the probe's identity ("the probe reached shop/web-a:8080 although shop/deny-all denies
/// it").
pub(crate) fn unenforced(state: &ClusterState) -> Option<String> {
    let results = state.probe.known()?;
    let plan = crate::state::plan::ProbePlan::as_run(state, results);
    plan.targets.iter().find_map(|t| {
        let crate::state::plan::Purpose::Endpoint {
            pod: Some(pod),
            port,
            protocol,
            ..
        } = &t.purpose
        else {
            return None;
        };
        let record = results.sockets_for(&t.arg).next()?;
        if record.verdict != Verdict::Open {
            return None;
        }
        let decision = probe_decision(state, results, pod, *port, protocol)?;
        (decision.verdict() == crate::netpol::Verdict::Denied).then(|| {
            format!(
                "the probe reached {}/{pod}:{port} although {} denies it",
                state.namespace,
                denying(&decision)
            )
        })
    })
}
