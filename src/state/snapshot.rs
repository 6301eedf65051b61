//! A snapshot of what a cluster holds — read from manifests, or listed from a live API server
//! once per namespace for `scan` — and the per-Service `ClusterState` derived from it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};

use crate::k8s;
use crate::state::{
    Client, ClientSpec, ClusterState, Duplicate, Fact, ObjectRef, Origin, SourceKind, Unavailable,
};

/// Objects of a scope, typed.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub source: SourceKind,
    pub services: Vec<Service>,
    pub pods: Vec<Pod>,
    pub slices: Vec<EndpointSlice>,
    pub events: Vec<Event>,
    pub nodes: Vec<Node>,
    pub policies: Vec<NetworkPolicy>,
    pub namespaces: Vec<Namespace>,
    /// Whether the namespaces could be read (live) — offline they are what the manifests hold.
    pub namespaces_fact: Fact<()>,
    /// Workloads asking for zero replicas: (kind, namespace, name, template labels).
    pub scaled_to_zero: Vec<(String, String, String, BTreeMap<String, String>)>,
    /// StatefulSets that update their pods only when they are deleted (`updateStrategy:
    /// OnDelete`): (namespace, name).
    pub on_delete: Vec<(String, String)>,
    pub ingresses: Vec<Ingress>,
    pub ingress_classes: Vec<IngressClass>,
    /// Pods of ingress controllers (live: every namespace); offline unknown.
    pub controller_pods: Fact<Vec<Pod>>,
    /// TLS secrets by (namespace, name): read by name live, from the manifests offline.
    pub secrets: Vec<(String, String, Fact<Option<Secret>>)>,
    /// Positions of pods and slices by namespace, built on first use.
    pub index: std::sync::OnceLock<Index>,
    /// Kinds that could not be read (live), by plural: their facts are unavailable.
    pub unavailable: BTreeMap<&'static str, Unavailable>,
    /// Offline: where each object came from.
    pub origins: std::sync::Arc<BTreeMap<ObjectRef, Origin>>,
    /// Offline: objects defined more than once (the last one is in the snapshot).
    pub duplicates: std::sync::Arc<Vec<Duplicate>>,
    /// Whether the API server is GKE's (a class-less Ingress is ingress-gce's there).
    pub gke: bool,
    /// cert-manager Certificates by (namespace, name), read for TLS secrets still missing.
    pub certificates: Vec<(String, String, Fact<Option<crate::state::Certificate>>)>,
    /// The cluster's DaemonSets (the CNI is one), when read: live, with NetworkPolicies.
    pub daemonsets: Option<Fact<Vec<crate::state::Workload>>>,
    /// API groups from discovery (other policy engines), when read.
    pub policy_apis: Option<Fact<Vec<String>>>,
    /// Policies of other engines, named.
    pub other_policies: Vec<Fact<Vec<String>>>,
    /// AdminNetworkPolicies, BaselineAdminNetworkPolicies, ClusterNetworkPolicies (cluster-wide:
    /// they apply to every namespace in scope). Live: `None` until read.
    pub tier_policies: Option<Vec<crate::netpol::TierPolicy>>,
    /// The cluster DNS pods a client's egress needs, when read (live, with a client).
    pub dns_pods: Option<Fact<Vec<Pod>>>,
    /// The Gateway API objects (routes of every namespace, their Gateways, classes, grants).
    pub gateway: GatewaySnapshot,
    /// The service meshes' policies and the Service's namespace (live, one Service's scope);
    /// `None` when not read.
    pub mesh: Option<Fact<crate::mesh::MeshFacts>>,
}

/// The Gateway API as a scope holds it.
#[derive(Clone, Debug)]
pub(crate) struct GatewaySnapshot {
    /// Whether the API is served (live: discovery); not read until a source says.
    pub installed: Fact<bool>,
    pub classes: Vec<crate::gateway::GatewayClass>,
    pub gateways: Vec<crate::gateway::Gateway>,
    pub routes: Vec<crate::gateway::Route>,
    pub grants: Vec<crate::gateway::ReferenceGrant>,
    /// Live: every namespace (for listeners' namespace selectors), read with the routes.
    pub namespaces: Option<Fact<std::sync::Arc<Vec<Namespace>>>>,
    /// Pods of the Gateway controllers the classes name.
    pub controller_pods: Fact<Vec<Pod>>,
    /// Data-plane pods of the Gateways the routes attach to (live).
    pub data_plane_pods: Fact<Vec<Pod>>,
}

impl GatewaySnapshot {
    fn new(source: SourceKind) -> Self {
        GatewaySnapshot {
            installed: match source {
                SourceKind::Manifests => Fact::Known(true),
                SourceKind::Live => {
                    Fact::Unavailable(Unavailable::NotRequested("the Gateway API was not read"))
                }
            },
            classes: Vec::new(),
            gateways: Vec::new(),
            routes: Vec::new(),
            grants: Vec::new(),
            namespaces: None,
            controller_pods: match source {
                SourceKind::Live => Fact::Known(Vec::new()),
                SourceKind::Manifests => Fact::Unavailable(Unavailable::Offline(
                    "Gateway controllers run only in a live cluster",
                )),
            },
            data_plane_pods: match source {
                SourceKind::Live => Fact::Known(Vec::new()),
                SourceKind::Manifests => Fact::Unavailable(Unavailable::Offline(
                    "Gateway data planes run only in a live cluster",
                )),
            },
        }
    }

    /// Adds what another read found (each object once).
    fn absorb(&mut self, other: GatewaySnapshot) {
        fn add<T>(to: &mut Vec<T>, from: Vec<T>, key: impl Fn(&T) -> (String, String, String)) {
            let mut held: std::collections::HashSet<_> = to.iter().map(&key).collect();
            for o in from {
                if held.insert(key(&o)) {
                    to.push(o);
                }
            }
        }
        use crate::gateway::types::key;
        let k = |kind: &str, m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            let (ns, name) = key(m);
            (kind.to_string(), ns, name)
        };
        add(&mut self.classes, other.classes, |o| k("", &o.metadata));
        add(&mut self.gateways, other.gateways, |o| k("", &o.metadata));
        add(&mut self.routes, other.routes, |o| k(&o.kind, &o.metadata));
        add(&mut self.grants, other.grants, |o| k("", &o.metadata));
        if !matches!(
            other.installed,
            Fact::Unavailable(Unavailable::NotRequested(_))
        ) {
            self.installed = other.installed;
        }
        self.namespaces = self.namespaces.take().or(other.namespaces);
        if other.controller_pods.known().is_none_or(|p| !p.is_empty()) {
            self.controller_pods = other.controller_pods;
        }
        if other.data_plane_pods.known().is_none_or(|p| !p.is_empty()) {
            self.data_plane_pods = other.data_plane_pods;
        }
    }
}

/// Where each namespace's pods and slices are in the snapshot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    services: std::collections::HashMap<(String, String), usize>,
    pods: std::collections::HashMap<String, Vec<usize>>,
    slices: std::collections::HashMap<String, Vec<usize>>,
    policies: std::collections::HashMap<String, Vec<usize>>,
    ingresses: std::collections::HashMap<String, Vec<usize>>,
    nodes: std::collections::HashMap<String, usize>,
    /// Shared by every Service's state: one copy, however many Services.
    namespaces: std::sync::Arc<Vec<Namespace>>,
    /// The namespaces' labels as selectors read them, built once for every Service.
    namespace_labels: std::sync::Arc<crate::netpol::Namespaces>,
}

/// Positions of a kind's objects by namespace, in read order.
fn by_namespace<K: kube::Resource>(list: &[K]) -> std::collections::HashMap<String, Vec<usize>> {
    let mut out: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, o) in list.iter().enumerate() {
        out.entry(o.meta().namespace.clone().unwrap_or_default())
            .or_default()
            .push(i);
    }
    out
}

impl Snapshot {
    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut idx = Index {
                namespaces: std::sync::Arc::new(self.namespaces.clone()),
                namespace_labels: std::sync::Arc::new(crate::netpol::Namespaces::of(
                    &self.namespaces,
                    self.source == SourceKind::Live,
                )),
                ..Index::default()
            };
            idx.ingresses = by_namespace(&self.ingresses);
            idx.pods = by_namespace(&self.pods);
            idx.policies = by_namespace(&self.policies);
            idx.slices = by_namespace(&self.slices);
            for (i, n) in self.nodes.iter().enumerate() {
                idx.nodes
                    .entry(n.metadata.name.clone().unwrap_or_default())
                    .or_insert(i);
            }
            for (i, svc) in self.services.iter().enumerate() {
                let key = (
                    svc.metadata.namespace.clone().unwrap_or_default(),
                    svc.metadata.name.clone().unwrap_or_default(),
                );
                idx.services.entry(key).or_insert(i);
            }
            idx
        })
    }

    /// A Service by namespace and name (the first read, as the state of one is).
    pub(crate) fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.index()
            .services
            .get(&(namespace.to_string(), name.to_string()))
            .map(|&i| &self.services[i])
    }

    pub(crate) fn new(source: SourceKind) -> Self {
        Snapshot {
            source,
            services: Vec::new(),
            pods: Vec::new(),
            slices: Vec::new(),
            events: Vec::new(),
            nodes: Vec::new(),
            policies: Vec::new(),
            namespaces: Vec::new(),
            namespaces_fact: Fact::Known(()),
            scaled_to_zero: Vec::new(),
            on_delete: Vec::new(),
            ingresses: Vec::new(),
            ingress_classes: Vec::new(),
            controller_pods: match source {
                SourceKind::Live => Fact::Known(Vec::new()),
                SourceKind::Manifests => Fact::Unavailable(Unavailable::Offline(
                    "ingress controllers run only in a live cluster",
                )),
            },
            secrets: Vec::new(),
            index: std::sync::OnceLock::new(),
            unavailable: BTreeMap::new(),
            origins: Default::default(),
            duplicates: Default::default(),
            gke: false,
            certificates: Vec::new(),
            daemonsets: None,
            policy_apis: None,
            other_policies: Vec::new(),
            tier_policies: match source {
                SourceKind::Manifests => Some(Vec::new()),
                SourceKind::Live => None,
            },
            dns_pods: None,
            gateway: GatewaySnapshot::new(source),
            mesh: None,
        }
    }

    /// Adds what another read of the same source found (a live gather reads in concurrent parts):
    /// objects already held are not added twice; facts the part set replace unset ones.
    pub(crate) fn absorb(&mut self, other: Snapshot) {
        fn add<K: kube::Resource>(to: &mut Vec<K>, mut from: Vec<K>) {
            let key = |x: &K| (x.meta().namespace.clone(), x.meta().name.clone());
            if to.is_empty() {
                // The usual case (one part read the kind): keep its list, not a copy.
                let mut held = std::collections::HashSet::new();
                from.retain(|o| held.insert(key(o)));
                *to = from;
                return;
            }
            let mut held: std::collections::HashSet<_> = to.iter().map(key).collect();
            for o in from {
                if held.insert(key(&o)) {
                    to.push(o);
                }
            }
        }
        add(&mut self.services, other.services);
        add(&mut self.pods, other.pods);
        add(&mut self.slices, other.slices);
        add(&mut self.events, other.events);
        add(&mut self.nodes, other.nodes);
        add(&mut self.policies, other.policies);
        add(&mut self.namespaces, other.namespaces);
        add(&mut self.ingresses, other.ingresses);
        add(&mut self.ingress_classes, other.ingress_classes);
        self.scaled_to_zero.extend(other.scaled_to_zero);
        self.on_delete.extend(other.on_delete);
        self.secrets.extend(other.secrets);
        self.certificates.extend(other.certificates);
        self.other_policies.extend(other.other_policies);
        if let Some(t) = other.tier_policies {
            self.tier_policies.get_or_insert_with(Vec::new).extend(t);
        }
        self.gke |= other.gke;
        if other.namespaces_fact.known().is_none() {
            self.namespaces_fact = other.namespaces_fact;
        }
        if other.controller_pods.known().is_none_or(|p| !p.is_empty()) {
            self.controller_pods = other.controller_pods;
        }
        self.daemonsets = self.daemonsets.take().or(other.daemonsets);
        self.policy_apis = self.policy_apis.take().or(other.policy_apis);
        self.dns_pods = self.dns_pods.take().or(other.dns_pods);
        self.mesh = self.mesh.take().or(other.mesh);
        self.gateway.absorb(other.gateway);
        self.unavailable.extend(other.unavailable);
        self.index = std::sync::OnceLock::new();
    }

    /// The Service flow's state for one Service, from the snapshot — the one derivation for live
    /// `svc`, offline, `scan` and `ingress` alike.
    pub(crate) fn state_for_service(
        &self,
        namespace: &str,
        name: &str,
        client: Option<&ClientSpec>,
    ) -> ClusterState {
        let mut s = ClusterState::new(self.source, namespace, name);
        if let Some(u) = self.unavailable.get(part::SERVICE) {
            // Without the Service nothing else is judged.
            s.service = Fact::Unavailable(u.clone());
            return s;
        }
        let service = self
            .index()
            .services
            .get(&(namespace.to_string(), name.to_string()))
            .map(|&i| self.services[i].clone());
        if service.is_none() {
            self.near_services(&mut s);
        }
        let selector = service
            .as_ref()
            .and_then(|svc| svc.spec.as_ref())
            .and_then(|spec| spec.selector.clone())
            .unwrap_or_default();
        self.backends(&mut s, &selector);
        if let Some(svc) = &service {
            s.external_target = crate::state::external_target(svc);
            if let Some((r, fact)) = &mut s.external_target {
                let exists = self.services.iter().any(|x| {
                    x.metadata.namespace == r.namespace
                        && x.metadata.name.as_deref() == Some(r.name.as_str())
                });
                *fact = match self.unavailable.get(part::EXTERNAL_TARGET) {
                    Some(u) => Fact::Unavailable(u.clone()),
                    None => Fact::Known(exists),
                };
            }
        }
        s.service = Fact::Known(service);
        self.policy(&mut s, client);
        self.ingress(&mut s);
        self.gateway(&mut s);
        s.origins = self.origins.clone();
        s.duplicates = self.duplicates.clone();
        self.unread(&mut s);
        s
    }

    /// The state `path --to pod/NAME` judges: the pod, and the policy facts around it.
    pub(crate) fn state_for_pod(
        &self,
        namespace: &str,
        pod: Option<Pod>,
        client: Option<&ClientSpec>,
    ) -> ClusterState {
        let mut s = ClusterState::new(self.source, namespace, "");
        s.pods = Fact::Known(pod.into_iter().collect());
        self.policy(&mut s, client);
        s
    }

    /// A missing Service: the names the user may have meant, here and elsewhere.
    fn near_services(&self, s: &mut ClusterState) {
        let (namespace, name) = (s.namespace.as_str(), s.service_name.as_str());
        let in_ns = |x: &&Service| x.metadata.namespace.as_deref() == Some(namespace);
        s.namespace_services = Fact::Known(
            self.services
                .iter()
                .filter(in_ns)
                .filter_map(|x| x.metadata.name.clone())
                .collect(),
        );
        s.same_name_elsewhere = Fact::Known(
            self.services
                .iter()
                .filter(|x| !in_ns(x) && x.metadata.name.as_deref() == Some(name))
                .filter_map(|x| x.metadata.namespace.clone())
                .collect(),
        );
    }

    /// The Service's pods and slices, and — only when its selector matched nothing here — the
    /// near-miss facts; the events and nodes of its pods.
    fn backends(&self, s: &mut ClusterState, selector: &BTreeMap<String, String>) {
        let index = self.index();
        let namespace = s.namespace.clone();
        let in_ns = |p: &&Pod| p.metadata.namespace.as_deref() == Some(namespace.as_str());
        let ns_pods: Vec<&Pod> = index
            .pods
            .get(&namespace)
            .into_iter()
            .flatten()
            .map(|&i| &self.pods[i])
            .collect();
        let matches = |p: &&Pod| !selector.is_empty() && k8s::selector_matches_pod(selector, p);
        let selected: Vec<Pod> = ns_pods.iter().copied().filter(matches).cloned().collect();
        let near_miss = selected.is_empty();
        s.pods_elsewhere = Fact::Known(if near_miss && !selector.is_empty() {
            self.pods
                .iter()
                .filter(|p| !in_ns(p))
                .filter(matches)
                .take(50)
                .cloned()
                .collect()
        } else {
            Vec::new()
        });
        s.pods = Fact::Known(selected);
        s.namespace_pods = Fact::Known(if near_miss {
            ns_pods.into_iter().cloned().collect()
        } else {
            Vec::new()
        });
        s.on_delete = self
            .on_delete
            .iter()
            .filter(|(wns, _)| *wns == namespace)
            .map(|(_, name)| name.clone())
            .collect();
        s.scaled_to_zero = self
            .scaled_to_zero
            .iter()
            .filter(|(_, wns, _, labels)| {
                *wns == namespace && !selector.is_empty() && k8s::selector_matches(selector, labels)
            })
            .map(|(kind, _, wname, _)| format!("{kind} {wname}"))
            .collect();

        self.slices_of(s, selector.is_empty());
        self.explaining(s);
    }

    /// The Service's EndpointSlices (by its label), and the unlabelled ones of its namespace.
    fn slices_of(&self, s: &mut ClusterState, selector_less: bool) {
        let index = self.index();
        let (namespace, name) = (s.namespace.clone(), s.service_name.clone());
        let label = |sl: &EndpointSlice| {
            sl.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
                .cloned()
        };
        let ns_slices: Vec<&EndpointSlice> = index
            .slices
            .get(&namespace)
            .into_iter()
            .flatten()
            .map(|&i| &self.slices[i])
            .collect();
        let mine: Vec<EndpointSlice> = ns_slices
            .iter()
            .filter(|sl| label(sl).as_deref() == Some(name.as_str()))
            .map(|sl| (*sl).clone())
            .collect();
        s.unlabelled_slices = Fact::Known(
            ns_slices
                .iter()
                .filter(|sl| label(sl).is_none())
                .map(|sl| (*sl).clone())
                .collect(),
        );
        // Selector-less Services have hand-made slices, which manifests carry; for the others the
        // controller makes them at run time, unless the manifests are an export of a live cluster.
        s.slices = if selector_less || !mine.is_empty() || self.source == SourceKind::Live {
            Fact::Known(mine)
        } else {
            Fact::Unavailable(Unavailable::Offline(
                "EndpointSlices exist only in a running cluster",
            ))
        };
    }

    /// Events and nodes only of the selected pods: what explains them, not the whole scope.
    fn explaining(&self, s: &mut ClusterState) {
        let namespace = s.namespace.clone();
        let (pod_names, node_names): (Vec<String>, Vec<String>) = s
            .pods
            .known()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    k8s::name_of(&p.metadata).to_string(),
                    p.spec
                        .as_ref()
                        .and_then(|sp| sp.node_name.clone())
                        .unwrap_or_default(),
                )
            })
            .unzip();
        s.events = Fact::Known(
            self.events
                .iter()
                .filter(|e| e.metadata.namespace.as_deref() == Some(namespace.as_str()))
                .filter(|e| {
                    e.involved_object
                        .name
                        .as_ref()
                        .is_some_and(|n| pod_names.contains(n))
                })
                .cloned()
                .collect(),
        );
        // A NodePort or LoadBalancer Service's probe tries every node read for it.
        let index = self.index();
        let node_ports = index
            .services
            .get(&(s.namespace.clone(), s.service_name.clone()))
            .is_some_and(|&i| k8s::has_node_ports(&self.services[i]));
        s.nodes = Fact::Known(if node_ports {
            self.nodes.clone()
        } else {
            let mut at: Vec<usize> = node_names
                .iter()
                .filter_map(|n| index.nodes.get(n).copied())
                .collect();
            at.sort_unstable();
            at.dedup();
            at.into_iter().map(|i| self.nodes[i].clone()).collect()
        });
    }

    /// The `--from` client as the snapshot holds it: a pod by name, or a pod of a workload (a
    /// ready one first), else the names the user may have meant.
    fn client(&self, namespace: &str, spec: &ClientSpec) -> Client {
        let (cns, cname, workload) = match spec {
            ClientSpec::Pod {
                namespace: cns,
                name,
                workload,
            } => (
                cns.clone().unwrap_or_else(|| namespace.to_string()),
                name,
                *workload,
            ),
            ClientSpec::Namespace {
                namespace: cns,
                labels,
            } => {
                return Client::Hypothetical {
                    namespace: cns.clone(),
                    labels: labels.clone(),
                };
            }
        };
        let here: Vec<Pod> = self
            .pods
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(cns.as_str()))
            .cloned()
            .collect();
        let pod = match workload {
            None => here
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(cname.as_str())),
            Some(kind) => k8s::pick_pod_of(&here, kind, cname),
        };
        let near = if pod.is_none() && workload.is_none() {
            let names: Vec<String> = here
                .iter()
                .map(|p| k8s::name_of(&p.metadata).to_string())
                .collect();
            crate::text::near_names(cname, &names)
        } else {
            Vec::new()
        };
        let shown = match (workload, pod) {
            (Some(kind), None) => format!("{kind} {cname}"),
            (_, Some(p)) => k8s::name_of(&p.metadata).to_string(),
            (None, None) => cname.clone(),
        };
        let pod = match self.unavailable.get(part::CLIENT) {
            Some(u) => Fact::Unavailable(u.clone()),
            None => Fact::Known(pod.cloned()),
        };
        Client::Pod {
            namespace: cns,
            name: shown,
            pod: Box::new(pod),
            near,
        }
    }

    /// The client, and the policy facts of the Service's namespace and the client's.
    fn policy(&self, s: &mut ClusterState, client: Option<&ClientSpec>) {
        let index = self.index();
        let namespace = s.namespace.clone();
        s.client = client.map(|spec| self.client(&namespace, spec));
        let client_ns = s
            .client
            .as_ref()
            .map(|c| c.namespace().to_string())
            .unwrap_or_else(|| namespace.clone());
        let mut policy_namespaces = vec![namespace.as_str()];
        if client_ns != namespace {
            policy_namespaces.push(client_ns.as_str());
        }
        s.policies = Fact::Known(
            policy_namespaces
                .into_iter()
                .flat_map(|n| index.policies.get(n).into_iter().flatten())
                .map(|&i| self.policies[i].clone())
                .collect(),
        );
        s.namespaces = self
            .namespaces_fact
            .clone()
            .map_known(|_| index.namespaces.clone());
        s.namespace_labels = Some(index.namespace_labels.clone());
        s.dns_pods = match (&self.dns_pods, self.source) {
            (Some(pods), _) => pods.clone(),
            (None, SourceKind::Manifests) => Fact::Unavailable(Unavailable::Offline(
                "the cluster DNS pods are not in the manifests",
            )),
            // Read with a client, or for the probe (Live::dns_pods): not seen is not "none".
            (None, SourceKind::Live) => Fact::Unavailable(Unavailable::NotRequested(
                "the cluster DNS pods are read with a client or for the probe",
            )),
        };
        if let Some(ds) = &self.daemonsets {
            s.daemonsets = ds.clone();
        }
        if let Some(apis) = &self.policy_apis {
            s.policy_apis = apis.clone();
        }
        s.other_policies = self.other_policies.clone();
        if let Some(mesh) = &self.mesh {
            s.mesh = mesh.clone();
        }
        if let Some(u) = self.unavailable.get(part::POLICIES) {
            s.policies = Fact::Unavailable(u.clone());
        }
        s.tier_policies = match (
            self.unavailable.get(part::TIER_POLICIES),
            &self.tier_policies,
        ) {
            (Some(u), _) => Fact::Unavailable(u.clone()),
            (None, Some(t)) => Fact::Known(t.clone()),
            (None, None) => Fact::Unavailable(Unavailable::NotRequested(
                "the cluster-wide policies were not read",
            )),
        };
    }

    /// Ingresses of the Service's namespace, and what those routing to it need: classes,
    /// controllers, TLS secrets and the Certificates meant to create them.
    fn ingress(&self, s: &mut ClusterState) {
        let namespace = s.namespace.clone();
        s.ingresses = Fact::Known(
            self.index()
                .ingresses
                .get(&namespace)
                .into_iter()
                .flatten()
                .map(|&i| self.ingresses[i].clone())
                .collect(),
        );
        s.ingress_classes = Fact::Known(self.ingress_classes.clone());
        s.controller_pods = self.controller_pods.clone();
        s.gke = self.gke;
        let mut wanted: Vec<String> = s
            .routing_ingresses()
            .iter()
            .flat_map(|i| i.spec.iter().flat_map(|sp| sp.tls.iter().flatten()))
            .filter_map(|t| t.secret_name.clone())
            .collect();
        wanted.sort();
        wanted.dedup();
        for name in wanted {
            let found = self
                .secrets
                .iter()
                .find(|(sns, sn, _)| *sns == namespace && *sn == name)
                .map(|(_, _, f)| f.clone());
            s.tls_secrets
                .push((name, found.unwrap_or(Fact::Known(None))));
        }
        s.certificates = self
            .certificates
            .iter()
            .filter(|(cns, _, _)| *cns == namespace)
            .map(|(_, n, f)| (n.clone(), f.clone()))
            .collect();
    }

    /// The routes of any namespace whose backendRefs name the Service, their Gateways and
    /// classes, the grants, the namespaces and the listeners' certificate Secrets.
    fn gateway(&self, s: &mut ClusterState) {
        use crate::gateway::types::key;
        let g = &self.gateway;
        let installed = match &g.installed {
            Fact::Known(i) => *i,
            Fact::Unavailable(u) => {
                s.gateway = Fact::Unavailable(u.clone());
                return;
            }
        };
        if let Some(u) = self.unavailable.get(part::ROUTES) {
            s.gateway = Fact::Unavailable(u.clone());
            return;
        }
        let routes: Vec<crate::gateway::Route> = g
            .routes
            .iter()
            .filter(|r| !r.refs_to(&s.namespace, &s.service_name).is_empty())
            .cloned()
            .collect();
        let parents = crate::gateway::parent_gateways(&routes);
        // Every Gateway and class (short lists): the ones the routes name, and the names a typo
        // may have meant.
        let gateways: Vec<crate::gateway::Gateway> = g.gateways.clone();
        let classes = g.classes.clone();
        let mut secrets = Vec::new();
        for gw in gateways
            .iter()
            .filter(|gw| parents.contains(&key(&gw.metadata)))
        {
            for l in &gw.spec.listeners {
                for c in l.tls.iter().flat_map(|t| t.certificate_refs.iter()) {
                    let ns = c
                        .namespace
                        .clone()
                        .unwrap_or_else(|| gw.namespace().to_string());
                    if secrets.iter().any(|(n, m, _)| *n == ns && *m == c.name) {
                        continue;
                    }
                    let found = self
                        .secrets
                        .iter()
                        .find(|(sns, sn, _)| *sns == ns && *sn == c.name)
                        .map(|(_, _, f)| f.clone())
                        .unwrap_or(Fact::Known(None));
                    secrets.push((ns, c.name.clone(), found));
                }
            }
        }
        let fact = |part: &str, v: Vec<_>| match self.unavailable.get(part) {
            Some(u) => Fact::Unavailable(u.clone()),
            None => Fact::Known(v),
        };
        let (namespaces, complete) = match (&g.namespaces, self.source) {
            (Some(n), _) => (n.clone(), true),
            // One shared copy, however many Services are judged.
            (None, SourceKind::Manifests) => (Fact::Known(self.index().namespaces.clone()), false),
            (None, SourceKind::Live) => (
                self.namespaces_fact
                    .clone()
                    .map_known(|_| self.index().namespaces.clone()),
                true,
            ),
        };
        s.gateway = Fact::Known(crate::state::GatewayFacts {
            installed,
            routes,
            gateways: fact(part::GATEWAYS, gateways),
            classes: match self.unavailable.get(part::GATEWAY_CLASSES) {
                Some(u) => Fact::Unavailable(u.clone()),
                None => Fact::Known(classes),
            },
            grants: match self.unavailable.get(part::GRANTS) {
                Some(u) => Fact::Unavailable(u.clone()),
                None => Fact::Known(g.grants.clone()),
            },
            namespaces,
            namespaces_complete: complete,
            secrets,
            controller_pods: g.controller_pods.clone(),
            data_plane_pods: g.data_plane_pods.clone(),
        });
    }

    /// What the source could not read stays unknown, never empty.
    fn unread(&self, s: &mut ClusterState) {
        fn unread<T>(u: &Unavailable) -> Fact<T> {
            Fact::Unavailable(u.clone())
        }
        for (kind, why) in &self.unavailable {
            match *kind {
                part::PODS => {
                    s.pods = unread(why);
                    s.namespace_pods = unread(why);
                }
                part::NAMESPACE_PODS => s.namespace_pods = unread(why),
                part::PODS_ELSEWHERE => s.pods_elsewhere = unread(why),
                part::NAMESPACE_SERVICES => s.namespace_services = unread(why),
                part::SERVICES_ELSEWHERE => s.same_name_elsewhere = unread(why),
                part::SLICES => {
                    s.slices = unread(why);
                    s.unlabelled_slices = unread(why);
                }
                part::EVENTS => s.events = unread(why),
                part::NODES => s.nodes = unread(why),
                part::INGRESSES => s.ingresses = unread(why),
                part::INGRESS_CLASSES => s.ingress_classes = unread(why),
                _ => {}
            }
        }
    }
}

/// The parts of a snapshot that can be unread, as [`Snapshot::unavailable`]'s keys: most are the
/// kind's plural (scan lists them as unreadable kinds); a live `svc` reads some kinds in parts.
pub(crate) mod part {
    /// The Service itself (live `svc`).
    pub(crate) const SERVICE: &str = "service";
    /// The Services of the namespace, for near names (live `svc`, Service missing).
    pub(crate) const NAMESPACE_SERVICES: &str = "services";
    /// Services of the same name in other namespaces (live `svc`, Service missing).
    pub(crate) const SERVICES_ELSEWHERE: &str = "services -A";
    /// An ExternalName's in-cluster target.
    pub(crate) const EXTERNAL_TARGET: &str = "services (ExternalName target)";
    pub(crate) const PODS: &str = "pods";
    /// Every pod of the namespace (live `svc`, selector matched nothing).
    pub(crate) const NAMESPACE_PODS: &str = "pods (namespace)";
    /// Pods of other namespaces the selector matches (live `svc`, selector matched nothing).
    pub(crate) const PODS_ELSEWHERE: &str = "pods -A";
    /// The `--from` pod.
    pub(crate) const CLIENT: &str = "pods (--from)";
    pub(crate) const SLICES: &str = "endpointslices";
    pub(crate) const POLICIES: &str = "networkpolicies";
    pub(crate) const EVENTS: &str = "events";
    pub(crate) const NODES: &str = "nodes";
    pub(crate) const INGRESSES: &str = "ingresses";
    pub(crate) const INGRESS_CLASSES: &str = "ingressclasses";
    /// Routes of the Gateway API (any kind).
    pub(crate) const ROUTES: &str = "routes.gateway.networking.k8s.io";
    pub(crate) const GATEWAYS: &str = "gateways.gateway.networking.k8s.io";
    pub(crate) const GATEWAY_CLASSES: &str = "gatewayclasses.gateway.networking.k8s.io";
    pub(crate) const GRANTS: &str = "referencegrants.gateway.networking.k8s.io";
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy.
    pub(crate) const TIER_POLICIES: &str = "policy.networking.k8s.io";
}
