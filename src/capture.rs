//! `capture POD -w FILE.pcap`: packets from a pod's network namespace, by an ephemeral container
//! running the agent (`agent --pcap - --pcap-encoding base64`). The agent writes the pcap as base64
//! text lines — a container log keeps text lines intact — and ends by itself after `--duration`;
//! the CLI reads the log when the container has terminated and writes the pcap file.
//!
//! Ephemeral containers cannot be removed: the entry stays in the pod's spec (said on stderr), and
//! the agent enforces its own deadline whatever happens to the CLI.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams, Patch, PatchParams};
use serde_json::json;

use crate::agent::pcap::{Filter, decode_base64_lines};
use crate::cli::CaptureArgs;
use crate::config::{Settings, validate_name};
use crate::error::{Error, Result};
use crate::source::live::Live;
use crate::text;

/// Waiting reasons that will not resolve by waiting.
const STUCK: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

pub async fn run(settings: &Settings, args: &CaptureArgs) -> Result<ExitCode> {
    let name = args.pod.strip_prefix("pod/").unwrap_or(&args.pod);
    validate_name("pod name", name)?;
    if let Some(expr) = &args.filter {
        Filter::parse(expr).map_err(Error::Usage)?;
    }
    let live = Live::connect(settings).await?;
    let ns = settings
        .namespace
        .clone()
        .unwrap_or_else(|| live.default_namespace.clone());
    let prober = live.prober();
    let pods: Api<Pod> = Api::namespaced(prober.client.clone(), &ns);
    let forbidden = |verb: &str, what: &str| {
        Error::Unreachable(format!("forbidden: needs {verb} {what} in {ns}"))
    };
    let failed = |what: &str, e: kube::Error| match e {
        kube::Error::Api(s) if s.code == 403 => {
            let (verb, res) = what.split_once(' ').unwrap_or((what, ""));
            forbidden(verb, res)
        }
        kube::Error::Api(s) => {
            Error::Unreachable(format!("{what}: {}", text::sanitize(&s.message)))
        }
        other => Error::Unreachable(format!(
            "cannot reach the API server: {}",
            text::sanitize(&other.to_string())
        )),
    };
    let pod = prober
        .bounded(pods.get_opt(name))
        .await
        .map_err(|e| failed("get pods", e))?
        .ok_or_else(|| Error::NotFound(format!("pod {ns}/{name} not found")))?;
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    if phase != "Running" {
        return Err(Error::NotFound(format!(
            "pod {ns}/{name} is {phase}, not Running: it has no traffic to capture"
        )));
    }
    if pod.spec.as_ref().and_then(|s| s.host_network) == Some(true) {
        eprintln!("note: {ns}/{name} uses the host's network: this captures the node's traffic");
    }
    let container = container_name();
    let spec = ephemeral_container(args, &container);
    let patch = Patch::Strategic(json!({"spec": {"ephemeralContainers": [spec]}}));
    prober
        .bounded(pods.patch_ephemeral_containers(name, &PatchParams::default(), &patch))
        .await
        .map_err(|e| failed("patch pods/ephemeralcontainers", e))?;
    eprintln!(
        "capturing in pod {ns}/{name} for {} s (ephemeral container {container}; it stays in the pod's spec, as every ephemeral container does)",
        args.duration.as_secs()
    );
    let log = wait_for_log(&prober, &pods, name, &container, args, &ns).await?;
    let bytes = decode_base64_lines(&log)
        .map_err(|e| Error::Unreachable(format!("the capture's log is damaged: {e}")))?;
    let summary = log
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok());
    if bytes.is_empty() {
        let said = summary
            .as_ref()
            .map(|s| s.to_string())
            .or_else(|| log.lines().last().map(str::to_string))
            .unwrap_or_else(|| "nothing".into());
        return Err(Error::Unreachable(format!(
            "the capture produced no pcap; the agent said: {}",
            text::sanitize(&said)
        )));
    }
    if args.write.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        out.flush()?;
    } else {
        std::fs::write(&args.write, &bytes)
            .map_err(|e| Error::Usage(format!("cannot write {}: {e}", args.write.display())))?;
    }
    let packets = summary
        .as_ref()
        .and_then(|s| s["capture"]["pcap"]["packets"].as_u64())
        .unwrap_or(0);
    let interfaces = summary
        .as_ref()
        .and_then(|s| s["capture"]["interfaces"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!(
        "wrote {packets} packet(s) captured on {} to {}",
        text::sanitize(&interfaces),
        args.write.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A name no earlier capture used (ephemeral container names are forever).
fn container_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("netdoctor-capture-{:x}", (nanos as u64) & 0xff_ffff)
}

fn ephemeral_container(args: &CaptureArgs, name: &str) -> serde_json::Value {
    let secs = args.duration.as_secs().max(1);
    let mut agent = vec![
        "agent".to_string(),
        "--pcap".into(),
        "-".into(),
        "--pcap-encoding".into(),
        "base64".into(),
        "--duration".into(),
        format!("{secs}s"),
        "--hard-deadline".into(),
        format!("{}s", secs + 30),
    ];
    if let Some(filter) = &args.filter {
        agent.extend(["--filter".into(), filter.clone()]);
    }
    if let Some(max) = args.max_packets {
        agent.extend(["--max-packets".into(), max.to_string()]);
    }
    if let Some(iface) = &args.iface {
        agent.extend(["--capture-iface".into(), iface.clone()]);
    }
    let mut c = json!({
        "name": name,
        "image": args.probe_image,
        "command": ["kubectl-netdoctor"],
        "args": agent,
        "securityContext": {
            "runAsUser": 0,
            "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["NET_RAW"], "drop": ["ALL"]},
        },
    });
    if let Some(target) = &args.container {
        c["targetContainerName"] = json!(target);
    }
    c
}

async fn wait_for_log(
    prober: &crate::probe::run::Prober,
    pods: &Api<Pod>,
    name: &str,
    container: &str,
    args: &CaptureArgs,
    ns: &str,
) -> Result<String> {
    let started = Instant::now();
    let limit = args.duration + Duration::from_secs(60);
    let mut delay = Duration::from_millis(200);
    loop {
        if started.elapsed() > limit {
            return Err(Error::Unreachable(format!(
                "the capture container {container} did not finish within {} s; kubectl logs -n {ns} {name} -c {container}",
                limit.as_secs()
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
        let Ok(pod) = prober.bounded(pods.get(name)).await else {
            continue;
        };
        let status = pod
            .status
            .and_then(|s| s.ephemeral_container_statuses)
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.name == container);
        let Some(state) = status.and_then(|s| s.state) else {
            continue;
        };
        if let Some(w) = state
            .waiting
            .filter(|w| STUCK.contains(&w.reason.as_deref().unwrap_or("")))
        {
            return Err(Error::Unreachable(format!(
                "the capture image {} cannot start: {}: {} (mirror it and pass --probe-image)",
                args.probe_image,
                w.reason.unwrap_or_default(),
                text::sanitize(&w.message.unwrap_or_default())
            )));
        }
        if state.terminated.is_none() {
            continue;
        }
        let params = LogParams {
            container: Some(container.to_string()),
            ..Default::default()
        };
        return prober
            .bounded(pods.logs(name, &params))
            .await
            .map_err(|e| match e {
                kube::Error::Api(s) if s.code == 403 => {
                    Error::Unreachable(format!("forbidden: needs get pods/log in {ns}"))
                }
                other => Error::Unreachable(format!(
                    "cannot read the capture's log: {}",
                    text::sanitize(&other.to_string())
                )),
            });
    }
}
