//! `service.exists`: the Service is there; else the names the user probably meant.

use k8s_openapi::api::core::v1::Service;

use super::unavailable;
use crate::k8s;
use crate::report::{Evidence, Outcome};
use crate::state::{ClusterState, Fact, ObjectRef};
use crate::text::shell_quote as q;

pub(super) fn run(state: &ClusterState) -> Outcome {
    let (ns, name) = (&state.namespace, &state.service_name);
    match state.service.as_result() {
        Err(u) => unavailable(u),
        Ok(Some(svc)) => {
            let summary = format!("Service {ns}/{name} exists: {}", describe(svc));
            let spec = svc.spec.clone().unwrap_or_default();
            let lb_address = svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|l| l.ingress.as_ref())
                .is_some_and(|i| !i.is_empty());
            let me = ObjectRef::new("Service", ns, name);
            if let Some(dup) = state.duplicates.iter().find(|d| d.object == me) {
                return Outcome::warn(format!("{summary}; {}", dup.describe()))
                    .code("ND1002")
                    .evidence([Evidence::new("Duplicate", dup.describe())
                        .on(me)
                        .field(
                            "first",
                            format!("{} (document {})", dup.first.file, dup.first.document),
                        )
                        .field(
                            "last",
                            format!("{} (document {})", dup.last.file, dup.last.document),
                        )])
                    .fix([format!(
                        "delete one of the two documents: {} (document {}) or {} (document {})",
                        dup.first.file, dup.first.document, dup.last.file, dup.last.document
                    )]);
            }
            if spec.type_.as_deref() == Some("LoadBalancer") && !state.is_offline() && !lb_address {
                return Outcome::warn(format!("{summary}; type LoadBalancer but no external address yet: pending (no load-balancer controller?)"))
                    .code("ND1003")
                    .fix([format!("kubectl describe service {} -n {}   # events of the load-balancer controller", q(name), q(ns))]);
            }
            Outcome::pass(summary)
        }
        Ok(None) => missing(state),
    }
}

fn describe(svc: &Service) -> String {
    let spec = svc.spec.clone().unwrap_or_default();
    let kind = spec.type_.as_deref().unwrap_or("ClusterIP");
    if kind == "ExternalName" {
        return format!(
            "ExternalName → {}",
            spec.external_name.as_deref().unwrap_or("(empty)")
        );
    }
    let ip = match spec.cluster_ip.as_deref() {
        Some("None") => "headless".to_string(),
        Some(ip) => format!("clusterIP {ip}"),
        None => "clusterIP assigned on creation".to_string(),
    };
    let ports: Vec<String> = spec
        .ports
        .iter()
        .flatten()
        .map(k8s::describe_service_port)
        .collect();
    let ports = if ports.is_empty() {
        "no ports".to_string()
    } else {
        ports.join(", ")
    };
    format!("{kind}, {ip}, {ports}")
}

fn missing(state: &ClusterState) -> Outcome {
    let (ns, name) = (&state.namespace, &state.service_name);
    let offline = state.is_offline();
    let place = if offline { "in the manifests" } else { "" };
    let mut summary = format!("Service {ns}/{name} not found {place}")
        .trim_end()
        .to_string();
    let (near, mut evidence, near_said) = similar_names(state);
    let (elsewhere, more, elsewhere_said) = same_name_elsewhere(state);
    evidence.extend(more);
    summary.extend(near_said);
    summary.extend(elsewhere_said);
    let labelled: Vec<&String> = state
        .dns_target
        .iter()
        .flatten()
        .filter(|s| **s != format!("{ns}/{name}"))
        .collect();
    if !labelled.is_empty() {
        let named: Vec<String> = labelled.iter().map(|s| s.to_string()).collect();
        summary.push_str(&format!(
            "; the cluster DNS label k8s-app=kube-dns is on {}",
            crate::text::some_of(&named, ", ")
        ));
        for s in &labelled {
            let (other_ns, other) = s.split_once('/').unwrap_or(("", s));
            evidence.push(
                Evidence::new(
                    "ClusterDnsService",
                    format!("Service {s} carries the cluster DNS label k8s-app=kube-dns"),
                )
                .on(ObjectRef::new("Service", other_ns, other)),
            );
        }
    }
    let retry = |ns: &str, n: &str| {
        if state.dns_target.is_some() {
            format!(
                "kubectl netdoctor dns --service {}",
                q(&format!("{ns}/{n}"))
            )
        } else if offline {
            format!(
                "kubectl netdoctor svc {} -n {} -f <same manifests>",
                q(n),
                q(ns)
            )
        } else {
            format!("kubectl netdoctor svc {} -n {}", q(n), q(ns))
        }
    };
    let mut fix: Vec<String> = labelled
        .iter()
        .map(|s| {
            let (other_ns, other) = s.split_once('/').unwrap_or(("", s));
            retry(other_ns, other)
        })
        .collect();
    fix.extend(near.iter().map(|n| retry(ns, n)));
    fix.extend(elsewhere.iter().map(|other| retry(other, name)));
    let mut seen = std::collections::BTreeSet::new();
    fix.retain(|f| seen.insert(f.clone()));
    if fix.is_empty() {
        fix.push(if offline {
            format!("check metadata.name and metadata.namespace of the Service in the manifests (namespace {ns} is assumed where a manifest sets none; -n changes it)")
        } else {
            format!("kubectl get services -n {}", q(ns))
        });
    }
    Outcome::fail(summary)
        .code("ND1001")
        .evidence(evidence)
        .fix(fix)
}

/// Services of the namespace with a similar name: their names, the evidence, what the summary
/// adds.
fn similar_names(state: &ClusterState) -> (Vec<String>, Vec<Evidence>, Option<String>) {
    let (ns, name) = (&state.namespace, &state.service_name);
    let names = match &state.namespace_services {
        Fact::Known(names) => names,
        Fact::Unavailable(u) => {
            let e = Evidence::new(
                "NearName",
                format!("could not look for similar names: {}", u.reason()),
            );
            return (Vec::new(), vec![e], None);
        }
    };
    let near = crate::text::near_names(name, names);
    let said = (!near.is_empty()).then(|| format!("; did you mean {}?", near.join(" or ")));
    let mut evidence: Vec<Evidence> = near
        .iter()
        .map(|n| {
            Evidence::new("NearName", format!("Service {ns}/{n} has a similar name"))
                .on(ObjectRef::new("Service", ns, n))
        })
        .collect();
    if names.is_empty() {
        evidence.push(Evidence::new(
            "NearName",
            format!("namespace {ns} has no Services at all"),
        ));
    }
    (near, evidence, said)
}

/// Namespaces with a Service of this name: them, the evidence, what the summary adds.
fn same_name_elsewhere(state: &ClusterState) -> (Vec<String>, Vec<Evidence>, Option<String>) {
    let name = &state.service_name;
    let namespaces = match &state.same_name_elsewhere {
        Fact::Known(namespaces) => namespaces.clone(),
        Fact::Unavailable(u) => {
            let e = Evidence::new(
                "SameNameElsewhere",
                format!("could not look in other namespaces: {}", u.reason()),
            );
            return (Vec::new(), vec![e], None);
        }
    };
    let said = (!namespaces.is_empty()).then(|| {
        format!(
            "; a Service {name} exists in namespace {}",
            namespaces.join(", ")
        )
    });
    let evidence = namespaces
        .iter()
        .map(|other| {
            Evidence::new(
                "SameNameElsewhere",
                format!("Service {other}/{name} exists"),
            )
            .on(ObjectRef::new("Service", other, name))
        })
        .collect();
    (namespaces, evidence, said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::state;
    use crate::report::Status;

    #[test]
    fn missing_service_fails_with_suggestions_and_other_namespaces() {
        let mut s = state("shop", "cartt", "");
        s.namespace_services = Fact::Known(vec!["cart".into(), "payments".into()]);
        s.same_name_elsewhere = Fact::Known(vec!["staging".into()]);
        let o = run(&s);
        assert_eq!(o.status, Status::Fail);
        assert!(o.summary.contains("did you mean cart?"), "{}", o.summary);
        assert!(o.summary.contains("namespace staging"), "{}", o.summary);
        assert!(
            o.fix
                .iter()
                .any(|f| f == "kubectl netdoctor svc cart -n shop")
        );
        assert!(
            o.fix
                .iter()
                .any(|f| f == "kubectl netdoctor svc cartt -n staging")
        );
    }

    #[test]
    fn present_service_passes_and_describes_itself() {
        let s = state(
            "shop",
            "cart",
            "kind: Service\nmetadata: {name: cart, namespace: shop}\nspec:\n  clusterIP: 10.96.0.10\n  selector: {app: cart}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n",
        );
        let o = run(&s);
        assert_eq!(o.status, Status::Pass);
        assert!(
            o.summary
                .contains("ClusterIP, clusterIP 10.96.0.10, http 80/TCP → 8080"),
            "{}",
            o.summary
        );
    }

    #[test]
    fn a_load_balancer_without_an_address_is_pending() {
        let yaml = "kind: Service\nmetadata: {name: web, namespace: shop}\nspec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}\n";
        let o = run(&state("shop", "web", yaml));
        assert_eq!(o.status, Status::Warn);
        assert!(
            o.summary.contains("pending (no load-balancer controller?)"),
            "{}",
            o.summary
        );
        let with_ip =
            format!("{yaml}status: {{loadBalancer: {{ingress: [{{ip: 203.0.113.7}}]}}}}\n");
        assert_eq!(run(&state("shop", "web", &with_ip)).status, Status::Pass);
    }

    /// Each finding carries its code (src/codes.rs; the runbook's section of that name).
    #[test]
    fn findings_carry_their_codes() {
        assert_eq!(run(&state("shop", "nope", "")).code, Some("ND1001"));
        let yaml = "kind: Service\nmetadata: {name: web, namespace: shop}\nspec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}\n";
        assert_eq!(run(&state("shop", "web", yaml)).code, Some("ND1003"));
        let mut s = state(
            "shop",
            "web",
            "kind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
        );
        let at = |file: &str, document| crate::state::Origin {
            file: file.to_string(),
            document,
            line: 1,
        };
        s.duplicates = std::sync::Arc::new(vec![crate::state::Duplicate {
            object: ObjectRef::new("Service", "shop", "web"),
            first: at("a.yaml", 1),
            last: at("b.yaml", 2),
        }]);
        let o = run(&s);
        assert_eq!((o.status, o.code), (Status::Warn, Some("ND1002")));
        // A pass has no code, even where a code was set on the way.
        let ok = state(
            "shop",
            "web",
            "kind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
        );
        assert_eq!(run(&ok).into_result("service.exists", "").code, None);
    }
}
