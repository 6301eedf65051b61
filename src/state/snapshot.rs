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
}

/// Where each namespace's pods and slices are in the snapshot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    services: std::collections::HashMap<(String, String), usize>,
    pods: std::collections::HashMap<String, Vec<usize>>,
    slices: std::collections::HashMap<String, Vec<usize>>,
    policies: std::collections::HashMap<String, Vec<usize>>,
    /// Shared by every Service's state: one copy, however many Services.
    namespaces: std::sync::Arc<Vec<Namespace>>,
}

impl Snapshot {
    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut idx = Index {
                namespaces: std::sync::Arc::new(self.namespaces.clone()),
                ..Index::default()
            };
            for (i, p) in self.pods.iter().enumerate() {
                idx.pods
                    .entry(p.metadata.namespace.clone().unwrap_or_default())
                    .or_default()
                    .push(i);
            }
            for (i, svc) in self.services.iter().enumerate() {
                let key = (
                    svc.metadata.namespace.clone().unwrap_or_default(),
                    svc.metadata.name.clone().unwrap_or_default(),
                );
                idx.services.entry(key).or_insert(i);
            }
            for (i, p) in self.policies.iter().enumerate() {
                idx.policies
                    .entry(p.metadata.namespace.clone().unwrap_or_default())
                    .or_default()
                    .push(i);
            }
            for (i, sl) in self.slices.iter().enumerate() {
                idx.slices
                    .entry(sl.metadata.namespace.clone().unwrap_or_default())
                    .or_default()
                    .push(i);
            }
            idx
        })
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
            ingresses: Vec::new(),
            ingress_classes: Vec::new(),
            controller_pods: Fact::Unavailable(Unavailable::Offline(
                "ingress controllers run only in a live cluster",
            )),
            secrets: Vec::new(),
            index: std::sync::OnceLock::new(),
            unavailable: BTreeMap::new(),
            origins: Default::default(),
            duplicates: Default::default(),
        }
    }

    /// The Service flow's state for one Service, from the snapshot.
    pub(crate) fn state_for_service(
        &self,
        namespace: &str,
        name: &str,
        client: Option<&ClientSpec>,
    ) -> ClusterState {
        let o = self;
        let mut s = ClusterState::new(self.source, namespace, name);
        let in_ns = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            m.namespace.as_deref() == Some(namespace)
        };
        let index = self.index();
        let service = index
            .services
            .get(&(namespace.to_string(), name.to_string()))
            .map(|&i| o.services[i].clone());
        // Near names and other namespaces matter only when the Service is missing.
        if service.is_none() {
            s.namespace_services = Fact::Known(
                o.services
                    .iter()
                    .filter(|x| in_ns(&x.metadata))
                    .filter_map(|x| x.metadata.name.clone())
                    .collect(),
            );
            s.same_name_elsewhere = Fact::Known(
                o.services
                    .iter()
                    .filter(|x| !in_ns(&x.metadata) && x.metadata.name.as_deref() == Some(name))
                    .filter_map(|x| x.metadata.namespace.clone())
                    .collect(),
            );
        }
        let selector = service
            .as_ref()
            .and_then(|svc| svc.spec.as_ref())
            .and_then(|spec| spec.selector.clone())
            .unwrap_or_default();
        let ns_pods: Vec<&Pod> = index
            .pods
            .get(namespace)
            .into_iter()
            .flatten()
            .map(|&i| &o.pods[i])
            .collect();
        let matches = |p: &&Pod| !selector.is_empty() && k8s::selector_matches_pod(&selector, p);
        let selected: Vec<Pod> = ns_pods.iter().copied().filter(matches).cloned().collect();
        // Only a selector that matched nothing here needs the near-miss facts (as live).
        let near_miss = selected.is_empty();
        s.pods_elsewhere = Fact::Known(if near_miss && !selector.is_empty() {
            o.pods
                .iter()
                .filter(|p| !in_ns(&p.metadata))
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

        let label = |sl: &EndpointSlice| {
            sl.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
                .cloned()
        };
        let ns_slices: Vec<&EndpointSlice> = index
            .slices
            .get(namespace)
            .into_iter()
            .flatten()
            .map(|&i| &o.slices[i])
            .collect();
        let mine: Vec<EndpointSlice> = ns_slices
            .iter()
            .filter(|sl| label(sl).as_deref() == Some(name))
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
        s.slices = if selector.is_empty() || !mine.is_empty() || self.source == SourceKind::Live {
            Fact::Known(mine)
        } else {
            Fact::Unavailable(Unavailable::Offline(
                "EndpointSlices exist only in a running cluster",
            ))
        };
        if let Some(svc) = &service {
            s.external_target = crate::state::external_target(svc);
            if let Some((r, fact)) = &mut s.external_target {
                let exists = o.services.iter().any(|x| {
                    x.metadata.namespace == r.namespace
                        && x.metadata.name.as_deref() == Some(r.name.as_str())
                });
                *fact = Fact::Known(exists);
            }
        }
        s.client = client.map(|spec| match spec {
            ClientSpec::Pod {
                namespace: cns,
                name: cname,
                workload,
            } => {
                let cns = cns.clone().unwrap_or_else(|| namespace.to_string());
                let here: Vec<&Pod> = o
                    .pods
                    .iter()
                    .filter(|p| p.metadata.namespace.as_deref() == Some(cns.as_str()))
                    .collect();
                // A Pod of that name, else a workload whose template stands in for its pods;
                // `deploy/NAME` asks for the workload's (template) pod by its kind.
                let pod = match workload {
                    None => here
                        .iter()
                        .find(|p| p.metadata.name.as_deref() == Some(cname.as_str()))
                        .map(|p| (*p).clone()),
                    Some(kind) => here
                        .iter()
                        .find(|p| {
                            k8s::workload_of(p).is_some_and(|(k, n)| k == *kind && n == *cname)
                        })
                        .map(|p| (*p).clone()),
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
                let shown = match (workload, &pod) {
                    (Some(kind), None) => format!("{kind} {cname}"),
                    _ => cname.clone(),
                };
                Client::Pod {
                    namespace: cns,
                    name: shown,
                    pod: Box::new(Fact::Known(pod)),
                    near,
                }
            }
            ClientSpec::Namespace {
                namespace: cns,
                labels,
            } => Client::Hypothetical {
                namespace: cns.clone(),
                labels: labels.clone(),
            },
        });
        let client_ns = s
            .client
            .as_ref()
            .map(|c| c.namespace().to_string())
            .unwrap_or_else(|| namespace.to_string());
        let mut policy_namespaces = vec![namespace];
        if client_ns != namespace {
            policy_namespaces.push(client_ns.as_str());
        }
        s.policies = Fact::Known(
            policy_namespaces
                .into_iter()
                .flat_map(|n| index.policies.get(n).into_iter().flatten())
                .map(|&i| o.policies[i].clone())
                .collect(),
        );
        s.namespaces = o
            .namespaces_fact
            .clone()
            .map_known(|_| index.namespaces.clone());
        s.dns_pods = match self.source {
            SourceKind::Manifests => Fact::Unavailable(Unavailable::Offline(
                "the cluster DNS pods are not in the manifests",
            )),
            SourceKind::Live => Fact::Known(Vec::new()),
        };
        s.scaled_to_zero = o
            .scaled_to_zero
            .iter()
            .filter(|(_, wns, _, labels)| {
                wns == namespace && !selector.is_empty() && k8s::selector_matches(&selector, labels)
            })
            .map(|(kind, _, wname, _)| format!("{kind} {wname}"))
            .collect();
        s.service = Fact::Known(service);
        // Events and nodes only of the selected pods: what explains them, not the whole scope.
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
            o.events
                .iter()
                .filter(|e| in_ns(&e.metadata))
                .filter(|e| {
                    e.involved_object
                        .name
                        .as_ref()
                        .is_some_and(|n| pod_names.contains(n))
                })
                .cloned()
                .collect(),
        );
        s.nodes = Fact::Known(
            o.nodes
                .iter()
                .filter(|n| {
                    node_names
                        .iter()
                        .any(|x| Some(x.as_str()) == n.metadata.name.as_deref())
                })
                .cloned()
                .collect(),
        );
        s.origins = o.origins.clone();
        s.duplicates = o.duplicates.clone();
        s.ingresses = Fact::Known(
            o.ingresses
                .iter()
                .filter(|i| in_ns(&i.metadata))
                .cloned()
                .collect(),
        );
        s.ingress_classes = Fact::Known(o.ingress_classes.clone());
        s.controller_pods = o.controller_pods.clone();
        let wanted: Vec<String> = s
            .routing_ingresses()
            .iter()
            .flat_map(|i| i.spec.iter().flat_map(|sp| sp.tls.iter().flatten()))
            .filter_map(|t| t.secret_name.clone())
            .collect();
        for name in wanted {
            if s.tls_secrets.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let found = o
                .secrets
                .iter()
                .find(|(sns, sn, _)| sns == namespace && *sn == name)
                .map(|(_, _, f)| f.clone());
            s.tls_secrets
                .push((name, found.unwrap_or(Fact::Known(None))));
        }
        // What the source could not read stays unknown, never empty.
        for (kind, u) in &self.unavailable {
            match *kind {
                "pods" => {
                    s.pods = Fact::Unavailable(u.clone());
                    s.namespace_pods = Fact::Unavailable(u.clone());
                }
                "endpointslices" => {
                    s.slices = Fact::Unavailable(u.clone());
                    s.unlabelled_slices = Fact::Unavailable(u.clone());
                }
                "networkpolicies" => s.policies = Fact::Unavailable(u.clone()),
                "events" => s.events = Fact::Unavailable(u.clone()),
                "nodes" => s.nodes = Fact::Unavailable(u.clone()),
                _ => {}
            }
        }
        s
    }
}
