//! `service.selector`: the Service's selector matches pods — or, for a selector-less Service, hand-
//! made EndpointSlices carry its endpoints; for ExternalName, the name is one DNS can serve.
//!
//! An absent or empty selector means *selector-less* (unlike NetworkPolicy, where it selects all).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Pod, Service};
use serde_json::json;

use super::unavailable;
use crate::k8s::{self, LabelDiff};
use crate::report::{Evidence, Outcome, SkipKind};
use crate::state::{ClusterState, Fact, ObjectRef};
use crate::text::shell_quote as q;
use crate::text::{self, shell_quote};

/// The label that ties an EndpointSlice to its Service.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// How many groups of closest pods to show.
const CLOSEST: usize = 3;

pub(super) fn run(state: &ClusterState) -> Outcome {
    let Some(svc) = state.service() else {
        return Outcome::skip(SkipKind::Dependency, "the Service was not read");
    };
    let spec = svc.spec.clone().unwrap_or_default();
    if spec.type_.as_deref() == Some("ExternalName") {
        return external_name(state, spec.external_name.as_deref().unwrap_or(""));
    }
    match spec.selector.filter(|s| !s.is_empty()) {
        None => selector_less(state),
        Some(selector) => selected(state, svc, &selector),
    }
}

fn external_name(state: &ClusterState, target: &str) -> Outcome {
    let target = target.trim_end_matches('.');
    if target.is_empty() {
        return Outcome::fail("ExternalName Service without spec.externalName")
            .code("ND1101")
            .at(me(state), "spec.type")
            .fix([fix_service_field(
                state,
                "spec.externalName",
                "the DNS name to alias",
            )]);
    }
    if !crate::k8s::is_dns1123_subdomain(target) && target.parse::<IpAddr>().is_err() {
        // The API server refuses such a Service (it validates externalName, less one trailing
        // dot, as a DNS-1123 subdomain): only manifests can hold one.
        return Outcome::fail(format!(
            "externalName {target:?} is not a DNS name: the API server refuses it (lowercase letters, digits, '-' and '.'; no scheme, port or path)"
        ))
        .code("ND1102")
        .at(me(state), "spec.externalName")
        .evidence([Evidence::new("ExternalName", format!("spec.externalName: {target}"))])
        .fix([fix_service_field(state, "spec.externalName", "a DNS name such as db.example.com")]);
    }
    if target.parse::<IpAddr>().is_ok() {
        return Outcome::fail(format!(
            "externalName is an IP address ({target}): cluster DNS serves it as a CNAME to a name made of digits, which resolves to nothing"
        ))
        .code("ND1103")
        .at(me(state), "spec.externalName")
        .evidence([Evidence::new("ExternalName", format!("spec.externalName: {target}"))])
        .fix([
            format!("make it a selector-less Service (remove type ExternalName, add the port) and an EndpointSlice labelled {SERVICE_NAME_LABEL}={} with address {target}", state.service_name),
            "or point externalName at a DNS name".to_string(),
        ]);
    }
    match &state.external_target {
        None => Outcome::pass(format!(
            "ExternalName → {target}: an outside name, resolution is checked by the probe (dns.resolves)"
        )),
        Some((r, Fact::Known(true))) => Outcome::pass(format!(
            "ExternalName → {target}, Service {}/{} exists",
            r.namespace.as_deref().unwrap_or(""),
            r.name
        )),
        Some((r, Fact::Known(false))) => {
            let ns = r.namespace.as_deref().unwrap_or("");
            Outcome::fail(format!(
                "ExternalName → {target}, but Service {ns}/{} does not exist",
                r.name
            ))
            .code("ND1104")
            .at(me(state), "spec.externalName")
            .evidence([
                Evidence::new("ExternalName", format!("spec.externalName: {target}")).on(r.clone()),
            ])
            .fix([
                format!("kubectl get services -n {}", q(ns)),
                fix_service_field(state, "spec.externalName", "an existing Service's name"),
            ])
        }
        Some((_, Fact::Unavailable(u))) => unavailable(u),
    }
}

/// The Service judged, as an object reference.
fn me(state: &ClusterState) -> ObjectRef {
    ObjectRef::new("Service", &state.namespace, &state.service_name)
}

fn fix_service_field(state: &ClusterState, field: &str, what: &str) -> String {
    let (ns, name) = (&state.namespace, &state.service_name);
    if state.is_offline() {
        format!(
            "edit {}: set {field} to {what}",
            state.edit_location("Service", ns, name)
        )
    } else {
        format!(
            "kubectl edit service {} -n {}   # set {field} to {what}",
            q(name),
            q(ns)
        )
    }
}

fn selector_less(state: &ClusterState) -> Outcome {
    let name = &state.service_name;
    let slices = match state.slices.as_result() {
        Ok(s) => s,
        Err(u) => return unavailable(u),
    };
    if !slices.is_empty() {
        let endpoints: usize = slices.iter().map(|s| s.endpoints.len()).sum();
        let names: Vec<&str> = slices.iter().map(|s| k8s::name_of(&s.metadata)).collect();
        return Outcome::pass(format!(
            "selector-less Service: {} labelled {SERVICE_NAME_LABEL}={name} ({}) carry {}",
            text::plural(slices.len(), "EndpointSlice"),
            names.join(", "),
            text::plural(endpoints, "endpoint"),
        ));
    }
    // Hand-made slices that forgot the label are invisible to kube-proxy and DNS.
    let orphans: Vec<&str> = match &state.unlabelled_slices {
        Fact::Known(all) => all
            .iter()
            .map(|s| k8s::name_of(&s.metadata))
            .filter(|n| n.starts_with(name.as_str()))
            .collect(),
        Fact::Unavailable(_) => Vec::new(),
    };
    if !orphans.is_empty() {
        return unlabelled(state, &orphans);
    }
    no_backends(state)
}

/// Hand-made slices named like the Service, without its label: kube-proxy and DNS ignore them.
fn unlabelled(state: &ClusterState, orphans: &[&str]) -> Outcome {
    let (ns, name) = (&state.namespace, &state.service_name);
    let evidence = orphans.iter().map(|o| {
        Evidence::new(
            "UnlabelledSlice",
            format!("EndpointSlice {ns}/{o} has no {SERVICE_NAME_LABEL} label"),
        )
        .on(ObjectRef::new("EndpointSlice", ns, o))
    });
    let fix = orphans.iter().map(|o| {
        if state.is_offline() {
            format!(
                "edit {}: add metadata.labels {SERVICE_NAME_LABEL}: {name}",
                state.edit_location("EndpointSlice", ns, o)
            )
        } else {
            format!(
                "kubectl label endpointslice {} -n {} {}",
                q(o),
                q(ns),
                q(&format!("{SERVICE_NAME_LABEL}={name}"))
            )
        }
    });
    Outcome::fail(format!(
        "selector-less Service: EndpointSlice {} lacks the label {SERVICE_NAME_LABEL}={name}, so kube-proxy and DNS ignore it",
        orphans.join(", ")
    ))
    .code("ND1105")
    .at(ObjectRef::new("EndpointSlice", ns, orphans[0]), "metadata")
    .evidence(evidence)
    .fix(fix)
}

/// A selector-less Service with no slices at all: it has no backends.
fn no_backends(state: &ClusterState) -> Outcome {
    let (ns, name) = (&state.namespace, &state.service_name);
    let fix = if state.is_offline() {
        vec![
            format!(
                "add a selector matching the backend pods to {}",
                state.edit_location("Service", ns, name)
            ),
            format!(
                "or add an EndpointSlice labelled {SERVICE_NAME_LABEL}: {name} to the manifests"
            ),
        ]
    } else {
        vec![
            format!(
                "kubectl patch service {} -n {} -p '{{\"spec\":{{\"selector\":{{\"app\":\"<backend label>\"}}}}}}'",
                q(name),
                q(ns)
            ),
            format!(
                "or create an EndpointSlice labelled {SERVICE_NAME_LABEL}={name} (kubectl netdoctor explain service.selector)"
            ),
        ]
    };
    let summary = format!(
        "selector-less Service and no EndpointSlice labelled {SERVICE_NAME_LABEL}={name}: it has no backends"
    );
    if state.scan {
        // Among many Services, one without endpoints that nothing is known to route to is normal
        // (leader election, placeholders for an operator): worth a look, not a failure.
        return Outcome::warn(format!(
            "{summary} (normal for leader-election and placeholder Services)"
        ))
        .code("ND1106")
        .at(me(state), "spec")
        .fix(fix);
    }
    Outcome::fail(summary)
        .code("ND1106")
        .at(me(state), "spec")
        .fix(fix)
}

fn selected(state: &ClusterState, svc: &Service, selector: &BTreeMap<String, String>) -> Outcome {
    let ns = &state.namespace;
    let sel = text::labels(selector);
    let pods = match state.pods.as_result() {
        Ok(p) => p,
        Err(u) => return unavailable(u),
    };
    if !pods.is_empty() {
        let templates = pods.iter().filter(|p| k8s::is_template(p)).count();
        let what = if templates == pods.len() {
            text::plural(pods.len(), "pod template")
        } else {
            text::plural(pods.len(), "pod")
        };
        return Outcome::pass(format!("selector {sel} matches {what} in {ns}"));
    }

    if !state.scaled_to_zero.is_empty() {
        return Outcome::warn(format!(
            "selector {sel} matches no pods: {} asks for 0 replicas (scaled to zero)",
            state.scaled_to_zero.join(", ")
        ))
        .code("ND1107")
        .at(me(state), "spec.selector")
        .fix([format!(
            "if traffic is expected: kubectl scale {} -n {} --replicas=1",
            q(&state.scaled_to_zero[0].replacen(' ', "/", 1).to_lowercase()),
            q(ns)
        )]);
    }
    let mut outcome = Outcome::fail(format!("selector {sel} matches no pods in namespace {ns}"))
        .code("ND1108")
        .at(me(state), "spec.selector");
    let others = match &state.namespace_pods {
        Fact::Known(p) => p,
        Fact::Unavailable(u) => {
            return outcome
                .evidence([Evidence::new(
                    "LabelDiff",
                    format!(
                        "could not list the namespace's pods to compare labels: {}",
                        u.reason()
                    ),
                )])
                .fix([format!("kubectl get pods -n {} --show-labels", q(ns))]);
        }
    };
    elsewhere(state, &sel, &mut outcome);
    if others.is_empty() {
        outcome
            .summary
            .push_str(&format!("; namespace {ns} has no pods at all"));
        outcome
            .fix
            .push(format!("kubectl get pods -A -l {}", q(&sel)));
        return outcome;
    }
    closest_pods(state, svc, selector, others, outcome)
}

/// Pods with the selector's labels in other namespaces: a Service selects only its own.
fn elsewhere(state: &ClusterState, sel: &str, outcome: &mut Outcome) {
    let ns = &state.namespace;
    let Fact::Known(elsewhere) = &state.pods_elsewhere else {
        return;
    };
    let mut namespaces: Vec<&str> = elsewhere
        .iter()
        .filter_map(|p| p.metadata.namespace.as_deref())
        .filter(|n| n != ns)
        .collect();
    namespaces.dedup();
    if !namespaces.is_empty() {
        outcome.summary.push_str(&format!(
            "; pods with these labels run in namespace {} (a Service selects only pods in its own namespace)",
            namespaces.join(", ")
        ));
        outcome.fix.push(format!(
            "run the Service in the pods' namespace, or the workload in {ns}: kubectl get pods -A -l {}",
            q(sel)
        ));
    }
}

/// The namespace's pods closest to the selector: their label diff, and the one-field fixes for
/// the closest group.
fn closest_pods(
    state: &ClusterState,
    svc: &Service,
    selector: &BTreeMap<String, String>,
    others: &[Pod],
    mut outcome: Outcome,
) -> Outcome {
    let ns = &state.namespace;
    let groups = closest(selector, others);
    let best = &groups[0];
    let near = best.diff.distance() < selector.len();
    if near {
        outcome
            .summary
            .push_str(&format!("; closest: {} {}", best.who, best.describe()));
    } else {
        outcome
            .summary
            .push_str(&format!("; no pod in {ns} carries any of its labels"));
    }
    let evidence = groups.iter().map(|g| {
        Evidence::new("LabelDiff", format!("{} {}", g.who, g.describe()))
            .on(g.object.clone())
            .field("pods", g.who.clone())
            .field("missing", g.missing())
            .field("differs", g.differs())
    });
    outcome = outcome.evidence(evidence);
    if near {
        outcome.fix.extend(fixes(state, svc, best));
    } else {
        outcome
            .fix
            .push(format!("kubectl get pods -n {} --show-labels", q(ns)));
    }
    outcome
}

/// Pods that fail the selector the same way, under one workload.
struct Group {
    who: String,
    object: ObjectRef,
    /// (kind, name) of the owning workload, when known.
    workload: Option<(String, String)>,
    /// The labels of the group's first pod (they share the template's).
    labels: BTreeMap<String, String>,
    count: usize,
    diff: LabelDiff,
}

impl Group {
    /// The selector's labels the pods lack; a key they carry that only looks the same (another
    /// script's letter, an invisible character) is named.
    fn missing(&self) -> String {
        self.diff
            .missing
            .iter()
            .map(|(k, v)| {
                let twin = self.labels.keys().find_map(|have| {
                    crate::text::lookalike(have, k, "the selector")
                        .map(|note| format!(" (the pods' key {have} has {note})"))
                });
                format!("{k}={v}{}", twin.unwrap_or_default())
            })
            .collect::<Vec<_>>()
            .join(",")
    }
    fn differs(&self) -> String {
        self.diff
            .differs
            .iter()
            .map(
                |(k, want, have)| match crate::text::lookalike(have, want, "the selector") {
                    Some(note) => format!("{k}={have} (selector wants {want}; {note})"),
                    None => format!("{k}={have} (selector wants {want})"),
                },
            )
            .collect::<Vec<_>>()
            .join(",")
    }
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.diff.missing.is_empty() {
            parts.push(format!("lacks {}", self.missing()));
        }
        if !self.diff.differs.is_empty() {
            parts.push(format!("has {}", self.differs()));
        }
        parts.join(" and ")
    }
}

/// The closest pods, grouped by workload and diff, closest first.
fn closest(selector: &BTreeMap<String, String>, pods: &[Pod]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for pod in pods {
        let diff = LabelDiff::between(selector, &k8s::labels_of(pod));
        let workload = k8s::workload_of(pod).filter(|_| true);
        if let Some(g) = groups
            .iter_mut()
            .find(|g| g.workload.is_some() && g.workload == workload && g.diff == diff)
        {
            g.count += 1;
            continue;
        }
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let (who, object) = match (&workload, k8s::is_template(pod)) {
            (Some((kind, name)), true) => (k8s::describe_pod(pod), ObjectRef::new(kind, &ns, name)),
            (Some((kind, wname)), false) => {
                let name = k8s::name_of(&pod.metadata);
                (
                    format!("pod {name} of {kind} {wname}"),
                    ObjectRef::new("Pod", &ns, name),
                )
            }
            (None, _) => {
                let name = k8s::name_of(&pod.metadata);
                (format!("pod {name}"), ObjectRef::new("Pod", &ns, name))
            }
        };
        groups.push(Group {
            who,
            object,
            workload,
            labels: k8s::labels_of(pod),
            count: 1,
            diff,
        });
    }
    for g in &mut groups {
        if g.count > 1 {
            if let Some((kind, name)) = &g.workload {
                g.who = format!("{} pods of {kind} {name}", g.count);
            }
        }
    }
    groups.sort_by_key(|g| (g.diff.distance(), g.diff.differs.len()));
    // Pods that share no selector term are noise once some pod shares one.
    if groups[0].diff.distance() < selector.len() {
        groups.retain(|g| g.diff.distance() < selector.len());
    }
    groups.truncate(CLOSEST);
    groups
}

/// The two ways out: label the pods (through their workload's template) or narrow the selector.
fn fixes(state: &ClusterState, svc: &Service, g: &Group) -> Vec<String> {
    let wanted: BTreeMap<&str, &str> = g
        .diff
        .missing
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(
            g.diff
                .differs
                .iter()
                .map(|(k, want, _)| (k.as_str(), want.as_str())),
        )
        .collect();
    if state.is_offline() {
        return offline_fixes(state, g, &wanted);
    }
    let mut out = vec![label_pods(state, g, &wanted)];
    out.extend(change_selector(state, svc, g));
    out
}

/// Offline: the files and documents to edit — the pod template's labels, or the selector.
fn offline_fixes(state: &ClusterState, g: &Group, wanted: &BTreeMap<&str, &str>) -> Vec<String> {
    let (ns, name) = (&state.namespace, &state.service_name);
    let (kind, wname) = g
        .workload
        .clone()
        .unwrap_or(("Pod".into(), g.object.name.clone()));
    let labels: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let field = if kind == "Pod" {
        "metadata.labels"
    } else {
        "spec.template.metadata.labels"
    };
    let mut sel_edits: Vec<String> = g
        .diff
        .missing
        .iter()
        .map(|(k, _)| format!("remove {k}"))
        .collect();
    sel_edits.extend(
        g.diff
            .differs
            .iter()
            .map(|(k, _, have)| format!("set {k}: {have}")),
    );
    vec![
        format!(
            "edit {}: set {} under {field}",
            state.edit_location(&kind, ns, &wname),
            labels.join(", ")
        ),
        format!(
            "or edit {}: in spec.selector {}",
            state.edit_location("Service", ns, name),
            sel_edits.join(", ")
        ),
    ]
}

/// Live: give the pods the labels — through their workload's template (which rolls them), or on
/// a bare pod.
fn label_pods(state: &ClusterState, g: &Group, wanted: &BTreeMap<&str, &str>) -> String {
    let ns = state.namespace.as_str();
    // A ReplicaSet's template reaches only the pods it creates from now on, and a StatefulSet's
    // with `updateStrategy: OnDelete` only pods deleted from now on: the ones they have keep
    // their labels (no rollout, unlike a Deployment's).
    let frozen = match &g.workload {
        Some((kind, wname)) if kind == "ReplicaSet" => Some((
            "replicaset",
            wname,
            "a ReplicaSet never relabels the pods it has",
        )),
        Some((kind, wname)) if kind == "StatefulSet" && state.on_delete.contains(wname) => Some((
            "statefulset",
            wname,
            "with updateStrategy OnDelete it relabels none of the pods it has",
        )),
        _ => None,
    };
    match (&g.workload, frozen) {
        (_, Some((kind, wname, why))) => {
            let patch = json!({"spec": {"template": {"metadata": {"labels": wanted}}}});
            let selector: Vec<String> = g.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let labels: Vec<String> = wanted.iter().map(|(k, v)| q(&format!("{k}={v}"))).collect();
            format!(
                "label the pods it has, and its template for the pods it makes ({why}): kubectl patch {kind} {} -n {} --type merge -p {}\nkubectl label pods -n {} -l {} {} --overwrite",
                q(wname),
                q(ns),
                shell_quote(&patch.to_string()),
                q(ns),
                q(&selector.join(",")),
                labels.join(" ")
            )
        }
        (Some((kind, wname)), None)
            if matches!(kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet") =>
        {
            let patch = json!({"spec": {"template": {"metadata": {"labels": wanted}}}});
            format!(
                "kubectl patch {} {} -n {} --type merge -p {}   # labels the pods (rolls them)",
                kind.to_lowercase(),
                q(wname),
                q(ns),
                shell_quote(&patch.to_string())
            )
        }
        _ => {
            let labels: Vec<String> = wanted.iter().map(|(k, v)| q(&format!("{k}={v}"))).collect();
            format!(
                "kubectl label pod {} -n {} {} --overwrite",
                q(&g.object.name),
                q(ns),
                labels.join(" ")
            )
        }
    }
}

/// Live: or change the Service's selector to what the pods carry — and first check what the
/// narrower selector would pick.
fn change_selector(state: &ClusterState, svc: &Service, g: &Group) -> Vec<String> {
    let (ns, name) = (&state.namespace, &state.service_name);
    // JSON Patch paths escape "/" in label keys as "~1".
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    let mut ops: Vec<serde_json::Value> = g
        .diff
        .missing
        .iter()
        .map(|(k, _)| json!({"op": "remove", "path": format!("/spec/selector/{}", escape(k))}))
        .collect();
    ops.extend(g.diff.differs.iter().map(|(k, _, have)| {
        json!({"op": "replace", "path": format!("/spec/selector/{}", escape(k)), "value": have})
    }));
    let narrowed_sel = svc
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .into_iter()
        .flatten()
        .filter(|(k, _)| !g.diff.missing.iter().any(|(m, _)| m == *k))
        .map(|(k, v)| {
            let v = g
                .diff
                .differs
                .iter()
                .find(|(d, _, _)| d == k)
                .map_or(v.as_str(), |(_, _, have)| have.as_str());
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut out = vec![format!(
        "or change the Service's selector: kubectl patch service {} -n {} --type json -p {}",
        q(name),
        q(ns),
        shell_quote(&serde_json::Value::Array(ops).to_string())
    )];
    if !narrowed_sel.is_empty() {
        out.push(format!(
            "check first that the new selector picks only the intended pods: kubectl get pods -n {} -l {}",
            q(ns),
            q(&narrowed_sel)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::state;
    use crate::report::Status;

    const PG: &str = "
kind: Service
metadata: {name: postgres, namespace: shop}
spec:
  selector: {app: postgres, tier: db}
  ports: [{port: 5432}]
---
kind: Pod
metadata:
  name: postgres-7d9f8c-abcde
  namespace: shop
  labels: {app: postgres, pod-template-hash: 7d9f8c}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: postgres-7d9f8c, uid: u1, controller: true}]
---
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
";

    #[test]
    fn a_bare_replicasets_pods_are_relabelled_not_rolled() {
        // Issue 18 item 7: a ReplicaSet applies its template to the pods it creates, never to
        // the ones it has — "rolls them" was wrong. Patch it for the future, label the present.
        let bare = PG.replace("pod-template-hash: 7d9f8c", "role: primary");
        let o = run(&state("shop", "postgres", &bare));
        assert_eq!(o.status, Status::Fail);
        let lines: Vec<&str> = o.fix[0].lines().collect();
        assert_eq!(lines.len(), 2, "{:?}", o.fix);
        assert!(
            lines[0].starts_with("label the pods it has, and its template for the pods it makes (a ReplicaSet never relabels the pods it has): kubectl patch replicaset postgres-7d9f8c -n shop --type merge")
                && !lines[0].contains("rolls"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with(
                "kubectl label pods -n shop -l app=postgres,role=primary tier=db --overwrite"
            ),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn an_on_delete_statefulsets_pods_are_relabelled_not_rolled() {
        // Issue 18 item 7: a StatefulSet with `updateStrategy: OnDelete` gives a new template
        // only to pods deleted from now on; with the default RollingUpdate it rolls them.
        let sts = PG.replace(
            "kind: ReplicaSet, name: postgres-7d9f8c",
            "kind: StatefulSet, name: postgres",
        );
        let mut st = state("shop", "postgres", &sts);
        let rolling = run(&st);
        assert!(
            rolling.fix[0].starts_with("kubectl patch statefulset postgres -n shop")
                && rolling.fix[0].ends_with("# labels the pods (rolls them)"),
            "{:?}",
            rolling.fix
        );
        st.on_delete = vec!["postgres".into()];
        let o = run(&st);
        let lines: Vec<&str> = o.fix[0].lines().collect();
        assert_eq!(lines.len(), 2, "{:?}", o.fix);
        assert!(
            lines[0].starts_with("label the pods it has, and its template for the pods it makes (with updateStrategy OnDelete it relabels none of the pods it has): kubectl patch statefulset postgres -n shop --type merge")
                && !lines[0].contains("rolls"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("kubectl label pods -n shop -l app=postgres,pod-template-hash=7d9f8c tier=db --overwrite"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn a_lookalike_value_or_key_is_named_not_just_shown() {
        // Issue 18 item 20: "has app=wеb (selector wants web)" reads as no difference at all.
        let yaml = PG
            .replace(
                "app: postgres, pod-template-hash",
                "app: p\u{43e}stgres, tier: db, pod-template-hash",
            )
            .replace("{app: web}", "{app: nothing}");
        let o = run(&state("shop", "postgres", &yaml));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.summary.contains(
                "has app=p\u{43e}stgres (selector wants postgres; Cyrillic \u{43e} (U+043E) where the selector has Latin o (U+006F))"
            ),
            "{}",
            o.summary
        );
        let yaml = PG.replace(
            "pod-template-hash: 7d9f8c}",
            "pod-template-hash: 7d9f8c, t\u{200B}ier: db}",
        );
        let o = run(&state("shop", "postgres", &yaml));
        assert!(
            o.summary
                .contains("lacks tier=db (the pods' key t\u{200B}ier has invisible U+200B)"),
            "{}",
            o.summary
        );
    }

    #[test]
    fn seed_example_names_the_missing_key_and_offers_both_fixes() {
        let o = run(&state("shop", "postgres", PG));
        assert_eq!(o.status, Status::Fail);
        assert!(o.summary.contains("matches no pods"), "{}", o.summary);
        assert!(
            o.summary.contains("Deployment postgres")
                || o.summary.contains("postgres-7d9f8c-abcde"),
            "{}",
            o.summary
        );
        assert!(o.summary.contains("lacks tier=db"), "{}", o.summary);
        let first = &o.evidence[0];
        assert_eq!(
            first.fields[1],
            ("missing".to_string(), "tier=db".to_string())
        );
        assert_eq!(first.fields[2], ("differs".to_string(), String::new()));
        // Fix 1: label the Deployment's template (derived from the ReplicaSet's name and hash).
        assert!(
            o.fix[0].starts_with("kubectl patch deployment postgres -n shop --type merge"),
            "{:?}",
            o.fix
        );
        assert!(
            o.fix[0].contains(r#"{"spec":{"template":{"metadata":{"labels":{"tier":"db"}}}}}"#),
            "{:?}",
            o.fix
        );
        // Fix 2: drop the key from the Service's selector.
        assert!(
            o.fix[1].contains(r#"[{"op":"remove","path":"/spec/selector/tier"}]"#),
            "{:?}",
            o.fix
        );
        assert!(o.fix[2].ends_with("-l app=postgres"), "{:?}", o.fix);
    }

    #[test]
    fn matching_pods_pass() {
        let yaml = PG.replace(
            "pod-template-hash: 7d9f8c}",
            "pod-template-hash: 7d9f8c, tier: db}",
        );
        let o = run(&state("shop", "postgres", &yaml));
        assert_eq!(o.status, Status::Pass, "{}", o.summary);
    }

    #[test]
    fn empty_selector_is_selector_less_not_match_all() {
        let yaml = "
kind: Service
metadata: {name: ext, namespace: shop}
spec: {selector: {}, ports: [{port: 80}]}
---
kind: Pod
metadata: {name: anything, namespace: shop, labels: {app: x}}
";
        let o = run(&state("shop", "ext", yaml));
        assert_eq!(o.status, Status::Fail);
        assert!(o.summary.contains("selector-less"), "{}", o.summary);
    }

    #[test]
    fn selector_less_with_labelled_slice_passes_and_unlabelled_slice_is_named() {
        let base = "
kind: Service
metadata: {name: ext, namespace: shop}
spec: {ports: [{port: 80}]}
---
kind: EndpointSlice
addressType: IPv4
metadata: {name: ext-1, namespace: shop LABELS}
endpoints: [{addresses: [192.0.2.10]}]
ports: [{port: 80}]
";
        let ok = base.replace(" LABELS", ", labels: {kubernetes.io/service-name: ext}");
        assert_eq!(run(&state("shop", "ext", &ok)).status, Status::Pass);
        let bad = base.replace(" LABELS", "");
        let o = run(&state("shop", "ext", &bad));
        assert_eq!(o.status, Status::Fail);
        assert!(o.summary.contains("ext-1 lacks the label"), "{}", o.summary);
        assert_eq!(
            o.fix,
            vec!["kubectl label endpointslice ext-1 -n shop kubernetes.io/service-name=ext"]
        );
    }

    #[test]
    fn external_name_ip_literal_fails_and_dns_name_passes() {
        let svc = |target: &str| {
            format!(
                "kind: Service\nmetadata: {{name: x, namespace: shop}}\nspec: {{type: ExternalName, externalName: {target}}}\n"
            )
        };
        assert_eq!(
            run(&state("shop", "x", &svc("10.1.2.3"))).status,
            Status::Fail
        );
        assert_eq!(
            run(&state("shop", "x", &svc("'2001:db8::1'"))).status,
            Status::Fail
        );
        assert_eq!(
            run(&state("shop", "x", &svc("db.example.com"))).status,
            Status::Pass
        );
        // What the API server refuses (issue 18 item 8): a URL, a port, capitals, an empty
        // label. A trailing dot is allowed (the API trims one before validating).
        for bad in [
            "https://db.example.com",
            "db.example.com:5432",
            "DB.Example.com",
            "db..example.com",
            "-db.example.com",
        ] {
            let o = run(&state("shop", "x", &svc(&format!("'{bad}'"))));
            assert_eq!(o.status, Status::Fail, "{bad}");
            assert!(
                o.summary
                    .contains("is not a DNS name: the API server refuses it"),
                "{bad}: {}",
                o.summary
            );
        }
        assert_eq!(
            run(&state("shop", "x", &svc("db.example.com."))).status,
            Status::Pass
        );
        let mut s = state("shop", "x", &svc("db.data.svc.cluster.local"));
        s.external_target = Some((ObjectRef::new("Service", "data", "db"), Fact::Known(false)));
        let o = run(&s);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.summary.contains("data/db does not exist"),
            "{}",
            o.summary
        );
    }

    #[test]
    fn scaled_to_zero_is_a_warning_not_a_failure() {
        let mut s = state("shop", "postgres", PG);
        s.scaled_to_zero = vec!["Deployment postgres-v2".into()];
        let o = run(&s);
        assert_eq!(o.status, Status::Warn, "{}", o.summary);
        assert!(
            o.summary
                .contains("Deployment postgres-v2 asks for 0 replicas"),
            "{}",
            o.summary
        );
        assert_eq!(
            o.fix,
            vec![
                "if traffic is expected: kubectl scale deployment/postgres-v2 -n shop --replicas=1"
            ]
        );
    }

    #[test]
    fn selector_less_without_endpoints_warns_in_a_scan() {
        let yaml = "kind: Service\nmetadata: {name: leader, namespace: shop}\nspec: {ports: [{port: 80}]}\n";
        assert_eq!(run(&state("shop", "leader", yaml)).status, Status::Fail);
        let mut s = state("shop", "leader", yaml);
        s.scan = true;
        assert_eq!(run(&s).status, Status::Warn);
    }

    /// Each finding carries its code (src/codes.rs; the runbook's section of that name).
    #[test]
    fn findings_carry_their_codes() {
        let code = |yaml: &str| {
            let mut s = state("shop", "x", yaml);
            s.unlabelled_slices = Fact::Known(Vec::new());
            s.namespace_pods = Fact::Known(Vec::new());
            run(&s).code
        };
        assert_eq!(
            code(
                "kind: Service\nmetadata: {name: x, namespace: shop}\nspec: {type: ExternalName}\n"
            ),
            Some("ND1101")
        );
        assert_eq!(
            code(
                "kind: Service\nmetadata: {name: x, namespace: shop}\nspec: {type: ExternalName, externalName: 'https://db.example.com'}\n"
            ),
            Some("ND1102")
        );
        assert_eq!(
            code(
                "kind: Service\nmetadata: {name: x, namespace: shop}\nspec: {type: ExternalName, externalName: 10.0.0.1}\n"
            ),
            Some("ND1103")
        );
        // Selector-less, no slices at all: no backends.
        assert_eq!(
            code(
                "kind: Service\nmetadata: {name: x, namespace: shop}\nspec: {ports: [{port: 80}]}\n"
            ),
            Some("ND1106")
        );
        assert_eq!(
            code(
                "kind: Service\nmetadata: {name: x, namespace: shop}\nspec: {selector: {app: x}, ports: [{port: 80}]}\n"
            ),
            Some("ND1108")
        );
    }
}
