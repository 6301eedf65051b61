//! One Service's scope, read live into a [`Snapshot`]: round 1 the Service; round 2, all at once,
//! its pods and slices, the namespace's Ingresses and NetworkPolicies (and, with `--from`, the
//! client). Only what those show leads further: not-ready pods' events and nodes, a selector that
//! matched nothing (the namespace's pods), routing Ingresses' classes, controllers and secrets,
//! policies' enforcers. The state is then derived from the snapshot as offline.

use futures::future::join_all;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use kube::api::{Api, ListParams};

use super::{EXPLAIN_PODS, Live, ReadError, humantime, on_delete, zero_replica_workloads};
use crate::error::{Error, Result};
use crate::k8s;
use crate::state::snapshot::{Snapshot, part};
use crate::state::{ClientSpec, ClusterState, Fact, SourceKind};
use crate::text;

impl Live {
    /// The state of one Service's flow: its scope read, then derived as offline.
    pub(crate) async fn service_state(
        &self,
        ns: &str,
        name: &str,
        client: Option<&ClientSpec>,
    ) -> Result<ClusterState> {
        let snap = self.service_snapshot(ns, name, client).await?;
        Ok(snap.state_for_service(ns, name, client))
    }

    /// What `path --to pod/NAME` judges: the pod, and the policy round for it and the client.
    pub(crate) async fn pod_state(
        &self,
        ns: &str,
        name: &str,
        client: Option<&ClientSpec>,
    ) -> Result<ClusterState> {
        let work = async {
            let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
            let pod = match self
                .bounded(format!("get pod {ns}/{name}"), pods.get_opt(name))
                .await
            {
                Ok(p) => p,
                Err(ReadError::Transport(m, e)) => return Err(self.unreachable(&m, e)),
                Err(e) => {
                    return Err(Error::Unreachable(
                        e.into_unavailable("get", "pods", Some(ns)).reason(),
                    ));
                }
            };
            let snap = self.policy_part(ns, client).await;
            Ok(snap.state_for_pod(ns, pod, client))
        };
        self.within_request_timeout(work).await
    }

    /// One Service's scope, read in as few rounds as its objects allow.
    pub(crate) async fn service_snapshot(
        &self,
        ns: &str,
        name: &str,
        client: Option<&ClientSpec>,
    ) -> Result<Snapshot> {
        self.services_snapshot(ns, &[name.to_string()], client)
            .await
    }

    /// Several Services of one namespace (`ingress NAME`'s backends) in the same rounds: their
    /// own objects each, and what they share — the namespace's Ingresses and policies, who
    /// enforces them — read once.
    pub(crate) async fn services_snapshot(
        &self,
        ns: &str,
        names: &[String],
        client: Option<&ClientSpec>,
    ) -> Result<Snapshot> {
        let work = async {
            let mut snap = Snapshot::new(SourceKind::Live);
            let reads = names.iter().map(|name| async move {
                let mut part = Snapshot::new(SourceKind::Live);
                let svc = self.service_part(&mut part, ns, name).await;
                svc.map(|svc| (part, svc))
            });
            let mut found = Vec::new();
            for read in join_all(reads).await {
                let (part, svc) = read?;
                snap.absorb(part);
                found.extend(svc);
            }
            if found.is_empty() {
                return Ok(snap);
            }
            let found_names: Vec<&str> = found
                .iter()
                .map(|svc| crate::k8s::name_of(&svc.metadata))
                .collect();
            let backends = found
                .iter()
                .map(|svc| self.backends_part(ns, crate::k8s::name_of(&svc.metadata), svc));
            let services: Vec<(&str, &str)> = found_names.iter().map(|n| (ns, *n)).collect();
            let (backends, ingress, policy, gateway, nodes, mesh) = tokio::join!(
                join_all(backends),
                self.ingress_part(ns, &found_names),
                self.policy_part(ns, client),
                self.gateway_part(&services),
                self.node_port_nodes(&found),
                self.mesh_part(ns),
            );
            snap.mesh = mesh;
            for part in backends {
                snap.absorb(part);
            }
            snap.absorb(nodes);
            snap.absorb(ingress);
            snap.absorb(policy);
            snap.absorb(gateway);
            Ok(snap)
        };
        self.within_request_timeout(work).await
    }

    /// `work`, bounded by `--request-timeout` as a whole.
    pub(super) async fn within_request_timeout<T>(
        &self,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.timeout {
            Some(t) => tokio::time::timeout(t, work).await.map_err(|_| {
                Error::Unreachable(format!(
                    "the API server at {} did not answer within {} (--request-timeout)",
                    self.server,
                    humantime(t)
                ))
            })?,
            None => work.await,
        }
    }

    /// "cannot reach the API server at URL: why" (exit 3), with the client's error when there is
    /// one.
    pub(super) fn unreachable(&self, why: &str, source: Option<kube::Error>) -> Error {
        let message = format!("cannot reach the API server at {}: {why}", self.server);
        match source {
            Some(e) => Error::Api {
                message,
                source: Box::new(e),
            },
            None => Error::Unreachable(message),
        }
    }

    /// Round 1: the Service, or — when it is missing — the names the user may have meant. A
    /// transport failure here means the cluster is unreachable (exit 3).
    async fn service_part(
        &self,
        snap: &mut Snapshot,
        ns: &str,
        name: &str,
    ) -> Result<Option<Service>> {
        let services: Api<Service> = Api::namespaced(self.client.clone(), ns);
        let svc = match self
            .bounded(format!("get service {ns}/{name}"), services.get_opt(name))
            .await
        {
            Ok(svc) => svc,
            Err(ReadError::Transport(m, e)) => return Err(self.unreachable(&m, e)),
            Err(e) => {
                let u = e.into_unavailable("get", "services", Some(ns));
                snap.unavailable.insert(part::SERVICE, u);
                return Ok(None);
            }
        };
        if let Some(svc) = svc {
            snap.services.push(svc.clone());
            return Ok(Some(svc));
        }
        // Round 2 (missing): near names here, the same name elsewhere.
        let all: Api<Service> = Api::all(self.client.clone());
        let (here, elsewhere, api) = tokio::join!(
            self.list(
                services,
                format!("list services in {ns}"),
                ListParams::default()
            ),
            self.list(
                all,
                "list services -A by name".to_string(),
                ListParams::default().fields(&format!("metadata.name={name}"))
            ),
            self.confirm_api_server(),
        );
        api?;
        self.take(snap, here, part::NAMESPACE_SERVICES, "services", Some(ns));
        self.take(snap, elsewhere, part::SERVICES_ELSEWHERE, "services", None);
        Ok(None)
    }

    /// Adds what a list read to the snapshot, or marks the part unread.
    pub(super) fn take<K: kube::Resource>(
        &self,
        snap: &mut Snapshot,
        res: std::result::Result<Vec<K>, ReadError>,
        part: &'static str,
        resource: &'static str,
        ns: Option<&str>,
    ) where
        Snapshot: Holds<K>,
    {
        match res {
            Ok(items) => {
                let mut part = Snapshot::new(SourceKind::Live);
                part.held().extend(items);
                snap.absorb(part);
            }
            Err(e) => {
                snap.unavailable
                    .insert(part, e.into_unavailable("list", resource, ns));
            }
        }
    }

    /// The Service's backends: pods by selector, its slices, an ExternalName's target; then only
    /// when they call for it, the near-miss facts and the events and nodes of pods not ready.
    async fn backends_part(&self, ns: &str, name: &str, svc: &Service) -> Snapshot {
        let mut snap = Snapshot::new(SourceKind::Live);
        let selector = svc
            .spec
            .as_ref()
            .and_then(|s| s.selector.clone())
            .unwrap_or_default();
        let sel = text::labels(&selector);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), ns);
        let own_label = format!("kubernetes.io/service-name={name}");
        let (selected, own, unlabelled, ext) = tokio::join!(
            async {
                if selector.is_empty() {
                    return Ok(Vec::new());
                }
                let lp = ListParams::default().labels(&sel);
                self.list(pods.clone(), format!("list pods in {ns} -l {sel}"), lp)
                    .await
            },
            self.list(
                slices.clone(),
                format!("list endpointslices in {ns} -l {own_label}"),
                ListParams::default().labels(&own_label)
            ),
            async {
                if !selector.is_empty() {
                    return Ok(Vec::new());
                }
                let lp = ListParams::default().labels("!kubernetes.io/service-name");
                let what = format!("list endpointslices in {ns} without a service-name label");
                self.list(slices.clone(), what, lp).await
            },
            self.external_target(svc),
        );
        let near_miss = !selector.is_empty() && matches!(&selected, Ok(p) if p.is_empty());
        let not_ready: Vec<Pod> = selected
            .iter()
            .flatten()
            .filter(|p| k8s::pod_ready(p) != Some(true))
            .take(EXPLAIN_PODS)
            .cloned()
            .collect();
        self.take(&mut snap, selected, part::PODS, "pods", Some(ns));
        self.take(&mut snap, own, part::SLICES, "endpointslices", Some(ns));
        self.take(
            &mut snap,
            unlabelled,
            part::SLICES,
            "endpointslices",
            Some(ns),
        );
        match ext {
            Some(Ok(target)) => snap.services.extend(target),
            Some(Err(e)) => {
                let u = e.into_unavailable("get", "services", None);
                snap.unavailable.insert(part::EXTERNAL_TARGET, u);
            }
            None => {}
        }
        if near_miss {
            self.near_miss(&mut snap, ns, &sel).await;
        }
        self.explain_not_ready(&mut snap, ns, &not_ready).await;
        snap
    }

    /// An ExternalName Service's in-cluster target, read by name.
    async fn external_target(
        &self,
        svc: &Service,
    ) -> Option<std::result::Result<Option<Service>, ReadError>> {
        let (r, _) = crate::state::external_target(svc)?;
        let target_ns = r.namespace.clone().unwrap_or_default();
        let api: Api<Service> = Api::namespaced(self.client.clone(), &target_ns);
        let what = format!("get service {target_ns}/{}", r.name);
        Some(self.bounded(what, api.get_opt(&r.name)).await)
    }

    /// A selector that matched nothing here: the namespace's pods, pods elsewhere that it matches
    /// (one page is enough to say "they run in namespace X"), and workloads scaled to zero.
    async fn near_miss(&self, snap: &mut Snapshot, ns: &str, sel: &str) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let all_pods: Api<Pod> = Api::all(self.client.clone());
        let one_page = ListParams::default().labels(sel).limit(50);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
        let statefulsets: Api<StatefulSet> = Api::namespaced(self.client.clone(), ns);
        let all = ListParams::default;
        let (here, elsewhere, deploys, sets) = tokio::join!(
            self.list(pods, format!("list pods in {ns}"), all()),
            self.bounded(format!("list pods -A -l {sel}"), all_pods.list(&one_page)),
            self.list(deployments, format!("list deployments in {ns}"), all()),
            self.list(statefulsets, format!("list statefulsets in {ns}"), all()),
        );
        self.take(snap, here, part::NAMESPACE_PODS, "pods", Some(ns));
        let elsewhere = elsewhere.map(|l| l.items);
        self.take(snap, elsewhere, part::PODS_ELSEWHERE, "pods", None);
        let sets = sets.unwrap_or_default();
        snap.on_delete = on_delete(&sets);
        snap.scaled_to_zero = zero_replica_workloads(deploys.unwrap_or_default(), sets);
    }

    /// The nodes a NodePort or LoadBalancer Service's nodePorts are tried on: one page of
    /// [`MAX_NODE_PORT_NODES`](crate::state::plan::MAX_NODE_PORT_NODES) (the plan puts the nodes
    /// hosting endpoints first among them); nothing for other Services.
    async fn node_port_nodes(&self, services: &[Service]) -> Snapshot {
        let mut snap = Snapshot::new(SourceKind::Live);
        if !services.iter().any(crate::k8s::has_node_ports) {
            return snap;
        }
        let nodes: Api<Node> = Api::all(self.client.clone());
        let lp = ListParams::default().limit(crate::state::plan::MAX_NODE_PORT_NODES as u32);
        match self
            .bounded("list nodes".to_string(), nodes.list(&lp))
            .await
        {
            Ok(page) => snap.nodes = page.items,
            Err(e) => {
                snap.unavailable
                    .insert(part::NODES, e.into_unavailable("list", "nodes", None));
            }
        }
        snap
    }

    /// The events and nodes of pods that are not ready.
    async fn explain_not_ready(&self, snap: &mut Snapshot, ns: &str, not_ready: &[Pod]) {
        if not_ready.is_empty() {
            return;
        }
        let events: Api<Event> = Api::namespaced(self.client.clone(), ns);
        let nodes: Api<Node> = Api::all(self.client.clone());
        let mut node_names: Vec<String> = not_ready
            .iter()
            .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
            .collect();
        node_names.sort();
        node_names.dedup();
        let event_reads = not_ready.iter().map(|p| {
            let pod = k8s::name_of(&p.metadata).to_string();
            let lp = ListParams::default().fields(&format!(
                "involvedObject.kind=Pod,involvedObject.name={pod}"
            ));
            let events = events.clone();
            async move {
                self.list(events, format!("list events of pod {pod}"), lp)
                    .await
            }
        });
        let node_reads = node_names.iter().map(|n| {
            let nodes = nodes.clone();
            async move {
                self.bounded(format!("get node {n}"), nodes.get_opt(n))
                    .await
            }
        });
        let (ev, nd) = tokio::join!(join_all(event_reads), join_all(node_reads));
        let ev = ev
            .into_iter()
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(|v| v.into_iter().flatten().collect());
        self.take(snap, ev, part::EVENTS, "events", Some(ns));
        match nd.into_iter().collect::<std::result::Result<Vec<_>, _>>() {
            Ok(v) => snap.nodes.extend(v.into_iter().flatten()),
            Err(e) => {
                let u = e.into_unavailable("get", "nodes", None);
                snap.unavailable.insert(part::NODES, u);
            }
        }
    }

    /// The Ingress round: the namespace's Ingresses; for those routing to the Services, the
    /// IngressClasses, the pods of the controllers they name, and their TLS secrets by name.
    async fn ingress_part(&self, ns: &str, names: &[&str]) -> Snapshot {
        let mut snap = Snapshot::new(SourceKind::Live);
        let api: Api<Ingress> = Api::namespaced(self.client.clone(), ns);
        let classes_api: Api<IngressClass> = Api::all(self.client.clone());
        // The classes (a short cluster-wide list) in the same round: a routing Ingress needs them
        // before its controllers can be looked for.
        let (ingresses, classes) = tokio::join!(
            self.list(
                api,
                format!("list ingresses in {ns}"),
                ListParams::default()
            ),
            self.list(
                classes_api,
                "list ingressclasses".to_string(),
                ListParams::default()
            ),
        );
        self.take(&mut snap, ingresses, part::INGRESSES, "ingresses", Some(ns));
        let routing: Vec<Ingress> = snap
            .ingresses
            .iter()
            .filter(|i| names.iter().any(|name| crate::state::routes_to(i, name)))
            .cloned()
            .collect();
        if routing.is_empty() {
            return snap;
        }
        let (ic, kind) = (part::INGRESS_CLASSES, "ingressclasses");
        self.take(&mut snap, classes, ic, kind, None);
        let controllers = crate::ingress::controllers_of(&routing, &snap.ingress_classes);
        let (gke, pods, secrets) = tokio::join!(
            self.is_gke(&routing),
            self.controller_pods(&controllers),
            self.tls_secrets(ns, &routing)
        );
        snap.gke = gke;
        snap.controller_pods = pods;
        snap.secrets = secrets;
        snap.certificates = self.certificates(ns, &routing, &snap.secrets).await;
        snap
    }

    /// A class-less Ingress is served on GKE (ingress-gce), nowhere else: ask the version.
    async fn is_gke(&self, routing: &[Ingress]) -> bool {
        let classless = routing.iter().any(|i| {
            i.spec
                .as_ref()
                .and_then(|s| s.ingress_class_name.as_ref())
                .is_none()
                && i.metadata
                    .annotations
                    .as_ref()
                    .is_none_or(|a| !a.contains_key("kubernetes.io/ingress.class"))
        });
        if !classless {
            return false;
        }
        let version = self.client.apiserver_version();
        match self.bounded("get /version".to_string(), version).await {
            Ok(v) => v.git_version.contains("-gke."),
            Err(_) => false,
        }
    }

    /// The pods of these controllers, in every namespace (by their labels).
    pub(super) async fn controller_pods(
        &self,
        controllers: &[&'static crate::ingress::Controller],
    ) -> Fact<Vec<Pod>> {
        let selectors: Vec<&str> = controllers
            .iter()
            .flat_map(|c| c.pod_selectors.iter().copied())
            .collect();
        let reads = selectors.iter().map(|sel| {
            let api: Api<Pod> = Api::all(self.client.clone());
            let lp = ListParams::default().labels(sel);
            async move { self.list(api, format!("list pods -A -l {sel}"), lp).await }
        });
        let mut all: Vec<Pod> = Vec::new();
        for r in join_all(reads).await {
            match r {
                // A pod that carries two of the selectors is one pod.
                Ok(pods) => {
                    for p in pods {
                        let held = all.iter().any(|q| {
                            q.metadata.namespace == p.metadata.namespace
                                && q.metadata.name == p.metadata.name
                        });
                        if !held {
                            all.push(p);
                        }
                    }
                }
                Err(e) => return Fact::Unavailable(e.into_unavailable("list", "pods", None)),
            }
        }
        Fact::Known(all)
    }

    /// The TLS secrets the routing Ingresses name, read by name: (namespace, name, secret).
    async fn tls_secrets(
        &self,
        ns: &str,
        routing: &[Ingress],
    ) -> Vec<(String, String, Fact<Option<Secret>>)> {
        let mut names: Vec<String> = routing
            .iter()
            .flat_map(|i| i.spec.iter().flat_map(|s| s.tls.iter().flatten()))
            .filter_map(|t| t.secret_name.clone())
            .collect();
        names.sort();
        names.dedup();
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let reads = names.into_iter().map(|n| {
            let api = api.clone();
            async move {
                let res = self
                    .bounded(format!("get secret {ns}/{n}"), api.get_opt(&n))
                    .await;
                let fact = self.fact(res, "get", "secrets", Some(ns));
                (ns.to_string(), n, fact)
            }
        });
        join_all(reads).await
    }

    /// A missing secret that cert-manager is asked to create: its Certificate says why not yet.
    async fn certificates(
        &self,
        ns: &str,
        routing: &[Ingress],
        secrets: &[(String, String, Fact<Option<Secret>>)],
    ) -> Vec<(String, String, Fact<Option<crate::state::Certificate>>)> {
        let wanted: Vec<String> = routing
            .iter()
            .filter(|i| crate::ingress::cert_manager_issuer(i).is_some())
            .flat_map(|i| i.spec.iter().flat_map(|s| s.tls.iter().flatten()))
            .filter_map(|t| t.secret_name.clone())
            .filter(|n| {
                secrets
                    .iter()
                    .any(|(_, m, f)| m == n && matches!(f, Fact::Known(None)))
            })
            .collect();
        let reads = wanted.iter().map(|n| self.certificate(ns, n));
        let found = join_all(reads).await;
        wanted
            .into_iter()
            .zip(found)
            .map(|(n, f)| (ns.to_string(), n, f))
            .collect()
    }

    /// A cert-manager Certificate by name (cert-manager.io/v1), as far as its readiness.
    async fn certificate(&self, ns: &str, name: &str) -> Fact<Option<crate::state::Certificate>> {
        use kube::api::{ApiResource, DynamicObject};
        let ar = ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"),
            "certificates",
        );
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, &ar);
        let res = self
            .bounded(format!("get certificate {ns}/{name}"), api.get_opt(name))
            .await;
        self.fact(res, "get", "certificates.cert-manager.io", Some(ns))
            .map_known(|c| c.map(|c| crate::state::Certificate::from_status(&c.data["status"])))
    }

    /// The cluster DNS pods (kube-system, `k8s-app=kube-dns`): the probe asks each replica, so
    /// that a hung one is named. Read with a client in the policy round, else here, only when
    /// the probe runs.
    /// Read once per run (every Service's flow shares them).
    pub(crate) async fn dns_pods(&self) -> Fact<Vec<Pod>> {
        self.dns_pods
            .get_or_init(|| async {
                let api: Api<Pod> = Api::namespaced(self.client.clone(), "kube-system");
                let what = "list pods in kube-system -l k8s-app=kube-dns".to_string();
                let lp = ListParams::default().labels("k8s-app=kube-dns");
                let res = self.list(api, what, lp).await;
                self.fact(res, "list", "pods", Some("kube-system"))
            })
            .await
            .clone()
    }

    /// The nodes per-node probing chooses from: every node the label selector matches (`""`:
    /// all), read in pages.
    pub(crate) async fn probe_nodes(&self, selector: &str) -> Fact<Vec<Node>> {
        let api: Api<Node> = Api::all(self.client.clone());
        let (what, lp) = if selector.is_empty() {
            ("list nodes".to_string(), ListParams::default())
        } else {
            (
                format!("list nodes -l {}", crate::text::sanitize(selector)),
                ListParams::default().labels(selector),
            )
        };
        let res = self.list(api, what, lp).await;
        self.fact(res, "list", "nodes", None)
    }

    /// The pods of every namespace that run on `node` (a field selector): its network agents are
    /// among them.
    pub(crate) async fn pods_on_node(&self, node: &str) -> Fact<Vec<Pod>> {
        let api: Api<Pod> = Api::all(self.client.clone());
        let what = format!("list pods -A on node {}", crate::text::sanitize(node));
        let lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
        let res = self.list(api, what, lp).await;
        self.fact(res, "list", "pods", None)
    }

    /// The policy round: NetworkPolicies of the namespace (and the client's), and with a client,
    /// the namespaces' labels, the client pod and the cluster DNS pods its egress needs; when any
    /// policy exists, what enforces it (DaemonSets, other engines' APIs).
    async fn policy_part(&self, ns: &str, client: Option<&ClientSpec>) -> Snapshot {
        let mut snap = Snapshot::new(SourceKind::Live);
        let client_ns = match client {
            Some(ClientSpec::Pod { namespace, .. }) => namespace.as_deref().unwrap_or(ns),
            Some(ClientSpec::Namespace { namespace, .. }) => namespace.as_str(),
            None => ns,
        };
        let mut namespaces = vec![ns.to_string()];
        if client_ns != ns {
            namespaces.push(client_ns.to_string());
        }
        let policies_in = |n: &String| {
            let api: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), n);
            let what = format!("list networkpolicies in {n}");
            async move { self.list(api, what, ListParams::default()).await }
        };
        let with_client = client.is_some();
        let namespaces_read = async {
            let api: Api<Namespace> = Api::all(self.client.clone());
            let what = "list namespaces".to_string();
            match with_client {
                true => Some(self.list(api, what, ListParams::default()).await),
                false => None,
            }
        };
        let dns_read = async {
            match with_client {
                true => Some(self.dns_pods().await),
                false => None,
            }
        };
        // What enforces policies (the CNI's DaemonSet, other engines' APIs) is read in the same
        // round, used only when a policy exists: two more requests, one round fewer.
        // The cluster-wide tiers apply whether or not a NetworkPolicy exists (their list waits
        // only for discovery, which the groups' read shares).
        let (policies, client_pods, nss, dns, ds, groups, tiers) = tokio::join!(
            join_all(namespaces.iter().map(policies_in)),
            self.client_part(client_ns, client),
            namespaces_read,
            dns_read,
            self.daemonsets(),
            self.policy_apis(),
            self.tier_policies(),
        );
        match tiers {
            Fact::Known(t) => snap.tier_policies = Some(t),
            Fact::Unavailable(u) => {
                snap.unavailable.insert(part::TIER_POLICIES, u);
            }
        }
        for (n, res) in namespaces.iter().zip(policies) {
            self.take(&mut snap, res, part::POLICIES, "networkpolicies", Some(n));
        }
        snap.absorb(client_pods);
        if let Some(n) = nss {
            match n {
                Ok(list) => snap.namespaces = list,
                Err(e) => {
                    let u = e.into_unavailable("list", "namespaces", None);
                    snap.namespaces_fact = Fact::Unavailable(u);
                }
            }
        }
        snap.dns_pods = dns;
        let tiered = snap.tier_policies.as_ref().is_some_and(|t| !t.is_empty());
        if tiered && !with_client {
            // Cluster policies select namespaces by their labels: one more read.
            let api: Api<Namespace> = Api::all(self.client.clone());
            let what = "list namespaces".to_string();
            match self.list(api, what, ListParams::default()).await {
                Ok(list) => snap.namespaces = list,
                Err(e) => {
                    let u = e.into_unavailable("list", "namespaces", None);
                    snap.namespaces_fact = Fact::Unavailable(u);
                }
            }
        }
        if !snap.policies.is_empty() || tiered {
            snap.daemonsets = Some(ds);
            if let Fact::Known(groups) = &groups {
                snap.other_policies = self.other_policies(groups, &namespaces).await;
            }
            snap.policy_apis =
                Some(groups.map_known(|g| g.into_iter().map(|(name, _)| name).collect()));
        }
        snap
    }

    /// The service meshes' policies around the namespace's pods (Istio's and Linkerd's, when
    /// discovery serves their groups: nothing is asked otherwise) and the namespace itself (its
    /// injection labels and Linkerd annotations). In the backends' round, since the probe's plan
    /// depends on them.
    async fn mesh_part(&self, ns: &str) -> Option<Fact<crate::mesh::MeshFacts>> {
        use kube::api::{ApiResource, DynamicObject};
        use kube::core::GroupVersionKind;
        let groups = match self.api_groups().await {
            Fact::Known(groups) => groups,
            // Discovery's failure is said where the policy round reads it too.
            Fact::Unavailable(u) => return Some(Fact::Unavailable(u)),
        };
        let mut reads = Vec::new();
        for (group, kind, plural, versions) in crate::mesh::KINDS {
            let Some(g) = groups.iter().find(|g| g.name == *group) else {
                continue;
            };
            let Some(version) = versions.iter().find(|v| g.versions.iter().any(|x| x == *v)) else {
                continue;
            };
            let gvk = GroupVersionKind::gvk(group, version, kind.kind());
            let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
            let mut scopes = vec![ns.to_string()];
            if *group == "security.istio.io" && ns != crate::mesh::ISTIO_ROOT_NAMESPACE {
                scopes.push(crate::mesh::ISTIO_ROOT_NAMESPACE.to_string());
            }
            for scope in scopes {
                let api: Api<DynamicObject> =
                    Api::namespaced_with(self.client.clone(), &scope, &ar);
                let what = format!("list {plural}.{group} in {scope}");
                reads.push(async move {
                    let res = match self.list(api, what, ListParams::default()).await {
                        // The version is listed but the kind is not served there: none exist.
                        Err(ReadError::NotFound) => Ok(Vec::new()),
                        other => other,
                    };
                    let res = res.map(|items| {
                        items
                            .iter()
                            .filter_map(|o| serde_json::to_value(o).ok())
                            .filter_map(|v| crate::mesh::MeshPolicy::from_object(*kind, &v))
                            .collect::<Vec<_>>()
                    });
                    self.fact(res, "list", plural, Some(&scope))
                });
            }
        }
        if reads.is_empty() {
            // Neither mesh's API is served: no mesh policy exists (a proxy without its control
            // plane's policies still shows in the pods).
            return Some(Fact::Known(crate::mesh::MeshFacts::default()));
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        let (lists, namespace) = tokio::join!(
            join_all(reads),
            self.bounded(format!("get namespace {ns}"), api.get_opt(ns))
        );
        let mut facts = crate::mesh::MeshFacts {
            policies: Vec::new(),
            // The namespace adds labels; without it (forbidden) the pods' own still judge.
            namespace: namespace.ok().flatten(),
        };
        for list in lists {
            match list {
                Fact::Known(found) => facts.policies.extend(found),
                Fact::Unavailable(u) => return Some(Fact::Unavailable(u)),
            }
        }
        Some(Fact::Known(facts))
    }

    /// The `--from` pod: by name, or the namespace's pods of a workload (`deploy/NAME`). When the
    /// named pod is missing, the namespace's pods (their names are suggested).
    async fn client_part(&self, ns: &str, client: Option<&ClientSpec>) -> Snapshot {
        let mut snap = Snapshot::new(SourceKind::Live);
        let Some(ClientSpec::Pod { name, workload, .. }) = client else {
            return snap;
        };
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let all = |what: String| {
            let api = api.clone();
            async move { self.list(api, what, ListParams::default()).await }
        };
        if let Some(kind) = workload {
            let pods = all(format!("list pods in {ns} of {kind} {name}")).await;
            self.take(&mut snap, pods, part::CLIENT, "pods", Some(ns));
            return snap;
        }
        match self
            .bounded(format!("get pod {ns}/{name}"), api.get_opt(name))
            .await
        {
            Ok(Some(pod)) => snap.pods.push(pod),
            Ok(None) => {
                // Only for names to suggest: a failure leaves none.
                if let Ok(pods) = all(format!("list pods in {ns} (near names)")).await {
                    snap.pods = pods;
                }
            }
            Err(e) => {
                let u = e.into_unavailable("get", "pods", Some(ns));
                snap.unavailable.insert(part::CLIENT, u);
            }
        }
        snap
    }
}

/// A snapshot's list of objects of one kind.
pub(crate) trait Holds<K> {
    fn held(&mut self) -> &mut Vec<K>;
}

macro_rules! holds {
    ($($kind:ty => $field:ident),* $(,)?) => {
        $(impl Holds<$kind> for Snapshot {
            fn held(&mut self) -> &mut Vec<$kind> {
                &mut self.$field
            }
        })*
    };
}

holds!(
    Service => services,
    Pod => pods,
    EndpointSlice => slices,
    Event => events,
    Node => nodes,
    NetworkPolicy => policies,
    Ingress => ingresses,
    IngressClass => ingress_classes,
);
