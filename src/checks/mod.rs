//! The checks of the Service flow, one file each, in flow order (DESIGN §3).
//!
//! To add a check: write `src/checks/<id with _>.rs` with a `pub fn run(&ClusterState) -> Outcome`
//! that only reads the state, add it to [`REGISTRY`] at its place in the flow with the checks it
//! depends on and its runbook page `checks/<id>.md` (`explain` reads it from there; a test keeps
//! code and pages one-to-one). `common.rs` and `per_node.rs` are not checks: they serve the probe's
//! checks (per-node judging is described in the pages of the checks it judges).

use crate::report::{CheckResult, Outcome, SkipKind, Status};
use crate::state::{ClusterState, Unavailable};

mod common;
mod dns_resolves;
mod endpoints_ready;
pub(crate) mod gateway_routes;
pub(crate) mod ingress_routes;
pub(crate) mod netpol_allows;
mod per_node;
mod pods_listening;
mod ports_target;
mod service_clusterip;
mod service_exists;
mod service_selector;

/// What a check needs to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Needs {
    Api,
    Probe,
}

impl Needs {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Needs::Api => "api",
            Needs::Probe => "probe",
        }
    }
}

/// A check in the registry.
pub(crate) struct CheckDef {
    pub id: &'static str,
    pub title: &'static str,
    pub order: u8,
    pub needs: Needs,
    /// Checks whose failure makes this one meaningless: it is then skipped, not guessed.
    pub depends_on: &'static [&'static str],
    pub run: fn(&ClusterState) -> Outcome,
    /// Its runbook page, `checks/<id>.md` (what `explain <id>` prints).
    pub page: &'static str,
}

/// Every check that exists, in flow order.
pub(crate) const REGISTRY: &[CheckDef] = &[
    CheckDef {
        id: "service.exists",
        title: "The Service exists",
        order: 1,
        needs: Needs::Api,
        depends_on: &[],
        page: include_str!("../../checks/service.exists.md"),
        run: service_exists::run,
    },
    CheckDef {
        id: "service.selector",
        title: "The selector matches pods (or EndpointSlices)",
        order: 2,
        needs: Needs::Api,
        depends_on: &["service.exists"],
        page: include_str!("../../checks/service.selector.md"),
        run: service_selector::run,
    },
    CheckDef {
        id: "endpoints.ready",
        title: "Every Service port has ready endpoints",
        order: 3,
        needs: Needs::Api,
        depends_on: &["service.selector"],
        page: include_str!("../../checks/endpoints.ready.md"),
        run: endpoints_ready::run,
    },
    CheckDef {
        id: "ports.target",
        title: "Every targetPort resolves to a container port",
        order: 4,
        needs: Needs::Api,
        depends_on: &["service.selector"],
        page: include_str!("../../checks/ports.target.md"),
        run: ports_target::run,
    },
    CheckDef {
        id: "pods.listening",
        title: "The pods accept connections on their target ports",
        order: 5,
        needs: Needs::Probe,
        depends_on: &["endpoints.ready"],
        page: include_str!("../../checks/pods.listening.md"),
        run: pods_listening::run,
    },
    CheckDef {
        id: "service.clusterip",
        title: "The ClusterIP answers like the pods",
        order: 6,
        needs: Needs::Probe,
        depends_on: &["pods.listening"],
        page: include_str!("../../checks/service.clusterip.md"),
        run: service_clusterip::run,
    },
    CheckDef {
        id: "dns.resolves",
        title: "The Service's names resolve from the client's namespace",
        order: 7,
        needs: Needs::Probe,
        depends_on: &["service.exists"],
        page: include_str!("../../checks/dns.resolves.md"),
        run: dns_resolves::run,
    },
    CheckDef {
        id: "ingress.routes",
        title: "Ingresses in front of the Service route to it",
        order: 8,
        needs: Needs::Api,
        depends_on: &["service.exists"],
        page: include_str!("../../checks/ingress.routes.md"),
        run: ingress_routes::run,
    },
    CheckDef {
        id: "gateway.routes",
        title: "Gateway API routes in front of the Service attach and reach it",
        order: 9,
        needs: Needs::Api,
        depends_on: &["service.exists"],
        page: include_str!("../../checks/gateway.routes.md"),
        run: gateway_routes::run,
    },
    CheckDef {
        id: "netpol.allows",
        title: "NetworkPolicies allow the client to the pods (and to DNS)",
        order: 10,
        needs: Needs::Api,
        depends_on: &["service.selector"],
        page: include_str!("../../checks/netpol.allows.md"),
        run: netpol_allows::run,
    },
];

pub(crate) fn find(id: &str) -> Option<&'static CheckDef> {
    REGISTRY.iter().find(|c| c.id == id)
}

/// Runs every check in flow order; a check whose dependency did not pass (or warn) is skipped.
/// With per-node probes, the probe's checks judge each node's probe (`per_node`).
pub fn run_all(state: &ClusterState) -> Vec<CheckResult> {
    let nodes = state
        .per_node
        .as_ref()
        .map(|per| per_node::node_states(state, per));
    run_all_on(state, nodes.as_deref())
}

/// [`run_all`] with each node's state already built (one per per-node probe).
fn run_all_on(state: &ClusterState, node_states: Option<&[ClusterState]>) -> Vec<CheckResult> {
    let mut results: Vec<CheckResult> = Vec::with_capacity(REGISTRY.len());
    let nodes = state.per_node.as_ref().zip(node_states);
    for def in REGISTRY {
        let result = match (&nodes, def.needs) {
            (Some((per, states)), Needs::Probe) => run_one_with(def, &results, || {
                per_node::judge(def.id, def.run, per, states)
            }),
            _ => run_one(def, state, &results),
        };
        results.push(result);
    }
    results
}

/// One check, skipped when a check it depends on did not pass (or warn).
fn run_one(def: &CheckDef, state: &ClusterState, earlier: &[CheckResult]) -> CheckResult {
    run_one_with(def, earlier, || (def.run)(state))
}

/// [`run_one`] with the check run by `run`.
fn run_one_with(
    def: &CheckDef,
    earlier: &[CheckResult],
    run: impl FnOnce() -> Outcome,
) -> CheckResult {
    let blocked = def.depends_on.iter().find_map(|dep| {
        earlier
            .iter()
            .find(|r| r.id == *dep)
            .filter(|r| !matches!(r.status, Status::Pass | Status::Warn))
    });
    let outcome = match blocked {
        Some(dep) => Outcome::skip(
            SkipKind::Dependency,
            format!("depends on {} ({})", dep.id, dep.status.as_str()),
        ),
        None => run(),
    };
    outcome.into_result(def.id, def.title)
}

/// Whether an API check that comes before the probe's checks in the flow failed: a probe pod would
/// then only confirm what the API already shows, so the commands do not create one. Runs those
/// checks only.
pub(crate) fn api_failed_before_probe(state: &ClusterState) -> bool {
    let mut results: Vec<CheckResult> = Vec::new();
    for def in REGISTRY.iter().take_while(|d| d.needs == Needs::Api) {
        results.push(run_one(def, state, &results));
    }
    results.iter().any(|c| c.status == Status::Fail)
}

/// Runs the flow on a Service's state and stamps the result with its target.
/// [`diagnose`] without the checks that need a probe: `scan` is API-level by design, and three
/// skipped checks per Service would only be noise in its JUnit and Markdown.
pub(crate) fn diagnose_api(state: &ClusterState) -> crate::report::Diagnosis {
    let mut checks = run_all(state);
    checks.retain(|c| find(c.id).is_some_and(|def| def.needs == Needs::Api));
    crate::suppress::checks(&mut checks, state);
    locate(&mut checks, state);
    crate::report::Diagnosis::new(target_of(state), state.source, checks)
}

/// Where each finding points (SARIF): the field its check named, else the object it is about —
/// an Ingress or a NetworkPolicy its evidence names for those checks, else the Service — and,
/// offline, that object's manifest document (the field's line is read when SARIF is written).
fn locate(checks: &mut [crate::report::CheckResult], state: &ClusterState) {
    use crate::report::{At, Status};
    let service = crate::state::ObjectRef::new("Service", &state.namespace, &state.service_name);
    for c in checks.iter_mut() {
        if c.code.is_none() || !matches!(c.status, Status::Fail | Status::Warn) {
            continue;
        }
        if c.at.is_none() {
            let about = match c.id {
                "ingress.routes" => Some("Ingress"),
                "netpol.allows" => Some("NetworkPolicy"),
                _ => None,
            };
            let object = about
                .and_then(|kind| {
                    c.evidence
                        .iter()
                        .filter_map(|e| e.object.as_ref())
                        .find(|o| o.kind == kind)
                })
                .cloned()
                .unwrap_or_else(|| service.clone());
            c.at = Some(At {
                object,
                path: Vec::new(),
            });
        }
        let at = c.at.as_ref().expect("set above");
        c.origin = state.origins.get(&at.object).cloned();
    }
}

fn target_of(state: &ClusterState) -> crate::report::Target {
    crate::report::Target {
        kind: "Service",
        namespace: state.namespace.clone(),
        name: state.service_name.clone(),
    }
}

/// The checks of a Service's flow, the findings its annotations ignore marked (crate::suppress).
pub(crate) fn diagnose(state: &ClusterState) -> crate::report::Diagnosis {
    let node_states = state
        .per_node
        .as_ref()
        .map(|per| per_node::node_states(state, per));
    let mut checks = run_all_on(state, node_states.as_deref());
    crate::suppress::checks(&mut checks, state);
    locate(&mut checks, state);
    let mut d = crate::report::Diagnosis::new(target_of(state), state.source, checks);
    d.nodes = state
        .per_node
        .as_ref()
        .zip(node_states.as_deref())
        .map(|(per, states)| per_node::table(per, states));
    d
}

/// A read that failed, said where a conclusion depended on it: "could not read X (why): the
/// verdict may miss Y". Nothing when the fact was read (or is simply not available offline).
pub(crate) fn unread<T>(
    fact: &crate::state::Fact<T>,
    what: &str,
    may_miss: &str,
) -> Option<crate::report::Evidence> {
    match fact {
        crate::state::Fact::Unavailable(u) if u.is_incomplete() => {
            Some(crate::report::Evidence::new(
                "Unread",
                format!("could not read {what} ({}): {may_miss}", u.reason()),
            ))
        }
        _ => None,
    }
}

/// A check that cannot read a fact skips with the fact's reason.
/// The Service's spec for a check that needs its backends: skipped when the Service was not read,
/// not applicable to an ExternalName (`why`: what such a Service has not).
pub(crate) fn backed_spec(
    state: &crate::state::ClusterState,
    why: &str,
) -> Result<k8s_openapi::api::core::v1::ServiceSpec, Box<Outcome>> {
    let Some(svc) = state.service() else {
        return Err(Box::new(Outcome::skip(
            SkipKind::Dependency,
            "the Service was not read",
        )));
    };
    let spec = svc.spec.clone().unwrap_or_default();
    if spec.type_.as_deref() == Some("ExternalName") {
        return Err(Box::new(Outcome::skip(
            SkipKind::NotApplicable,
            format!("ExternalName Services have {why}"),
        )));
    }
    Ok(spec)
}

pub(crate) fn unavailable(u: &Unavailable) -> Outcome {
    let kind = match u {
        Unavailable::NotRequested(_) => SkipKind::NotRequested,
        Unavailable::Offline(_) => SkipKind::Offline,
        _ => SkipKind::Unavailable,
    };
    Outcome::skip(kind, u.reason())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_flow_order_and_dependencies_come_first() {
        for (i, def) in REGISTRY.iter().enumerate() {
            if i > 0 {
                assert!(REGISTRY[i - 1].order < def.order, "{} out of order", def.id);
            }
            for dep in def.depends_on {
                let pos = REGISTRY
                    .iter()
                    .position(|d| d.id == *dep)
                    .expect("known dependency");
                assert!(pos < i, "{} depends on later {}", def.id, dep);
            }
        }
    }
}
