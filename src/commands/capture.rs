//! `capture POD -w FILE.pcap`: packets from a pod's network namespace, by an ephemeral container
//! running the agent (`agent --pcap - --pcap-encoding base64`). The agent writes the pcap as base64
//! text lines — a container log keeps text lines intact — and ends by itself after `--duration`;
//! the CLI reads the log when the container has terminated and writes the pcap file.
//!
//! Ephemeral containers cannot be removed: the entry stays in the pod's spec (said on stderr), and
//! the agent enforces its own deadline whatever happens to the CLI.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde_json::json;

use crate::agent::pcap::{Filter, decode_base64_lines};
use crate::cli::CaptureArgs;
use crate::config::{Settings, validate_name};
use crate::error::{Error, Result};
use crate::source::live::Live;
use crate::text;
use crate::wire::Line;

pub(crate) async fn run(settings: &Settings, args: &CaptureArgs) -> Result<ExitCode> {
    let name = args.pod.strip_prefix("pod/").unwrap_or(&args.pod);
    validate_name("pod name", name)?;
    if let Some(expr) = &args.filter {
        Filter::parse(expr).map_err(Error::Usage)?;
    }
    validate_limits(args)?;
    // The ephemeral container can never be removed: every input, the output file included, is
    // checked before it is added.
    let mut output = PcapOutput::open(&args.write)?;
    let live = Live::connect(settings).await?;
    let ns = live.namespace(settings);
    let prober = super::prober(&live);
    let pod = running_pod(&live, &prober, &ns, name, args.container.as_deref()).await?;
    if pod.spec.as_ref().and_then(|s| s.host_network) == Some(true) {
        eprintln!("note: {ns}/{name} uses the host's network: this captures the node's traffic");
    }
    let log = capture_log(&prober, args, &ns, name).await?;
    let bytes = decode_base64_lines(&log)
        .map_err(|e| Error::Unreachable(format!("the capture's log is damaged: {e}")))?;
    let summary = log.lines().rev().find_map(|l| match Line::parse(l) {
        Some(Ok(Line::Summary(s))) => Some(s),
        _ => None,
    });
    if bytes.is_empty() {
        let said = summary
            .as_ref()
            .and_then(|s| s.capture.reason.clone())
            .or_else(|| log.lines().last().map(str::to_string))
            .unwrap_or_else(|| "nothing".into());
        return Err(Error::Unreachable(format!(
            "the capture produced no pcap; the agent said: {}",
            text::sanitize(&said)
        )));
    }
    output.write(&bytes)?;
    let capture = summary.map(|s| s.capture);
    let packets = capture
        .as_ref()
        .and_then(|c| c.pcap.as_ref())
        .map_or(0, |p| p.packets);
    let interfaces = capture.map(|c| c.interfaces.join(", ")).unwrap_or_default();
    eprintln!(
        "wrote {packets} packet(s) captured on {} to {}",
        text::sanitize(&interfaces),
        args.write.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What the agent would refuse or never end with, refused here: the ephemeral container is
/// irreversible.
fn validate_limits(args: &CaptureArgs) -> Result<()> {
    if args.duration.is_zero() {
        return Err(Error::Usage(
            "--duration 0 captures nothing: give a duration such as 20s".into(),
        ));
    }
    if args.max_packets == Some(0) {
        return Err(Error::Usage(
            "--max-packets 0 captures nothing: give 1 or more".into(),
        ));
    }
    if let Some(iface) = &args.iface {
        // Linux interface names: 1 to 15 bytes, no '/', ':' or whitespace.
        let valid = !iface.is_empty()
            && iface.len() <= 15
            && !iface
                .chars()
                .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
        if !valid {
            return Err(Error::Usage(text::sanitize(&format!(
                "--iface {iface:?} is not an interface name (1 to 15 characters, no '/', ':' or spaces)"
            ))));
        }
    }
    Ok(())
}

/// The pod to capture in: it exists, runs, and has the container `-c` names.
async fn running_pod(
    live: &Live,
    prober: &crate::probe::run::Prober,
    ns: &str,
    name: &str,
    container: Option<&str>,
) -> Result<Pod> {
    let pods: Api<Pod> = Api::namespaced(prober.client.clone(), ns);
    let pod = match prober.bounded(pods.get_opt(name)).await {
        Ok(pod) => pod,
        Err(kube::Error::Api(s)) if s.code == 403 => {
            return Err(Error::Unreachable(format!(
                "forbidden: needs get pods in {ns}"
            )));
        }
        Err(kube::Error::Api(s)) => {
            return Err(Error::Unreachable(format!(
                "get pods: {}",
                text::sanitize(&s.message)
            )));
        }
        Err(other) => {
            return Err(Error::Api {
                message: format!(
                    "cannot reach the API server: {}",
                    text::sanitize(&other.to_string())
                ),
                source: Box::new(other),
            });
        }
    };
    let Some(pod) = pod else {
        live.confirm_api_server().await?;
        let hint = live
            .did_you_mean::<k8s_openapi::api::core::v1::Pod>(ns, name)
            .await;
        return Err(Error::NotFound(format!("pod {ns}/{name} not found{hint}")));
    };
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
    if let Some(target) = container {
        let names: Vec<&str> = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .map(|c| c.name.as_str())
            .collect();
        if !names.contains(&target) {
            return Err(Error::Usage(text::sanitize(&format!(
                "pod {ns}/{name} has no container {target:?} (containers: {})",
                names.join(", ")
            ))));
        }
    }
    Ok(pod)
}

/// Adds the capture container (it stays in the pod's spec), waits for it to end, and reads its
/// log: the pcap as base64 lines, then the agent's summary.
async fn capture_log(
    prober: &crate::probe::run::Prober,
    args: &CaptureArgs,
    ns: &str,
    name: &str,
) -> Result<String> {
    use crate::probe::run::EphemeralError;
    use crate::state::Unavailable;
    let container = crate::probe::run::ephemeral_name("netdoctor-capture");
    let spec = ephemeral_container(args, &container);
    let limit = args.duration + Duration::from_secs(60);
    let added = prober.add_ephemeral(ns, name, spec).await;
    let log = match added {
        Ok(()) => {
            eprintln!(
                "capturing in pod {ns}/{name} for {} s (ephemeral container {container}; it stays in the pod's spec, as every ephemeral container does)",
                args.duration.as_secs()
            );
            prober
                .wait_ephemeral(ns, name, &container, &args.probe_image, limit)
                .await
        }
        Err(e) => Err(e),
    };
    log.map_err(|e| {
        Error::Unreachable(match e {
            EphemeralError::Refused(m) | EphemeralError::CannotStart(m) => {
                format!("the capture container cannot run in {ns}/{name}: {m}")
            }
            EphemeralError::Failed(Unavailable::Failed(m) | Unavailable::Stopped(m)) => m,
            EphemeralError::Failed(u) => u.reason(),
        })
    })
}

/// Where the pcap goes: stdout, or a file created (as a hidden temporary beside it) before anything
/// is written to the cluster, and renamed into place only once the capture is complete — a failed
/// capture leaves no file behind, and an unwritable path fails before the pod is touched.
enum PcapOutput {
    Stdout,
    /// A FIFO or a character device (a reader such as `wireshark -k -i FIFO`, or /dev/stdout):
    /// written in place, opened only when the pcap is there (opening a FIFO waits for its
    /// reader).
    Stream(std::path::PathBuf),
    File {
        target: std::path::PathBuf,
        temp: std::path::PathBuf,
        file: Option<std::fs::File>,
    },
}

impl PcapOutput {
    fn open(path: &std::path::Path) -> Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(PcapOutput::Stdout);
        }
        let cannot = |e: std::io::Error| {
            Error::Usage(text::sanitize(&format!(
                "cannot write {}: {e}",
                path.display()
            )))
        };
        if path.is_dir() {
            return Err(cannot(std::io::Error::other("it is a directory")));
        }
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::FileTypeExt;
            let kind = meta.file_type();
            if kind.is_fifo() || kind.is_char_device() {
                return Ok(PcapOutput::Stream(path.to_path_buf()));
            }
            if !kind.is_file() {
                return Err(cannot(std::io::Error::other(
                    "not a regular file, a FIFO or a character device",
                )));
            }
        }
        // A symlink to a file: the file is replaced, the link stays.
        let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let path = resolved.as_path();
        let file_name = path
            .file_name()
            .ok_or_else(|| cannot(std::io::Error::other("no file name")))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(file_name);
        temp_name.push(format!(".netdoctor-{}.tmp", std::process::id()));
        let temp = path.with_file_name(temp_name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(cannot)?;
        Ok(PcapOutput::File {
            target: path.to_path_buf(),
            temp,
            file: Some(file),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            PcapOutput::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()?;
            }
            PcapOutput::Stream(path) => {
                let cannot = |e: std::io::Error| {
                    Error::Usage(format!("cannot write {}: {e}", path.display()))
                };
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&*path)
                    .map_err(cannot)?;
                f.write_all(bytes).map_err(cannot)?;
            }
            PcapOutput::File { target, temp, file } => {
                let cannot = |e: std::io::Error| {
                    Error::Usage(format!("cannot write {}: {e}", target.display()))
                };
                let mut f = file.take().expect("written once");
                let written = f
                    .write_all(bytes)
                    .and_then(|()| f.sync_all())
                    .and_then(|()| std::fs::rename(&*temp, &*target));
                if let Err(e) = written {
                    // A full disk: the hidden temporary goes, and the error says why.
                    let _ = std::fs::remove_file(&*temp);
                    return Err(cannot(e));
                }
            }
        }
        Ok(())
    }
}

impl Drop for PcapOutput {
    fn drop(&mut self) {
        if let PcapOutput::File {
            temp,
            file: Some(_),
            ..
        } = self
        {
            let _ = std::fs::remove_file(temp);
        }
    }
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
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    });
    if let Some(target) = &args.container {
        c["targetContainerName"] = json!(target);
    }
    c
}
