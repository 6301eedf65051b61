//! `ClusterState`: every fact the checks may read, gathered before any check runs (DESIGN §4).
//!
//! A source (live API or manifests) fills it; checks only read it. A fact that could not be read is
//! [`Fact::Unavailable`] with the reason, so a check can skip with that reason instead of guessing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use serde::Serialize;

pub(crate) mod per_node;
pub(crate) mod plan;
pub(crate) mod probe;
pub(crate) mod snapshot;

/// Where the facts came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Live,
    Manifests,
}

/// Whether an Ingress's rules or default backend send traffic to the Service `name` (of its own
/// namespace: an Ingress backend cannot name another's).
pub(crate) fn routes_to(ing: &Ingress, name: &str) -> bool {
    let spec = ing.spec.as_ref();
    let default = spec
        .and_then(|s| s.default_backend.as_ref())
        .and_then(|b| b.service.as_ref())
        .is_some_and(|b| b.name == name);
    let rules = spec.iter().flat_map(|s| s.rules.iter().flatten()).any(|r| {
        r.http
            .iter()
            .flat_map(|h| h.paths.iter())
            .any(|p| p.backend.service.as_ref().is_some_and(|b| b.name == name))
    });
    default || rules
}

/// Why the probe did not run when an API check before it failed: a probe pod would only confirm it.
pub(crate) const NOT_PROBED_AFTER_FAILURE: &str = "not probed: an earlier check already failed";

/// Why a fact is not known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// RBAC refused the read.
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        namespace: Option<String>,
    },
    /// Manifests cannot carry this fact (it exists only in a running cluster).
    Offline(&'static str),
    /// The read failed for another reason (timeout, server error).
    Failed(String),
    /// What the run did (the probe, its pod) did not finish: timed out, interrupted, refused.
    /// Not a read: said as it is, never "read failed".
    Stopped(String),
    /// Not asked for: `--no-probe`, or a command that runs API checks only (`scan`).
    NotRequested(&'static str),
}

impl Unavailable {
    /// One line for a skipped check: "forbidden: needs list endpointslices in shop".
    pub fn reason(&self) -> String {
        match self {
            Unavailable::Forbidden {
                verb,
                resource,
                namespace,
            } => match namespace {
                // The probe's Job is the one write: without it the API half still runs.
                Some(ns) if *verb == "create" && *resource == "jobs" => format!(
                    "forbidden: needs create jobs in {ns} (--no-probe runs the API checks alone)"
                ),
                Some(ns) => format!("forbidden: needs {verb} {resource} in {ns}"),
                None => format!("forbidden: needs {verb} {resource} cluster-wide"),
            },
            Unavailable::Offline(what) => format!("offline: {what}"),
            Unavailable::Failed(msg) => format!("read failed: {msg}"),
            Unavailable::Stopped(msg) => msg.clone(),
            Unavailable::NotRequested(why) => (*why).to_string(),
        }
    }

    /// Whether a check skipped for this reason leaves the diagnosis incomplete (exit 3).
    pub fn is_incomplete(&self) -> bool {
        !matches!(self, Unavailable::Offline(_) | Unavailable::NotRequested(_))
    }
}

/// A fact that was read, or why it could not be.
#[derive(Clone, Debug)]
pub enum Fact<T> {
    Known(T),
    Unavailable(Unavailable),
}

impl<T> Fact<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(t) => Some(t),
            Fact::Unavailable(_) => None,
        }
    }

    pub fn map_known<U>(self, f: impl FnOnce(T) -> U) -> Fact<U> {
        match self {
            Fact::Known(t) => Fact::Known(f(t)),
            Fact::Unavailable(u) => Fact::Unavailable(u),
        }
    }

    pub fn as_result(&self) -> Result<&T, &Unavailable> {
        match self {
            Fact::Known(t) => Ok(t),
            Fact::Unavailable(u) => Err(u),
        }
    }
}

impl<T: Default> Default for Fact<T> {
    fn default() -> Self {
        Fact::Known(T::default())
    }
}

/// Where an object came from in the manifests: fixes offline point at the file and document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    /// 1-based document number within the file.
    pub document: usize,
    /// The document's first line in the file (1-based).
    pub line: usize,
}

/// One object defined twice in the manifests: kubectl applies the last, so the last is judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub object: ObjectRef,
    pub first: Origin,
    pub last: Origin,
}

impl Duplicate {
    /// "Service shop/web is defined twice: a.yaml (document 1) and b.yaml (document 3); …".
    pub fn describe(&self) -> String {
        let o = &self.object;
        let ns = o
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!(
            "{} {ns}{} is defined twice: {} (document {}) and {} (document {}); kubectl applies the last, which is judged here",
            o.kind,
            o.name,
            self.first.file,
            self.first.document,
            self.last.file,
            self.last.document
        )
    }
}

/// `kind/namespace/name` of an object, for origins and evidence.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// An object of `kind`: in `namespace`, unless the kind is cluster-scoped (then none).
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectRef {
            kind: kind.to_string(),
            namespace: (!cluster_scoped(kind)).then(|| namespace.to_string()),
            name: name.to_string(),
        }
    }
}

/// The kinds netdoctor reads that live outside namespaces: their keys carry no namespace (a
/// manifest's or `-n`'s means nothing to them).
pub(crate) fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Node"
            | "Namespace"
            | "IngressClass"
            | "GatewayClass"
            | "AdminNetworkPolicy"
            | "BaselineAdminNetworkPolicy"
            | "ClusterNetworkPolicy"
    )
}

pub(crate) use crate::k8s::TEMPLATE_OF;

/// What `gateway.routes` reads: the routes (any namespace, any kind) whose backendRefs name the
/// Service, and what their attachment depends on.
#[derive(Clone, Debug, Default)]
pub(crate) struct GatewayFacts {
    /// Live: whether discovery serves gateway.networking.k8s.io; offline: always (the manifests'
    /// routes are judged).
    pub installed: bool,
    pub routes: Vec<crate::gateway::Route>,
    pub gateways: Fact<Vec<crate::gateway::Gateway>>,
    pub classes: Fact<Vec<crate::gateway::GatewayClass>>,
    pub grants: Fact<Vec<crate::gateway::ReferenceGrant>>,
    /// Namespaces (for `allowedRoutes.namespaces.from: Selector`), and whether they are all of
    /// them (live) or only those the manifests define.
    pub namespaces: Fact<std::sync::Arc<Vec<Namespace>>>,
    pub namespaces_complete: bool,
    /// Listeners' certificate Secrets by (namespace, name).
    pub secrets: Vec<(String, String, Fact<Option<Secret>>)>,
    /// Pods of the Gateway controllers the classes name (every namespace).
    pub controller_pods: Fact<Vec<Pod>>,
    /// Data-plane pods of the Gateways (crate::gateway::data_plane_selectors).
    pub data_plane_pods: Fact<Vec<Pod>>,
}

/// Everything the Service flow reads.
#[derive(Clone, Debug)]
pub struct ClusterState {
    pub source: SourceKind,
    pub namespace: String,
    pub service_name: String,
    /// The Service; `Known(None)` when it does not exist.
    pub service: Fact<Option<Service>>,
    /// Names of the Services in the namespace (for near-name suggestions when it is missing).
    pub namespace_services: Fact<Vec<String>>,
    /// Other namespaces that hold a Service of the same name.
    pub same_name_elsewhere: Fact<Vec<String>>,
    /// For an ExternalName pointing at `NAME.NS.svc.<domain>`: whether that Service exists.
    pub external_target: Option<(ObjectRef, Fact<bool>)>,
    /// Pods the Service's selector matches (live: selected server-side; offline: workload
    /// templates and Pods in the manifests).
    pub pods: Fact<Vec<Pod>>,
    /// Every pod of the namespace; read only when the selector matched nothing (near-miss diff).
    pub namespace_pods: Fact<Vec<Pod>>,
    /// Pods in other namespaces that the selector would match (a Service selects only its own).
    pub pods_elsewhere: Fact<Vec<Pod>>,
    /// EndpointSlices labelled `kubernetes.io/service-name=<service>`.
    pub slices: Fact<Vec<EndpointSlice>>,
    /// For selector-less Services: slices of the namespace without that label (hand-made mistakes).
    pub unlabelled_slices: Fact<Vec<EndpointSlice>>,
    /// Events about the pods that are not ready.
    pub events: Fact<Vec<Event>>,
    /// Nodes that the not-ready pods run on.
    pub nodes: Fact<Vec<Node>>,
    /// The client named with `--from`, if any.
    pub client: Option<Client>,
    /// NetworkPolicies of the Service's namespace and of the client's.
    pub policies: Fact<Vec<NetworkPolicy>>,
    /// The cluster-wide policy tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
    /// ClusterNetworkPolicy): every one, they select across namespaces.
    pub tier_policies: Fact<Vec<crate::netpol::TierPolicy>>,
    /// Namespaces with their labels (for namespaceSelectors). Offline: those in the manifests.
    pub namespaces: Fact<std::sync::Arc<Vec<Namespace>>>,
    /// The same as selectors read them, when the snapshot built them once for every Service
    /// (`None`: built from `namespaces` when needed).
    pub namespace_labels: Option<std::sync::Arc<crate::netpol::Namespaces>>,
    /// The cluster DNS pods a client's egress must reach (kube-dns), when they were read.
    pub dns_pods: Fact<Vec<Pod>>,
    /// Who enforces policies: the cluster's DaemonSets (names and container names), read when
    /// policies exist. `Unavailable(Offline)` offline unless manifests carry them.
    pub daemonsets: Fact<Vec<Workload>>,
    /// API groups that carry other policy engines (crd.projectcalico.org, cilium.io, …).
    pub policy_apis: Fact<Vec<String>>,
    /// Those engines' policies in the namespaces concerned and cluster-wide ("CiliumNetworkPolicy
    /// shop/allow-dns"), or why they could not be read.
    pub other_policies: Vec<Fact<Vec<String>>>,
    /// The service meshes' policies around the Service's pods, and its namespace (read live for
    /// one Service; else not requested).
    pub(crate) mesh: Fact<crate::mesh::MeshFacts>,
    /// Ingresses of the Service's namespace.
    pub ingresses: Fact<Vec<Ingress>>,
    /// IngressClasses (read when an Ingress routes to the Service).
    pub ingress_classes: Fact<Vec<IngressClass>>,
    /// Pods of the ingress controllers the classes name, from every namespace.
    pub controller_pods: Fact<Vec<Pod>>,
    /// TLS secrets the routing Ingresses name, fetched by name: (name, secret or why not).
    pub tls_secrets: Vec<(String, Fact<Option<Secret>>)>,
    /// For TLS secrets that are missing while a cert-manager annotation asks for them: the
    /// cert-manager Certificate of that name (what ingress-shim creates), or why it is unknown.
    pub certificates: Vec<(String, Fact<Option<Certificate>>)>,
    /// The cluster is GKE (its API server's version says so): ingress-gce serves class-less Ingresses.
    pub gke: bool,
    /// The Gateway API objects around the routes that name the Service (`gateway.routes`).
    pub(crate) gateway: Fact<GatewayFacts>,
    /// Workloads that match the selector and ask for zero replicas ("Deployment web").
    pub scaled_to_zero: Vec<String>,
    /// StatefulSets of the namespace with `updateStrategy: OnDelete`: a template change reaches
    /// none of their pods until each is deleted.
    pub on_delete: Vec<String>,
    /// Whether the Service is judged as one of many (`scan`): then a Service nothing routes to
    /// may lack endpoints.
    pub scan: bool,
    /// `dns`: the Service is judged as the cluster DNS Service. A missing one is named by the
    /// Services that carry the cluster DNS label (`k8s-app=kube-dns`, set by kubeadm, k3s, RKE2,
    /// kops and the CoreDNS chart alike): their "NAMESPACE/NAME"; re-runs are `dns --service`.
    pub dns_target: Option<Vec<String>>,
    /// Offline: where each object came from.
    pub origins: std::sync::Arc<BTreeMap<ObjectRef, Origin>>,
    /// Offline: objects the manifests define more than once (the last is judged).
    pub duplicates: std::sync::Arc<Vec<Duplicate>>,
    /// What the probe saw (checks 5–7), or why no probe ran. With per-node probing, the first
    /// node's (its identity and notes); the checks judge every node's.
    pub probe: Fact<probe::ProbeResults>,
    /// `--all-nodes` / `--nodes`: a probe per node (checks 5–7 judge each).
    pub per_node: Option<per_node::PerNode>,
}

/// A cert-manager Certificate's readiness (`status.conditions[type=Ready]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// `None` when the Certificate has no Ready condition yet.
    pub ready: Option<bool>,
    /// "reason: message" of the Ready condition.
    pub detail: String,
}

impl Certificate {
    /// From a cert-manager Certificate's `status` (its Ready condition).
    pub(crate) fn from_status(status: &serde_json::Value) -> Self {
        let ready = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Ready");
        Certificate {
            ready: ready.map(|r| r["status"] == "True"),
            detail: ready
                .map(|r| {
                    format!(
                        "{}: {}",
                        r["reason"].as_str().unwrap_or_default(),
                        r["message"].as_str().unwrap_or_default()
                    )
                })
                .unwrap_or_default(),
        }
    }
}

/// A cluster component, as far as the CNI detection needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub namespace: String,
    pub name: String,
    /// Container names and their arguments, joined (e.g. "aws-network-policy-agent --enable-…").
    pub containers: Vec<String>,
}

/// Who sends the traffic, as `--from` names it.
#[derive(Clone, Debug)]
pub enum Client {
    /// A real pod (live), or a Pod or workload template (offline); `Known(None)` when there is
    /// no such pod.
    Pod {
        namespace: String,
        name: String,
        pod: Box<Fact<Option<Pod>>>,
        /// When the pod was not found: pods of its namespace with a similar name.
        near: Vec<String>,
    },
    /// A would-be client in a namespace, with the labels it would carry.
    Hypothetical {
        namespace: String,
        labels: BTreeMap<String, String>,
    },
}

impl Client {
    pub fn namespace(&self) -> &str {
        match self {
            Client::Pod { namespace, .. } | Client::Hypothetical { namespace, .. } => namespace,
        }
    }
}

/// What `--from` asked for, before anything is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClientSpec {
    /// A pod by name, or — with `workload` ("Deployment", "StatefulSet", "DaemonSet") — a
    /// ready pod of that workload.
    Pod {
        namespace: Option<String>,
        name: String,
        workload: Option<&'static str>,
    },
    Namespace {
        namespace: String,
        labels: BTreeMap<String, String>,
    },
}

impl ClusterState {
    /// An empty state for a Service, every fact known and empty; sources and tests fill it in.
    pub fn new(source: SourceKind, namespace: &str, service_name: &str) -> Self {
        ClusterState {
            source,
            namespace: namespace.to_string(),
            service_name: service_name.to_string(),
            service: Fact::Known(None),
            namespace_services: Fact::default(),
            same_name_elsewhere: Fact::default(),
            external_target: None,
            pods: Fact::default(),
            namespace_pods: Fact::default(),
            pods_elsewhere: Fact::default(),
            slices: Fact::default(),
            unlabelled_slices: Fact::default(),
            events: Fact::default(),
            nodes: Fact::default(),
            client: None,
            policies: Fact::default(),
            tier_policies: Fact::Unavailable(Unavailable::NotRequested(
                "the cluster-wide policies were not read",
            )),
            namespaces: Fact::default(),
            namespace_labels: None,
            dns_pods: Fact::default(),
            daemonsets: Fact::default(),
            policy_apis: Fact::default(),
            other_policies: Vec::new(),
            mesh: Fact::Unavailable(match source {
                SourceKind::Manifests => {
                    Unavailable::Offline("the service meshes' policies are read live")
                }
                SourceKind::Live => Unavailable::NotRequested(
                    "the service meshes' policies are read for one Service",
                ),
            }),
            scaled_to_zero: Vec::new(),
            on_delete: Vec::new(),
            scan: false,
            dns_target: None,
            gke: false,
            gateway: Fact::Unavailable(Unavailable::NotRequested("the Gateway API was not read")),
            ingresses: Fact::default(),
            ingress_classes: Fact::default(),
            controller_pods: Fact::default(),
            tls_secrets: Vec::new(),
            certificates: Vec::new(),
            origins: Default::default(),
            duplicates: Default::default(),
            probe: Fact::Unavailable(if source == SourceKind::Manifests {
                Unavailable::Offline("probes need a live cluster")
            } else {
                Unavailable::NotRequested("no probe: API checks only")
            }),
            per_node: None,
        }
    }

    pub fn service(&self) -> Option<&Service> {
        self.service.known().and_then(Option::as_ref)
    }

    /// Ingresses whose rules or default backend send traffic to this Service.
    pub fn routing_ingresses(&self) -> Vec<&Ingress> {
        let name = self.service_name.as_str();
        self.ingresses
            .known()
            .into_iter()
            .flatten()
            .filter(|ing| routes_to(ing, name))
            .collect()
    }

    pub fn is_offline(&self) -> bool {
        self.source == SourceKind::Manifests
    }

    pub fn origin(&self, kind: &str, namespace: &str, name: &str) -> Option<&Origin> {
        self.origins.get(&ObjectRef::new(kind, namespace, name))
    }

    /// "file.yaml (document 2, Service shop/cart)": where to edit, offline.
    pub fn edit_location(&self, kind: &str, namespace: &str, name: &str) -> String {
        let object = if cluster_scoped(kind) {
            format!("{kind} {name}")
        } else {
            format!("{kind} {namespace}/{name}")
        };
        match self.origin(kind, namespace, name) {
            Some(o) => format!("{} (document {}, {object})", o.file, o.document),
            None => format!("the manifest of {object}"),
        }
    }
}

/// What `reach` reads.
pub struct ReachInput {
    pub source: SourceKind,
    pub pods: Vec<Pod>,
    pub policies: Vec<NetworkPolicy>,
    /// Cluster-wide policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
    /// ClusterNetworkPolicy).
    pub tier_policies: Fact<Vec<crate::netpol::TierPolicy>>,
    pub namespaces: Fact<Vec<Namespace>>,
}

/// For an ExternalName Service aliasing an in-cluster name `NAME.NS.svc[.<domain>]`: the Service
/// that must exist (its existence still to be filled in).
pub(crate) fn external_target(svc: &Service) -> Option<(ObjectRef, Fact<bool>)> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() != Some("ExternalName") {
        return None;
    }
    let target = spec.external_name.as_deref()?.trim_end_matches('.');
    let mut parts = target.split('.');
    let (name, ns, svc_label) = (parts.next()?, parts.next()?, parts.next()?);
    (svc_label == "svc" && !name.is_empty() && !ns.is_empty())
        .then(|| (ObjectRef::new("Service", ns, name), Fact::Known(false)))
}
