//! `capture`: an ephemeral container runs the agent in the pod's network namespace (the fake API
//! server's runner starts the real agent in the lab's server namespace), and the pcap that comes
//! back through the container log opens in tcpdump.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::netns::{CLIENT_IP, Lab, SERVER_IP};
use crate::support::{BIN, FakeApi, PodRun, Run};

fn pod(ip: &str) -> FakeApi {
    let api = FakeApi::new();
    api.load_yaml(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web-a, namespace: shop, labels: {{app: web}}}}\nspec:\n  containers: [{{name: web, image: nginx}}]\nstatus: {{phase: Running, podIP: {ip}}}\n"
    ))
    .unwrap();
    api
}

fn agent_args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_capture_from_the_pods_namespace_opens_in_tcpdump() {
    let Some(mut lab) = Lab::routed("capture_opens_in_tcpdump", &["nc", "ss", "tcpdump"]) else {
        return;
    };
    lab.listen_tcp(8080);
    let api = pod(SERVER_IP);
    let (server_ns, client_ns) = (lab.server.clone(), lab.client.clone());
    api.set_ephemeral_runner(move |_pod, container| {
        assert_eq!(container["command"][0], "kubectl-netdoctor");
        let agent = Command::new("ip")
            .args(["netns", "exec", &server_ns, BIN])
            .args(agent_args(container))
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("agent");
        // Traffic to the pod once it captures (a packet socket is open in its namespace): three
        // connections from the client.
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < until {
            let sockets = Command::new("ip")
                .args(["netns", "exec", &server_ns, "cat", "/proc/net/packet"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
                .unwrap_or(0);
            if sockets > 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for _ in 0..3 {
            let _ = Command::new("ip")
                .args([
                    "netns", "exec", &client_ns, "nc", "-z", "-w", "1", SERVER_IP, "8080",
                ])
                .status();
        }
        let out = agent.wait_with_output().expect("agent output");
        let mut logs = String::from_utf8_lossy(&out.stdout).into_owned();
        logs.push_str(&String::from_utf8_lossy(&out.stderr));
        PodRun::Exited {
            logs,
            exit_code: out.status.code().unwrap_or(1),
        }
    });
    let server = api.start();
    let file = lab.path("web-a.pcap");
    let out = Run::new([
        "capture",
        "web-a",
        "-w",
        file.to_str().unwrap(),
        "--filter",
        "tcp and port 8080",
        "--duration",
        "2s",
    ])
    .kubeconfig(&server, Some("shop"))
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("stays in the pod's spec"),
        "{}",
        out.stderr
    );
    let read = Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let text = String::from_utf8_lossy(&read.stdout);
    let syns = text
        .lines()
        .filter(|l| {
            l.contains(&format!("{CLIENT_IP}."))
                && l.contains(&format!("> {SERVER_IP}.8080: Flags [S]"))
        })
        .count();
    assert_eq!(syns, 3, "one SYN per connection:\n{text}");
    assert!(
        text.lines().all(|l| l.contains(".8080")),
        "the filter keeps port 8080:\n{text}"
    );
    let wrote = format!("wrote {} packet(s) captured on eth0", text.lines().count());
    assert!(out.stderr.contains(&wrote), "{wrote} in {}", out.stderr);
    // The ephemeral container is in the pod's spec for good.
    let pod = api.get("v1", "Pod", "shop", "web-a").unwrap();
    assert_eq!(
        pod["spec"]["ephemeralContainers"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn capture_errors_are_one_line_with_the_right_exit_code() {
    let api = pod("10.0.0.9");
    api.set_ephemeral_runner(|_, _| PodRun::Waiting {
        reason: "ImagePullBackOff".into(),
        message: "back-off pulling image".into(),
    });
    let server = api.start();
    let run = |args: &[&str]| Run::new(args).kubeconfig(&server, Some("shop")).run();

    let missing = run(&["capture", "nope", "-w", "/dev/null"]);
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr.trim(), "error: pod shop/nope not found");

    let requests = server.requests().len();
    let bad = run(&[
        "capture",
        "web-a",
        "-w",
        "/dev/null",
        "--filter",
        "port http",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("\"http\" is not a port number"),
        "{}",
        bad.stderr
    );
    assert_eq!(
        server.requests().len(),
        requests,
        "a bad filter is refused before any request"
    );

    let stuck = run(&["capture", "web-a", "-w", "/dev/null", "--duration", "1s"]);
    assert_eq!(stuck.code, 3, "{}", stuck.stderr);
    assert!(
        stuck.stderr.contains("ImagePullBackOff") && stuck.stderr.contains("--probe-image"),
        "{}",
        stuck.stderr
    );
    assert!(stuck.elapsed < Duration::from_secs(20));

    api.forbid("patch", "pods/ephemeralcontainers", Some("shop"));
    let refused = run(&["capture", "web-a", "-w", "/dev/null"]);
    assert_eq!(refused.code, 3);
    assert_eq!(
        refused.stderr.trim(),
        "error: forbidden: needs patch pods/ephemeralcontainers in shop"
    );
}

// An ephemeral container can never be removed: an output that cannot be written, or a container
// the pod does not have, must end the run before the pod is patched.
#[test]
fn bad_output_or_container_is_refused_before_the_pod_is_touched() {
    let api = pod("10.1.2.2");
    let server = api.start();
    let cases: [(&[&str], &str); 3] = [
        (
            &["-w", "/nonexistent/dir/x.pcap"],
            "cannot write /nonexistent/dir/x.pcap",
        ),
        (&["-w", "/tmp"], "cannot write /tmp: it is a directory"),
        (
            &["-w", "-", "-c", "nope"],
            "has no container \"nope\" (containers: web)",
        ),
    ];
    for (args, said) in cases {
        let out = Run::new(["capture", "web-a", "-n", "shop", "--duration", "1s"])
            .args(args)
            .kubeconfig(&server, None)
            .timeout(Duration::from_secs(10))
            .run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(said), "{args:?}: {}", out.stderr);
    }
    let writes: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.is_write())
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert!(!std::path::Path::new("/nonexistent/dir").exists());
}

/// Where `-w` points (issue 18 item 12): a FIFO (a live reader such as `wireshark -k -i`) is
/// written in place, not replaced by a regular file; a symlink to a file keeps being a link
/// and its file gets the pcap. Limits that capture nothing, and an interface name no kernel
/// accepts, are refused before the pod is touched.
#[test]
fn the_pcap_goes_where_w_points_and_bad_limits_are_refused_first() {
    // A pcap global header alone (no packet), as the agent sends it: base64 lines.
    let header: [u8; 24] = [
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    let line = {
        use base64::Engine as _;
        format!(
            "pcap {}",
            base64::engine::general_purpose::STANDARD.encode(header)
        )
    };
    let api = pod("10.1.2.2");
    let logs = line.clone();
    api.set_ephemeral_runner(move |_, _| PodRun::Exited {
        logs: logs.clone(),
        exit_code: 0,
    });
    let server = api.start();
    let dir = tempfile::tempdir().unwrap();
    let capture = |w: &std::path::Path, extra: &[&str]| {
        Run::new(["capture", "web-a", "-n", "shop", "--duration", "1s", "-w"])
            .arg(w.to_str().unwrap())
            .args(extra)
            .kubeconfig(&server, None)
            .timeout(Duration::from_secs(30))
            .run()
    };

    let target = dir.path().join("real.pcap");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.path().join("link.pcap");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = capture(&link, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), header);

    let fifo = dir.path().join("live.pcap");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = capture(&fifo, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(reader.join().unwrap(), header);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    let patches = || api.requests().into_iter().filter(|r| r.is_write()).count();
    let before = patches();
    for (extra, said) in [
        (&["--duration", "0s"][..], "--duration 0 captures nothing"),
        (&["--max-packets", "0"], "--max-packets 0 captures nothing"),
        (&["--iface", "eth0/x"], "is not an interface name"),
    ] {
        let args: Vec<&str> = extra.to_vec();
        let out = Run::new(["capture", "web-a", "-n", "shop", "-w", "-"])
            .args(&args)
            .kubeconfig(&server, None)
            .run();
        assert_eq!(out.code, 2, "{extra:?}: {}", out.stderr);
        assert!(out.stderr.contains(said), "{extra:?}: {}", out.stderr);
    }
    assert_eq!(patches(), before, "nothing written to the cluster");
}
