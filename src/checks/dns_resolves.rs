//! dns.resolves (7): the Service's names resolve from inside the client's namespace — through the
//! probe pod's own resolv.conf (search list, ndots), and through every DNS replica — to the
//! ClusterIP (the ready pod IPs when headless), on every try. Names are asked relative to the
//! search list (`NAME.NS.svc`, `NAME.NS`, and `NAME` from the Service's own namespace), so that
//! the cluster domain need not be known.

use super::common as probed;
use super::unavailable;
use crate::report::{Evidence, Outcome, SkipKind, Status};
use crate::state::ClusterState;
use crate::state::plan::{ProbePlan, Purpose};
use crate::text::shell_quote as q;
use crate::wire::Verdict;

pub(super) fn run(state: &ClusterState) -> Outcome {
    let results = match state.probe.as_result() {
        Ok(r) => r,
        Err(u) => return unavailable(u),
    };
    let plan = ProbePlan::as_run(state, results);
    let expected = &plan.expected_answers;
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    let mut worst = Status::Pass;
    // The code of the first of the worst problems.
    let mut codes: Option<&'static str> = None;
    let mut problems = Vec::new();
    let mut names = Vec::new();
    let mut replicas = 0;
    let mut tries = 0;
    // The full name fails too: the cluster DNS does not know the Service (not the search list).
    let full_fails = results.lookups().any(full_name_fails);
    // NetworkPolicy denies the probe's own DNS: silence and rejects are the policy's doing.
    let denied_by = dns_denied_by(state, results);
    let mut denied_lookups = 0;
    let mut walks = Vec::new();
    // Replicas that time out when asked directly: the Service's silence goes through them.
    let hung: Vec<String> = plan
        .targets
        .iter()
        .filter_map(|t| match &t.purpose {
            Purpose::Dns {
                server: Some((pod, _)),
                ..
            } => results
                .lookups_for(&t.arg)
                .next()
                .filter(|r| r.verdict == Verdict::Timeout)
                .map(|_| pod.clone()),
            _ => None,
        })
        .collect();
    for planned in &plan.targets {
        let Purpose::Dns { name, server } = &planned.purpose else {
            continue;
        };
        let via = match server {
            Some((pod, ip)) => format!("replica {pod} ({ip})"),
            None => "resolv.conf".to_string(),
        };
        let Some(record) = results.lookups_for(&planned.arg).next() else {
            worst = worst.max(Status::Error);
            problems.push(format!("{name} via {via}: the agent reported nothing"));
            continue;
        };
        if server.is_some() {
            replicas += 1;
        } else if !names.contains(name) {
            names.push(name.clone());
        }
        tries = tries.max(record.tries);
        evidence.push(lookup_evidence(record, name, &via));
        walks.extend(walk_evidence(record, name));
        let replica = server.as_ref().map(|(pod, _)| pod.as_str());
        let lookup = (name.as_str(), via.as_str(), replica);
        let judged = match &denied_by {
            Some(policies) if matches!(record.verdict, Verdict::Timeout | Verdict::Rejected) => {
                denied_lookups += 1;
                Some(denied(name, &via, record.verdict, policies))
            }
            _ => judge(
                state,
                results,
                record,
                lookup,
                expected,
                (full_fails, &hung),
            ),
        };
        if let Some((status, code, problem, fix)) = judged {
            if status > worst || codes.is_none() {
                codes = Some(code).filter(|_| status >= worst);
            }
            worst = worst.max(status);
            problems.push(problem);
            fixes.extend(fix);
        }
    }
    // The walks after the lookups' table (their own lines).
    evidence.extend(walks);
    if names.is_empty() && replicas == 0 && problems.is_empty() {
        return Outcome::skip(SkipKind::NotApplicable, "no name to resolve (ExternalName)");
    }
    fixes.dedup();
    // Every failure the policy's: one line says it (the lookups stay in the evidence).
    if let Some(policies) = denied_by
        .as_ref()
        .filter(|_| denied_lookups > 0 && denied_lookups == problems.len())
    {
        problems = vec![format!(
            "{} lookup(s) got no answer or a reject: {} denies the probe's DNS egress (UDP 53 to the cluster DNS pods)",
            problems.len(),
            policies.join(", ")
        )];
    }
    if worst != Status::Pass {
        evidence.splice(0..0, probed::probe_evidence(results));
    }
    let passed = || {
        format!(
            "{} → {} (resolv.conf{}; {} tries each)",
            names.join(", "),
            expected.join(", "),
            if replicas > 0 {
                format!(" and {replicas} DNS replica(s)")
            } else {
                String::new()
            },
            tries.max(1)
        )
    };
    let mut outcome = match worst {
        Status::Pass => Outcome::pass(passed()),
        Status::Warn => Outcome::warn(problems.join("; ")),
        Status::Error => {
            let mut o = Outcome::fail(problems.join("; "));
            o.status = Status::Error;
            o
        }
        _ => Outcome::fail(problems.join("; ")),
    };
    outcome.code = codes;
    let outcome = outcome.evidence(evidence).fix(fixes);
    if codes == Some("ND5006") {
        outcome.root_cause("netpol.allows")
    } else {
        outcome
    }
}

/// The namespace of a cluster DNS pod (read from kube-system).
fn dns_namespace(state: &ClusterState, pod: &str) -> String {
    state
        .dns_pods
        .known()
        .into_iter()
        .flatten()
        .find(|p| p.metadata.name.as_deref() == Some(pod))
        .and_then(|p| p.metadata.namespace.clone())
        .unwrap_or_else(|| "kube-system".to_string())
}

/// The policies that deny the probe's DNS (UDP to the cluster DNS pods), as the policy engine
/// decides for the probe's identity (its namespace and labels — the client's with `--inside`);
/// `None` when DNS is allowed or the policies were not read.
fn dns_denied_by(
    state: &ClusterState,
    results: &crate::state::probe::ProbeResults,
) -> Option<Vec<String>> {
    use super::netpol_allows;
    let policies = state.policies.known()?;
    let set = netpol_allows::policy_set(state, policies).ok()?;
    let (namespaces, _) = netpol_allows::namespaces(state);
    let probe = probed::probe_identity(results);
    let dns = netpol_allows::dns_findings(state, &set, &namespaces, &probe);
    dns.denied_udp.then_some(dns.selecting)
}

/// A lookup the policy engine says NetworkPolicy denies: what happened is what it predicts.
fn denied(
    name: &str,
    via: &str,
    verdict: Verdict,
    policies: &[String],
) -> (Status, &'static str, String, Option<String>) {
    let how = if verdict == Verdict::Rejected {
        "rejected"
    } else {
        "no answer"
    };
    let policies = if policies.is_empty() {
        "an egress policy".to_string()
    } else {
        policies.join(", ")
    };
    (
        Status::Fail,
        "ND5006",
        format!(
            "{name} via {via}: {how} — {policies} denies the probe's DNS egress (UDP 53 to the cluster DNS pods)"
        ),
        Some(
            "allow UDP and TCP 53 to kube-system pods k8s-app=kube-dns in the egress policy (see netpol.allows for the rule)"
                .into(),
        ),
    )
}

/// An NXDOMAIN for `NAME.NS.svc` through the pod's resolv.conf.
fn full_name_fails(r: &crate::wire::DnsLine) -> bool {
    r.via == "resolv.conf" && r.name.ends_with(".svc") && r.verdict == Verdict::Nxdomain
}

/// One lookup as evidence.
/// A lookup's search-list walk, when it asked more than one name: which names the resolver
/// tried before the one that answered, and how long each took — what `ndots` costs every lookup
/// of a short name (and every external name with fewer dots than `ndots`).
fn walk_evidence(record: &crate::wire::DnsLine, name: &str) -> Option<Evidence> {
    if record.walk.len() < 2 {
        return None;
    }
    let steps: Vec<String> = record
        .walk
        .iter()
        .map(|s| {
            let said = match (s.verdict, s.rcode.as_deref()) {
                (Verdict::Resolved, _) => "answered".to_string(),
                (_, Some(rcode)) => rcode.to_string(),
                (v, None) => v.to_string(),
            };
            format!(
                "{} {said} ({} ms)",
                s.name.trim_end_matches('.'),
                s.latency_ms
            )
        })
        .collect();
    let answered = record
        .walk
        .iter()
        .position(|s| s.verdict == Verdict::Resolved);
    let ndots = record
        .ndots
        .map(|n| format!("ndots {n}"))
        .unwrap_or_else(|| "the resolv.conf".into());
    let outcome = match answered {
        Some(i) => format!(
            "the {} name asked answered ({} asked before it, by {ndots})",
            ordinal(i + 1),
            i
        ),
        None => format!("no name of the {} asked answered", record.walk.len()),
    };
    Some(Evidence::new(
        "DnsWalk",
        format!(
            "{name} through the search list: {} — {outcome}",
            steps.join(" → ")
        ),
    ))
}

fn ordinal(n: usize) -> String {
    match n {
        1 => "1st".into(),
        2 => "2nd".into(),
        3 => "3rd".into(),
        n => format!("{n}th"),
    }
}

fn lookup_evidence(record: &crate::wire::DnsLine, name: &str, via: &str) -> Evidence {
    Evidence::new(
        "DnsLookup",
        format!("{name} via {via}: {} — {}", record.verdict, record.detail),
    )
    .field("name", name)
    .field("via", via)
    .field("verdict", record.verdict.to_string())
    .field("answers", record.answers.join(", "))
    .field("latency", format!("{} ms", record.latency_ms))
}

/// A lookup that did not resolve to what the Service is, or not every time: its status, what is
/// wrong, and the fix; `None` when it resolved right.
fn judge(
    state: &ClusterState,
    results: &crate::state::probe::ProbeResults,
    record: &crate::wire::DnsLine,
    (name, via, replica): (&str, &str, Option<&str>),
    expected: &[String],
    (full_fails, hung): (bool, &[String]),
) -> Option<(Status, &'static str, String, Option<String>)> {
    match record.verdict {
        Verdict::Resolved => resolved(state, record, name, via, expected),
        Verdict::Timeout if replica.is_none() && node_local(&record.servers).is_some() => {
            let cache = node_local(&record.servers).unwrap_or_default();
            let node = results.node.as_deref().unwrap_or("<node>");
            Some((
                Status::Fail,
                "ND5001",
                format!(
                    "{name} via {via}: no answer from NodeLocal DNSCache ({cache}) on node {node}"
                ),
                Some(format!(
                    "look at the node-local-dns pod on {node}: kubectl -n kube-system get pods -l k8s-app=node-local-dns -o wide --field-selector spec.nodeName={node}"
                )),
            ))
        }
        Verdict::Timeout if replica.is_none() && !hung.is_empty() => Some((
            Status::Fail,
            "ND5003",
            format!(
                "{name} via {via}: no answer — the DNS Service sends queries to {} too, which does not answer",
                hung.join(", ")
            ),
            None,
        )),
        verdict => {
            let (problem, fix) = failure(state, name, via, replica, verdict, full_fails);
            let code = if verdict == Verdict::Nxdomain {
                "ND5002"
            } else {
                "ND5003"
            };
            Some((Status::Fail, code, problem, Some(fix)))
        }
    }
}

/// A name that resolved: to other addresses than the Service's (a shadowing name), or only some
/// of the times (intermittent).
fn resolved(
    state: &ClusterState,
    record: &crate::wire::DnsLine,
    name: &str,
    via: &str,
    expected: &[String],
) -> Option<(Status, &'static str, String, Option<String>)> {
    let headless = state
        .service()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.cluster_ip.as_deref())
        == Some("None");
    let wrong = record.answers.iter().any(|a| !expected.contains(a));
    let missing = !headless
        && expected.iter().any(|x| {
            !record.answers.contains(x)
                && x.contains('.') == record.answers.iter().any(|a| a.contains('.'))
        });
    if wrong || missing || record.answers.is_empty() {
        let got = if record.answers.is_empty() {
            "nothing".to_string()
        } else {
            record.answers.join(", ")
        };
        return Some((
            Status::Fail,
            "ND5004",
            format!(
                "{name} via {via} resolves to {got}, not {}",
                expected.join(", ")
            ),
            Some(format!(
                "see which name answered ({}): another Service or an external record may shadow it through the search list",
                record.answered_name.as_deref().unwrap_or("?")
            )),
        ));
    }
    record.intermittent.then(|| {
        (
            Status::Warn,
            "ND5005",
            format!(
                "{name} via {via} resolved {} of {} times",
                record.resolved, record.tries
            ),
            None,
        )
    })
}

/// The link-local address NodeLocal DNSCache listens on, when the pod's resolv.conf points at one.
fn node_local(servers: &[std::net::SocketAddr]) -> Option<String> {
    servers
        .iter()
        .find(|s| match s.ip() {
            std::net::IpAddr::V4(ip) => ip.is_link_local(),
            std::net::IpAddr::V6(ip) => ip.is_unicast_link_local(),
        })
        .map(|s| s.ip().to_string())
}

fn failure(
    state: &ClusterState,
    name: &str,
    via: &str,
    replica: Option<&str>,
    verdict: Verdict,
    full_name_fails: bool,
) -> (String, String) {
    let (svc, ns) = (&state.service_name, &state.namespace);
    match verdict {
        Verdict::Nxdomain if full_name_fails => (
            format!("{name} via {via}: NXDOMAIN — the cluster DNS does not know {ns}/{svc}"),
            "check CoreDNS's kubernetes plugin (its zone must be the cluster domain) and its logs: kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50".into(),
        ),
        Verdict::Nxdomain => (
            format!("{name} via {via}: NXDOMAIN while {svc}.{ns}.svc resolves — the pod's search list lacks the cluster's domains"),
            "give the client dnsPolicy: ClusterFirst (ClusterFirstWithHostNet for hostNetwork pods), or use the full name".into(),
        ),
        Verdict::Timeout if let Some(pod) = replica => (
            format!("{name} via {via}: no answer — this DNS replica times out while resolution goes through it"),
            format!(
                "look at that replica's events and log: kubectl describe pod {} -n {}",
                q(pod),
                q(&dns_namespace(state, pod))
            ),
        ),
        Verdict::Timeout => (
            format!("{name} via {via}: no answer — DNS egress is blocked (see netpol.allows) or the DNS Service has no working endpoint"),
            "allow UDP and TCP 53 to kube-dns in the client's egress policies, and check the DNS Service: kubectl netdoctor dns".into(),
        ),
        Verdict::Rejected => (
            format!("{name} via {via}: rejected — the server answers ICMP port unreachable: no DNS server listens there"),
            "check that the nameserver in the pod's resolv.conf is the cluster DNS and that it runs: kubectl netdoctor dns".into(),
        ),
        Verdict::Servfail => (
            format!("{name} via {via}: SERVFAIL — CoreDNS failed (an upstream or plugin error)"),
            "kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50".into(),
        ),
        Verdict::Refused => (
            format!("{name} via {via}: REFUSED — the server does not serve this zone to the client"),
            "check the nameserver in the pod's resolv.conf: kubectl exec <pod> -- cat /etc/resolv.conf".into(),
        ),
        Verdict::Nodata => (
            format!("{name} via {via}: the name exists but has no address record"),
            "a headless Service without ready pods has no A records: see endpoints.ready".into(),
        ),
        other => (
            format!("{name} via {via}: {other}"),
            "run the lookup by hand: kubectl run dnscheck --rm -it --image=nicolaka/netshoot -- dig NAME".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_local_nameserver_is_node_local_dns() {
        assert_eq!(
            node_local(&["169.254.20.10:53".parse().unwrap()]).as_deref(),
            Some("169.254.20.10")
        );
        assert_eq!(node_local(&["10.96.0.10:53".parse().unwrap()]), None);
    }

    /// Each way a lookup goes wrong carries its code (src/codes.rs).
    #[test]
    fn lookups_are_judged_with_their_codes() {
        let state = crate::fixtures::state(
            "shop",
            "web",
            "kind: Service\nmetadata: {name: web, namespace: shop}\nspec: {clusterIP: 10.96.0.20, selector: {app: web}, ports: [{port: 80}]}\n",
        );
        let results = crate::state::probe::ProbeResults {
            namespace: "shop".into(),
            pod: "netdoctor-probe-x".into(),
            node: Some("node-1".into()),
            rung: crate::state::probe::Rung::Privileged,
            notes: vec![],
            records: vec![],
            summary: None,
            labels: Default::default(),
            sockets: Default::default(),
        };
        let line = |verdict: &str, answers: &str, resolved: u32, intermittent: bool| {
            serde_json::from_str::<crate::wire::DnsLine>(&format!(
                r#"{{"target":"dns:web.shop.svc","name":"web.shop.svc","type":"A","via":"resolv.conf","servers":["10.96.0.10:53"],"verdict":"{verdict}","rcode":null,"answered_name":null,"answers":[{answers}],"latency_ms":1.0,"tries":3,"resolved":{resolved},"intermittent":{intermittent},"detail":"d"}}"#
            ))
            .unwrap()
        };
        let expected = vec!["10.96.0.20".to_string()];
        let code = |record: crate::wire::DnsLine| {
            let lookup = ("web.shop.svc", "resolv.conf", None);
            judge(&state, &results, &record, lookup, &expected, (false, &[]))
                .map(|(s, c, _, _)| (s, c))
        };
        assert_eq!(code(line("resolved", r#""10.96.0.20""#, 3, false)), None);
        assert_eq!(
            code(line("nxdomain", "", 0, false)),
            Some((Status::Fail, "ND5002"))
        );
        assert_eq!(
            code(line("timeout", "", 0, false)),
            Some((Status::Fail, "ND5003"))
        );
        assert_eq!(
            code(line("resolved", r#""203.0.113.9""#, 3, false)),
            Some((Status::Fail, "ND5004"))
        );
        assert_eq!(
            code(line("resolved", r#""10.96.0.20""#, 2, true)),
            Some((Status::Warn, "ND5005"))
        );
    }
}
