//! The Gateway API objects (gateway.networking.k8s.io), as far as attachment reads them.
//!
//! Written with serde rather than taken from the `gateway-api` crate: its latest release (0.22)
//! is built on kube 4 and k8s-openapi 0.28, so it would bring a second copy of both (and of
//! schemars), and its objects' metadata would be another crate's type than ours. Every field is
//! optional here (defaults as the CRDs' schemas give them): a manifest written by hand may leave
//! out what the API server would default.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

/// The API group of every kind here.
pub(crate) const GROUP: &str = "gateway.networking.k8s.io";

/// A status condition, leniently read (controllers and fixtures leave fields out).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub observed_generation: Option<i64>,
}

/// The condition of a type in a list, if written.
pub(crate) fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GatewayClass {
    pub metadata: ObjectMeta,
    pub spec: GatewayClassSpec,
    pub status: Option<ConditionsStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GatewayClassSpec {
    pub controller_name: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ConditionsStatus {
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Gateway {
    pub metadata: ObjectMeta,
    pub spec: GatewaySpec,
    pub status: Option<GatewayStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GatewaySpec {
    pub gateway_class_name: String,
    pub listeners: Vec<Listener>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Listener {
    pub name: String,
    pub hostname: Option<String>,
    pub port: i32,
    pub protocol: String,
    pub tls: Option<ListenerTls>,
    pub allowed_routes: Option<AllowedRoutes>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ListenerTls {
    /// Terminate (the default) or Passthrough.
    pub mode: Option<String>,
    pub certificate_refs: Vec<ObjectRef>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AllowedRoutes {
    pub namespaces: Option<RouteNamespaces>,
    pub kinds: Vec<GroupKind>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RouteNamespaces {
    /// All, Selector, Same (the default) or None.
    pub from: Option<String>,
    pub selector: Option<LabelSelector>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GroupKind {
    /// Defaults to gateway.networking.k8s.io for route kinds.
    pub group: Option<String>,
    pub kind: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GatewayStatus {
    pub addresses: Vec<GatewayAddress>,
    pub conditions: Vec<Condition>,
    pub listeners: Vec<ListenerStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GatewayAddress {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub value: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ListenerStatus {
    pub name: String,
    pub attached_routes: i32,
    pub conditions: Vec<Condition>,
}

/// A reference to an object by group, kind, name and namespace: a certificateRef (kind Secret
/// by default), a backendRef (kind Service by default) or a parentRef (kind Gateway by default).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ObjectRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
}

/// Any route kind: HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute share what attachment reads
/// (parentRefs, hostnames where the kind has them, rules' backendRefs).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Route {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: RouteSpec,
    pub status: Option<RouteStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RouteSpec {
    pub parent_refs: Vec<ParentRef>,
    pub hostnames: Vec<String>,
    pub rules: Vec<RouteRule>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ParentRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
    pub section_name: Option<String>,
    pub port: Option<i32>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RouteRule {
    pub name: Option<String>,
    pub backend_refs: Vec<BackendRef>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct BackendRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
    pub port: Option<i32>,
    /// Defaults to 1.
    pub weight: Option<i32>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RouteStatus {
    pub parents: Vec<RouteParentStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RouteParentStatus {
    pub parent_ref: ParentRef,
    pub controller_name: String,
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ReferenceGrant {
    pub metadata: ObjectMeta,
    pub spec: ReferenceGrantSpec,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ReferenceGrantSpec {
    pub from: Vec<GrantFrom>,
    pub to: Vec<GrantTo>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GrantFrom {
    pub group: String,
    pub kind: String,
    pub namespace: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GrantTo {
    pub group: String,
    pub kind: String,
    pub name: Option<String>,
}

/// The namespace and name of an object's metadata.
pub(crate) fn key(meta: &ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl Route {
    /// "HTTPRoute shop/web".
    pub(crate) fn describe(&self) -> String {
        let (ns, name) = key(&self.metadata);
        format!("{} {ns}/{name}", self.kind)
    }

    pub(crate) fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// Whether the served version is an alpha one (an experimental-channel install).
    pub(crate) fn is_experimental(&self) -> bool {
        self.api_version
            .rsplit_once('/')
            .is_some_and(|(_, v)| v.contains("alpha"))
    }

    /// Its backendRefs that name the Service `namespace/name`, with the rule each is in.
    pub(crate) fn refs_to<'a>(
        &'a self,
        namespace: &str,
        name: &str,
    ) -> Vec<(usize, &'a BackendRef)> {
        let mut out = Vec::new();
        for (i, rule) in self.spec.rules.iter().enumerate() {
            for b in &rule.backend_refs {
                if b.is_service()
                    && b.name == name
                    && b.namespace.as_deref().unwrap_or(self.namespace()) == namespace
                {
                    out.push((i, b));
                }
            }
        }
        out
    }
}

impl BackendRef {
    /// Group "" (core) and kind Service, the defaults.
    pub(crate) fn is_service(&self) -> bool {
        self.group.as_deref().unwrap_or("").is_empty()
            && self.kind.as_deref().unwrap_or("Service") == "Service"
    }
}

impl ParentRef {
    /// Group gateway.networking.k8s.io and kind Gateway, the defaults.
    pub(crate) fn is_gateway(&self) -> bool {
        self.group.as_deref().unwrap_or(GROUP) == GROUP
            && self.kind.as_deref().unwrap_or("Gateway") == "Gateway"
    }

    /// "Gateway infra/public" (with " listener https" / " port 443" when it names them).
    pub(crate) fn describe(&self, route_ns: &str) -> String {
        let mut s = format!(
            "{} {}/{}",
            self.kind.as_deref().unwrap_or("Gateway"),
            self.namespace.as_deref().unwrap_or(route_ns),
            self.name
        );
        if let Some(section) = &self.section_name {
            s.push_str(&format!(" listener {section}"));
        }
        if let Some(port) = self.port {
            s.push_str(&format!(" port {port}"));
        }
        s
    }

    /// Whether a status entry's parentRef is this one (defaults applied on both sides).
    pub(crate) fn same_as(&self, other: &ParentRef, route_ns: &str) -> bool {
        let ns = |p: &ParentRef| p.namespace.clone().unwrap_or_else(|| route_ns.to_string());
        self.name == other.name
            && ns(self) == ns(other)
            && self.is_gateway() == other.is_gateway()
            && self.section_name == other.section_name
            && self.port == other.port
    }
}

impl Gateway {
    /// "Gateway infra/public".
    pub(crate) fn describe(&self) -> String {
        let (ns, name) = key(&self.metadata);
        format!("Gateway {ns}/{name}")
    }

    pub(crate) fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }
}

/// Labels of a namespace as the API server keeps them: every namespace carries
/// `kubernetes.io/metadata.name` (set by the server since Kubernetes 1.22).
pub(crate) fn namespace_labels(
    ns: &k8s_openapi::api::core::v1::Namespace,
) -> BTreeMap<String, String> {
    let mut labels = ns.metadata.labels.clone().unwrap_or_default();
    labels.insert(
        "kubernetes.io/metadata.name".into(),
        ns.metadata.name.clone().unwrap_or_default(),
    );
    labels
}
