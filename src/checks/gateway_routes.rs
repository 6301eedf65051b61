//! `gateway.routes`: every Gateway API route whose backendRefs name the Service attaches where it
//! asks to, and reaches it — computed from the spec (crate::gateway), then held against what the
//! controller wrote in the route's status.
//!
//! For each route (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute; any namespace) and each of
//! its Gateway parents: the Gateway exists → its GatewayClass exists and is Accepted by a
//! controller whose pods run → a listener admits the route (sectionName/port, namespaces, kinds,
//! hostnames) → the backendRef resolves (port, ReferenceGrant across namespaces, weight) → the
//! listener's certificates resolve → the Gateway has an address and is Programmed. Live, the
//! route's `status.parents` is then compared with the computed answer: a disagreement names both
//! (a controller bug, or a stale status when `observedGeneration` lags `generation`).

use std::time::{SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Service;

use super::ingress_routes::{CertCodes, Finding, certificate_findings};
use super::unavailable;
use crate::gateway::types::{self, Condition, ParentRef, condition};
use crate::gateway::{self as gw, Attach, Cause, Gateway, NamespaceLabels, Route};
use crate::k8s;
use crate::report::{At, Evidence, Outcome, SkipKind, Status};
use crate::state::{ClusterState, Fact, GatewayFacts, ObjectRef};
use crate::text::shell_quote as q;

const GATEWAY_CERT: CertCodes = CertCodes {
    wrong_type: "ND7025",
    keys: "ND7018",
    unreadable: "ND7018",
    validity: "ND7018",
    hosts: "ND7019",
};

/// A finding about one object (the route or a Gateway), and the field at fault.
struct Found {
    finding: Finding,
    object: ObjectRef,
    path: String,
}

fn route_ref(r: &Route) -> ObjectRef {
    let (ns, name) = types::key(&r.metadata);
    ObjectRef::new(&r.kind, &ns, &name)
}

fn gateway_ref(g: &Gateway) -> ObjectRef {
    let (ns, name) = types::key(&g.metadata);
    ObjectRef::new("Gateway", &ns, &name)
}

pub(super) fn run(state: &ClusterState) -> Outcome {
    let Some(svc) = state.service() else {
        return Outcome::skip(SkipKind::Dependency, "the Service was not read");
    };
    let facts = match &state.gateway {
        Fact::Known(f) => f,
        Fact::Unavailable(u) => return unavailable(u),
    };
    if !facts.installed {
        return Outcome::pass(
            "the Gateway API is not installed (gateway.networking.k8s.io is not served)",
        );
    }
    if facts.routes.is_empty() {
        let where_ = if state.is_offline() {
            "in the manifests"
        } else {
            "in any namespace"
        };
        return Outcome::pass(format!(
            "no Gateway API route (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) {where_} names this Service"
        ));
    }
    let mut found: Vec<Found> = Vec::new();
    let mut ok_lines = Vec::new();
    for route in &facts.routes {
        let before = found.len();
        let mut notes = Vec::new();
        for f in check_route(state, svc, facts, route) {
            if f.finding.status == Status::Pass {
                notes.push(f.finding.message);
            } else {
                found.push(f);
            }
        }
        if found.len() == before {
            ok_lines.push(format!("{}: {}", route.describe(), notes.join("; ")));
        }
    }
    let evidence = found
        .iter()
        .map(|f| Evidence::new("GatewayFinding", f.finding.message.clone()).on(f.object.clone()));
    let notes: Vec<Evidence> = ok_lines
        .iter()
        .map(|l| Evidence::new("GatewayRoute", l.clone()))
        .collect();
    let fix: Vec<String> = found.iter().filter_map(|f| f.finding.fix.clone()).collect();
    let pick = |s: Status| {
        found
            .iter()
            .filter(|f| f.finding.status == s)
            .map(|f| f.finding.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let first = |s: Status| found.iter().find(|f| f.finding.status == s);
    let stamp = |mut o: Outcome, f: Option<&Found>| {
        if let Some(f) = f {
            o.code = f.finding.code;
            o.at = Some(At {
                object: f.object.clone(),
                path: crate::source::locate::path(&f.path),
            });
        }
        o
    };
    let outcome = if let Some(f) = first(Status::Fail) {
        stamp(Outcome::fail(pick(Status::Fail)), Some(f))
    } else if let Some(f) = first(Status::Skip) {
        let kind = if state.is_offline() {
            SkipKind::Offline
        } else {
            SkipKind::Unavailable
        };
        Outcome::skip(kind, f.finding.message.clone())
    } else if let Some(f) = first(Status::Warn) {
        stamp(Outcome::warn(pick(Status::Warn)), Some(f))
    } else {
        Outcome::pass(ok_lines.join("; "))
    };
    outcome.evidence(evidence).evidence(notes).fix(fix)
}

/// The ready data-plane pods of the Gateways the Service's routes name, each with what it is
/// ("Gateway infra/public's data plane"): the policy check judges their path to the backends,
/// as it does an ingress controller's.
pub(crate) fn data_plane_pods(
    state: &ClusterState,
) -> Vec<(String, &k8s_openapi::api::core::v1::Pod)> {
    let Fact::Known(facts) = &state.gateway else {
        return Vec::new();
    };
    let (Fact::Known(gateways), Fact::Known(pods)) = (&facts.gateways, &facts.data_plane_pods)
    else {
        return Vec::new();
    };
    let parents = gw::parent_gateways(&facts.routes);
    let mut out = Vec::new();
    for g in gateways
        .iter()
        .filter(|g| parents.contains(&types::key(&g.metadata)))
    {
        for p in pods
            .iter()
            .filter(|p| gw::is_data_plane_of(g, p) && k8s::pod_ready(p) == Some(true))
        {
            if !out
                .iter()
                .any(|(_, q): &(String, &k8s_openapi::api::core::v1::Pod)| {
                    q.metadata.namespace == p.metadata.namespace
                        && q.metadata.name == p.metadata.name
                })
            {
                out.push((format!("{}'s data plane", g.describe()), p));
            }
        }
    }
    out
}

/// How to change a route (or Gateway) field: live a JSON patch (CRDs take no strategic merge, and
/// a merge patch would replace a whole list), offline the file and field to edit.
fn patch(
    state: &ClusterState,
    kind: &str,
    ns: &str,
    name: &str,
    summary: &str,
    ops: serde_json::Value,
    offline: &str,
) -> String {
    if state.is_offline() {
        format!("{offline} in {}", state.edit_location(kind, ns, name))
    } else {
        format!(
            "{summary}: kubectl patch {} {} -n {} --type json -p {}",
            kind.to_lowercase(),
            q(name),
            q(ns),
            q(&ops.to_string())
        )
    }
}

fn check_route(
    state: &ClusterState,
    svc: &Service,
    facts: &GatewayFacts,
    route: &Route,
) -> Vec<Found> {
    let mut out = Vec::new();
    let me = route_ref(route);
    let on_route = |finding: Finding, path: String| Found {
        finding,
        object: me.clone(),
        path,
    };
    if route.is_experimental() {
        out.push(on_route(
            Finding::note(format!(
                "{} is served at {} (experimental channel), judged by the same rules",
                route.kind, route.api_version
            )),
            String::new(),
        ));
    }
    let backends_ok = backends(state, svc, facts, route, &mut out);
    for (i, parent) in route.spec.parent_refs.iter().enumerate() {
        if !parent.is_gateway() {
            out.push(on_route(
                Finding::note(format!(
                    "parent {} is not a Gateway (a mesh or ListenerSet parent): not judged",
                    parent.describe(route.namespace())
                )),
                String::new(),
            ));
            continue;
        }
        let before = out.len();
        let attach = parent_findings(state, facts, route, i, parent, &mut out);
        if let Some(a) = &attach {
            if !state.is_offline() {
                out.extend(status_findings(route, i, parent, a, backends_ok));
            }
        }
        if out[before..]
            .iter()
            .all(|f| f.finding.status == Status::Pass)
            && let Some(Attach::Accepted(listeners)) = &attach
        {
            let agrees = if state.is_offline() {
                "status and controller verified live only"
            } else {
                "the controller agrees"
            };
            out.push(on_route(
                Finding::note(format!(
                    "attached to Gateway {}/{} listener {} ({agrees})",
                    parent.namespace.as_deref().unwrap_or(route.namespace()),
                    parent.name,
                    listeners.join(", ")
                )),
                String::new(),
            ));
        }
    }
    out
}

/// The backendRefs naming the Service: their port, the grant across namespaces, their weights.
/// Whether they resolve (for the status comparison).
fn backends(
    state: &ClusterState,
    svc: &Service,
    facts: &GatewayFacts,
    route: &Route,
    out: &mut Vec<Found>,
) -> Option<bool> {
    let me = route_ref(route);
    let (rns, rname) = types::key(&route.metadata);
    let svc_ns = state.namespace.as_str();
    let svc_name = state.service_name.as_str();
    let ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let listed: Vec<String> = ports.iter().map(k8s::describe_service_port).collect();
    let mut resolved = Some(true);
    // Where each reference to the Service sits: (rule, index in the rule).
    let mut refs = Vec::new();
    for (ri, rule) in route.spec.rules.iter().enumerate() {
        for (bi, b) in rule.backend_refs.iter().enumerate() {
            if b.is_service()
                && b.name == svc_name
                && b.namespace.as_deref().unwrap_or(&rns) == svc_ns
            {
                refs.push((ri, bi, b));
            }
        }
    }
    if rns != svc_ns {
        match &facts.grants {
            Fact::Known(grants) => {
                if gw::granted(grants, &route.kind, &rns, "Service", svc_ns, svc_name).is_none() {
                    resolved = Some(false);
                    let grant_name = format!("allow-{}-from-{rns}", route.kind.to_lowercase());
                    let yaml =
                        gw::grant_yaml(&grant_name, &route.kind, &rns, "Service", svc_ns, svc_name);
                    let fix = if state.is_offline() {
                        format!("add a ReferenceGrant in {svc_ns} to the manifests:\n{yaml}")
                    } else {
                        format!(
                            "grant the reference (in the Service's namespace): kubectl apply -f - <<'EOF'\n{yaml}EOF"
                        )
                    };
                    let (ri, bi, _) = refs[0];
                    out.push(Found {
                        finding: Finding::fail(
                            "ND7012",
                            format!(
                                "{} refers to Service {svc_ns}/{svc_name} in another namespace, and no ReferenceGrant in {svc_ns} permits {} from {rns} (ResolvedRefs: RefNotPermitted)",
                                route.describe(),
                                route.kind
                            ),
                            fix,
                        ),
                        object: me.clone(),
                        path: format!("spec.rules.{ri}.backendRefs.{bi}.namespace"),
                    });
                }
            }
            Fact::Unavailable(u) => {
                resolved = None;
                out.push(Found {
                    finding: Finding::skip(format!(
                        "the ReferenceGrants that would permit {} could not be read: {}",
                        route.describe(),
                        u.reason()
                    )),
                    object: me.clone(),
                    path: String::new(),
                });
            }
        }
    }
    let mut seen = Vec::new();
    for &(ri, bi, b) in &refs {
        let path = format!("/spec/rules/{ri}/backendRefs/{bi}/port");
        let field = format!("spec.rules.{ri}.backendRefs.{bi}.port");
        let first_port = ports.first().map(|p| p.port);
        match b.port {
            None => {
                resolved = Some(false);
                let fix = first_port.map(|p| {
                    patch(
                        state,
                        &route.kind,
                        &rns,
                        &rname,
                        &format!("give the backendRef port {p}"),
                        serde_json::json!([{"op": "add", "path": path, "value": p}]),
                        &format!("set rules[{ri}].backendRefs[{bi}].port to {p}"),
                    )
                });
                out.push(Found {
                    finding: Finding::fail(
                        "ND7013",
                        format!(
                            "{} rule {ri}'s backendRef to Service {svc_name} has no port: the spec requires one for a Service (its ports: {})",
                            route.describe(),
                            listed.join(", ")
                        ),
                        fix,
                    ),
                    object: me.clone(),
                    path: format!("spec.rules.{ri}.backendRefs.{bi}"),
                });
            }
            Some(p) if !ports.iter().any(|sp| sp.port == p) => {
                resolved = Some(false);
                if seen.contains(&p) {
                    continue;
                }
                seen.push(p);
                let fix = first_port.map(|fp| {
                    patch(
                        state,
                        &route.kind,
                        &rns,
                        &rname,
                        &format!("point the backendRef at port {fp}"),
                        serde_json::json!([{"op": "replace", "path": path, "value": fp}]),
                        &format!("set rules[{ri}].backendRefs[{bi}].port to {fp}"),
                    )
                });
                out.push(Found {
                    finding: Finding::fail(
                        "ND7014",
                        format!(
                            "{} sends to port {p} of Service {svc_name}, which is not one of its ports ({})",
                            route.describe(),
                            listed.join(", ")
                        ),
                        fix,
                    ),
                    object: me.clone(),
                    path: field,
                });
            }
            Some(_) => {}
        }
    }
    if !refs.is_empty() && refs.iter().all(|(_, _, b)| b.weight == Some(0)) {
        let (ri, bi, _) = refs[0];
        out.push(Found {
            finding: Finding::warn(
                "ND7015",
                format!(
                    "every backendRef of {} to Service {svc_name} has weight 0: it is sent no traffic",
                    route.describe()
                ),
                patch(
                    state,
                    &route.kind,
                    &rns,
                    &rname,
                    "give the backendRef a weight",
                    serde_json::json!([{"op": "replace", "path": format!("/spec/rules/{ri}/backendRefs/{bi}/weight"), "value": 1}]),
                    &format!("set rules[{ri}].backendRefs[{bi}].weight to 1"),
                ),
            ),
            object: me.clone(),
            path: format!("spec.rules.{ri}.backendRefs.{bi}.weight"),
        });
    }
    resolved
}

/// One Gateway parent: the Gateway, its class and controller, the listeners, their
/// certificates, its address. The computed attachment, when the Gateway was found.
fn parent_findings(
    state: &ClusterState,
    facts: &GatewayFacts,
    route: &Route,
    i: usize,
    parent: &ParentRef,
    out: &mut Vec<Found>,
) -> Option<Attach> {
    let me = route_ref(route);
    let (rns, rname) = types::key(&route.metadata);
    let gns = parent.namespace.clone().unwrap_or_else(|| rns.clone());
    let gateways = match &facts.gateways {
        Fact::Known(g) => g,
        Fact::Unavailable(u) => {
            out.push(Found {
                finding: Finding::skip(format!("Gateways could not be read: {}", u.reason())),
                object: me,
                path: String::new(),
            });
            return None;
        }
    };
    let Some(gateway) = gateways
        .iter()
        .find(|g| g.namespace() == gns && g.metadata.name.as_deref() == Some(parent.name.as_str()))
    else {
        let here: Vec<String> = gateways
            .iter()
            .filter(|g| g.namespace() == gns)
            .filter_map(|g| g.metadata.name.clone())
            .collect();
        let near = crate::text::near_names(&parent.name, &here);
        let existing = if here.is_empty() {
            format!("no Gateway exists in {gns}")
        } else {
            format!("Gateways in {gns}: {}", here.join(", "))
        };
        let fix = near.first().map(|n| {
            patch(
                state,
                &route.kind,
                &rns,
                &rname,
                &format!("attach the route to Gateway {gns}/{n}"),
                serde_json::json!([{"op": "replace", "path": format!("/spec/parentRefs/{i}/name"), "value": n}]),
                &format!("set parentRefs[{i}].name to {n}"),
            )
        });
        out.push(Found {
            finding: Finding::fail(
                "ND7001",
                format!(
                    "{} names Gateway {gns}/{}, which does not exist ({existing}): nothing serves the route",
                    route.describe(),
                    parent.name
                ),
                fix,
            ),
            object: me,
            path: format!("spec.parentRefs.{i}.name"),
        });
        return None;
    };
    out.extend(class_findings(state, facts, gateway));
    let labels = match &facts.namespaces {
        Fact::Known(n) => NamespaceLabels {
            namespaces: n,
            complete: facts.namespaces_complete,
        },
        Fact::Unavailable(_) => NamespaceLabels {
            namespaces: &[],
            complete: false,
        },
    };
    let attach = gw::attach(route, parent, gateway, &labels);
    match &attach {
        Attach::Accepted(listeners) => {
            out.extend(certificate_refs(state, facts, gateway, listeners));
            if !state.is_offline() {
                out.extend(address(state, gateway));
            }
        }
        Attach::Unknown(why) => out.push(Found {
            finding: Finding::skip(why.clone()),
            object: me,
            path: String::new(),
        }),
        Attach::Rejected(rej) => {
            let (code, fix, object, path) =
                rejection_fix(state, route, i, parent, gateway, &rej.cause);
            out.push(Found {
                finding: Finding::fail(
                    code,
                    format!(
                        "{} does not attach to {} (Accepted: {}): {}",
                        route.describe(),
                        gateway.describe(),
                        rej.reason,
                        rej.why
                    ),
                    fix,
                ),
                object,
                path,
            });
        }
    }
    Some(attach)
}

/// The code, fix and field at fault for a route no listener admits.
fn rejection_fix(
    state: &ClusterState,
    route: &Route,
    i: usize,
    parent: &ParentRef,
    gateway: &Gateway,
    cause: &Cause,
) -> (&'static str, Option<String>, ObjectRef, String) {
    let (rns, rname) = types::key(&route.metadata);
    let (gns, gname) = types::key(&gateway.metadata);
    let listener = |l: usize| gateway.spec.listeners.get(l);
    match cause {
        Cause::NoListener { names } => {
            // A sectionName that is near a listener's name: the typo; else the port.
            let fix = match (&parent.section_name, parent.port) {
                (Some(s), _) => {
                    let near = crate::text::near_names(s, names);
                    near.first().or(names.first()).map(|n| {
                        patch(
                            state,
                            &route.kind,
                            &rns,
                            &rname,
                            &format!("attach to listener {n}"),
                            serde_json::json!([{"op": "replace", "path": format!("/spec/parentRefs/{i}/sectionName"), "value": n}]),
                            &format!("set parentRefs[{i}].sectionName to {n}"),
                        )
                    })
                }
                (None, Some(_)) => Some(patch(
                    state,
                    &route.kind,
                    &rns,
                    &rname,
                    "drop the port so any listener may admit the route",
                    serde_json::json!([{"op": "remove", "path": format!("/spec/parentRefs/{i}/port")}]),
                    &format!("remove parentRefs[{i}].port"),
                )),
                (None, None) => None,
            };
            let field = if parent.section_name.is_some() {
                "sectionName"
            } else {
                "port"
            };
            (
                "ND7008",
                fix,
                route_ref(route),
                format!("spec.parentRefs.{i}.{field}"),
            )
        }
        Cause::Namespace {
            listener: l,
            from,
            wants,
        } => {
            let lname = listener(*l).map(|x| x.name.clone()).unwrap_or_default();
            let fix = if from == "Selector" && !wants.is_empty() {
                let labels: Vec<String> = wants.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if state.is_offline() {
                    Some(format!(
                        "label namespace {rns} with {} in {}",
                        labels.join(","),
                        state.edit_location("Namespace", &rns, &rns)
                    ))
                } else {
                    Some(format!(
                        "label the route's namespace as listener {lname} selects: kubectl label namespace {} {}",
                        q(&rns),
                        labels.iter().map(|l| q(l)).collect::<Vec<_>>().join(" ")
                    ))
                }
            } else {
                // Same (or None): the Gateway's owner admits the route's namespace beside its own.
                let value = serde_json::json!({"from": "Selector", "selector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": [gns, rns]}]}});
                Some(patch(
                    state,
                    "Gateway",
                    &gns,
                    &gname,
                    &format!(
                        "the Gateway's owner admits routes from {rns} (and still {gns}) on listener {lname}"
                    ),
                    serde_json::json!([{"op": "add", "path": format!("/spec/listeners/{l}/allowedRoutes/namespaces"), "value": value}]),
                    &format!(
                        "set listeners[{l}].allowedRoutes.namespaces to from: Selector over kubernetes.io/metadata.name in ({gns}, {rns})"
                    ),
                ))
            };
            (
                "ND7009",
                fix,
                gateway_ref(gateway),
                format!("spec.listeners.{l}.allowedRoutes.namespaces"),
            )
        }
        Cause::Kind {
            listener: l,
            explicit,
            ..
        } => {
            let lname = listener(*l).map(|x| x.name.clone()).unwrap_or_default();
            let fix = explicit.then(|| {
                patch(
                    state,
                    "Gateway",
                    &gns,
                    &gname,
                    &format!("the Gateway's owner admits {} on listener {lname}", route.kind),
                    serde_json::json!([{"op": "add", "path": format!("/spec/listeners/{l}/allowedRoutes/kinds/-"), "value": {"kind": route.kind}}]),
                    &format!("add kind {} to listeners[{l}].allowedRoutes.kinds", route.kind),
                )
            });
            (
                "ND7010",
                fix,
                gateway_ref(gateway),
                format!("spec.listeners.{l}.allowedRoutes.kinds"),
            )
        }
        Cause::Hostname { hostname, .. } => {
            // The listener's own name (or, for a wildcard, the route's first name under it).
            // (`www.` under a wildcard whose apex the route names).
            let suggestion = match hostname.strip_prefix("*.") {
                None => Some(hostname.clone()),
                Some(suffix) => route
                    .spec
                    .hostnames
                    .first()
                    .map(|h| match h.as_str() {
                        apex if apex == suffix => format!("www.{suffix}"),
                        h => format!("{}.{suffix}", h.split('.').next().unwrap_or("www")),
                    })
                    .filter(|h| gw::intersects(hostname, h)),
            };
            let fix = suggestion.map(|h| {
                patch(
                    state,
                    &route.kind,
                    &rns,
                    &rname,
                    &format!("add hostname {h}, which listener serves"),
                    serde_json::json!([{"op": "add", "path": "/spec/hostnames/-", "value": h}]),
                    &format!("add {h} to spec.hostnames"),
                )
            });
            (
                "ND7011",
                fix,
                route_ref(route),
                "spec.hostnames".to_string(),
            )
        }
    }
}

/// The Gateway's class: it exists, a controller accepted it, the controller's pods run.
fn class_findings(state: &ClusterState, facts: &GatewayFacts, gateway: &Gateway) -> Vec<Found> {
    let mut out = Vec::new();
    let me = gateway_ref(gateway);
    let (gns, gname) = types::key(&gateway.metadata);
    let name = &gateway.spec.gateway_class_name;
    let found = |finding: Finding, path: &str| Found {
        finding,
        object: me.clone(),
        path: path.to_string(),
    };
    let classes = match &facts.classes {
        Fact::Known(c) => c,
        Fact::Unavailable(u) => {
            return vec![found(
                Finding::skip(format!("GatewayClasses could not be read: {}", u.reason())),
                "",
            )];
        }
    };
    let Some(class) = classes
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
    else {
        let names: Vec<String> = classes
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        let existing = if names.is_empty() {
            "none exists".to_string()
        } else {
            format!("existing: {}", names.join(", "))
        };
        let fix = names.first().map(|n| {
            if state.is_offline() {
                format!(
                    "set spec.gatewayClassName to {n} in {}",
                    state.edit_location("Gateway", &gns, &gname)
                )
            } else {
                format!(
                    "kubectl patch gateway {} -n {} --type merge -p {}",
                    q(&gname),
                    q(&gns),
                    q(&serde_json::json!({"spec": {"gatewayClassName": n}}).to_string())
                )
            }
        });
        out.push(found(
            Finding::fail(
                "ND7002",
                format!(
                    "{} names GatewayClass {name}, which does not exist ({existing}): no controller programs it",
                    gateway.describe()
                ),
                fix,
            ),
            "spec.gatewayClassName",
        ));
        return out;
    };
    let controller_name = class.spec.controller_name.as_str();
    let known = gw::controller(controller_name);
    if state.is_offline() {
        let who = known.map_or(controller_name, |c| c.name);
        out.push(found(
            Finding::note(format!(
                "GatewayClass {name} ({who}): its acceptance and controller are verified live only"
            )),
            "",
        ));
        return out;
    }
    let conditions = class
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    match condition(conditions, "Accepted") {
        Some(c) if c.status == "True" => {}
        other => {
            let said = other.map_or("no Accepted condition".to_string(), describe_condition);
            out.push(found(
                Finding::fail(
                    "ND7003",
                    format!(
                        "GatewayClass {name} is not accepted by a controller ({said}): no controller claims {controller_name}, or it refused the class"
                    ),
                    Some(format!("kubectl describe gatewayclass {}", q(name))),
                ),
                "spec.gatewayClassName",
            ));
        }
    }
    let Some(c) = known else {
        out.push(found(
            Finding::warn(
                "ND7004",
                format!(
                    "GatewayClass {name} names controller {controller_name}, which this tool does not know: its pods were not looked for"
                ),
                None,
            ),
            "",
        ));
        return out;
    };
    if c.outside {
        out.push(found(
            Finding::warn(
                "ND7005",
                format!(
                    "{} runs outside the cluster: it cannot be verified from inside",
                    c.name
                ),
                None,
            ),
            "",
        ));
        return out;
    }
    let pods = match &facts.controller_pods {
        Fact::Known(p) => p,
        Fact::Unavailable(u) => {
            out.push(found(Finding::skip(u.reason()), ""));
            return out;
        }
    };
    let mine: Vec<_> = pods
        .iter()
        .filter(|p| crate::ingress::pod_is(c, &k8s::labels_of(p)))
        .collect();
    if mine.is_empty() {
        out.push(found(
            Finding::fail(
                "ND7006",
                format!(
                    "no {} controller pods run in the cluster (searched every namespace for {})",
                    c.name,
                    c.pod_selectors.join(", ")
                ),
                Some(format!(
                    "install or start the controller, then check: kubectl get pods -A -l {}",
                    q(c.pod_selectors[0])
                )),
            ),
            "",
        ));
    } else if !mine.iter().any(|p| k8s::pod_ready(p) == Some(true)) {
        let p = mine[0];
        out.push(found(
            Finding::fail(
                "ND7007",
                format!(
                    "{} controller pods exist but none is ready ({})",
                    c.name,
                    mine.iter()
                        .map(|p| format!(
                            "{}/{}",
                            p.metadata.namespace.clone().unwrap_or_default(),
                            k8s::name_of(&p.metadata)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(format!(
                    "kubectl describe pod {} -n {}",
                    q(k8s::name_of(&p.metadata)),
                    q(p.metadata.namespace.as_deref().unwrap_or_default())
                )),
            ),
            "",
        ));
    }
    out
}

fn describe_condition(c: &Condition) -> String {
    let mut s = format!("{}={}", c.type_, c.status);
    if !c.reason.is_empty() {
        s.push_str(&format!(", {}", c.reason));
    }
    if !c.message.is_empty() {
        s.push_str(&format!(": {}", c.message));
    }
    s
}

/// The certificates of the listeners the route attaches to (HTTPS, and TLS that terminates).
fn certificate_refs(
    state: &ClusterState,
    facts: &GatewayFacts,
    gateway: &Gateway,
    attached: &[String],
) -> Vec<Found> {
    let mut out = Vec::new();
    let me = gateway_ref(gateway);
    let gns = gateway.namespace().to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for (li, l) in gateway.spec.listeners.iter().enumerate() {
        if !attached.contains(&l.name) {
            continue;
        }
        let Some(tls) = &l.tls else { continue };
        if tls.mode.as_deref() == Some("Passthrough") {
            continue;
        }
        for (ci, c) in tls.certificate_refs.iter().enumerate() {
            let path = format!("spec.listeners.{li}.tls.certificateRefs.{ci}");
            let found = |finding: Finding| Found {
                finding,
                object: me.clone(),
                path: path.clone(),
            };
            if !c.group.as_deref().unwrap_or("").is_empty()
                || c.kind.as_deref().unwrap_or("Secret") != "Secret"
            {
                continue;
            }
            let sns = c.namespace.clone().unwrap_or_else(|| gns.clone());
            if sns != gns {
                match &facts.grants {
                    Fact::Known(grants) => {
                        if gw::granted(grants, "Gateway", &gns, "Secret", &sns, &c.name).is_none() {
                            let yaml = gw::grant_yaml(
                                &format!("allow-gateway-from-{gns}"),
                                "Gateway",
                                &gns,
                                "Secret",
                                &sns,
                                &c.name,
                            );
                            let fix = if state.is_offline() {
                                format!("add a ReferenceGrant in {sns} to the manifests:\n{yaml}")
                            } else {
                                format!(
                                    "grant the reference (in the Secret's namespace): kubectl apply -f - <<'EOF'\n{yaml}EOF"
                                )
                            };
                            out.push(found(Finding::fail(
                                "ND7017",
                                format!(
                                    "{} listener {} uses Secret {sns}/{} from another namespace, and no ReferenceGrant in {sns} permits it (ResolvedRefs: RefNotPermitted)",
                                    gateway.describe(),
                                    l.name,
                                    c.name
                                ),
                                fix,
                            )));
                            continue;
                        }
                    }
                    Fact::Unavailable(u) => {
                        out.push(found(Finding::skip(format!(
                            "ReferenceGrants could not be read: {}",
                            u.reason()
                        ))));
                        continue;
                    }
                }
            }
            let secret = facts
                .secrets
                .iter()
                .find(|(n, m, _)| *n == sns && *m == c.name)
                .map(|(_, _, f)| f);
            match secret {
                None | Some(Fact::Known(None)) => out.push(found(Finding::fail(
                    "ND7016",
                    format!(
                        "{} listener {}: certificate Secret {sns}/{} does not exist (ResolvedRefs: InvalidCertificateRef)",
                        gateway.describe(),
                        l.name,
                        c.name
                    ),
                    Some(format!(
                        "kubectl create secret tls {} -n {} --cert=tls.crt --key=tls.key",
                        q(&c.name),
                        q(&sns)
                    )),
                ))),
                Some(Fact::Unavailable(u)) => out.push(found(Finding::skip(format!(
                    "certificate Secret {sns}/{}: {}",
                    c.name,
                    u.reason()
                )))),
                Some(Fact::Known(Some(s))) => {
                    let hosts: Vec<String> = l.hostname.iter().cloned().collect();
                    for f in certificate_findings(&sns, &c.name, s, &hosts, now, &GATEWAY_CERT) {
                        out.push(found(Finding {
                            message: format!("{} listener {}: {}", gateway.describe(), l.name, f.message),
                            ..f
                        }));
                    }
                }
            }
        }
    }
    out
}

/// Live: the Gateway has an address and says Programmed.
fn address(state: &ClusterState, gateway: &Gateway) -> Vec<Found> {
    let _ = state;
    let mut out = Vec::new();
    let me = gateway_ref(gateway);
    let (gns, gname) = types::key(&gateway.metadata);
    let status = gateway.status.clone().unwrap_or_default();
    let describe = format!("kubectl describe gateway {} -n {}", q(&gname), q(&gns));
    if status.addresses.is_empty() {
        out.push(Found {
            finding: Finding::warn(
                "ND7020",
                format!(
                    "{} has no address (status.addresses is empty): its controller has not provisioned it, or its load balancer is pending",
                    gateway.describe()
                ),
                Some(describe.clone()),
            ),
            object: me.clone(),
            path: String::new(),
        });
    }
    match condition(&status.conditions, "Programmed") {
        Some(c) if c.status == "True" => {}
        other => out.push(Found {
            finding: Finding::warn(
                "ND7021",
                format!(
                    "{} is not Programmed ({})",
                    gateway.describe(),
                    other.map_or("no Programmed condition".to_string(), describe_condition)
                ),
                Some(describe),
            ),
            object: me,
            path: String::new(),
        }),
    }
    out
}

/// Live: what the controller wrote for this parent, against what the spec says.
fn status_findings(
    route: &Route,
    i: usize,
    parent: &ParentRef,
    computed: &Attach,
    backends_ok: Option<bool>,
) -> Vec<Found> {
    let me = route_ref(route);
    let rns = route.namespace();
    let found = |finding: Finding| Found {
        finding,
        object: me.clone(),
        path: format!("spec.parentRefs.{i}"),
    };
    let entry = route
        .status
        .as_ref()
        .and_then(|s| s.parents.iter().find(|p| p.parent_ref.same_as(parent, rns)));
    let describe = format!(
        "kubectl describe {} {} -n {}",
        route.kind.to_lowercase(),
        q(k8s::name_of(&route.metadata)),
        q(rns)
    );
    let Some(entry) = entry else {
        if matches!(computed, Attach::Accepted(_)) {
            return vec![found(Finding::warn(
                "ND7024",
                format!(
                    "no controller has written status for {} on {}: the route is not reconciled yet, or no controller watches that Gateway's class",
                    route.describe(),
                    parent.describe(rns)
                ),
                Some(describe),
            ))];
        }
        return Vec::new();
    };
    let generation = route.metadata.generation.unwrap_or(0);
    let accepted = condition(&entry.conditions, "Accepted");
    if let Some(c) = accepted
        && let Some(seen) = c.observed_generation
        && seen < generation
    {
        return vec![found(Finding::warn(
            "ND7023",
            format!(
                "the status {} wrote for {} is stale (observedGeneration {seen}, generation {generation}): it has not reconciled the route's latest spec",
                entry.controller_name,
                route.describe()
            ),
            Some(describe),
        ))];
    }
    let mut out = Vec::new();
    let who = if entry.controller_name.is_empty() {
        "the controller".to_string()
    } else {
        format!("the controller ({})", entry.controller_name)
    };
    match (computed, accepted) {
        (Attach::Accepted(l), Some(c)) if c.status == "False" => out.push(found(Finding::warn(
            "ND7022",
            format!(
                "{who} reports {} for {} on {}, the spec says it attaches to listener {}: a controller bug, or an implementation limit",
                describe_condition(c),
                route.describe(),
                parent.describe(rns),
                l.join(", ")
            ),
            Some(describe.clone()),
        ))),
        (Attach::Rejected(r), Some(c)) if c.status == "True" => out.push(found(Finding::warn(
            "ND7022",
            format!(
                "{who} reports Accepted=True for {} on {}, the spec says {}: the controller does not enforce the rule (traffic may flow today and stop when it does)",
                route.describe(),
                parent.describe(rns),
                r.reason
            ),
            None,
        ))),
        _ => {}
    }
    let resolved = condition(&entry.conditions, "ResolvedRefs");
    match (backends_ok, resolved) {
        (Some(true), Some(c)) if c.status == "False" => out.push(found(Finding::warn(
            "ND7022",
            format!(
                "{who} reports {} for {}, the spec says its references to this Service resolve",
                describe_condition(c),
                route.describe()
            ),
            Some(describe),
        ))),
        (Some(false), Some(c)) if c.status == "True" => out.push(found(Finding::warn(
            "ND7022",
            format!(
                "{who} reports ResolvedRefs=True for {}, the spec says a reference to this Service does not resolve",
                route.describe()
            ),
            None,
        ))),
        _ => {}
    }
    out
}
