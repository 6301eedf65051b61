//! `scan [-n NS | -A] [-l SELECTOR] [-f PATH]`: the API-level checks for every Service in scope,
//! plus findings about the scope itself, for CI smoke checks after deploy. Each kind is read once
//! per scope, however many Services there are.

use crate::checks;
use crate::error::{Error, Result};
use crate::netpol::{Namespaces, PodInfo, PolicySet};
use crate::report::{API_VERSION, At};
use crate::state::snapshot::Snapshot;
use crate::state::{Fact, ObjectRef, SourceKind};

pub(crate) use crate::report::{Finding, ScanReport, Summary};

/// Equality-based label selectors for offline `-l` (`a=b,c!=d,e`), as kubectl accepts them.
fn selector_matches(
    selector: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<bool> {
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let ok = if let Some((k, v)) = term.split_once("!=") {
            labels.get(k.trim()).is_none_or(|x| x != v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            labels.get(k.trim()).is_some_and(|x| x == v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            !labels.contains_key(k.trim())
        } else if term.contains([' ', '(']) {
            return Err(Error::Usage(format!(
                "-l {selector:?}: offline, only k=v, k!=v, k and !k are supported"
            )));
        } else {
            labels.contains_key(term)
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Judges every Service of the snapshot in scope.
pub(crate) fn analyse(
    snap: &Snapshot,
    scope_ns: Option<&str>,
    selector: Option<&str>,
    scope: &str,
) -> Result<ScanReport> {
    let services = in_scope(snap, scope_ns, selector)?;
    let mut items = Vec::with_capacity(services.len());
    for (ns, name) in &services {
        let mut state = snap.state_for_service(ns, name, None);
        state.scan = true;
        items.push(checks::diagnose_api(&state));
    }
    let summary = Summary::of(&items);
    let mut findings = policy_findings(snap, scope_ns);
    // Ingress backends pointing at Services or ports that do not exist (only when every Service
    // of the scope was read: with -l, absent ones may just be filtered out).
    if selector.is_none() {
        findings.extend(ingress_findings(snap, scope_ns));
    }
    findings.extend(gateway_findings(snap, scope_ns, selector.is_none()));
    for dup in snap.duplicates.iter() {
        findings.push(Finding {
            kind: "DuplicateObject",
            code: Some("ND9001"),
            message: dup.describe(),
            object: Some(dup.object.clone()),
            suppressed: None,
            at: None,
            origin: None,
        });
    }
    for (kind, u) in &snap.unavailable {
        findings.push(Finding {
            kind: "Unreadable",
            code: Some("ND9002"),
            message: format!("{kind}: {}", u.reason()),
            object: None,
            suppressed: None,
            at: None,
            origin: None,
        });
    }
    if let Fact::Unavailable(u) = &snap.namespaces_fact {
        findings.push(Finding {
            kind: "Unreadable",
            code: Some("ND9002"),
            message: format!("namespaces: {}", u.reason()),
            object: None,
            suppressed: None,
            at: None,
            origin: None,
        });
    }
    crate::suppress::findings(&mut findings, &|o| {
        crate::suppress::meta_in_snapshot(snap, o)
    });
    // What each finding points at (SARIF): its field, else its object; offline, that object's
    // manifest document.
    for f in &mut findings {
        if f.at.is_none() {
            f.at = f.object.clone().map(|object| At {
                object,
                path: Vec::new(),
            });
        }
        f.origin =
            f.at.as_ref()
                .and_then(|at| snap.origins.get(&at.object).cloned());
    }
    let mut summary = summary;
    summary.suppressed += findings.iter().filter(|f| f.suppressed.is_some()).count();
    Ok(ScanReport {
        api_version: API_VERSION,
        kind: "ScanReport",
        cluster: crate::report::live_cluster(snap.source),
        source: snap.source,
        scope: scope.to_string(),
        items,
        findings,
        summary,
    })
}

/// The Services in scope, (namespace, name) in order; offline `-l` filters here (live, the
/// server did).
fn in_scope(
    snap: &Snapshot,
    scope_ns: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let mut services: Vec<(String, String)> = Vec::new();
    for svc in &snap.services {
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        if scope_ns.is_some_and(|s| s != ns) {
            continue;
        }
        if let Some(sel) = selector {
            if snap.source == SourceKind::Manifests
                && !selector_matches(sel, &svc.metadata.labels.clone().unwrap_or_default())?
            {
                continue;
            }
        }
        services.push((ns, svc.metadata.name.clone().unwrap_or_default()));
    }
    services.sort();
    Ok(services)
}

/// NetworkPolicies that cannot work as written (they select nothing, their peers match nothing),
/// or that do not parse.
fn policy_findings(snap: &Snapshot, scope_ns: Option<&str>) -> Vec<Finding> {
    let set = match PolicySet::compile(&snap.policies) {
        Ok(set) => set,
        Err(e) => {
            return vec![Finding {
                kind: "InvalidNetworkPolicy",
                code: Some("ND8001"),
                message: e.to_string(),
                object: None,
                suppressed: None,
                at: None,
                origin: None,
            }];
        }
    };
    // Without the pods, "selects no pods" would be a guess.
    if snap.unavailable.contains_key("pods") {
        return Vec::new();
    }
    let pods: Vec<PodInfo> = snap.pods.iter().map(PodInfo::from_pod).collect();
    let nss = Namespaces::of(&snap.namespaces, false);
    set.lint(&pods, &nss, scope_ns.is_none())
        .into_iter()
        .map(|(code, policy, path, message)| {
            let object = policy
                .split_once('/')
                .map(|(ns, name)| ObjectRef::new("NetworkPolicy", ns, name));
            Finding {
                kind: "NetworkPolicy",
                code: Some(code),
                message,
                at: object.clone().map(|object| At {
                    object,
                    path: crate::source::locate::path(&path),
                }),
                object,
                suppressed: None,
                origin: None,
            }
        })
        .collect()
}

/// The Gateway API objects of the scope (crate::gateway::lint), when the API is installed and
/// its objects were read.
pub(crate) fn gateway_findings(
    snap: &Snapshot,
    scope_ns: Option<&str>,
    all_services: bool,
) -> Vec<Finding> {
    use crate::state::snapshot::part;
    let g = &snap.gateway;
    if g.installed.known() != Some(&true)
        || [part::ROUTES, part::GATEWAYS, part::GATEWAY_CLASSES]
            .iter()
            .any(|p| snap.unavailable.contains_key(p))
    {
        return Vec::new();
    }
    let (namespaces, complete) = match &g.namespaces {
        Some(Fact::Known(n)) => (n.as_slice(), true),
        _ => (snap.namespaces.as_slice(), snap.source == SourceKind::Live),
    };
    let scope = crate::gateway::lint::Scope {
        routes: &g.routes,
        gateways: &g.gateways,
        classes: &g.classes,
        services: &snap.services,
        namespaces,
        complete,
        all_services,
    };
    crate::gateway::lint::lint(&scope, scope_ns)
        .into_iter()
        .map(|l| {
            let object = ObjectRef::new(&l.kind, &l.namespace, &l.name);
            Finding {
                kind: if l.kind == "Gateway" {
                    "Gateway"
                } else {
                    "GatewayRoute"
                },
                code: Some(l.code),
                message: l.message,
                at: Some(At {
                    object: object.clone(),
                    path: crate::source::locate::path(&l.path),
                }),
                object: Some(object),
                suppressed: None,
                origin: None,
            }
        })
        .collect()
}

/// Ingress backends that name a Service, or a port of it, that does not exist.
fn ingress_findings(snap: &Snapshot, scope_ns: Option<&str>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for ing in snap
        .ingresses
        .iter()
        .filter(|i| scope_ns.is_none_or(|s| i.metadata.namespace.as_deref() == Some(s)))
    {
        let ins = ing.metadata.namespace.clone().unwrap_or_default();
        let iname = ing.metadata.name.clone().unwrap_or_default();
        // A finding about a backend, at its Service name where the Ingress writes it.
        let about = |code: &'static str, service: &str, message: String| Finding {
            kind: "IngressBackend",
            code: Some(code),
            message,
            object: Some(ObjectRef::new("Ingress", &ins, &iname)),
            suppressed: None,
            at: Some(At {
                object: ObjectRef::new("Ingress", &ins, &iname),
                path: vec![
                    crate::source::locate::Step::Key("spec".to_string()),
                    crate::source::locate::Step::Where("name".to_string(), service.to_string()),
                ],
            }),
            origin: None,
        };
        for b in crate::ingress::backends(ing) {
            let svc = snap.service(&ins, &b.name);
            let Some(svc) = svc else {
                findings.push(about(
                    "ND6020",
                    &b.name,
                    format!(
                        "Ingress {ins}/{iname} routes to Service {}, which does not exist",
                        b.name
                    ),
                ));
                continue;
            };
            let ports = svc
                .spec
                .as_ref()
                .and_then(|s| s.ports.clone())
                .unwrap_or_default();
            let ok = b.port.as_ref().is_none_or(|p| match (&p.name, p.number) {
                (Some(n), _) => ports
                    .iter()
                    .any(|sp| sp.name.as_deref() == Some(n.as_str())),
                (None, Some(n)) => ports.iter().any(|sp| sp.port == n),
                (None, None) => true,
            });
            if !ok {
                findings.push(about(
                    "ND6011",
                    &b.name,
                    format!(
                        "Ingress {ins}/{iname} routes to a port Service {} does not have",
                        b.name
                    ),
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_domain_from_the_corefile() {
        let corefile = ".:53 {\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n    }\n    forward . /etc/resolv.conf\n}\n";
        assert_eq!(
            crate::k8s::cluster_domain(corefile).as_deref(),
            Some("cluster.local")
        );
        assert_eq!(
            crate::k8s::cluster_domain("kubernetes corp.example. in-addr.arpa").as_deref(),
            Some("corp.example")
        );
        assert_eq!(
            crate::k8s::cluster_domain(".:53 { forward . 8.8.8.8 }"),
            None
        );
    }
}
