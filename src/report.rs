//! The report model: what the checks found, the verdict, and the exit code. Renderers only format
//! this; nothing here prints.

use serde::Serialize;

use crate::error::exit;
pub(crate) use crate::fix::Fix;
use crate::state::{ObjectRef, SourceKind};

pub(crate) const API_VERSION: &str = "netdoctor.io/v1";

/// A check's status. The variant order is severity (`max` is the worst): a skip says nothing
/// against the Service, a check that broke says less than one that found a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Skip,
    Warn,
    /// The check itself broke: counts as incomplete.
    Error,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

/// Why a check was skipped; decides whether the diagnosis is incomplete (exit 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipKind {
    /// A check it depends on failed or was skipped.
    Dependency,
    /// Manifests do not carry the facts (offline).
    Offline,
    /// The check does not apply to this kind of Service.
    NotApplicable,
    /// A read it needs was forbidden or failed.
    Unavailable,
    /// The user did not ask for what it needs (`--no-probe`, API-only commands).
    NotRequested,
}

/// One piece of evidence: what was seen, on which object.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Evidence {
    /// What sort of evidence ("LabelDiff", "PodNotReady", …); items of one kind share `fields`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// One line for people.
    pub message: String,
    /// The same facts for machines (and for tables in the human view), in a meaningful order.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "as_map")]
    pub fields: Vec<(String, String)>,
}

impl Evidence {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Evidence {
            kind,
            object: None,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn on(mut self, object: ObjectRef) -> Self {
        self.object = Some(object);
        self
    }

    pub fn field(mut self, key: &str, value: impl Into<String>) -> Self {
        self.fields.push((key.to_string(), value.into()));
        self
    }
}

fn as_map<S: serde::Serializer>(fields: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(fields.iter().map(|(k, v)| (k, v)))
}

/// What one check concluded.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Another check this finding names as the root cause (e.g. endpoints.ready → ports.target).
    #[serde(rename = "rootCause", skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<&'static str>,
    pub evidence: Vec<Evidence>,
    pub fix: Vec<Fix>,
    /// The finding's code (`ND1108`) when the check failed or warned (`explain CODE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Ignored by `--ignore` or an annotation: still reported, no longer failing the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
    /// The field at fault, for SARIF: the object and the path in it.
    #[serde(skip)]
    pub at: Option<At>,
    /// Offline: the manifest document of that object (the field's line is found when SARIF is
    /// written).
    #[serde(skip)]
    pub origin: Option<crate::state::Origin>,
    #[serde(skip)]
    pub skip_kind: Option<SkipKind>,
}

/// The field a finding is about: an object, and a path into it (empty: the object itself).
#[derive(Clone, Debug, PartialEq)]
pub struct At {
    pub object: ObjectRef,
    pub path: Vec<crate::source::locate::Step>,
}

/// Why a finding is ignored (crate::suppress).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suppressed {
    /// `flag` (`--ignore`) or `annotation` (`netdoctor.io/ignore` on `object`).
    pub by: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// The annotation's words after `#`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Suppressed {
    /// Ignored by `--ignore`.
    pub(crate) fn by_flag() -> Self {
        Suppressed {
            by: "flag",
            object: None,
            reason: None,
        }
    }

    /// "--ignore", or "annotation on Ingress shop/web: the edge terminates TLS".
    pub(crate) fn describe(&self) -> String {
        let mut out = match (&self.object, self.by) {
            (_, "flag") => "--ignore".to_string(),
            (Some(o), _) => format!(
                "annotation on {} {}{}",
                o.kind,
                o.namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                o.name
            ),
            (None, by) => by.to_string(),
        };
        if let Some(r) = &self.reason {
            out.push_str(&format!(": {r}"));
        }
        out
    }
}

/// The check outcome before it is stamped with its id and title.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub status: Status,
    pub summary: String,
    pub skip: Option<(SkipKind, String)>,
    pub root_cause: Option<&'static str>,
    pub evidence: Vec<Evidence>,
    pub fix: Vec<String>,
    /// The finding's code (crate::codes), set where a check fails or warns.
    pub code: Option<&'static str>,
    /// The field at fault (SARIF's location).
    pub at: Option<At>,
}

impl Outcome {
    fn new(status: Status, summary: impl Into<String>) -> Self {
        Outcome {
            status,
            summary: summary.into(),
            skip: None,
            root_cause: None,
            evidence: Vec::new(),
            fix: Vec::new(),
            code: None,
            at: None,
        }
    }
    pub(crate) fn pass(summary: impl Into<String>) -> Self {
        Self::new(Status::Pass, summary)
    }
    pub(crate) fn warn(summary: impl Into<String>) -> Self {
        Self::new(Status::Warn, summary)
    }
    pub(crate) fn fail(summary: impl Into<String>) -> Self {
        Self::new(Status::Fail, summary)
    }
    pub(crate) fn skip(kind: SkipKind, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut o = Self::new(Status::Skip, format!("skipped: {reason}"));
        o.skip = Some((kind, reason));
        o
    }
    pub(crate) fn evidence(mut self, e: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(e);
        self
    }
    pub(crate) fn fix(mut self, f: impl IntoIterator<Item = String>) -> Self {
        self.fix.extend(f);
        self
    }
    pub(crate) fn root_cause(mut self, id: &'static str) -> Self {
        self.root_cause = Some(id);
        self
    }
    /// The finding's code (a registered one: a test reads every `"NDxxxx"` in the source).
    pub(crate) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
    /// The field at fault: `path` (`spec.selector`) in `object`.
    pub(crate) fn at(mut self, object: ObjectRef, path: &str) -> Self {
        self.at = Some(At {
            object,
            path: crate::source::locate::path(path),
        });
        self
    }

    pub(crate) fn into_result(self, id: &'static str, title: &'static str) -> CheckResult {
        let (skip_kind, reason) = match self.skip {
            Some((k, r)) => (Some(k), Some(r)),
            None => (None, None),
        };
        CheckResult {
            id,
            title,
            status: self.status,
            summary: self.summary,
            reason,
            root_cause: self.root_cause,
            evidence: self.evidence,
            fix: crate::fix::ordered(self.fix.iter().map(|f| Fix::read(f)).collect()),
            code: matches!(self.status, Status::Fail | Status::Warn)
                .then_some(self.code)
                .flatten(),
            suppressed: None,
            at: self.at,
            origin: None,
            skip_kind,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Target {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
}

/// The root cause, or that there is none.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Verdict {
    /// pass | warn | fail | incomplete
    pub status: &'static str,
    pub check: Option<&'static str>,
    /// The verdict's finding code, when it is a finding (`explain CODE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    pub summary: String,
    pub fix: Vec<Fix>,
}

/// The Diagnosis document (DESIGN §4).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Diagnosis {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub target: Target,
    pub source: SourceKind,
    /// Live: the context and API server the run read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::connection::Cluster>,
    pub verdict: Verdict,
    pub checks: Vec<CheckResult>,
    /// Per-node probing (`--all-nodes`, `--nodes`): what each node's probe saw, path by path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeTable>,
}

/// The node × path table of per-node probing.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeTable {
    /// How the nodes were chosen ("3 nodes", "20 of 5,000 nodes: …").
    pub scope: String,
    pub rows: Vec<NodeRow>,
    /// Nodes the selector matched that got no probe pod, with why.
    pub not_probed: Vec<NotProbed>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotProbed {
    pub node: String,
    pub reason: String,
}

/// One node's probe: each path's outcome in a word or two ("2/2 open", "dropped 6/6").
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodeRow {
    pub node: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The node hosts a ready endpoint of the Service.
    pub hosts_endpoints: bool,
    /// The probe pod that ran there, or why none did.
    pub probe: String,
    /// Whether every path tried from the node worked.
    pub ok: bool,
    /// The ready endpoints' pod IPs: how many answered.
    pub pods: String,
    #[serde(rename = "clusterIP")]
    pub cluster_ip: String,
    /// The nodePorts (NodePort and LoadBalancer Services): on how many nodes they answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_ports: Option<String>,
    pub dns: String,
}

impl Diagnosis {
    pub(crate) fn new(target: Target, source: SourceKind, checks: Vec<CheckResult>) -> Self {
        let verdict = verdict(&checks);
        Diagnosis {
            api_version: API_VERSION,
            kind: "Diagnosis",
            target,
            cluster: live_cluster(source),
            source,
            verdict,
            checks,
            nodes: None,
        }
    }

    /// Ignores the findings of these codes (`--ignore`): marked, and no longer the verdict.
    pub(crate) fn suppress(&mut self, codes: &[&str]) {
        for c in &mut self.checks {
            if c.suppressed.is_none() && c.code.is_some_and(|code| codes.contains(&code)) {
                c.suppressed = Some(Suppressed::by_flag());
            }
        }
        self.verdict = verdict(&self.checks);
    }

    /// The findings ignored, as "ND1108 (--ignore)".
    pub(crate) fn suppressed(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|c| {
                let s = c.suppressed.as_ref()?;
                Some(format!("{} ({})", c.code.unwrap_or(c.id), s.describe()))
            })
            .collect()
    }

    /// Whether a check could not run for a reason that leaves the diagnosis incomplete.
    pub(crate) fn incomplete(&self) -> bool {
        self.checks.iter().any(|c| {
            c.status == Status::Error
                || (c.status == Status::Skip && c.skip_kind == Some(SkipKind::Unavailable))
        })
    }

    /// DESIGN §2: 1 if a check failed (or warned, under `--strict`), else 3 if incomplete, else 0.
    pub(crate) fn exit_code(&self, strict: bool) -> u8 {
        let failed = self.checks.iter().any(|c| {
            c.suppressed.is_none()
                && (c.status == Status::Fail || (strict && c.status == Status::Warn))
        });
        if failed {
            exit::FAILED
        } else if self.incomplete() {
            exit::INCOMPLETE
        } else {
            exit::OK
        }
    }
}

/// The cluster a live report is about (none offline).
pub(crate) fn live_cluster(source: SourceKind) -> Option<crate::connection::Cluster> {
    match source {
        SourceKind::Live => crate::connection::cluster().cloned(),
        SourceKind::Manifests => None,
    }
}

/// The root cause: the first failing check in flow order, unless its finding names another check
/// as the root cause. Then the first warning; then whether anything could not run.
fn verdict(checks: &[CheckResult]) -> Verdict {
    let pick = |c: &CheckResult, status: &'static str| {
        let named = c.root_cause.and_then(|id| {
            checks
                .iter()
                .find(|r| r.id == id && r.status == Status::Fail && r.suppressed.is_none())
        });
        let c = named.unwrap_or(c);
        Verdict {
            status,
            check: Some(c.id),
            code: c.code,
            summary: c.summary.clone(),
            fix: c.fix.clone(),
        }
    };
    // A finding the user ignored is not the verdict.
    let all = checks;
    let checks: Vec<&CheckResult> = checks.iter().filter(|c| c.suppressed.is_none()).collect();
    if let Some(c) = checks.iter().find(|c| c.status == Status::Fail) {
        return pick(c, "fail");
    }
    if let Some(c) = checks.iter().find(|c| {
        c.status == Status::Error
            || (c.status == Status::Skip && c.skip_kind == Some(SkipKind::Unavailable))
    }) {
        return Verdict {
            status: "incomplete",
            check: Some(c.id),
            code: None,
            summary: format!(
                "{} could not run: {}",
                c.id,
                c.reason.as_deref().unwrap_or(&c.summary)
            ),
            fix: c.fix.clone(),
        };
    }
    if let Some(c) = checks.iter().find(|c| c.status == Status::Warn) {
        return pick(c, "warn");
    }
    let ignored: Vec<&str> = all
        .iter()
        .filter(|c| c.suppressed.is_some())
        .filter_map(|c| c.code)
        .collect();
    Verdict {
        status: "pass",
        check: None,
        code: None,
        summary: if ignored.is_empty() {
            "every check that ran passed".to_string()
        } else {
            format!(
                "every check that ran passed, but for what is ignored: {}",
                ignored.join(", ")
            )
        },
        fix: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &'static str, o: Outcome) -> CheckResult {
        o.into_result(id, "t")
    }

    fn diag(checks: Vec<CheckResult>) -> Diagnosis {
        let t = Target {
            kind: "Service",
            namespace: "ns".into(),
            name: "s".into(),
        };
        Diagnosis::new(t, SourceKind::Live, checks)
    }

    #[test]
    fn first_failure_in_flow_order_is_the_verdict_unless_it_names_a_root_cause() {
        let d = diag(vec![
            result("a", Outcome::pass("ok")),
            result("b", Outcome::fail("b broke").root_cause("c")),
            result("c", Outcome::fail("c broke")),
        ]);
        assert_eq!(d.verdict.check, Some("c"));
        assert_eq!(d.exit_code(false), 1);
        let d = diag(vec![
            result("b", Outcome::fail("b broke")),
            result("c", Outcome::fail("c")),
        ]);
        assert_eq!(d.verdict.check, Some("b"));
    }

    #[test]
    fn exit_codes_follow_the_design_precedence() {
        let forbidden = || {
            result(
                "x",
                Outcome::skip(SkipKind::Unavailable, "forbidden: needs list pods in ns"),
            )
        };
        assert_eq!(
            diag(vec![forbidden(), result("y", Outcome::fail("f"))]).exit_code(false),
            1
        );
        let d = diag(vec![forbidden(), result("y", Outcome::pass("p"))]);
        assert_eq!(d.exit_code(false), 3);
        assert_eq!(d.verdict.status, "incomplete");
        let offline = diag(vec![result(
            "x",
            Outcome::skip(SkipKind::Offline, "offline"),
        )]);
        assert_eq!(offline.exit_code(false), 0);
        let warned = diag(vec![result("w", Outcome::warn("hmm"))]);
        assert_eq!(warned.exit_code(false), 0);
        assert_eq!(warned.exit_code(true), 1);
        assert_eq!(warned.verdict.status, "warn");
        let healthy = diag(vec![result("p", Outcome::pass("ok"))]);
        assert_eq!(healthy.verdict.status, "pass");
        assert_eq!(healthy.verdict.check, None);
    }
}

/// A finding about a scan's scope rather than one Service (a policy that selects nothing, an
/// Ingress backend that does not exist, a kind that could not be read).
#[derive(Serialize, Clone, Debug)]
pub(crate) struct Finding {
    pub kind: &'static str,
    /// The finding's code; none for facts (informational findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    pub message: String,
    /// The object it is about (its annotation may ignore it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// Ignored by `--ignore` or an annotation: still reported and counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
    /// The field at fault (SARIF), and offline its object's manifest document.
    #[serde(skip)]
    pub at: Option<At>,
    #[serde(skip)]
    pub origin: Option<crate::state::Origin>,
}

impl Finding {
    /// Facts about the scope (the cluster domain, NodeLocal DNSCache) are information, not
    /// problems: shown with `i`, not `!`.
    pub(crate) fn informational(&self) -> bool {
        matches!(self.kind, "ClusterDomain" | "NodeLocalDNS")
    }
}

#[derive(Serialize, Default, Debug)]
pub(crate) struct Summary {
    pub services: usize,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub incomplete: usize,
    /// Findings ignored (checks and scan-wide findings), never silently dropped.
    pub suppressed: usize,
}

/// The `scan` document (DESIGN §4).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScanReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub source: SourceKind,
    /// Live: the context and API server the run read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::connection::Cluster>,
    pub scope: String,
    pub items: Vec<Diagnosis>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Summary {
    /// Counts of verdicts over Diagnoses.
    pub(crate) fn of(items: &[Diagnosis]) -> Self {
        let mut s = Summary {
            services: items.len(),
            ..Default::default()
        };
        for d in items {
            s.suppressed += d.checks.iter().filter(|c| c.suppressed.is_some()).count();
            match d.verdict.status {
                "pass" => s.pass += 1,
                "warn" => s.warn += 1,
                "fail" => s.fail += 1,
                _ => s.incomplete += 1,
            }
        }
        s
    }
}

impl ScanReport {
    /// Ignores the findings of these codes (`--ignore`) in every Service and among the
    /// scan-wide findings, and counts what is suppressed.
    pub(crate) fn suppress(&mut self, codes: &[&str]) {
        for d in &mut self.items {
            d.suppress(codes);
        }
        for f in &mut self.findings {
            if f.suppressed.is_none() && f.code.is_some_and(|c| codes.contains(&c)) {
                f.suppressed = Some(Suppressed::by_flag());
            }
        }
        self.summary = Summary::of(&self.items);
        self.summary.suppressed += self
            .findings
            .iter()
            .filter(|f| f.suppressed.is_some())
            .count();
    }

    /// 1 if any Service failed (or warned, under --strict), else 3 if any is incomplete, else 0.
    pub(crate) fn exit_code(&self, strict: bool) -> u8 {
        use crate::error::exit;
        let codes: Vec<u8> = self.items.iter().map(|d| d.exit_code(strict)).collect();
        if codes.contains(&exit::FAILED) {
            exit::FAILED
        } else if codes.contains(&exit::INCOMPLETE) {
            exit::INCOMPLETE
        } else {
            exit::OK
        }
    }
}

#[cfg(test)]
mod status_tests {
    use super::Status;

    // The worst of several findings is their maximum: a failure outranks a broken check, which
    // outranks a warning; a skip never hides a pass's absence of problems.
    #[test]
    fn status_order_is_severity() {
        let mut all = [
            Status::Fail,
            Status::Warn,
            Status::Pass,
            Status::Error,
            Status::Skip,
        ];
        all.sort();
        assert_eq!(
            all,
            [
                Status::Pass,
                Status::Skip,
                Status::Warn,
                Status::Error,
                Status::Fail
            ]
        );
        assert_eq!(Status::Pass.max(Status::Warn), Status::Warn);
        assert_eq!(Status::Fail.max(Status::Error), Status::Fail);
    }
}
