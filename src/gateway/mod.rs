//! The Gateway API's attachment rules, computed from the spec (gateway.networking.k8s.io v1):
//! which listeners of a Gateway accept a route for one of its parentRefs, and whether a
//! backendRef or certificateRef may cross namespaces. Pure functions of the objects: the
//! `gateway.routes` check holds their answers against the status a controller wrote.
//!
//! The rules, as the API's own documentation states them (apis/v1 of sigs.k8s.io/gateway-api):
//! - A parentRef's `sectionName` names one listener, its `port` the listeners on that port; none
//!   left → Accepted=False, reason NoMatchingParent.
//! - A listener admits a route when its `allowedRoutes.namespaces` admits the route's namespace
//!   (Same — the default —, All, Selector over the namespace's labels, None) and its
//!   `allowedRoutes.kinds` (or, when empty, the kinds its protocol carries) list the route's kind;
//!   otherwise NotAllowedByListeners.
//! - Hostnames: when both the listener and the route name hostnames, at least one must intersect
//!   (`*.example.com` matches `test.example.com` and `foo.test.example.com`, not `example.com`);
//!   otherwise NoMatchingListenerHostname.
//! - A reference to another namespace (a backendRef, a listener's certificateRef) is permitted
//!   only by a ReferenceGrant in the referent's namespace naming the referrer's kind and
//!   namespace; otherwise ResolvedRefs=False, reason RefNotPermitted.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;

use crate::ingress::Controller;
use crate::netpol::selector::{Labels, Match, Selector};

pub(crate) mod lint;
pub(crate) mod types;

use types::GROUP;
pub(crate) use types::{Gateway, GatewayClass, Listener, ParentRef, ReferenceGrant, Route};

/// Known Gateway API implementations: the `controllerName` their GatewayClasses carry and the
/// labels of their controller's pods (any namespace).
pub(crate) const CONTROLLERS: &[Controller] = &[
    Controller {
        name: "Envoy Gateway",
        class_controllers: &["gateway.envoyproxy.io/gatewayclass-controller"],
        annotation_values: &[],
        pod_selectors: &[
            "app.kubernetes.io/name=envoy-gateway",
            "control-plane=envoy-gateway",
        ],
        outside: false,
    },
    Controller {
        name: "Istio",
        class_controllers: &["istio.io/gateway-controller", "istio.io/ingress-controller"],
        annotation_values: &[],
        pod_selectors: &["app=istiod", "istio=pilot"],
        outside: false,
    },
    Controller {
        name: "Cilium",
        class_controllers: &["io.cilium/gateway-controller"],
        annotation_values: &[],
        pod_selectors: &["io.cilium/app=operator", "name=cilium-operator"],
        outside: false,
    },
    Controller {
        name: "NGINX Gateway Fabric",
        class_controllers: &["gateway.nginx.org/nginx-gateway-controller"],
        annotation_values: &[],
        pod_selectors: &[
            "app.kubernetes.io/name=nginx-gateway-fabric",
            "app.kubernetes.io/name=nginx-gateway",
        ],
        outside: false,
    },
    Controller {
        name: "Contour",
        class_controllers: &["projectcontour.io/gateway-controller"],
        annotation_values: &[],
        pod_selectors: &["app.kubernetes.io/name=contour", "app=contour"],
        outside: false,
    },
    Controller {
        name: "Kong",
        class_controllers: &["konghq.com/kic-gateway-controller"],
        annotation_values: &[],
        pod_selectors: &["app.kubernetes.io/name=kong", "app=kong"],
        outside: false,
    },
    Controller {
        name: "Traefik",
        class_controllers: &["traefik.io/gateway-controller"],
        annotation_values: &[],
        pod_selectors: &["app.kubernetes.io/name=traefik", "app=traefik"],
        outside: false,
    },
    Controller {
        name: "kgateway",
        class_controllers: &["kgateway.dev/kgateway"],
        annotation_values: &[],
        pod_selectors: &["app.kubernetes.io/name=kgateway", "kgateway=kgateway"],
        outside: false,
    },
    Controller {
        name: "HAProxy Kubernetes Gateway",
        class_controllers: &["haproxy.org/gateway-controller"],
        annotation_values: &[],
        pod_selectors: &["app.kubernetes.io/name=haproxy-unified-gateway"],
        outside: false,
    },
    Controller {
        name: "GKE Gateway",
        class_controllers: &["networking.gke.io/gateway"],
        annotation_values: &[],
        pod_selectors: &[],
        outside: true,
    },
    Controller {
        name: "AWS Gateway API Controller (VPC Lattice)",
        class_controllers: &["application-networking.k8s.aws/gateway-api-controller"],
        annotation_values: &[],
        pod_selectors: &["app.kubernetes.io/name=gateway-api-controller"],
        outside: false,
    },
];

/// The label selectors of a Gateway's data-plane pods (the proxies that carry its traffic to the
/// backends), as the implementations that deploy one per Gateway label them: the Gateway API's
/// own `gateway.networking.k8s.io/gateway-name` (GEP-1762: Istio, kgateway, NGINX Gateway
/// Fabric) in the Gateway's namespace, Envoy Gateway's owning-gateway labels in any namespace
/// (its proxies run in its own), Contour's provisioner's. With the namespace to search (`None`:
/// every namespace).
pub(crate) fn data_plane_selectors(gw: &Gateway) -> Vec<(Option<String>, String)> {
    let (ns, name) = types::key(&gw.metadata);
    vec![
        (
            Some(ns.clone()),
            format!("gateway.networking.k8s.io/gateway-name={name}"),
        ),
        (
            None,
            format!(
                "gateway.envoyproxy.io/owning-gateway-name={name},gateway.envoyproxy.io/owning-gateway-namespace={ns}"
            ),
        ),
        (
            Some(ns),
            format!("projectcontour.io/owning-gateway-name={name}"),
        ),
    ]
}

/// Whether a pod is one of a Gateway's data-plane pods (its labels against
/// [`data_plane_selectors`]).
pub(crate) fn is_data_plane_of(gw: &Gateway, pod: &k8s_openapi::api::core::v1::Pod) -> bool {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let pod_ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    data_plane_selectors(gw).iter().any(|(ns, sel)| {
        ns.as_deref().is_none_or(|n| n == pod_ns)
            && sel.split(',').all(|term| {
                term.split_once('=')
                    .is_some_and(|(k, v)| labels.get(k).is_some_and(|x| x == v))
            })
    })
}

/// The implementation a GatewayClass's `controllerName` names, if known.
pub(crate) fn controller(name: &str) -> Option<&'static Controller> {
    CONTROLLERS
        .iter()
        .find(|c| c.class_controllers.contains(&name))
}

/// Whether two hostnames (either may be a `*.` wildcard) have a name in common. A wildcard is a
/// suffix match of one or more labels: `*.example.com` covers `a.example.com` and
/// `a.b.example.com`, never `example.com`.
pub(crate) fn intersects(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    match (a.strip_prefix("*."), b.strip_prefix("*.")) {
        (None, None) => a == b,
        (Some(suffix), None) => b.ends_with(&format!(".{suffix}")),
        (None, Some(suffix)) => a.ends_with(&format!(".{suffix}")),
        // Two wildcards share the names of the narrower one when one's suffix is under the other.
        (Some(x), Some(y)) => {
            x == y || x.ends_with(&format!(".{y}")) || y.ends_with(&format!(".{x}"))
        }
    }
}

/// The route kinds a listener's protocol carries when `allowedRoutes.kinds` is empty.
fn kinds_for_protocol(listener: &Listener) -> Option<&'static [&'static str]> {
    let terminate = listener
        .tls
        .as_ref()
        .and_then(|t| t.mode.as_deref())
        .is_none_or(|m| m == "Terminate");
    Some(match listener.protocol.as_str() {
        "HTTP" | "HTTPS" => &["HTTPRoute", "GRPCRoute"],
        "TLS" if terminate => &["TLSRoute", "TCPRoute"],
        "TLS" => &["TLSRoute"],
        "TCP" => &["TCPRoute"],
        "UDP" => &["UDPRoute"],
        // An implementation's own protocol ("example.com/quic"): its kinds are its own.
        _ => return None,
    })
}

/// Whether a route kind names hostnames (the listener's hostname is ignored for the others).
fn has_hostnames(kind: &str) -> bool {
    matches!(kind, "HTTPRoute" | "GRPCRoute" | "TLSRoute")
}

/// What the spec says about one parentRef of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attach {
    /// Attached to these listeners (by name).
    Accepted(Vec<String>),
    /// Not accepted: the spec's reason and what excluded it.
    Rejected(Rejection),
    /// Depends on what is not known (a namespace's labels offline).
    Unknown(String),
}

/// Why no listener accepts a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rejection {
    /// The spec's reason: NoMatchingParent, NotAllowedByListeners, NoMatchingListenerHostname.
    pub reason: &'static str,
    pub why: String,
    /// What excluded it, to build the fix from.
    pub cause: Cause,
}

/// What kept a route off a listener (for the fix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// sectionName/port names no listener; the listeners there are.
    NoListener { names: Vec<String> },
    /// The listener's namespaces policy: Same, None, or a Selector (its matchLabels).
    Namespace {
        listener: usize,
        from: String,
        wants: BTreeMap<String, String>,
    },
    /// The listener's kinds (explicit, or its protocol's).
    Kind {
        listener: usize,
        allowed: Vec<String>,
        explicit: bool,
    },
    /// No route hostname intersects the listener's.
    Hostname { listener: usize, hostname: String },
}

/// Namespace labels for `allowedRoutes.namespaces.from: Selector`: every namespace read, and
/// whether that is all of them (live: yes; offline: only the manifests' — another namespace's
/// labels are unknown, bar its name).
pub(crate) struct NamespaceLabels<'a> {
    pub namespaces: &'a [Namespace],
    pub complete: bool,
}

impl NamespaceLabels<'_> {
    fn matches(&self, selector: &Selector, ns: &str) -> Match {
        match self
            .namespaces
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(ns))
        {
            Some(n) => selector.matches_partial(Labels::Known(&types::namespace_labels(n))),
            None => {
                let only_name: BTreeMap<String, String> =
                    [("kubernetes.io/metadata.name".to_string(), ns.to_string())].into();
                if self.complete {
                    // A namespace that does not exist admits nothing it could hold.
                    selector.matches_partial(Labels::Known(&only_name))
                } else {
                    selector.matches_partial(Labels::Partial(&only_name))
                }
            }
        }
    }
}

/// One listener's verdict on a route.
enum ListenerSays {
    Admits,
    Namespace(Cause, String),
    Kind(Cause, String),
    Hostname(Cause, String),
    Unknown(String),
}

fn judge_listener(
    route: &Route,
    gw: &Gateway,
    i: usize,
    l: &Listener,
    labels: &NamespaceLabels<'_>,
) -> ListenerSays {
    let route_ns = route.namespace();
    // Kinds first: a listener that cannot carry the kind is not a candidate at all.
    let allowed = l.allowed_routes.as_ref();
    let explicit: Vec<String> = allowed
        .map(|a| {
            a.kinds
                .iter()
                .filter(|k| k.group.as_deref().unwrap_or(GROUP) == GROUP)
                .map(|k| k.kind.clone())
                .collect()
        })
        .unwrap_or_default();
    let kind_ok = if allowed.is_some_and(|a| !a.kinds.is_empty()) {
        Some(explicit.clone())
    } else {
        kinds_for_protocol(l).map(|k| k.iter().map(|s| s.to_string()).collect())
    };
    if let Some(kinds) = &kind_ok
        && !kinds.contains(&route.kind)
    {
        let list = if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        };
        let how = if allowed.is_some_and(|a| !a.kinds.is_empty()) {
            format!("its allowedRoutes.kinds are {list}")
        } else {
            format!("a {} listener carries {list}", l.protocol)
        };
        return ListenerSays::Kind(
            Cause::Kind {
                listener: i,
                allowed: kinds.clone(),
                explicit: allowed.is_some_and(|a| !a.kinds.is_empty()),
            },
            format!("listener {} does not admit {}: {how}", l.name, route.kind),
        );
    }
    // Namespaces.
    let ns_policy = allowed.and_then(|a| a.namespaces.as_ref());
    let from = ns_policy
        .and_then(|n| n.from.clone())
        .unwrap_or_else(|| "Same".into());
    let ns_cause = |wants: BTreeMap<String, String>| Cause::Namespace {
        listener: i,
        from: from.clone(),
        wants,
    };
    match from.as_str() {
        "All" => {}
        "Same" if route_ns == gw.namespace() => {}
        "Same" => {
            return ListenerSays::Namespace(
                ns_cause(BTreeMap::new()),
                format!(
                    "listener {} admits routes from its own namespace only (allowedRoutes.namespaces.from: Same), and the route is in {route_ns}, the Gateway in {}",
                    l.name,
                    gw.namespace()
                ),
            );
        }
        "Selector" => {
            let sel = ns_policy
                .and_then(|n| n.selector.clone())
                .unwrap_or_default();
            let wants = sel.match_labels.clone().unwrap_or_default();
            let compiled = match Selector::compile(&sel) {
                Ok(s) => s,
                Err(e) => {
                    return ListenerSays::Namespace(
                        ns_cause(wants),
                        format!(
                            "listener {} has an invalid namespace selector ({e})",
                            l.name
                        ),
                    );
                }
            };
            match labels.matches(&compiled, route_ns) {
                Match::Yes => {}
                Match::No => {
                    return ListenerSays::Namespace(
                        ns_cause(wants),
                        format!(
                            "listener {} admits routes from namespaces matching {compiled}, and namespace {route_ns} does not match",
                            l.name
                        ),
                    );
                }
                Match::Unknown => {
                    return ListenerSays::Unknown(format!(
                        "listener {} admits routes from namespaces matching {compiled}: namespace {route_ns}'s labels are not in the manifests (not verifiable offline)",
                        l.name
                    ));
                }
            }
        }
        other => {
            // None (or a value this version does not know): no route attaches.
            return ListenerSays::Namespace(
                ns_cause(BTreeMap::new()),
                format!(
                    "listener {} admits routes from no namespace (allowedRoutes.namespaces.from: {other})",
                    l.name
                ),
            );
        }
    }
    // Hostnames (only for protocols and kinds that have them).
    if let Some(lh) = &l.hostname
        && has_hostnames(&route.kind)
        && matches!(l.protocol.as_str(), "HTTP" | "HTTPS" | "TLS")
        && !route.spec.hostnames.is_empty()
        && !route.spec.hostnames.iter().any(|h| intersects(lh, h))
    {
        return ListenerSays::Hostname(
            Cause::Hostname {
                listener: i,
                hostname: lh.clone(),
            },
            format!(
                "listener {} serves {lh}, and none of the route's hostnames ({}) is under it",
                l.name,
                route.spec.hostnames.join(", ")
            ),
        );
    }
    ListenerSays::Admits
}

/// What the spec says about a route and one of its Gateway parents.
pub(crate) fn attach(
    route: &Route,
    parent: &ParentRef,
    gw: &Gateway,
    labels: &NamespaceLabels<'_>,
) -> Attach {
    let listeners: Vec<(usize, &Listener)> = gw
        .spec
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| parent.section_name.as_ref().is_none_or(|s| *s == l.name))
        .filter(|(_, l)| parent.port.is_none_or(|p| p == l.port))
        .collect();
    if listeners.is_empty() {
        let names: Vec<String> = gw
            .spec
            .listeners
            .iter()
            .map(|l| format!("{} (port {}, {})", l.name, l.port, l.protocol))
            .collect();
        let wanted = match (&parent.section_name, parent.port) {
            (Some(s), Some(p)) => format!("sectionName {s} on port {p}"),
            (Some(s), None) => format!("sectionName {s}"),
            (None, Some(p)) => format!("port {p}"),
            (None, None) => "any listener".into(),
        };
        return Attach::Rejected(Rejection {
            reason: "NoMatchingParent",
            why: format!(
                "{} has no listener for {wanted} (its listeners: {})",
                gw.describe(),
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ),
            cause: Cause::NoListener {
                names: gw.spec.listeners.iter().map(|l| l.name.clone()).collect(),
            },
        });
    }
    let mut accepted = Vec::new();
    let mut hostname = None;
    let mut not_allowed = None;
    let mut unknown = None;
    for (i, l) in listeners {
        match judge_listener(route, gw, i, l, labels) {
            ListenerSays::Admits => accepted.push(l.name.clone()),
            ListenerSays::Hostname(c, w) => {
                hostname.get_or_insert((c, w));
            }
            ListenerSays::Namespace(c, w) | ListenerSays::Kind(c, w) => {
                not_allowed.get_or_insert((c, w));
            }
            ListenerSays::Unknown(w) => {
                unknown.get_or_insert(w);
            }
        }
    }
    if !accepted.is_empty() {
        return Attach::Accepted(accepted);
    }
    if let Some(w) = unknown {
        return Attach::Unknown(w);
    }
    // A listener that admits the route but not its hostnames is the nearer miss: the spec's
    // NoMatchingListenerHostname ("no compatible Listeners whose Hostname matches the route").
    match (hostname, not_allowed) {
        (Some((cause, why)), _) => Attach::Rejected(Rejection {
            reason: "NoMatchingListenerHostname",
            why,
            cause,
        }),
        (None, Some((cause, why))) => Attach::Rejected(Rejection {
            reason: "NotAllowedByListeners",
            why,
            cause,
        }),
        (None, None) => unreachable!("a listener was judged"),
    }
}

/// The Gateways (namespace, name) the routes' Gateway parentRefs name.
pub(crate) fn parent_gateways<'a>(
    routes: impl IntoIterator<Item = &'a Route>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in routes {
        for p in r.spec.parent_refs.iter().filter(|p| p.is_gateway()) {
            let key = (
                p.namespace
                    .clone()
                    .unwrap_or_else(|| r.namespace().to_string()),
                p.name.clone(),
            );
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// Whether a ReferenceGrant in `to_namespace` lets a `from_kind` in `from_namespace` refer to a
/// core `to_kind` named `to_name` there (the grant, by name, when one does).
pub(crate) fn granted<'a>(
    grants: &'a [ReferenceGrant],
    from_kind: &str,
    from_namespace: &str,
    to_kind: &str,
    to_namespace: &str,
    to_name: &str,
) -> Option<&'a ReferenceGrant> {
    grants.iter().find(|g| {
        g.metadata.namespace.as_deref() == Some(to_namespace)
            && g.spec
                .from
                .iter()
                .any(|f| f.group == GROUP && f.kind == from_kind && f.namespace == from_namespace)
            && g.spec.to.iter().any(|t| {
                t.group.is_empty()
                    && t.kind == to_kind
                    && t.name.as_deref().is_none_or(|n| n == to_name)
            })
    })
}

/// The ReferenceGrant that would permit the reference, as YAML (to apply in `to_namespace`).
pub(crate) fn grant_yaml(
    name: &str,
    from_kind: &str,
    from_namespace: &str,
    to_kind: &str,
    to_namespace: &str,
    to_name: &str,
) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata:\n  name: {name}\n  namespace: {to_namespace}\nspec:\n  from:\n  - group: gateway.networking.k8s.io\n    kind: {from_kind}\n    namespace: {from_namespace}\n  to:\n  - group: \"\"\n    kind: {to_kind}\n    name: {to_name}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(yaml: &str) -> Route {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn gateway(yaml: &str) -> Gateway {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const NONE: NamespaceLabels<'static> = NamespaceLabels {
        namespaces: &[],
        complete: true,
    };

    /// The examples of HTTPRouteSpec.hostnames' documentation, one by one.
    #[test]
    fn hostnames_intersect_as_the_spec_documents() {
        // "A Listener with test.example.com as the hostname matches HTTPRoutes that have ... at
        // least one of test.example.com or *.example.com."
        assert!(intersects("test.example.com", "test.example.com"));
        assert!(intersects("test.example.com", "*.example.com"));
        // "A Listener with *.example.com ... *.example.com, test.example.com, and
        // foo.test.example.com would all match. On the other hand, example.com and
        // test.example.net would not match."
        assert!(intersects("*.example.com", "*.example.com"));
        assert!(intersects("*.example.com", "test.example.com"));
        assert!(intersects("*.example.com", "foo.test.example.com"));
        assert!(!intersects("*.example.com", "example.com"));
        assert!(!intersects("*.example.com", "test.example.net"));
        // A narrower wildcard lies inside a wider one; case does not matter (DNS names).
        assert!(intersects("*.example.com", "*.shop.example.com"));
        assert!(!intersects("*.shop.example.com", "*.pay.example.com"));
        assert!(intersects("Shop.Example.com", "shop.example.com"));
    }

    const GW: &str = "metadata: {name: public, namespace: infra}\nspec:\n  gatewayClassName: eg\n  listeners:\n  - {name: web, port: 80, protocol: HTTP, hostname: '*.example.com', allowedRoutes: {namespaces: {from: All}}}\n  - {name: tls, port: 443, protocol: TLS, tls: {mode: Passthrough}, allowedRoutes: {namespaces: {from: All}}}\n  - {name: same, port: 8080, protocol: HTTP}\n";

    #[test]
    fn a_section_name_that_names_no_listener_is_no_matching_parent() {
        let r = route(
            "kind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec: {parentRefs: [{name: public, namespace: infra, sectionName: https}]}\n",
        );
        let gw = gateway(GW);
        match attach(&r, &r.spec.parent_refs[0], &gw, &NONE) {
            Attach::Rejected(rej) => {
                assert_eq!(rej.reason, "NoMatchingParent");
                assert!(rej.why.contains("web (port 80, HTTP)"), "{}", rej.why);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostnames_kinds_and_namespaces_decide_per_listener() {
        let gw = gateway(GW);
        let judge = |yaml: &str| {
            let r = route(yaml);
            attach(&r, &r.spec.parent_refs[0], &gw, &NONE)
        };
        // `example.com` is not under `*.example.com`; the other HTTP listener (`same`) admits
        // its own namespace only: the nearer miss is the hostname.
        let apex = judge(
            "kind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec: {parentRefs: [{name: public, namespace: infra}], hostnames: [example.com]}\n",
        );
        assert!(
            matches!(&apex, Attach::Rejected(r) if r.reason == "NoMatchingListenerHostname"),
            "{apex:?}"
        );
        let sub = judge(
            "kind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec: {parentRefs: [{name: public, namespace: infra}], hostnames: [a.example.com]}\n",
        );
        assert_eq!(sub, Attach::Accepted(vec!["web".into()]));
        // Same: a route in the Gateway's namespace reaches `same` too.
        let home = judge(
            "kind: HTTPRoute\nmetadata: {name: r, namespace: infra}\nspec: {parentRefs: [{name: public, sectionName: same}]}\n",
        );
        assert_eq!(home, Attach::Accepted(vec!["same".into()]));
        let away = judge(
            "kind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec: {parentRefs: [{name: public, namespace: infra, sectionName: same}]}\n",
        );
        assert!(
            matches!(&away, Attach::Rejected(r) if r.reason == "NotAllowedByListeners"),
            "{away:?}"
        );
        // A TLS passthrough listener carries TLSRoutes, not HTTPRoutes; TCP/UDP routes have no
        // hostnames to intersect.
        let http_on_tls = judge(
            "kind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec: {parentRefs: [{name: public, namespace: infra, port: 443}]}\n",
        );
        assert!(
            matches!(&http_on_tls, Attach::Rejected(r) if r.reason == "NotAllowedByListeners" && r.why.contains("a TLS listener carries TLSRoute")),
            "{http_on_tls:?}"
        );
        let tls = judge(
            "kind: TLSRoute\nmetadata: {name: r, namespace: shop}\nspec: {parentRefs: [{name: public, namespace: infra, port: 443}], hostnames: [db.internal]}\n",
        );
        assert_eq!(tls, Attach::Accepted(vec!["tls".into()]));
    }

    #[test]
    fn a_selector_reads_the_namespace_labels_and_offline_an_unknown_namespace_is_unknown() {
        let gw = gateway(
            "metadata: {name: public, namespace: infra}\nspec:\n  listeners:\n  - {name: web, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {shared-gateway: 'true'}}}}}\n",
        );
        let r = route(
            "kind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec: {parentRefs: [{name: public, namespace: infra}]}\n",
        );
        let labelled: Namespace =
            serde_saphyr::from_str("metadata: {name: shop, labels: {shared-gateway: 'true'}}")
                .unwrap();
        let bare: Namespace = serde_saphyr::from_str("metadata: {name: shop}").unwrap();
        let with = |ns: &[Namespace], complete: bool| {
            attach(
                &r,
                &r.spec.parent_refs[0],
                &gw,
                &NamespaceLabels {
                    namespaces: ns,
                    complete,
                },
            )
        };
        assert_eq!(
            with(std::slice::from_ref(&labelled), true),
            Attach::Accepted(vec!["web".into()])
        );
        match with(std::slice::from_ref(&bare), true) {
            Attach::Rejected(rej) => {
                assert_eq!(rej.reason, "NotAllowedByListeners");
                assert!(
                    matches!(&rej.cause, Cause::Namespace { wants, .. } if wants.get("shared-gateway").map(String::as_str) == Some("true"))
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(with(&[], false), Attach::Unknown(_)));
    }

    #[test]
    fn explicit_kinds_exclude_grpc_routes() {
        let gw = gateway(
            "metadata: {name: public, namespace: infra}\nspec:\n  listeners:\n  - {name: web, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}, kinds: [{kind: HTTPRoute}]}}\n",
        );
        let r = route(
            "kind: GRPCRoute\nmetadata: {name: r, namespace: shop}\nspec: {parentRefs: [{name: public, namespace: infra}]}\n",
        );
        match attach(&r, &r.spec.parent_refs[0], &gw, &NONE) {
            Attach::Rejected(rej) => {
                assert_eq!(rej.reason, "NotAllowedByListeners");
                assert!(
                    rej.why.contains("allowedRoutes.kinds are HTTPRoute"),
                    "{}",
                    rej.why
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_grant_must_sit_in_the_referents_namespace_and_name_the_referrer() {
        let grant = |ns: &str, from_ns: &str, name: Option<&str>| ReferenceGrant {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("g".into()),
                namespace: Some(ns.into()),
                ..Default::default()
            },
            spec: types::ReferenceGrantSpec {
                from: vec![types::GrantFrom {
                    group: GROUP.into(),
                    kind: "HTTPRoute".into(),
                    namespace: from_ns.into(),
                }],
                to: vec![types::GrantTo {
                    group: String::new(),
                    kind: "Service".into(),
                    name: name.map(Into::into),
                }],
            },
        };
        let ok = [grant("shop", "web", None)];
        assert!(granted(&ok, "HTTPRoute", "web", "Service", "shop", "cart").is_some());
        // In the referrer's namespace it grants nothing.
        let wrong_ns = [grant("web", "web", None)];
        assert!(granted(&wrong_ns, "HTTPRoute", "web", "Service", "shop", "cart").is_none());
        let other_name = [grant("shop", "web", Some("pay"))];
        assert!(granted(&other_name, "HTTPRoute", "web", "Service", "shop", "cart").is_none());
        assert!(granted(&ok, "GRPCRoute", "web", "Service", "shop", "cart").is_none());
    }
}
