//! TLS secrets of Ingresses, with certificates generated at test time (never a fixture that
//! expires): valid, expired, for another host, of the wrong type, unreadable.

use crate::support::{FakeApi, Output, Run, repo};

pub(crate) struct Cert {
    pub(crate) crt: String,
    pub(crate) key: String,
}

/// A certificate for `hosts`, valid from `from` to `to` (years).
pub(crate) fn cert(hosts: &[&str], from: i32, to: i32) -> Cert {
    let mut params =
        rcgen::CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())
            .unwrap();
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(to, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let c = params.self_signed(&key).unwrap();
    Cert {
        crt: c.pem(),
        key: key.serialize_pem(),
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn secret(kind: &str, c: &Cert) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: shop-tls, namespace: shop}}\ntype: {kind}\nstringData:\n  tls.crt: |\n{}\n  tls.key: |\n{}\n",
        indent(&c.crt),
        indent(&c.key)
    )
}

const TLS: &str = "spec:\n  tls:\n  - hosts: [shop.example.com]\n    secretName: shop-tls\n";

/// The healthy Ingress scenario with a TLS section and `extra` objects, live and offline.
fn run(extra: &str, forbid_secrets: bool) -> (Output, Output) {
    let add_tls = |text: String| {
        let with = text.replacen(
            "spec:\n  ingressClassName: nginx\n",
            &format!("{TLS}  ingressClassName: nginx\n"),
            1,
        );
        assert!(with.contains("secretName: shop-tls"));
        with
    };
    edited(&add_tls, extra, forbid_secrets)
}

fn ingress_check(out: &Output) -> serde_json::Value {
    let j = out.json();
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ingress.routes")
        .unwrap()
        .clone()
}

#[test]
fn a_valid_certificate_for_the_host_passes() {
    let (live, offline) = run(
        &secret(
            "kubernetes.io/tls",
            &cert(&["shop.example.com"], 2020, 2100),
        ),
        false,
    );
    assert_eq!(ingress_check(&live)["status"], "pass", "{}", live.stdout);
    assert_eq!(
        ingress_check(&offline)["status"],
        "pass",
        "{}",
        offline.stdout
    );
    // A wildcard covers one label.
    let (live, _) = run(
        &secret("kubernetes.io/tls", &cert(&["*.example.com"], 2020, 2100)),
        false,
    );
    assert_eq!(ingress_check(&live)["status"], "pass", "{}", live.stdout);
}

#[test]
fn an_expired_certificate_fails() {
    let (live, offline) = run(
        &secret(
            "kubernetes.io/tls",
            &cert(&["shop.example.com"], 2015, 2020),
        ),
        false,
    );
    for out in [&live, &offline] {
        let c = ingress_check(out);
        assert_eq!(c["status"], "fail", "{}", out.stdout);
        assert_eq!(c["code"], "ND6018", "{c}");
        assert!(
            c["summary"]
                .as_str()
                .unwrap()
                .contains("TLS secret shop-tls: the certificate expired"),
            "{c}"
        );
        assert_eq!(out.code, 1);
    }
}

#[test]
fn a_certificate_for_another_host_fails() {
    let (live, _) = run(
        &secret(
            "kubernetes.io/tls",
            &cert(&["www.example.org", "*.shop.example.com"], 2020, 2100),
        ),
        false,
    );
    let c = ingress_check(&live);
    assert_eq!(c["status"], "fail");
    assert_eq!(c["code"], "ND6019", "{c}");
    assert!(
        c["summary"].as_str().unwrap().contains(
            "the certificate names www.example.org, *.shop.example.com but not shop.example.com"
        ),
        "{c}"
    );
}

#[test]
fn a_secret_of_another_type_warns() {
    let (live, _) = run(
        &secret("Opaque", &cert(&["shop.example.com"], 2020, 2100)),
        false,
    );
    let c = ingress_check(&live);
    assert_eq!(c["status"], "warn", "{c}");
    assert_eq!(c["code"], "ND6015", "{c}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("has type Opaque, not kubernetes.io/tls"),
        "{c}"
    );
}

#[test]
fn an_unreadable_secret_skips_naming_the_permission() {
    let (live, _) = run(
        &secret(
            "kubernetes.io/tls",
            &cert(&["shop.example.com"], 2020, 2100),
        ),
        true,
    );
    let c = ingress_check(&live);
    assert_eq!(c["status"], "skip", "{c}");
    assert_eq!(
        c["reason"],
        "TLS secret shop-tls: forbidden: needs get secrets in shop"
    );
    assert_eq!(live.code, 3);
}

#[test]
fn a_policy_that_blocks_the_ingress_controller_fails_and_its_fix_works() {
    let dir = repo().join("tests/scenarios/ingress-healthy");
    let deny = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}]}]
";
    let serve = |extra: &[&str]| {
        let api = FakeApi::new();
        for f in ["manifests.yaml", "cluster.yaml"] {
            api.load_yaml(&std::fs::read_to_string(dir.join(f)).unwrap())
                .unwrap();
        }
        for e in extra {
            api.load_yaml(e).unwrap();
        }
        api.start()
    };
    let server = serve(&[deny]);
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1, "{}", out.stdout);
    let j = out.json();
    assert_eq!(j["verdict"]["check"], "netpol.allows");
    let summary = j["verdict"]["summary"].as_str().unwrap();
    assert!(summary.contains("NetworkPolicy blocks the ingress controller ingress-nginx (ingress-nginx/ingress-nginx-controller-5d8c-zzzzz)"), "{summary}");
    let fix = crate::support::fix_texts(&j["verdict"]["fix"])
        .last()
        .unwrap()
        .clone();
    assert!(
        crate::support::unflagged(&fix).contains("kubectl apply -f - <<'EOF'\n"),
        "{fix}"
    );
    let yaml = crate::support::fix_yaml(&fix).unwrap();
    let yaml = yaml.as_str();
    assert!(
        yaml.contains(
            r#"namespaceSelector: {matchLabels: {"kubernetes.io/metadata.name": "ingress-nginx"}}"#
        ),
        "{yaml}"
    );
    let server = serve(&[deny, yaml]);
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 0, "after the printed fix: {}", out.stdout);
}

#[test]
fn the_ingress_command_runs_each_backend_services_flow() {
    for (scenario, code, verdict) in [
        ("ingress-healthy", 0, None),
        ("ingress-backend-port-name", 1, Some("ingress.routes")),
    ] {
        let dir = repo().join("tests/scenarios").join(scenario);
        let server =
            crate::support::server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")]);
        let live = Run::new(["ingress", "web", "-n", "shop", "-o", "json"])
            .kubeconfig(&server, None)
            .run();
        let offline = Run::new(["ingress", "ing/web", "-n", "shop", "-o", "json", "-f"])
            .arg(dir.join("manifests.yaml").display().to_string())
            .run();
        for out in [&live, &offline] {
            assert_eq!(out.code, code, "{scenario}: {}{}", out.stdout, out.stderr);
            let j = out.json();
            assert_eq!(j["scope"], "Ingress shop/web");
            assert_eq!(j["items"][0]["target"]["name"], "web");
            assert_eq!(j["items"][0]["verdict"]["check"].as_str(), verdict);
        }
    }
    // On a terminal: each backend's checklist as svc shows it, under one line on the Ingress.
    let dir = repo().join("tests/scenarios/ingress-controller-not-ready");
    let server =
        crate::support::server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")]);
    let human = Run::new(["ingress", "web", "-n", "shop", "--no-probe"])
        .env("COLUMNS", "80")
        .kubeconfig(&server, None)
        .run();
    assert_eq!(human.code, 1, "{}", human.stderr);
    let text = &human.stdout;
    assert!(
        text.starts_with("Ingress shop/web: 1 Service — 1 fail\n"),
        "{text}"
    );
    assert!(text.contains("✔ PASS  endpoints.ready"), "{text}");
    assert!(text.contains("✘ FAIL  ingress.routes"), "{text}");
    assert!(text.contains("VERDICT: FAIL at ingress.routes"), "{text}");
    assert!(!text.contains('┆'), "a table, not the checklist: {text}");
    let dir = repo().join("tests/scenarios/ingress-healthy");
    let server = crate::support::server_with(&[&dir.join("manifests.yaml")]);
    let missing = Run::new(["ingress", "nope", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr.trim(), "error: Ingress shop/nope not found");
}

#[test]
fn the_backend_protocol_annotation_answers_an_https_backend() {
    let m = std::fs::read_to_string(
        repo().join("tests/scenarios/ingress-https-backend/manifests.yaml"),
    )
    .unwrap();
    let annotated = m.replacen(
        "kind: Ingress\nmetadata:\n  name: web\n  namespace: shop\n",
        "kind: Ingress\nmetadata:\n  name: web\n  namespace: shop\n  annotations: {nginx.ingress.kubernetes.io/backend-protocol: HTTPS}\n",
        1,
    );
    assert_ne!(annotated, m, "the fixture's Ingress header changed");
    let run = Run::new(["svc", "web", "-n", "shop", "-o", "json", "-f"]);
    let p = run.write("annotated.yaml", &annotated);
    let out = run.arg(p.display().to_string()).run();
    assert_eq!(ingress_check(&out)["status"], "pass", "{}", out.stdout);
}

#[test]
fn on_gke_a_classless_ingress_belongs_to_ingress_gce() {
    let dir = repo().join("tests/scenarios/ingress-classless");
    let api = FakeApi::new();
    for f in ["manifests.yaml", "cluster.yaml"] {
        api.load_yaml(&std::fs::read_to_string(dir.join(f)).unwrap())
            .unwrap();
    }
    api.set_version_suffix("-gke.1200");
    let server = api.start();
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    let c = ingress_check(&out);
    assert_eq!(c["status"], "warn", "{c}");
    assert_eq!(c["code"], "ND6008", "{c}");
    let summary = c["summary"].as_str().unwrap();
    assert!(
        summary.contains(
            "GKE Ingress (ingress-gce) runs outside the cluster: it cannot be verified from inside"
        ),
        "{summary}"
    );
    assert!(!summary.contains("no controller may watch it"), "{summary}");
}

// Offline nothing shows a running controller: a controller deployed by the manifests themselves is
// named, "in the manifests, not known to run" — never "routes here via a running controller".
#[test]
fn offline_a_controller_in_the_manifests_is_named_not_known_to_run() {
    let manifests =
        std::fs::read_to_string(repo().join("tests/scenarios/ingress-healthy/manifests.yaml"))
            .unwrap();
    let controller = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ingress-nginx-controller, namespace: ingress-nginx}\nspec:\n  selector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}\n  template:\n    metadata: {labels: {app.kubernetes.io/name: ingress-nginx}}\n    spec: {containers: [{name: controller, image: registry.k8s.io/ingress-nginx/controller}]}\n";
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json", "-f", "-"])
        .stdin(&format!("{manifests}\n---\n{controller}"))
        .run();
    assert_eq!(out.check_status("ingress.routes"), "pass", "{}", out.stderr);
    let j = out.json();
    let summary = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ingress.routes")
        .unwrap()["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        summary,
        "Ingress web: class, backend port and TLS judged from the manifests; its controller ingress-nginx: Deployment ingress-nginx/ingress-nginx-controller in the manifests, not known to run"
    );
}

/// The healthy Ingress scenario, its Ingress asking cert-manager for `shop-tls` (which does not
/// exist), with `extra` objects and, if `crd`, cert-manager's Certificate kind served.
fn cert_manager(extra: &str, crd: bool) -> (Output, Output) {
    let dir = repo().join("tests/scenarios/ingress-healthy");
    let annotate = |text: String| {
        let from = "  name: web\n  namespace: shop\nspec:\n  ingressClassName: nginx\n";
        assert!(text.contains(from));
        text.replacen(
            from,
            &format!("  name: web\n  namespace: shop\n  annotations: {{cert-manager.io/cluster-issuer: letsencrypt}}\n{TLS}  ingressClassName: nginx\n"),
            1,
        )
    };
    let manifests = annotate(std::fs::read_to_string(dir.join("manifests.yaml")).unwrap());
    let cluster = annotate(std::fs::read_to_string(dir.join("cluster.yaml")).unwrap());
    let api = FakeApi::new();
    if crd {
        api.add_custom_resource("cert-manager.io", "v1", "Certificate", "certificates", true);
    }
    for text in [&manifests, &cluster, &extra.to_string()] {
        if !text.is_empty() {
            api.load_yaml(text).unwrap();
        }
    }
    let server = api.start();
    let live = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    let offline = Run::new(["svc", "web", "-n", "shop", "-o", "json", "-f", "-"])
        .stdin(&manifests)
        .run();
    (live, offline)
}

// cert-manager's ingress-shim creates the secret an annotated Ingress names: offline its absence
// is expected (a warning); live, the Certificate's Ready condition says why it is not there yet.
#[test]
fn a_missing_secret_that_cert_manager_creates() {
    let not_ready = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: shop-tls, namespace: shop}\nspec: {secretName: shop-tls, dnsNames: [shop.example.com], issuerRef: {name: letsencrypt, kind: ClusterIssuer}}\nstatus:\n  conditions:\n  - {type: Ready, status: 'False', reason: DoesNotExist, message: Issuing certificate as Secret does not exist}\n";
    let (live, offline) = cert_manager(not_ready, true);
    let off = ingress_check(&offline);
    assert_eq!(off["status"], "warn", "{off:#}");
    assert_eq!(off["code"], "ND6013", "{off:#}");
    assert!(
        off["summary"].as_str().unwrap().contains(
            "TLS secret shop-tls is not in the manifests: cert-manager creates it on deploy (ClusterIssuer letsencrypt)"
        ),
        "{off:#}"
    );
    let on = ingress_check(&live);
    assert_eq!(on["status"], "fail", "{on:#}");
    assert!(
        on["summary"].as_str().unwrap().contains(
            "Certificate shop-tls is not Ready (DoesNotExist: Issuing certificate as Secret does not exist)"
        ),
        "{on:#}"
    );
    // Without cert-manager (its kind not served, no Certificate): said so.
    let (live, _) = cert_manager("", false);
    let on = ingress_check(&live);
    assert!(
        on["summary"]
            .as_str()
            .unwrap()
            .contains("there is no Certificate shop-tls: is cert-manager installed and running?"),
        "{on:#}"
    );
}

// An Ingress with two backend Services: each gets its own flow, while what they share — the
// namespace's Ingresses and NetworkPolicies, IngressClasses, DaemonSets, API discovery — is read
// once, not once per backend.
#[test]
fn the_ingress_command_reads_what_backends_share_once() {
    let dir = repo().join("tests/scenarios/ingress-healthy");
    let second = "            name: web\n            port: {number: 80}\n";
    let api_path = "      - path: /api\n        pathType: Prefix\n        backend:\n          service:\n            name: admin\n            port: {number: 80}\n";
    let api = FakeApi::new();
    for f in ["manifests.yaml", "cluster.yaml"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        // Both files define the Ingress (cluster.yaml with its status): both get the second path.
        let text = text.replacen(second, &format!("{second}{api_path}"), 1);
        api.load_yaml(&text).unwrap();
    }
    // A second Service in front of the same pods (no EndpointSlice of its own yet).
    api.load_yaml("apiVersion: v1\nkind: Service\nmetadata: {name: admin, namespace: shop}\nspec: {clusterIP: 10.96.0.99, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}\n").unwrap();
    let server = api.start();
    let out = Run::new(["ingress", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    let j = out.json();
    let verdicts: Vec<(String, String)> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["target"]["name"].as_str().unwrap().to_string(),
                i["verdict"]["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("admin".into(), "fail".into()),
            ("web".into(), "pass".into())
        ],
        "{j:#}"
    );
    let reqs = server.requests();
    for shared in [
        "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies",
        "/apis/networking.k8s.io/v1/namespaces/shop/ingresses",
        "/apis/networking.k8s.io/v1/ingressclasses",
        "/apis/apps/v1/daemonsets",
    ] {
        let n = reqs.iter().filter(|r| r.path == shared).count();
        assert_eq!(n, 1, "{shared} read {n} times");
    }
}

/// Issue 17 item 10: a mistyped Ingress or capture pod is answered with the near name, live and
/// offline, as `svc` does for Services.
#[test]
fn a_mistyped_ingress_or_pod_is_answered_with_the_near_name() {
    let api = crate::support::FakeApi::new();
    api.load_yaml(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: shop}\nspec: {rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {name: web-7d9f-abcde, namespace: shop}\nspec: {containers: [{name: c, image: i}]}\nstatus: {phase: Running}\n",
    )
    .unwrap();
    let server = api.start();
    let ing = Run::new(["ingress", "wbe", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(ing.code, 1, "{}", ing.stderr);
    assert!(
        ing.stderr
            .contains("Ingress shop/wbe not found; did you mean web?"),
        "{}",
        ing.stderr
    );
    let pod = Run::new(["capture", "web-7d9f-abcd", "-n", "shop", "-w", "-"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(pod.code, 1, "{}", pod.stderr);
    assert!(
        pod.stderr
            .contains("pod shop/web-7d9f-abcd not found; did you mean web-7d9f-abcde?"),
        "{}",
        pod.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ing.yaml");
    std::fs::write(&f, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: shop}\nspec: {rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}\n").unwrap();
    let offline = Run::new(["ingress", "wbe", "-n", "shop", "-f"])
        .arg(f.display().to_string())
        .run();
    assert!(
        offline
            .stderr
            .contains("Ingress shop/wbe not found in the manifests; did you mean web?"),
        "{}",
        offline.stderr
    );
}

/// The healthy Ingress scenario with `edit` applied to both files (and `extra` objects added),
/// live and offline; secrets are read by name, never listed.
fn edited(edit: &dyn Fn(String) -> String, extra: &str, forbid_secrets: bool) -> (Output, Output) {
    let dir = repo().join("tests/scenarios/ingress-healthy");
    let manifests = edit(std::fs::read_to_string(dir.join("manifests.yaml")).unwrap());
    let cluster = edit(std::fs::read_to_string(dir.join("cluster.yaml")).unwrap());
    let api = FakeApi::new();
    for text in [&manifests, &cluster, &extra.to_string()] {
        if !text.is_empty() {
            api.load_yaml(text).unwrap();
        }
    }
    if forbid_secrets {
        api.forbid("get", "secrets", Some("shop"));
    }
    let server = api.start();
    let live = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path != "/api/v1/namespaces/shop/secrets"),
        "secrets are read by name, never listed"
    );
    let offline_run = Run::new(["svc", "web", "-n", "shop", "-o", "json", "-f"]);
    let path = offline_run.write("all.yaml", &format!("{manifests}\n---\n{extra}"));
    let offline = offline_run.arg(path.display().to_string()).run();
    (live, offline)
}

/// Issue 19: each Ingress finding carries its code — the ones no scenario's verdict shows.
#[test]
fn ingress_findings_carry_their_codes() {
    let code = |out: &Output| {
        let c = ingress_check(out);
        (
            c["status"].as_str().unwrap().to_string(),
            c["code"].as_str().map(String::from),
            c,
        )
    };
    let want = |out: &Output, status: &str, want: &str| {
        let (s, c, check) = code(out);
        assert_eq!(
            (s.as_str(), c.as_deref()),
            (status, Some(want)),
            "{check:#}"
        );
    };
    // Live, the controller has not published an address.
    let (live, _) = edited(
        &|t| t.replace("    ingress: [{ip: 203.0.113.10}]", "    ingress: []"),
        "",
        false,
    );
    want(&live, "warn", "ND6001");
    // A second Ingress claims the same host and path.
    let other = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web-copy, namespace: shop}\nspec:\n  ingressClassName: nginx\n  rules:\n  - host: shop.example.com\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n";
    let (_, offline) = edited(&|t| t, other, false);
    want(&offline, "warn", "ND6002");
    // Offline, a class-less Ingress gets the default class — and two claim to be it.
    let second_default = "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: nginx-b\n  annotations: {ingressclass.kubernetes.io/is-default-class: \"true\"}\nspec: {controller: k8s.io/ingress-nginx}\n";
    let (_, offline) = edited(
        &|t| {
            t.replace("  ingressClassName: nginx\n", "")
                .replace("is-default-class: \"false\"", "is-default-class: \"true\"")
        },
        second_default,
        false,
    );
    want(&offline, "warn", "ND6004");
    // The legacy annotation with a value no known controller answers to.
    let (_, offline) = edited(
        &|t| {
            t.replace(
                "  name: web\n  namespace: shop\nspec:\n  ingressClassName: nginx\n",
                "  name: web\n  namespace: shop\n  annotations: {kubernetes.io/ingress.class: acme-edge}\nspec:\n",
            )
        },
        "",
        false,
    );
    want(&offline, "warn", "ND6005");
    // A class whose controller the tool does not know.
    let (live, _) = edited(
        &|t| {
            t.replace(
                "controller: k8s.io/ingress-nginx",
                "controller: example.com/edge",
            )
        },
        "",
        false,
    );
    want(&live, "warn", "ND6007");
    // TLS secrets: no key; a certificate that is no certificate.
    let c = cert(&["shop.example.com"], 2020, 2100);
    let keyless = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: shop-tls, namespace: shop}}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{}\n",
        indent(&c.crt)
    );
    let (live, _) = run(&keyless, false);
    want(&live, "fail", "ND6016");
    let garbage = Cert {
        crt: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
            .into(),
        key: c.key.clone(),
    };
    let (live, _) = run(&secret("kubernetes.io/tls", &garbage), false);
    want(&live, "fail", "ND6017");
}
