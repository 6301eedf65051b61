//! `ingress.routes`: every Ingress that routes to the Service can work — its class resolves to a
//! running controller, the backend port exists on the Service, its TLS secrets are valid for its
//! hosts, and an address is assigned.
//!
//! Class resolution (DESIGN §3): `spec.ingressClassName` → that IngressClass; else the legacy
//! `kubernetes.io/ingress.class` annotation, a free string controllers match against their flags;
//! else nothing. Admission writes the default class into new Ingresses only, so a live Ingress
//! without a class predates any default; offline, the default the cluster would apply is applied.

use std::time::{SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, IngressServiceBackend};

use super::unavailable;
use crate::ingress::{self, Controller};
use crate::k8s;
use crate::report::{Evidence, Outcome, SkipKind, Status};
use crate::state::{ClusterState, Fact, ObjectRef};
use crate::text::shell_quote as q;
use crate::tls;

const DEFAULT_CLASS: &str = "ingressclass.kubernetes.io/is-default-class";
const LEGACY_CLASS: &str = "kubernetes.io/ingress.class";

/// One problem or note about one Ingress (a `Pass` finding is a note: what was judged and how).
/// `gateway.routes` says its findings the same way.
pub(super) struct Finding {
    pub(super) status: Status,
    pub(super) code: Option<&'static str>,
    pub(super) message: String,
    pub(super) fix: Option<String>,
}

/// The codes a certificate's problems carry, per check.
pub(super) struct CertCodes {
    pub(super) wrong_type: &'static str,
    pub(super) keys: &'static str,
    pub(super) unreadable: &'static str,
    pub(super) validity: &'static str,
    pub(super) hosts: &'static str,
}

const INGRESS_CERT: CertCodes = CertCodes {
    wrong_type: "ND6015",
    keys: "ND6016",
    unreadable: "ND6017",
    validity: "ND6018",
    hosts: "ND6019",
};

impl Finding {
    pub(super) fn fail(
        code: &'static str,
        message: String,
        fix: impl Into<Option<String>>,
    ) -> Self {
        Finding {
            status: Status::Fail,
            code: Some(code),
            message,
            fix: fix.into(),
        }
    }
    pub(super) fn warn(
        code: &'static str,
        message: String,
        fix: impl Into<Option<String>>,
    ) -> Self {
        Finding {
            status: Status::Warn,
            code: Some(code),
            message,
            fix: fix.into(),
        }
    }
    pub(super) fn note(message: String) -> Self {
        Finding {
            status: Status::Pass,
            code: None,
            message,
            fix: None,
        }
    }
    pub(super) fn skip(message: String) -> Self {
        Finding {
            status: Status::Skip,
            code: None,
            message,
            fix: None,
        }
    }
}

pub(super) fn run(state: &ClusterState) -> Outcome {
    let Some(svc) = state.service() else {
        return Outcome::skip(SkipKind::Dependency, "the Service was not read");
    };
    if let Err(u) = state.ingresses.as_result() {
        return unavailable(u);
    }
    let routing = state.routing_ingresses();
    if routing.is_empty() {
        return Outcome::pass(format!(
            "no Ingress in {} routes to this Service",
            state.namespace
        ));
    }
    let mut findings: Vec<(String, Finding)> = Vec::new();
    let mut ok_lines = Vec::new();
    for ing in &routing {
        let name = k8s::name_of(&ing.metadata).to_string();
        let before = findings.len();
        let mut notes = Vec::new();
        for f in check_ingress(state, svc, ing, &routing) {
            if f.status == Status::Pass {
                notes.push(f.message);
            } else {
                findings.push((name.clone(), f));
            }
        }
        if findings.len() == before {
            let addr = address(ing).unwrap_or_default();
            ok_lines.push(if notes.is_empty() {
                format!("Ingress {name} routes here via a running controller{addr}")
            } else {
                format!("Ingress {name}: {}", notes.join("; "))
            });
        }
    }
    let worst = |s: Status| findings.iter().any(|(_, f)| f.status == s);
    let evidence =
        findings.iter().map(|(ing, f)| {
            Evidence::new("IngressFinding", format!("Ingress {ing}: {}", f.message))
                .on(ObjectRef::new("Ingress", &state.namespace, ing))
        });
    let fix: Vec<String> = findings.iter().filter_map(|(_, f)| f.fix.clone()).collect();
    let pick = |s: Status| {
        findings
            .iter()
            .filter(|(_, f)| f.status == s)
            .map(|(i, f)| format!("Ingress {i}: {}", f.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let code_of = |s: Status| {
        findings
            .iter()
            .find(|(_, f)| f.status == s)
            .and_then(|(_, f)| f.code)
    };
    let outcome = if worst(Status::Fail) {
        let mut o = Outcome::fail(pick(Status::Fail));
        o.code = code_of(Status::Fail);
        o
    } else if worst(Status::Skip) {
        // Part of the answer could not be read (a forbidden secret): say which, decide nothing.
        let reason = findings
            .iter()
            .find(|(_, f)| f.status == Status::Skip)
            .map(|(_, f)| f.message.clone())
            .unwrap_or_default();
        Outcome::skip(SkipKind::Unavailable, reason)
    } else if worst(Status::Warn) {
        let mut o = Outcome::warn(pick(Status::Warn));
        o.code = code_of(Status::Warn);
        o
    } else {
        Outcome::pass(ok_lines.join("; "))
    };
    outcome.evidence(evidence).fix(fix)
}

fn address(ing: &Ingress) -> Option<String> {
    let lb = ing.status.as_ref()?.load_balancer.as_ref()?;
    let first = lb.ingress.as_ref()?.first()?;
    let a = first.ip.clone().or_else(|| first.hostname.clone())?;
    Some(format!(" at {a}"))
}

/// How an Ingress's class resolves.
enum Class<'a> {
    Named(&'a IngressClass),
    Missing(String),
    Annotation(String),
    /// Offline, no class: the default the cluster would apply (and how many defaults there are).
    Default(&'a IngressClass, usize),
    None,
}

fn resolve<'a>(state: &'a ClusterState, ing: &Ingress) -> Result<Class<'a>, String> {
    let classes = match state.ingress_classes.as_result() {
        Ok(c) => c,
        Err(u) => return Err(u.reason()),
    };
    if let Some(name) = ing.spec.as_ref().and_then(|s| s.ingress_class_name.clone()) {
        return Ok(
            match classes
                .iter()
                .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
            {
                Some(c) => Class::Named(c),
                None => Class::Missing(name),
            },
        );
    }
    if let Some(a) = ing
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(LEGACY_CLASS))
    {
        return Ok(Class::Annotation(a.clone()));
    }
    if state.is_offline() {
        let mut defaults: Vec<&IngressClass> = classes
            .iter()
            .filter(|c| {
                c.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(DEFAULT_CLASS))
                    .is_some_and(|v| v == "true")
            })
            .collect();
        // Several defaults: admission picks the newest.
        defaults.sort_by_key(|c| c.metadata.creation_timestamp.as_ref().map(|t| t.0));
        if let Some(newest) = defaults.last() {
            return Ok(Class::Default(newest, defaults.len()));
        }
    }
    Ok(Class::None)
}

fn check_ingress(
    state: &ClusterState,
    svc: &Service,
    ing: &Ingress,
    all: &[&Ingress],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let controllers = class_controllers(state, ing, &mut out);
    if !controllers.is_empty() {
        out.extend(controller_running(state, &controllers));
    }
    out.extend(backend_ports(state, svc, ing));
    out.extend(tls_findings(state, ing));
    if !state.is_offline() && address(ing).is_none() {
        out.push(Finding::warn("ND6001", 
            "no address assigned (status.loadBalancer is empty): the controller has not published it yet, or its load balancer is pending".to_string(),
            Some(format!(
                "kubectl describe ingress {} -n {}",
                q(k8s::name_of(&ing.metadata)),
                q(&state.namespace)
            )),
        ));
    }
    out.extend(claimed_twice(ing, all));
    out
}

/// The same host and path claimed by another Ingress: which one wins is controller-specific.
fn claimed_twice(ing: &Ingress, all: &[&Ingress]) -> Vec<Finding> {
    let mut out = Vec::new();
    for other in all.iter().filter(|o| o.metadata.name != ing.metadata.name) {
        for (host, path) in host_paths(ing) {
            if host_paths(other).contains(&(host.clone(), path.clone())) {
                out.push(Finding::warn(
                    "ND6002",
                    format!(
                        "host {} path {path} is also claimed by Ingress {}",
                        if host.is_empty() { "*" } else { &host },
                        k8s::name_of(&other.metadata)
                    ),
                    None,
                ));
            }
        }
    }
    out
}

/// How to give the Ingress the class `what`.
fn set_class(state: &ClusterState, iname: &str, what: &str) -> String {
    let ns = &state.namespace;
    if state.is_offline() {
        format!(
            "set spec.ingressClassName to {what} in {}",
            state.edit_location("Ingress", ns, iname)
        )
    } else {
        format!(
            "kubectl patch ingress {} -n {} --type merge -p {}",
            q(iname),
            q(ns),
            q(&serde_json::json!({"spec": {"ingressClassName": what}}).to_string())
        )
    }
}

/// The controllers the Ingress's class (or annotation, or the default) names; what is wrong with
/// the class goes to `out`.
fn class_controllers(
    state: &ClusterState,
    ing: &Ingress,
    out: &mut Vec<Finding>,
) -> Vec<&'static Controller> {
    let iname = k8s::name_of(&ing.metadata);
    let class_names: Vec<String> = state
        .ingress_classes
        .known()
        .into_iter()
        .flatten()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    let set_class = |what: &str| set_class(state, iname, what);
    let first_class = || set_class(class_names.first().map_or("<class>", String::as_str));
    match resolve(state, ing) {
        Err(reason) => {
            out.push(Finding::skip(reason));
            Vec::new()
        }
        Ok(Class::Missing(name)) => {
            let known = if class_names.is_empty() {
                "none exists".to_string()
            } else {
                format!("existing: {}", class_names.join(", "))
            };
            out.push(Finding::fail("ND6003", 
                format!("IngressClass {name} does not exist ({known}): no controller serves this Ingress"),
                first_class(),
            ));
            Vec::new()
        }
        Ok(Class::Named(c)) => controllers_of(c, out),
        Ok(Class::Default(c, n)) => {
            let name = c.metadata.name.clone().unwrap_or_default();
            if n > 1 {
                out.push(Finding::warn("ND6004", format!("{n} IngressClasses are marked default; admission will pick the newest, {name}"), set_class(&name)));
            }
            controllers_of(c, out)
        }
        Ok(Class::Annotation(value)) => {
            let found = ingress::by_annotation(&value);
            if found.is_empty() {
                out.push(Finding::warn("ND6005", 
                    format!("legacy annotation {LEGACY_CLASS}: {value} names no known controller (controllers match it against their own flags)"),
                    first_class(),
                ));
            }
            found
        }
        // GKE's ingress-gce serves class-less Ingresses; it runs outside the cluster.
        Ok(Class::None) if state.gke => ingress::by_annotation("gce"),
        Ok(Class::None) => {
            let why = if state.is_offline() {
                "no IngressClass is marked default, so the cluster will leave it class-less"
            } else {
                "it was created before any default IngressClass existed"
            };
            out.push(Finding::warn("ND6006", 
                format!("no class: {why}; no controller may watch it (GKE's ingress-gce does handle class-less Ingresses)"),
                first_class(),
            ));
            Vec::new()
        }
    }
}

/// The controllers that serve an Ingress, by its class or legacy annotation (quietly: findings
/// about them are this check's business).
fn serving(state: &ClusterState, ing: &Ingress) -> Vec<&'static Controller> {
    let mut ignored = Vec::new();
    match resolve(state, ing) {
        Ok(Class::Named(c)) | Ok(Class::Default(c, _)) => controllers_of(c, &mut ignored),
        Ok(Class::Annotation(v)) => ingress::by_annotation(&v),
        _ => Vec::new(),
    }
}

/// The ready pods of the controllers in front of the Service, with the controller's name: the
/// policy check judges their path to the backends too.
pub(crate) fn controller_pods(
    state: &ClusterState,
) -> Vec<(&'static str, &k8s_openapi::api::core::v1::Pod)> {
    let Fact::Known(pods) = &state.controller_pods else {
        return Vec::new();
    };
    let mut out: Vec<(&'static str, &k8s_openapi::api::core::v1::Pod)> = Vec::new();
    for ing in state.routing_ingresses() {
        for c in serving(state, ing) {
            for p in pods.iter().filter(|p| {
                ingress::pod_is(c, &k8s::labels_of(p)) && k8s::pod_ready(p) == Some(true)
            }) {
                if !out.iter().any(|(_, q)| {
                    q.metadata.uid == p.metadata.uid && q.metadata.name == p.metadata.name
                }) {
                    out.push((c.name, p));
                }
            }
        }
    }
    out
}

fn controllers_of(c: &IngressClass, out: &mut Vec<Finding>) -> Vec<&'static Controller> {
    let value = c
        .spec
        .as_ref()
        .and_then(|s| s.controller.clone())
        .unwrap_or_default();
    let found = ingress::by_class_controller(&value);
    if found.is_empty() {
        out.push(Finding::warn("ND6007", 
            format!("IngressClass {} names controller {value}, which this tool does not know: its pods were not looked for", c.metadata.name.clone().unwrap_or_default()),
            None,
        ));
    }
    found
}

/// Offline nothing shows a running controller: say what was judged, and name the controller's
/// workload when the manifests deploy it.
fn controller_offline(state: &ClusterState, controllers: &[&'static Controller]) -> Finding {
    let names: Vec<&str> = controllers.iter().map(|c| c.name).collect();
    let judged = "class, backend port and TLS judged from the manifests";
    let in_manifests: Vec<String> = state
        .controller_pods
        .known()
        .into_iter()
        .flatten()
        .filter(|p| {
            controllers
                .iter()
                .any(|c| ingress::pod_is(c, &k8s::labels_of(p)))
        })
        .map(|p| k8s::describe_pod(p).replace(" (pod template)", ""))
        .collect();
    if controllers.iter().any(|c| c.outside) {
        return Finding::note(format!(
            "{judged}; {} runs outside the cluster",
            names.join(", ")
        ));
    }
    if in_manifests.is_empty() {
        Finding::note(format!(
            "{judged}; its controller ({}) is verified live only",
            names.join(" or ")
        ))
    } else {
        Finding::note(format!(
            "{judged}; its controller {}: {} in the manifests, not known to run",
            names.join(" or "),
            in_manifests.join(", ")
        ))
    }
}

fn controller_running(state: &ClusterState, controllers: &[&'static Controller]) -> Vec<Finding> {
    if state.is_offline() {
        return vec![controller_offline(state, controllers)];
    }
    if controllers.iter().any(|c| c.outside) {
        let names: Vec<&str> = controllers.iter().map(|c| c.name).collect();
        return vec![Finding::warn(
            "ND6008",
            format!(
                "{} runs outside the cluster: it cannot be verified from inside",
                names.join(", ")
            ),
            None,
        )];
    }
    let pods = match &state.controller_pods {
        Fact::Known(p) => p,
        Fact::Unavailable(u) if !u.is_incomplete() => return Vec::new(),
        Fact::Unavailable(u) => return vec![Finding::skip(u.reason())],
    };
    let mine: Vec<_> = pods
        .iter()
        .filter(|p| {
            controllers
                .iter()
                .any(|c| ingress::pod_is(c, &k8s::labels_of(p)))
        })
        .collect();
    let ready = mine
        .iter()
        .filter(|p| k8s::pod_ready(p) == Some(true))
        .count();
    let names: Vec<&str> = controllers.iter().map(|c| c.name).collect();
    let searched: Vec<&str> = controllers
        .iter()
        .flat_map(|c| c.pod_selectors.iter().copied())
        .collect();
    if mine.is_empty() {
        vec![Finding::fail(
            "ND6009",
            format!(
                "no {} pods run in the cluster (searched every namespace for {})",
                names.join(" or "),
                searched.join(", ")
            ),
            Some(format!(
                "install or start the controller, then check: kubectl get pods -A -l {}",
                q(searched[0])
            )),
        )]
    } else if ready == 0 {
        let where_: Vec<String> = mine
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.metadata.namespace.clone().unwrap_or_default(),
                    k8s::name_of(&p.metadata)
                )
            })
            .collect();
        vec![Finding::fail(
            "ND6010",
            format!(
                "{} pods exist but none is ready ({})",
                names.join(" or "),
                where_.join(", ")
            ),
            Some(format!(
                "kubectl describe pod {} -n {}",
                q(k8s::name_of(&mine[0].metadata)),
                q(mine[0].metadata.namespace.as_deref().unwrap_or_default())
            )),
        )]
    } else {
        Vec::new()
    }
}

fn backends<'a>(ing: &'a Ingress, service: &str) -> Vec<&'a IngressServiceBackend> {
    let spec = ing.spec.as_ref();
    let default = spec
        .and_then(|s| s.default_backend.as_ref())
        .and_then(|b| b.service.as_ref());
    let rules = spec
        .into_iter()
        .flat_map(|s| s.rules.iter().flatten())
        .flat_map(|r| r.http.iter().flat_map(|h| h.paths.iter()))
        .filter_map(|p| p.backend.service.as_ref());
    default
        .into_iter()
        .chain(rules)
        .filter(|b| b.name == service)
        .collect()
}

fn backend_ports(state: &ClusterState, svc: &Service, ing: &Ingress) -> Vec<Finding> {
    let ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let listed: Vec<String> = ports.iter().map(k8s::describe_service_port).collect();
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for b in backends(ing, &state.service_name) {
        let Some(p) = &b.port else { continue };
        let (ok, what) = match (&p.name, p.number) {
            (Some(name), _) => (
                ports
                    .iter()
                    .any(|sp| sp.name.as_deref() == Some(name.as_str())),
                format!("port name {name}"),
            ),
            (None, Some(n)) => (ports.iter().any(|sp| sp.port == n), format!("port {n}")),
            (None, None) => continue,
        };
        if ok {
            let sp = ports.iter().find(|sp| match (&p.name, p.number) {
                (Some(name), _) => sp.name.as_deref() == Some(name.as_str()),
                (None, Some(n)) => sp.port == n,
                _ => false,
            });
            if let Some(f) = sp.and_then(|sp| backend_protocol(ing, sp)) {
                if !seen.contains(&f.message) {
                    seen.push(f.message.clone());
                    out.push(f);
                }
            }
        }
        if !ok && !seen.contains(&what) {
            seen.push(what.clone());
            out.push(Finding::fail(
                "ND6011",
                format!(
                    "backend {what} is not a port of Service {} (its ports: {})",
                    state.service_name,
                    listed.join(", ")
                ),
                Some(format!(
                    "point the backend at one of: {}",
                    listed.join(", ")
                )),
            ));
        }
    }
    out
}

/// A backend that expects TLS while the controller will speak plain HTTP to it, or the reverse:
/// `appProtocol` (or a port named https) against the controllers' backend-protocol annotations.
fn backend_protocol(
    ing: &Ingress,
    sp: &k8s_openapi::api::core::v1::ServicePort,
) -> Option<Finding> {
    const ANNOTATIONS: [&str; 3] = [
        "nginx.ingress.kubernetes.io/backend-protocol",
        "nginx.org/ssl-services",
        "traefik.ingress.kubernetes.io/service.serversscheme",
    ];
    let app = sp.app_protocol.as_deref().map(str::to_lowercase);
    let name = sp.name.as_deref().unwrap_or("").to_lowercase();
    let wants_tls = matches!(app.as_deref(), Some("https" | "kubernetes.io/wss"))
        || name == "https"
        || name.starts_with("https-");
    let said = ing
        .metadata
        .annotations
        .iter()
        .flatten()
        .find(|(k, _)| ANNOTATIONS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.to_lowercase()));
    let tls_said = said
        .as_ref()
        .is_some_and(|(k, v)| k == "nginx.org/ssl-services" || v == "https" || v == "grpcs");
    let port = k8s::describe_service_port(sp);
    match (wants_tls, tls_said) {
        (true, false) => Some(Finding::warn("ND6012", 
            format!("Service port {port} expects HTTPS (appProtocol/name) but no backend-protocol annotation says so: most controllers will speak plain HTTP to it"),
            Some("annotate the Ingress for your controller, e.g. nginx.ingress.kubernetes.io/backend-protocol: HTTPS".to_string()),
        )),
        (false, true) if app.as_deref().is_some_and(|a| a == "http" || a == "h2c") => Some(Finding::warn("ND6012", 
            format!("the Ingress asks its controller for HTTPS to the backend, but Service port {port} declares appProtocol {}", app.unwrap_or_default()),
            None,
        )),
        _ => None,
    }
}

fn host_paths(ing: &Ingress) -> Vec<(String, String)> {
    ing.spec
        .iter()
        .flat_map(|s| s.rules.iter().flatten())
        .flat_map(|r| {
            let host = r.host.clone().unwrap_or_default();
            r.http
                .iter()
                .flat_map(|h| h.paths.iter())
                .map(move |p| (host.clone(), p.path.clone().unwrap_or_else(|| "/".into())))
        })
        .collect()
}

fn secret_bytes(s: &Secret, key: &str) -> Option<Vec<u8>> {
    s.data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .or_else(|| {
            s.string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|v| v.as_bytes().to_vec())
        })
}

/// A missing TLS secret that cert-manager is asked to create: offline it is created on deploy (a
/// warning); live, its Certificate says why it is not there yet.
fn cert_manager_pending(state: &ClusterState, ing: &Ingress, name: &str) -> Finding {
    let ns = &state.namespace;
    let issuer = ingress::cert_manager_issuer(ing).unwrap_or_default();
    if state.is_offline() {
        return Finding::warn(
            "ND6013",
            format!(
                "TLS secret {name} is not in the manifests: cert-manager creates it on deploy ({issuer})"
            ),
            None,
        );
    }
    let missing = format!(
        "TLS secret {name} does not exist in {ns} (cert-manager, {issuer}, is to create it)"
    );
    let describe = Some(format!(
        "kubectl describe certificate {} -n {}",
        q(name),
        q(ns)
    ));
    let fact = state
        .certificates
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, f)| f);
    match fact {
        Some(Fact::Known(Some(c))) if c.ready == Some(true) => Finding::fail(
            "ND6014",
            format!(
                "{missing}, yet Certificate {name} says Ready: the secret was deleted after issuance"
            ),
            describe,
        ),
        Some(Fact::Known(Some(c))) if c.ready.is_none() => Finding::fail(
            "ND6014",
            format!(
                "{missing}: Certificate {name} has no Ready condition yet (issuance in progress)"
            ),
            describe,
        ),
        Some(Fact::Known(Some(c))) => Finding::fail(
            "ND6014",
            format!("{missing}: Certificate {name} is not Ready ({})", c.detail),
            describe,
        ),
        Some(Fact::Known(None)) => Finding::fail(
            "ND6014",
            format!(
                "{missing}, and there is no Certificate {name}: is cert-manager installed and running?"
            ),
            Some("kubectl get pods -A -l app.kubernetes.io/instance=cert-manager".to_string()),
        ),
        Some(Fact::Unavailable(u)) => Finding::fail(
            "ND6014",
            format!(
                "{missing}; its Certificate could not be read: {}",
                u.reason()
            ),
            describe,
        ),
        None => Finding::fail("ND6014", missing, describe),
    }
}

fn tls_findings(state: &ClusterState, ing: &Ingress) -> Vec<Finding> {
    let mut out = Vec::new();
    let ns = &state.namespace;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for t in ing.spec.iter().flat_map(|s| s.tls.iter().flatten()) {
        let Some(name) = &t.secret_name else { continue };
        let hosts = t.hosts.clone().unwrap_or_default();
        let fact = state
            .tls_secrets
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f);
        let secret = match fact {
            None | Some(Fact::Known(None)) if ingress::cert_manager_issuer(ing).is_some() => {
                out.push(cert_manager_pending(state, ing, name));
                continue;
            }
            None | Some(Fact::Known(None)) => {
                out.push(Finding::fail("ND6014", 
                    format!("TLS secret {name} does not exist in {ns}: the controller serves its default certificate"),
                    Some(format!("kubectl create secret tls {} -n {} --cert=tls.crt --key=tls.key", q(name), q(ns))),
                ));
                continue;
            }
            Some(Fact::Unavailable(u)) => {
                out.push(Finding::skip(format!("TLS secret {name}: {}", u.reason())));
                continue;
            }
            Some(Fact::Known(Some(s))) => s,
        };
        out.extend(certificate_findings(
            ns,
            name,
            secret,
            &hosts,
            now,
            &INGRESS_CERT,
        ));
    }
    out
}

/// What a TLS secret's certificate says: its type, its keys, its validity now, the hosts it
/// covers.
pub(super) fn certificate_findings(
    ns: &str,
    name: &str,
    secret: &k8s_openapi::api::core::v1::Secret,
    hosts: &[String],
    now: i64,
    codes: &CertCodes,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let kind = secret.type_.clone().unwrap_or_else(|| "Opaque".into());
    if kind != "kubernetes.io/tls" {
        out.push(Finding::warn(codes.wrong_type, format!("TLS secret {name} has type {kind}, not kubernetes.io/tls (some controllers ignore it)"), None));
    }
    let (Some(crt), Some(_key)) = (
        secret_bytes(secret, "tls.crt"),
        secret_bytes(secret, "tls.key"),
    ) else {
        out.push(Finding::fail(codes.keys, format!("TLS secret {name} lacks tls.crt or tls.key"), Some(format!("kubectl create secret tls {} -n {} --cert=tls.crt --key=tls.key --dry-run=client -o yaml | kubectl apply -f -", q(name), q(ns)))));
        return out;
    };
    let cert = match tls::parse(&crt) {
        Ok(c) => c,
        Err(e) => {
            out.push(Finding::fail(
                codes.unreadable,
                format!("TLS secret {name}: tls.crt is unreadable ({e})"),
                None,
            ));
            return out;
        }
    };
    let renew = format!(
        "renew the certificate in secret {name}; with cert-manager, see why it was not: kubectl describe certificate -n {}",
        q(ns)
    );
    if now > cert.not_after {
        out.push(Finding::fail(
            codes.validity,
            format!(
                "TLS secret {name}: the certificate expired {} days ago",
                (now - cert.not_after) / 86_400
            ),
            Some(renew.clone()),
        ));
    } else if now < cert.not_before {
        out.push(Finding::fail(
            codes.validity,
            format!("TLS secret {name}: the certificate is not valid yet"),
            Some(renew.clone()),
        ));
    }
    let uncovered: Vec<&String> = hosts
        .iter()
        .filter(|h| !cert.names.iter().any(|n| tls::covers(n, h)))
        .collect();
    if !uncovered.is_empty() {
        out.push(Finding::fail(
            codes.hosts,
            format!(
                "TLS secret {name}: the certificate names {} but not {}",
                cert.names.join(", "),
                uncovered
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(renew),
        ));
    }
    out
}
