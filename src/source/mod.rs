//! Sources build `ClusterState`: from a live API server ([`live`]) or from manifests
//! ([`manifests`]). Checks never talk to either.

mod exec;
pub mod live;
pub mod manifests;
mod read;
pub mod snapshot;

use k8s_openapi::api::core::v1::Service;

use crate::state::{Fact, ObjectRef};

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
