//! What is wrong with a scope's Gateway API objects themselves, whatever Service one asks about:
//! routes attached nowhere, routes sending to Services that do not exist, listeners in conflict,
//! Gateways without their class. `scan` reports them; `gateway` and `route` report those of
//! their object.

use k8s_openapi::api::core::v1::{Namespace, Service};

use super::{Attach, Gateway, GatewayClass, NamespaceLabels, Route, attach, types};

/// One finding: code, the object it is about (kind, namespace, name), the field, the sentence.
pub(crate) struct Lint {
    pub code: &'static str,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
    pub message: String,
}

/// The objects a scope holds, and how much of the cluster that is.
pub(crate) struct Scope<'a> {
    pub routes: &'a [Route],
    pub gateways: &'a [Gateway],
    pub classes: &'a [GatewayClass],
    pub services: &'a [Service],
    pub namespaces: &'a [Namespace],
    /// Whether every namespace's labels are known (live).
    pub complete: bool,
    /// Whether every Service a route may name was read (no `-l`, the route's namespace in scope).
    pub all_services: bool,
}

/// The findings of the routes and Gateways in `namespace` (all when `None`).
pub(crate) fn lint(scope: &Scope<'_>, namespace: Option<&str>) -> Vec<Lint> {
    let mut out = Vec::new();
    let in_scope = |ns: &str| namespace.is_none_or(|n| n == ns);
    let labels = NamespaceLabels {
        namespaces: scope.namespaces,
        complete: scope.complete,
    };
    for r in scope.routes.iter().filter(|r| in_scope(r.namespace())) {
        let (rns, rname) = types::key(&r.metadata);
        let on_route = |code, path: String, message| Lint {
            code,
            kind: r.kind.clone(),
            namespace: rns.clone(),
            name: rname.clone(),
            path,
            message,
        };
        let parents: Vec<_> = r
            .spec
            .parent_refs
            .iter()
            .filter(|p| p.is_gateway())
            .collect();
        let mut why = Vec::new();
        let mut attached = parents.is_empty();
        for p in &parents {
            let gns = p.namespace.clone().unwrap_or_else(|| rns.clone());
            let Some(gw) = scope
                .gateways
                .iter()
                .find(|g| g.namespace() == gns && g.metadata.name.as_deref() == Some(&p.name))
            else {
                why.push(format!("Gateway {gns}/{} does not exist", p.name));
                continue;
            };
            match attach(r, p, gw, &labels) {
                Attach::Accepted(_) | Attach::Unknown(_) => attached = true,
                Attach::Rejected(rej) => why.push(format!("{} ({})", rej.why, rej.reason)),
            }
        }
        if !attached {
            out.push(on_route(
                "ND7030",
                "spec.parentRefs".into(),
                format!(
                    "{} attaches to no Gateway: {}",
                    r.describe(),
                    why.join("; ")
                ),
            ));
        }
        if scope.all_services {
            for (ri, rule) in r.spec.rules.iter().enumerate() {
                for (bi, b) in rule.backend_refs.iter().enumerate() {
                    let bns = b.namespace.clone().unwrap_or_else(|| rns.clone());
                    if !b.is_service() || !in_scope(&bns) {
                        continue;
                    }
                    let exists = scope.services.iter().any(|s| {
                        s.metadata.namespace.as_deref() == Some(bns.as_str())
                            && s.metadata.name.as_deref() == Some(b.name.as_str())
                    });
                    if !exists {
                        out.push(on_route(
                            "ND7031",
                            format!("spec.rules.{ri}.backendRefs.{bi}.name"),
                            format!(
                                "{} sends to Service {bns}/{}, which does not exist (ResolvedRefs: BackendNotFound)",
                                r.describe(),
                                b.name
                            ),
                        ));
                    }
                }
            }
        }
    }
    for g in scope.gateways.iter().filter(|g| in_scope(g.namespace())) {
        let (gns, gname) = types::key(&g.metadata);
        let on_gateway = |code, path: String, message| Lint {
            code,
            kind: "Gateway".into(),
            namespace: gns.clone(),
            name: gname.clone(),
            path,
            message,
        };
        if !scope
            .classes
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some(g.spec.gateway_class_name.as_str()))
        {
            out.push(on_gateway(
                "ND7033",
                "spec.gatewayClassName".into(),
                format!(
                    "{} names GatewayClass {}, which does not exist: no controller programs it",
                    g.describe(),
                    g.spec.gateway_class_name
                ),
            ));
        }
        for (i, j, reason) in conflicts(g) {
            let (a, b) = (&g.spec.listeners[i], &g.spec.listeners[j]);
            out.push(on_gateway(
                "ND7032",
                format!("spec.listeners.{j}"),
                format!(
                    "{} listeners {} and {} conflict on port {} ({reason}): the controller sets Conflicted and may serve neither",
                    g.describe(),
                    a.name,
                    b.name,
                    a.port
                ),
            ));
        }
        // What the controller itself says (live).
        for ls in g.status.iter().flat_map(|s| s.listeners.iter()) {
            if let Some(c) = types::condition(&ls.conditions, "Conflicted")
                && c.status == "True"
                && !out.iter().any(|l| {
                    l.code == "ND7032"
                        && l.name == gname
                        && l.message.contains(&format!(" {} ", ls.name))
                })
            {
                out.push(on_gateway(
                    "ND7032",
                    "spec.listeners".into(),
                    format!(
                        "{} listener {} is Conflicted ({}: {})",
                        g.describe(),
                        ls.name,
                        c.reason,
                        c.message
                    ),
                ));
            }
        }
    }
    out
}

/// Listeners of one Gateway that cannot share their port, as the spec's listener compatibility
/// rules say: the same port, protocol and hostname (HostnameConflict); or, on one port, plain
/// HTTP beside a TLS protocol or a stream protocol beside HTTP (ProtocolConflict). TCP and UDP
/// may share a port number; HTTPS and TLS may, told apart by hostname (SNI).
fn conflicts(g: &Gateway) -> Vec<(usize, usize, &'static str)> {
    let family = |p: &str| match p {
        "HTTP" => "http",
        "HTTPS" | "TLS" => "tls",
        "TCP" => "tcp",
        "UDP" => "udp",
        _ => "other",
    };
    let mut out = Vec::new();
    let ls = &g.spec.listeners;
    for i in 0..ls.len() {
        for j in i + 1..ls.len() {
            let (a, b) = (&ls[i], &ls[j]);
            if a.port != b.port {
                continue;
            }
            let (fa, fb) = (family(&a.protocol), family(&b.protocol));
            let transport_differs = matches!((fa, fb), ("udp", f) | (f, "udp") if f != "udp");
            if fa != fb && !transport_differs {
                out.push((i, j, "ProtocolConflict"));
            } else if fa == fb && a.hostname == b.hostname {
                out.push((i, j, "HostnameConflict"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway(listeners: &str) -> Gateway {
        serde_saphyr::from_str(&format!(
            "metadata: {{name: g, namespace: infra}}\nspec:\n  gatewayClassName: eg\n  listeners:\n{listeners}"
        ))
        .unwrap()
    }

    #[test]
    fn listener_conflicts_follow_the_compatibility_rules() {
        // Two HTTP listeners on one port need distinct hostnames.
        let same = gateway(
            "  - {name: a, port: 80, protocol: HTTP}\n  - {name: b, port: 80, protocol: HTTP}\n",
        );
        assert_eq!(conflicts(&same), vec![(0, 1, "HostnameConflict")]);
        let distinct = gateway(
            "  - {name: a, port: 80, protocol: HTTP, hostname: a.example.com}\n  - {name: b, port: 80, protocol: HTTP, hostname: b.example.com}\n",
        );
        assert!(conflicts(&distinct).is_empty());
        // Plain HTTP and TLS cannot share a port; TCP and UDP can.
        let mixed = gateway(
            "  - {name: a, port: 443, protocol: HTTP}\n  - {name: b, port: 443, protocol: HTTPS, hostname: x.example.com}\n",
        );
        assert_eq!(conflicts(&mixed), vec![(0, 1, "ProtocolConflict")]);
        let dns = gateway(
            "  - {name: a, port: 53, protocol: TCP}\n  - {name: b, port: 53, protocol: UDP}\n",
        );
        assert!(conflicts(&dns).is_empty());
        // HTTPS and TLS share a port, told apart by SNI.
        let sni = gateway(
            "  - {name: a, port: 443, protocol: HTTPS, hostname: a.example.com}\n  - {name: b, port: 443, protocol: TLS, hostname: b.example.com}\n",
        );
        assert!(conflicts(&sni).is_empty());
    }
}
