//! Throwaway hosts in network namespaces, for tests with real packets (root only).
//!
//! `Lab::routed` builds three hosts — a client, a node that routes (where kube-proxy's rules live
//! in a real cluster) and a server (the pod) — joined by veth pairs created inside the namespaces,
//! so nothing is named in the machine's own namespace and parallel tests never collide. Dropping
//! the lab kills what it started and deletes its namespaces, also when a test panics.
//!
//! When the tests cannot run (not root, a tool missing) they print why and pass — except when
//! `CI=true`, where a skipped network test fails: CI must run them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const CLIENT_IP: &str = "10.1.1.2";
pub(crate) const NODE_CLIENT_SIDE: &str = "10.1.1.1";
pub(crate) const NODE_SERVER_SIDE: &str = "10.1.2.1";
pub(crate) const SERVER_IP: &str = "10.1.2.2";
pub(crate) const CLIENT_IP6: &str = "fd00:1::2";
pub(crate) const NODE_CLIENT_SIDE6: &str = "fd00:1::1";
pub(crate) const SERVER_IP6: &str = "fd00:2::2";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct Lab {
    pub(crate) client: String,
    pub(crate) node: String,
    pub(crate) server: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
    pub(crate) dir: tempfile::TempDir,
}

/// Whether the tests run as root (network namespaces need it).
pub(crate) fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .as_deref()
        == Some("0")
}

/// Why these tests cannot run here, if they cannot.
fn unavailable(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("needs root (network namespaces, iptables)".into());
    }
    for tool in ["ip", "iptables"].iter().chain(tools) {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("needs {tool} (see .ci/run for the packages)"));
        }
    }
    None
}

impl Lab {
    /// A client → node → server network, or None (after saying why) where it cannot be built.
    pub(crate) fn routed(test: &str, tools: &[&str]) -> Option<Lab> {
        if let Some(why) = unavailable(tools) {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: network test skipped in CI: {why}");
            }
            eprintln!("skipped {test}: {why}");
            return None;
        }
        let id = format!(
            "nd{}x{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Lab {
            client: format!("{id}-client"),
            node: format!("{id}-node"),
            server: format!("{id}-server"),
            namespaces: Vec::new(),
            children: Vec::new(),
            dir: tempfile::tempdir().expect("temp dir"),
        };
        for ns in [lab.client.clone(), lab.node.clone(), lab.server.clone()] {
            run(&["ip", "netns", "add", &ns]);
            lab.namespaces.push(ns.clone());
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        let (c, n, s) = (lab.client.clone(), lab.node.clone(), lab.server.clone());
        run(&[
            "ip", "-n", &c, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns",
            &n,
        ]);
        run(&[
            "ip", "-n", &s, "link", "add", "eth0", "type", "veth", "peer", "name", "eth2", "netns",
            &n,
        ]);
        for (ns, dev, addr) in [
            (&c, "eth0", format!("{CLIENT_IP}/24")),
            (&n, "eth1", format!("{NODE_CLIENT_SIDE}/24")),
            (&n, "eth2", format!("{NODE_SERVER_SIDE}/24")),
            (&s, "eth0", format!("{SERVER_IP}/24")),
        ] {
            run(&["ip", "-n", ns, "addr", "add", &addr, "dev", dev]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        run(&[
            "ip",
            "-n",
            &c,
            "route",
            "add",
            "default",
            "via",
            NODE_CLIENT_SIDE,
        ]);
        run(&[
            "ip",
            "-n",
            &s,
            "route",
            "add",
            "default",
            "via",
            NODE_SERVER_SIDE,
        ]);
        // /proc/sys/net is the namespace's own (and needs no procps).
        run(&[
            "ip",
            "netns",
            "exec",
            &n,
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv4/ip_forward",
        ]);
        Some(lab)
    }

    /// Adds IPv6 beside IPv4: fd00:1::/64 client–node, fd00:2::/64 node–server, the node
    /// forwarding (addresses without duplicate detection, usable at once).
    pub(crate) fn with_ipv6(self) -> Self {
        let (c, n, s) = (self.client.clone(), self.node.clone(), self.server.clone());
        for (ns, dev, addr) in [
            (&c, "eth0", format!("{CLIENT_IP6}/64")),
            (&n, "eth1", format!("{NODE_CLIENT_SIDE6}/64")),
            (&n, "eth2", "fd00:2::1/64".to_string()),
            (&s, "eth0", format!("{SERVER_IP6}/64")),
        ] {
            run(&[
                "ip", "-n", ns, "-6", "addr", "add", &addr, "dev", dev, "nodad",
            ]);
        }
        run(&[
            "ip",
            "-n",
            &c,
            "-6",
            "route",
            "add",
            "default",
            "via",
            NODE_CLIENT_SIDE6,
        ]);
        run(&[
            "ip",
            "-n",
            &s,
            "-6",
            "route",
            "add",
            "default",
            "via",
            "fd00:2::1",
        ]);
        run(&[
            "ip",
            "netns",
            "exec",
            &n,
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
        ]);
        // A router answers neighbour solicitations only once its link-local addresses are past
        // duplicate detection (~2 s): until then the first SYN of a test would wait a second.
        let until = Instant::now() + Duration::from_secs(10);
        for ns in [&c, &n, &s] {
            while !run(&["ip", "-n", ns, "-6", "addr", "show", "tentative"])
                .trim()
                .is_empty()
                && Instant::now() < until
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self
    }

    /// Runs a command inside `ns`; it must succeed.
    pub(crate) fn exec(&self, ns: &str, args: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", ns];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Appends an iptables rule in `ns` (arguments after `iptables`).
    pub(crate) fn iptables(&self, ns: &str, rule: &str) {
        let mut args = vec!["iptables", "-w"];
        args.extend(rule.split_whitespace());
        self.exec(ns, &args);
    }

    /// Starts a long-running process in `ns`, killed when the lab is dropped.
    pub(crate) fn spawn(&mut self, ns: &str, args: &[&str]) {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
        self.children.push(child);
    }

    /// A TCP listener (netcat) on the server.
    pub(crate) fn listen_tcp(&mut self, port: u16) {
        self.listen_tcp_on(SERVER_IP, port);
    }

    /// A TCP listener on one address of the server (127.0.0.1: the loopback-only mistake).
    pub(crate) fn listen_tcp_on(&mut self, addr: &str, port: u16) {
        let server = self.server.clone();
        self.spawn(&server, &["nc", "-lk", "-s", addr, "-p", &port.to_string()]);
        self.wait_listening(&server, "t", port);
    }

    /// Debian's dnsmasq on the server's :53 (UDP and TCP), answering from a hosts file and SRV
    /// records, NXDOMAIN for everything else, forwarding nothing.
    pub(crate) fn dns_server(&mut self, hosts: &str, srv: &[&str]) {
        let file = self.dir.path().join("hosts");
        std::fs::write(&file, hosts).expect("hosts file");
        let server = self.server.clone();
        let addn = format!("--addn-hosts={}", file.display());
        let listen = format!("--listen-address={SERVER_IP}");
        let mut args = vec![
            "dnsmasq",
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--address=/#/",
            "--pid-file=",
            "--user=root",
            "--bind-interfaces",
            &listen,
            &addn,
        ];
        let srv: Vec<String> = srv.iter().map(|s| format!("--srv-host={s}")).collect();
        args.extend(srv.iter().map(String::as_str));
        self.spawn(&server, &args);
        self.wait_listening(&server, "u", 53);
    }

    fn wait_listening(&self, ns: &str, proto: &str, port: u16) {
        let until = Instant::now() + Duration::from_secs(10);
        let flag = format!("-Hln{proto}");
        while Instant::now() < until {
            let out = self.exec(ns, &["ss", &flag]);
            if out.lines().any(|l| l.contains(&format!(":{port} "))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("nothing listens on {proto} {port} in {ns} after 10 s");
    }

    /// Runs the agent in `ns`; returns its JSON lines (the summary last) and its exit status.
    pub(crate) fn agent(&self, ns: &str, args: &[&str]) -> Agent {
        self.agent_as(ns, &[], args)
    }

    /// Runs the agent in `ns` behind a wrapper (e.g. setpriv, to drop privileges).
    pub(crate) fn agent_as(&self, ns: &str, wrapper: &[&str], args: &[&str]) -> Agent {
        let mut cmd: Vec<&str> = wrapper.to_vec();
        cmd.extend([env!("CARGO_BIN_EXE_kubectl-netdoctor"), "agent"]);
        cmd.extend(args);
        self.agent_command(ns, &cmd)
    }

    /// Runs an agent command line (program and arguments) in `ns`: another build of the agent,
    /// or the one in an image's root filesystem under chroot.
    pub(crate) fn agent_command(&self, ns: &str, cmd: &[&str]) -> Agent {
        let started = Instant::now();
        let out = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(cmd)
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run the agent");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let lines = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{stderr}")))
            .collect();
        Agent {
            code: out.status.code(),
            lines,
            stderr,
            took: started.elapsed(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

pub(crate) struct Agent {
    pub(crate) code: Option<i32>,
    pub(crate) lines: Vec<Value>,
    pub(crate) stderr: String,
    pub(crate) took: Duration,
}

impl Agent {
    /// The line about `target`.
    pub(crate) fn line(&self, target: &str) -> &Value {
        self.lines
            .iter()
            .find(|l| l["target"] == target)
            .unwrap_or_else(|| panic!("no line for {target} in {:#?}\n{}", self.lines, self.stderr))
    }

    pub(crate) fn verdict(&self, target: &str) -> &str {
        self.line(target)["verdict"].as_str().unwrap_or("")
    }

    pub(crate) fn summary(&self) -> &Value {
        let last = self.lines.last().expect("a summary line");
        assert_eq!(last["kind"], "summary", "{last}");
        last
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}
