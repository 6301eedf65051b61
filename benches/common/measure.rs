//! Shared by the benches that report peak memory.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command, sampling its peak RSS (VmHWM) until it exits.
pub(crate) fn measure(cmd: &mut Command) -> (Duration, f64, bool) {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0.0f64;
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
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (
        start.elapsed(),
        peak_kb / 1024.0,
        status.success() || status.code() == Some(1),
    )
}
