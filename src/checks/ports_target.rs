//! `ports.target`: every Service port's targetPort resolves to a container port on the pods.
//!
//! Omitted → equals `port`. A number is used as it is (only a warning if no container declares it,
//! or declares it with another protocol: declared ports are informational). A name resolves per pod
//! by name and protocol in the first container in spec order, then in sidecars; unresolved on a
//! pod, that pod is published without the port — it gets no traffic on it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::unavailable;
use crate::k8s;
use crate::report::{Evidence, Outcome, SkipKind, Status};
use crate::state::{ClusterState, ObjectRef};
use crate::text;

/// Pods listed by name in one finding, at most.
const LIST: usize = 5;

pub(super) fn run(state: &ClusterState) -> Outcome {
    let spec = match super::backed_spec(state, "no target ports") {
        Ok(spec) => spec,
        Err(skip) => return *skip,
    };
    if spec.selector.as_ref().is_none_or(|s| s.is_empty()) {
        return Outcome::skip(
            SkipKind::NotApplicable,
            "selector-less Service: its EndpointSlices carry the ports, not pods",
        );
    }
    let pods = match state.pods.as_result() {
        Ok(p) => p,
        Err(u) => return unavailable(u),
    };
    if pods.is_empty() {
        return Outcome::skip(
            SkipKind::NotApplicable,
            "no pods to resolve target ports on (scaled to zero)",
        );
    }
    let ports = spec.ports.clone().unwrap_or_default();
    if ports.is_empty() {
        return Outcome::pass(
            "headless Service without ports: clients use the pods' ports directly",
        );
    }

    let mut findings: Vec<Finding> = ports
        .iter()
        .enumerate()
        .map(|(i, _)| check_port(state, &ports, i, pods))
        .collect();
    let worst = findings
        .iter()
        .map(|f| f.status)
        .fold(Status::Pass, |a, b| match (a, b) {
            (Status::Fail, _) | (_, Status::Fail) => Status::Fail,
            (Status::Warn, _) | (_, Status::Warn) => Status::Warn,
            _ => Status::Pass,
        });
    let summary = findings
        .iter()
        .filter(|f| worst == Status::Pass || f.status == worst)
        .map(|f| f.line.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let mut outcome = match worst {
        Status::Fail => Outcome::fail(summary),
        Status::Warn => Outcome::warn(summary),
        _ => Outcome::pass(summary),
    };
    // The code of the first port with the worst finding, and that port's targetPort.
    if let Some((i, f)) = findings.iter().enumerate().find(|(_, f)| f.status == worst) {
        outcome.code = f.code;
        if f.code.is_some() {
            let service = ObjectRef::new("Service", &state.namespace, &state.service_name);
            outcome = outcome.at(service, &format!("spec.ports.{i}.targetPort"));
        }
    }
    for f in &mut findings {
        outcome.evidence.append(&mut f.evidence);
        if f.status == worst {
            outcome.fix.append(&mut f.fix);
        }
    }
    outcome
}

struct Finding {
    status: Status,
    code: Option<&'static str>,
    line: String,
    evidence: Vec<Evidence>,
    fix: Vec<String>,
}

fn pod_ref(pod: &Pod) -> ObjectRef {
    ObjectRef::new(
        "Pod",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        k8s::name_of(&pod.metadata),
    )
}

fn listed(pods: &[&Pod]) -> String {
    let mut names: Vec<String> = pods
        .iter()
        .take(LIST)
        .map(|p| k8s::describe_pod(p))
        .collect();
    if pods.len() > LIST {
        names.push(format!("and {} more", pods.len() - LIST));
    }
    names.join(", ")
}

fn check_port(state: &ClusterState, ports: &[ServicePort], index: usize, pods: &[Pod]) -> Finding {
    let port = &ports[index];
    let label = k8s::describe_service_port(port);
    let proto = k8s::protocol(port.protocol.as_ref()).to_string();
    match k8s::target_port(port) {
        IntOrString::Int(n) => numeric(state, index, &label, n, &proto, pods),
        IntOrString::String(name) => named(state, ports, index, &label, &name, &proto, pods),
    }
}

fn numeric(
    state: &ClusterState,
    index: usize,
    label: &str,
    n: i32,
    proto: &str,
    pods: &[Pod],
) -> Finding {
    let mut same = 0;
    let mut evidence = Vec::new();
    for pod in pods {
        let decl: Vec<_> = k8s::declared_ports(pod)
            .filter(|(_, p)| p.container_port == n)
            .collect();
        if decl
            .iter()
            .any(|(_, p)| k8s::protocol(p.protocol.as_ref()) == proto)
        {
            same += 1;
        } else if let Some((c, p)) = decl.first() {
            let what = format!(
                "container {} declares {n}/{}, the Service port is {proto}",
                c.name,
                k8s::protocol(p.protocol.as_ref())
            );
            evidence.push(
                Evidence::new(
                    "ProtocolMismatch",
                    format!("{}: {what}", k8s::describe_pod(pod)),
                )
                .on(pod_ref(pod)),
            );
        }
    }
    if same == pods.len() {
        return pass(format!(
            "{label}: {n}/{proto} declared on {}",
            text::plural(same, "pod")
        ));
    }
    let other_proto = !evidence.is_empty();
    let undeclared: Vec<&Pod> = pods
        .iter()
        .filter(|p| !k8s::declared_ports(p).any(|(_, cp)| cp.container_port == n))
        .collect();
    evidence.extend(
        undeclared
            .iter()
            .take(LIST)
            .map(|pod| undeclared_port(pod, n)),
    );
    let line = if other_proto {
        format!("{label}: containers declare {n} with another protocol than {proto}")
    } else {
        format!(
            "{label}: targetPort {n} is not declared by any container on {} (traffic is sent there anyway; pods.listening tells whether anything listens)",
            text::plural(undeclared.len(), "pod")
        )
    };
    Finding {
        status: Status::Warn,
        code: Some(if other_proto { "ND3003" } else { "ND3002" }),
        line,
        evidence,
        fix: numeric_fixes(state, index, n, proto, pods, same, &undeclared),
    }
}

/// A pod that declares no port `n`, with the ports it declares.
fn undeclared_port(pod: &Pod, n: i32) -> Evidence {
    let declared: Vec<String> = k8s::declared_ports(pod)
        .map(|(_, p)| {
            format!(
                "{}/{}",
                p.container_port,
                k8s::protocol(p.protocol.as_ref())
            )
        })
        .collect();
    let declared = if declared.is_empty() {
        "none".to_string()
    } else {
        declared.join(", ")
    };
    Evidence::new(
        "UndeclaredPort",
        format!(
            "{} declares no port {n} (declared: {declared})",
            k8s::describe_pod(pod)
        ),
    )
    .on(pod_ref(pod))
}

/// The fixes for a numeric targetPort not declared as the Service port's protocol.
fn numeric_fixes(
    state: &ClusterState,
    index: usize,
    n: i32,
    proto: &str,
    pods: &[Pod],
    same: usize,
    undeclared: &[&Pod],
) -> Vec<String> {
    // Kubernetes sends the Service port's protocol to the number as it is: a container that
    // declares the number only under another protocol means the Service port says the wrong one.
    let other: Vec<&str> = pods
        .iter()
        .flat_map(|p| k8s::declared_ports(p).filter(|(_, cp)| cp.container_port == n))
        .map(|(_, cp)| k8s::protocol(cp.protocol.as_ref()))
        .filter(|p| *p != proto)
        .collect();
    if same == 0
        && undeclared.is_empty()
        && !other.is_empty()
        && other.iter().all(|p| *p == other[0])
    {
        return vec![format!(
            "the pods serve {n}/{}: set the Service port's protocol to {}: {}",
            other[0],
            other[0],
            set_field(state, index, "protocol", serde_json::json!(other[0]))
        )];
    }
    let first = match known_port(undeclared, proto) {
        Some((p, why)) => format!(
            "if the app listens on {p} ({why}): {}",
            set_target_port(state, index, &p.to_string())
        ),
        None => format!(
            "if the app listens on another port, point spec.ports[{index}].targetPort at it: {}",
            edit_service(state)
        ),
    };
    vec![
        first,
        "or declare it in the pod template: containers[].ports[].containerPort".to_string(),
    ]
}

fn named(
    state: &ClusterState,
    ports: &[ServicePort],
    index: usize,
    label: &str,
    name: &str,
    proto: &str,
    pods: &[Pod],
) -> Finding {
    let mut resolved: BTreeMap<i32, Vec<&Pod>> = BTreeMap::new();
    let mut unresolved: Vec<&Pod> = Vec::new();
    let mut evidence = Vec::new();
    let mut duplicated = Vec::new();
    for pod in pods {
        let svc_port = ServicePort {
            protocol: Some(proto.to_string()),
            target_port: Some(IntOrString::String(name.to_string())),
            ..Default::default()
        };
        match k8s::find_port(pod, &svc_port) {
            Some(n) => resolved.entry(n).or_default().push(pod),
            None => unresolved.push(pod),
        }
        if let Some(e) = duplicate_name(pod, name, proto) {
            duplicated.push(pod);
            evidence.push(e);
        }
    }
    for pod in unresolved.iter().take(LIST) {
        evidence.push(why_unresolved(pod, name, proto));
    }
    if !unresolved.is_empty() {
        let fix = unresolved_fixes(state, ports, index, name, proto, &resolved, &unresolved);
        let line = format!(
            "{label}: targetPort {name} does not resolve on {} of {} ({}): {} no traffic on this port",
            unresolved.len(),
            text::plural(pods.len(), "pod"),
            listed(&unresolved),
            if unresolved.len() == 1 {
                "it gets"
            } else {
                "they get"
            },
        );
        return Finding {
            status: Status::Fail,
            code: Some("ND3001"),
            line,
            evidence,
            fix,
        };
    }
    if !duplicated.is_empty() {
        return Finding {
            status: Status::Warn,
            code: Some("ND3004"),
            line: format!(
                "{label}: port name {name} is declared by several containers of {}",
                listed(&duplicated)
            ),
            evidence,
            fix: vec![
                "rename the container ports so that each name is unique in the pod".to_string(),
            ],
        };
    }
    resolved_everywhere(label, name, proto, pods.len(), &resolved, evidence)
}

/// A named targetPort that resolves on every pod: to one number, or (allowed) to several.
fn resolved_everywhere(
    label: &str,
    name: &str,
    proto: &str,
    pods: usize,
    resolved: &BTreeMap<i32, Vec<&Pod>>,
    mut evidence: Vec<Evidence>,
) -> Finding {
    let line = if resolved.len() > 1 {
        let parts: Vec<String> = resolved
            .iter()
            .map(|(n, p)| format!("{n} on {}", text::plural(p.len(), "pod")))
            .collect();
        evidence.push(Evidence::new(
            "PortVaries",
            format!("targetPort {name} resolves to different numbers: {} (allowed: each pod gets its own)", parts.join(", ")),
        ));
        format!(
            "{label}: {name} resolves on every pod (to {})",
            parts.join(", ")
        )
    } else {
        let n = resolved.keys().next().copied().unwrap_or_default();
        format!(
            "{label}: {name} resolves to {n}/{proto} on {}",
            text::plural(pods, "pod")
        )
    };
    let mut f = pass(line);
    f.evidence = evidence;
    f
}

/// A port name that several containers of the pod declare (the first wins).
fn duplicate_name(pod: &Pod, name: &str, proto: &str) -> Option<Evidence> {
    let owners: Vec<&str> = k8s::port_containers(pod)
        .filter(|c| {
            c.ports.iter().flatten().any(|p| {
                p.name.as_deref() == Some(name) && k8s::protocol(p.protocol.as_ref()) == proto
            })
        })
        .map(|c| c.name.as_str())
        .collect();
    (owners.len() > 1).then(|| {
        Evidence::new(
            "DuplicatePortName",
            format!(
                "{}: port name {name} is declared by containers {}; the first ({}) wins",
                k8s::describe_pod(pod),
                owners.join(", "),
                owners[0]
            ),
        )
        .on(pod_ref(pod))
    })
}

/// Why a named targetPort does not resolve on a pod: no port of that name (the names it has), or
/// the name under another protocol.
fn why_unresolved(pod: &Pod, name: &str, proto: &str) -> Evidence {
    let described = |p: &k8s_openapi::api::core::v1::ContainerPort| {
        format!(
            "{}/{}",
            p.container_port,
            k8s::protocol(p.protocol.as_ref())
        )
    };
    let same_name: Vec<String> = k8s::declared_ports(pod)
        .filter(|(_, p)| p.name.as_deref() == Some(name))
        .map(|(c, p)| format!("container {} declares {name} as {}", c.name, described(p)))
        .collect();
    let (kind, why) = if same_name.is_empty() {
        let names: Vec<String> = k8s::declared_ports(pod)
            .map(|(_, p)| {
                let n = p.name.as_deref().unwrap_or("(unnamed)");
                format!("{n} {}", described(p))
            })
            .collect();
        let names = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        (
            "PortUnresolved",
            format!("no container port named {name} (declared: {names})"),
        )
    } else {
        (
            "ProtocolMismatch",
            format!("{}, but the Service port is {proto}", same_name.join("; ")),
        )
    };
    Evidence::new(kind, format!("{}: {why}", k8s::describe_pod(pod))).on(pod_ref(pod))
}

/// The port the unresolved pods would serve a name on: the only port of the protocol that each
/// declares, when it is the same on all (with its name, if it has one); and the number the
/// Service could point at instead — what the name resolves to elsewhere, else that port.
fn target_number(
    proto: &str,
    resolved: &BTreeMap<i32, Vec<&Pod>>,
    unresolved: &[&Pod],
) -> (Option<(i32, Option<String>)>, Option<i32>) {
    let only_declared = |pod: &&Pod| -> Option<(i32, Option<String>)> {
        let mut ports =
            k8s::declared_ports(pod).filter(|(_, p)| k8s::protocol(p.protocol.as_ref()) == proto);
        let (_, first) = ports.next()?;
        ports
            .next()
            .is_none()
            .then(|| (first.container_port, first.name.clone()))
    };
    let candidates: Vec<Option<(i32, Option<String>)>> =
        unresolved.iter().map(only_declared).collect();
    let uniform = candidates
        .first()
        .cloned()
        .flatten()
        .filter(|c| candidates.iter().all(|x| x.as_ref() == Some(c)));
    let numbers: Vec<i32> = resolved.keys().copied().collect();
    let number = match (numbers.as_slice(), &uniform) {
        ([n], _) => Some(*n),
        ([], Some((n, _))) => Some(*n),
        _ => None,
    };
    (uniform, number)
}

/// The fixes for a named targetPort that some pods do not resolve: the Service port's protocol
/// when the pods declare the name under another; else the container port to name (or rename);
/// then the number the Service could point at instead.
fn unresolved_fixes(
    state: &ClusterState,
    ports: &[ServicePort],
    index: usize,
    name: &str,
    proto: &str,
    resolved: &BTreeMap<i32, Vec<&Pod>>,
    unresolved: &[&Pod],
) -> Vec<String> {
    let (uniform, number) = target_number(proto, resolved, unresolved);
    let workload = unresolved.first().and_then(|p| k8s::workload_of(p));
    let template = match (&workload, state.is_offline()) {
        (Some((kind, wname)), true) => {
            format!(" in {}", state.edit_location(kind, &state.namespace, wname))
        }
        (Some((kind, wname)), false) => format!(" of {kind} {wname}"),
        (None, _) => String::new(),
    };
    // Named ports resolve by name *and* protocol (Kubernetes' findPort): a container that
    // declares the name under another protocol means the Service port says the wrong one.
    let declared: Vec<(&str, i32)> = unresolved
        .iter()
        .flat_map(|p| {
            k8s::declared_ports(p)
                .filter(|(_, cp)| cp.name.as_deref() == Some(name))
                .map(|(_, cp)| (k8s::protocol(cp.protocol.as_ref()), cp.container_port))
                .take(1)
        })
        .collect();
    let other: Vec<&str> = declared.iter().map(|(p, _)| *p).collect();
    let declare = |port: &str| {
        format!(
            "the pod template{template}: ports: [{{name: {name}, containerPort: {port}, protocol: {proto}}}]"
        )
    };
    // Another Service port already sends its traffic to the candidate container port: renaming
    // it breaks that port, and pointing this one at its number sends this port's traffic to
    // that server. Offer only what cannot break it.
    let serves = |n: i32, old: Option<&str>| -> Option<String> {
        ports
            .iter()
            .enumerate()
            .filter(|(i, p)| *i != index && k8s::protocol(p.protocol.as_ref()) == proto)
            .find(|(_, p)| match k8s::target_port(p) {
                IntOrString::Int(t) => t == n,
                IntOrString::String(s) => Some(s.as_str()) == old,
            })
            .map(|(_, p)| k8s::describe_service_port(p))
    };
    let taken = uniform
        .as_ref()
        .and_then(|(n, old)| serves(*n, old.as_deref()).map(|by| (*n, by)));
    let mut fix = Vec::new();
    if let Some((n, by)) = &taken {
        fix.push(format!(
            "container port {n}/{proto} already serves Service port {by}: if the app serves {name} on a port of its own, declare it in {}",
            declare("<port>")
        ));
        fix.push(format!(
            "or, if nothing serves {name}, remove the Service port: {}",
            remove_port(state, index)
        ));
        return fix;
    }
    if other.len() == unresolved.len() && other.iter().all(|p| *p == other[0]) {
        fix.push(format!(
            "the pods declare {name} as {}: set the Service port's protocol to {}: {}",
            other[0],
            other[0],
            set_field(state, index, "protocol", serde_json::json!(other[0]))
        ));
        // The number the pods declare the name with: the app serves it there (over the other
        // protocol); declaring it for this protocol too is the alternative — with that number,
        // never a placeholder. Pods that disagree on the number leave the alternative out.
        if let [(_, n), rest @ ..] = declared.as_slice() {
            if rest.iter().all(|(_, m)| m == n) {
                fix.push(format!(
                    "or, if the app does serve {name} over {proto} too, declare it so in {}",
                    declare(&n.to_string())
                ));
            }
        }
    } else if let Some((n, Some(old))) = &uniform {
        fix.push(format!(
            "rename the container port {old} ({n}/{proto}) to {name} in the pod template{template}"
        ));
    } else if let Some((n, None)) = &uniform {
        fix.push(format!(
            "name the container port in {}",
            declare(&n.to_string())
        ));
    } else {
        fix.push(format!("name the container port in {}", declare("<port>")));
    }
    if let Some(n) = number {
        fix.push(format!(
            "or point the Service at the number: {}",
            set_target_port(state, index, &n.to_string())
        ));
    }
    fix
}

fn pass(line: String) -> Finding {
    Finding {
        status: Status::Pass,
        code: None,
        line,
        evidence: Vec::new(),
        fix: Vec::new(),
    }
}

/// Removes one Service port: a pasteable patch live, the file and field offline.
fn remove_port(state: &ClusterState, index: usize) -> String {
    let (ns, name) = (&state.namespace, &state.service_name);
    if state.is_offline() {
        format!(
            "edit {}: remove spec.ports[{index}]",
            state.edit_location("Service", ns, name)
        )
    } else {
        let patch = serde_json::json!([{"op": "remove", "path": format!("/spec/ports/{index}")}]);
        format!(
            "kubectl patch service {} -n {} --type json -p {}",
            crate::text::shell_quote(name),
            crate::text::shell_quote(ns),
            crate::text::shell_quote(&patch.to_string())
        )
    }
}

/// A targetPort: a number, or a port name.
fn set_target_port(state: &ClusterState, index: usize, value: &str) -> String {
    let v = match value.parse::<i32>() {
        Ok(n) => serde_json::json!(n),
        Err(_) => serde_json::json!(value),
    };
    set_field(state, index, "targetPort", v)
}

/// Sets one field of one Service port: a pasteable patch live, the file and field offline.
fn set_field(state: &ClusterState, index: usize, field: &str, value: serde_json::Value) -> String {
    let (ns, name) = (&state.namespace, &state.service_name);
    if state.is_offline() {
        let shown = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        format!(
            "edit {}: set spec.ports[{index}].{field} to {shown}",
            state.edit_location("Service", ns, name)
        )
    } else {
        let patch = serde_json::json!([{"op": "replace", "path": format!("/spec/ports/{index}/{field}"), "value": value}]);
        format!(
            "kubectl patch service {} -n {} --type json -p {}",
            crate::text::shell_quote(name),
            crate::text::shell_quote(ns),
            crate::text::shell_quote(&patch.to_string())
        )
    }
}

/// Where to edit the Service by hand, when no value can be filled in.
fn edit_service(state: &ClusterState) -> String {
    let (ns, name) = (&state.namespace, &state.service_name);
    if state.is_offline() {
        format!("edit {}", state.edit_location("Service", ns, name))
    } else {
        format!(
            "kubectl edit service {} -n {}",
            crate::text::shell_quote(name),
            crate::text::shell_quote(ns)
        )
    }
}

/// The port the app evidently listens on, the same on every pod: the only port of `proto` its
/// containers declare, else the port its readiness probe checks.
fn known_port(pods: &[&Pod], proto: &str) -> Option<(i32, &'static str)> {
    let only = |pod: &&Pod| -> Option<i32> {
        let mut ports = k8s::declared_ports(pod)
            .filter(|(_, p)| k8s::protocol(p.protocol.as_ref()) == proto)
            .map(|(_, p)| p.container_port);
        let first = ports.next()?;
        ports.next().is_none().then_some(first)
    };
    let probed = |pod: &&Pod| -> Option<i32> {
        let spec = pod.spec.as_ref()?;
        let mut found = spec.containers.iter().filter_map(|c| {
            let probe = c.readiness_probe.as_ref()?;
            let port = probe
                .http_get
                .as_ref()
                .map(|h| &h.port)
                .or_else(|| probe.tcp_socket.as_ref().map(|t| &t.port))?;
            match port {
                IntOrString::Int(n) => Some(*n),
                IntOrString::String(s) => c
                    .ports
                    .iter()
                    .flatten()
                    .find(|p| p.name.as_deref() == Some(s.as_str()))
                    .map(|p| p.container_port),
            }
        });
        let first = found.next()?;
        found.next().is_none().then_some(first)
    };
    let uniform = |f: &dyn Fn(&&Pod) -> Option<i32>| -> Option<i32> {
        let first = f(pods.first()?)?;
        pods.iter().all(|p| f(p) == Some(first)).then_some(first)
    };
    uniform(&only)
        .map(|n| (n, "the only port the pods declare"))
        .or_else(|| uniform(&probed).map(|n| (n, "the port their readiness probe checks")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::state;

    fn svc(ports: &str) -> String {
        format!(
            "kind: Service\nmetadata: {{name: web, namespace: shop}}\nspec:\n  selector: {{app: web}}\n  ports: [{ports}]\n"
        )
    }

    fn pod(name: &str, ports: &str) -> String {
        format!(
            "---\nkind: Pod\nmetadata: {{name: {name}, namespace: shop, labels: {{app: web}}}}\nspec:\n  containers: [{{name: app, ports: [{ports}]}}]\n"
        )
    }

    #[test]
    fn named_port_missing_on_one_of_two_pods_fails_naming_it() {
        let yaml = format!(
            "{}{}{}",
            svc("{port: 80, targetPort: http}"),
            pod("web-1", "{name: http, containerPort: 8080}"),
            pod("web-2", "{name: web, containerPort: 8080}"),
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.summary
                .contains("does not resolve on 1 of 2 pods (pod shop/web-2)"),
            "{}",
            o.summary
        );
        assert!(o.evidence.iter().any(|e| {
            e.message
                .contains("no container port named http (declared: web 8080/TCP)")
        }));
        assert_eq!(
            o.fix[0],
            "rename the container port web (8080/TCP) to http in the pod template"
        );
        assert!(
            o.fix[1].contains(r#""path":"/spec/ports/0/targetPort","value":8080"#),
            "{:?}",
            o.fix
        );
    }

    #[test]
    fn named_port_with_other_protocol_does_not_resolve() {
        let yaml = format!(
            "{}{}",
            svc("{port: 53, targetPort: dns}"),
            pod("dns-1", "{name: dns, containerPort: 53, protocol: UDP}")
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.evidence.iter().any(|e| e.kind == "ProtocolMismatch"
                && e.message.contains("53/UDP, but the Service port is TCP")),
            "{:?}",
            o.evidence
        );
    }

    // statsd: the Service port defaults to TCP, the container serves statsd over UDP. Named ports
    // resolve by name and protocol, so the fix is the Service port's protocol — never a TCP
    // container port that nothing serves.
    #[test]
    fn a_protocol_mismatch_is_fixed_on_the_service_port() {
        let yaml = format!(
            "{}{}",
            svc("{name: statsd, port: 8125, targetPort: statsd}"),
            pod("m-1", "{name: statsd, containerPort: 8125, protocol: UDP}")
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.fix[0],
            r#"the pods declare statsd as UDP: set the Service port's protocol to UDP: kubectl patch service web -n shop --type json -p '[{"op":"replace","path":"/spec/ports/0/protocol","value":"UDP"}]'"#
        );
        assert!(
            !o.fix
                .iter()
                .any(|f| f.contains("protocol: TCP}]") && f.starts_with("name the"))
        );
        // Issue 19: the alternative carries the number the pod declares, never `<port>`.
        assert_eq!(
            o.fix[1],
            "or, if the app does serve statsd over TCP too, declare it so in the pod template: ports: [{name: statsd, containerPort: 8125, protocol: TCP}]"
        );
        assert!(o.fix.iter().all(|f| !f.contains("<port>")), "{:?}", o.fix);
        // The same with a numeric targetPort.
        let yaml = format!(
            "{}{}",
            svc("{port: 8125}"),
            pod("m-1", "{containerPort: 8125, protocol: UDP}")
        );
        let o = run(&state("shop", "web", &yaml));
        assert!(
            o.fix[0].contains(r#""path":"/spec/ports/0/protocol","value":"UDP""#),
            "{:?}",
            o.fix
        );
    }

    // The port the app listens on is filled in when the pods say it; otherwise no JSON patch with
    // a placeholder where a number belongs.
    #[test]
    fn known_ports_are_filled_in_and_placeholders_never_reach_json() {
        let probed = "---\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {app: web}}\nspec:\n  containers: [{name: app, ports: [{containerPort: 9090}, {name: admin, containerPort: 9901}], readinessProbe: {httpGet: {path: /healthz, port: 9090}}}]\n";
        let o = run(&state(
            "shop",
            "web",
            &format!("{}{probed}", svc("{port: 80, targetPort: 8080}")),
        ));
        assert_eq!(o.status, Status::Warn);
        assert!(
            o.fix[0].starts_with(
                "if the app listens on 9090 (the port their readiness probe checks): kubectl patch"
            ) && o.fix[0].contains(r#""value":9090}"#),
            "{:?}",
            o.fix
        );
        let unknown = format!(
            "{}{}",
            svc("{port: 80, targetPort: 8080}"),
            pod("web-1", "{containerPort: 9090}, {containerPort: 9091}")
        );
        let o = run(&state("shop", "web", &unknown));
        assert!(o.fix.iter().all(|f| !f.contains('<')), "{:?}", o.fix);
        assert!(
            o.fix[0].ends_with("kubectl edit service web -n shop"),
            "{:?}",
            o.fix
        );
    }

    #[test]
    fn numeric_target_port_not_declared_is_only_a_warning() {
        let yaml = format!(
            "{}{}",
            svc("{port: 80, targetPort: 8080}"),
            pod("web-1", "{name: http, containerPort: 9090}")
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Warn, "{}", o.summary);
        let yaml = format!(
            "{}{}",
            svc("{port: 80, targetPort: 9090}"),
            pod("web-1", "{name: http, containerPort: 9090}")
        );
        assert_eq!(run(&state("shop", "web", &yaml)).status, Status::Pass);
        // Omitted targetPort means the port itself.
        let yaml = format!(
            "{}{}",
            svc("{port: 9090}"),
            pod("web-1", "{containerPort: 9090}")
        );
        assert_eq!(run(&state("shop", "web", &yaml)).status, Status::Pass);
    }

    #[test]
    fn named_port_resolving_to_different_numbers_passes_with_a_note() {
        let yaml = format!(
            "{}{}{}",
            svc("{port: 80, targetPort: http}"),
            pod("web-1", "{name: http, containerPort: 8080}"),
            pod("web-2", "{name: http, containerPort: 8081}"),
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Pass);
        assert!(o.evidence.iter().any(|e| e.kind == "PortVaries"));
    }

    /// Each port finding carries its code (src/codes.rs): the numeric port declared under
    /// another protocol (ND3003) and a port name two containers declare (ND3004).
    #[test]
    fn findings_carry_their_codes() {
        let yaml = format!(
            "{}{}",
            svc("{port: 514, targetPort: 514, protocol: UDP}"),
            pod("web-1", "{containerPort: 514, protocol: TCP}"),
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(
            (o.status, o.code),
            (Status::Warn, Some("ND3003")),
            "{}",
            o.summary
        );
        let twice = "---\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {app: web}}\nspec:\n  containers:\n  - {name: app, ports: [{name: http, containerPort: 8080}]}\n  - {name: proxy, ports: [{name: http, containerPort: 15001}]}\n";
        let yaml = format!("{}{twice}", svc("{port: 80, targetPort: http}"));
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(
            (o.status, o.code),
            (Status::Warn, Some("ND3004")),
            "{}",
            o.summary
        );
    }
}
