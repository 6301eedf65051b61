//! Shared by the benches that time whole commands.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command to its end (exit 0 or 1: a diagnosis), its wall time.
pub(crate) fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(status.code().is_some_and(|c| c <= 1), "{cmd:?}: {status}");
    start.elapsed()
}

/// Whether kubectl runs here (the baseline); says so when it does not.
pub(crate) fn kubectl_installed() -> bool {
    let ok = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok();
    if !ok {
        eprintln!("kubectl is not installed: no baseline to compare with");
    }
    ok
}

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
