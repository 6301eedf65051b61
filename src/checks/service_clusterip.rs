//! service.clusterip (6): the ClusterIP answers like the pods do. The probe connects several times
//! per Service port (each connect may reach another backend). Pods open but the ClusterIP not is a
//! service proxy fault on the probe's node; ICMP port unreachable from a ClusterIP is the proxy's
//! "no endpoints" reject; some connects failing means the proxy still routes to a broken backend.
//! A NodePort or LoadBalancer Service's nodePorts are tried on each node read (up to 20): a node
//! where it does not answer while others do is named (ND4103).

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
    for np in node_ports(state, results, &plan)
        .into_iter()
        .chain(load_balancers(state, results, &plan, (&node, node_name)))
        .chain(health_checks(state, results, &plan))
    {
        evidence.extend(np.evidence);
        worst = worst.max(np.status);
        lines.push(np.line);
        if let Some((c, fix)) = np.failed {
            code = code.or(Some(c));
            fixes.push(fix);
        }
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
        Status::Warn => {
            let mut o = Outcome::warn(summary);
            o.code = code;
            o
        }
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

/// The command that lists a node's kube-system pods (its service proxy among them): every
/// service-proxy fix ends with it.
fn proxy_pods(node: &str) -> String {
    format!(
        "kubectl -n kube-system get pods -o wide --field-selector spec.nodeName={}",
        crate::text::shell_quote(node)
    )
}

/// A failure's code and fix.
type Failed = (&'static str, String);

/// One nodePort tried on every planned node.
struct NodePortResult {
    evidence: Vec<Evidence>,
    status: Status,
    line: String,
    failed: Option<Failed>,
}

/// Each nodePort of a NodePort or LoadBalancer Service on the nodes tried: the nodes where it
/// answers and where it does not. With `externalTrafficPolicy: Local` a node without a ready
/// endpoint of its own does not answer by design (kube-proxy drops there; the cloud's load
/// balancer sends traffic only where the healthCheckNodePort says there are endpoints): only the
/// nodes hosting endpoints are held to answering.
fn node_ports(
    state: &ClusterState,
    results: &crate::state::probe::ProbeResults,
    plan: &ProbePlan,
) -> Vec<NodePortResult> {
    let local = state
        .service()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.external_traffic_policy.as_deref())
        == Some("Local");
    let hosting = crate::state::plan::endpoint_nodes(state);
    // Per (nodePort, protocol): each node's verdict, in the plan's order.
    type Tried = (String, String, Option<Verdict>); // node, its address, the verdict
    let mut by_port: Vec<((u16, String), Vec<Tried>)> = Vec::new();
    for planned in &plan.targets {
        let Purpose::NodePort {
            node,
            ip,
            node_port,
            protocol,
            ..
        } = &planned.purpose
        else {
            continue;
        };
        let verdict = results.sockets_for(&planned.arg).next().map(|r| r.verdict);
        let key = (*node_port, protocol.clone());
        match by_port.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push((node.clone(), ip.clone(), verdict)),
            None => by_port.push((key, vec![(node.clone(), ip.clone(), verdict)])),
        }
    }
    by_port
        .into_iter()
        .map(|((port, protocol), nodes)| {
            let what = format!("NodePort {port}/{protocol}");
            let mut evidence = Vec::new();
            let (mut answered, mut failing, mut exempt) = (Vec::new(), Vec::new(), Vec::new());
            for (node, ip, verdict) in &nodes {
                let word = verdict.map_or("not reported", |v| v.as_str());
                let expected = !local || hosting.contains(node);
                evidence.push(
                    Evidence::new(
                        "NodePortProbe",
                        format!(
                            "{what} on node {node} ({ip}): {word}{}",
                            if expected { "" } else { " (no local endpoint: externalTrafficPolicy Local)" }
                        ),
                    )
                    .field("node", node.clone())
                    .field("address", format!("{ip}:{port}"))
                    .field("verdict", word),
                );
                let open = verdict.is_some_and(|v| {
                    v == Verdict::Open || (protocol == "UDP" && v == Verdict::NoAnswer)
                });
                match (open, expected) {
                    (true, _) => answered.push(node.as_str()),
                    (false, true) => failing.push(format!("{node} ({word})")),
                    (false, false) => exempt.push(node.as_str()),
                }
            }
            if failing.is_empty() {
                let mut line = format!("{what} answered on {} node(s)", answered.len());
                if !exempt.is_empty() {
                    line.push_str(&format!(
                        ", not on {} without a local endpoint (externalTrafficPolicy Local)",
                        exempt.join(", ")
                    ));
                }
                return NodePortResult {
                    evidence,
                    status: Status::Pass,
                    line,
                    failed: None,
                };
            }
            let first = failing[0].split(' ').next().unwrap_or("").to_string();
            let line = if answered.is_empty() {
                format!("{what} answers on no node tried: {}", failing.join(", "))
            } else {
                format!(
                    "{what} answers on {} but not on {}: the service proxy there has no rule for it",
                    answered.join(", "),
                    failing.join(", ")
                )
            };
            let fix = format!(
                "check the service proxy on {first} (kube-proxy, or the CNI's replacement): {}",
                proxy_pods(&first)
            );
            NodePortResult {
                evidence,
                status: Status::Fail,
                line,
                failed: Some(("ND4103", fix)),
            }
        })
        .collect()
}

/// An `externalTrafficPolicy: Local` LoadBalancer Service's health check on each node tried: the
/// cloud's load balancer sends traffic only to nodes whose kube-proxy answers 200 on the
/// healthCheckNodePort (it has local endpoints), none to those answering 503. Held against the
/// EndpointSlices: a node hosting a ready endpoint that says none (or does not answer) gets no
/// traffic; a node claiming endpoints it does not host gets traffic it drops.
fn health_checks(
    state: &ClusterState,
    results: &crate::state::probe::ProbeResults,
    plan: &ProbePlan,
) -> Option<NodePortResult> {
    let hosting = crate::state::plan::endpoint_nodes(state);
    let mut evidence = Vec::new();
    let (mut agree, mut wrong) = (Vec::new(), Vec::new());
    let mut port = 0;
    for planned in &plan.targets {
        let Purpose::HealthCheck { node, ip, port: p } = &planned.purpose else {
            continue;
        };
        port = *p;
        let hosts = hosting.contains(node);
        let line = results.http_for(&planned.arg);
        let claims = line.and_then(|l| l.status).map(|s| s == 200);
        let said = match (line, claims) {
            (Some(l), Some(_)) => {
                let body = crate::text::sanitize(l.body.trim());
                format!(
                    "HTTP {}{}",
                    l.status.unwrap_or(0),
                    if body.is_empty() {
                        String::new()
                    } else {
                        format!(" {body}")
                    }
                )
            }
            (Some(l), None) => l.verdict.as_str().to_string(),
            (None, _) => "not reported".to_string(),
        };
        evidence.push(
            Evidence::new(
                "HealthCheckProbe",
                format!(
                    "healthCheckNodePort {p} on node {node} ({ip}): {said}; the EndpointSlices put {} there",
                    if hosts { "a ready endpoint" } else { "no ready endpoint" }
                ),
            )
            .field("node", node.clone())
            .field("address", format!("{ip}:{p}"))
            .field("answer", said.clone())
            .field("hostsEndpoints", hosts.to_string()),
        );
        match (hosts, claims) {
            (true, Some(true)) | (false, Some(false)) | (false, None) => agree.push(node.clone()),
            (true, Some(false)) => wrong.push(format!(
                "{node} hosts a ready endpoint but its health check says none (503): the load balancer sends it nothing"
            )),
            (true, None) => wrong.push(format!(
                "{node} hosts a ready endpoint but its health check does not answer ({said}): the load balancer counts it unhealthy"
            )),
            (false, Some(true)) => wrong.push(format!(
                "{node} claims local endpoints (200) it does not host: the load balancer sends it traffic it drops"
            )),
        }
    }
    if evidence.is_empty() {
        return None;
    }
    let what = format!("healthCheckNodePort {port}");
    if wrong.is_empty() {
        return Some(NodePortResult {
            evidence,
            status: Status::Pass,
            line: format!(
                "{what} agrees with the EndpointSlices on {} node(s)",
                agree.len()
            ),
            failed: None,
        });
    }
    let first = wrong[0].split(' ').next().unwrap_or("").to_string();
    Some(NodePortResult {
        evidence,
        status: Status::Fail,
        line: format!("{what}: {}", wrong.join("; ")),
        failed: Some((
            "ND4105",
            format!(
                "the service proxy on {first} is out of step with the EndpointSlices (kube-proxy down, or its rules stale): {}",
                proxy_pods(&first)
            ),
        )),
    })
}

/// A LoadBalancer Service's ingress IPs, tried from inside the cluster. With `ipMode: VIP` (the
/// default) the service proxy on the probe's node answers for the IP itself — it sends the
/// traffic straight to the endpoints, never to the load balancer — so a failure there is that
/// proxy's. With `ipMode: Proxy` the traffic goes out to the load balancer and comes back (a
/// hairpin), which some load balancers do not do: a warning to try from outside. Under
/// `loadBalancerSourceRanges` the proxy drops sources outside the ranges, the probe's too: a
/// failure is not judged.
fn load_balancers(
    state: &ClusterState,
    results: &crate::state::probe::ProbeResults,
    plan: &ProbePlan,
    (node, node_name): (&str, &str),
) -> Vec<NodePortResult> {
    let ranges = state
        .service()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.load_balancer_source_ranges.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    for planned in &plan.targets {
        let Purpose::LoadBalancer {
            ip,
            port,
            protocol,
            proxied,
            ..
        } = &planned.purpose
        else {
            continue;
        };
        let what = format!("LoadBalancer {ip}:{port}/{protocol}");
        let verdict = results.sockets_for(&planned.arg).next().map(|r| r.verdict);
        let word = verdict.map_or("not reported", |v| v.as_str());
        let evidence = vec![
            Evidence::new(
                "LoadBalancerProbe",
                format!("{what} from inside the cluster ({node}): {word}"),
            )
            .field("address", format!("{ip}:{port}"))
            .field("ipMode", if *proxied { "Proxy" } else { "VIP" })
            .field("verdict", word),
        ];
        let open = verdict
            .is_some_and(|v| v == Verdict::Open || (protocol == "UDP" && v == Verdict::NoAnswer));
        let (status, line, failed) = if open {
            (Status::Pass, format!("{what} answered from inside"), None)
        } else if !ranges.is_empty() {
            (
                Status::Pass,
                format!(
                    "{what}: {word} from inside, not judged: loadBalancerSourceRanges ({}) admit only those sources",
                    ranges.join(", ")
                ),
                None,
            )
        } else if *proxied {
            (
                Status::Warn,
                format!(
                    "{what} does not answer from inside ({word}): with ipMode Proxy the traffic goes out to the load balancer and back (a hairpin), which some load balancers do not do — try it from outside the cluster"
                ),
                Some((
                    "ND4104",
                    format!(
                        "from a machine outside the cluster, connect to the load balancer: nc -vz {ip} {port}"
                    ),
                )),
            )
        } else {
            (
                Status::Fail,
                format!(
                    "{what} does not answer from inside ({word}): the service proxy on {node} answers for a LoadBalancer IP itself and has no rule for it"
                ),
                Some((
                    "ND4104",
                    format!(
                        "check the service proxy on {node} (kube-proxy, or the CNI's replacement for it): {}",
                        proxy_pods(node_name)
                    ),
                )),
            )
        };
        out.push(NodePortResult {
            evidence,
            status,
            line,
            failed,
        });
    }
    out
}

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
                "check the service proxy on {node} (kube-proxy, or Cilium/Calico eBPF with its kube-proxy replacement): {}",
                proxy_pods(node_name)
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

    /// A nodePort on three nodes: n1 answers, n2 and n3 drop. With the Cluster policy both fail
    /// (ND4103 names them); with Local only n2 — it hosts an endpoint — is held to answering.
    #[test]
    fn node_ports_hold_only_endpoint_nodes_to_answering_under_local() {
        let judge = |policy: &str| {
            let mut state = crate::fixtures::state(
                "shop",
                "web",
                &format!(
                    "kind: Service\nmetadata: {{name: web, namespace: shop}}\nspec: {{type: NodePort, externalTrafficPolicy: {policy}, clusterIP: 10.96.0.20, selector: {{app: web}}, ports: [{{port: 80, nodePort: 30080}}]}}\n"
                ),
            );
            let node = |name: &str, ip: &str| {
                serde_json::from_value::<k8s_openapi::api::core::v1::Node>(serde_json::json!({
                    "metadata": {"name": name},
                    "status": {"addresses": [{"type": "InternalIP", "address": ip}]}
                }))
                .unwrap()
            };
            state.nodes = crate::state::Fact::Known(vec![
                node("n1", "10.0.0.1"),
                node("n2", "10.0.0.2"),
                node("n3", "10.0.0.3"),
            ]);
            let slice = serde_json::from_value(serde_json::json!({
                "metadata": {"name": "web-x", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "ports": [{"port": 8080, "protocol": "TCP"}],
                "endpoints": [
                    {"addresses": ["10.244.1.5"], "nodeName": "n1", "conditions": {"ready": true}},
                    {"addresses": ["10.244.2.5"], "nodeName": "n2", "conditions": {"ready": true}}
                ]
            }))
            .unwrap();
            state.slices = crate::state::Fact::Known(vec![slice]);
            let line = |ip: &str, verdict: &str| {
                crate::wire::Line::parse(&format!(
                    r#"{{"kind":"tcp","target":"tcp:{ip}:30080","verdict":"{verdict}","evidence":"packets","sent":1,"reply":null,"reply_from":null,"socket":"s","elapsed_ms":1.0,"detail":"d"}}"#
                ))
                .unwrap()
                .unwrap()
            };
            let results = crate::state::probe::ProbeResults {
                namespace: "shop".into(),
                pod: "netdoctor-probe-x".into(),
                node: Some("n1".into()),
                rung: crate::state::probe::Rung::Privileged,
                notes: vec![],
                records: vec![
                    line("10.0.0.1", "open"),
                    line("10.0.0.2", "dropped"),
                    line("10.0.0.3", "dropped"),
                ],
                summary: None,
                labels: Default::default(),
                sockets: Default::default(),
            };
            let plan = ProbePlan::for_service(&state, &[]);
            let r = node_ports(&state, &results, &plan);
            assert_eq!(r.len(), 1);
            let r = &r[0];
            (r.status, r.failed.as_ref().map(|f| f.0), r.line.clone())
        };
        let (status, code, line) = judge("Cluster");
        assert_eq!((status, code), (Status::Fail, Some("ND4103")), "{line}");
        assert!(line.contains("not on n2 (dropped), n3 (dropped)"), "{line}");
        let (status, code, line) = judge("Local");
        assert_eq!((status, code), (Status::Fail, Some("ND4103")), "{line}");
        assert!(
            line.contains("not on n2 (dropped)") && !line.contains("n3"),
            "{line}"
        );
    }
}
