//! The probe orchestrator (DESIGN §4 `probe`): what to probe for a Service ([`plan`]), the Job that
//! runs the agent ([`job`]), and running it against the API ([`run`]): create, wait, read the log,
//! delete — also on failure, timeout and Ctrl-C.
//!
//! The agent's JSON lines are read back here as [`AgentRecord`]s; their schema is documented in
//! checks/pods.listening.md.

pub mod crosscheck;
pub mod job;
pub mod plan;
pub mod run;

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

pub use plan::{Planned, ProbePlan, Purpose};

/// Labels every object the tool creates carries (`cleanup` finds them by the first).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubectl-netdoctor");
pub const NAME_LABEL: (&str, &str) = ("app.kubernetes.io/name", "netdoctor-probe");
/// When a probe object may be deleted by `cleanup` even if its run is still going (RFC 3339).
pub const DEADLINE_ANNOTATION: &str = "netdoctor.io/deadline";

/// Runs the probe for a Service's flow, unless an API check already explains the failure (then a
/// probe pod would only confirm it) or there is nothing to probe.
pub async fn probe_service(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    opts: &job::ProbeOptions,
) -> crate::state::Fact<ProbeResults> {
    probe_service_from(prober, state, opts, None).await
}

/// [`probe_service`], with the probe in `namespace` rather than the client's or the Service's.
pub async fn probe_service_from(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    opts: &job::ProbeOptions,
    namespace: Option<String>,
) -> crate::state::Fact<ProbeResults> {
    use crate::state::{Fact, Unavailable};
    if let Some(skip) = before_probing(state) {
        return skip;
    }
    let labels = state
        .policies
        .known()
        .map(|p| plan::referenced_labels(p))
        .unwrap_or_default();
    let mut plan = ProbePlan::for_service(state, &labels);
    if let Some(ns) = namespace {
        plan.relocate(&ns, state);
    }
    if plan.targets.is_empty() {
        return Fact::Unavailable(Unavailable::NotRequested("nothing to probe"));
    }
    prober.run(&plan, opts).await
}

/// [`probe_service`] from inside the `--from` pod (`--inside`), as an ephemeral container.
pub async fn probe_service_inside(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    opts: &job::ProbeOptions,
) -> crate::state::Fact<ProbeResults> {
    use crate::state::{Client, Fact, Unavailable};
    let pod = match &state.client {
        Some(Client::Pod { pod, .. }) => match pod.as_ref() {
            Fact::Known(Some(pod)) => pod.clone(),
            Fact::Known(None) => {
                return Fact::Unavailable(Unavailable::Failed(
                    "the --from pod does not exist: nothing to run inside".into(),
                ));
            }
            Fact::Unavailable(u) => return Fact::Unavailable(u.clone()),
        },
        _ => {
            return Fact::Unavailable(Unavailable::NotRequested("--inside needs --from pod/NAME"));
        }
    };
    if let Some(skip) = before_probing(state) {
        return skip;
    }
    let plan = ProbePlan::for_service(state, &[]);
    if plan.targets.is_empty() {
        return Fact::Unavailable(Unavailable::NotRequested("nothing to probe"));
    }
    prober.run_inside(&plan, opts, &pod).await
}

/// Why not to probe at all: an API check already failed (a probe would only confirm it).
fn before_probing(state: &crate::state::ClusterState) -> Option<crate::state::Fact<ProbeResults>> {
    let api_checks = crate::checks::run_all(state);
    let failed_before = api_checks.iter().any(|c| {
        crate::checks::find(c.id).is_some_and(|d| d.order < 5)
            && c.status == crate::report::Status::Fail
    });
    failed_before.then_some(crate::state::Fact::Unavailable(
        crate::state::Unavailable::NotRequested("not probed: an earlier check already failed"),
    ))
}

/// `--inspect`: reads the socket table of (up to 3) backend pods that refused or were closed, from
/// inside each (an ephemeral container running `agent --sockets`; it stays in the pod's spec).
pub async fn inspect_refused(
    prober: &run::Prober,
    state: &crate::state::ClusterState,
    results: &mut ProbeResults,
    opts: &job::ProbeOptions,
) {
    let plan = ProbePlan::as_run(state, results);
    let mut pods: Vec<String> = Vec::new();
    for t in &plan.targets {
        let Purpose::Endpoint { pod: Some(pod), .. } = &t.purpose else {
            continue;
        };
        let refused = results
            .records_for(&t.arg)
            .any(|r| matches!(r.verdict.as_str(), "refused" | "closed"));
        if refused && !pods.contains(pod) && pods.len() < 3 {
            pods.push(pod.clone());
        }
    }
    for pod in pods {
        let name = run::ephemeral_name("netdoctor-inspect");
        let container = serde_json::json!({
            "name": name,
            "image": opts.image,
            "command": ["kubectl-netdoctor"],
            "args": ["agent", "--sockets", "--hard-deadline", "30s"],
            "securityContext": {
                "runAsNonRoot": true, "runAsUser": 65534, "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
            },
        });
        let limit = std::time::Duration::from_secs(60).min(opts.timeout);
        let outcome = prober
            .run_ephemeral(&state.namespace, &pod, container, limit)
            .await;
        let read = match outcome {
            Ok(log) => log
                .lines()
                .filter(|l| l.starts_with('{'))
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|v| v["kind"] == "sockets")
                .and_then(|v| serde_json::from_value(v["listening"].clone()).ok())
                .ok_or_else(|| "the inspector printed no socket table".to_string()),
            Err(run::EphemeralError::Failed(u)) => Err(u.reason()),
            Err(run::EphemeralError::Refused(m) | run::EphemeralError::CannotStart(m)) => Err(m),
        };
        results.sockets.insert(pod, read);
    }
}

/// One line the agent printed about a target (TCP, UDP or DNS).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AgentRecord {
    pub kind: String,
    pub target: String,
    pub verdict: String,
    #[serde(default)]
    pub evidence: Option<String>,
    #[serde(default)]
    pub local: Option<SocketAddr>,
    #[serde(default)]
    pub sent: u32,
    #[serde(default)]
    pub retransmits: u32,
    #[serde(default)]
    pub reply: Option<String>,
    #[serde(default)]
    pub reply_from: Option<IpAddr>,
    #[serde(default)]
    pub rtt_ms: Option<f64>,
    #[serde(default)]
    pub detail: String,
    // DNS lines
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub via: Option<String>,
    /// The nameservers a DNS lookup asked ("10.96.0.10:53").
    #[serde(default)]
    pub servers: Vec<String>,
    #[serde(default)]
    pub rcode: Option<String>,
    #[serde(default)]
    pub answered_name: Option<String>,
    #[serde(default)]
    pub answers: Vec<String>,
    #[serde(default)]
    pub tries: u32,
    #[serde(default)]
    pub resolved: u32,
    #[serde(default)]
    pub intermittent: bool,
    #[serde(default)]
    pub latency_ms: Option<f64>,
}

/// The agent's last line.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AgentSummary {
    pub uid: Option<u32>,
    pub euid: Option<u32>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    pub capture: AgentCapture,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AgentCapture {
    pub enabled: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a probe run produced.
#[derive(Debug, Clone)]
pub struct ProbeResults {
    pub namespace: String,
    pub pod: String,
    pub node: Option<String>,
    /// The PodSecurity rung the pod ran at.
    pub rung: job::Rung,
    /// What happened on the way (a refused rung, a mesh sidecar note).
    pub notes: Vec<String>,
    pub records: Vec<AgentRecord>,
    pub summary: Option<AgentSummary>,
    /// The labels the probe pod carried (its identity for NetworkPolicy).
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--inspect`: the socket table of backend pods that refused, or why it could not be read.
    pub sockets:
        std::collections::BTreeMap<String, Result<Vec<crate::agent::sockets::Listening>, String>>,
}

impl ProbeResults {
    /// Reads the agent's log: one JSON object per line; other lines (a runtime's noise) are
    /// ignored, an unreadable JSON line is an error.
    pub fn parse_log(log: &str) -> Result<(Vec<AgentRecord>, Option<AgentSummary>), String> {
        let mut records = Vec::new();
        let mut summary = None;
        for (n, line) in log.lines().enumerate() {
            let line = line.trim();
            if !line.starts_with('{') {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("agent log line {}: {e}", n + 1))?;
            if value["kind"] == "summary" {
                summary = Some(
                    serde_json::from_value(value)
                        .map_err(|e| format!("agent summary line {}: {e}", n + 1))?,
                );
            } else {
                records.push(
                    serde_json::from_value(value)
                        .map_err(|e| format!("agent log line {}: {e}", n + 1))?,
                );
            }
        }
        Ok((records, summary))
    }

    /// The lines about one target (several for a repeated ClusterIP probe).
    pub fn records_for<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a AgentRecord> {
        self.records.iter().filter(move |r| r.target == target)
    }

    /// Whether verdicts came from packets (capture on).
    pub fn captured(&self) -> bool {
        self.summary.as_ref().is_some_and(|s| s.capture.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_agent_writes() {
        // A line as the agent serialises it (src/agent/probe.rs), and a summary.
        let log = concat!(
            "some runtime noise\n",
            r#"{"kind":"tcp","target":"tcp:10.0.0.9:8080","verdict":"dropped","evidence":"packets","local":"10.0.0.5:40000","iface":"eth0","sent":2,"retransmits":1,"reply":null,"reply_from":null,"socket":"timeout","elapsed_ms":1500.2,"detail":"2 SYN(s)"}"#,
            "\n",
            r#"{"kind":"dns","target":"dns:web.shop","name":"web.shop","type":"A","via":"resolv.conf","servers":["10.96.0.10:53"],"verdict":"resolved","rcode":"NOERROR","answered_name":"web.shop.svc.cluster.local.","answers":["10.96.0.20"],"latency_ms":1.2,"tries":3,"resolved":3,"detail":"x"}"#,
            "\n",
            r#"{"kind":"summary","agent":"kubectl-netdoctor 0.1.0","targets":2,"verdicts":{},"elapsed_ms":1,"uid":0,"euid":0,"capabilities":["NET_RAW"],"capture":{"enabled":true,"interfaces":["eth0"],"packets":9}}"#,
        );
        let (records, summary) = ProbeResults::parse_log(log).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].verdict, "dropped");
        assert_eq!(records[0].retransmits, 1);
        assert_eq!(records[1].answers, vec!["10.96.0.20"]);
        let summary = summary.unwrap();
        assert!(summary.capture.enabled);
        assert_eq!(summary.uid, Some(0));
        assert!(ProbeResults::parse_log("{not json").is_err());
    }
}
