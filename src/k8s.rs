//! Kubernetes rules the checks share, written from the upstream code: Service selectors, named
//! port resolution (`podutil.FindPort`), pod readiness, and how to name a pod's workload.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ContainerPort, Pod, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Annotation set on pods synthesised from a workload's template (offline): names the workload.
pub(crate) const TEMPLATE_OF: &str = "netdoctor.io/template-of";

/// A DNS-1123 subdomain, as the API server validates names such as `externalName`
/// (apimachinery's IsDNS1123Subdomain): at most 253 characters of lowercase letters, digits,
/// '-' and '.', each dot-separated part starting and ending with a letter or digit.
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

pub(crate) fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

pub(crate) fn labels_of(pod: &Pod) -> BTreeMap<String, String> {
    pod.metadata.labels.clone().unwrap_or_default()
}

/// A Service selector is equality-only, and matches when every key has the same value on the pod.
/// (An empty selector means "selector-less", which callers handle before asking.)
pub(crate) fn selector_matches(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether a Service selector matches a pod, without copying its labels.
pub(crate) fn selector_matches_pod(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// How a pod's labels fall short of a selector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LabelDiff {
    /// Selector keys the pod does not carry: (key, wanted value).
    pub missing: Vec<(String, String)>,
    /// Keys the pod carries with another value: (key, wanted, actual).
    pub differs: Vec<(String, String, String)>,
}

impl LabelDiff {
    pub(crate) fn between(
        selector: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Self {
        let mut diff = LabelDiff::default();
        for (k, want) in selector {
            match labels.get(k) {
                None => diff.missing.push((k.clone(), want.clone())),
                Some(have) if have != want => {
                    diff.differs.push((k.clone(), want.clone(), have.clone()))
                }
                Some(_) => {}
            }
        }
        diff
    }

    /// Number of selector terms the pod fails.
    pub(crate) fn distance(&self) -> usize {
        self.missing.len() + self.differs.len()
    }
}

/// The protocol of a Service or container port; Kubernetes defaults it to TCP.
/// Whether a Service is of a type with nodePorts (NodePort, LoadBalancer).
pub(crate) fn has_node_ports(svc: &k8s_openapi::api::core::v1::Service) -> bool {
    svc.spec
        .as_ref()
        .is_some_and(|sp| matches!(sp.type_.as_deref(), Some("NodePort" | "LoadBalancer")))
}

pub(crate) fn protocol(p: Option<&String>) -> &str {
    p.map(String::as_str).unwrap_or("TCP")
}

/// "http 80/TCP → 8080" for messages.
pub(crate) fn describe_service_port(p: &ServicePort) -> String {
    let name = p.name.as_deref().filter(|n| !n.is_empty());
    let target = match &p.target_port {
        None => String::new(),
        Some(IntOrString::Int(n)) if *n == p.port => String::new(),
        Some(IntOrString::Int(n)) => format!(" → {n}"),
        Some(IntOrString::String(s)) => format!(" → {s}"),
    };
    let proto = protocol(p.protocol.as_ref());
    match name {
        Some(n) => format!("{n} {}/{proto}{target}", p.port),
        None => format!("{}/{proto}{target}", p.port),
    }
}

/// A Service port's targetPort as the API defaults it: omitted means the same as `port`.
pub(crate) fn target_port(p: &ServicePort) -> IntOrString {
    match &p.target_port {
        None => IntOrString::Int(p.port),
        Some(IntOrString::String(s)) if s.is_empty() => IntOrString::Int(p.port),
        Some(IntOrString::Int(0)) => IntOrString::Int(p.port),
        Some(t) => t.clone(),
    }
}

/// Sidecars are init containers with `restartPolicy: Always`; they serve ports like containers.
fn sidecars(pod: &Pod) -> impl Iterator<Item = &Container> {
    pod.spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
}

/// Containers in the order `FindPort` searches them: containers in spec order, then sidecars.
pub(crate) fn port_containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .chain(sidecars(pod))
}

/// Upstream `podutil.FindPort`: a named targetPort resolves to the first container port (in
/// [`port_containers`] order) with that name **and** the Service port's protocol; a number is used
/// as it is. `None`: unresolved, so the pod is published without this port.
pub(crate) fn find_port(pod: &Pod, svc_port: &ServicePort) -> Option<i32> {
    match target_port(svc_port) {
        IntOrString::Int(n) => Some(n),
        IntOrString::String(name) => {
            let proto = protocol(svc_port.protocol.as_ref());
            port_containers(pod)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && protocol(p.protocol.as_ref()) == proto
                })
                .map(|p| p.container_port)
        }
    }
}

/// Every declared container port of a pod with the container that declares it.
pub(crate) fn declared_ports(pod: &Pod) -> impl Iterator<Item = (&Container, &ContainerPort)> {
    port_containers(pod).flat_map(|c| c.ports.iter().flatten().map(move |p| (c, p)))
}

/// The pod's Ready condition: `None` when the pod carries no status (a template, offline).
pub(crate) fn pod_ready(pod: &Pod) -> Option<bool> {
    let status = pod.status.as_ref()?;
    status.phase.as_ref()?;
    Some(
        status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
    )
}

/// The workload that owns a pod, as (kind, name), without reading the intermediate objects: a
/// ReplicaSet named `<deployment>-<pod-template-hash>` belongs to that Deployment.
pub(crate) fn workload_of(pod: &Pod) -> Option<(String, String)> {
    let meta = &pod.metadata;
    if let Some(t) = meta.annotations.as_ref().and_then(|a| a.get(TEMPLATE_OF)) {
        let (kind, name) = t.split_once('/')?;
        return Some((kind.to_string(), name.to_string()));
    }
    let owner = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))?;
    if owner.kind == "ReplicaSet" {
        let hash = meta
            .labels
            .as_ref()
            .and_then(|l| l.get("pod-template-hash"));
        if let Some(deploy) = hash.and_then(|h| owner.name.strip_suffix(&format!("-{h}"))) {
            return Some(("Deployment".into(), deploy.to_string()));
        }
    }
    Some((owner.kind.clone(), owner.name.clone()))
}

/// How to name a pod in messages: "pod shop/cart-5d8f" or, offline, "Deployment shop/cart (pod template)".
pub(crate) fn describe_pod(pod: &Pod) -> String {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    if let Some(t) = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(TEMPLATE_OF))
    {
        let (kind, name) = t.split_once('/').unwrap_or(("Workload", t));
        return format!("{kind} {ns}/{name} (pod template)");
    }
    format!("pod {ns}/{}", name_of(&pod.metadata))
}

pub(crate) fn is_template(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(TEMPLATE_OF))
}

/// The cluster domain from a CoreDNS Corefile: the first zone of its `kubernetes` plugin.
pub(crate) fn cluster_domain(corefile: &str) -> Option<String> {
    corefile.lines().map(str::trim).find_map(|l| {
        let rest = l.strip_prefix("kubernetes ")?;
        rest.split_whitespace()
            .next()
            .map(|z| z.trim_end_matches('.').to_string())
    })
}

/// ", last exit CODE (REASON)" of a container that restarted, else "".
pub(crate) fn last_exit(cs: &k8s_openapi::api::core::v1::ContainerStatus) -> String {
    cs.last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| {
            format!(
                ", last exit {} ({})",
                t.exit_code,
                t.reason.as_deref().unwrap_or("?")
            )
        })
        .unwrap_or_default()
}

/// A pod of `kind`/`name` to stand for the workload: a ready one first, else any (named either way).
pub(crate) fn pick_pod_of<'a>(pods: &'a [Pod], kind: &str, name: &str) -> Option<&'a Pod> {
    let mine: Vec<&Pod> = pods
        .iter()
        .filter(|p| workload_of(p).is_some_and(|(k, n)| k == kind && n == name))
        .collect();
    mine.iter()
        .find(|p| pod_ready(p) == Some(true))
        .or_else(|| mine.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodSpec;

    fn port(name: &str, n: i32, proto: Option<&str>) -> ContainerPort {
        ContainerPort {
            name: Some(name.into()),
            container_port: n,
            protocol: proto.map(Into::into),
            ..Default::default()
        }
    }

    fn container(name: &str, ports: Vec<ContainerPort>) -> Container {
        Container {
            name: name.into(),
            ports: Some(ports),
            ..Default::default()
        }
    }

    fn svc_port(target: IntOrString, proto: Option<&str>) -> ServicePort {
        ServicePort {
            port: 80,
            target_port: Some(target),
            protocol: proto.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn named_port_resolves_first_container_in_spec_order_with_matching_protocol() {
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![
                    container("a", vec![port("dns", 53, Some("UDP"))]),
                    container("b", vec![port("dns", 5353, None)]),
                    container("c", vec![port("dns", 9999, Some("TCP"))]),
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        // TCP (default) skips the UDP port of container a and takes b's, the first TCP one.
        assert_eq!(
            find_port(&pod, &svc_port(IntOrString::String("dns".into()), None)),
            Some(5353)
        );
        assert_eq!(
            find_port(
                &pod,
                &svc_port(IntOrString::String("dns".into()), Some("UDP"))
            ),
            Some(53)
        );
        assert_eq!(
            find_port(
                &pod,
                &svc_port(IntOrString::String("dns".into()), Some("SCTP"))
            ),
            None
        );
        assert_eq!(
            find_port(&pod, &svc_port(IntOrString::String("web".into()), None)),
            None
        );
        // Numbers are used as they are, declared or not.
        assert_eq!(
            find_port(&pod, &svc_port(IntOrString::Int(1234), None)),
            Some(1234)
        );
    }

    #[test]
    fn sidecars_serve_named_ports_after_containers_plain_init_containers_do_not() {
        let mut sidecar = container("proxy", vec![port("metrics", 9090, None)]);
        sidecar.restart_policy = Some("Always".into());
        let init = container("setup", vec![port("admin", 7000, None)]);
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![container("app", vec![port("http", 8080, None)])],
                init_containers: Some(vec![init, sidecar]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            find_port(&pod, &svc_port(IntOrString::String("metrics".into()), None)),
            Some(9090)
        );
        assert_eq!(
            find_port(&pod, &svc_port(IntOrString::String("admin".into()), None)),
            None
        );
    }

    #[test]
    fn omitted_target_port_is_the_port() {
        let p = ServicePort {
            port: 443,
            ..Default::default()
        };
        assert_eq!(target_port(&p), IntOrString::Int(443));
    }

    #[test]
    fn label_diff_reports_missing_and_differing_keys() {
        let sel: BTreeMap<_, _> = [("app", "postgres"), ("tier", "db")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let labels: BTreeMap<_, _> = [("app", "postgres")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let d = LabelDiff::between(&sel, &labels);
        assert_eq!(d.missing, vec![("tier".to_string(), "db".to_string())]);
        assert!(d.differs.is_empty());
        assert!(!selector_matches(&sel, &labels));
        let labels2: BTreeMap<_, _> = [("app", "pg"), ("tier", "db"), ("x", "y")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let d2 = LabelDiff::between(&sel, &labels2);
        assert_eq!(
            d2.differs,
            vec![("app".into(), "postgres".into(), "pg".into())]
        );
        assert_eq!(d2.distance(), 1);
    }
}
