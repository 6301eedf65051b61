//! The kubeconfig's exec credential plugin (`users[].user.exec`), run by netdoctor itself rather
//! than by the client library: the library runs it synchronously with no bound, so a plugin that
//! hangs (waiting for a browser login, a dead SSO endpoint) would ignore `--request-timeout` and
//! swallow Ctrl-C. Here it is bounded by `--request-timeout`, killed when the bound passes or the
//! run is interrupted, and a plugin killed by the user's Ctrl-C is an interruption (130), not a
//! broken kubeconfig.

use std::time::Duration;

use base64::Engine;
use kube::Config;
use kube::config::ExecInteractiveMode;
use serde::Deserialize;

use crate::error::{Error, Result, exit};
use crate::text;

/// What a plugin prints: `client.authentication.k8s.io` ExecCredential (its status).
#[derive(Deserialize)]
struct ExecCredential {
    status: Option<ExecStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecStatus {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// Runs the plugin if the config has one and puts the credential it returns in its place.
pub(crate) async fn resolve(config: &mut Config, limit: Option<Duration>) -> Result<()> {
    let Some(exec) = config.auth_info.exec.take() else {
        return Ok(());
    };
    let Some(program) = exec.command.clone() else {
        return Err(Error::Kubeconfig(
            "invalid kubeconfig: the exec credential plugin has no command".into(),
        ));
    };
    let shown = text::sanitize(&program);
    let mut cmd = command(&exec, &program);
    let cannot_run = |e: std::io::Error| {
        Error::Kubeconfig(format!(
            "cannot run the kubeconfig's credential plugin {shown}: {e}{}",
            exec.install_hint
                .as_deref()
                .map(|h| format!(" ({})", text::sanitize(h)))
                .unwrap_or_default()
        ))
    };
    let mut child = cmd.spawn().map_err(cannot_run)?;
    // Whatever ends the wait early (the time limit, Ctrl-C dropping this future) stops the
    // plugin and everything it started, not only the plugin.
    let mut group = Group(child.id());
    let stdout = child.stdout.take();
    let run = async {
        let mut printed = Vec::new();
        if let Some(out) = stdout {
            tokio::io::AsyncReadExt::read_to_end(
                &mut tokio::io::AsyncReadExt::take(out, OUTPUT_CAP + 1),
                &mut printed,
            )
            .await?;
        }
        if printed.len() as u64 > OUTPUT_CAP {
            return Ok(None);
        }
        child.wait().await.map(|status| Some((status, printed)))
    };
    let out = match limit {
        Some(t) => tokio::time::timeout(t, run).await.map_err(|_| {
            Error::Unreachable(format!(
                "the kubeconfig's credential plugin {shown} did not answer within {} s (--request-timeout); it was stopped",
                t.as_secs_f64()
            ))
        })?,
        None => run.await,
    }
    .map_err(cannot_run)?;
    let Some((status, stdout)) = out else {
        return Err(Error::Kubeconfig(format!(
            "the kubeconfig's credential plugin {shown} printed more than 1 MiB: no credential is that large; it was stopped"
        )));
    };
    group.0 = None; // it ended by itself: what it left running is its business
    let out = std::process::Output {
        status,
        stdout,
        stderr: Vec::new(),
    };
    interrupted(&out.status)?;
    if !out.status.success() {
        return Err(Error::Kubeconfig(format!(
            "the kubeconfig's credential plugin {shown} failed ({})",
            out.status
        )));
    }
    let cred: ExecCredential = serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::Kubeconfig(format!(
            "the kubeconfig's credential plugin {shown} printed no ExecCredential: {e}"
        ))
    })?;
    let status = cred.status.ok_or_else(|| {
        Error::Kubeconfig(format!(
            "the kubeconfig's credential plugin {shown} returned no status"
        ))
    })?;
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    match (
        status.token,
        status.client_certificate_data,
        status.client_key_data,
    ) {
        (Some(token), _, _) => config.auth_info.token = Some(token.into()),
        (None, Some(cert), Some(key)) => {
            // In a kubeconfig these fields are base64 of the PEM; the plugin returns the PEM.
            config.auth_info.client_certificate_data = Some(b64(cert));
            config.auth_info.client_key_data = Some(b64(key).into());
        }
        _ => {
            return Err(Error::Kubeconfig(format!(
                "the kubeconfig's credential plugin {shown} returned neither a token nor a client certificate"
            )));
        }
    }
    Ok(())
}

/// The plugin's command as kubectl runs it: its args and env, KUBERNETES_EXEC_INFO, stdin only
/// when interactive; killed when dropped (timeout, Ctrl-C), never left running.
/// A credential is small: a plugin printing more is broken (or printing /dev/zero).
const OUTPUT_CAP: u64 = 1 << 20;

/// The plugin's process group, killed when dropped while set.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // The plugin leads its own group (see `command`): its children go with it.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn command(exec: &kube::config::ExecConfig, program: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(exec.args.iter().flatten());
    for pair in exec.env.iter().flatten() {
        if let (Some(k), Some(v)) = (pair.get("name"), pair.get("value")) {
            cmd.env(k, v);
        }
    }
    for name in exec.drop_env.iter().flatten() {
        cmd.env_remove(name);
    }
    let interactive = exec.interactive_mode != Some(ExecInteractiveMode::Never);
    let info = serde_json::json!({
        "apiVersion": exec.api_version,
        "kind": "ExecCredential",
        "spec": {"interactive": interactive},
    });
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdin(if interactive {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    // Its own process group, so that stopping it stops what it started — unless it may ask a
    // person something: then it stays in the terminal's foreground group (where Ctrl-C reaches
    // it, and reading the terminal does not stop it).
    if !(interactive && std::io::IsTerminal::is_terminal(&std::io::stdin())) {
        cmd.process_group(0);
    }
    cmd
}

/// Ctrl-C reaches the whole foreground process group: a plugin that died of it means the run
/// was interrupted.
fn interrupted(status: &std::process::ExitStatus) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        match status.signal() {
            Some(2) => {
                return Err(Error::Interrupted {
                    name: "SIGINT",
                    code: exit::SIGINT,
                });
            }
            Some(15) => {
                return Err(Error::Interrupted {
                    name: "SIGTERM",
                    code: exit::SIGTERM,
                });
            }
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = status;
    Ok(())
}
