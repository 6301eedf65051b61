//! The incident bundle (`--bundle FILE.tar.gz`): what a run saw, for the ticket and for the
//! colleague who wakes up next — the report, the objects read (redacted), the probe's agent lines,
//! and the versions and timings. `svc NAME -f FILE.tar.gz` replays the API half offline from it.
//!
//! Layout (a gzip-compressed tar):
//! - `report.json`: the report as `-o json` prints it;
//! - `objects.json`: a `v1 List` of every object the run read, once each — Secrets without their
//!   data (only metadata and type, marked with [`REDACTED_ANNOTATION`]), container `env` values
//!   and sensitive annotations replaced with [`REDACTED`], `managedFields` dropped;
//! - `probe/<node>.jsonl`: each probe's agent lines as it printed them;
//! - `meta.json`: the tool's version, the context and server, when the run started and how long
//!   it took;
//! - `README.txt`: what is in it and how to replay it.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::state::{ClusterState, Fact};

/// What a redacted value reads.
pub(crate) const REDACTED: &str = "<redacted by kubectl-netdoctor>";
/// Set on a Secret whose data the bundle left out.
pub(crate) const REDACTED_ANNOTATION: &str = "netdoctor.io/bundle-redacted";
/// The member replay reads.
pub(crate) const OBJECTS: &str = "objects.json";

/// Annotations whose values are redacted: a last-applied configuration carries a whole object
/// (a Secret's data, a pod's env), and these words mark credentials.
fn sensitive_annotation(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "kubectl.kubernetes.io/last-applied-configuration"
        || [
            "token",
            "password",
            "secret",
            "credential",
            "apikey",
            "api-key",
        ]
        .iter()
        .any(|w| key.contains(w))
}

/// An object as the bundle keeps it (see the module's documentation).
fn redact(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            for (k, val) in ann.iter_mut() {
                if sensitive_annotation(k) {
                    *val = json!(REDACTED);
                }
            }
        }
    }
    if v["kind"] == "Secret" {
        if let Some(obj) = v.as_object_mut() {
            obj.remove("data");
            obj.remove("stringData");
        }
        v["metadata"]["annotations"][REDACTED_ANNOTATION] = json!("data");
        return v;
    }
    for spec in ["/spec", "/spec/template/spec"] {
        let Some(spec) = v.pointer_mut(spec) else {
            continue;
        };
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for c in spec
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                for e in c
                    .get_mut("env")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if e.get("value").is_some() {
                        e["value"] = json!(REDACTED);
                    }
                }
            }
        }
    }
    v
}

/// The objects of a state, each once (by apiVersion, kind, namespace, name), redacted.
pub(crate) fn objects(state: &ClusterState) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut seen: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    let mut add = |v: Value| {
        let key = (
            v["apiVersion"].as_str().unwrap_or_default().to_string(),
            v["kind"].as_str().unwrap_or_default().to_string(),
            v["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            v["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        if !key.1.is_empty() && seen.insert(key) {
            out.push(redact(v));
        }
    };
    fn all<T: serde::Serialize, L: AsRef<[T]>>(fact: &Fact<L>) -> Vec<Value> {
        fact.known()
            .into_iter()
            .flat_map(|l| l.as_ref())
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect()
    }
    if let Some(svc) = state.service() {
        add(serde_json::to_value(svc).unwrap_or_default());
    }
    for v in all(&state.pods)
        .into_iter()
        .chain(all(&state.namespace_pods))
        .chain(all(&state.pods_elsewhere))
        .chain(all(&state.slices))
        .chain(all(&state.unlabelled_slices))
        .chain(all(&state.events))
        .chain(all(&state.nodes))
        .chain(all(&state.policies))
        .chain(all(&state.dns_pods))
        .chain(all(&state.ingresses))
        .chain(all(&state.ingress_classes))
        .chain(all(&state.controller_pods))
    {
        add(v);
    }
    for ns in state.namespaces.known().into_iter().flat_map(|n| n.iter()) {
        add(serde_json::to_value(ns).unwrap_or_default());
    }
    if let Some(crate::state::Client::Pod { pod, .. }) = &state.client
        && let Fact::Known(Some(pod)) = pod.as_ref()
    {
        add(serde_json::to_value(pod).unwrap_or_default());
    }
    for (_, secret) in &state.tls_secrets {
        if let Fact::Known(Some(secret)) = secret {
            add(serde_json::to_value(secret).unwrap_or_default());
        }
    }
    if let Some(g) = state.gateway.known() {
        // Read at whichever version the cluster served; written at v1, which replay reads.
        let typed = |v: Value, kind: &str| -> Value {
            let mut v = v;
            v["apiVersion"] = json!("gateway.networking.k8s.io/v1");
            v["kind"] = json!(kind);
            v
        };
        let values = |items: Option<&Vec<_>>, kind: &str| -> Vec<Value> {
            items
                .into_iter()
                .flatten()
                .filter_map(|o: &crate::gateway::Gateway| serde_json::to_value(o).ok())
                .map(|v| typed(v, kind))
                .collect()
        };
        for v in values(g.gateways.known(), "Gateway") {
            add(v);
        }
        for c in g.classes.known().into_iter().flatten() {
            add(typed(
                serde_json::to_value(c).unwrap_or_default(),
                "GatewayClass",
            ));
        }
        for r in g.grants.known().into_iter().flatten() {
            add(typed(
                serde_json::to_value(r).unwrap_or_default(),
                "ReferenceGrant",
            ));
        }
        for r in &g.routes {
            add(serde_json::to_value(r).unwrap_or_default());
        }
        for v in all(&g.namespaces.clone().map_known(|n| n.to_vec()))
            .into_iter()
            .chain(all(&g.controller_pods))
            .chain(all(&g.data_plane_pods))
        {
            add(v);
        }
        for (_, _, secret) in &g.secrets {
            if let Fact::Known(Some(secret)) = secret {
                add(serde_json::to_value(secret).unwrap_or_default());
            }
        }
    }
    for p in state.tier_policies.known().into_iter().flatten() {
        // Read at whichever version the cluster served; written at one replay reads (the
        // fields the tiers judge are the same in each).
        let api = match p.kind.as_str() {
            "ClusterNetworkPolicy" => "policy.networking.k8s.io/v1alpha2",
            _ => "policy.networking.k8s.io/v1alpha1",
        };
        let mut v = serde_json::to_value(p).unwrap_or_default();
        v["apiVersion"] = json!(api);
        v["kind"] = json!(p.kind);
        add(v);
    }
    out
}

/// The probe runs of a state: (file name, agent lines).
fn probe_logs(state: &ClusterState) -> Vec<(String, String)> {
    let lines = |r: &crate::state::probe::ProbeResults| -> String {
        r.records
            .iter()
            .map(|l| l.to_json() + "\n")
            .chain(
                r.summary
                    .clone()
                    .map(|s| crate::wire::Line::Summary(s).to_json() + "\n"),
            )
            .collect()
    };
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    match &state.per_node {
        Some(per) => per
            .probes
            .iter()
            .filter_map(|p| {
                let r = p.result.known()?;
                Some((format!("probe/{}.jsonl", safe(&p.node.name)), lines(r)))
            })
            .collect(),
        None => state
            .probe
            .known()
            .map(|r| {
                let node = r.node.as_deref().unwrap_or("probe");
                vec![(format!("probe/{}.jsonl", safe(node)), lines(r))]
            })
            .unwrap_or_default(),
    }
}

/// When and how the run went, for `meta.json`.
pub(crate) struct Meta {
    pub command: String,
    pub started: String,
    pub elapsed_ms: u128,
}

const README: &str = "\
kubectl-netdoctor incident bundle

report.json     the report, as -o json prints it
objects.json    the objects the run read (a v1 List): Secrets without their data, container env
                values and sensitive annotations redacted, managedFields dropped
probe/*.jsonl   each probe pod's agent lines (schema: kubectl netdoctor explain pods.listening)
meta.json       the tool's version, the context and server, when the run started, how long it took

Replay the API checks offline:  kubectl netdoctor svc NAME -n NAMESPACE -f THIS_FILE.tar.gz
";

/// Writes the bundle to `path` (through a temporary file beside it: a run cut short leaves no
/// half-written bundle under that name).
pub(crate) fn write(path: &Path, report: &Value, state: &ClusterState, meta: &Meta) -> Result<()> {
    let io = |e: std::io::Error| Error::Usage(format!("--bundle {}: {e}", path.display()));
    let objects = json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {},
        "items": objects(state),
    });
    let cluster = crate::connection::cluster();
    let meta_json = json!({
        "tool": format!("kubectl-netdoctor {}", env!("CARGO_PKG_VERSION")),
        "command": meta.command,
        "context": cluster.and_then(|c| c.context.clone()),
        "server": cluster.map(|c| c.server.clone()),
        "started": meta.started,
        "elapsedMs": meta.elapsed_ms as u64,
    });
    let mut members: Vec<(String, Vec<u8>)> = vec![
        ("README.txt".into(), README.as_bytes().to_vec()),
        (
            "report.json".into(),
            serde_json::to_vec_pretty(report).unwrap_or_default(),
        ),
        (
            OBJECTS.into(),
            serde_json::to_vec_pretty(&objects).unwrap_or_default(),
        ),
        (
            "meta.json".into(),
            serde_json::to_vec_pretty(&meta_json).unwrap_or_default(),
        ),
    ];
    members.extend(
        probe_logs(state)
            .into_iter()
            .map(|(name, text)| (name, text.into_bytes())),
    );
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp_name);
    let written = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in &members {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            tar.append_data(&mut header, name, bytes.as_slice())?;
        }
        tar.into_inner()?.finish()?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// Refuses a `--bundle` path that cannot be written, before the run writes anything to the
/// cluster: a directory, or one in a folder that does not exist.
pub(crate) fn check_path(path: &Path) -> Result<()> {
    let bad = |why: &str| Err(Error::Usage(format!("--bundle {}: {why}", path.display())));
    if path.is_dir() {
        return bad("is a directory; name a file (e.g. incident.tar.gz)");
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return bad("its folder does not exist");
    }
    Ok(())
}

/// The command line as `meta.json` keeps it: credentials given as flags are redacted.
pub(crate) fn command_line() -> String {
    const SECRET_FLAGS: &[&str] = &["--token", "--password", "--username", "--client-key"];
    let mut out: Vec<String> = Vec::new();
    let mut hide_next = false;
    for arg in std::env::args() {
        if hide_next {
            out.push(REDACTED.into());
            hide_next = false;
            continue;
        }
        match arg.split_once('=') {
            Some((flag, _)) if SECRET_FLAGS.contains(&flag) => {
                out.push(format!("{flag}={REDACTED}"));
            }
            _ => {
                hide_next = SECRET_FLAGS.contains(&arg.as_str());
                out.push(crate::text::shell_quote(&arg));
            }
        }
    }
    out.join(" ")
}

/// Whether `head` (a file's first bytes) starts a gzip stream: a bundle, not a manifest.
pub(crate) fn is_bundle(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// The objects member of a bundle, read through `bounded` (the manifests' own size limits: a
/// decompressed member is held to them as any input is).
pub(crate) fn objects_text(
    name: &str,
    input: impl Read,
    bounded: &mut dyn FnMut(&str, &mut dyn Read) -> Result<String>,
) -> Result<String> {
    let bad = |e: std::io::Error| {
        Error::Manifest(format!("{name}: not a netdoctor bundle (a gzip tar): {e}"))
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(input));
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let member = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        if member == OBJECTS {
            return bounded(&format!("{name} ({OBJECTS})"), &mut entry);
        }
    }
    Err(Error::Manifest(format!(
        "{name}: a gzip tar without {OBJECTS}: not a netdoctor bundle"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_env_and_sensitive_annotations_never_leave_in_the_clear() {
        let secret = redact(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "tls", "namespace": "shop"},
            "type": "kubernetes.io/tls",
            "data": {"tls.key": "c2VjcmV0"}, "stringData": {"x": "y"}
        }));
        assert!(secret.get("data").is_none() && secret.get("stringData").is_none());
        assert_eq!(
            secret["metadata"]["annotations"][REDACTED_ANNOTATION],
            "data"
        );
        assert_eq!(secret["type"], "kubernetes.io/tls");
        let pod = redact(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "managedFields": [{}], "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{...}",
                "vault.hashicorp.com/agent-inject-token": "s.abc",
                "prometheus.io/port": "9090"}},
            "spec": {"containers": [{"name": "c", "env": [
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}
            ]}]}
        }));
        let text = pod.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("s.abc"),
            "{text}"
        );
        assert!(pod["metadata"].get("managedFields").is_none());
        assert_eq!(pod["metadata"]["annotations"]["prometheus.io/port"], "9090");
        // A reference names where a value lives, not the value: kept.
        assert_eq!(
            pod["spec"]["containers"][0]["env"][1]["valueFrom"]["secretKeyRef"]["name"],
            "db"
        );
        let deploy = redact(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"initContainers": [{"name": "i", "env": [{"name": "K", "value": "v"}]}]}}}
        }));
        assert_eq!(
            deploy["spec"]["template"]["spec"]["initContainers"][0]["env"][0]["value"],
            REDACTED
        );
    }
}
