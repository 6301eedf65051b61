//! What a probe run produced, as plain data of the model: the agent's records, the rung it ran
//! at, its identity. The orchestrator (`crate::probe`) fills it; the probe checks read it.

use crate::wire::{DnsLine, Line, Listening, SocketLine, Summary};

/// The PodSecurity rung of the capture ladder a probe pod ran at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rung {
    Privileged,
    Baseline,
    Restricted,
}

impl Rung {
    /// The first rung a namespace's `pod-security.kubernetes.io/enforce` level admits.
    pub fn for_level(level: Option<&str>) -> Rung {
        match level {
            Some("restricted") => Rung::Restricted,
            Some("baseline") => Rung::Baseline,
            _ => Rung::Privileged,
        }
    }

    /// The next rung after an admission refusal.
    pub fn next(self) -> Option<Rung> {
        match self {
            Rung::Privileged => Some(Rung::Baseline),
            Rung::Baseline => Some(Rung::Restricted),
            Rung::Restricted => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rung::Privileged => "privileged",
            Rung::Baseline => "baseline",
            Rung::Restricted => "restricted",
        }
    }
}

/// Labels every object the tool creates carries (`cleanup` finds them by the first); a probe pod
/// carries them where the client's copied labels do not say otherwise.
pub(crate) const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubectl-netdoctor");
pub(crate) const NAME_LABEL: (&str, &str) = ("app.kubernetes.io/name", "netdoctor-probe");
/// Istio ambient enrols a pod by its namespace's label unless the pod opts out: the probe stays a
/// client without a mesh identity, as its annotations keep sidecars away.
pub(crate) const AMBIENT_OPT_OUT: (&str, &str) = ("istio.io/dataplane-mode", "none");

/// What a probe run produced.
#[derive(Debug, Clone)]
pub struct ProbeResults {
    pub namespace: String,
    pub pod: String,
    pub node: Option<String>,
    /// The PodSecurity rung the pod ran at.
    pub rung: Rung,
    /// What happened on the way (a refused rung, a mesh sidecar note).
    pub notes: Vec<String>,
    /// The agent's lines about its targets (TCP, UDP, DNS), as printed.
    pub records: Vec<Line>,
    pub summary: Option<Summary>,
    /// The labels the probe pod carried (its identity for NetworkPolicy).
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--inspect`: the socket table of backend pods that refused, or why it could not be read.
    pub sockets: std::collections::BTreeMap<String, Result<Vec<Listening>, String>>,
}

impl ProbeResults {
    /// The client's labels the probe carried (its own identity labels left out).
    pub fn copied_labels(&self) -> std::collections::BTreeMap<String, String> {
        let mut copied = self.labels.clone();
        copied.retain(|k, v| {
            let pair = (k.as_str(), v.as_str());
            pair != MANAGED_BY && pair != NAME_LABEL && pair != AMBIENT_OPT_OUT
        });
        copied
    }

    /// Reads the agent's log: one JSON object per line; other lines (a runtime's noise) are
    /// ignored, an unreadable JSON line is an error.
    pub fn parse_log(log: &str) -> Result<(Vec<Line>, Option<Summary>), String> {
        let mut records = Vec::new();
        let mut summary = None;
        for (n, text) in log.lines().enumerate() {
            match Line::parse(text) {
                None => {}
                Some(Err(e)) => return Err(format!("agent log line {}: {e}", n + 1)),
                Some(Ok(Line::Summary(s))) => summary = Some(s),
                Some(Ok(Line::Sockets(_))) => {}
                Some(Ok(line)) => records.push(line),
            }
        }
        Ok((records, summary))
    }

    /// The lines about one TCP or UDP target (several for a repeated ClusterIP probe).
    pub fn sockets_for<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a SocketLine> {
        self.records
            .iter()
            .filter_map(Line::socket)
            .filter(move |r| r.target == target)
    }

    /// The lines about one DNS target.
    pub fn lookups_for<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a DnsLine> {
        self.lookups().filter(move |r| r.target == target)
    }

    /// The line about one HTTP target.
    pub fn http_for(&self, target: &str) -> Option<&crate::wire::HttpLine> {
        self.records
            .iter()
            .filter_map(Line::http)
            .find(|r| r.target == target)
    }

    /// Every DNS line.
    pub fn lookups(&self) -> impl Iterator<Item = &DnsLine> {
        self.records.iter().filter_map(Line::dns)
    }

    /// Whether anything the probe tried failed: a connect not open (UDP silence aside), a lookup
    /// without an answer.
    pub fn saw_fault(&self) -> bool {
        use crate::wire::Verdict;
        self.records
            .iter()
            .filter_map(Line::verdict)
            .any(|v| !matches!(v, Verdict::Open | Verdict::NoAnswer | Verdict::Resolved))
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
        assert_eq!(records[0].verdict(), Some(crate::wire::Verdict::Dropped));
        assert_eq!(records[0].socket().unwrap().retransmits, 1);
        assert_eq!(records[1].dns().unwrap().answers, vec!["10.96.0.20"]);
        let summary = summary.unwrap();
        assert!(summary.capture.enabled);
        assert_eq!(summary.uid, Some(0));
        assert!(ProbeResults::parse_log("{not json").is_err());
    }
}
