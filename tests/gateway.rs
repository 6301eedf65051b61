//! `gateway.routes` beyond the scenario folders: what is read (and not) live, the findings each
//! field of the healthy Gateway scenario breaks into (expectations from the Gateway API's own
//! documentation, apis/v1 of sigs.k8s.io/gateway-api), certificates generated at test time, and
//! SARIF pointing at the field.

use crate::support::{FakeApi, Output, Run, check_of, repo};

fn healthy_dir() -> std::path::PathBuf {
    repo().join("tests/scenarios/gateway-healthy")
}

fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// The healthy Gateway scenario with `edit` applied to its manifests (and `cluster` to the live
/// objects), diagnosed live against the fake API server.
fn live(edit: impl Fn(String) -> String, cluster: impl Fn(String) -> String) -> Output {
    let dir = healthy_dir();
    let api = FakeApi::new();
    api.serve_gateway_api();
    api.load_yaml(&edit(read(&dir, "manifests.yaml"))).unwrap();
    api.load_yaml(&cluster(read(&dir, "cluster.yaml"))).unwrap();
    let server = api.start();
    Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run()
}

/// The same, offline.
fn offline(edit: impl Fn(String) -> String) -> Output {
    let run = Run::new(["svc", "web", "-n", "shop", "-o", "json"]);
    let f = run.write("m.yaml", &edit(read(&healthy_dir(), "manifests.yaml")));
    run.arg("-f").arg(f.display().to_string()).run()
}

fn replace(from: &'static str, to: &'static str) -> impl Fn(String) -> String {
    move |t: String| {
        assert!(t.contains(from), "the fixture lacks {from:?}");
        t.replacen(from, to, 1)
    }
}

fn same(t: String) -> String {
    t
}

fn gateway_check(out: &Output) -> serde_json::Value {
    check_of(&out.json(), "gateway.routes").clone()
}

#[test]
fn without_the_crds_the_check_says_so_and_reads_nothing_of_the_group() {
    let dir = repo().join("tests/scenarios/ingress-healthy");
    let server =
        crate::support::server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")]);
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    let c = gateway_check(&out);
    assert_eq!(c["status"], "pass", "{c:#}");
    assert_eq!(
        c["summary"], "the Gateway API is not installed (gateway.networking.k8s.io is not served)",
        "{c:#}"
    );
    let reqs = server.requests();
    assert!(
        reqs.iter()
            .all(|r| !r.path.contains("gateway.networking.k8s.io")),
        "{:#?}",
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn routes_of_every_namespace_are_listed_once_and_secrets_never() {
    let dir = repo().join("tests/scenarios/gateway-backend-granted");
    let server =
        crate::support::server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")]);
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    for kind in [
        "httproutes",
        "grpcroutes",
        "tlsroutes",
        "tcproutes",
        "udproutes",
        "gateways",
        "gatewayclasses",
        "referencegrants",
    ] {
        let path = format!("/apis/gateway.networking.k8s.io/v1/{kind}");
        assert_eq!(
            paths.iter().filter(|p| **p == path).count(),
            1,
            "{path}: {paths:#?}"
        );
    }
    assert!(paths.iter().all(|p| !p.ends_with("/secrets")), "{paths:#?}");
}

#[test]
fn a_forbidden_route_list_skips_naming_the_permission() {
    let dir = healthy_dir();
    let api = FakeApi::new();
    api.serve_gateway_api();
    api.load_yaml(&read(&dir, "manifests.yaml")).unwrap();
    api.load_yaml(&read(&dir, "cluster.yaml")).unwrap();
    api.forbid("list", "httproutes", None);
    let server = api.start();
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 3, "{}", out.stdout);
    let c = gateway_check(&out);
    assert_eq!(c["status"], "skip", "{c:#}");
    assert_eq!(
        c["reason"], "forbidden: needs list httproutes.gateway.networking.k8s.io cluster-wide",
        "{c:#}"
    );
}

/// Each field of the healthy scenario, broken, and the finding the spec's rule gives.
#[test]
fn each_broken_field_is_its_finding() {
    let gateway_status = "  addresses: [{type: IPAddress, value: 203.0.113.20}]\n";
    let cases: Vec<(&str, Output, &str, &str)> = vec![
        (
            // The parentRef names a Gateway that is not there: nothing serves the route; the
            // nearest existing name is the fix.
            "Gateway missing",
            live(
                replace(
                    "{name: public, namespace: infra, sectionName: http}]\n  hostnames",
                    "{name: publik, namespace: infra, sectionName: http}]\n  hostnames",
                ),
                same,
            ),
            "ND7001",
            "names Gateway infra/publik, which does not exist (Gateways in infra: public)",
        ),
        (
            "class missing",
            live(
                replace("gatewayClassName: eg", "gatewayClassName: envoy"),
                same,
            ),
            "ND7002",
            "names GatewayClass envoy, which does not exist (existing: eg)",
        ),
        (
            "unknown controller",
            live(
                replace(
                    "controllerName: gateway.envoyproxy.io/gatewayclass-controller}",
                    "controllerName: example.com/gateway}",
                ),
                same,
            ),
            "ND7004",
            "names controller example.com/gateway, which this tool does not know",
        ),
        (
            "controller outside the cluster",
            live(
                replace(
                    "controllerName: gateway.envoyproxy.io/gatewayclass-controller}",
                    "controllerName: networking.gke.io/gateway}",
                ),
                same,
            ),
            "ND7005",
            "GKE Gateway runs outside the cluster",
        ),
        (
            "controller not ready",
            live(
                same,
                replace(
                    "gateway:v1.5.0}]\nstatus: {phase: Running, podIP: 10.244.0.40, conditions: [{type: Ready, status: \"True\"}]}",
                    "gateway:v1.5.0}]\nstatus: {phase: Running, podIP: 10.244.0.40, conditions: [{type: Ready, status: \"False\"}]}",
                ),
            ),
            "ND7007",
            "Envoy Gateway controller pods exist but none is ready (envoy-gateway-system/envoy-gateway-6d9f-zzzzz)",
        ),
        (
            // "weight 0 … no requests should be forwarded" (BackendRef.weight).
            "weight 0",
            live(
                replace(
                    "backendRefs: [{name: web, port: 80}]",
                    "backendRefs: [{name: web, port: 80, weight: 0}]",
                ),
                same,
            ),
            "ND7015",
            "every backendRef of HTTPRoute shop/web to Service web has weight 0",
        ),
        (
            "no address",
            live(replace(gateway_status, "  addresses: []\n"), same),
            "ND7020",
            "Gateway infra/public has no address",
        ),
        (
            "not programmed",
            live(
                replace(
                    "{type: Programmed, status: \"True\", reason: Programmed, message: \"Address assigned\"",
                    "{type: Programmed, status: \"False\", reason: Invalid, message: \"listener http invalid\"",
                ),
                same,
            ),
            "ND7021",
            "Gateway infra/public is not Programmed (Programmed=False, Invalid: listener http invalid)",
        ),
        (
            // The spec says it attaches; nothing wrote status for that parent.
            "no status",
            live(
                |t: String| t[..t.rfind("status:\n  parents:").unwrap()].to_string(),
                same,
            ),
            "ND7024",
            "no controller has written status for HTTPRoute shop/web on Gateway infra/public listener http",
        ),
        (
            // The controller says NotAllowedByListeners while the listener admits All: which
            // one is wrong is said, and the spec's answer kept.
            "status disagrees",
            live(
                replace(
                    "conditions: [{type: Accepted, status: \"True\", reason: Accepted, message: \"Route is accepted\"",
                    "conditions: [{type: Accepted, status: \"False\", reason: NotAllowedByListeners, message: \"not allowed\"",
                ),
                same,
            ),
            "ND7022",
            "reports Accepted=False, NotAllowedByListeners: not allowed for HTTPRoute shop/web on Gateway infra/public listener http, the spec says it attaches to listener http",
        ),
    ];
    let mut problems = Vec::new();
    for (name, out, code, says) in cases {
        let c = gateway_check(&out);
        if c["code"] != code || !out.stdout.contains(says) {
            problems.push(format!("{name}: want {code} saying {says:?}, got {c:#}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// A certificate generated now, valid from `from` to `to` (years), for `hosts`.
fn cert_secret(namespace: &str, name: &str, hosts: &[&str], from: i32, to: i32) -> String {
    let c = crate::ingress::cert(hosts, from, to);
    let indent = |s: String| {
        s.lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {namespace}}}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{}\n  tls.key: |\n{}\n",
        indent(c.crt),
        indent(c.key)
    )
}

/// An HTTPS listener on the healthy Gateway, its certificate in its own namespace.
fn https(secret: String) -> impl Fn(String) -> String {
    move |t: String| {
        let t = t.replacen(
            "- {name: http, port: 80, protocol: HTTP, hostname: \"*.example.com\", allowedRoutes: {namespaces: {from: All}}}",
            "- {name: http, port: 443, protocol: HTTPS, hostname: \"*.example.com\", tls: {certificateRefs: [{name: wildcard}]}, allowedRoutes: {namespaces: {from: All}}}",
            1,
        );
        assert!(t.contains("protocol: HTTPS"));
        format!("{t}{secret}")
    }
}

#[test]
fn listener_certificates_are_judged_like_ingress_ones() {
    let valid = offline(https(cert_secret(
        "infra",
        "wildcard",
        &["*.example.com"],
        2025,
        2099,
    )));
    assert_eq!(gateway_check(&valid)["status"], "pass", "{}", valid.stdout);
    let cases = [
        (
            offline(https(String::new())),
            "ND7016",
            "certificate Secret infra/wildcard does not exist",
        ),
        (
            offline(https(cert_secret(
                "infra",
                "wildcard",
                &["*.example.com"],
                2020,
                2021,
            ))),
            "ND7018",
            "the certificate expired",
        ),
        (
            offline(https(cert_secret(
                "infra",
                "wildcard",
                &["shop.example.org"],
                2025,
                2099,
            ))),
            "ND7019",
            "names shop.example.org but not *.example.com",
        ),
        (
            offline(https(
                cert_secret("infra", "wildcard", &["*.example.com"], 2025, 2099)
                    .replace("type: kubernetes.io/tls", "type: Opaque"),
            )),
            "ND7025",
            "has type Opaque, not kubernetes.io/tls",
        ),
    ];
    for (out, code, says) in cases {
        let c = gateway_check(&out);
        assert_eq!(c["code"], code, "{c:#}");
        assert!(out.stdout.contains(says), "{says}: {c:#}");
    }
}

#[test]
fn offline_a_selector_over_an_undefined_namespace_is_not_verifiable() {
    let out = offline(replace(
        "allowedRoutes: {namespaces: {from: All}}",
        "allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {gateway: shared}}}}",
    ));
    assert_eq!(out.code, 0, "{}", out.stdout);
    let c = gateway_check(&out);
    assert_eq!(c["status"], "skip", "{c:#}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("namespace shop's labels are not in the manifests (not verifiable offline)"),
        "{c:#}"
    );
}

#[test]
fn an_experimental_route_kind_is_judged_and_said_to_be() {
    // A TLS listener in Passthrough mode carries TLSRoutes (its protocol's kinds).
    let out = offline(|t: String| {
        let t = t.replacen(
            "- {name: http, port: 80, protocol: HTTP, hostname: \"*.example.com\", allowedRoutes: {namespaces: {from: All}}}",
            "- {name: tls, port: 443, protocol: TLS, hostname: \"*.example.com\", tls: {mode: Passthrough}, allowedRoutes: {namespaces: {from: All}}}",
            1,
        );
        t.replacen(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute",
            "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TLSRoute",
            1,
        )
        .replacen("sectionName: http}", "sectionName: tls}", 1)
    });
    let c = gateway_check(&out);
    assert_eq!(c["status"], "pass", "{c:#}");
    let evidence = c["evidence"].to_string();
    assert!(
        evidence.contains(
            "TLSRoute is served at gateway.networking.k8s.io/v1alpha2 (experimental channel)"
        ),
        "{c:#}"
    );
    assert!(
        evidence.contains("attached to Gateway infra/public listener tls"),
        "{c:#}"
    );
}

#[test]
fn sarif_points_at_the_field_the_finding_names() {
    let dir = repo().join("tests/scenarios/gateway-section-name-typo");
    let file = dir.join("manifests.yaml");
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "sarif", "-f"])
        .arg(file.display().to_string())
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let j = out.json();
    let result = &j["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "ND7008", "{result:#}");
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text
        .lines()
        .position(|l| {
            l.contains("parentRefs: [{name: public, namespace: infra, sectionName: https}]")
        })
        .unwrap()
        + 1;
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"], line,
        "{result:#}"
    );
}

#[test]
fn explain_prints_the_runbook_and_each_code() {
    let page = Run::new(["explain", "gateway.routes"]).run();
    assert_eq!(page.code, 0, "{}", page.stderr);
    assert!(
        page.stdout.contains("NoMatchingListenerHostname"),
        "{}",
        page.stdout
    );
    let code = Run::new(["explain", "ND7012"]).run();
    assert_eq!(code.code, 0, "{}", code.stderr);
    assert!(
        code.stdout
            .contains("A backendRef crosses namespaces without a ReferenceGrant"),
        "{}",
        code.stdout
    );
}

/// `gateway NAME` runs the flow of every Service its attached routes send to; `route KIND/NAME`
/// of one route's; both live and offline, one report.
#[test]
fn gateway_and_route_start_from_their_object() {
    let dir = repo().join("tests/scenarios/gateway-backend-granted");
    let files = [dir.join("manifests.yaml"), dir.join("cluster.yaml")];
    let server = crate::support::server_with(&[&files[0], &files[1]]);
    let manifests = files[0].display().to_string();
    for source in ["live", "offline"] {
        let run = |args: &[&str]| {
            let r = Run::new(args).args(["-o", "json"]);
            if source == "live" {
                r.arg("--no-probe").kubeconfig(&server, None).run()
            } else {
                r.args(["-f", &manifests]).run()
            }
        };
        let gw = run(&["gateway", "public", "-n", "infra"]);
        assert_eq!(gw.code, 0, "{source}: {}{}", gw.stdout, gw.stderr);
        let j = gw.json();
        assert_eq!(j["scope"], "Gateway infra/public", "{j:#}");
        let targets: Vec<String> = j["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{}/{}",
                    d["target"]["namespace"].as_str().unwrap(),
                    d["target"]["name"].as_str().unwrap()
                )
            })
            .collect();
        // The route lives in `web` and sends to shop/web (granted).
        assert_eq!(targets, ["shop/web"], "{source}: {j:#}");
        let route = run(&["route", "httproute/web", "-n", "web"]);
        assert_eq!(route.code, 0, "{source}: {}", route.stderr);
        assert_eq!(route.json()["scope"], "HTTPRoute web/web");
        // A typo: not found, the near name offered, exit 4 like a missing Service.
        let typo = run(&["route", "httproutes/wbe", "-n", "web"]);
        assert_ne!(typo.code, 0);
        assert!(
            typo.stderr.contains("HTTPRoute web/wbe not found"),
            "{}",
            typo.stderr
        );
        assert!(typo.stderr.contains("did you mean web?"), "{}", typo.stderr);
    }
    let bad = Run::new(["route", "ingress/web", "-n", "web", "-f", &manifests]).run();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("the route's kind must be one of httproute"),
        "{}",
        bad.stderr
    );
}

#[test]
fn without_the_gateway_api_the_commands_say_it_is_not_installed() {
    let dir = repo().join("tests/scenarios/healthy");
    let server =
        crate::support::server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")]);
    let out = Run::new(["gateway", "public", "-n", "infra"])
        .kubeconfig(&server, None)
        .run();
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("Gateway infra/public not found: the Gateway API is not installed"),
        "{}",
        out.stderr
    );
}

/// scan's findings about the Gateway API objects themselves.
#[test]
fn scan_names_routes_attached_nowhere_missing_backends_conflicts_and_classless_gateways() {
    let extra = "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: internal, namespace: infra}\nspec:\n  gatewayClassName: nginx\n  listeners:\n  - {name: a, port: 80, protocol: HTTP}\n  - {name: b, port: 80, protocol: HTTP}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: orphan, namespace: shop}\nspec:\n  parentRefs: [{name: gone, namespace: infra}]\n  rules:\n  - backendRefs: [{name: cart, port: 80}]\n";
    let run = Run::new(["scan", "-A", "-o", "json"]);
    let f = run.write(
        "m.yaml",
        &format!("{}{extra}", read(&healthy_dir(), "manifests.yaml")),
    );
    let out = run.arg("-f").arg(f.display().to_string()).run();
    let j = out.json();
    let findings: Vec<(String, String)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or("").to_string(),
                f["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let has = |code: &str, says: &str| findings.iter().any(|(c, m)| c == code && m.contains(says));
    assert!(
        has(
            "ND7030",
            "HTTPRoute shop/orphan attaches to no Gateway: Gateway infra/gone does not exist"
        ),
        "{findings:#?}"
    );
    assert!(
        has(
            "ND7031",
            "HTTPRoute shop/orphan sends to Service shop/cart, which does not exist"
        ),
        "{findings:#?}"
    );
    // Two HTTP listeners on port 80 without hostnames cannot be told apart.
    assert!(
        has(
            "ND7032",
            "Gateway infra/internal listeners a and b conflict on port 80 (HostnameConflict)"
        ),
        "{findings:#?}"
    );
    assert!(
        has(
            "ND7033",
            "Gateway infra/internal names GatewayClass nginx, which does not exist"
        ),
        "{findings:#?}"
    );
    // The healthy route and Gateway raise nothing.
    assert!(
        findings
            .iter()
            .all(|(_, m)| !m.contains("shop/web") && !m.contains("infra/public")),
        "{findings:#?}"
    );
}

/// Completion offers the Gateways and routes of the line's namespace (after the route's kind).
#[test]
fn completion_names_gateways_and_routes() {
    let dir = repo().join("tests/scenarios/gateway-backend-granted");
    let server =
        crate::support::server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")]);
    // The run that holds the kubeconfig lives as long as the test (its HOME is removed on drop).
    let holder = Run::new(["x"]);
    let kc = holder
        .write("kc", &server.kubeconfig(None))
        .display()
        .to_string();
    let complete = |words: &[&str]| {
        let mut args = vec!["__complete", "--kubeconfig", kc.as_str()];
        args.extend(words);
        Run::new(&args).run().stdout
    };
    let gateways = complete(&["-n", "infra", "gateway", ""]);
    assert!(gateways.lines().any(|l| l == "public"), "{gateways}");
    let routes = complete(&["-n", "web", "route", "httproute/"]);
    assert!(routes.lines().any(|l| l == "httproute/web"), "{routes}");
    let grpc = complete(&["-n", "web", "route", "grpcroute/"]);
    assert!(!grpc.lines().any(|l| l.contains("web")), "{grpc}");
}

/// Manifests: a Gateway API kind at a version its CRDs do not serve is refused as kubectl
/// refuses it; a route that does not fit its kind names file and document.
#[test]
fn gateway_manifests_are_checked_like_built_in_kinds() {
    let unserved = offline(replace(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute",
        "apiVersion: gateway.networking.k8s.io/v9\nkind: HTTPRoute",
    ));
    assert_eq!(unserved.code, 2, "{}", unserved.stdout);
    assert!(
        unserved
            .stderr
            .contains("no kind HTTPRoute is served as apiVersion gateway.networking.k8s.io/v9"),
        "{}",
        unserved.stderr
    );
    let invalid = offline(replace(
        "parentRefs: [{name: public, namespace: infra, sectionName: http}]\n  hostnames",
        "parentRefs: public\n  hostnames",
    ));
    assert_eq!(invalid.code, 2, "{}", invalid.stdout);
    assert!(
        invalid.stderr.contains("invalid HTTPRoute"),
        "{}",
        invalid.stderr
    );
}

/// `gateway -o sarif`: the flow's finding and the Gateway's own, both at the route's line.
#[test]
fn the_gateway_command_writes_sarif_at_the_lines_of_its_findings() {
    let file = repo().join("tests/scenarios/gateway-section-name-typo/manifests.yaml");
    let out = Run::new(["gateway", "public", "-n", "infra", "-o", "sarif", "-f"])
        .arg(file.display().to_string())
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let log = out.json();
    crate::support::validate_with(&log, "sarif-2.1.0.schema.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("  parentRefs: [{name: public"))
        .unwrap()
        + 1;
    let results = log["runs"][0]["results"].as_array().unwrap();
    let rules: Vec<&str> = results
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert_eq!(rules, ["ND7008", "ND7030"], "{log:#}");
    for r in results {
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"], line,
            "{r:#}"
        );
    }
}
