//! Ingress controllers: how an IngressClass's `spec.controller` (or the legacy annotation's free
//! string) maps to a controller, and the labels its pods carry, so that its presence can be
//! checked. The `ingress.routes` check and the policy check's view of controller pods share it.

/// A known ingress controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Controller {
    pub name: &'static str,
    /// Values of `IngressClass.spec.controller` it claims.
    pub class_controllers: &'static [&'static str],
    /// Values of the legacy `kubernetes.io/ingress.class` annotation it watches by default.
    pub annotation_values: &'static [&'static str],
    /// Label selectors its pods carry (any of them).
    pub pod_selectors: &'static [&'static str],
    /// Runs outside the cluster (a cloud's load balancer controller): cannot be verified.
    pub outside: bool,
}

pub(crate) const CONTROLLERS: &[Controller] = &[
    Controller {
        name: "ingress-nginx",
        class_controllers: &["k8s.io/ingress-nginx"],
        annotation_values: &["nginx"],
        pod_selectors: &["app.kubernetes.io/name=ingress-nginx", "app=ingress-nginx"],
        outside: false,
    },
    Controller {
        name: "NGINX Ingress Controller (F5 NGINX)",
        class_controllers: &["nginx.org/ingress-controller"],
        annotation_values: &["nginx"],
        pod_selectors: &["app.kubernetes.io/name=nginx-ingress", "app=nginx-ingress"],
        outside: false,
    },
    Controller {
        name: "Traefik",
        class_controllers: &["traefik.io/ingress-controller"],
        annotation_values: &["traefik"],
        pod_selectors: &["app.kubernetes.io/name=traefik", "app=traefik"],
        outside: false,
    },
    Controller {
        name: "HAProxy",
        class_controllers: &[
            "haproxy-ingress.github.io/controller",
            "haproxy.org/ingress-controller/haproxy",
        ],
        annotation_values: &["haproxy"],
        pod_selectors: &[
            "app.kubernetes.io/name=haproxy-ingress",
            "app.kubernetes.io/name=kubernetes-ingress",
            "run=haproxy-ingress",
        ],
        outside: false,
    },
    Controller {
        name: "Contour",
        class_controllers: &[
            "projectcontour.io/contour",
            "projectcontour.io/ingress-controller",
        ],
        annotation_values: &["contour"],
        pod_selectors: &["app.kubernetes.io/name=contour", "app=contour"],
        outside: false,
    },
    Controller {
        name: "Kong",
        class_controllers: &["ingress-controllers.konghq.com/kong"],
        annotation_values: &["kong"],
        pod_selectors: &["app.kubernetes.io/name=kong", "app=kong"],
        outside: false,
    },
    Controller {
        name: "Istio ingress gateway",
        class_controllers: &["istio.io/ingress-controller"],
        annotation_values: &["istio"],
        pod_selectors: &["istio=ingressgateway", "app=istio-ingressgateway"],
        outside: false,
    },
    Controller {
        name: "AWS Load Balancer Controller",
        class_controllers: &["ingress.k8s.aws/alb"],
        annotation_values: &["alb"],
        pod_selectors: &["app.kubernetes.io/name=aws-load-balancer-controller"],
        outside: false,
    },
    Controller {
        name: "GKE Ingress (ingress-gce)",
        class_controllers: &["k8s.io/ingress-gce"],
        annotation_values: &["gce", "gce-internal"],
        pod_selectors: &[],
        outside: true,
    },
];

/// Controllers claiming an IngressClass's `spec.controller`.
pub(crate) fn by_class_controller(value: &str) -> Vec<&'static Controller> {
    CONTROLLERS
        .iter()
        .filter(|c| c.class_controllers.contains(&value))
        .collect()
}

/// Controllers that watch a legacy annotation value by default.
pub(crate) fn by_annotation(value: &str) -> Vec<&'static Controller> {
    CONTROLLERS
        .iter()
        .filter(|c| c.annotation_values.contains(&value))
        .collect()
}

/// Whether a pod carries one of a controller's selectors (equality terms `k=v`).
/// The cert-manager issuer an Ingress's annotations name ("cluster-issuer letsencrypt"): then
/// cert-manager's ingress-shim creates its TLS secrets.
pub(crate) fn cert_manager_issuer(
    ing: &k8s_openapi::api::networking::v1::Ingress,
) -> Option<String> {
    let a = ing.metadata.annotations.as_ref()?;
    a.get("cert-manager.io/cluster-issuer")
        .map(|v| format!("ClusterIssuer {v}"))
        .or_else(|| {
            a.get("cert-manager.io/issuer")
                .map(|v| format!("Issuer {v}"))
        })
}

pub(crate) fn pod_is(c: &Controller, labels: &std::collections::BTreeMap<String, String>) -> bool {
    c.pod_selectors.iter().any(|sel| {
        sel.split(',').all(|term| {
            term.split_once('=')
                .is_some_and(|(k, v)| labels.get(k).is_some_and(|x| x == v))
        })
    })
}

/// The controllers the Ingresses name, through their class (by its controller) or the legacy
/// annotation, each once.
pub(crate) fn controllers_of(
    ingresses: &[k8s_openapi::api::networking::v1::Ingress],
    classes: &[k8s_openapi::api::networking::v1::IngressClass],
) -> Vec<&'static Controller> {
    let mut controllers: Vec<&'static Controller> = Vec::new();
    for ing in ingresses {
        let class = ing.spec.as_ref().and_then(|s| s.ingress_class_name.clone());
        let annotation = ing
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kubernetes.io/ingress.class").cloned());
        let found = match (class, annotation) {
            (Some(c), _) => classes
                .iter()
                .find(|ic| ic.metadata.name.as_deref() == Some(c.as_str()))
                .and_then(|ic| ic.spec.as_ref().and_then(|sp| sp.controller.clone()))
                .map(|c| by_class_controller(&c))
                .unwrap_or_default(),
            (None, Some(a)) => by_annotation(&a),
            (None, None) => Vec::new(),
        };
        for c in found {
            if !controllers.contains(&c) {
                controllers.push(c);
            }
        }
    }
    controllers
}

/// The Service backends an Ingress names (its default backend, then its rules' paths), each
/// Service once, in the order first named.
pub(crate) fn backends(
    ing: &k8s_openapi::api::networking::v1::Ingress,
) -> Vec<&k8s_openapi::api::networking::v1::IngressServiceBackend> {
    let spec = ing.spec.as_ref();
    let all = spec
        .and_then(|s| s.default_backend.as_ref())
        .and_then(|b| b.service.as_ref())
        .into_iter()
        .chain(
            spec.into_iter()
                .flat_map(|s| s.rules.iter().flatten())
                .flat_map(|r| r.http.iter().flat_map(|h| h.paths.iter()))
                .filter_map(|p| p.backend.service.as_ref()),
        );
    let mut out: Vec<&k8s_openapi::api::networking::v1::IngressServiceBackend> = Vec::new();
    for b in all {
        if !out.iter().any(|o| o.name == b.name) {
            out.push(b);
        }
    }
    out
}
