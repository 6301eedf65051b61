//! Suppression: findings a team chose to live with — by code on the command line (`--ignore
//! ND6004`) or by the annotation `netdoctor.io/ignore: "ND6004 # why"` on the object a finding
//! is about — stay in every report, marked and counted, and no longer make the verdict or fail
//! the run. Nothing is ever dropped silently.
//!
//! The object a finding is about: the Service a check judges, or an object its evidence names
//! (the Ingress of an ingress.routes finding, the policy of a NetworkPolicy one, a pod); for a
//! scan-wide finding, the object it names (the policy that selects no pods).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::report::{CheckResult, Finding, Status, Suppressed};
use crate::state::{ClusterState, ObjectRef};

/// The annotation that ignores findings about the object it is on.
pub(crate) const ANNOTATION: &str = "netdoctor.io/ignore";

/// An annotation's codes and its reason: `"ND6004, ND9001 # the edge terminates TLS"`. Codes
/// are separated by commas or spaces, in any case; what is not a known code is no code.
pub(crate) fn parse(value: &str) -> (Vec<&'static str>, Option<String>) {
    let (codes, reason) = match value.split_once('#') {
        Some((codes, reason)) => (codes, Some(reason.trim())),
        None => (value, None),
    };
    let codes = codes
        .split([',', ' ', '\t', '\n'])
        .filter_map(|c| crate::codes::find(c.trim()).map(|c| c.id))
        .collect();
    let reason = reason.filter(|r| !r.is_empty()).map(crate::text::sanitize);
    (codes, reason)
}

/// The mark for `code` when `meta`'s annotation lists it.
fn by_annotation(meta: &ObjectMeta, object: &ObjectRef, code: &str) -> Option<Suppressed> {
    let value = meta.annotations.as_ref()?.get(ANNOTATION)?;
    let (codes, reason) = parse(value);
    codes.contains(&code).then(|| Suppressed {
        by: "annotation",
        object: Some(object.clone()),
        reason,
    })
}

/// Marks the checks whose finding an annotation ignores: on the Service, or on an object the
/// check's evidence names.
pub(crate) fn checks(checks: &mut [CheckResult], state: &ClusterState) {
    let service = ObjectRef::new("Service", &state.namespace, &state.service_name);
    for c in checks.iter_mut() {
        let Some(code) = c.code else {
            continue;
        };
        if !matches!(c.status, Status::Fail | Status::Warn) || c.suppressed.is_some() {
            continue;
        }
        let objects =
            std::iter::once(&service).chain(c.evidence.iter().filter_map(|e| e.object.as_ref()));
        c.suppressed = objects
            .filter_map(|o| Some((o, meta_in_state(state, o)?)))
            .find_map(|(o, meta)| by_annotation(meta, o, code));
    }
}

/// Marks the scan-wide findings an annotation on their object ignores.
pub(crate) fn findings(
    findings: &mut [Finding],
    meta_of: &dyn Fn(&ObjectRef) -> Option<ObjectMeta>,
) {
    for f in findings.iter_mut() {
        let (Some(code), Some(object)) = (f.code, f.object.as_ref()) else {
            continue;
        };
        if f.suppressed.is_none() {
            f.suppressed = meta_of(object).and_then(|meta| by_annotation(&meta, object, code));
        }
    }
}

/// The metadata of `o` among the objects a Service's state holds.
pub(crate) fn meta_in_state<'a>(state: &'a ClusterState, o: &ObjectRef) -> Option<&'a ObjectMeta> {
    let ns = o.namespace.as_deref().unwrap_or_default();
    let named = |m: &ObjectMeta| {
        m.name.as_deref() == Some(o.name.as_str())
            && m.namespace.as_deref().unwrap_or_default() == ns
    };
    match o.kind.as_str() {
        "Service" => state.service().map(|s| &s.metadata).filter(|m| named(m)),
        "Ingress" => state
            .ingresses
            .known()?
            .iter()
            .map(|i| &i.metadata)
            .find(|m| named(m)),
        "NetworkPolicy" => state
            .policies
            .known()?
            .iter()
            .map(|p| &p.metadata)
            .find(|m| named(m)),
        "Pod" => state
            .pods
            .known()
            .into_iter()
            .chain(state.namespace_pods.known())
            .flatten()
            .map(|p| &p.metadata)
            .find(|m| named(m)),
        "EndpointSlice" => state
            .slices
            .known()
            .into_iter()
            .chain(state.unlabelled_slices.known())
            .flatten()
            .map(|s| &s.metadata)
            .find(|m| named(m)),
        "Gateway" => state
            .gateway
            .known()?
            .gateways
            .known()?
            .iter()
            .map(|g| &g.metadata)
            .find(|m| named(m)),
        route if route.ends_with("Route") => state
            .gateway
            .known()?
            .routes
            .iter()
            .filter(|r| r.kind == route)
            .map(|r| &r.metadata)
            .find(|m| named(m)),
        _ => None,
    }
}

/// The metadata of `o` among a scan's objects.
pub(crate) fn meta_in_snapshot(
    snap: &crate::state::snapshot::Snapshot,
    o: &ObjectRef,
) -> Option<ObjectMeta> {
    let ns = o.namespace.as_deref().unwrap_or_default();
    let named = |m: &&ObjectMeta| {
        m.name.as_deref() == Some(o.name.as_str())
            && m.namespace.as_deref().unwrap_or_default() == ns
    };
    let found = match o.kind.as_str() {
        "Service" => snap.services.iter().map(|s| &s.metadata).find(named),
        "Ingress" => snap.ingresses.iter().map(|i| &i.metadata).find(named),
        "NetworkPolicy" => snap.policies.iter().map(|p| &p.metadata).find(named),
        "Pod" => snap.pods.iter().map(|p| &p.metadata).find(named),
        "Gateway" => snap
            .gateway
            .gateways
            .iter()
            .map(|g| &g.metadata)
            .find(named),
        route if route.ends_with("Route") => snap
            .gateway
            .routes
            .iter()
            .filter(|r| r.kind == route)
            .map(|r| &r.metadata)
            .find(named),
        _ => None,
    };
    found.cloned()
}

/// Reads the annotations as a map (for tests and callers that hold one).
#[cfg(test)]
fn meta(annotations: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        annotations: Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_annotation_lists_codes_and_a_reason() {
        assert_eq!(
            parse("ND6004, nd9001 # the edge terminates TLS"),
            (
                vec!["ND6004", "ND9001"],
                Some("the edge terminates TLS".to_string())
            )
        );
        assert_eq!(parse("ND6004 ND1108"), (vec!["ND6004", "ND1108"], None));
        // Not a code: no code (and no reason without '#').
        assert_eq!(parse("ND7777, everything"), (vec![], None));
        // A reason is cluster text: it never reaches a terminal raw.
        assert_eq!(
            parse("ND1108 # a\u{1b}[2Jb").1.as_deref(),
            Some("a\\u001b[2Jb")
        );
    }

    #[test]
    fn only_the_listed_code_is_ignored() {
        let o = ObjectRef::new("Ingress", "shop", "web");
        let m = meta(&[(ANNOTATION, "ND6004 # two defaults on purpose")]);
        let s = by_annotation(&m, &o, "ND6004").unwrap();
        assert_eq!(s.by, "annotation");
        assert_eq!(
            s.describe(),
            "annotation on Ingress shop/web: two defaults on purpose"
        );
        assert_eq!(by_annotation(&m, &o, "ND6003"), None);
        assert_eq!(by_annotation(&meta(&[]), &o, "ND6004"), None);
    }
}
