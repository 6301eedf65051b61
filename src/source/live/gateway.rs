//! The Gateway API, read live: served only when discovery lists gateway.networking.k8s.io (the
//! CRDs are installed). Each kind is read at the first version the group serves among v1,
//! v1beta1, v1alpha3, v1alpha2 that serves it (a kind the CRDs leave out answers 404 there: the
//! next is tried); objects come as the CRDs store them, read into crate::gateway's types.

use futures::future::join_all;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde::de::DeserializeOwned;

use super::{Live, ReadError};
use crate::gateway::types::{GROUP, Gateway, GatewayClass, ReferenceGrant, Route};
use crate::state::snapshot::{Snapshot, part};
use crate::state::{Fact, SourceKind};

/// Versions in the order they are tried.
const VERSIONS: [&str; 4] = ["v1", "v1beta1", "v1alpha3", "v1alpha2"];

/// Route kinds and their resources.
pub(crate) const ROUTE_KINDS: [(&str, &str); 5] = [
    ("HTTPRoute", "httproutes.gateway.networking.k8s.io"),
    ("GRPCRoute", "grpcroutes.gateway.networking.k8s.io"),
    ("TLSRoute", "tlsroutes.gateway.networking.k8s.io"),
    ("TCPRoute", "tcproutes.gateway.networking.k8s.io"),
    ("UDPRoute", "udproutes.gateway.networking.k8s.io"),
];

impl Live {
    /// Every object of a Gateway API kind (cluster-wide), at the first served version that has
    /// it; `None` when no version serves the kind. `resource` is the qualified plural
    /// ("httproutes.gateway.networking.k8s.io"), named when the read fails.
    async fn gateway_kind<T: DeserializeOwned>(
        &self,
        versions: &[String],
        kind: &str,
        resource: &'static str,
    ) -> std::result::Result<Option<Vec<T>>, (ReadError, &'static str)> {
        self.custom_kind(GROUP, &VERSIONS, versions, kind, resource)
            .await
    }

    /// Every object of a custom kind of `group` (cluster-wide), at the first of `order` that
    /// the group serves (`served`) and that has the kind (a 404 tries the next); `None` when
    /// none does. Objects come as the CRD stores them, read into `T` with their apiVersion and
    /// kind set.
    pub(super) async fn custom_kind<T: DeserializeOwned>(
        &self,
        group: &str,
        order: &[&str],
        served: &[String],
        kind: &str,
        resource: &'static str,
    ) -> std::result::Result<Option<Vec<T>>, (ReadError, &'static str)> {
        let plural = resource.split('.').next().unwrap_or(resource);
        for v in order.iter().filter(|v| served.iter().any(|s| s == *v)) {
            let ar = ApiResource::from_gvk_with_plural(
                &kube::api::GroupVersionKind::gvk(group, v, kind),
                plural,
            );
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
            let what = format!("list {plural}.{group}/{v} -A");
            match self.list(api, what, ListParams::default()).await {
                Ok(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for o in items {
                        let name = match &o.metadata.namespace {
                            Some(ns) => {
                                format!("{ns}/{}", o.metadata.name.clone().unwrap_or_default())
                            }
                            None => o.metadata.name.clone().unwrap_or_default(),
                        };
                        let mut value = serde_json::to_value(&o).map_err(|e| {
                            (ReadError::Other(format!("{kind} {name}: {e}")), resource)
                        })?;
                        value["apiVersion"] = format!("{group}/{v}").into();
                        value["kind"] = kind.into();
                        let typed = serde_json::from_value(value).map_err(|e| {
                            let why = format!("{kind} {name} is not a valid {kind}: {e}");
                            (ReadError::Other(why), resource)
                        })?;
                        out.push(typed);
                    }
                    return Ok(Some(out));
                }
                Err(ReadError::NotFound) => continue,
                Err(e) => return Err((e, resource)),
            }
        }
        Ok(None)
    }

    /// The names of one page of a Gateway API kind in `ns` (`plural`: "gateways", "httproutes"),
    /// for completion; `None` when they cannot be read (not installed, forbidden).
    pub(crate) async fn gateway_names(
        &self,
        ns: &str,
        kind: &str,
        plural: &str,
    ) -> Option<Vec<String>> {
        let ar = ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk(GROUP, "v1", kind),
            plural,
        );
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, &ar);
        let list = self
            .bounded(
                format!("list {plural} names in {ns}"),
                api.list_metadata(&ListParams::default().limit(super::PAGE)),
            )
            .await
            .ok()?;
        Some(
            list.items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect(),
        )
    }

    /// Every Gateway API object (`gateway NAME`, `route KIND/NAME`), bounded by
    /// `--request-timeout` as a whole.
    pub(crate) async fn gateway_objects(&self) -> crate::error::Result<Snapshot> {
        self.within_request_timeout(async { Ok(self.gateway_part(&[]).await) })
            .await
    }

    /// The Gateway round: when the API is served, every route, Gateway, GatewayClass and
    /// ReferenceGrant and the namespaces (one round); then, for the routes naming the Services
    /// `services` (namespace, name), the pods of their classes' controllers and their listeners'
    /// certificate Secrets (one more).
    pub(super) async fn gateway_part(&self, services: &[(&str, &str)]) -> Snapshot {
        let mut snap = Snapshot::new(SourceKind::Live);
        let versions = match self.api_groups().await {
            Fact::Unavailable(u) => {
                snap.gateway.installed = Fact::Unavailable(u);
                return snap;
            }
            Fact::Known(groups) => match groups.into_iter().find(|g| g.name == GROUP) {
                None => {
                    snap.gateway.installed = Fact::Known(false);
                    return snap;
                }
                Some(g) => g.versions,
            },
        };
        snap.gateway.installed = Fact::Known(true);
        let routes = join_all(
            ROUTE_KINDS
                .iter()
                .map(|(kind, plural)| self.gateway_kind::<Route>(&versions, kind, plural)),
        );
        let namespaces = async {
            let api: Api<Namespace> = Api::all(self.client.clone());
            self.list(api, "list namespaces".to_string(), ListParams::default())
                .await
        };
        let (routes, gateways, classes, grants, namespaces) = tokio::join!(
            routes,
            self.gateway_kind::<Gateway>(&versions, "Gateway", part::GATEWAYS),
            self.gateway_kind::<GatewayClass>(&versions, "GatewayClass", part::GATEWAY_CLASSES),
            self.gateway_kind::<ReferenceGrant>(&versions, "ReferenceGrant", part::GRANTS),
            namespaces,
        );
        let g = &mut snap.gateway;
        for r in routes {
            match r {
                Ok(found) => g.routes.extend(found.into_iter().flatten()),
                Err((e, resource)) => {
                    let u = e.into_unavailable("list", resource, None);
                    snap.unavailable.insert(part::ROUTES, u);
                }
            }
        }
        fn held<T>(
            snap: &mut Snapshot,
            res: std::result::Result<Option<Vec<T>>, (ReadError, &'static str)>,
            key: &'static str,
        ) -> Vec<T> {
            match res {
                Ok(found) => found.unwrap_or_default(),
                Err((e, resource)) => {
                    let u = e.into_unavailable("list", resource, None);
                    snap.unavailable.insert(key, u);
                    Vec::new()
                }
            }
        }
        snap.gateway.gateways = held(&mut snap, gateways, part::GATEWAYS);
        snap.gateway.classes = held(&mut snap, classes, part::GATEWAY_CLASSES);
        snap.gateway.grants = held(&mut snap, grants, part::GRANTS);
        let g = &mut snap.gateway;
        g.namespaces = Some(
            self.fact(namespaces, "list", "namespaces", None)
                .map_known(std::sync::Arc::new),
        );

        // What the routes naming these Services attach to: their Gateways' controllers and
        // certificates.
        let mine: Vec<&Route> = g
            .routes
            .iter()
            .filter(|r| services.iter().any(|(ns, n)| !r.refs_to(ns, n).is_empty()))
            .collect();
        let parents = crate::gateway::parent_gateways(mine.iter().copied());
        let gateways: Vec<&Gateway> = g
            .gateways
            .iter()
            .filter(|gw| parents.contains(&crate::gateway::types::key(&gw.metadata)))
            .collect();
        let mut controllers: Vec<&'static crate::ingress::Controller> = Vec::new();
        for gw in &gateways {
            let class = g
                .classes
                .iter()
                .find(|c| c.metadata.name.as_deref() == Some(gw.spec.gateway_class_name.as_str()));
            if let Some(c) = class.and_then(|c| crate::gateway::controller(&c.spec.controller_name))
                && !controllers.contains(&c)
            {
                controllers.push(c);
            }
        }
        let mut wanted: Vec<(String, String)> = Vec::new();
        for gw in &gateways {
            for c in gw
                .spec
                .listeners
                .iter()
                .filter_map(|l| l.tls.as_ref())
                .flat_map(|t| t.certificate_refs.iter())
                .filter(|c| {
                    c.group.as_deref().unwrap_or("").is_empty()
                        && c.kind.as_deref().unwrap_or("Secret") == "Secret"
                })
            {
                let key = (
                    c.namespace
                        .clone()
                        .unwrap_or_else(|| gw.namespace().to_string()),
                    c.name.clone(),
                );
                if !wanted.contains(&key) {
                    wanted.push(key);
                }
            }
        }
        let secrets = join_all(wanted.into_iter().map(|(sns, name)| async move {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &sns);
            let res = self
                .bounded(format!("get secret {sns}/{name}"), api.get_opt(&name))
                .await;
            let fact = self.fact(res, "get", "secrets", Some(&sns));
            (sns, name, fact)
        }));
        let data_plane = join_all(gateways.iter().flat_map(|gw| {
            crate::gateway::data_plane_selectors(gw)
                .into_iter()
                .map(|(ns, sel)| async move {
                    let api: Api<Pod> = match &ns {
                        Some(n) => Api::namespaced(self.client.clone(), n),
                        None => Api::all(self.client.clone()),
                    };
                    let scope = ns.map_or("-A".to_string(), |n| format!("in {n}"));
                    let what = format!("list pods {scope} -l {sel}");
                    self.list(api, what, ListParams::default().labels(&sel))
                        .await
                })
        }));
        let (pods, secrets, data_plane) =
            tokio::join!(self.controller_pods(&controllers), secrets, data_plane);
        snap.gateway.controller_pods = pods;
        snap.secrets.extend(secrets);
        let mut proxies: Vec<Pod> = Vec::new();
        let mut failed = None;
        for r in data_plane {
            match r {
                Ok(found) => proxies.extend(found),
                Err(e) => failed = Some(e.into_unavailable("list", "pods", None)),
            }
        }
        snap.gateway.data_plane_pods = match failed {
            Some(u) => Fact::Unavailable(u),
            None => Fact::Known(proxies),
        };
        snap
    }
}
