//! The offline source: `ClusterState` from manifests (files, directories, stdin), before anything is
//! deployed. Workloads contribute their pod templates, so selector and port checks work on
//! `helm template` output; facts only a running cluster has are `Unavailable::Offline`.

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) use super::read::{Loaded, load};
use crate::error::{Error, Result};
use crate::state::snapshot::Snapshot;
use std::collections::BTreeMap;

use crate::state::{ClientSpec, ClusterState, Duplicate, Fact, ObjectRef, SourceKind, TEMPLATE_OF};

fn typed<T: DeserializeOwned>(l: &Loaded, kind: &str) -> Result<T> {
    // Deserialized from the value in place: no copy of it first.
    T::deserialize(&l.value).map_err(|e| {
        Error::Manifest(format!(
            "{}: document {}: invalid {kind}: {e}",
            l.origin.file, l.origin.document
        ))
    })
}

/// A namespaced object, in the namespace it would be created in (its own, else `-n`'s).
fn placed<T: DeserializeOwned + kube::Resource>(l: &Loaded, kind: &str, ns: &str) -> Result<T> {
    let mut object: T = typed(l, kind)?;
    object.meta_mut().namespace = Some(ns.to_string());
    Ok(object)
}

/// A workload's pod template as a pod named like the workload (annotated as its template).
fn template_pod(l: &Loaded, kind: &str, ns: &str, name: &str) -> Result<Option<Pod>> {
    let Some(template) = template_of(kind, &l.value) else {
        return Ok(None);
    };
    let t = PodTemplateSpec::deserialize(template).map_err(|e| {
        Error::Manifest(format!(
            "{}: document {}: invalid {kind} pod template: {e}",
            l.origin.file, l.origin.document
        ))
    })?;
    let mut meta = t.metadata.unwrap_or_default();
    meta.name = Some(name.to_string());
    meta.namespace = Some(ns.to_string());
    meta.annotations
        .get_or_insert_with(Default::default)
        .insert(TEMPLATE_OF.into(), format!("{kind}/{name}"));
    Ok(Some(Pod {
        metadata: meta,
        spec: t.spec,
        status: None,
    }))
}

/// The pod template of a workload kind, if it is one.
fn template_of<'a>(kind: &str, v: &'a Value) -> Option<&'a Value> {
    match kind {
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => v.pointer("/spec/template"),
        "CronJob" => v.pointer("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// Manifests as a snapshot of what the cluster would hold.
pub(crate) fn classify(loaded: &[Loaded], namespace: &str) -> Result<Snapshot> {
    let mut o = Snapshot::new(SourceKind::Manifests);
    let (keep, duplicates) = last_of_each(loaded, namespace);
    o.duplicates = std::sync::Arc::new(duplicates);
    for (l, (key, kind, api)) in loaded.iter().zip(keep) {
        let Some(key) = key else { continue };
        let (ns, name) = (key.namespace.clone().unwrap_or_default(), key.name.clone());
        match (api, kind) {
            ("v1", "Service") => o.services.push(placed(l, kind, &ns)?),
            ("v1", "Pod") => o.pods.push(placed(l, kind, &ns)?),
            ("discovery.k8s.io/v1", "EndpointSlice") => o.slices.push(placed(l, kind, &ns)?),
            ("v1", "Event") => o.events.push(placed(l, kind, &ns)?),
            ("v1", "Node") => o.nodes.push(typed(l, kind)?),
            ("v1", "Namespace") => o.namespaces.push(typed(l, kind)?),
            ("networking.k8s.io/v1", "Ingress") => o.ingresses.push(placed(l, kind, &ns)?),
            ("networking.k8s.io/v1", "IngressClass") => o.ingress_classes.push(typed(l, kind)?),
            ("v1", "Secret") => {
                let sec: k8s_openapi::api::core::v1::Secret = placed(l, kind, &ns)?;
                // A bundle keeps a Secret's name and type, never its data: what the data would
                // show is unknown, not absent.
                let redacted = sec
                    .metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a.contains_key(crate::bundle::REDACTED_ANNOTATION));
                let fact = if redacted {
                    Fact::Unavailable(crate::state::Unavailable::Offline(
                        "the bundle keeps a Secret's name, not its data",
                    ))
                } else {
                    Fact::Known(Some(sec))
                };
                o.secrets.push((ns.clone(), name.clone(), fact));
            }
            ("networking.k8s.io/v1", "NetworkPolicy") => o.policies.push(placed(l, kind, &ns)?),
            (api, _)
                if api.starts_with("policy.networking.k8s.io/")
                    && super::read::is_read(api, kind) =>
            {
                let mut p: crate::netpol::TierPolicy = typed(l, kind)?;
                p.kind = kind.to_string();
                // Cluster-scoped: a namespace written on it means nothing.
                p.metadata.namespace = None;
                o.tier_policies.get_or_insert_with(Vec::new).push(p);
            }
            (api, _)
                if api.starts_with("gateway.networking.k8s.io/")
                    && super::read::is_read(api, kind) =>
            {
                gateway_object(&mut o, l, kind, &ns)?
            }
            _ => o.pods.extend(template_pod(l, kind, &ns, &name)?),
        }
        std::sync::Arc::make_mut(&mut o.origins).insert(key, l.origin.clone());
    }
    // Ingress controllers the manifests deploy themselves: named offline as "in the manifests,
    // not known to run" (nothing offline shows a running pod).
    o.controller_pods = Fact::Known(
        o.pods
            .iter()
            .filter(|p| {
                let labels = crate::k8s::labels_of(p);
                crate::ingress::CONTROLLERS
                    .iter()
                    .any(|c| crate::ingress::pod_is(c, &labels))
            })
            .cloned()
            .collect(),
    );
    Ok(o)
}

/// A Gateway API object into the snapshot (a kind attachment does not read is left out).
fn gateway_object(o: &mut Snapshot, l: &Loaded, kind: &str, ns: &str) -> Result<()> {
    use crate::gateway::types::{Gateway, GatewayClass, ReferenceGrant, Route};
    let g = &mut o.gateway;
    match kind {
        "GatewayClass" => g.classes.push(typed::<GatewayClass>(l, kind)?),
        "Gateway" => {
            let mut gw: Gateway = typed(l, kind)?;
            gw.metadata.namespace = Some(ns.to_string());
            g.gateways.push(gw);
        }
        "ReferenceGrant" => {
            let mut rg: ReferenceGrant = typed(l, kind)?;
            rg.metadata.namespace = Some(ns.to_string());
            g.grants.push(rg);
        }
        "HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute" => {
            let mut r: Route = typed(l, kind)?;
            r.metadata.namespace = Some(ns.to_string());
            g.routes.push(r);
        }
        _ => {}
    }
    Ok(())
}

/// For each object: its key, kind and apiVersion, or `None` when a later document defines the
/// same object again (kubectl applies documents in order: the last wins); and the duplicates.
#[allow(clippy::type_complexity)]
fn last_of_each<'a>(
    loaded: &'a [Loaded],
    namespace: &str,
) -> (Vec<(Option<ObjectRef>, &'a str, &'a str)>, Vec<Duplicate>) {
    let mut last: BTreeMap<(String, ObjectRef), usize> = BTreeMap::new();
    let mut keys = Vec::with_capacity(loaded.len());
    for (i, l) in loaded.iter().enumerate() {
        let kind = l.value["kind"].as_str().unwrap_or_default();
        let api = l.value["apiVersion"].as_str().unwrap_or_default();
        let at = |p: &str| l.value.pointer(p).and_then(Value::as_str);
        let ns = at("/metadata/namespace").unwrap_or(namespace);
        let key = ObjectRef::new(kind, ns, at("/metadata/name").unwrap_or_default());
        // The API group tells a Knative Service from a core one; the version does not matter.
        let group = api.rsplit_once('/').map_or("", |(g, _)| g).to_string();
        last.insert((group.clone(), key.clone()), i);
        keys.push(((group, key), kind, api));
    }
    let mut duplicates = Vec::new();
    let keep = keys
        .into_iter()
        .enumerate()
        .map(|(i, (gk, kind, api))| {
            let winner = last[&gk];
            if winner == i {
                return (Some(gk.1), kind, api);
            }
            duplicates.push(Duplicate {
                object: gk.1,
                first: loaded[i].origin.clone(),
                last: loaded[winner].origin.clone(),
            });
            (None, kind, api)
        })
        .collect();
    (keep, duplicates)
}

/// What `reach` needs from manifests: pods (and workload templates) and policies in scope.
pub(crate) fn reach_input(
    loaded: &[Loaded],
    scope: Option<&str>,
    default_ns: &str,
) -> Result<crate::state::ReachInput> {
    let o = classify(loaded, default_ns)?;
    let in_scope = |ns: Option<&str>| scope.is_none_or(|s| ns == Some(s));
    Ok(crate::state::ReachInput {
        source: SourceKind::Manifests,
        pods: o
            .pods
            .into_iter()
            .filter(|p| in_scope(p.metadata.namespace.as_deref()))
            .collect(),
        policies: o
            .policies
            .into_iter()
            .filter(|p| in_scope(p.metadata.namespace.as_deref()))
            .collect(),
        namespaces: Fact::Known(o.namespaces),
        // Cluster-scoped: they apply to every namespace in scope.
        tier_policies: Fact::Known(o.tier_policies.unwrap_or_default()),
    })
}

/// Builds the Service flow's state from manifests.
pub(crate) fn state_for_service(
    loaded: &[Loaded],
    namespace: &str,
    name: &str,
    client: Option<&ClientSpec>,
) -> Result<ClusterState> {
    Ok(classify(loaded, namespace)?.state_for_service(namespace, name, client))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s;
    use crate::state::Unavailable;

    fn parse(text: &str) -> Result<Vec<Loaded>> {
        let mut out = Vec::new();
        crate::source::read::parse_text("t.yaml", text, &mut out)?;
        Ok(out)
    }

    #[test]
    fn an_object_that_does_not_fit_its_kind_names_file_and_document() {
        let objs = parse(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: eighty}]}\n",
        )
        .unwrap();
        let err = state_for_service(&objs, "default", "s", None).expect_err("a typed error");
        assert!(
            err.to_string()
                .starts_with("t.yaml: document 1: invalid Service:"),
            "{err}"
        );
    }

    #[test]
    fn workloads_contribute_template_pods_in_the_default_namespace() {
        let objs = parse("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: pg}\nspec:\n  template:\n    metadata: {labels: {app: pg}}\n    spec: {containers: [{name: db, image: postgres}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: pg}\nspec: {selector: {app: pg}, ports: [{port: 5432}]}\n").unwrap();
        let s = state_for_service(&objs, "shop", "pg", None).unwrap();
        let pods = s.pods.known().unwrap();
        assert_eq!(pods.len(), 1);
        assert_eq!(
            k8s::describe_pod(&pods[0]),
            "Deployment shop/pg (pod template)"
        );
        assert!(matches!(
            s.slices,
            Fact::Unavailable(Unavailable::Offline(_))
        ));
        assert_eq!(
            s.edit_location("Service", "shop", "pg"),
            "t.yaml (document 2, Service shop/pg)"
        );
    }
}
