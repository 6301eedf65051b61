//! The probe orchestrator (DESIGN §4 `probe`): the Job that runs the agent ([`job`]) for a plan
//! derived from the model ([`crate::state::plan`]), and running it against the API ([`run`]):
//! create, wait, read the log, delete — also on failure, timeout and Ctrl-C.
//!
//! The agent's JSON lines are read back as [`crate::wire`] records; their schema is documented in
//! checks/pods.listening.md.

pub(crate) mod job;
pub(crate) mod run;

pub(crate) use crate::state::plan::{ProbePlan, Purpose};
pub(crate) use crate::state::probe::ProbeResults;
use crate::wire::Verdict;

pub(crate) use crate::state::probe::{AMBIENT_OPT_OUT, MANAGED_BY, NAME_LABEL};
/// When a probe object may be deleted by `cleanup` even if its run is still going (RFC 3339).
pub(crate) const DEADLINE_ANNOTATION: &str = "netdoctor.io/deadline";

/// The labels the NetworkPolicies read decide by: the client's copied onto the probe.
fn policy_labels(state: &crate::state::ClusterState) -> Vec<String> {
    state
        .policies
        .known()
        .map(|p| crate::state::plan::referenced_labels(p))
        .unwrap_or_default()
}

/// Runs the probe for a Service's flow, unless there is nothing to probe. Whether to probe at all
/// is the command's decision ([`crate::checks::api_failed_before_probe`]).
pub(crate) async fn probe_service(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    opts: &job::ProbeOptions,
) -> crate::state::Fact<ProbeResults> {
    probe_service_from(prober, state, opts, None).await
}

/// [`probe_service`], with the probe in `namespace` rather than the client's or the Service's.
pub(crate) async fn probe_service_from(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    opts: &job::ProbeOptions,
    namespace: Option<String>,
) -> crate::state::Fact<ProbeResults> {
    use crate::state::{Fact, Unavailable};
    let labels = policy_labels(state);
    let mut plan = ProbePlan::for_service(state, &labels);
    if let Some(ns) = namespace {
        plan.relocate(&ns, state);
    }
    if opts.mtu {
        plan.plan_mtu();
    }
    if plan.targets.is_empty() {
        return Fact::Unavailable(Unavailable::NotRequested("nothing to probe"));
    }
    prober.run(&plan, opts).await
}

/// Probes run at once by per-node probing: enough to cover 20 nodes in a few pod starts without
/// a burst of pods the API server and scheduler notice.
const NODE_PARALLELISM: usize = 5;

/// Per-node probing (`--all-nodes`, `--nodes`): the Service's probe plan run by a probe pod pinned
/// to each chosen node (`nodeName`), at most [`NODE_PARALLELISM`] at a time, under one deadline
/// for all (`--probe-timeout` from the first pod's start). Every Job is registered as it is
/// created: Ctrl-C deletes them all.
pub(crate) async fn probe_service_per_node(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    opts: &job::ProbeOptions,
    selection: crate::state::per_node::Selection,
    tolerate_taints: bool,
    namespace: Option<String>,
) -> crate::state::per_node::PerNode {
    use crate::state::per_node::{NodeProbe, PerNode};
    use crate::state::{Fact, Unavailable};
    use futures::StreamExt;
    let labels = policy_labels(state);
    let mut plan = ProbePlan::for_service(state, &labels);
    if let Some(ns) = namespace {
        plan.relocate(&ns, state);
    }
    plan.tolerate_taints = tolerate_taints;
    if opts.mtu {
        plan.plan_mtu();
    }
    let started = std::time::Instant::now();
    let nothing = plan.targets.is_empty();
    // The namespace's PodSecurity level and the labels' conflicts, read once for every node.
    let prepared = if nothing {
        None
    } else {
        Some(prober.prepare(&plan).await)
    };
    let runs = selection.chosen.iter().map(|node| {
        let pinned = prepared.clone().map(|mut p| {
            p.plan.node = Some(node.name.clone());
            p
        });
        async move {
            let result = match pinned {
                None => Fact::Unavailable(Unavailable::NotRequested("nothing to probe")),
                Some(p) => prober.run_prepared(p, opts, started).await,
            };
            NodeProbe {
                node: node.clone(),
                result,
                agents: Fact::Unavailable(Unavailable::NotRequested(
                    "read only when the node's probe saw a fault",
                )),
            }
        }
    });
    let probes = futures::stream::iter(runs)
        .buffered(NODE_PARALLELISM)
        .collect::<Vec<_>>()
        .await;
    PerNode { selection, probes }
}

/// [`probe_service`] from inside the `--from` pod (`--inside`), as an ephemeral container.
pub(crate) async fn probe_service_inside(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    opts: &job::ProbeOptions,
) -> crate::state::Fact<ProbeResults> {
    use crate::state::{Client, Fact, Unavailable};
    let pod = match &state.client {
        Some(Client::Pod { pod, .. }) => match pod.as_ref() {
            Fact::Known(Some(pod)) => pod.clone(),
            Fact::Known(None) => {
                return Fact::Unavailable(Unavailable::Stopped(
                    "the --from pod does not exist: nothing to run inside".into(),
                ));
            }
            Fact::Unavailable(u) => return Fact::Unavailable(u.clone()),
        },
        _ => {
            return Fact::Unavailable(Unavailable::NotRequested("--inside needs --from pod/NAME"));
        }
    };
    let mut plan = ProbePlan::for_service(state, &[]);
    if opts.mtu {
        plan.plan_mtu();
    }
    if plan.targets.is_empty() {
        return Fact::Unavailable(Unavailable::NotRequested("nothing to probe"));
    }
    prober.run_inside(&plan, opts, &pod).await
}

/// `--inspect`: reads the socket table of (up to 3) backend pods that refused or were closed, from
/// inside each (an ephemeral container running `agent --sockets`; it stays in the pod's spec).
pub(crate) async fn inspect_refused(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    results: &mut ProbeResults,
    opts: &job::ProbeOptions,
) {
    let plan = ProbePlan::as_run(state, results);
    let mut pods: Vec<String> = Vec::new();
    for t in &plan.targets {
        let Purpose::Endpoint { pod: Some(pod), .. } = &t.purpose else {
            continue;
        };
        let refused = results
            .sockets_for(&t.arg)
            .any(|r| matches!(r.verdict, Verdict::Refused | Verdict::Closed));
        if refused && !pods.contains(pod) && pods.len() < 3 {
            pods.push(pod.clone());
        }
    }
    for pod in pods {
        let name = run::ephemeral_name("netdoctor-inspect");
        let container = serde_json::json!({
            "name": name,
            "image": opts.image,
            "command": ["kubectl-netdoctor"],
            "args": ["agent", "--sockets", "--hard-deadline", "30s"],
            "securityContext": {
                "runAsNonRoot": true, "runAsUser": 65534, "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
            },
        });
        let limit = std::time::Duration::from_secs(60).min(opts.timeout);
        let outcome = prober
            .run_ephemeral(&state.namespace, &pod, container, limit)
            .await;
        let read = match outcome {
            Ok(log) => log
                .lines()
                .find_map(|l| match crate::wire::Line::parse(l) {
                    Some(Ok(crate::wire::Line::Sockets(s))) => Some(s.listening),
                    _ => None,
                })
                .ok_or_else(|| "the inspector printed no socket table".to_string()),
            Err(run::EphemeralError::Failed(u)) => Err(u.reason()),
            Err(run::EphemeralError::Refused(m) | run::EphemeralError::CannotStart(m)) => Err(m),
        };
        results.sockets.insert(pod, read);
    }
}
