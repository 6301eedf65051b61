//! The probe agent against 100 targets in network namespaces: a third open, a third refused
//! (nothing listens), a third dropped (iptables DROP). Prints the wall time to all verdicts, and
//! as the baseline measured in the same run, the manual way of the Kubernetes "Debug Services"
//! page: one `nc -z -w 2` per target, in sequence. Needs root, iproute2, iptables and netcat.
//!
//! Run: `sudo cargo bench --bench probe`.

#[allow(dead_code)]
#[path = "../tests/support/netns.rs"]
mod netns;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netns::{Lab, SERVER_IP};

const PER_KIND: u16 = 33;
const OPEN: u16 = 20_000;
const REFUSED: u16 = 22_000;
const DROPPED: u16 = 21_000;

fn main() {
    let Some(mut lab) = Lab::routed("bench probe", &["nc", "ss"]) else {
        return;
    };
    lab.listen_tcp(8080);
    let s = lab.server.clone();
    // One listener answers a third of the ports; another third is dropped; the rest refused.
    lab.iptables(
        &s,
        &format!(
            "-t nat -A PREROUTING -p tcp --dport {OPEN}:{} -j REDIRECT --to-ports 8080",
            OPEN + PER_KIND
        ),
    );
    lab.iptables(
        &s,
        &format!(
            "-A INPUT -p tcp --dport {DROPPED}:{} -j DROP",
            DROPPED + PER_KIND - 1
        ),
    );
    let mut targets: Vec<(String, &str)> = Vec::new();
    for i in 0..=PER_KIND {
        targets.push((format!("{SERVER_IP}:{}", OPEN + i), "open"));
    }
    for i in 0..PER_KIND {
        targets.push((format!("{SERVER_IP}:{}", REFUSED + i), "refused"));
        targets.push((format!("{SERVER_IP}:{}", DROPPED + i), "dropped"));
    }
    assert_eq!(targets.len(), 100);
    let args: Vec<String> = targets.iter().map(|(t, _)| format!("tcp:{t}")).collect();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--timeout", "1.5s"]);

    println!("probe bench: 100 TCP targets (34 open, 33 refused, 33 dropped), deadline 1.5 s");
    let c = lab.client.clone();
    let run = lab.agent(&c, &args);
    let mut wrong = 0;
    for (target, want) in &targets {
        if run.verdict(&format!("tcp:{target}")) != *want {
            wrong += 1;
        }
    }
    let agent = run.took;
    println!(
        "  agent (capture on):  {:>7.2} s to all verdicts, {wrong} wrong, verdicts {}",
        agent.as_secs_f64(),
        run.summary()["verdicts"]
    );
    let mut no_capture = args.clone();
    no_capture.push("--no-capture");
    let fallback = lab.agent(&c, &no_capture).took;
    println!("  agent (no capture):  {:>7.2} s", fallback.as_secs_f64());

    // The manual way: nc -z -w 2, one target after the other.
    let started = Instant::now();
    let mut answered = 0;
    for (target, _) in &targets {
        let (ip, port) = target.rsplit_once(':').unwrap();
        let ok = Command::new("ip")
            .args(["netns", "exec", &c, "nc", "-z", "-w", "2", ip, port])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        answered += usize::from(ok);
    }
    let manual = started.elapsed();
    println!(
        "  baseline nc -z -w 2: {:>7.2} s ({answered} open; refused and dropped not told apart)",
        manual.as_secs_f64()
    );
    println!(
        "  ratio agent/baseline: {:.3} (target: agent ≤ 2 s)",
        ratio(agent, manual)
    );
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
