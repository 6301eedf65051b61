//! What a cluster does after a Job is created, reduced to what the probe flow sees: the Job
//! controller makes one Pod (owned by the Job, labelled `job-name`), PodSecurity admission may
//! refuse it (an Event `FailedCreate` on the Job, as upstream), and a fake kubelet runs it — the
//! test decides how (typically the real agent binary, in a network namespace when root) — then the
//! Pod's phase, container state and logs, and the Job's conditions, are set as a kubelet and the Job
//! controller would.
//!
//! Its PodSecurity rules are written here from the Pod Security Standards, separately from the
//! product's capture ladder (a shared table would make the tests unable to fail).

use std::sync::Arc;

use serde_json::{Value, json};

/// How the fake kubelet ends a pod's run.
#[derive(Debug, Clone)]
pub enum PodRun {
    /// The container ran and exited; what it printed becomes the pod's log.
    Exited { logs: String, exit_code: i32 },
    /// The container never starts (ErrImagePull, CreateContainerConfigError, …).
    Waiting { reason: String, message: String },
    /// The pod stays Running and never ends (for timeouts and interruptions).
    Hang,
    /// No node fits: the scheduler leaves the pod Pending, PodScheduled False (Unschedulable)
    /// with its message, and no nodeName.
    Unschedulable { message: String },
}

/// Runs a pod; given the Pod object as created.
pub type Kubelet = Arc<dyn Fn(&Value) -> PodRun + Send + Sync>;

/// Runs an ephemeral container; given the pod and the container.
pub type EphemeralRunner = Arc<dyn Fn(&Value, &Value) -> PodRun + Send + Sync>;

/// Why PodSecurity at `level` refuses this pod spec, if it does.
pub fn pod_security_violations(level: &str, spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if level == "privileged" {
        return out;
    }
    // baseline: added capabilities only from this list (NET_RAW is not on it), no privileged,
    // no host namespaces.
    const BASELINE_ADD: &[&str] = &[
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    ];
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[key] == json!(true) {
            out.push(format!("host namespaces ({key}=true)"));
        }
    }
    let containers = spec["containers"].as_array().cloned().unwrap_or_default();
    for c in &containers {
        let name = c["name"].as_str().unwrap_or("?");
        let sc = &c["securityContext"];
        if sc["privileged"] == json!(true) {
            out.push(format!(
                "privileged (container \"{name}\" must not set securityContext.privileged=true)"
            ));
        }
        let added: Vec<&str> = sc["capabilities"]["add"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let extra: Vec<&str> = added
            .iter()
            .copied()
            .filter(|c| !BASELINE_ADD.contains(c))
            .collect();
        if !extra.is_empty() {
            out.push(format!(
                "non-default capabilities (container \"{name}\" must not include \"{}\" in securityContext.capabilities.add)",
                extra.join("\", \"")
            ));
        }
    }
    if level != "restricted" {
        return out;
    }
    let pod_sc = &spec["securityContext"];
    for c in &containers {
        let name = c["name"].as_str().unwrap_or("?");
        let sc = &c["securityContext"];
        if sc["allowPrivilegeEscalation"] != json!(false) {
            out.push(format!("allowPrivilegeEscalation != false (container \"{name}\" must set securityContext.allowPrivilegeEscalation=false)"));
        }
        let drops_all = sc["capabilities"]["drop"]
            .as_array()
            .is_some_and(|d| d.iter().any(|c| c == "ALL"));
        let adds_other = sc["capabilities"]["add"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c != "NET_BIND_SERVICE"));
        if !drops_all || adds_other {
            out.push(format!("unrestricted capabilities (container \"{name}\" must set securityContext.capabilities.drop=[\"ALL\"])"));
        }
        let non_root = sc["runAsNonRoot"] == json!(true)
            || (sc["runAsNonRoot"].is_null() && pod_sc["runAsNonRoot"] == json!(true));
        if !non_root {
            out.push(format!("runAsNonRoot != true (container \"{name}\" must set securityContext.runAsNonRoot=true)"));
        }
        let uid = sc["runAsUser"].as_i64().or(pod_sc["runAsUser"].as_i64());
        if uid == Some(0) {
            out.push(format!(
                "runAsUser=0 (container \"{name}\" must not set runAsUser=0)"
            ));
        }
        let seccomp = sc["seccompProfile"]["type"]
            .as_str()
            .or(pod_sc["seccompProfile"]["type"].as_str());
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            out.push(format!("seccompProfile (container \"{name}\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"));
        }
    }
    out
}

/// The Pod the Job controller makes from a Job.
pub fn pod_for_job(job: &Value, suffix: &str) -> Value {
    let name = job["metadata"]["name"].as_str().unwrap_or_default();
    let uid = job["metadata"]["uid"].as_str().unwrap_or_default();
    let template = &job["spec"]["template"];
    let mut labels = template["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    labels.insert("job-name".into(), json!(name));
    labels.insert("batch.kubernetes.io/job-name".into(), json!(name));
    labels.insert("controller-uid".into(), json!(uid));
    labels.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
    // The scheduler's part: a pod not pinned to a node lands on "node-1".
    let mut spec = template["spec"].clone();
    if spec["nodeName"].as_str().is_none_or(str::is_empty) {
        spec["nodeName"] = json!("node-1");
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{name}-{suffix}"),
            "namespace": job["metadata"]["namespace"],
            "labels": labels,
            "annotations": template["metadata"]["annotations"],
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid,
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": spec,
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]},
    })
}

/// The status a kubelet reports for a run, and the Job status that follows.
pub fn finished(pod: &mut Value, job: &mut Value, run: &PodRun) {
    let container = pod["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap_or("agent")
        .to_string();
    match run {
        PodRun::Exited { exit_code, .. } => {
            let ok = *exit_code == 0;
            pod["status"]["phase"] = json!(if ok { "Succeeded" } else { "Failed" });
            pod["status"]["containerStatuses"] = json!([{
                "name": container, "ready": false, "restartCount": 0, "image": pod["spec"]["containers"][0]["image"],
                "state": {"terminated": {"exitCode": exit_code, "reason": if ok { "Completed" } else { "Error" }}},
            }]);
            let (kind, field) = if ok {
                ("Complete", "succeeded")
            } else {
                ("Failed", "failed")
            };
            job["status"] = json!({
                field: 1,
                "conditions": [{"type": kind, "status": "True"}],
            });
        }
        PodRun::Waiting { reason, message } => {
            pod["status"]["containerStatuses"] = json!([{
                "name": container, "ready": false, "restartCount": 0, "image": pod["spec"]["containers"][0]["image"],
                "state": {"waiting": {"reason": reason, "message": message}},
            }]);
        }
        PodRun::Unschedulable { message } => {
            if let Some(spec) = pod["spec"].as_object_mut() {
                spec.remove("nodeName");
            }
            pod["status"] = json!({"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
            }]});
            job["status"] = json!({"active": 1});
        }
        PodRun::Hang => {
            pod["status"]["phase"] = json!("Running");
            pod["status"]["containerStatuses"] = json!([{
                "name": container, "ready": false, "restartCount": 0,
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
            }]);
            job["status"] = json!({"active": 1});
        }
    }
}
