//! What only the real control plane (tests/cluster) can show: RBAC's real answers to a
//! ServiceAccount's token bound to deploy/'s roles.

use crate::support::cluster::RealCluster;
use crate::support::{Run, repo};

fn status<'a>(j: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {j:#}"))
}

/// deploy/rbac.yaml's read-only role, bound as its comment says: cluster-wide (a
/// ClusterRoleBinding) or in one namespace (a RoleBinding). Expectations from the RBAC rules:
/// neither binding grants `create jobs`, so the probe checks skip naming that verb (exit 3:
/// a requested probe could not run); a RoleBinding grants nothing cluster-scoped, so listing
/// IngressClasses is forbidden and ingress.routes skips saying so instead of passing.
#[test]
fn deploy_roles_meet_real_rbac() {
    let scenario = repo().join("tests/scenarios/ingress-healthy");
    let Some(cluster) = RealCluster::up(&[&scenario]) else {
        return;
    };
    let rbac = repo().join("deploy/rbac.yaml");
    cluster.kubectl_ok(&["apply", "-f", rbac.to_str().unwrap()]);
    cluster.kubectl_ok(&[
        "create",
        "serviceaccount",
        "cluster-reader",
        "-n",
        "default",
    ]);
    cluster.kubectl_ok(&["create", "serviceaccount", "shop-reader", "-n", "default"]);
    cluster.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "cluster-reader",
        "--clusterrole=netdoctor-readonly",
        "--serviceaccount=default:cluster-reader",
    ]);
    cluster.kubectl_ok(&[
        "create",
        "rolebinding",
        "shop-reader",
        "-n",
        "shop",
        "--clusterrole=netdoctor-readonly",
        "--serviceaccount=default:shop-reader",
    ]);

    let wide = cluster.token_kubeconfig("default", "cluster-reader");
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .probe()
        .kubeconfig_file(&wide)
        .run();
    let j = out.json();
    assert_eq!(out.code, 3, "{j:#}\n{}", out.stderr);
    for id in ["pods.listening", "dns.resolves"] {
        let c = status(&j, id);
        assert_eq!(c["status"], "skip", "{c:#}");
        assert_eq!(
            c["reason"],
            "forbidden: needs create jobs in shop (--no-probe runs the API checks alone)",
            "{c:#}"
        );
    }
    for id in [
        "service.exists",
        "service.selector",
        "endpoints.ready",
        "ports.target",
        "ingress.routes",
        "netpol.allows",
    ] {
        assert_eq!(status(&j, id)["status"], "pass", "{id}: {j:#}");
    }

    // A tokenFile written by `echo` ends in a newline: kubectl trims it (issue 18 item 14), and
    // the real API server authenticates the token.
    let token = cluster.kubectl_ok(&["create", "token", "cluster-reader", "-n", "default"]);
    let token_file = cluster.state().join("reader-token");
    std::fs::write(&token_file, format!("{}\n", token.trim())).unwrap();
    let text = std::fs::read_to_string(&wide).unwrap();
    let at = text.find("token: ").unwrap();
    let end = at + text[at..].find('}').unwrap();
    let with_file = format!(
        "{}tokenFile: {}{}",
        &text[..at],
        token_file.display(),
        &text[end..]
    );
    let file_kc = cluster.state().join("kubeconfig-token-file");
    std::fs::write(&file_kc, with_file).unwrap();
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig_file(&file_kc)
        .run();
    assert_eq!(
        crate::support::check_status_of(&out.json(), "service.exists"),
        "pass",
        "{}",
        out.stderr
    );

    let narrow = cluster.token_kubeconfig("default", "shop-reader");
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig_file(&narrow)
        .run();
    let j = out.json();
    assert_eq!(out.code, 3, "{j:#}\n{}", out.stderr);
    let routes = status(&j, "ingress.routes");
    assert_eq!(routes["status"], "skip", "{routes:#}");
    assert_eq!(
        routes["reason"], "forbidden: needs list ingressclasses cluster-wide",
        "{routes:#}"
    );
    for id in [
        "service.exists",
        "service.selector",
        "endpoints.ready",
        "ports.target",
    ] {
        assert_eq!(status(&j, id)["status"], "pass", "{id}: {j:#}");
    }
}

/// The text of a check's evidence, for phrases.
fn evidence(j: &serde_json::Value, id: &str) -> String {
    status(j, id)["evidence"].to_string()
}

/// PodSecurity admission for real, and the probe's capture ladder against it (DESIGN §4):
/// the ladder starts from the namespace's `enforce` label and moves down a rung when admission
/// refuses the pod. Rules (Pod Security Standards): baseline forbids adding NET_RAW, so a
/// namespace without a label in a cluster whose default is baseline refuses the privileged rung
/// — the Job controller's FailedCreate event carries the real refusal — and the probe runs at
/// baseline; a namespace labelled restricted admits the restricted rung (non-root, no
/// capabilities: no capture); one labelled privileged admits capture with NET_RAW.
/// Probe pods run in the node agent from the probe image's own root filesystem (as root: they
/// need network namespaces).
/// A real cluster whose node agent runs pods from the probe image's root filesystem (built by
/// dist/build.sh), with the cluster-wide PodSecurity default `baseline`; `None` where it cannot
/// run (not root: network namespaces; outside CI only).
fn probe_cluster(scenario: &str) -> Option<(RealCluster, tempfile::TempDir)> {
    if !crate::support::netns::is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root: the real probe must run"
        );
        eprintln!("skipped: probe pods need network namespaces (root)");
        return None;
    }
    let dist = crate::image::built()?;
    let root = tempfile::tempdir().unwrap();
    crate::image::unpack(&dist.join("image"), root.path());
    let scenario = repo().join("tests/scenarios").join(scenario);
    let root_arg = root.path().to_str().unwrap().to_string();
    let cluster = RealCluster::up_with(
        &[&scenario],
        &[
            "--agent-root",
            &root_arg,
            "--pod-security-default",
            "baseline",
        ],
    )?;
    Some((cluster, root))
}

/// `svc frontend -n shop -o json` with the probe (the image the node agent runs).
fn probe_frontend(cluster: &RealCluster) -> serde_json::Value {
    probe_svc(cluster, &["frontend"])
}

/// `svc ARGS… -n shop -o json` with the probe.
fn probe_svc(cluster: &RealCluster, args: &[&str]) -> serde_json::Value {
    Run::new(["svc"])
        .args(args)
        .args(["-n", "shop", "-o", "json", "--probe-timeout", "60s"])
        .probe()
        .env("NETDOCTOR_PROBE_IMAGE", PROBE_IMAGE)
        .timeout(std::time::Duration::from_secs(120))
        .kubeconfig_file(cluster.kubeconfig())
        .run()
        .json()
}

/// The probe's pods are gone within 30 s (the garbage collector deletes them with their Jobs,
/// deleted with background propagation).
fn assert_no_probe_pods(cluster: &RealCluster) {
    let probe_pods = || {
        cluster.kubectl_ok(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app.kubernetes.io/managed-by=kubectl-netdoctor",
            "-o",
            "name",
        ])
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !probe_pods().trim().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(probe_pods().trim(), "", "probe pods left behind");
}

/// Labels namespace shop with the PodSecurity level to enforce.
fn enforce(cluster: &RealCluster, level: &str) {
    cluster.kubectl_ok(&[
        "label",
        "--overwrite",
        "namespace",
        "shop",
        &format!("pod-security.kubernetes.io/enforce={level}"),
    ]);
}

const PROBE_IMAGE: &str = concat!("netdoctor.test/probe:", env!("CARGO_PKG_VERSION"));

#[test]
fn pod_security_admission_picks_the_probe_rung() {
    let Some((cluster, _root)) = probe_cluster("healthy") else {
        return;
    };
    let probe = |label: Option<&str>| {
        if let Some(level) = label {
            enforce(&cluster, level);
        }
        let j = probe_frontend(&cluster);
        assert_ne!(
            status(&j, "pods.listening")["status"],
            "skip",
            "the probe did not run: {j:#}\nnode agent: {}",
            cluster.log("node-agent")
        );
        evidence(&j, "pods.listening")
    };

    let default = probe(None);
    assert!(
        default.contains("(Pod Security level baseline, capture on)"),
        "{default}"
    );
    assert!(
        default.contains("admission refused the probe at Pod Security level privileged")
            && default.contains("violates PodSecurity \\\"baseline:latest\\\"")
            && default.contains("NET_RAW"),
        "{default}"
    );

    let restricted = probe(Some("restricted"));
    assert!(
        restricted.contains("(Pod Security level restricted, capture off)"),
        "{restricted}"
    );
    assert!(!restricted.contains("admission refused"), "{restricted}");

    let privileged = probe(Some("privileged"));
    assert!(
        privileged.contains("(Pod Security level privileged, capture on)"),
        "{privileged}"
    );

    // Nothing is left behind: the Jobs are deleted, and their pods with them — by the garbage
    // collector, as the Job is deleted with background propagation.
    let jobs = cluster.kubectl_ok(&["get", "jobs", "-n", "shop", "-o", "name"]);
    assert_eq!(jobs.trim(), "", "probe Jobs left behind");
    assert_no_probe_pods(&cluster);
    // The scenario's own pods are untouched by the collector: their owners exist.
    let pods = cluster.kubectl_ok(&["get", "pods", "-n", "shop", "-o", "name"]);
    assert_eq!(pods.lines().count(), 2, "{pods}");
}

/// Why a fix command cannot move the verdict on this cluster, if it cannot: the controllers
/// that roll pods from a changed template are off (tests/cluster's README), and a placeholder
/// must be edited by a person first. Such fixes are still checked by the real API server
/// (`--dry-run=server`).
fn replay_limit(cmd: &str) -> Option<&'static str> {
    if ["deployment", "statefulset", "daemonset", "replicaset"]
        .iter()
        .any(|k| cmd.starts_with(&format!("kubectl patch {k} ")))
    {
        return Some("changes a pod template: no workload controller runs to roll the pods");
    }
    if cmd.contains("CLIENT") || cmd.contains('<') {
        return Some("has a placeholder to fill in");
    }
    None
}

/// Polls `check` every 500 ms until it holds, for 30 s (what the lab's controllers and
/// enforcers converge to); then fails with `what` and the last reason.
fn settle(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match check() {
            Ok(()) => return,
            Err(why) if std::time::Instant::now() > deadline => {
                panic!("never settled: {what}:\n{why}")
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(500)),
        }
    }
}

/// A PATH whose `kubectl` is the cluster's real kubectl on its state (`DRY=1` adds
/// `--dry-run=server`), and whose `kubectl netdoctor` is this build without the probe: printed
/// fixes are pasted into bash as a person would. The directory lives as long as the guard.
fn kubectl_shim(cluster: &RealCluster) -> (tempfile::TempDir, String) {
    let shim = tempfile::tempdir().unwrap();
    let kubectl = shim.path().join("kubectl");
    std::fs::write(
        &kubectl,
        format!(
            "#!/bin/sh\nif [ \"$1\" = netdoctor ]; then shift; exec {} \"$@\" --no-probe; fi\nexec {} kubectl --state {} \"$@\" ${{DRY:+--dry-run=server}}\n",
            crate::support::BIN,
            repo().join("tests/cluster/cluster").display(),
            cluster.state().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &kubectl,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        shim.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (shim, path)
}

/// A printed fix is code (DESIGN §8): every command a failing scenario's verdict prints is
/// pasted into bash as printed, with `kubectl` the real kubectl of the cluster's release. The
/// real API server must accept each (`--dry-run=server`); each one that can take effect here is
/// then applied to a fresh load of the scenario, and the check that failed must pass afterwards
/// (or the verdict move to a later check).
#[test]
fn printed_fixes_are_accepted_by_the_real_api_server_and_move_the_verdict() {
    let Some(cluster) = RealCluster::up(&[]) else {
        return;
    };
    let (_shim, path) = kubectl_shim(&cluster);
    // Where fixes are pasted: a person's working directory, holding the certificate files a
    // `kubectl create secret tls … --cert=tls.crt --key=tls.key` fix names (made per scenario for
    // its Ingress hosts, valid now).
    let cwd = tempfile::tempdir().unwrap();
    let paste = |cmd: &str, dry: bool| {
        let mut c = std::process::Command::new("bash");
        c.arg("-c")
            .arg(cmd)
            .env("PATH", &path)
            .current_dir(cwd.path());
        if dry {
            c.env("DRY", "1");
        }
        c.output().expect("bash")
    };
    let (mut applied, mut dry_only, mut reruns, mut interactive, mut problems) =
        (0, 0, 0, 0, Vec::new());
    for dir in crate::scenarios::scenarios() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let exp = crate::scenarios::load(&dir);
        if exp.live.as_ref().is_none_or(|e| e.exit != 1) {
            continue;
        }
        let mut base = vec!["svc", exp.service.as_str(), "-n", exp.namespace.as_str()];
        base.extend(exp.args.iter().map(String::as_str));
        let diagnose = || {
            Run::new(&base)
                .args(["-o", "json"])
                .kubeconfig_file(cluster.kubeconfig())
                .run()
                .json()
        };
        cluster.load(&dir);
        certificate_for_ingress_hosts(&cluster, &exp.namespace, cwd.path());
        let before = diagnose();
        let failed = before["verdict"]["check"]
            .as_str()
            .unwrap_or("")
            .to_string();
        // Each command as printed: with the connection flags the run used (the cluster's
        // context and kubeconfig), so a paste reaches this cluster whatever the shell's default.
        let commands = crate::support::fix_commands(&before["verdict"]["fix"]);
        let mut fresh = true;
        for cmd in &commands {
            let cmd = cmd.as_str();
            let bare = crate::support::unflagged(cmd);
            assert!(
                cmd.contains(&format!("--kubeconfig {}", cluster.kubeconfig().display())),
                "{name}: a printed command does not name the run's kubeconfig: {cmd}"
            );
            let verb = bare.split_whitespace().nth(1).unwrap_or("");
            if ["get", "describe", "logs", "auth", "top", "explain"].contains(&verb) {
                continue; // a look before or instead of the change, not the change
            }
            if verb == "netdoctor" {
                // A "did you mean" re-run: it must find what it names.
                let out = paste(cmd, false);
                let stdout = String::from_utf8_lossy(&out.stdout);
                if !stdout.contains("PASS  service.exists") {
                    problems.push(format!(
                        "{name}: the printed re-run does not find its Service:\n  {cmd}\n{stdout}"
                    ));
                }
                reruns += 1;
                continue;
            }
            if verb == "edit" {
                interactive += 1; // opens an editor: a person's step, nothing to paste
                continue;
            }
            if !fresh {
                cluster.reset();
                cluster.load(&dir);
            }
            let out = paste(cmd, true);
            if !out.status.success() {
                problems.push(format!(
                    "{name}: the real API server refuses the printed fix:\n  {cmd}\n  {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
                continue;
            }
            if replay_limit(&bare).is_some() {
                dry_only += 1;
                continue;
            }
            let out = paste(cmd, false);
            fresh = false;
            assert!(out.status.success(), "{name}: {cmd}: {out:?}");
            applied += 1;
            let after = diagnose();
            let now = crate::support::check_status_of(&after, &failed);
            // Moved: the check passes, or the verdict is now another check's or another finding
            // (a Gateway route's fix leaves the status its controller wrote before — no Gateway
            // controller runs here to write it again — and the check then says they disagree).
            if now != "pass"
                && after["verdict"]["check"] == failed.as_str()
                && after["verdict"]["code"] == before["verdict"]["code"]
            {
                problems.push(format!(
                    "{name}: applying the fix did not move the verdict (still {failed}: {}):\n  {cmd}",
                    after["verdict"]["summary"]
                ));
            }
        }
        cluster.reset();
    }
    eprintln!(
        "fix replay: {applied} fix(es) applied and re-diagnosed, {dry_only} accepted by --dry-run=server only, {reruns} re-run(s) found their Service, {interactive} interactive (kubectl edit)"
    );
    assert!(applied >= 5, "only {applied} fixes applied");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Writes tls.crt and tls.key into `dir`: a certificate valid now for every TLS host of the
/// namespace's Ingresses, as a person fixing a missing TLS secret would have.
fn certificate_for_ingress_hosts(cluster: &RealCluster, namespace: &str, dir: &std::path::Path) {
    let hosts = cluster.kubectl_ok(&[
        "get",
        "ingress",
        "-n",
        namespace,
        "-o",
        "jsonpath={.items[*].spec.tls[*].hosts[*]}",
    ]);
    let mut names: Vec<String> = hosts.split_whitespace().map(String::from).collect();
    if names.is_empty() {
        names.push("example.test".into());
    }
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();
}

/// `capture` on the real API: the ephemeral container goes through the `ephemeralcontainers`
/// subresource and the same PodSecurity admission as any container (baseline forbids adding
/// NET_RAW: refused, with the real message, and nothing is added to the pod); where the namespace
/// is privileged it runs in the pod's network namespace, the kubelet (node agent) reports it
/// terminated, its log comes back through the API server's pods/log, and the pcap opens in
/// tcpdump.
#[test]
fn capture_meets_real_admission_and_the_ephemeralcontainers_subresource() {
    let Some((cluster, _root)) = probe_cluster("healthy") else {
        return;
    };
    let pod = "frontend-6b7c-aaaaa";
    let field = |path: &str| {
        cluster.kubectl_ok(&[
            "get",
            "pod",
            pod,
            "-n",
            "shop",
            "-o",
            &format!("jsonpath={{{path}}}"),
        ])
    };
    let ephemeral = || field(".spec.ephemeralContainers[*].name");
    let out_dir = tempfile::tempdir().unwrap();
    let pcap = out_dir.path().join("web.pcap");
    let capture = || {
        Run::new(["capture", pod, "-n", "shop", "--duration", "1s", "-w"])
            .arg(pcap.to_str().unwrap())
            .env("NETDOCTOR_PROBE_IMAGE", PROBE_IMAGE)
            .timeout(std::time::Duration::from_secs(90))
            .kubeconfig_file(cluster.kubeconfig())
            .run()
    };

    let refused = capture();
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the capture container cannot run in shop/frontend-6b7c-aaaaa")
            && refused
                .stderr
                .contains("violates PodSecurity \"baseline:latest\"")
            && refused.stderr.contains("NET_RAW"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        ephemeral().trim(),
        "",
        "admission refused it: nothing was added"
    );
    assert!(!pcap.exists(), "a failed capture leaves no file");

    enforce(&cluster, "privileged");
    let ok = capture();
    assert_eq!(
        ok.code,
        0,
        "{}\nnode agent: {}",
        ok.stderr,
        cluster.log("node-agent")
    );
    let names = ephemeral();
    assert!(names.starts_with("netdoctor-capture"), "{names}");
    let exit = field(".status.ephemeralContainerStatuses[0].state.terminated.exitCode");
    assert_eq!(exit, "0");
    let read = std::process::Command::new("tcpdump")
        .args(["-nr"])
        .arg(&pcap)
        .output()
        .expect("tcpdump");
    assert!(
        read.status.success(),
        "tcpdump cannot read the pcap: {}",
        String::from_utf8_lossy(&read.stderr)
    );
}

/// The real scheduler's words reach the person: when no node can take the probe pod (every
/// node tainted NoSchedule, and the probe tolerates no taint unless asked), the probe gives up
/// at --probe-timeout saying what the scheduler said, and its Job is deleted.
#[test]
fn an_unschedulable_probe_says_what_the_scheduler_said() {
    let Some((cluster, _root)) = probe_cluster("healthy") else {
        return;
    };
    enforce(&cluster, "privileged");
    let nodes = cluster.kubectl_ok(&["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"]);
    let count = nodes.split_whitespace().count();
    for node in nodes.split_whitespace() {
        cluster.kubectl_ok(&["taint", "nodes", node, "maintenance=true:NoSchedule"]);
    }
    let out = Run::new(["svc", "frontend", "-n", "shop", "-o", "json"])
        .args(["--probe-timeout", "8s"])
        .probe()
        .env("NETDOCTOR_PROBE_IMAGE", PROBE_IMAGE)
        .kubeconfig_file(cluster.kubeconfig())
        .run();
    let j = out.json();
    assert_eq!(out.code, 3, "{j:#}");
    let reason = status(&j, "pods.listening")["reason"].to_string();
    // The scheduler's FitError text: "0/N nodes are available: N node(s) had untolerated
    // taint(s)."
    let said = format!("{count} node(s) had untolerated taint(s)");
    assert!(
        reason.contains(&format!("not scheduled: 0/{count} nodes are available"))
            && reason.contains(&said),
        "{reason}"
    );
    assert!(reason.contains("its Job is deleted"), "{reason}");
    let jobs = cluster.kubectl_ok(&["get", "jobs", "-n", "shop", "-o", "name"]);
    assert_eq!(jobs.trim(), "", "the probe Job is left behind");
}

/// The tool names itself in every request, as kubectl does (`kubectl/vX (os/arch) …`): the API
/// server's audit log — where an on-call engineer's platform team looks — says who read what.
#[test]
fn requests_name_the_tool_in_the_audit_log() {
    let scenario = repo().join("tests/scenarios/healthy");
    let Some(cluster) = RealCluster::up(&[&scenario]) else {
        return;
    };
    let out = Run::new(["svc", "frontend", "-n", "shop"])
        .kubeconfig_file(cluster.kubeconfig())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let audit = std::fs::read_to_string(cluster.state().join("logs/audit.log")).unwrap();
    let want = format!(
        "\"userAgent\":\"kubectl-netdoctor/v{} (linux/",
        env!("CARGO_PKG_VERSION")
    );
    let ours: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("/namespaces/shop/services/frontend\""))
        .collect();
    assert!(!ours.is_empty(), "the Service read is not in the audit log");
    assert!(
        ours.iter().all(|l| l.contains(&want)),
        "{}",
        ours.join("\n")
    );
}

/// service.selector fails offline on an externalName the API server would refuse (issue 18 item
/// 8); the real API server agrees on each: it refuses them, and accepts a name with a trailing
/// dot.
#[test]
fn the_api_server_refuses_the_external_names_offline_flags() {
    let Some(cluster) = RealCluster::up(&[]) else {
        return;
    };
    for (name, refused) in [
        ("https://db.example.com", true),
        ("db.example.com:5432", true),
        ("DB.Example.com", true),
        ("db..example.com", true),
        ("db.example.com.", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("svc.yaml");
        std::fs::write(
            &file,
            format!("apiVersion: v1\nkind: Service\nmetadata: {{name: x, namespace: default}}\nspec: {{type: ExternalName, externalName: '{name}'}}\n"),
        )
        .unwrap();
        // The API server's answer (kubectl's `create service externalname` would judge the
        // name itself first).
        let out = cluster.kubectl(&["apply", "--dry-run=server", "-f", file.to_str().unwrap()]);
        assert_eq!(
            !out.status.success(),
            refused,
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let offline = Run::new(["svc", "x", "-n", "default", "-o", "json", "-f"])
            .arg(file.to_str().unwrap())
            .run();
        let sel = crate::support::check_status_of(&offline.json(), "service.selector");
        assert_eq!(
            sel == "fail",
            refused,
            "{name}: offline service.selector is {sel}"
        );
    }
}

/// The experimental channel of the same Gateway API release (`cluster up --gateway-api
/// experimental`): a TLSRoute written at v1alpha2 is stored and served at v1 too, read, and
/// judged; without the CRDs (`--gateway-api none`) the check says the API is not installed.
#[test]
fn gateway_api_channels_as_the_real_api_server_serves_them() {
    let dir = repo().join("tests/scenarios/gateway-healthy");
    let Some(cluster) = RealCluster::up_with(&[], &["--gateway-api", "experimental"]) else {
        return;
    };
    let tls = std::fs::read_to_string(dir.join("manifests.yaml"))
        .unwrap()
        .replace(
            "- {name: http, port: 80, protocol: HTTP, hostname: \"*.example.com\", allowedRoutes: {namespaces: {from: All}}}",
            "- {name: tls, port: 443, protocol: TLS, hostname: \"*.example.com\", tls: {mode: Passthrough}, allowedRoutes: {namespaces: {from: All}}}",
        )
        .replace(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute",
            "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TLSRoute",
        )
        .replace("sectionName: http}", "sectionName: tls}")
        .replace("backendRefs: [{name: web, port: 80}]\nstatus:", "backendRefs: [{name: web, port: 80}]\nxstatus:");
    let tls = tls[..tls.find("xstatus:").unwrap()].to_string();
    assert!(tls.contains("kind: TLSRoute"), "{tls}");
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("manifests.yaml"), &tls).unwrap();
    std::fs::copy(dir.join("cluster.yaml"), folder.path().join("cluster.yaml")).unwrap();
    cluster.load(folder.path());
    let out = Run::new(["svc", "web", "-n", "shop", "-o", "json"])
        .kubeconfig_file(cluster.kubeconfig())
        .run();
    let c = status(&out.json(), "gateway.routes").clone();
    // Attached by the spec; the route has no status (no controller here): ND7024.
    assert_eq!(c["code"], "ND7024", "{c:#}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("no controller has written status for TLSRoute shop/web"),
        "{c:#}"
    );
    drop(cluster);

    let Some(bare) = RealCluster::up_with(&[], &["--gateway-api", "none"]) else {
        return;
    };
    bare.load(&repo().join("tests/scenarios/healthy"));
    let out = Run::new(["svc", "frontend", "-n", "shop", "-o", "json"])
        .kubeconfig_file(bare.kubeconfig())
        .run();
    assert_eq!(
        status(&out.json(), "gateway.routes")["summary"],
        "the Gateway API is not installed (gateway.networking.k8s.io is not served)"
    );
}

/// The lab's data plane (`up --data-plane`): every pod in a network namespace of its own on its
/// node's bridge (the CNI reference plugins), the files' pods served for real by the agent's
/// stand-in server, the nodes routing each other's podCIDRs, and kube-proxy (k8s.io/kubernetes)
/// programming each node's Service rules, and CoreDNS behind the kube-dns Service. The probe, on
/// another node, then meets real sockets across nodes — every endpoint answers with its own
/// SYN-ACK —, the ClusterIP answers through the real proxy rules in either mode, and the name
/// resolves through CoreDNS. `down` leaves no process or network namespace behind.
#[test]
fn the_data_plane_serves_pods_and_the_cluster_ip_through_kube_proxy_nftables() {
    data_plane("nftables");
}

#[test]
fn the_data_plane_serves_pods_and_the_cluster_ip_through_kube_proxy_iptables() {
    data_plane("iptables");
}

/// A real cluster with the data plane (`--data-plane` and `flags`) and `scenario` loaded, its
/// pods run from the probe image's root filesystem (kept alive with the cluster); `None` where
/// it cannot run (not root: network namespaces; outside CI only).
fn data_plane_cluster(scenario: &str, flags: &[&str]) -> Option<(RealCluster, tempfile::TempDir)> {
    data_plane_cluster_of(&repo().join("tests/scenarios").join(scenario), flags)
}

/// The same for a folder of manifests anywhere.
pub(crate) fn data_plane_cluster_of(
    folder: &std::path::Path,
    flags: &[&str],
) -> Option<(RealCluster, tempfile::TempDir)> {
    if !crate::support::netns::is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root"
        );
        eprintln!("skipped: the data plane needs network namespaces (root)");
        return None;
    }
    let dist = crate::image::built()?;
    let root = tempfile::tempdir().unwrap();
    crate::image::unpack(&dist.join("image"), root.path());
    let root_arg = root.path().to_str().unwrap().to_string();
    let mut all = vec!["--data-plane", "--agent-root", root_arg.as_str()];
    all.extend_from_slice(flags);
    let cluster = RealCluster::up_with(&[folder], &all)?;
    Some((cluster, root))
}

fn data_plane(mode: &str) {
    let Some((cluster, root)) = data_plane_cluster("healthy", &["--proxy-mode", mode]) else {
        return;
    };
    // Statuses are the node agent's, not the files': addresses from each node's podCIDR.
    let pods = cluster.kubectl_ok(&[
        "get",
        "pods",
        "-n",
        "shop",
        "-o",
        "jsonpath={range .items[*]}{.spec.nodeName} {.status.podIP} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
    ]);
    let nodes = cluster.kubectl_ok(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR}{\"\\n\"}{end}",
    ]);
    let cidr_of = |node: &str| {
        nodes
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{node} ")))
            .unwrap_or_else(|| panic!("node {node}: {nodes}"))
            .to_string()
    };
    let mut pod_ips = Vec::new();
    for line in pods.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 3, "{pods}");
        let prefix = cidr_of(f[0]).trim_end_matches("0/24").to_string();
        assert!(
            f[1].starts_with(&prefix),
            "{} is not in {}'s podCIDR: {pods}",
            f[1],
            f[0]
        );
        assert_eq!(f[2], "True", "Ready once its server runs: {pods}");
        pod_ips.push(f[1].to_string());
    }
    assert!(pod_ips.len() >= 2, "{pods}");
    let cluster_ip = cluster.kubectl_ok(&[
        "get",
        "service",
        "frontend",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    // The ClusterIP leads to the pods once kube-proxy on the probe's node has synced the current
    // endpoints. On a loaded machine (CI, several clusters at once) a first probe once came
    // before that (half the connects ICMP net-unreachable from the node's bridge, the pods
    // themselves answering); no pod on node-1 can watch it converge, so the probe is repeated
    // until the ClusterIP passes — then the whole report is judged below.
    let mut j = serde_json::Value::Null;
    settle(
        "the ClusterIP through kube-proxy on the probe's node",
        || {
            j = probe_frontend(&cluster);
            let c = status(&j, "service.clusterip");
            if c["status"] == "pass" {
                Ok(())
            } else {
                Err(format!(
                    "{c:#}\nkube-proxy: {}",
                    cluster.log("kube-proxy-node-1")
                ))
            }
        },
    );
    let listening = status(&j, "pods.listening");
    assert_eq!(
        listening["status"],
        "pass",
        "{listening:#}\nnode agent: {}",
        cluster.log("node-agent")
    );
    let said = evidence(&j, "pods.listening");
    for ip in &pod_ips {
        // open, answered by the pod itself (its SYN-ACK, captured by the probe).
        assert!(said.contains(&format!("{ip}:8080")), "{said}");
    }
    assert!(
        !said.contains("dropped") && !said.contains("refused"),
        "{said}"
    );
    // The ClusterIP answers through kube-proxy's rules on the probe's node.
    let clusterip = status(&j, "service.clusterip");
    assert_eq!(
        clusterip["status"],
        "pass",
        "{clusterip:#}\nkube-proxy: {}",
        cluster.log("kube-proxy-node-1")
    );
    // The name resolves through the kube-dns Service to CoreDNS, answering from the API server:
    // the Service's own ClusterIP, for every search-path form.
    let dns = status(&j, "dns.resolves");
    assert_eq!(dns["status"], "pass", "{dns:#}");
    assert!(dns.to_string().contains(cluster_ip.trim()), "{dns:#}");
    // Every check that ran passed: the healthy scenario is healthy through a real data plane.
    assert_eq!(j["verdict"]["status"], "pass", "{:#}", j["verdict"]);
    // The probe's pod is gone (the garbage collector takes it with its Job).
    assert_no_probe_pods(&cluster);
    // This cluster's network namespaces are named from its state directory (node.go netnsName).
    let state = cluster.state().to_str().unwrap().to_string();
    let hash = std::process::Command::new("bash")
        .args(["-c", "printf %s \"$1\" | sha256sum", "-", &state])
        .output()
        .unwrap();
    let prefix = format!("ndc-{}-", &String::from_utf8_lossy(&hash.stdout)[..6]);
    let netns = || {
        let out = std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let before = netns();
    assert!(
        before
            .lines()
            .any(|l| l.starts_with(&format!("{prefix}underlay"))),
        "the data plane's underlay ({prefix}underlay): {before}"
    );
    drop(cluster);
    let after = netns();
    assert!(
        !after.lines().any(|l| l.starts_with(&prefix)),
        "network namespaces left behind: {after}"
    );
    // Nor processes: kube-proxy (its kubeconfig is in the state directory) and the stand-in
    // servers (their root is this test's agent root).
    let mut left = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let root_of = std::fs::read_link(entry.path().join("root")).ok();
        if (cmdline.contains("kube-proxy") && cmdline.contains(&state))
            || (cmdline.contains("agent --serve") && root_of.as_deref() == Some(root.path()))
        {
            left.push(cmdline);
        }
    }
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// The SIG's NetworkPolicy enforcer (kube-network-policies) in every node (`up --data-plane
/// --enforcer kube-network-policies`), held against what the probe measures. It sends first
/// packets to an nfqueue with an nftables `queue` rule; a kernel without nft's queue expression
/// (this machine kind's: "netlink receive: no such file or directory", see the README) leaves it
/// unable to program anything, so nothing is enforced — and then the tool must say so from the
/// packets, not trust the policy. Where it runs, the policy's deny must show as dropped SYNs.
#[test]
fn kube_network_policies_is_held_against_the_probe() {
    let Some((cluster, _root)) = data_plane_cluster(
        "netpol-default-deny",
        &["--enforcer", "kube-network-policies"],
    ) else {
        return;
    };
    // The enforcer's first sync, whichever way it goes.
    let log = || cluster.log("kube-network-policies-node-a");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !log().contains("yncing nftables rules") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let log = log();
    assert!(
        log.contains("yncing nftables rules"),
        "the enforcer never synced:\n{log}"
    );
    let failed = log.contains("\"syncing nftables rules\" error=");
    let j = probe_svc(&cluster, &["cart", "--from", "pod/frontend"]);
    let netpol = status(&j, "netpol.allows");
    if failed {
        // Its own words for what the kernel lacks.
        assert!(
            log.contains("netlink receive: no such file or directory"),
            "{log}"
        );
        eprintln!("kube-network-policies cannot program its rules here:\n{log}");
        // The probe got through although shop/default-deny denies it: not enforced, said so.
        assert_eq!(netpol["status"], "warn", "{netpol:#}");
        assert!(
            netpol
                .to_string()
                .contains("NetworkPolicy is not enforced here"),
            "{netpol:#}"
        );
    } else {
        // Enforced: the deny is a failure, and the probe's SYNs to the pod were dropped.
        assert_eq!(netpol["status"], "fail", "{netpol:#}");
        assert_eq!(netpol["code"], "ND8009");
        let listening = evidence(&j, "pods.listening");
        assert!(listening.contains("dropped"), "{listening}");
    }
}

/// kube-router's NetworkPolicy controller (`--enforcer kube-router`: iptables and ipsets, what
/// k3s embeds) enforces shop/default-deny, and it denies by REJECT — an ICMP port unreachable
/// for the probe's SYN, not a drop. The tool must read that as the policy's doing (ND4003, the
/// root cause netpol.allows, ND8009), not as an unexplained firewall (ND4004).
#[test]
fn kube_router_rejects_what_the_policy_denies_and_the_probe_says_why() {
    let Some((cluster, _root)) =
        data_plane_cluster("netpol-default-deny", &["--enforcer", "kube-router"])
    else {
        return;
    };
    // kube-router programs the pod's chain after its first sync: until the frontend's own SYN
    // to cart is rejected, the probe would meet no enforcement.
    let cart_ip = cluster.kubectl_ok(&[
        "get",
        "pod",
        "-n",
        "shop",
        "cart-5c6d-aaaaa",
        "-o",
        "jsonpath={.status.podIP}",
    ]);
    let target = format!("tcp:{cart_ip}:8080");
    settle("kube-router rejecting frontend → cart", || {
        let out = cluster.pod_exec(
            "shop/frontend",
            &[crate::support::BIN, "agent", "--timeout", "1s", &target],
        );
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        if said.contains("\"verdict\":\"rejected\"") {
            Ok(())
        } else {
            Err(format!("{said}\n{}", cluster.log("kube-router-node-a")))
        }
    });
    let j = probe_svc(&cluster, &["cart", "--from", "pod/frontend"]);
    assert_eq!(j["verdict"]["check"], "netpol.allows", "{j:#}");
    assert_eq!(j["verdict"]["code"], "ND8009", "{j:#}");
    let listening = status(&j, "pods.listening");
    assert_eq!(listening["code"], "ND4003", "{listening:#}");
    let said = evidence(&j, "pods.listening");
    assert!(said.contains("rejected"), "{said}");
    assert!(said.contains("shop/default-deny"), "{said}");
    assert_no_probe_pods(&cluster);
}

/// kube-proxy down on one node (`cluster stop kube-proxy node-b`, as a crashed or evicted
/// DaemonSet pod leaves it): the rules it made stay, but a Service created afterwards gets none
/// there. From a probe on node-b (node-a and node-1 cordoned, so the scheduler puts it there) the
/// pods answer and the ClusterIP does not: service.clusterip fails and names node-b (ND4102).
#[test]
fn a_node_whose_kube_proxy_is_down_fails_the_cluster_ip_there() {
    let Some((cluster, _root)) = data_plane_cluster("healthy", &[]) else {
        return;
    };
    cluster.stop("kube-proxy", "node-b");
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path().join("frontend-direct.yaml");
    std::fs::write(
        &svc,
        "apiVersion: v1\nkind: Service\nmetadata: {name: frontend-direct, namespace: shop}\nspec:\n  selector: {app: frontend}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n",
    )
    .unwrap();
    cluster.kubectl_ok(&["apply", "-f", svc.to_str().unwrap()]);
    cluster.kubectl_ok(&["cordon", "node-a", "node-1"]);
    // The EndpointSlice controller's slice first (the probe's verdict is not a race with it).
    settle("an EndpointSlice for frontend-direct", || {
        let addresses = cluster.kubectl_ok(&[
            "get",
            "endpointslices",
            "-n",
            "shop",
            "-l",
            "kubernetes.io/service-name=frontend-direct",
            "-o",
            "jsonpath={.items[*].endpoints[*].addresses[*]}",
        ]);
        if addresses.trim().is_empty() {
            Err("no addresses yet".into())
        } else {
            Ok(())
        }
    });
    let j = probe_svc(&cluster, &["frontend-direct"]);
    let ready = status(&j, "endpoints.ready");
    assert_eq!(ready["status"], "pass", "{ready:#}");
    let listening = status(&j, "pods.listening");
    assert_eq!(listening["status"], "pass", "{listening:#}");
    let clusterip = status(&j, "service.clusterip");
    assert_eq!(clusterip["status"], "fail", "{clusterip:#}");
    assert_eq!(clusterip["code"], "ND4102", "{clusterip:#}");
    let said = clusterip.to_string();
    assert!(said.contains("node-b"), "{said}");
    assert_eq!(j["verdict"]["check"], "service.clusterip", "{j:#}");
    // The Service kube-proxy programmed before it stopped still works there.
    let j = probe_svc(&cluster, &["frontend"]);
    assert_eq!(status(&j, "service.clusterip")["status"], "pass", "{j:#}");
    assert_no_probe_pods(&cluster);
}

/// The same fault seen per node (`--all-nodes`, issue 23): kube-proxy down on node-b, a Service
/// created afterwards. Nothing cordoned: a probe pod pinned to each node (nodeName) connects to
/// the pods, the ClusterIP and DNS. From node-a and node-1 everything answers; from node-b the
/// pods answer and the ClusterIP does not — service.clusterip fails naming node-b and its
/// service proxy, the node × path table marks node-b alone, and every probe pod is gone after.
#[test]
fn all_nodes_names_the_node_whose_kube_proxy_is_down() {
    let Some((cluster, _root)) = data_plane_cluster("healthy", &[]) else {
        return;
    };
    cluster.stop("kube-proxy", "node-b");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("frontend-direct.yaml"),
        // A static ClusterIP (the lower band the allocator keeps for them): the README shows it.
        "apiVersion: v1\nkind: Service\nmetadata: {name: frontend-direct, namespace: shop}\nspec:\n  clusterIP: 10.96.0.21\n  selector: {app: frontend}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n",
    )
    .unwrap();
    // `load` waits for the EndpointSlices and for the rules of every kube-proxy that runs.
    cluster.load(dir.path());
    let bundle = dir.path().join("incident.tar.gz");
    let j = probe_svc(
        &cluster,
        &[
            "frontend-direct",
            "--all-nodes",
            "--bundle",
            bundle.to_str().unwrap(),
        ],
    );
    // The bundle holds each node's agent lines as the agent printed them.
    let listing = std::process::Command::new("tar")
        .args(["-tzf", bundle.to_str().unwrap()])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    for node in ["node-1", "node-a", "node-b"] {
        assert!(
            listing.contains(&format!("probe/{node}.jsonl")),
            "{listing}"
        );
    }
    let lines = std::process::Command::new("tar")
        .args(["-xzOf", bundle.to_str().unwrap(), "probe/node-b.jsonl"])
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&lines.stdout).into_owned();
    assert!(
        lines.contains("\"target\":\"tcp:10.96.0.21:80\""),
        "{lines}"
    );
    assert!(
        lines
            .lines()
            .last()
            .unwrap_or("")
            .contains("\"kind\":\"summary\""),
        "{lines}"
    );
    let listening = status(&j, "pods.listening");
    assert_eq!(listening["status"], "pass", "{listening:#}");
    assert!(
        listening["summary"]
            .as_str()
            .unwrap()
            .starts_with("from every node probed (3)"),
        "{listening:#}"
    );
    let clusterip = status(&j, "service.clusterip");
    assert_eq!(clusterip["status"], "fail", "{clusterip:#}");
    assert_eq!(clusterip["code"], "ND4102", "{clusterip:#}");
    let summary = clusterip["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(
            "fails from node node-b but not from node-1, node-a: the service proxy there"
        ),
        "{summary}"
    );
    // The lab runs kube-proxy as a node process, not a pod: said so, not guessed.
    let said = clusterip["evidence"].to_string();
    assert!(
        said.contains("no service proxy pod runs on node node-b"),
        "{said}"
    );
    assert!(
        clusterip["fix"]
            .to_string()
            .contains("spec.nodeName=node-b"),
        "{clusterip:#}"
    );
    assert_eq!(j["verdict"]["check"], "service.clusterip", "{j:#}");
    let rows = j["nodes"]["rows"].as_array().expect("a node table");
    let row = |n: &str| {
        rows.iter()
            .find(|r| r["node"] == n)
            .unwrap_or_else(|| panic!("no row for {n}: {rows:#?}"))
    };
    assert_eq!(rows.len(), 3, "{rows:#?}");
    for n in ["node-1", "node-a"] {
        assert_eq!(row(n)["ok"], true, "{:#}", row(n));
        assert!(
            row(n)["clusterIP"].as_str().unwrap().ends_with(" ok"),
            "{:#}",
            row(n)
        );
    }
    let b = row("node-b");
    assert_eq!(b["ok"], false, "{b:#}");
    assert!(b["clusterIP"].as_str().unwrap().starts_with("0/"), "{b:#}");
    // The frontend pods run on node-a and node-b.
    assert_eq!(b["hostsEndpoints"], true, "{b:#}");
    assert_eq!(row("node-1")["hostsEndpoints"], false);
    assert!(b["pods"].as_str().unwrap().ends_with(" ok"), "{b:#}");
    crate::support::validate_with(&j, "diagnosis.schema.json");
    // As a person sees it: the README's example. How node-b's silent connects split between
    // dropped and host-unreachable follows the kernel's ICMP rate limit, so tallies of failures
    // and the widths they give a table are evened out.
    let human = Run::new(["svc", "frontend-direct", "--all-nodes"])
        .args(["-n", "shop", "--probe-timeout", "60s"])
        .probe()
        .env("NETDOCTOR_PROBE_IMAGE", PROBE_IMAGE)
        .env("COLUMNS", "100")
        .timeout(std::time::Duration::from_secs(120))
        .kubeconfig_file(cluster.kubeconfig())
        .run();
    let even = |line: &str| {
        let mut l = crate::support::as_prod(line);
        for word in ["dropped", "unreachable"] {
            for n in 0..=9 {
                l = l.replace(&format!("{n} {word}"), "N failed");
            }
        }
        l = l.replace("N failed, N failed", "N failed");
        let mut out = String::new();
        for c in l.chars() {
            let repeat = out.ends_with(c) && matches!(c, ' ' | '─' | '═');
            if !repeat {
                out.push(c);
            }
        }
        out
    };
    crate::support::assert_readme_example("per-node", &human.stdout, &even);
    assert_no_probe_pods(&cluster);
}

/// DNS black-holed on one node (issue 23): node-b's firewall drops DNS its pods send on (UDP and
/// TCP 53 in its FORWARD chain; the cluster DNS pod runs on node-1). With `--all-nodes` the pods
/// and the ClusterIP answer from every node, and dns.resolves fails from node-b alone — named,
/// with what on the node to look at (no NodeLocal DNSCache runs there: its pods ask the DNS
/// Service through the service proxy).
#[test]
fn all_nodes_names_the_node_where_dns_is_black_holed() {
    let Some((cluster, _root)) = data_plane_cluster("healthy", &[]) else {
        return;
    };
    for proto in ["udp", "tcp"] {
        cluster.node_exec(
            "node-b",
            &[
                "iptables", "-I", "FORWARD", "-p", proto, "--dport", "53", "-j", "DROP",
            ],
        );
    }
    let j = probe_svc(&cluster, &["frontend", "--all-nodes"]);
    for id in ["pods.listening", "service.clusterip"] {
        assert_eq!(
            status(&j, id)["status"],
            "pass",
            "{id}: {:#}",
            status(&j, id)
        );
    }
    let dns = status(&j, "dns.resolves");
    assert_eq!(dns["status"], "fail", "{dns:#}");
    let summary = dns["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(
            "fails from node node-b but not from node-1, node-a: DNS as seen from there"
        ),
        "{summary}"
    );
    assert!(
        dns["evidence"]
            .to_string()
            .contains("no node-local DNS cache pod runs on node node-b"),
        "{dns:#}"
    );
    assert_eq!(j["verdict"]["check"], "dns.resolves", "{j:#}");
    // `dns --all-nodes`: the cluster DNS Service's own flow, resolved from shop on every node.
    let d = Run::new(["dns", "--all-nodes", "-n", "shop", "-o", "json"])
        .args(["--probe-timeout", "60s"])
        .probe()
        .env("NETDOCTOR_PROBE_IMAGE", PROBE_IMAGE)
        .timeout(std::time::Duration::from_secs(120))
        .kubeconfig_file(cluster.kubeconfig())
        .run()
        .json();
    let flow = &d["items"][0];
    let resolves = crate::support::check_of(flow, "dns.resolves");
    assert_eq!(resolves["status"], "fail", "{resolves:#}");
    assert!(
        resolves["summary"]
            .as_str()
            .unwrap()
            .starts_with("fails from node node-b but not from node-1, node-a"),
        "{resolves:#}"
    );
    assert_eq!(
        flow["nodes"]["rows"].as_array().map(Vec::len),
        Some(3),
        "{flow:#}"
    );
    let rows = j["nodes"]["rows"].as_array().expect("a node table");
    for r in rows {
        let dns_cell = r["dns"].as_str().unwrap();
        if r["node"] == "node-b" {
            assert!(dns_cell.starts_with("0/"), "{r:#}");
            assert_eq!(r["ok"], false, "{r:#}");
        } else {
            assert!(
                dns_cell.ends_with(" ok") && !dns_cell.starts_with("0/"),
                "{r:#}"
            );
            assert_eq!(r["ok"], true, "{r:#}");
        }
    }
    assert_no_probe_pods(&cluster);
}

/// kube-router's named-port deviation met by the probe (tests/enforcement.rs found it): the
/// policy's only port is a named port cart does not declare, so by the API nothing is allowed,
/// but kube-router drops the unresolved name and accepts every port. The probe inside the
/// frontend gets through; pods.listening says which rule explains that, not only "not
/// enforced".
#[test]
fn kube_routers_named_port_deviation_is_explained_not_just_called_unenforced() {
    let Some((cluster, _root)) =
        data_plane_cluster("netpol-named-port-mismatch", &["--enforcer", "kube-router"])
    else {
        return;
    };
    // From inside the frontend: a new probe pod's address reaches kube-router's ipsets only
    // after its next sync (its first SYNs were seen rejected), the frontend's is there already.
    let j = probe_svc(&cluster, &["cart", "--from", "pod/frontend", "--inside"]);
    let said = evidence(&j, "pods.listening");
    assert!(
        said.contains("shop/cart-from-frontend rule 0 names only ports the pod does not declare")
            && said.contains("kube-router"),
        "{said}"
    );
    // Traffic does flow here: a warning (ND4007), and netpol.allows keeps the API's deny while
    // saying the deny does not block traffic on this cluster.
    assert_eq!(j["verdict"]["status"], "warn", "{j:#}");
    assert_eq!(j["verdict"]["code"], "ND4007", "{j:#}");
    let netpol = status(&j, "netpol.allows");
    assert!(
        netpol["summary"]
            .as_str()
            .unwrap()
            .contains("this deny does not block traffic"),
        "{netpol:#}"
    );
}

/// A NodePort that answers on some nodes only, for real: kube-proxy down on node-b, then NodePort
/// Services created (one with `externalTrafficPolicy: Local`; the frontend pods run on node-a
/// and node-b). With node-b cordoned the probe lands elsewhere, where the ClusterIP works; it also
/// connects to every node's InternalIP on the nodePort, and service.clusterip names node-b
/// (ND4103) — for Local too, since node-b hosts an endpoint.
#[test]
fn a_node_port_answering_on_some_nodes_names_the_node() {
    let Some((cluster, _root)) = data_plane_cluster("healthy", &[]) else {
        return;
    };
    cluster.stop("kube-proxy", "node-b");
    cluster.kubectl_ok(&["cordon", "node-b"]);
    // Loaded as files: `load` waits for the EndpointSlices and for kube-proxy's rules on every
    // node whose kube-proxy runs (so the verdict is no race with them).
    let dir = tempfile::tempdir().unwrap();
    let services = [("frontend-np", "Cluster"), ("frontend-local", "Local")];
    let yaml: Vec<String> = services
        .iter()
        .map(|(name, policy)| {
            format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  type: NodePort\n  externalTrafficPolicy: {policy}\n  selector: {{app: frontend}}\n  ports: [{{name: http, port: 80, targetPort: 8080}}]\n"
            )
        })
        .collect();
    std::fs::write(dir.path().join("services.yaml"), yaml.join("---\n")).unwrap();
    cluster.load(dir.path());
    for (name, _) in services {
        let j = probe_svc(&cluster, &[name]);
        let c = status(&j, "service.clusterip");
        assert_eq!(c["status"], "fail", "{name}: {c:#}");
        assert_eq!(c["code"], "ND4103", "{name}: {c:#}");
        let summary = c["summary"].as_str().unwrap();
        assert!(
            summary.contains("not on node-b") && summary.contains("node-a"),
            "{name}: {summary}"
        );
        // The ClusterIP itself answered from the probe's node.
        assert!(summary.contains("answered"), "{name}: {summary}");
        assert!(
            c["fix"].to_string().contains("spec.nodeName=node-b"),
            "{name}: {c:#}"
        );
    }
    assert_no_probe_pods(&cluster);
}

/// An `externalTrafficPolicy: Local` LoadBalancer Service's health checks, for real (issue 23):
/// each node's kube-proxy answers the cloud's load balancer on the healthCheckNodePort — 200 with
/// its local endpoints where the frontend pods run (node-a, node-b), 503 on node-1. The probe asks
/// every node and holds the answers against the EndpointSlices: they agree. Then node-b's
/// kube-proxy stops (its rules stay, its health server goes with it): node-b hosts an endpoint
/// the load balancer would now count unhealthy — service.clusterip fails naming it (ND4105).
#[test]
fn local_health_checks_are_held_against_the_endpoints() {
    let Some((cluster, _root)) = data_plane_cluster("healthy", &[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("frontend-lb.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: frontend-lb, namespace: shop}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n  selector: {app: frontend}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n",
    )
    .unwrap();
    cluster.load(dir.path());
    let port = cluster.kubectl_ok(&[
        "get",
        "svc",
        "-n",
        "shop",
        "frontend-lb",
        "-o",
        "jsonpath={.spec.healthCheckNodePort}",
    ]);
    let what = format!("healthCheckNodePort {}", port.trim());
    // kube-proxy opens its health server once it has synced the Service: the probe asks after.
    let j = probe_svc(&cluster, &["frontend-lb"]);
    let c = status(&j, "service.clusterip");
    assert_eq!(c["status"], "pass", "{c:#}");
    assert!(
        c["summary"].as_str().unwrap().contains(&format!(
            "{what} agrees with the EndpointSlices on 3 node(s)"
        )),
        "{c:#}"
    );
    let said = c["evidence"].to_string();
    assert!(
        said.contains("localEndpoints"),
        "kube-proxy's own answer: {said}"
    );

    cluster.stop("kube-proxy", "node-b");
    let j = probe_svc(&cluster, &["frontend-lb"]);
    let c = status(&j, "service.clusterip");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert_eq!(c["code"], "ND4105", "{c:#}");
    let summary = c["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!(
            "{what}: node-b hosts a ready endpoint but its health check does not answer"
        )),
        "{summary}"
    );
    assert!(
        c["fix"].to_string().contains("spec.nodeName=node-b"),
        "{c:#}"
    );
    assert_no_probe_pods(&cluster);
}

/// A policy that blocks DNS egress, for real: kube-router enforces shop/frontend-egress (egress
/// to cart only), so the probe inside frontend (`--inside`: the client's own identity) meets
/// rejects and silence from DNS. The tool says the policy did it (dns.resolves ND5006, the
/// verdict netpol.allows ND8010), and the printed fix, pasted into bash, makes the names resolve
/// through the enforcer.
#[test]
fn a_policy_blocking_dns_egress_is_named_and_its_fix_resolves_for_real() {
    let Some((cluster, _root)) =
        data_plane_cluster("netpol-egress-without-dns", &["--enforcer", "kube-router"])
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
    )
    .unwrap();
    // The frontend's own lookup, as the enforcer treats it now.
    let lookup = || {
        let out = cluster.pod_exec(
            "shop/frontend",
            &[
                crate::support::BIN,
                "agent",
                "--timeout",
                "1s",
                "--resolv-conf",
                resolv.to_str().unwrap(),
                "dns:cart.shop.svc",
            ],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let resolves = |want: bool| {
        settle(&format!("the frontend's lookup resolving: {want}"), || {
            let said = lookup();
            if said.contains("\"verdict\":\"resolved\"") == want {
                Ok(())
            } else {
                Err(format!("{said}\n{}", cluster.log("kube-router-node-b")))
            }
        })
    };
    resolves(false);
    let run = || probe_svc(&cluster, &["cart", "--from", "pod/frontend", "--inside"]);
    let j = run();
    let dns = status(&j, "dns.resolves");
    assert_eq!(dns["status"], "fail", "{dns:#}");
    assert_eq!(dns["code"], "ND5006", "{dns:#}");
    assert!(
        dns["summary"]
            .as_str()
            .unwrap()
            .contains("shop/frontend-egress"),
        "{dns:#}"
    );
    assert_eq!(j["verdict"]["check"], "netpol.allows", "{j:#}");
    assert_eq!(j["verdict"]["code"], "ND8010", "{j:#}");
    let (_shim, path) = kubectl_shim(&cluster);
    let commands = crate::support::fix_commands(&j["verdict"]["fix"]);
    assert!(!commands.is_empty(), "{j:#}");
    for cmd in &commands {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd}: {out:?}");
    }
    resolves(true);
    let j = run();
    assert_eq!(status(&j, "dns.resolves")["status"], "pass", "{j:#}");
    assert_eq!(status(&j, "netpol.allows")["status"], "pass", "{j:#}");
}

/// A CoreDNS replica down, for real: a second CoreDNS pod (node-a) beside the lab's (node-1),
/// then hung (`cluster freeze`: SIGSTOP, its socket open, nothing answers — Ready until a kubelet's
/// readiness probe would notice). Lookups through the kube-dns Service time out whenever
/// kube-proxy sends them to it; asked directly, the hung replica is named, its fix looks at it in
/// its own namespace, and the healthy replica answers.
#[test]
fn a_hung_dns_replica_is_named() {
    let Some((cluster, _root)) = data_plane_cluster("healthy", &[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("coredns-b.yaml");
    std::fs::write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: coredns-b, namespace: kube-system, labels: {k8s-app: kube-dns}}\nspec:\n  nodeName: node-a\n  containers:\n  - name: coredns\n    image: registry.k8s.io/coredns/coredns:v1.11.1\n    ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53, protocol: TCP}]\n    readinessProbe: {httpGet: {path: /ready, port: 8181}}\n",
    )
    .unwrap();
    cluster.kubectl_ok(&["apply", "-f", pod.to_str().unwrap()]);
    settle("coredns-b in kube-dns's endpoints", || {
        let ready = cluster.kubectl_ok(&[
            "get",
            "endpointslices",
            "-n",
            "kube-system",
            "-l",
            "kubernetes.io/service-name=kube-dns",
            "-o",
            "jsonpath={.items[*].endpoints[?(@.targetRef.name==\"coredns-b\")].conditions.ready}",
        ]);
        if ready.contains("true") {
            Ok(())
        } else {
            Err(ready)
        }
    });
    cluster.freeze("kube-system/coredns-b");
    let j = probe_svc(&cluster, &["frontend"]);
    let dns = status(&j, "dns.resolves");
    assert_eq!(dns["status"], "fail", "{dns:#}");
    assert_eq!(dns["code"], "ND5003", "{dns:#}");
    let said = dns.to_string();
    assert!(
        said.contains("via replica coredns-b") && said.contains("times out"),
        "{said}"
    );
    assert!(!said.contains("egress is blocked"), "{said}");
    // The healthy replica answered when asked directly.
    let lookups: Vec<&serde_json::Value> = dns["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "DnsLookup")
        .collect();
    assert!(
        lookups.iter().any(
            |e| e["message"].as_str().unwrap_or("").contains("coredns-lab")
                && e["fields"]["verdict"] == "resolved"
        ),
        "{dns:#}"
    );
    let fix = dns["fix"].to_string();
    assert!(
        fix.contains("describe pod coredns-b -n kube-system"),
        "{fix}"
    );
    assert_no_probe_pods(&cluster);
}

/// Broken on purpose, for real: a Ready pod whose server binds 127.0.0.1 only, and one that
/// listens on another port than the declared one. The probe's SYNs reach them across the data
/// plane and are answered with resets: ND4001, nothing listens on the target port (either cause,
/// as pods.listening's page says), never "dropped".
#[test]
fn misbehaving_servers_are_refused_for_real() {
    let folder = repo().join("tests/dataplane/misbehaving");
    let Some((cluster, _root)) = data_plane_cluster_of(&folder, &[]) else {
        return;
    };
    for svc in ["cart", "web"] {
        let j = probe_svc(&cluster, &[svc]);
        let listening = status(&j, "pods.listening");
        assert_eq!(listening["status"], "fail", "{svc}: {listening:#}");
        assert_eq!(listening["code"], "ND4001", "{svc}: {listening:#}");
        let said = listening.to_string();
        assert!(
            said.contains("refused") && !said.contains("dropped"),
            "{svc}: {said}"
        );
    }
    // --inspect reads each pod's socket table from inside it (an ephemeral container, with the
    // /proc a container has): which of the two causes it is, and the one fix for it.
    for (svc, found, fix) in [
        (
            "cart",
            "cart-1 listens on 127.0.0.1:8080 only",
            "bind 0.0.0.0:8080",
        ),
        (
            "web",
            "web-1 listens on 8081, not 8080",
            "targetPort at 8081",
        ),
    ] {
        let j = probe_svc(&cluster, &[svc, "--inspect"]);
        let listening = status(&j, "pods.listening");
        let said = evidence(&j, "pods.listening");
        assert!(said.contains(found), "{svc}: {said}");
        let fixes = listening["fix"].to_string();
        assert!(fixes.contains(fix), "{svc}: {fixes}");
        assert!(
            !fixes.contains("ss -lntup"),
            "{svc}: a guess beside the answer: {fixes}"
        );
    }
    assert_no_probe_pods(&cluster);
}

/// Istio's PeerAuthentication as its CRD serves it (v1 preferred, v1beta1 served), schema left
/// open: what discovery and the lists of a real API server give the tool.
const PEER_AUTHENTICATION_CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: peerauthentications.security.istio.io}
spec:
  group: security.istio.io
  scope: Namespaced
  names: {kind: PeerAuthentication, listKind: PeerAuthenticationList, plural: peerauthentications, singular: peerauthentication}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
  - {name: v1beta1, served: true, storage: false, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
";

/// The healthy scenario with an Istio sidecar beside each frontend pod, through the real data
/// plane. Istio's proxy cannot be built here (Envoy is C++, outside the registries), so the
/// pods' stand-in servers play its part on the wire (`netdoctor.test/serve: reset-plaintext`:
/// handshake accepted, plaintext that is not HTTP reset). What this holds against the real API
/// server is the mesh half: discovery of the CRD's group, the lists at the version it serves
/// (AuthorizationPolicy is not served: none exist), the PeerAuthentication precedence, and a
/// printed exception that the real server accepts and that moves the verdict for its port only.
#[test]
fn a_strict_mesh_refuses_the_probe_and_its_printed_exception_moves_the_verdict() {
    let healthy = repo().join("tests/scenarios/healthy");
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(
        healthy.join("manifests.yaml"),
        folder.path().join("manifests.yaml"),
    )
    .unwrap();
    let pods = std::fs::read_to_string(healthy.join("cluster.yaml")).unwrap();
    let ports = "    ports: [{name: http, containerPort: 8080, protocol: TCP}, {name: grpc, containerPort: 9000, protocol: TCP}]\n";
    let labels = "  labels: {app: frontend, pod-template-hash: 6b7c}\n";
    assert_eq!(
        pods.matches(ports).count(),
        2,
        "the healthy scenario changed"
    );
    assert_eq!(
        pods.matches(labels).count(),
        2,
        "the healthy scenario changed"
    );
    let injected = pods
        .replace(
            ports,
            &format!("{ports}  - {{name: istio-proxy, image: docker.io/istio/proxyv2:1.24.0}}\n"),
        )
        .replace(
            labels,
            &format!("{labels}  annotations: {{netdoctor.test/serve: reset-plaintext}}\n"),
        );
    std::fs::write(folder.path().join("cluster.yaml"), injected).unwrap();
    let Some((cluster, _root)) = data_plane_cluster_of(folder.path(), &[]) else {
        return;
    };
    let listening = |j: &serde_json::Value| status(j, "pods.listening").clone();

    // No mesh API served: nothing demands mTLS; the proxy's reset is a doubt, not a verdict.
    let j = probe_frontend(&cluster);
    let pl = listening(&j);
    assert_eq!(pl["status"], "pass", "{pl:#}");
    assert!(
        pl.to_string()
            .contains("PERMISSIVE (no PeerAuthentication applies)"),
        "{pl:#}"
    );

    // A mesh-wide STRICT policy in Istio's root namespace.
    let crd = folder.path().join("crd.yaml");
    std::fs::write(&crd, PEER_AUTHENTICATION_CRD).unwrap();
    cluster.kubectl_ok(&["apply", "-f", crd.to_str().unwrap()]);
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/peerauthentications.security.istio.io",
        "--timeout=30s",
    ]);
    let strict = folder.path().join("strict.yaml");
    std::fs::write(
        &strict,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}\n---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n",
    )
    .unwrap();
    cluster.kubectl_ok(&["apply", "-f", strict.to_str().unwrap()]);
    let j = probe_frontend(&cluster);
    let pl = listening(&j);
    assert_eq!(pl["status"], "warn", "{pl:#}");
    assert_eq!(pl["code"], "ND4009", "{pl:#}");
    // Two pods, two ports each: every endpoint refused by the mesh.
    assert!(
        pl["summary"]
            .as_str()
            .unwrap()
            .starts_with("4 of 4 endpoint(s) refused by the mesh"),
        "{pl:#}"
    );
    assert!(
        pl.to_string()
            .contains("Istio PeerAuthentication istio-system/default (STRICT mesh-wide)"),
        "{pl:#}"
    );

    // The printed exception for port 8080, pasted into bash as printed.
    let commands = crate::support::fix_commands(&pl["fix"]);
    let exception = commands
        .iter()
        .find(|c| c.contains("kind: PeerAuthentication") && c.contains("8080:"))
        .unwrap_or_else(|| panic!("no exception for 8080 among {commands:#?}"));
    assert!(
        exception.contains(&format!("--kubeconfig {}", cluster.kubeconfig().display())),
        "{exception}"
    );
    let (_shim, path) = kubectl_shim(&cluster);
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(exception)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{exception}: {out:?}");
    // Port 8080 now takes plaintext on the frontend pods; 9000 still requires mTLS.
    let j = probe_frontend(&cluster);
    let pl = listening(&j);
    assert_eq!(pl["code"], "ND4009", "{pl:#}");
    assert!(
        pl["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 of 4 endpoint(s) refused by the mesh"),
        "{pl:#}"
    );
    assert!(
        pl.to_string().contains(
            "Istio PeerAuthentication shop/frontend-8080-plaintext (PERMISSIVE on port 8080)"
        ),
        "{pl:#}"
    );
    assert_no_probe_pods(&cluster);
}
