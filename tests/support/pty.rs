//! A program on a pseudo-terminal (a tmux session of its own), where a test types and reads the
//! screen as a person would.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) struct Pty {
    socket: String,
}

impl Pty {
    /// Runs `command` (a shell command line) in `dir` on a 120×30 terminal; `None` when tmux is
    /// missing outside CI.
    pub(crate) fn start(name: &str, dir: &Path, command: &str) -> Option<Pty> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "tmux is needed in CI"
            );
            return None;
        }
        let socket = format!("netdoctor-{name}-{}", std::process::id());
        let ok = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "120", "-y", "30", "-c"])
            .arg(dir)
            .arg(command)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Some(Pty { socket })
    }

    pub(crate) fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` as it is (no key names).
    pub(crate) fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    /// Presses keys by tmux's names (`Tab`, `Enter`, `C-c`).
    pub(crate) fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    pub(crate) fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    /// The screen once `done` holds of it (20 s at most, then the test fails showing it).
    pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
