//! The installed kubectl, pointed at the fake API server, proves that the server speaks the real
//! protocol (discovery, lists, selectors, Status errors). Required when CI=true.

use std::process::Command;

use crate::support::{FakeApi, repo};

fn kubectl() -> Option<&'static str> {
    let found = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok();
    if !found {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "kubectl is required when CI=true"
        );
        eprintln!("kubectl not installed: skipping the fake API server's faithfulness test");
        return None;
    }
    Some("kubectl")
}

struct Kubectl {
    home: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

impl Kubectl {
    fn new(server: &fakeapi::Server) -> Self {
        let home = tempfile::tempdir().unwrap();
        let kubeconfig = home.path().join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig(Some("shop"))).unwrap();
        Kubectl { home, kubeconfig }
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let cache = self.home.path().join("cache");
        let out = Command::new("kubectl")
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .env_remove("KUBECONFIG")
            .env("HOME", self.home.path())
            .output()
            .expect("run kubectl");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
}

fn names(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let mut n: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["kind"].as_str().unwrap_or("?"),
                i["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    n.sort();
    n
}

#[test]
fn kubectl_reads_the_fake_api_server() {
    if kubectl().is_none() {
        return;
    }
    let api = FakeApi::new();
    let dir = repo().join("tests/scenarios/healthy");
    for f in ["manifests.yaml", "cluster.yaml"] {
        api.load_yaml(&std::fs::read_to_string(dir.join(f)).unwrap())
            .unwrap();
    }
    api.load_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: other, namespace: shop, labels: {app: other}}\nspec: {containers: [{name: c, image: x}]}\n")
        .unwrap();
    api.forbid("list", "secrets", Some("shop"));
    let server = api.start();
    let k = Kubectl::new(&server);

    let (code, out, err) = k.run(&["get", "svc,endpointslices,pods", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        names(&out),
        vec![
            "EndpointSlice/frontend-x7k2m",
            "Pod/frontend-6b7c-aaaaa",
            "Pod/frontend-6b7c-bbbbb",
            "Pod/other",
            "Service/frontend",
        ]
    );

    let (code, out, err) = k.run(&["get", "pods", "-l", "app=frontend", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        names(&out),
        vec!["Pod/frontend-6b7c-aaaaa", "Pod/frontend-6b7c-bbbbb"]
    );

    let (code, out, err) = k.run(&["get", "pods", "-l", "app notin (frontend)", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&out), vec!["Pod/other"]);

    let (code, out, err) = k.run(&[
        "get",
        "pods",
        "-A",
        "--field-selector",
        "metadata.name=other",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&out), vec!["Pod/other"]);

    // Paging: kubectl asks with limit and follows the continue token.
    let (code, out, err) = k.run(&["get", "pods", "--chunk-size", "1", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&out).len(), 3);

    // Short names from discovery, and Status errors as kubectl prints them.
    let (code, _, err) = k.run(&["get", "svc", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains(r#"services "nope" not found"#), "{err}");
    let (code, _, err) = k.run(&["get", "secrets"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Error from server (Forbidden)")
            && err.contains("cannot list resource \"secrets\""),
        "{err}"
    );

    let (code, _, err) = k.run(&["get", "pods", "--field-selector", "spec.bogus=1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("field label not supported: spec.bogus"),
        "{err}"
    );
}

/// The writes the probe makes, done by kubectl: create a Job (its controller makes a pod, the fake
/// kubelet runs it), read the pod's log, delete the Job with background propagation (the pod goes
/// with it); kubectl's own default for Jobs is background too.
#[test]
fn kubectl_creates_reads_logs_and_deletes_like_the_probe_does() {
    if kubectl().is_none() {
        return;
    }
    let api = FakeApi::new();
    api.set_kubelet(|pod| fakeapi::PodRun::Exited {
        logs: format!(
            "hello from {}\n",
            pod["metadata"]["name"].as_str().unwrap_or("?")
        ),
        exit_code: 0,
    });
    let server = api.start();
    let k = Kubectl::new(&server);
    let job = k.home.path().join("job.yaml");
    std::fs::write(
        &job,
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: probe, namespace: shop}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: agent, image: x, args: [agent]}]\n",
    )
    .unwrap();
    // The fake server serves no OpenAPI schema for client-side validation.
    let (code, out, err) = k.run(&["create", "--validate=false", "-f", job.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("job.batch/probe created"), "{out}");
    let mut pod = String::new();
    for _ in 0..100 {
        let (_, out, _) = k.run(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "job-name=probe",
            "-o",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        if v["items"][0]["status"]["phase"] == "Succeeded" {
            pod = v["items"][0]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(pod.starts_with("probe-"), "the Job's pod never succeeded");
    let (code, out, err) = k.run(&["logs", "-n", "shop", &pod]);
    assert_eq!(
        (code, out.as_str()),
        (0, format!("hello from {pod}\n").as_str()),
        "{err}"
    );
    let (code, out, err) = k.run(&["delete", "job", "probe", "-n", "shop"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("job.batch \"probe\" deleted"), "{out}");
    assert!(
        api.all("v1", "Pod").is_empty(),
        "kubectl deletes Jobs with background propagation"
    );
    let (code, _, err) = k.run(&["delete", "job", "probe", "-n", "shop"]);
    assert_eq!(code, 1);
    assert!(err.contains("jobs.batch \"probe\" not found"), "{err}");
}
