//! service.clusterip (6): the ClusterIP answers like the pods do. The probe connects several times
//! per Service port (each connect may reach another backend). Pods open but the ClusterIP not is a
//! service proxy fault on the probe's node; ICMP port unreachable from a ClusterIP is the proxy's
//! "no endpoints" reject; some connects failing means the proxy still routes to a broken backend.

use crate::wire::Verdict;
use std::collections::BTreeMap;

use super::common as probed;
use super::unavailable;
use crate::report::{Evidence, Outcome, SkipKind, Status};
use crate::state::ClusterState;
use crate::state::plan::{ProbePlan, Purpose};

pub(super) fn run(state: &ClusterState) -> Outcome {
    let results = match state.probe.as_result() {
        Ok(r) => r,
        Err(u) => return unavailable(u),
    };
    let plan = ProbePlan::as_run(state, results);
    let node = results
        .node
        .as_deref()
        .map_or_else(|| "the probe's node".to_string(), |n| format!("node {n}"));
    let node_name = results.node.as_deref().unwrap_or("<node>");
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    let mut worst = Status::Pass;
    let mut code = None;
    let mut lines = Vec::new();
    for planned in &plan.targets {
        let Purpose::ClusterIp {
            ip, port, protocol, ..
        } = &planned.purpose
        else {
            continue;
        };
        let what = format!("{ip}:{port}/{protocol}");
        let records: Vec<_> = results.sockets_for(&planned.arg).collect();
        let at = (node.as_str(), node_name);
        let Some((e, status, line, fix)) = connects(state, &records, &what, ip, protocol, at)
        else {
            worst = worst.max(Status::Error);
            lines.push(format!("{what}: the agent reported nothing"));
            continue;
        };
        evidence.push(e);
        worst = worst.max(status);
        lines.push(line);
        if let Some((c, fix)) = fix {
            code = code.or(Some(c));
            fixes.push(fix);
        }
    }
    if lines.is_empty() {
        return Outcome::skip(
            SkipKind::NotApplicable,
            "headless or without a ClusterIP: nothing to probe",
        );
    }
    if let Some(affinity) = state
        .service()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.session_affinity.as_deref())
        .filter(|a| *a == "ClientIP")
    {
        evidence.push(Evidence::new(
            "SessionAffinity",
            format!(
                "sessionAffinity {affinity}: every connect from the probe reaches the same backend"
            ),
        ));
    }
    if worst != Status::Pass {
        evidence.splice(0..0, probed::probe_evidence(results));
    }
    let summary = lines.join("; ");
    let mut outcome = match worst {
        Status::Pass => Outcome::pass(summary),
        _ => {
            let mut o = Outcome::fail(summary);
            o.code = code;
            o
        }
    };
    if worst == Status::Error {
        outcome.status = Status::Error;
    }
    fixes.dedup();
    outcome.evidence(evidence).fix(fixes)
}

/// A failure's code and fix.
type Failed = (&'static str, String);

/// What the connects to one ClusterIP port add up to: the evidence, the status, the line, and the
/// finding's code and fix when they failed; `None` when the agent reported nothing.
fn connects(
    state: &ClusterState,
    records: &[&crate::wire::SocketLine],
    what: &str,
    ip: &str,
    protocol: &str,
    (node, node_name): (&str, &str),
) -> Option<(Evidence, Status, String, Option<Failed>)> {
    let first_record = records.first()?;
    // By the verdict's word: the tally reads alphabetically.
    let mut counts: BTreeMap<&str, (Verdict, usize)> = BTreeMap::new();
    for r in records {
        counts.entry(r.verdict.as_str()).or_insert((r.verdict, 0)).1 += 1;
    }
    let count = |v: Verdict| counts.get(v.as_str()).map_or(0, |(_, c)| *c);
    let n = records.len();
    let open = count(Verdict::Open);
    let tally = counts
        .iter()
        .map(|(v, (_, c))| format!("{c} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let shown = records
        .iter()
        .find(|r| r.verdict != Verdict::Open)
        .unwrap_or(first_record);
    let mut e = probed::evidence("ClusterIpProbe", what, shown)
        .field("connects", n.to_string())
        .field("outcomes", tally.clone());
    e.message = format!("{what}: {tally} of {n} connects");
    let silent = count(Verdict::NoAnswer);
    if open == n || (protocol == "UDP" && open + silent == n) {
        return Some((
            e,
            Status::Pass,
            format!("{what} answered {open} of {n}"),
            None,
        ));
    }
    if open > 0 {
        let line = format!("{what}: {} of {n} connects failed ({tally})", n - open);
        let fix = format!(
            "the proxy still routes to a backend that does not answer: compare kubectl get endpointslices -n {} -l {} with the pods that answered in pods.listening; restart kube-proxy on {node} if its rules are stale",
            crate::text::shell_quote(&state.namespace),
            crate::text::shell_quote(&format!(
                "kubernetes.io/service-name={}",
                state.service_name
            ))
        );
        return Some((e, Status::Fail, line, Some(("ND4101", fix))));
    }
    let first = counts.values().next().map(|(v, _)| *v);
    let (line, fix) = failed_connects(first, what, &tally, ip, node, node_name);
    Some((e, Status::Fail, line, Some(("ND4102", fix))))
}

/// Every connect to the ClusterIP failed alike: what the proxy on the probe's node does wrong.
fn failed_connects(
    first: Option<Verdict>,
    what: &str,
    tally: &str,
    ip: &str,
    node: &str,
    node_name: &str,
) -> (String, String) {
    match first {
        Some(Verdict::Rejected) => (
            format!(
                "{what} is rejected (ICMP port unreachable): the service proxy on {node} has no endpoints for it"
            ),
            format!(
                "the proxy on {node} is out of sync with the EndpointSlices; read its log, or restart it: kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=50 --prefix"
            ),
        ),
        Some(Verdict::Dropped) => (
            format!("{what} does not answer while the pods do: no service proxy rule on {node}"),
            // Only the command after the colon is pasted: the words around it stay prose.
            format!(
                "check the service proxy on {node} (kube-proxy, or Cilium/Calico eBPF with its kube-proxy replacement): kubectl -n kube-system get pods -o wide --field-selector spec.nodeName={}",
                crate::text::shell_quote(node_name)
            ),
        ),
        Some(Verdict::Refused) => (
            format!("{what} is refused: the proxy forwards to a port where nothing listens"),
            format!(
                "compare the proxy's rules on {node} with the Service's targetPort (on the node: iptables-save | grep -F {ip})"
            ),
        ),
        _ => (
            format!("{what}: {tally}"),
            format!("check routing to the service range from {node}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Some connects through the ClusterIP fail and others not (ND4101); all fail alike (ND4102).
    #[test]
    fn connects_are_judged_with_their_codes() {
        let state = crate::fixtures::state(
            "shop",
            "web",
            "kind: Service\nmetadata: {name: web, namespace: shop}\nspec: {clusterIP: 10.96.0.20, selector: {app: web}, ports: [{port: 80}]}\n",
        );
        let line = |verdict: &str| {
            serde_json::from_str::<crate::wire::SocketLine>(&format!(
                r#"{{"kind":"tcp","target":"tcp:10.96.0.20:80","verdict":"{verdict}","evidence":"packets","sent":1,"reply":null,"reply_from":null,"socket":"s","elapsed_ms":1.0,"detail":"d"}}"#
            ))
            .unwrap()
        };
        let judge = |verdicts: &[&str]| {
            let lines: Vec<crate::wire::SocketLine> = verdicts.iter().map(|v| line(v)).collect();
            let records: Vec<&crate::wire::SocketLine> = lines.iter().collect();
            let at = ("node node-1", "node-1");
            let (_, status, _, fix) = connects(
                &state,
                &records,
                "10.96.0.20:80/TCP",
                "10.96.0.20",
                "TCP",
                at,
            )
            .unwrap();
            (status, fix.map(|(code, _)| code))
        };
        assert_eq!(judge(&["open", "open"]), (Status::Pass, None));
        assert_eq!(judge(&["open", "dropped"]), (Status::Fail, Some("ND4101")));
        assert_eq!(
            judge(&["dropped", "dropped"]),
            (Status::Fail, Some("ND4102"))
        );
    }
}
