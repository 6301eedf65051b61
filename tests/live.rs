//! The live source against the fake API server: what it reads (and never reads), paging, and
//! kubeconfig handling like kubectl's.

use crate::support::{FakeApi, Run, repo, server_with};

fn healthy() -> fakeapi::Server {
    let dir = repo().join("tests/scenarios/healthy");
    server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")])
}

#[test]
fn reads_only_what_the_flow_needs_and_writes_nothing() {
    let server = healthy();
    let out = Run::new(["svc", "frontend", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| !r.is_write()), "{reqs:#?}");
    let paths: Vec<String> = reqs
        .iter()
        .map(|r| format!("{} {}", r.path, r.query))
        .collect();
    // The Service by name, its pods by selector (server-side), its slices by label, the
    // namespace's Ingresses and NetworkPolicies; in the same round what decides how policies and
    // Ingresses are served (DaemonSets, API discovery, IngressClasses: one round fewer when they
    // exist, three small reads when they do not); nothing else.
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/api/v1/namespaces/shop/services/frontend")),
        "{paths:#?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/api/v1/namespaces/shop/pods ")
                && p.contains("labelSelector=app%3Dfrontend")),
        "{paths:#?}"
    );
    assert!(
        paths.iter().any(|p| p
            .starts_with("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices ")
            && p.contains("labelSelector=kubernetes.io%2Fservice-name%3Dfrontend")),
        "{paths:#?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies ")),
        "{paths:#?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/apis/networking.k8s.io/v1/namespaces/shop/ingresses ")),
        "{paths:#?}"
    );
    for read in [
        "/apis/apps/v1/daemonsets ",
        "/apis ",
        "/apis/networking.k8s.io/v1/ingressclasses ",
    ] {
        assert!(
            paths.iter().any(|p| p.starts_with(read)),
            "{read}: {paths:#?}"
        );
    }
    assert_eq!(reqs.len(), 8, "{paths:#?}");
}

#[test]
fn never_lists_all_pods_of_the_cluster() {
    // Selector mismatch: the namespace's pods are read for the diff, and pods elsewhere only by
    // the selector, never every pod of every namespace.
    let dir = repo().join("tests/scenarios/selector-mismatch");
    let server = server_with(&[&dir.join("manifests.yaml"), &dir.join("cluster.yaml")]);
    let out = Run::new(["svc", "postgres", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1);
    for r in server.requests() {
        if r.path == "/api/v1/pods" {
            assert!(
                r.query.contains("labelSelector="),
                "cluster-wide pod list without selector: {r:?}"
            );
        }
    }
}

#[test]
fn pods_in_another_namespace_are_pointed_out() {
    let api = FakeApi::new();
    api.load_yaml(
        "apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: data, labels: {app: db}}
spec: {containers: [{name: db, image: pg}]}
",
    )
    .unwrap();
    let server = api.start();
    let out = Run::new(["svc", "db", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("pods with these labels run in namespace data"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("namespace shop has no pods at all"),
        "{}",
        out.stdout
    );
}

#[test]
fn lists_are_paged() {
    let api = FakeApi::new();
    api.load_yaml("apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: shop}\nspec: {selector: {app: big}, ports: [{port: 80}]}\n")
        .unwrap();
    for i in 0..1203 {
        api.insert(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("big-{i}"), "namespace": "shop", "labels": {"app": "big"}},
            "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}]},
            "status": {"phase": "Running", "podIP": format!("10.1.{}.{}", i / 250, i % 250),
                       "conditions": [{"type": "Ready", "status": "True"}]},
        }))
        .unwrap();
    }
    let server = api.start();
    let out = Run::new(["svc", "big", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert!(
        out.stdout
            .contains("selector app=big matches 1203 pods in shop"),
        "{}",
        out.stdout
    );
    let pod_pages = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/namespaces/shop/pods")
        .count();
    assert_eq!(pod_pages, 3, "1203 pods in pages of 500");
}

#[test]
fn namespace_defaults_to_the_contexts() {
    let server = healthy();
    let out = Run::new(["svc", "frontend"])
        .kubeconfig(&server, Some("shop"))
        .run();
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("Service shop/frontend"));
    // Without a namespace in the context: "default", where there is no frontend.
    let out = Run::new(["svc", "frontend", "-o", "json"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1);
    assert_eq!(out.json()["target"]["namespace"], "default");
}

#[test]
fn kubeconfig_env_merges_files_and_context_flag_picks_one() {
    let server = healthy();
    let run = Run::new(["svc", "frontend", "-n", "shop", "--context", "fake"]);
    // File 1: only a broken current context. File 2: the fake server's context "fake".
    let broken = run.write(
        "one.yaml",
        "apiVersion: v1\nkind: Config\ncurrent-context: broken\nclusters: [{name: dead, cluster: {server: 'http://127.0.0.1:9'}}]\ncontexts: [{name: broken, context: {cluster: dead, user: tester}}]\nusers: []\n",
    );
    let good = run.write("two.yaml", &server.kubeconfig(None));
    let out = run
        .env(
            "KUBECONFIG",
            &format!("{}:{}", broken.display(), good.display()),
        )
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn offline_needs_no_kubeconfig_and_takes_the_contexts_namespace_when_readable() {
    let f = repo().join("examples/broken-shop").display().to_string();
    let out = Run::new(["svc", "frontend", "-f", &f, "-o", "json"]).run();
    assert_eq!(out.json()["target"]["namespace"], "default");
    let server = FakeApi::new().start();
    let out = Run::new(["svc", "frontend", "-f", &f, "-o", "json"])
        .kubeconfig(&server, Some("shop"))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["target"]["namespace"], "shop");
    assert!(
        server.requests().is_empty(),
        "offline mode must not talk to the cluster"
    );
}

// When the reads that explain not-ready pods fail, the report says what it could not see.
#[test]
fn failed_event_and_node_reads_are_said_in_the_not_ready_evidence() {
    let dir = repo().join("tests/scenarios/not-ready");
    let api = FakeApi::new();
    for f in ["manifests.yaml", "cluster.yaml"] {
        api.load_yaml(&std::fs::read_to_string(dir.join(f)).unwrap())
            .unwrap();
    }
    api.fail("/api/v1/namespaces/shop/events", 500);
    api.forbid("get", "nodes", None);
    let server = api.start();
    let out = Run::new(["svc", "cart", "-n", "shop"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("could not read events (read failed: an error on the server has prevented the request from succeeding (500)): the verdict may miss why pods are not ready"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "could not read nodes (forbidden: needs get nodes cluster-wide): the verdict may miss a NotReady node"
        ),
        "{}",
        out.stdout
    );
    // What was read still explains: the restart and the probe come from the pod itself.
    assert!(out.stdout.contains("restarted 3 times"), "{}", out.stdout);
}

// kubectl's global connection flags: --server over the kubeconfig's, --token as the credential,
// --as/--as-group as impersonation headers, --cluster/--user picking kubeconfig entries.
#[test]
fn kubectl_connection_flags_reach_the_api_server() {
    let server = healthy();
    let run = Run::new(["svc", "frontend", "-n", "shop", "-o", "json"]);
    // A kubeconfig pointing nowhere: --server must win.
    let kc = server.kubeconfig(None);
    let url = kc
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    let path = run.write("kc", &kc.replace(&url, "http://127.0.0.1:9"));
    let out = run
        .args(["--kubeconfig", path.to_str().unwrap()])
        .args([
            "--server",
            &url,
            "--token",
            "from-the-flag",
            "--as",
            "alice",
            "--as-group",
            "oncall",
        ])
        .run();
    assert_eq!(out.check_status("service.exists"), "pass", "{}", out.stderr);
    let requests = server.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(
            r.authorization.as_deref(),
            Some("Bearer from-the-flag"),
            "{r:?}"
        );
        assert_eq!(r.impersonate_user.as_deref(), Some("alice"), "{r:?}");
    }
    // --user names a kubeconfig user that does not exist: kubectl's error, exit 3.
    let run = Run::new(["svc", "frontend", "-n", "shop", "--user", "nobody"]);
    let path = run.write("kc", &server.kubeconfig(None));
    let out = run.args(["--kubeconfig", path.to_str().unwrap()]).run();
    assert_eq!(out.code, 3, "{}", out.stderr);
}

/// Issue 18 item 7, live: the StatefulSet's `updateStrategy: OnDelete` is read, and the fix says
/// that patching its template relabels none of the pods it has (and labels them), instead of
/// "rolls them".
#[test]
fn an_on_delete_statefulset_is_told_to_label_its_pods() {
    let api = FakeApi::new();
    api.load_yaml(
        "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: shop}\nspec: {selector: {app: db, tier: data}, ports: [{port: 5432}]}\n---\n\
         apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: shop, uid: s1}\nspec: {serviceName: db, selector: {matchLabels: {app: db}}, updateStrategy: {type: OnDelete}, template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c, image: i}]}}}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {name: db-0, namespace: shop, labels: {app: db}, ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: s1, controller: true}]}\nspec: {containers: [{name: c, image: i}]}\n",
    )
    .unwrap();
    let server = api.start();
    let out = Run::new(["svc", "db", "-n", "shop", "-o", "json", "--no-probe"])
        .kubeconfig(&server, None)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let fix = &out.json()["verdict"]["fix"][0];
    assert_eq!(
        fix["summary"],
        "label the pods it has, and its template for the pods it makes (with updateStrategy OnDelete it relabels none of the pods it has)"
    );
    let commands: Vec<String> = crate::support::fix_commands(&out.json()["verdict"]["fix"])
        .iter()
        .map(|c| crate::support::unflagged(c))
        .collect();
    assert!(
        commands[0].starts_with("kubectl patch statefulset db -n shop --type merge"),
        "{commands:?}"
    );
    assert_eq!(
        commands[1],
        "kubectl label pods -n shop -l app=db tier=data --overwrite"
    );
}

/// Issue 17 item 1: with current-context staging, `svc postgres --context prod` printed
/// `kubectl patch …` that patched staging. Every printed command names the context the run used
/// (and the kubeconfig it was given); the report names the context and the API server.
#[test]
fn printed_commands_and_the_report_name_the_context_the_run_used() {
    let d = repo().join("tests/scenarios/selector-mismatch");
    let server = server_with(&[&d.join("manifests.yaml"), &d.join("cluster.yaml")]);
    let prod = server
        .kubeconfig(None)
        .replace("name: fake\n  context", "name: prod\n  context")
        .replace("current-context: fake", "current-context: staging")
        .replace(
            "contexts:\n",
            "contexts:\n- name: staging\n  context:\n    cluster: fake\n    user: nobody\n",
        );
    let run = Run::new([
        "svc",
        "postgres",
        "-n",
        "shop",
        "--context",
        "prod",
        "-o",
        "json",
    ]);
    let kc = run.write("config", &prod);
    let out = run.arg("--kubeconfig").arg(kc.display().to_string()).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let j = out.json();
    assert_eq!(j["cluster"]["context"], "prod", "{j:#}");
    // The URL as the client reads it (a trailing slash added).
    assert_eq!(j["cluster"]["server"], format!("{}/", server.url), "{j:#}");
    let commands = crate::support::fix_commands(&j["verdict"]["fix"]);
    assert!(!commands.is_empty());
    for c in &commands {
        assert!(
            c.starts_with(&format!(
                "kubectl --context prod --kubeconfig {} ",
                kc.display()
            )),
            "{c}"
        );
    }
    let run = Run::new(["svc", "postgres", "-n", "shop", "--context", "prod"]);
    let kc = run.write("config", &prod);
    let table = run.arg("--kubeconfig").arg(kc.display().to_string()).run();
    assert!(
        table.stdout.starts_with(&format!(
            "Service shop/postgres · context prod ({}/)",
            server.url
        )),
        "{}",
        table.stdout
    );
}

/// Issue 17 item 11: on a terminal, `svc` says it is reading the cluster while the API is slow
/// (as `scan` does), and clears the line when the checklist comes.
#[test]
fn svc_says_it_reads_the_cluster_on_a_terminal() {
    let d = repo().join("tests/scenarios/selector-mismatch");
    let api = FakeApi::new();
    for f in ["manifests.yaml", "cluster.yaml"] {
        api.load_yaml(&std::fs::read_to_string(d.join(f)).unwrap())
            .unwrap();
    }
    api.set_latency(std::time::Duration::from_millis(400));
    let server = api.start();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(Some("shop"))).unwrap();
    let args = format!(
        "--kubeconfig {} svc postgres --no-probe",
        kubeconfig.display()
    );
    let Some(tty) = crate::cli::on_tty(&args, &[("HOME", &home.path().display().to_string())])
    else {
        return;
    };
    assert!(tty.contains("reading the cluster…"), "{tty}");
    assert!(tty.contains("VERDICT:"), "{tty}");
}
