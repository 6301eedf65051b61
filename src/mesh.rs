//! Service meshes in front of a backend pod: which proxy answers for it (an Istio sidecar or ambient
//! ztunnel, Linkerd's proxy), and what the mesh's own policies demand of a client that has no mesh
//! identity — which is what the probe pod is (its injection is turned off).
//!
//! A mesh proxy accepts every TCP handshake itself, so "open" proves only the proxy. A proxy that
//! requires mTLS then turns the probe's plaintext away (reset or close): that is "refused by the
//! mesh", not "nothing listens". Which policy demands it follows each mesh's documented rules:
//!
//! - Istio `PeerAuthentication` (security.istio.io): a policy whose `selector` matches the pod
//!   wins over the namespace-wide one (no selector), which wins over the mesh-wide one (no
//!   selector, in the root namespace `istio-system`); among several at one level the oldest wins.
//!   `portLevelMtls` (keyed by the workload's port, honoured only with a selector) overrides the
//!   policy's mode for that port; `UNSET` inherits from the level above; nothing at all means
//!   `PERMISSIVE`. (istio.io/latest/docs/reference/config/security/peer_authentication/)
//! - Linkerd: a `Server` (policy.linkerd.io) selecting the pod's port admits only what an
//!   authorization permits (its `accessPolicy`, default `deny`); ports no Server selects follow
//!   the default inbound policy — the pod's `config.linkerd.io/default-inbound-policy` annotation,
//!   else its namespace's, else the installation's (`all-unauthenticated` unless changed, which
//!   the API does not show). (linkerd.io/2/reference/authorization-policy/)
//!
//! Authorization policies (Istio's and Linkerd's `AuthorizationPolicy`) that select the pod are
//! named, not evaluated.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::netpol::selector::Selector;

/// Istio's root namespace, whose selector-less PeerAuthentication is mesh-wide (the default of
/// `meshConfig.rootNamespace`).
pub(crate) const ISTIO_ROOT_NAMESPACE: &str = "istio-system";

/// The mesh kinds read: (group, kind, plural, the versions that serve it, newest first). A group's
/// preferred version need not serve every kind (Linkerd's AuthorizationPolicy is v1alpha1 only
/// while its Server is v1beta3), so each kind is read at the first of its versions the group
/// lists.
pub(crate) const KINDS: &[(&str, MeshKind, &str, &[&str])] = &[
    (
        "security.istio.io",
        MeshKind::PeerAuthentication,
        "peerauthentications",
        &["v1", "v1beta1"],
    ),
    (
        "security.istio.io",
        MeshKind::IstioAuthorization,
        "authorizationpolicies",
        &["v1", "v1beta1"],
    ),
    (
        "policy.linkerd.io",
        MeshKind::LinkerdServer,
        "servers",
        &["v1beta3", "v1beta2", "v1beta1"],
    ),
    (
        "policy.linkerd.io",
        MeshKind::LinkerdAuthorization,
        "authorizationpolicies",
        &["v1alpha1"],
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MeshKind {
    PeerAuthentication,
    IstioAuthorization,
    LinkerdServer,
    LinkerdAuthorization,
}

impl MeshKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            MeshKind::PeerAuthentication => "Istio PeerAuthentication",
            MeshKind::IstioAuthorization => "Istio AuthorizationPolicy",
            MeshKind::LinkerdServer => "Linkerd Server",
            MeshKind::LinkerdAuthorization => "Linkerd AuthorizationPolicy",
        }
    }

    /// The kind as its API names it (for `kubectl get`).
    pub(crate) fn resource(self) -> &'static str {
        match self {
            MeshKind::PeerAuthentication => "peerauthentications.security.istio.io",
            MeshKind::IstioAuthorization => "authorizationpolicies.security.istio.io",
            MeshKind::LinkerdServer => "servers.policy.linkerd.io",
            MeshKind::LinkerdAuthorization => "authorizationpolicies.policy.linkerd.io",
        }
    }

    pub(crate) fn kind(self) -> &'static str {
        match self {
            MeshKind::PeerAuthentication => "PeerAuthentication",
            MeshKind::IstioAuthorization | MeshKind::LinkerdAuthorization => "AuthorizationPolicy",
            MeshKind::LinkerdServer => "Server",
        }
    }
}

/// One mesh policy, the fields judged kept as the API gave them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MeshPolicy {
    pub kind: MeshKind,
    pub namespace: String,
    pub name: String,
    /// `metadata.creationTimestamp` (RFC 3339 sorts by time): the oldest wins a tie.
    pub created: String,
    /// Istio's `selector.matchLabels` (`None`: namespace-wide), Linkerd Server's `podSelector`.
    pub selector: Option<LabelSelector>,
    /// PeerAuthentication `mtls.mode`; Istio AuthorizationPolicy `action` (ALLOW when absent);
    /// Linkerd Server `accessPolicy` (deny when absent).
    pub mode: Option<String>,
    /// PeerAuthentication `portLevelMtls`: the workload's port → its mode.
    pub port_modes: BTreeMap<u16, String>,
    /// Linkerd Server `port`: a number or a container port's name.
    pub port: Option<IntOrString>,
    /// Linkerd AuthorizationPolicy `targetRef` ("Server web-http", "Namespace shop").
    pub target: Option<String>,
}

impl MeshPolicy {
    /// Reads one object of `kind` (as the API or a manifest gives it); `None` when it has no name.
    pub(crate) fn from_object(kind: MeshKind, obj: &Value) -> Option<MeshPolicy> {
        let meta = obj.get("metadata")?;
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let name = text(meta, "name")?;
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        let match_labels = |v: Option<&Value>| -> Option<LabelSelector> {
            v.and_then(|v| serde_json::from_value::<LabelSelector>(v.clone()).ok())
        };
        let mut policy = MeshPolicy {
            kind,
            namespace: text(meta, "namespace").unwrap_or_default(),
            name,
            created: text(meta, "creationTimestamp").unwrap_or_default(),
            selector: None,
            mode: None,
            port_modes: BTreeMap::new(),
            port: None,
            target: None,
        };
        match kind {
            MeshKind::PeerAuthentication => {
                policy.selector = match_labels(spec.get("selector"));
                policy.mode = spec
                    .pointer("/mtls/mode")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(ports) = spec.get("portLevelMtls").and_then(Value::as_object) {
                    for (port, mtls) in ports {
                        let (Ok(port), Some(mode)) = (
                            port.parse::<u16>(),
                            mtls.get("mode").and_then(Value::as_str),
                        ) else {
                            continue;
                        };
                        policy.port_modes.insert(port, mode.to_string());
                    }
                }
            }
            MeshKind::IstioAuthorization => {
                policy.selector = match_labels(spec.get("selector"));
                policy.mode = Some(text(spec, "action").unwrap_or_else(|| "ALLOW".into()));
            }
            MeshKind::LinkerdServer => {
                policy.selector = match_labels(spec.get("podSelector"));
                policy.mode = text(spec, "accessPolicy");
                policy.port = spec
                    .get("port")
                    .and_then(|p| serde_json::from_value(p.clone()).ok());
            }
            MeshKind::LinkerdAuthorization => {
                policy.target = spec.get("targetRef").map(|t| {
                    format!(
                        "{} {}",
                        t.get("kind").and_then(Value::as_str).unwrap_or("?"),
                        t.get("name").and_then(Value::as_str).unwrap_or("?")
                    )
                });
            }
        }
        Some(policy)
    }

    /// "Istio PeerAuthentication shop/strict".
    pub(crate) fn describe(&self) -> String {
        format!("{} {}/{}", self.kind.describe(), self.namespace, self.name)
    }

    fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        match &self.selector {
            // Istio: no selector is the whole namespace. A Linkerd Server always has a podSelector.
            None => self.kind != MeshKind::LinkerdServer,
            Some(sel) => Selector::compile(sel).is_ok_and(|s| s.matches(labels)),
        }
    }
}

/// What was read about the meshes around a Service's pods.
#[derive(Clone, Debug, Default)]
pub(crate) struct MeshFacts {
    /// The mesh policies of the Service's namespace and Istio's root namespace.
    pub policies: Vec<MeshPolicy>,
    /// The Service's namespace (its injection labels and Linkerd annotations), when read.
    pub namespace: Option<Namespace>,
}

/// The proxy that answers for a pod's inbound connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proxy {
    IstioSidecar,
    IstioAmbient,
    Linkerd,
}

impl Proxy {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Proxy::IstioSidecar => "Istio's sidecar (istio-proxy)",
            Proxy::IstioAmbient => "Istio ambient's ztunnel (istio.io/dataplane-mode=ambient)",
            Proxy::Linkerd => "Linkerd's proxy (linkerd-proxy)",
        }
    }

    fn istio(self) -> bool {
        matches!(self, Proxy::IstioSidecar | Proxy::IstioAmbient)
    }
}

const AMBIENT_LABEL: &str = "istio.io/dataplane-mode";
const LINKERD_POLICY: &str = "config.linkerd.io/default-inbound-policy";

fn label<'a>(labels: Option<&'a BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
    labels.and_then(|l| l.get(key)).map(String::as_str)
}

/// The mesh proxy in front of `pod`: a sidecar container (or a native sidecar, an init container),
/// else Istio ambient by the pod's or its namespace's `istio.io/dataplane-mode` label (the pod's
/// `none` opts out).
pub(crate) fn proxy_of(pod: &Pod, namespace: Option<&Namespace>) -> Option<Proxy> {
    let spec = pod.spec.as_ref()?;
    let sidecar = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find_map(|c| match c.name.as_str() {
            "istio-proxy" => Some(Proxy::IstioSidecar),
            "linkerd-proxy" => Some(Proxy::Linkerd),
            _ => None,
        });
    if sidecar.is_some() {
        return sidecar;
    }
    let mode = label(pod.metadata.labels.as_ref(), AMBIENT_LABEL).or_else(|| {
        label(
            namespace.and_then(|n| n.metadata.labels.as_ref()),
            AMBIENT_LABEL,
        )
    });
    (mode == Some("ambient")).then_some(Proxy::IstioAmbient)
}

/// Why the mesh turns a client without a mesh identity away from a pod's port.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Requirement {
    /// "Istio PeerAuthentication shop/strict (STRICT on port 8080)".
    pub by: String,
    /// The policy, when an object (not an annotation) decides.
    pub policy: Option<MeshPolicy>,
    /// mTLS is required (else: the client must be authorized, which the probe is not).
    pub mtls: bool,
}

/// What the mesh decides for a pod's inbound port, for a client without a mesh identity.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Inbound {
    pub proxy: Proxy,
    /// What turns such a client away, if anything does.
    pub requirement: Option<Requirement>,
    /// The mode in effect and where it comes from, when nothing requires mTLS ("PERMISSIVE (no
    /// PeerAuthentication applies)").
    pub effective: String,
    /// Authorization policies that select the pod: named, not evaluated.
    pub authorizations: Vec<String>,
}

/// The mesh's inbound decision for `pod` on `port` (the container port; `port_name` its name).
pub(crate) fn inbound(
    facts: &MeshFacts,
    pod: &Pod,
    port: u16,
    port_name: Option<&str>,
) -> Option<Inbound> {
    let proxy = proxy_of(pod, facts.namespace.as_ref())?;
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let mut own: Vec<&MeshPolicy> = facts
        .policies
        .iter()
        .filter(|p| p.namespace == ns && p.selects(&labels))
        .collect();
    own.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    let (requirement, effective) = if proxy.istio() {
        istio_mtls(facts, &own, port)
    } else {
        linkerd(facts, &own, pod, port, port_name)
    };
    let mut authorizations: Vec<String> = own
        .iter()
        .copied()
        .chain(facts.policies.iter().filter(|p| {
            // Istio: a root-namespace AuthorizationPolicy applies in every namespace.
            p.namespace == ISTIO_ROOT_NAMESPACE
                && ns != ISTIO_ROOT_NAMESPACE
                && p.kind == MeshKind::IstioAuthorization
                && p.selects(&labels)
        }))
        .filter(|p| match p.kind {
            MeshKind::IstioAuthorization => proxy.istio(),
            MeshKind::LinkerdAuthorization => !proxy.istio(),
            _ => false,
        })
        .map(|p| match (&p.mode, &p.target) {
            (Some(action), _) => format!("{} ({action})", p.describe()),
            (None, Some(target)) => format!("{} (on {target})", p.describe()),
            (None, None) => p.describe(),
        })
        .collect();
    authorizations.dedup();
    Some(Inbound {
        proxy,
        requirement,
        effective,
        authorizations,
    })
}

/// Istio's PeerAuthentication precedence for one port (see the module's notes).
fn istio_mtls(facts: &MeshFacts, own: &[&MeshPolicy], port: u16) -> (Option<Requirement>, String) {
    let peer = |p: &&&MeshPolicy| p.kind == MeshKind::PeerAuthentication;
    let workload = own.iter().find(|p| peer(p) && p.selector.is_some());
    let namespace_wide = own.iter().find(|p| peer(p) && p.selector.is_none());
    let mut mesh_wide: Vec<&MeshPolicy> = facts
        .policies
        .iter()
        .filter(|p| {
            p.kind == MeshKind::PeerAuthentication
                && p.namespace == ISTIO_ROOT_NAMESPACE
                && p.selector.is_none()
        })
        .collect();
    mesh_wide.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    // From the most specific down: the first mode that is not UNSET decides.
    let mut chain: Vec<(&MeshPolicy, Option<&str>, String)> = Vec::new();
    if let Some(w) = workload {
        if let Some(mode) = w.port_modes.get(&port) {
            chain.push((w, Some(mode), format!(" on port {port}")));
        }
        chain.push((w, w.mode.as_deref(), String::new()));
    }
    if let Some(n) = namespace_wide {
        chain.push((n, n.mode.as_deref(), " namespace-wide".into()));
    }
    if let Some(m) = mesh_wide.first() {
        chain.push((m, m.mode.as_deref(), " mesh-wide".into()));
    }
    for (policy, mode, scope) in chain {
        let Some(mode) = mode.filter(|m| !m.eq_ignore_ascii_case("UNSET")) else {
            continue;
        };
        let by = format!("{} ({mode}{scope})", policy.describe());
        return if mode.eq_ignore_ascii_case("STRICT") {
            (
                Some(Requirement {
                    by,
                    policy: Some(policy.clone()),
                    mtls: true,
                }),
                mode.to_string(),
            )
        } else {
            (None, by)
        };
    }
    (None, "PERMISSIVE (no PeerAuthentication applies)".into())
}

/// Linkerd's Servers, else its default inbound policy (see the module's notes).
fn linkerd(
    facts: &MeshFacts,
    own: &[&MeshPolicy],
    pod: &Pod,
    port: u16,
    port_name: Option<&str>,
) -> (Option<Requirement>, String) {
    let server = own.iter().find(|p| {
        p.kind == MeshKind::LinkerdServer
            && match &p.port {
                Some(IntOrString::Int(n)) => i64::from(*n) == i64::from(port),
                Some(IntOrString::String(name)) => Some(name.as_str()) == port_name,
                None => false,
            }
    });
    if let Some(server) = server {
        let access = server.mode.as_deref().unwrap_or("deny");
        let by = format!("{} (port {port}, accessPolicy {access})", server.describe());
        return if matches!(access, "all-unauthenticated" | "cluster-unauthenticated") {
            (None, by)
        } else {
            (
                Some(Requirement {
                    by: format!(
                        "{by}: only clients an AuthorizationPolicy on it permits get through"
                    ),
                    policy: Some((*server).clone()),
                    mtls: access != "deny",
                }),
                access.to_string(),
            )
        };
    }
    let (value, whose) = match label(pod.metadata.annotations.as_ref(), LINKERD_POLICY) {
        Some(v) => (v, "the pod's"),
        None => match label(
            facts
                .namespace
                .as_ref()
                .and_then(|n| n.metadata.annotations.as_ref()),
            LINKERD_POLICY,
        ) {
            Some(v) => (v, "the namespace's"),
            None => {
                return (
                    None,
                    "the installation's default inbound policy (all-unauthenticated unless changed; not visible in the API)".into(),
                );
            }
        },
    };
    let by = format!("{whose} {LINKERD_POLICY}: {value}");
    match value {
        "all-authenticated" | "cluster-authenticated" => (
            Some(Requirement {
                by,
                policy: None,
                mtls: true,
            }),
            value.to_string(),
        ),
        "deny" => (
            Some(Requirement {
                by,
                policy: None,
                mtls: false,
            }),
            value.to_string(),
        ),
        _ => (None, by),
    }
}

/// The namespace is set up for injection (`istio-injection=enabled`, `istio.io/rev`, Linkerd's
/// `linkerd.io/inject: enabled` annotation) but `pod` runs without a proxy: it was created before
/// injection was turned on, or opted out.
pub(crate) fn injection_without_proxy(pod: &Pod, namespace: Option<&Namespace>) -> Option<String> {
    if proxy_of(pod, namespace).is_some() {
        return None;
    }
    let ns = namespace?;
    let labels = ns.metadata.labels.as_ref();
    let name = ns.metadata.name.as_deref().unwrap_or_default();
    if label(labels, "istio-injection") == Some("enabled")
        || label(labels, "istio.io/rev").is_some()
    {
        return Some(format!("namespace {name} asks for Istio sidecar injection"));
    }
    if label(ns.metadata.annotations.as_ref(), "linkerd.io/inject") == Some("enabled") {
        return Some(format!("namespace {name} asks for Linkerd proxy injection"));
    }
    None
}

/// An Istio PeerAuthentication that lets plaintext in on one port of the pods `selector` matches
/// (`portLevelMtls` needs a selector); their other ports keep the mode inherited from the
/// namespace or the mesh (`mtls` left unset). Scalars are JSON strings, which YAML reads as they
/// are: a hostile label cannot end the here-document or add a field.
pub(crate) fn port_exception_yaml(
    name: &str,
    namespace: &str,
    selector: &BTreeMap<String, String>,
    port: u16,
) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let labels: String = selector
        .iter()
        .map(|(k, v)| format!("      {}: {}\n", q(k), q(v)))
        .collect();
    format!(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n  selector:\n    matchLabels:\n{labels}  portLevelMtls:\n    {port}:\n      mode: PERMISSIVE\n",
        q(name),
        q(namespace)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(ns: &str, labels: Value, containers: &[&str], annotations: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": ns, "labels": labels, "annotations": annotations},
            "spec": {"containers": containers.iter().map(|c| json!({"name": c, "ports": [{"containerPort": 8080, "name": "http"}]})).collect::<Vec<_>>()}
        }))
        .unwrap()
    }

    fn istio_pod() -> Pod {
        pod(
            "shop",
            json!({"app": "web"}),
            &["web", "istio-proxy"],
            json!({}),
        )
    }

    fn peer(ns: &str, name: &str, created: &str, spec: Value) -> MeshPolicy {
        MeshPolicy::from_object(
            MeshKind::PeerAuthentication,
            &json!({"metadata": {"namespace": ns, "name": name, "creationTimestamp": created}, "spec": spec}),
        )
        .unwrap()
    }

    fn facts(policies: Vec<MeshPolicy>) -> MeshFacts {
        MeshFacts {
            policies,
            namespace: None,
        }
    }

    fn requirement(f: &MeshFacts, p: &Pod, port: u16) -> Option<String> {
        inbound(f, p, port, Some("http"))
            .unwrap()
            .requirement
            .map(|r| r.by)
    }

    #[test]
    fn proxies_are_recognised_by_container_and_by_ambient_label() {
        assert_eq!(proxy_of(&istio_pod(), None), Some(Proxy::IstioSidecar));
        let linkerd = pod("shop", json!({}), &["web", "linkerd-proxy"], json!({}));
        assert_eq!(proxy_of(&linkerd, None), Some(Proxy::Linkerd));
        let plain = pod("shop", json!({}), &["web"], json!({}));
        assert_eq!(proxy_of(&plain, None), None);
        let ambient_ns: Namespace = serde_json::from_value(
            json!({"metadata": {"name": "shop", "labels": {"istio.io/dataplane-mode": "ambient"}}}),
        )
        .unwrap();
        assert_eq!(
            proxy_of(&plain, Some(&ambient_ns)),
            Some(Proxy::IstioAmbient)
        );
        // The pod's own label opts out of its namespace's ambient mode.
        let opted_out = pod(
            "shop",
            json!({"istio.io/dataplane-mode": "none"}),
            &["web"],
            json!({}),
        );
        assert_eq!(proxy_of(&opted_out, Some(&ambient_ns)), None);
        let injected: Namespace = serde_json::from_value(
            json!({"metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}}}),
        )
        .unwrap();
        assert!(injection_without_proxy(&plain, Some(&injected)).is_some());
        assert!(injection_without_proxy(&istio_pod(), Some(&injected)).is_none());
    }

    #[test]
    fn istio_precedence_workload_over_namespace_over_mesh() {
        let t = "2026-01-01T00:00:00Z";
        let mesh_strict = peer(
            "istio-system",
            "default",
            t,
            json!({"mtls": {"mode": "STRICT"}}),
        );
        // No policy at all: PERMISSIVE.
        assert_eq!(requirement(&facts(vec![]), &istio_pod(), 8080), None);
        // Mesh-wide STRICT applies to every namespace.
        let f = facts(vec![mesh_strict.clone()]);
        assert!(
            requirement(&f, &istio_pod(), 8080)
                .unwrap()
                .contains("istio-system/default (STRICT mesh-wide)")
        );
        // The namespace's PERMISSIVE wins over the mesh's STRICT.
        let ns_permissive = peer("shop", "ns", t, json!({"mtls": {"mode": "PERMISSIVE"}}));
        let f = facts(vec![mesh_strict.clone(), ns_permissive.clone()]);
        assert_eq!(requirement(&f, &istio_pod(), 8080), None);
        // A workload policy with UNSET inherits the namespace's mode; STRICT on it wins.
        let unset = peer(
            "shop",
            "w",
            t,
            json!({"selector": {"matchLabels": {"app": "web"}}}),
        );
        let f = facts(vec![mesh_strict.clone(), ns_permissive.clone(), unset]);
        assert_eq!(requirement(&f, &istio_pod(), 8080), None);
        let strict = peer(
            "shop",
            "w",
            t,
            json!({"selector": {"matchLabels": {"app": "web"}}, "mtls": {"mode": "STRICT"}}),
        );
        let f = facts(vec![ns_permissive.clone(), strict]);
        assert!(
            requirement(&f, &istio_pod(), 8080)
                .unwrap()
                .contains("shop/w (STRICT)")
        );
        // A selector that does not match the pod does not apply.
        let other = peer(
            "shop",
            "o",
            t,
            json!({"selector": {"matchLabels": {"app": "db"}}, "mtls": {"mode": "STRICT"}}),
        );
        assert_eq!(requirement(&facts(vec![other]), &istio_pod(), 8080), None);
        // A policy of another namespace does not apply.
        let elsewhere = peer("billing", "ns", t, json!({"mtls": {"mode": "STRICT"}}));
        assert_eq!(
            requirement(&facts(vec![elsewhere]), &istio_pod(), 8080),
            None
        );
    }

    #[test]
    fn istio_port_level_mode_overrides_its_workload_policy_for_that_port_only() {
        let t = "2026-01-01T00:00:00Z";
        let w = peer(
            "shop",
            "w",
            t,
            json!({"selector": {"matchLabels": {"app": "web"}}, "mtls": {"mode": "STRICT"},
                   "portLevelMtls": {"8080": {"mode": "PERMISSIVE"}, "9090": {"mode": "UNSET"}}}),
        );
        let f = facts(vec![w]);
        assert_eq!(requirement(&f, &istio_pod(), 8080), None);
        // UNSET on a port inherits the policy's own STRICT.
        assert!(
            requirement(&f, &istio_pod(), 9090)
                .unwrap()
                .contains("(STRICT)")
        );
        assert!(requirement(&f, &istio_pod(), 7070).is_some());
    }

    #[test]
    fn istio_oldest_of_equals_wins() {
        let strict_old = peer(
            "shop",
            "b-old",
            "2025-01-01T00:00:00Z",
            json!({"mtls": {"mode": "STRICT"}}),
        );
        let permissive_new = peer(
            "shop",
            "a-new",
            "2026-01-01T00:00:00Z",
            json!({"mtls": {"mode": "PERMISSIVE"}}),
        );
        let f = facts(vec![permissive_new, strict_old]);
        assert!(
            requirement(&f, &istio_pod(), 8080)
                .unwrap()
                .contains("shop/b-old")
        );
    }

    #[test]
    fn linkerd_servers_then_the_default_inbound_policy() {
        let linkerd = pod(
            "shop",
            json!({"app": "web"}),
            &["web", "linkerd-proxy"],
            json!({}),
        );
        // Nothing said: the installation's default, which the API does not show.
        let i = inbound(&facts(vec![]), &linkerd, 8080, Some("http")).unwrap();
        assert!(i.requirement.is_none());
        assert!(i.effective.contains("installation"));
        // The namespace's annotation, overridden by the pod's.
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "shop",
            "annotations": {"config.linkerd.io/default-inbound-policy": "all-authenticated"}}}))
        .unwrap();
        let f = MeshFacts {
            policies: vec![],
            namespace: Some(ns),
        };
        let r = inbound(&f, &linkerd, 8080, None)
            .unwrap()
            .requirement
            .unwrap();
        assert!(r.mtls && r.by.contains("namespace's"));
        let own = pod(
            "shop",
            json!({"app": "web"}),
            &["web", "linkerd-proxy"],
            json!({"config.linkerd.io/default-inbound-policy": "all-unauthenticated"}),
        );
        assert!(inbound(&f, &own, 8080, None).unwrap().requirement.is_none());
        // A Server on the port (by name) admits only the authorized: accessPolicy deny by default.
        let server = MeshPolicy::from_object(
            MeshKind::LinkerdServer,
            &json!({"metadata": {"namespace": "shop", "name": "web-http"},
                    "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "port": "http"}}),
        )
        .unwrap();
        let f = facts(vec![server.clone()]);
        let r = inbound(&f, &linkerd, 8080, Some("http"))
            .unwrap()
            .requirement
            .unwrap();
        assert!(!r.mtls && r.by.contains("Linkerd Server shop/web-http"));
        // …on another port it does not apply.
        assert!(
            inbound(&f, &linkerd, 9090, Some("metrics"))
                .unwrap()
                .requirement
                .is_none()
        );
        // Authorization policies of the namespace are named for Linkerd pods only.
        let authz = MeshPolicy::from_object(
            MeshKind::LinkerdAuthorization,
            &json!({"metadata": {"namespace": "shop", "name": "allow-web"},
                    "spec": {"targetRef": {"kind": "Server", "name": "web-http"}}}),
        )
        .unwrap();
        let f = facts(vec![authz]);
        assert_eq!(
            inbound(&f, &linkerd, 8080, None).unwrap().authorizations,
            vec!["Linkerd AuthorizationPolicy shop/allow-web (on Server web-http)"]
        );
        assert!(
            inbound(&f, &istio_pod(), 8080, None)
                .unwrap()
                .authorizations
                .is_empty()
        );
    }

    #[test]
    fn the_port_exception_is_a_peer_authentication_a_hostile_label_cannot_break() {
        let selector = BTreeMap::from([("app".to_string(), "web\nEOF\nrm -rf /".to_string())]);
        let yaml = port_exception_yaml("web-8080-plaintext", "shop", &selector, 8080);
        assert!(!yaml.lines().any(|l| l == "EOF"));
        let v: Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(v["kind"], "PeerAuthentication");
        assert_eq!(
            v["spec"]["selector"]["matchLabels"]["app"],
            "web\nEOF\nrm -rf /"
        );
        assert_eq!(v["spec"]["portLevelMtls"]["8080"]["mode"], "PERMISSIVE");
        // What the tool would read back from it: the exception it meant.
        let back = MeshPolicy::from_object(MeshKind::PeerAuthentication, &v).unwrap();
        assert_eq!(
            back.port_modes.get(&8080).map(String::as_str),
            Some("PERMISSIVE")
        );
    }
}
