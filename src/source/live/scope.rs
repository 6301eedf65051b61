//! Whole scopes, read live for `scan` and `reach`: each kind listed once for a namespace (or all),
//! however many Services there are — the request count does not grow with the Services.

use futures::future::join_all;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use kube::api::{Api, ListParams};

use super::{Live, ReadError, SCAN_PAGE, on_delete, zero_replica_workloads};
use crate::error::{Error, Result};
use crate::state::snapshot::{Snapshot, part};
use crate::state::{Fact, ReachInput, SourceKind};

impl Live {
    /// What `scan` needs: the scope's Services (a failure here ends the scan), and every kind
    /// their flows judge (a failure there is a finding, and those facts stay unknown).
    pub(crate) async fn snapshot(
        &self,
        ns: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Snapshot> {
        let scope = ns.map_or("-A".to_string(), |n| format!("in {n}"));
        let svc_lp = match selector {
            Some(sel) => ListParams::default().limit(SCAN_PAGE).labels(sel),
            None => ListParams::default().limit(SCAN_PAGE),
        };
        let (services, mut snap) = self
            .within_request_timeout(async {
                Ok(tokio::join!(
                    self.list(
                        self.scoped::<Service>(ns),
                        format!("list services {scope}"),
                        svc_lp
                    ),
                    self.scope_objects(ns, &scope),
                ))
            })
            .await?;
        if matches!(services, Err(ReadError::NotFound)) {
            self.confirm_api_server().await?;
        }
        snap.services = services.map_err(|e| self.fatal(e, "cannot scan", "services", ns))?;
        let names: Vec<(String, String)> = snap
            .services
            .iter()
            .map(|s| crate::gateway::types::key(&s.metadata))
            .collect();
        let names: Vec<(&str, &str)> = names
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (_, gateway) = tokio::join!(
            self.scope_ingresses(&mut snap, ns, &scope),
            self.gateway_part(&names)
        );
        snap.absorb(gateway);
        Ok(snap)
    }

    /// Every kind but Services and Ingresses, in one round.
    async fn scope_objects(&self, ns: Option<&str>, scope: &str) -> Snapshot {
        let lp = || ListParams::default().limit(SCAN_PAGE);
        let warnings = lp().fields("involvedObject.kind=Pod,type=Warning");
        let (pods, slices, policies, deployments, statefulsets, events, namespaces, nodes, tiers) = tokio::join!(
            self.list(self.scoped::<Pod>(ns), format!("list pods {scope}"), lp()),
            self.list(
                self.scoped::<EndpointSlice>(ns),
                format!("list endpointslices {scope}"),
                lp()
            ),
            self.list(
                self.scoped::<NetworkPolicy>(ns),
                format!("list networkpolicies {scope}"),
                lp()
            ),
            self.list(
                self.scoped::<Deployment>(ns),
                format!("list deployments {scope}"),
                lp()
            ),
            self.list(
                self.scoped::<StatefulSet>(ns),
                format!("list statefulsets {scope}"),
                lp()
            ),
            self.list(
                self.scoped::<Event>(ns),
                format!("list warning events of pods {scope}"),
                warnings
            ),
            self.list(
                Api::<Namespace>::all(self.client.clone()),
                "list namespaces".to_string(),
                lp()
            ),
            self.list(
                Api::<Node>::all(self.client.clone()),
                "list nodes".to_string(),
                lp()
            ),
            self.tier_policies(),
        );
        let mut snap = Snapshot::new(SourceKind::Live);
        match tiers {
            Fact::Known(t) => snap.tier_policies = Some(t),
            Fact::Unavailable(u) => {
                snap.unavailable.insert(part::TIER_POLICIES, u);
            }
        }
        self.take(&mut snap, pods, part::PODS, "pods", ns);
        self.take(&mut snap, slices, part::SLICES, "endpointslices", ns);
        self.take(&mut snap, policies, part::POLICIES, "networkpolicies", ns);
        self.take(&mut snap, events, part::EVENTS, "events", ns);
        self.take(&mut snap, nodes, part::NODES, "nodes", None);
        let deployments = self.or_unread(&mut snap, deployments, "deployments", ns);
        let statefulsets = self.or_unread(&mut snap, statefulsets, "statefulsets", ns);
        snap.on_delete = on_delete(&statefulsets);
        snap.scaled_to_zero = zero_replica_workloads(deployments, statefulsets);
        match namespaces {
            Ok(n) => snap.namespaces = n,
            Err(e) => {
                let u = e.into_unavailable("list", "namespaces", None);
                snap.namespaces_fact = Fact::Unavailable(u);
            }
        }
        snap
    }

    /// Ingresses of the scope; when there are any, the classes, every known controller's pods,
    /// and their TLS secrets by name.
    async fn scope_ingresses(&self, snap: &mut Snapshot, ns: Option<&str>, scope: &str) {
        let lp = || ListParams::default().limit(SCAN_PAGE);
        let ingresses = self
            .list(
                self.scoped::<Ingress>(ns),
                format!("list ingresses {scope}"),
                lp(),
            )
            .await;
        self.take(snap, ingresses, part::INGRESSES, "ingresses", ns);
        if snap.ingresses.is_empty() {
            return;
        }
        let classes = Api::<IngressClass>::all(self.client.clone());
        let classes = self
            .list(classes, "list ingressclasses".to_string(), lp())
            .await;
        self.take(snap, classes, part::INGRESS_CLASSES, "ingressclasses", None);
        let controllers: Vec<&'static crate::ingress::Controller> =
            crate::ingress::CONTROLLERS.iter().collect();
        snap.controller_pods = self.controller_pods(&controllers).await;
        let mut names: Vec<(String, String)> = snap
            .ingresses
            .iter()
            .flat_map(|i| {
                let ins = i.metadata.namespace.clone().unwrap_or_default();
                i.spec
                    .iter()
                    .flat_map(|s| s.tls.iter().flatten())
                    .filter_map(move |t| t.secret_name.clone().map(|n| (ins.clone(), n)))
            })
            .collect();
        names.sort();
        names.dedup();
        let reads = names.into_iter().map(|(sns, n)| {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &sns);
            async move {
                let res = self
                    .bounded(format!("get secret {sns}/{n}"), api.get_opt(&n))
                    .await;
                let fact = self.fact(res, "get", "secrets", Some(&sns));
                (sns, n, fact)
            }
        });
        snap.secrets = join_all(reads).await;
    }

    /// What `reach` needs: pods and policies of a namespace (or all), and namespace labels.
    pub(crate) async fn reach_input(&self, ns: Option<&str>) -> Result<ReachInput> {
        let scope = ns.map_or("-A".to_string(), |n| format!("in {n}"));
        let all = ListParams::default;
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let (p, np, nss, tiers) = self
            .within_request_timeout(async {
                Ok(tokio::join!(
                    self.list(self.scoped::<Pod>(ns), format!("list pods {scope}"), all()),
                    self.list(
                        self.scoped::<NetworkPolicy>(ns),
                        format!("list networkpolicies {scope}"),
                        all()
                    ),
                    self.list(namespaces, "list namespaces".to_string(), all()),
                    self.tier_policies(),
                ))
            })
            .await?;
        Ok(ReachInput {
            source: SourceKind::Live,
            pods: p.map_err(|e| self.fatal(e, "cannot decide", "pods", ns))?,
            policies: np.map_err(|e| self.fatal(e, "cannot decide", "networkpolicies", ns))?,
            namespaces: self.fact(nss, "list", "namespaces", None),
            tier_policies: tiers,
        })
    }

    /// A namespaced kind in a namespace, or in all of them.
    fn scoped<K>(&self, ns: Option<&str>) -> Api<K>
    where
        K: kube::Resource<Scope = NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        match ns {
            Some(n) => Api::namespaced(self.client.clone(), n),
            None => Api::all(self.client.clone()),
        }
    }

    /// A read the command cannot do without failed: exit 3 saying why ("cannot scan: forbidden:
    /// needs list services in shop").
    fn fatal(&self, e: ReadError, what: &str, resource: &'static str, ns: Option<&str>) -> Error {
        match e {
            ReadError::Transport(m, source) => self.unreachable(&m, source),
            other => Error::Unreachable(format!(
                "{what}: {}",
                other.into_unavailable("list", resource, ns).reason()
            )),
        }
    }

    /// What a list read, or nothing with the kind marked unread.
    fn or_unread<K>(
        &self,
        snap: &mut Snapshot,
        res: std::result::Result<Vec<K>, ReadError>,
        kind: &'static str,
        ns: Option<&str>,
    ) -> Vec<K> {
        res.unwrap_or_else(|e| {
            snap.unavailable
                .insert(kind, e.into_unavailable("list", kind, ns));
            Vec::new()
        })
    }
}
