//! Test support: run the real binary with a clean environment, against the fake API server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) use fakeapi::{FakeApi, PodRun, Server};

pub(crate) mod cluster;
pub(crate) mod netns;
pub(crate) mod pty;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_kubectl-netdoctor");

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary's exit code and output.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

impl Output {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// The status of one check in `-o json` output.
    pub(crate) fn check_status(&self, id: &str) -> String {
        let j = self.json();
        let checks = j["checks"].as_array().expect("checks array");
        let c = checks
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no check {id} in {j:#}"));
        c["status"].as_str().unwrap().to_string()
    }
}

/// The status of one check in a parsed `-o json` Diagnosis ("" when it is not listed).
/// Validates `value` against a JSON schema of schema/ (one that refers to no other), panicking with
/// the reasons and the document.
pub(crate) fn validate_with(value: &serde_json::Value, schema: &str) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let path = repo().join("schema").join(schema);
    let idx = compiler
        .compile(path.to_str().unwrap(), &mut schemas)
        .unwrap_or_else(|e| panic!("{e:#}"));
    if let Err(e) = schemas.validate(value, idx) {
        panic!("not valid against {schema}: {e:#}\n{value:#}");
    }
}

/// The check `id` of a Diagnosis document (panics when it has none).
pub(crate) fn check_of<'a>(j: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    j["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {j:#}"))
}

pub(crate) fn check_status_of(j: &serde_json::Value, id: &str) -> String {
    j["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == id)
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
        .to_string()
}

/// A run of the binary: `Run::new(["svc", "x"]).kubeconfig(&server).run()`.
///
/// A live `svc`, `ingress`, `dns` or `path` run gets `--no-probe` unless the test calls [`Run::probe`]: most tests are about
/// the API checks, and a probe needs the fake kubelet (tests/probe_flow.rs).
pub(crate) struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<String>,
    home: tempfile::TempDir,
    timeout: Duration,
    probe: bool,
    /// The working directory (default: the test's).
    dir: Option<PathBuf>,
}

impl Run {
    pub(crate) fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> Self {
        Run {
            args: args.into_iter().map(|s| s.as_ref().to_string()).collect(),
            env: Vec::new(),
            stdin: None,
            home: tempfile::tempdir().expect("temp HOME"),
            timeout: Duration::from_secs(60),
            probe: false,
            dir: None,
        }
    }

    /// Runs in `dir` and returns the output (relative `-f` paths are read from there).
    pub(crate) fn run_in(mut self, dir: &Path) -> Output {
        self.dir = Some(dir.to_path_buf());
        self.run()
    }

    /// Lets a live `svc` run create its probe Job.
    pub(crate) fn probe(mut self) -> Self {
        self.probe = true;
        self
    }

    /// How long the run may take before the test fails (default 60 s).
    pub(crate) fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    pub(crate) fn arg(mut self, a: impl AsRef<str>) -> Self {
        self.args.push(a.as_ref().to_string());
        self
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    pub(crate) fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub(crate) fn stdin(mut self, s: &str) -> Self {
        self.stdin = Some(s.into());
        self
    }

    /// Writes a kubeconfig for the server into the temporary HOME and points --kubeconfig at it.
    pub(crate) fn kubeconfig(self, server: &Server, namespace: Option<&str>) -> Self {
        let path = self.write("kubeconfig", &server.kubeconfig(namespace));
        let p = path.display().to_string();
        self.arg("--kubeconfig").arg(p)
    }

    /// Points --kubeconfig at an existing kubeconfig (the real test cluster's).
    pub(crate) fn kubeconfig_file(self, path: &Path) -> Self {
        let p = path.display().to_string();
        self.arg("--kubeconfig").arg(p)
    }

    /// Writes a file in the run's temporary HOME.
    pub(crate) fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.home.path().join(name);
        std::fs::write(&path, content).expect("write temp file");
        path
    }

    pub(crate) fn run(self) -> Output {
        self.run_signalled(None)
    }

    /// Runs, and sends `signal` (e.g. "INT") to the process after `after`.
    pub(crate) fn run_interrupted(self, signal: &str, after: Duration) -> Output {
        self.run_signalled(Some((signal.to_string(), after)))
    }

    fn run_signalled(mut self, signal: Option<(String, Duration)>) -> Output {
        let svc = matches!(
            self.args.first().map(String::as_str),
            Some("svc" | "service" | "dns" | "path" | "ingress" | "ing")
        );
        let offline = self.args.iter().any(|a| a == "-f" || a == "--filename");
        if svc && !offline && !self.probe && !self.args.iter().any(|a| a == "--no-probe") {
            self.args.push("--no-probe".into());
        }
        let mut cmd = Command::new(BIN);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd.args(&self.args)
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .env_remove("NO_COLOR")
            .env_remove("RUST_BACKTRACE")
            .env("HOME", self.home.path())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Tests read phrases out of the human output: unwrapped, unless a test sets COLUMNS;
        // in a UTF-8 locale (marks as ✔ ✘), whatever the machine's, unless a test sets one.
        cmd.env("COLUMNS", "10000")
            .env_remove("LC_ALL")
            .env_remove("LC_CTYPE")
            .env("LANG", "C.UTF-8");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let start = Instant::now();
        let mut child = cmd.spawn().expect("spawn kubectl-netdoctor");
        if let Some(input) = &self.stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        // Read output on threads so a full pipe never blocks the child.
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let t_out = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut out, &mut s).ok();
            s
        });
        let t_err = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut err, &mut s).ok();
            s
        });
        let mut signal = signal;
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break st;
            }
            if let Some((name, after)) = &signal {
                if start.elapsed() >= *after {
                    let sent = Command::new("kill")
                        .arg(format!("-{name}"))
                        .arg(child.id().to_string())
                        .status()
                        .expect("kill");
                    assert!(sent.success(), "kill -{name} failed");
                    signal = None;
                }
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                panic!(
                    "kubectl-netdoctor {:?} did not finish within {:?}",
                    self.args, self.timeout
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Output {
            code: status.code().unwrap_or(-1),
            stdout: t_out.join().unwrap(),
            stderr: t_err.join().unwrap(),
            elapsed: start.elapsed(),
        }
    }
}

/// A fake API server loaded with YAML files.
pub(crate) fn server_with(files: &[&Path]) -> Server {
    api_with(files).start()
}

/// The fake API server loaded with `files`, not started yet (to add faults first).
pub(crate) fn api_with(files: &[&Path]) -> FakeApi {
    let api = FakeApi::new();
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect();
    // Fixtures with Gateway API or policy.networking.k8s.io objects are clusters with those
    // CRDs installed.
    api.serve_custom_apis_for(&texts);
    for (f, text) in files.iter().zip(&texts) {
        api.load_yaml(text)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    api
}

/// The YAML document a printed fix carries: from its `apiVersion:` line to the end, or to the
/// here-document's closing `EOF` (live fixes are `kubectl apply -f - <<'EOF'` … `EOF`).
pub(crate) fn fix_yaml(fix: &str) -> Option<String> {
    let start = fix.find("apiVersion:")?;
    let body = &fix[start..];
    let end = body.find("\nEOF").unwrap_or(body.len());
    Some(body[..end].to_string())
}

/// The lines of the README's example block marked `<!-- example: NAME -->` (the fenced block right
/// after the marker), without its `$ command` line.
pub(crate) fn readme_example(name: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let marker = format!("<!-- example: {name} -->");
    let at = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README has no {marker}"));
    let rest = &readme[at + marker.len()..];
    let open = rest.find("```").expect("a fenced block after the marker");
    let body = &rest[open..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    let end = body.find("\n```").expect("a closing fence");
    body[..end]
        .lines()
        .filter(|l| !l.starts_with("$ "))
        .map(str::to_string)
        .collect()
}

/// Asserts the README's example `name` is what the binary printed: line for line, where a line
/// `…` stands for lines left out; `mask` evens out what differs between runs (generated names).
pub(crate) fn assert_readme_example(name: &str, printed: &str, mask: &dyn Fn(&str) -> String) {
    let example: Vec<String> = readme_example(name).iter().map(|l| mask(l)).collect();
    let printed: Vec<String> = printed.lines().map(mask).collect();
    if !example.iter().any(|l| l == "…") {
        assert_eq!(
            example.join("\n"),
            printed.join("\n"),
            "README example {name} is not the binary's output; regenerate it"
        );
        return;
    }
    let mut from = 0;
    for part in example.split(|l| l == "…") {
        if part.is_empty() {
            continue;
        }
        let found = (from..=printed.len().saturating_sub(part.len()))
            .find(|&i| printed[i..i + part.len()] == *part)
            .unwrap_or_else(|| {
                panic!(
                    "README example {name} is not the binary's output; regenerate it.\nREADME:\n{}\n\nprinted:\n{}",
                    part.join("\n"),
                    printed.join("\n")
                )
            });
        from = found + part.len();
    }
}

/// A fix of a JSON report as text: its summary (and effect) on the first line, then its
/// commands and manifest as printed — what a test looks for in it.
pub(crate) fn fix_text(fix: &serde_json::Value) -> String {
    let mut lines = vec![fix["summary"].as_str().unwrap_or_default().to_string()];
    if let Some(e) = fix["effect"].as_str() {
        lines[0].push_str(&format!(" ({e})"));
    }
    for c in fix["commands"].as_array().into_iter().flatten() {
        lines.push(c.as_str().unwrap_or_default().to_string());
    }
    if let Some(m) = fix["manifest"].as_str() {
        lines.push(m.to_string());
    }
    lines.join("\n")
}

/// Every fix of a list (`verdict.fix`, a check's `fix`) as [`fix_text`].
pub(crate) fn fix_texts(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list of fixes: {list}"))
        .iter()
        .map(fix_text)
        .collect()
}

/// Every command of a list of fixes, in order.
pub(crate) fn fix_commands(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["commands"].as_array().cloned().unwrap_or_default())
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect()
}

/// A printed command without the connection flags a run adds to each `kubectl` it prints
/// (`--context C --kubeconfig K`): for tests about what the command does.
pub(crate) fn unflagged(command: &str) -> String {
    command
        .split('\n')
        .map(unflagged_line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn unflagged_line(command: &str) -> String {
    let words: Vec<&str> = command.split(' ').collect();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        out.push(words[i]);
        let after_kubectl = words[i] == "kubectl"
            || (words[i] == "netdoctor" && i > 0 && words[i - 1] == "kubectl");
        i += 1;
        if after_kubectl {
            while i + 1 < words.len() && matches!(words[i], "--context" | "--kubeconfig") {
                i += 2;
            }
        }
    }
    out.join(" ")
}

/// A line of a run against the fake API server as the README shows it, from a person's cluster:
/// the context prod and its server, commands with `--context prod` and no `--kubeconfig`.
pub(crate) fn as_prod(line: &str) -> String {
    let l = unflagged(line);
    let l = match l.strip_prefix("kubectl ") {
        Some(rest) if !rest.starts_with("--context prod ") => {
            format!("kubectl --context prod {rest}")
        }
        _ => l,
    };
    match l.find("· context fake (") {
        Some(at) => format!("{}· context prod (https://203.0.113.10:6443/)", &l[..at]),
        None => l,
    }
}

/// What a measured run of the binary did: its exit code, its peak RSS and what it printed.
pub(crate) struct Measured {
    pub(crate) code: i32,
    pub(crate) peak_kib: usize,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs the binary with `args` under python's `resource` (the child's peak RSS), with HOME at
/// `home` and no KUBECONFIG: for tests of bounded memory.
pub(crate) fn measured(args: &[&std::ffi::OsStr], home: &Path) -> Measured {
    let script = "import resource, subprocess, sys\n\
        p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n\
        sys.stdout.buffer.write(b'%d %d\\n' % (p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
        sys.stdout.buffer.write(p.stdout)\n\
        sys.stderr.buffer.write(p.stderr)\n";
    let out = Command::new("python3")
        .args(["-c", script, BIN])
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .output()
        .expect("python3");
    let said = String::from_utf8_lossy(&out.stdout);
    let (head, stdout) = said.split_once('\n').expect("the measure line");
    let (code, kib) = head.split_once(' ').expect("code and peak");
    Measured {
        code: code.parse().expect("exit code"),
        peak_kib: kib.parse().expect("peak RSS"),
        stdout: stdout.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
