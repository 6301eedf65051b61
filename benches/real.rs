//! Against the real control plane (tests/cluster), no injected latency:
//!
//! 1. `svc --no-probe` on three scenarios, through a proxy that adds 10 ms each way (a 20 ms
//!    round trip, as the fake-API bench injects): sequential rounds and requests, counted from
//!    the API server's audit log (the requests whose User-Agent is this tool; one arriving more
//!    than half a round trip after its round's first starts the next — on loopback without the
//!    delay, requests sent together arrive apart and could not be told from sequential ones), the
//!    median wall time, and as the baseline measured in the same run, the same facts read with
//!    7 `kubectl get` one after another through the same proxy.
//! 2. `scan -A -o json` on a cluster holding 10,000 pods (100 namespaces × 100 pods on 100 nodes,
//!    1,000 Services, their EndpointSlices written by the real controller), created through the
//!    API by `cluster load`: wall time, requests, peak RSS; baseline `kubectl get` of the same
//!    kinds, all namespaces.
//!
//! Run: `cargo bench --bench real` (needs Go; the cluster binary is built on first use).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/timing.rs"]
mod timing;
use timing::{kubectl_installed, median, timed};

#[path = "common/measure.rs"]
mod measure;
use measure::measure;

const RUNS: usize = 7;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Cluster {
    state: tempfile::TempDir,
}

impl Cluster {
    fn up(loads: &[&Path]) -> Cluster {
        let state = tempfile::Builder::new()
            .prefix("ndc-bench-")
            .tempdir()
            .unwrap();
        let mut cmd = Command::new(repo().join("tests/cluster/cluster"));
        cmd.arg("up").arg("--state").arg(state.path());
        for l in loads {
            cmd.arg("--load").arg(l);
        }
        let out = cmd.output().expect("tests/cluster/cluster");
        assert!(
            out.status.success(),
            "cluster up: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster { state }
    }

    fn run(&self, verb: &str, args: &[&str]) {
        let out = Command::new(repo().join("tests/cluster/cluster"))
            .arg(verb)
            .arg("--state")
            .arg(self.state.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster {verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn kubeconfig(&self) -> PathBuf {
        self.state.path().join("kubeconfig")
    }

    /// A kubeconfig that reaches the API server through a delay proxy.
    fn delayed_kubeconfig(&self) -> PathBuf {
        let ports: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.state.path().join("ports.json")).unwrap(),
        )
        .unwrap();
        let api = ports["apiServer"].as_u64().unwrap() as u16;
        let proxy = delay_proxy(api);
        let text = std::fs::read_to_string(self.kubeconfig())
            .unwrap()
            .replace(&format!("127.0.0.1:{api}"), &format!("127.0.0.1:{proxy}"));
        let path = self.state.path().join("kubeconfig-delayed");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn audit_len(&self) -> usize {
        std::fs::read_to_string(self.state.path().join("logs/audit.log"))
            .map(|s| s.len())
            .unwrap_or(0)
    }

    /// This tool's requests in the audit log written after byte `from`: (received, answered), in
    /// microseconds of the day.
    fn our_requests(&self, from: usize) -> Vec<(u64, u64)> {
        let text = std::fs::read_to_string(self.state.path().join("logs/audit.log")).unwrap();
        text[from..]
            .lines()
            .filter(|l| l.contains("\"userAgent\":\"kubectl-netdoctor/"))
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                Some((
                    micros(v["requestReceivedTimestamp"].as_str()?)?,
                    micros(v["stageTimestamp"].as_str()?)?,
                ))
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("tests/cluster/cluster"))
            .arg("down")
            .arg("--state")
            .arg(self.state.path())
            .output();
    }
}

/// Microseconds since midnight of an audit timestamp (`2026-12-06T23:08:54.734368Z`).
fn micros(ts: &str) -> Option<u64> {
    let time = ts.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some((h * 3600 + m * 60) * 1_000_000 + (s * 1e6) as u64)
}

/// The delay the proxy adds each way.
const ONE_WAY: Duration = Duration::from_millis(10);

/// Sequential rounds: a request arriving more than half a round trip after its round's first
/// request starts a new round.
fn rounds(reqs: &[(u64, u64)]) -> usize {
    let mut at: Vec<u64> = reqs.iter().map(|r| r.0).collect();
    at.sort();
    let half_rtt = ONE_WAY.as_micros() as u64;
    let mut rounds = 0;
    let mut start: Option<u64> = None;
    for t in at {
        if start.is_none_or(|s| t > s + half_rtt) {
            rounds += 1;
            start = Some(t);
        }
    }
    rounds
}

/// A TCP proxy to the API server that delays every byte by `ONE_WAY` in each direction, keeping
/// throughput; returns its port.
fn delay_proxy(target: u16) -> u16 {
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let Ok(up) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            pump(conn.try_clone().unwrap(), up.try_clone().unwrap());
            pump(up, conn);
        }
    });
    port
}

fn pump(mut from: std::net::TcpStream, mut to: std::net::TcpStream) {
    use std::io::{Read, Write};
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0
                || tx
                    .send((Instant::now() + ONE_WAY, buf[..n].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, bytes) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

fn netdoctor(kc: &Path, home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubectl-netdoctor"));
    c.arg("--kubeconfig")
        .arg(kc)
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG");
    c
}

fn kubectl(kc: &Path, home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("kubectl");
    c.arg("--kubeconfig")
        .arg(kc)
        .arg("--cache-dir")
        .arg(home.join("kube-cache"))
        .args(args)
        .args(["-o", "json"])
        .env("HOME", home)
        .env_remove("KUBECONFIG");
    c
}

fn svc(cluster: &Cluster, scenario: &str, service: &str, selector: &str) {
    let dir = repo().join("tests/scenarios").join(scenario);
    cluster.run("load", &[dir.to_str().unwrap()]);
    let home = tempfile::tempdir().unwrap();
    let kc = cluster.delayed_kubeconfig();
    let args = ["svc", service, "-n", "shop", "--no-probe", "-o", "json"];
    timed(&mut netdoctor(&kc, home.path(), &args)); // warm the server's caches
    let from = cluster.audit_len();
    timed(&mut netdoctor(&kc, home.path(), &args));
    // The audit log is written as requests complete; give the last line a moment.
    std::thread::sleep(Duration::from_millis(300));
    let reqs = cluster.our_requests(from);
    let (n, r) = (reqs.len(), rounds(&reqs));
    let ours = median(
        (0..RUNS)
            .map(|_| timed(&mut netdoctor(&kc, home.path(), &args)))
            .collect(),
    );
    let slice_label = format!("kubernetes.io/service-name={service}");
    let gets: [&[&str]; 7] = [
        &["get", "service", service, "-n", "shop"],
        &["get", "pods", "-l", selector, "-n", "shop"],
        &["get", "endpointslices", "-l", &slice_label, "-n", "shop"],
        &["get", "ingresses", "-n", "shop"],
        &["get", "networkpolicies", "-n", "shop"],
        &["get", "events", "-n", "shop"],
        &["get", "nodes"],
    ];
    for g in gets {
        timed(&mut kubectl(&kc, home.path(), g)); // warm kubectl's discovery cache
    }
    let theirs = median(
        (0..RUNS)
            .map(|_| {
                gets.iter()
                    .map(|g| timed(&mut kubectl(&kc, home.path(), g)))
                    .sum()
            })
            .collect(),
    );
    println!(
        "real cluster (+20 ms round trip), svc {service} ({scenario}): {r} sequential rounds, {n} requests, {:.0} ms; 7 kubectl gets in sequence: {:.0} ms; ratio {:.1}x",
        ours.as_secs_f64() * 1e3,
        theirs.as_secs_f64() * 1e3,
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    cluster.run("reset", &[]);
}

/// 100 namespaces × 100 pods (10 apps of 10) on 100 nodes, a Service per app.
fn big_cluster(dir: &Path) {
    use std::fmt::Write;
    let mut y = String::new();
    for n in 0..100 {
        for p in 0..100 {
            let app = p % 10;
            writeln!(
                y,
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: app{app}-{p}, namespace: ns{n}, labels: {{app: app{app}}}}}\nspec:\n  nodeName: node-{node}\n  containers: [{{name: c, image: x, ports: [{{name: http, containerPort: 8080}}]}}]\nstatus: {{phase: Running, podIP: 10.{a}.{b}.{c}, conditions: [{{type: Ready, status: \"True\"}}]}}",
                node = (n * 100 + p) % 100,
                a = 100 + n / 50,
                b = (n % 50) * 5 + p / 25,
                c = p % 25 + 1,
            )
            .unwrap();
        }
        for app in 0..10 {
            writeln!(
                y,
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc{app}, namespace: ns{n}}}\nspec: {{selector: {{app: app{app}}}, ports: [{{name: http, port: 80, targetPort: http}}]}}"
            )
            .unwrap();
        }
    }
    std::fs::write(dir.join("cluster.yaml"), y).unwrap();
}

fn scan(home: &Path) {
    let fixture = tempfile::tempdir().unwrap();
    big_cluster(fixture.path());
    let t0 = Instant::now();
    let cluster = Cluster::up(&[fixture.path()]);
    println!(
        "real cluster with 10,000 pods / 1,000 Services / 100 nodes / 100 namespaces: up and loaded through the API in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let kc = cluster.kubeconfig();
    let args = ["scan", "-A", "-o", "json"];
    timed(&mut netdoctor(&kc, home, &args));
    let from = cluster.audit_len();
    let m = measure(&mut netdoctor(&kc, home, &args));
    let (t, rss) = (m.wall, m.rss);
    assert!(m.ok, "scan -A failed");
    std::thread::sleep(Duration::from_millis(300));
    let reqs = cluster.our_requests(from);
    println!(
        "scan -A (loopback, no added delay): {:.2} s ({:.2} s of its own CPU), {} requests, peak RSS {rss:.0} MiB",
        t.as_secs_f64(),
        m.cpu,
        reqs.len(),
    );
    let mut k = kubectl(
        &kc,
        home,
        &[
            "get",
            "services,pods,endpointslices,networkpolicies,ingresses",
            "-A",
        ],
    );
    timed(&mut k);
    let km = measure(&mut k);
    let (tk, rss_k) = (km.wall, km.rss);
    println!(
        "baseline, kubectl get of the same kinds -A (no diagnosis): {:.2} s, peak RSS {rss_k:.0} MiB; scan/kubectl time ratio {:.2}",
        tk.as_secs_f64(),
        t.as_secs_f64() / tk.as_secs_f64()
    );
}

fn main() {
    if Command::new("go").arg("version").output().is_err() {
        eprintln!("Go is not installed: the real cluster cannot be built");
        return;
    }
    if !kubectl_installed() {
        return;
    }
    let cluster = Cluster::up(&[]);
    for (scenario, service, selector) in [
        ("healthy", "frontend", "app=frontend"),
        ("netpol-healthy-allow", "cart", "app=cart"),
        ("ingress-healthy", "web", "app=web"),
    ] {
        svc(&cluster, scenario, service, selector);
    }
    drop(cluster);
    let home = tempfile::tempdir().unwrap();
    scan(home.path());
}
