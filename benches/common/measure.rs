//! Shared by the benches that report peak memory.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a command cost.
pub(crate) struct Measured {
    pub wall: Duration,
    /// Peak resident memory (VmHWM), MiB.
    pub rss: f64,
    /// User and system CPU time, seconds, as last sampled before it exited: its own work,
    /// apart from the time it waited (on a server sharing the machine, say).
    pub cpu: f64,
    /// Exit 0 or 1 (a diagnosis).
    pub ok: bool,
}

/// Runs a command, sampling its peak RSS and CPU time until it exits.
pub(crate) fn measure(cmd: &mut Command) -> Measured {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let stat_path = format!("/proc/{}/stat", child.id());
    // Clock ticks per second: 100 on Linux for every architecture this runs on.
    let ticks = 100.0;
    let mut peak_kb = 0.0f64;
    let mut cpu = 0.0f64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Ok(s) = std::fs::read_to_string(&stat_path) {
            // Fields after the command name (which may hold spaces): utime and stime are the
            // 14th and 15th of the line, the 12th and 13th after ") ".
            let rest = s.rsplit_once(") ").map_or("", |(_, r)| r);
            let f: Vec<f64> = rest
                .split(' ')
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse().ok())
                .collect();
            if f.len() == 2 {
                cpu = cpu.max((f[0] + f[1]) / ticks);
            }
        }
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Measured {
        wall: start.elapsed(),
        rss: peak_kb / 1024.0,
        cpu,
        ok: status.success() || status.code() == Some(1),
    }
}
