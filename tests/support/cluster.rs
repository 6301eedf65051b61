//! The real test cluster (tests/cluster): etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler and the node agent, built from Kubernetes' own Go modules by
//! `tests/cluster/cluster`. One per test that needs it, in a temporary state directory, stopped
//! when dropped.
//!
//! Where Go is missing the tests that need it print why and return, except with `CI=true`,
//! where a missing cluster fails them (CI must run them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::repo;

/// The cluster binary is built once per test process (the wrapper's cache makes later builds
/// a stat, but two tests must not link it at once).
static BUILD: Mutex<()> = Mutex::new(());

pub(crate) struct RealCluster {
    state: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn wrapper() -> PathBuf {
    repo().join("tests/cluster/cluster")
}

/// Whether the real cluster can run here; `None` when it can, else why not. With `CI=true`
/// this panics instead: CI must run every real-cluster test.
pub(crate) fn unavailable() -> Option<String> {
    let why = if Command::new("go").arg("version").output().is_err() {
        Some(
            "Go is not installed (the test cluster is built from Kubernetes' Go modules)"
                .to_string(),
        )
    } else {
        None
    };
    if let Some(w) = &why {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the real cluster cannot run: {w}"
        );
        eprintln!("skipped: {w}");
    }
    why
}

impl RealCluster {
    /// Starts a cluster with `loads` applied; `None` (after saying why) where it cannot run.
    pub(crate) fn up(loads: &[&Path]) -> Option<RealCluster> {
        Self::up_with(loads, &[])
    }

    /// Starts a cluster with more `cluster up` flags (`--agent-root DIR`: the node agent runs
    /// probe pods from the probe image's root filesystem; `--pod-security-default LEVEL`).
    pub(crate) fn up_with(loads: &[&Path], flags: &[&str]) -> Option<RealCluster> {
        if unavailable().is_some() {
            return None;
        }
        let state = tempfile::Builder::new()
            .prefix("ndc-")
            .tempdir()
            .expect("state dir");
        let up = || {
            let mut cmd = Command::new(wrapper());
            cmd.arg("up").arg("--state").arg(state.path());
            for l in loads {
                cmd.arg("--load").arg(l);
            }
            cmd.args(flags);
            let _build = BUILD.lock().unwrap_or_else(|e| e.into_inner());
            cmd.output().expect("run tests/cluster/cluster")
        };
        let mut out = up();
        // Clusters start side by side: one may lose a free port to another between choosing it
        // and binding it. That race, and only it, is tried again (with fresh ports).
        let lost_a_port = |o: &std::process::Output| {
            let e = String::from_utf8_lossy(&o.stderr);
            e.contains("address already in use") || e.contains("bind: address")
        };
        if !out.status.success() && lost_a_port(&out) {
            eprintln!(
                "cluster up lost a port race, trying again:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out = up();
        }
        let cluster = RealCluster {
            kubeconfig: state.path().join("kubeconfig"),
            state,
        };
        assert!(
            out.status.success(),
            "cluster up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(cluster)
    }

    pub(crate) fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub(crate) fn state(&self) -> &Path {
        self.state.path()
    }

    /// Loads a folder of manifests (as `cluster load`), panicking with the loader's error.
    pub(crate) fn load(&self, dir: &Path) {
        if let Err(e) = self.try_load(dir) {
            panic!("cluster load {}:\n{e}", dir.display());
        }
    }

    fn cluster(&self, verb: &str, args: &[&str]) -> std::process::Output {
        Command::new(wrapper())
            .arg(verb)
            .arg("--state")
            .arg(self.state.path())
            .args(args)
            .output()
            .expect("run tests/cluster/cluster")
    }

    /// Loads a folder, returning the loader's error instead of panicking.
    pub(crate) fn try_load(&self, dir: &Path) -> Result<(), String> {
        let out = self.cluster("load", &[dir.to_str().unwrap()]);
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Deletes what the loads created and waits until it is gone.
    pub(crate) fn reset(&self) {
        let out = self.cluster("reset", &[]);
        assert!(
            out.status.success(),
            "cluster reset:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl RealCluster {
    /// The real kubectl of the cluster's release (built into the cluster binary), on its
    /// admin kubeconfig.
    pub(crate) fn kubectl(&self, args: &[&str]) -> std::process::Output {
        self.cluster("kubectl", args)
    }

    /// `kubectl` that must succeed; its stdout.
    pub(crate) fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a host command in a data-plane pod's network namespace (`cluster pod-exec`): its
    /// address, routes and node's enforcement, as a debug container sharing the pod's network.
    pub(crate) fn pod_exec(&self, pod: &str, cmd: &[&str]) -> std::process::Output {
        let mut args = vec![pod];
        args.extend_from_slice(cmd);
        self.cluster("pod-exec", &args)
    }

    /// Runs `cmd` in a data-plane node's network namespace (`cluster node-exec`); panics when it
    /// fails.
    pub(crate) fn node_exec(&self, node: &str, cmd: &[&str]) -> String {
        let mut args = vec![node];
        args.extend_from_slice(cmd);
        let out = self.cluster("node-exec", &args);
        assert!(
            out.status.success(),
            "cluster node-exec {node} {cmd:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stops one node's kube-proxy or enforcer (`cluster stop`), as a crashed DaemonSet pod.
    pub(crate) fn stop(&self, component: &str, node: &str) {
        let out = self.cluster("stop", &[component, node]);
        assert!(
            out.status.success(),
            "cluster stop {component} {node}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Hangs a data-plane pod's processes (`cluster freeze`: SIGSTOP).
    pub(crate) fn freeze(&self, pod: &str) {
        let out = self.cluster("freeze", &[pod]);
        assert!(
            out.status.success(),
            "cluster freeze {pod}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A component's log, for failure messages.
    pub(crate) fn log(&self, component: &str) -> String {
        std::fs::read_to_string(
            self.state
                .path()
                .join("logs")
                .join(format!("{component}.log")),
        )
        .unwrap_or_default()
    }

    /// A kubeconfig (written beside the cluster's own) that authenticates as ServiceAccount
    /// `namespace/name` with a token from the TokenRequest API (`kubectl create token`).
    pub(crate) fn token_kubeconfig(&self, namespace: &str, name: &str) -> PathBuf {
        let token = self.kubectl_ok(&["create", "token", name, "-n", namespace]);
        let admin = std::fs::read_to_string(&self.kubeconfig).expect("admin kubeconfig");
        let clusters = &admin[..admin.find("users:").expect("a users: section")];
        let text = format!(
            "{clusters}users:\n- name: {name}\n  user: {{token: {}}}\ncontexts:\n- name: {name}\n  context: {{cluster: netdoctor-test, user: {name}}}\ncurrent-context: {name}\n",
            token.trim()
        );
        let path = self
            .state
            .path()
            .join(format!("kubeconfig-{namespace}-{name}"));
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

impl Drop for RealCluster {
    fn drop(&mut self) {
        let _ = self.cluster("down", &[]);
    }
}
