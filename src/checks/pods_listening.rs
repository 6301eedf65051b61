//! pods.listening (5): a probe connects to every ready endpoint on its resolved port, and the
//! packets say what happened: open, refused (nothing listens), dropped (a filter), rejected (a
//! filter that says so), unreachable (no path). A drop is read through the NetworkPolicy decision
//! for the probe's own identity (DESIGN §3): denied → the policy is the root cause; allowed → the
//! drop happens outside NetworkPolicy. An open port that policy denies means nothing enforces it.

use super::common::{self as probed, denying};
use super::unavailable;
use crate::netpol::Verdict as Policy;
use crate::report::{Evidence, Outcome, SkipKind, Status};
use crate::state::ClusterState;
use crate::state::Fact;
use crate::state::plan::{ProbePlan, Purpose};
use crate::state::probe::ProbeResults;
use crate::wire::{AfterAccept, Verdict};
use k8s_openapi::api::core::v1::Pod;

pub(super) fn run(state: &ClusterState) -> Outcome {
    let results = match state.probe.as_result() {
        Ok(r) => r,
        Err(u) => return unavailable(u),
    };
    let plan = ProbePlan::as_run(state, results);
    let mut t = Tally {
        evidence: probed::probe_evidence(results),
        fixes: Vec::new(),
        worst: Status::Pass,
        open: 0,
        probed: 0,
        silent_udp: 0,
        unreported: 0,
        all_policy_drops: true,
        unenforced: Vec::new(),
        failed: Vec::new(),
        mesh_refused: 0,
    };
    for planned in &plan.targets {
        if let Purpose::Endpoint {
            pod,
            port,
            protocol,
            ..
        } = &planned.purpose
        {
            let target = Endpoint {
                state,
                results,
                arg: &planned.arg,
                pod: pod.as_deref(),
                port: *port,
                protocol,
            };
            t.endpoint(&target);
        }
    }
    if t.probed == 0 {
        let why = if plan.unsupported.is_empty() {
            "no ready endpoint to probe".to_string()
        } else {
            format!("the agent cannot probe {}", plan.unsupported.join(", "))
        };
        return Outcome::skip(SkipKind::NotApplicable, why);
    }
    let outcome = t.outcome(!results.captured());
    with_path_mtu(outcome, &plan, results)
}

/// `--mtu`: each endpoint's path MTU as evidence; a black hole — large packets vanish without an
/// ICMP fragmentation-needed — warns where the connections themselves passed (a handshake is
/// small: it crosses a black hole that stalls every large response).
fn with_path_mtu(mut outcome: Outcome, plan: &ProbePlan, results: &ProbeResults) -> Outcome {
    let mut holes = Vec::new();
    for planned in &plan.targets {
        let Purpose::Mtu { pod, ip } = &planned.purpose else {
            continue;
        };
        let Some(line) = results
            .records
            .iter()
            .filter_map(crate::wire::Line::mtu)
            .find(|l| l.target == planned.arg)
        else {
            continue;
        };
        let who = pod
            .as_deref()
            .map_or(ip.clone(), |p| format!("pod {p} ({ip})"));
        let steps: Vec<String> = line
            .steps
            .iter()
            .map(|s| format!("{} {}", s.size, s.outcome))
            .collect();
        outcome.evidence.push(
            Evidence::new(
                "PathMtu",
                format!("path MTU to {who}: {} — {}", line.verdict, line.detail),
            )
            .field("to", who.clone())
            .field("verdict", line.verdict.as_str())
            .field(
                "pathMtu",
                line.path_mtu
                    .map_or("unknown".to_string(), |m| m.to_string()),
            )
            .field(
                "interfaceMtu",
                line.iface_mtu
                    .map_or("unknown".to_string(), |m| m.to_string()),
            )
            .field("sizes", steps.join(", ")),
        );
        if line.verdict == Verdict::Dropped {
            holes.push((
                who,
                line.path_mtu.unwrap_or(1280),
                line.iface_mtu.unwrap_or(1500),
            ));
        }
    }
    let Some((who, fits, iface)) = holes.first().cloned() else {
        return outcome;
    };
    let node = results
        .node
        .as_deref()
        .map_or("the probe's node".to_string(), |n| format!("node {n}"));
    let line = format!(
        "packets over {fits} bytes from {node} to {who} are dropped without an ICMP fragmentation-needed (the interface's MTU is {iface}): a path MTU black hole — small requests work, large responses hang"
    );
    let fix = format!(
        "lower the pod network's MTU to {fits} or less (the CNI's MTU setting: Calico's veth_mtu, Cilium's --mtu, Flannel's MTU), or let ICMP type 3 code 4 (fragmentation-needed) through between the nodes"
    );
    if outcome.status == Status::Pass {
        outcome.status = Status::Warn;
        outcome.summary = format!("{}; but {line}", outcome.summary);
        outcome.code = Some("ND4008");
        outcome.fix.push(fix);
    } else {
        outcome
            .evidence
            .push(Evidence::new("PathMtuBlackHole", line));
    }
    outcome
}

/// One ready endpoint the probe connected to.
struct Endpoint<'a> {
    state: &'a ClusterState,
    results: &'a ProbeResults,
    /// The agent's target (`tcp:IP:PORT`).
    arg: &'a str,
    pod: Option<&'a str>,
    port: u16,
    protocol: &'a str,
}

/// What the endpoints' verdicts add up to.
struct Tally {
    evidence: Vec<Evidence>,
    fixes: Vec<String>,
    worst: Status,
    open: usize,
    probed: usize,
    silent_udp: usize,
    /// Endpoints the agent said nothing about (it stopped early, or a line was lost).
    unreported: usize,
    /// Every failure was a drop that NetworkPolicy explains (the root cause is netpol.allows).
    all_policy_drops: bool,
    /// Endpoints that answered although policy denies the probe.
    unenforced: Vec<String>,
    /// The codes of the endpoints that failed, in the order probed.
    failed: Vec<&'static str>,
    /// Endpoints whose mesh proxy turned the probe away (it has no mesh identity).
    mesh_refused: usize,
}

impl Tally {
    fn endpoint(&mut self, e: &Endpoint) {
        self.probed += 1;
        let pod_name = e.pod.unwrap_or("(no pod)");
        let what = format!("pod {pod_name} {}/{}", e.protocol, e.port);
        let Some(record) = e.results.sockets_for(e.arg).next() else {
            self.evidence.push(Evidence::new(
                "Probe",
                format!("{what}: the agent reported nothing about {}", e.arg),
            ));
            self.unreported += 1;
            self.worst = self.worst.max(Status::Error);
            return;
        };
        let decision = e
            .pod
            .and_then(|p| probed::probe_decision(e.state, e.results, p, e.port, e.protocol));
        self.evidence.push(probed::evidence("Probe", &what, record));
        if record.verdict == Verdict::Open {
            if let Some(after) = record.after_accept.filter(|a| a.turned_away()) {
                self.turned_away(e, &what, after);
                return;
            }
            self.open += 1;
            self.answered(e, &what, record, decision.as_ref());
            return;
        }
        if record.verdict == Verdict::NoAnswer {
            self.silent_udp += 1;
            return;
        }
        // Enforcers deny in either way: Calico, Cilium and kube-network-policies drop the SYN,
        // kube-router answers it with an ICMP port unreachable (its REJECT rule).
        let denied_as = match record.verdict {
            Verdict::Dropped => Some("its SYNs were dropped"),
            Verdict::Rejected => Some("its SYNs were rejected (ICMP unreachable)"),
            _ => None,
        };
        if let Some((d, how)) = decision
            .as_ref()
            .filter(|d| d.verdict() == Policy::Denied)
            .zip(denied_as)
        {
            // What the policy says would happen, happened.
            self.worst = self.worst.max(Status::Fail);
            self.failed.push("ND4003");
            self.evidence.push(Evidence::new(
                "CrossCheck",
                format!(
                    "expected: {} denies the probe's identity, and {how}",
                    denying(d)
                ),
            ));
            return;
        }
        self.all_policy_drops = false;
        self.worst = self.worst.max(match record.verdict {
            Verdict::Dropped
            | Verdict::Refused
            | Verdict::Closed
            | Verdict::Rejected
            | Verdict::Unreachable => Status::Fail,
            _ => Status::Error,
        });
        let ip = e.arg.rsplit_once(':').map(|(a, _)| a).unwrap_or("");
        let ip = ip.split_once(':').map_or(ip, |(_, rest)| rest);
        let port = e.port;
        self.failed.extend(match record.verdict {
            Verdict::Dropped => Some("ND4002"),
            Verdict::Refused | Verdict::Closed => Some("ND4001"),
            Verdict::Rejected => Some("ND4004"),
            Verdict::Unreachable => Some("ND4005"),
            _ => None,
        });
        match record.verdict {
            Verdict::Dropped => self.dropped(e, pod_name, decision.as_ref()),
            Verdict::Refused | Verdict::Closed => self.refused(e, pod_name),
            Verdict::Rejected => self.fixes.push(format!(
                "a firewall rejects {ip}:{port}: check the node's iptables/nftables rules and any policy engine's reject rules"
            )),
            Verdict::Unreachable => self.fixes.push(format!(
                "no path to {ip}: check the CNI pods on the probe's node and on {pod_name}'s node (kubectl get pods -n kube-system -o wide), and the routes between nodes"
            )),
            _ => {}
        }
    }

    /// An endpoint that answered: through a mesh sidecar it proves only the sidecar; against a
    /// denying policy it proves policy is not enforced.
    fn answered(
        &mut self,
        e: &Endpoint,
        what: &str,
        record: &crate::wire::SocketLine,
        decision: Option<&crate::netpol::PathDecision>,
    ) {
        if let Some((_, proxy)) = e.pod.and_then(|p| mesh_proxy(e.state, p)) {
            let message = match record.after_accept {
                Some(AfterAccept::Answered) => format!(
                    "{what}: the pod runs {}, which accepted the connection and let the probe's plaintext through to something that answered: the port is served past the proxy, and the mesh admits clients without mTLS here",
                    proxy.describe()
                ),
                _ => format!(
                    "{what}: the pod runs {}, which accepts connections itself: \"open\" proves the proxy, not the app behind it",
                    proxy.describe()
                ),
            };
            self.evidence.push(Evidence::new("MeshSidecar", message));
        } else if let Some(why) = e.pod.and_then(|name| {
            let namespace = e.state.mesh.known().and_then(|m| m.namespace.as_ref());
            crate::mesh::injection_without_proxy(backend(e.state, name)?, namespace)
        }) {
            self.evidence.push(Evidence::new(
                "MeshSidecar",
                format!(
                    "{what}: {why}, but the pod runs without a proxy (created before injection was turned on, or opted out): restarting its workload injects it"
                ),
            ));
        }
        if let Some(d) = decision.filter(|d| d.verdict() == Policy::Denied) {
            let named = e.pod.map_or_else(Vec::new, |p| {
                probed::unresolved_named_port_rules(e.state, e.results, p, e.port, e.protocol)
            });
            self.unenforced.push(if named.is_empty() {
                format!(
                    "{what} answered although {} denies the probe: NetworkPolicy is not enforced here (the CNI has no policy engine)",
                    denying(d)
                )
            } else {
                format!(
                    "{what} answered although {} denies the probe: {} names only ports the pod does not declare, which matches nothing by the API but every port under kube-router (it drops the unresolved names) — else NetworkPolicy is not enforced here",
                    denying(d),
                    named.join(", ")
                )
            });
        }
    }

    /// A mesh proxy accepted the connection, then turned the probe's plaintext away: refused by
    /// the mesh when its policies require mTLS (or an authorization the probe lacks); when none
    /// does, the plaintext went past the proxy and what closed it is not known.
    fn turned_away(&mut self, e: &Endpoint, what: &str, after: AfterAccept) {
        let did = match after {
            AfterAccept::Reset => "reset",
            _ => "closed",
        };
        let Some((pod, proxy)) = e.pod.and_then(|p| mesh_proxy(e.state, p)) else {
            // A peer that accepts and then hangs up without a proxy in front (the plan sends
            // plaintext only to meshed pods; a pod read since may have lost its proxy).
            self.worst = self.worst.max(Status::Fail);
            self.failed.push("ND4001");
            self.all_policy_drops = false;
            self.evidence.push(Evidence::new(
                "AfterAccept",
                format!("{what}: the peer accepted the connection, then {did} it"),
            ));
            return;
        };
        self.all_policy_drops = false;
        let facts = match e.state.mesh.as_result() {
            Ok(f) => f,
            Err(u) => {
                self.worst = self.worst.max(Status::Warn);
                self.failed.push("ND4009");
                self.mesh_refused += 1;
                self.evidence.push(Evidence::new(
                    "MeshPolicy",
                    format!(
                        "{what}: {} accepted the connection, then {did} it after the probe's plaintext; the mesh's policies could not be read ({}): mTLS required, an authorization policy, or nothing listening behind the proxy",
                        proxy.describe(),
                        u.reason()
                    ),
                ));
                return;
            }
        };
        let port_name = container_port_name(pod, e.port);
        let inbound = crate::mesh::inbound(facts, pod, e.port, port_name.as_deref());
        let probe_meshed = probe_has_proxy(e.state, e.results);
        let requirement = inbound
            .as_ref()
            .and_then(|i| i.requirement.clone())
            .filter(|_| !probe_meshed);
        let authorizations = inbound
            .as_ref()
            .map(|i| i.authorizations.clone())
            .unwrap_or_default();
        if let Some(req) = requirement {
            self.worst = self.worst.max(Status::Warn);
            self.failed.push("ND4009");
            self.mesh_refused += 1;
            let demand = if req.mtls {
                "requires mTLS"
            } else {
                "admits only the clients its authorizations permit"
            };
            self.evidence.push(
                Evidence::new(
                    "MeshPolicy",
                    format!(
                        "{what}: {} accepted the connection, then {did} it after the probe's plaintext: {} {demand}, and the probe has no mesh identity — refused by the mesh, not by the app (whether the app listens behind the proxy is not verified)",
                        proxy.describe(),
                        req.by
                    ),
                )
                .field("proxy", proxy.describe())
                .field("policy", req.by.clone()),
            );
            self.mesh_fixes(e, pod, &req);
            return;
        }
        // Nothing in the mesh demands what the probe lacks: the proxy passed the bytes on (or
        // the probe's own proxy did, inside a meshed client), and what closed the connection is
        // not known — the app, on bytes it did not understand, or nothing listening behind the
        // proxy. The handshake stands; the doubt is said, not turned into a verdict.
        self.open += 1;
        let effective = inbound.as_ref().map_or("", |i| i.effective.as_str());
        let mut message = format!(
            "{what}: {} accepted the connection, then {did} it after the probe's plaintext; no mesh policy turns the probe away ({effective}{}): the app closed on bytes it did not understand, or nothing listens on {} behind the proxy (--inspect reads the pod's sockets)",
            proxy.describe(),
            if probe_meshed {
                "; the probe ran in a meshed pod"
            } else {
                ""
            },
            e.port
        );
        if !authorizations.is_empty() {
            message.push_str(&format!(
                "; authorization policies select the pod and may deny the probe (not evaluated): {}",
                authorizations.join(", ")
            ));
        }
        self.evidence.push(Evidence::new("MeshSidecar", message));
    }

    /// How to get past a mesh that refuses a client without a mesh identity: probe from a meshed
    /// client, or let plaintext in on that port.
    fn mesh_fixes(&mut self, e: &Endpoint, pod: &Pod, req: &crate::mesh::Requirement) {
        let ns = crate::text::shell_quote(&e.state.namespace);
        // A meshed pod of the Service is a meshed client: its proxy speaks the mesh's mTLS.
        let client = meshed_client(e.state, pod);
        self.fixes.push(format!(
            "probe from inside a meshed client (its proxy speaks mTLS): kubectl netdoctor svc {} -n {ns} --from {} --inside",
            crate::text::shell_quote(&e.state.service_name),
            crate::text::shell_quote(&format!("pod/{client}"))
        ));
        let Some(policy) = &req.policy else {
            return;
        };
        match policy.kind {
            crate::mesh::MeshKind::PeerAuthentication if policy.selector.is_some() => {
                // The workload's own policy: a port-level exception on it (a second workload
                // policy would lose to the older one).
                let patch = format!(
                    r#"{{"spec":{{"portLevelMtls":{{"{}":{{"mode":"PERMISSIVE"}}}}}}}}"#,
                    e.port
                );
                self.fixes.push(format!(
                    "or accept plaintext on port {} too: kubectl patch {} {} -n {} --type=merge -p {}",
                    e.port,
                    crate::mesh::MeshKind::PeerAuthentication.resource(),
                    crate::text::shell_quote(&policy.name),
                    crate::text::shell_quote(&policy.namespace),
                    crate::text::shell_quote(&patch)
                ));
            }
            crate::mesh::MeshKind::PeerAuthentication => {
                let Some(selector) = e
                    .state
                    .service()
                    .and_then(|s| s.spec.as_ref())
                    .and_then(|s| s.selector.clone())
                    .filter(|s| !s.is_empty())
                else {
                    return;
                };
                let yaml = crate::mesh::port_exception_yaml(
                    &format!("{}-{}-plaintext", e.state.service_name, e.port),
                    &e.state.namespace,
                    &selector,
                    e.port,
                );
                self.fixes.push(format!(
                    "# or accept plaintext on port {} for the Service's pods (the namespace's mode stays on their other ports)\nkubectl apply -f - <<'EOF'\n{yaml}EOF",
                    e.port
                ));
            }
            _ => self.fixes.push(format!(
                "or permit the client on {}: an AuthorizationPolicy targeting it, with a MeshTLSAuthentication (meshed clients) or a NetworkAuthentication (clients by network)",
                policy.describe()
            )),
        }
    }

    /// SYNs dropped although policy does not deny the probe: dropped outside NetworkPolicy.
    fn dropped(
        &mut self,
        e: &Endpoint,
        pod_name: &str,
        decision: Option<&crate::netpol::PathDecision>,
    ) {
        let policy = decision.map(|d| d.verdict());
        self.evidence.push(Evidence::new(
            "CrossCheck",
            format!(
                "NetworkPolicy {} the probe, yet its SYNs were dropped: a host firewall, a cloud security group, the CNI, or a policy engine this tool does not read",
                policy.as_ref().map_or("could not be evaluated for", |p| if *p == Policy::Allowed { "allows" } else { "is undecided for" })
            ),
        ));
        self.fixes.push(format!(
            "capture on the pod to see whether the SYNs arrive: kubectl netdoctor capture -n {} {} -w {} --filter 'port {}'",
            crate::text::shell_quote(&e.state.namespace),
            crate::text::shell_quote(pod_name),
            crate::text::shell_quote(&format!("{pod_name}.pcap")),
            e.port
        ));
    }

    /// Nothing listens on the port (RST, ICMP port unreachable): what the pod's socket table says
    /// (`--inspect`), and how to look.
    fn refused(&mut self, e: &Endpoint, pod_name: &str) {
        let (ns, port) = (&e.state.namespace, e.port);
        match e.pod.and_then(|p| e.results.sockets.get(p)) {
            Some(Ok(table)) => {
                // What it listens on is known: its fix, not the guesses below.
                let (found, fix) = read_socket_table(pod_name, table, port, e.protocol);
                self.evidence.push(Evidence::new("Sockets", found));
                self.fixes.push(fix);
                return;
            }
            Some(Err(why)) => self.evidence.push(Evidence::new(
                "Sockets",
                format!("the socket table of {pod_name} could not be read: {why}"),
            )),
            None => {}
        }
        self.fixes.push(format!(
            "see what the pod listens on: kubectl debug -n {} {} -it --image=nicolaka/netshoot -- ss -lntup",
            crate::text::shell_quote(ns),
            crate::text::shell_quote(&format!("pod/{pod_name}"))
        ));
        self.fixes.push(format!(
            "make the app listen on 0.0.0.0:{port} (not 127.0.0.1), or point the Service's targetPort at the port it does listen on"
        ));
    }

    /// The check's outcome; `weak` when verdicts came from connect() only (no capture).
    fn outcome(mut self, weak: bool) -> Outcome {
        let (open, probed, silent_udp) = (self.open, self.probed, self.silent_udp);
        let mesh_refused = self.mesh_refused;
        let summary = match self.worst {
            Status::Warn if mesh_refused > 0 => format!(
                "{mesh_refused} of {probed} endpoint(s) refused by the mesh: their proxy turns away a client without a mesh identity (mTLS or an authorization required); {open} accept connections"
            ),
            Status::Pass if silent_udp > 0 && open == 0 => {
                self.worst = Status::Warn;
                format!(
                    "{silent_udp} UDP endpoint(s) did not answer: inconclusive (many UDP services ignore an unknown datagram)"
                )
            }
            Status::Pass => format!("{open} of {probed} endpoint(s) accept connections"),
            Status::Fail if self.all_policy_drops => {
                "the probe's connections were dropped or rejected by NetworkPolicy (see netpol.allows)"
                    .into()
            }
            _ => {
                // Silence from the agent is no verdict about the pods (issue 18 item 24).
                let unreported = self.unreported;
                let failing = probed - open - silent_udp - unreported;
                let mut parts = Vec::new();
                if failing > 0 {
                    parts.push(format!(
                        "{failing} of {probed} endpoint(s) do not accept connections"
                    ));
                }
                if unreported > 0 {
                    parts.push(format!(
                        "the probe reported nothing about {unreported} of {probed} endpoint(s)"
                    ));
                }
                parts.join("; ")
            }
        };
        let summary = if weak {
            format!("{summary} (no packet capture: verdicts from connect(), weaker)")
        } else {
            summary
        };
        let mut outcome = match self.worst {
            Status::Pass => Outcome::pass(summary),
            Status::Warn => {
                let code = self
                    .failed
                    .iter()
                    .copied()
                    .find(|c| *c == "ND4009")
                    .unwrap_or("ND4006");
                Outcome::warn(summary).code(code)
            }
            Status::Error => {
                let mut o = Outcome::fail(summary);
                o.status = Status::Error;
                o
            }
            _ => {
                let mut o = Outcome::fail(summary);
                o.code = self.failed.first().copied();
                o
            }
        };
        if !self.unenforced.is_empty() && outcome.status == Status::Pass {
            outcome = Outcome::warn(format!(
                "{} — but NetworkPolicy is not enforced",
                outcome.summary
            ))
            .code("ND4007");
        }
        let mut evidence = self.evidence;
        evidence.extend(
            self.unenforced
                .into_iter()
                .map(|m| Evidence::new("CrossCheck", m)),
        );
        let mut fixes = self.fixes;
        fixes.dedup();
        let outcome = outcome.evidence(evidence).fix(fixes);
        if self.worst == Status::Fail && self.all_policy_drops {
            outcome.root_cause("netpol.allows")
        } else {
            outcome
        }
    }
}

/// What the pod's own socket table says about `port` (`--inspect`), and the fix it points to.
fn read_socket_table(
    pod: &str,
    table: &[crate::wire::Listening],
    port: u16,
    protocol: &str,
) -> (String, String) {
    let proto = protocol.to_ascii_lowercase();
    let on_port: Vec<_> = table.iter().filter(|l| l.port == port).collect();
    let same = || on_port.iter().filter(|l| l.proto == proto);
    if same().next().is_some() && same().all(|l| l.addr.is_loopback()) {
        return (
            format!(
                "{pod} listens on {}:{port} only: the loopback is not reachable from other pods",
                same()
                    .next()
                    .map(|l| l.addr.to_string())
                    .unwrap_or_default()
            ),
            format!("make the app bind 0.0.0.0:{port} (or [::]:{port}), not its loopback address"),
        );
    }
    if let Some(l) = same().next() {
        return (
            format!(
                "{pod} listens on {}:{port}, an address other than the one probed",
                l.addr
            ),
            format!("make the app bind 0.0.0.0:{port}"),
        );
    }
    if let Some(l) = on_port.first() {
        return (
            format!(
                "{pod} listens on {port}/{}, not {port}/{proto}",
                l.proto.to_uppercase()
            ),
            format!(
                "set protocol: {} on the Service port (or make the app serve {proto})",
                l.proto.to_uppercase()
            ),
        );
    }
    let mut others: Vec<u16> = table
        .iter()
        .filter(|l| l.proto == proto && !l.addr.is_loopback())
        .map(|l| l.port)
        .collect();
    others.dedup();
    match others.first() {
        Some(first) => (
            format!(
                "{pod} listens on {}, not {port} ({proto})",
                others
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("point the Service's targetPort at {first}, or make the app listen on {port}"),
        ),
        None => (
            format!(
                "nothing listens on {proto} in {pod} at all: the app has not bound a socket (still starting, or failed)"
            ),
            format!(
                "kubectl logs {} — the app should listen on {port}",
                crate::text::shell_quote(pod)
            ),
        ),
    }
}

/// The Service's pod named `pod` and the mesh proxy that answers for it (an Istio sidecar or
/// ambient ztunnel, Linkerd's proxy), if any.
fn mesh_proxy<'a>(state: &'a ClusterState, pod: &str) -> Option<(&'a Pod, crate::mesh::Proxy)> {
    let found = backend(state, pod)?;
    let namespace = state.mesh.known().and_then(|m| m.namespace.as_ref());
    crate::mesh::proxy_of(found, namespace).map(|proxy| (found, proxy))
}

/// The Service's pod named `name`.
fn backend<'a>(state: &'a ClusterState, name: &str) -> Option<&'a Pod> {
    state
        .pods
        .known()?
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(name))
}

/// The name of the pod's container port `port` (a Linkerd Server may name it).
fn container_port_name(pod: &Pod, port: u16) -> Option<String> {
    crate::k8s::port_containers(pod)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.container_port == i32::from(port))
        .and_then(|p| p.name.clone())
}

/// Whether the probe ran inside a pod with a mesh proxy (`--from pod/X --inside` on a meshed
/// client): its connections then carry the client's mesh identity.
fn probe_has_proxy(state: &ClusterState, results: &ProbeResults) -> bool {
    let Some(crate::state::Client::Pod { pod, .. }) = &state.client else {
        return false;
    };
    let Fact::Known(Some(pod)) = pod.as_ref() else {
        return false;
    };
    let namespace = state.mesh.known().and_then(|m| m.namespace.as_ref());
    pod.metadata.name.as_deref() == Some(results.pod.as_str())
        && crate::mesh::proxy_of(pod, namespace).is_some()
}

/// A meshed pod of the Service other than `pod` (else `pod` itself), to probe from.
fn meshed_client<'a>(state: &'a ClusterState, pod: &'a Pod) -> &'a str {
    let own = pod.metadata.name.as_deref().unwrap_or_default();
    let mut meshed: Vec<&str> = crate::state::plan::meshed_pods(state).into_iter().collect();
    meshed.sort_unstable();
    meshed.into_iter().find(|n| *n != own).unwrap_or(own)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::state::Fact;
    use crate::state::probe::ProbeResults;
    use crate::wire::Line;

    const MESHED: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: 10.96.0.20, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, namespace: shop, labels: {app: web}}
spec:
  containers:
  - {name: web, image: x, ports: [{containerPort: 8080}]}
  - {name: istio-proxy, image: proxyv2}
status: {phase: Running, podIP: 10.1.0.5, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.1.0.5], targetRef: {kind: Pod, name: web-a}}]
"#;

    fn probed(verdict: &str, captured: bool) -> ClusterState {
        probed_after(verdict, captured, None, MESHED)
    }

    /// The probe's line about web-a as the agent prints it: a `mesh:` target, since a proxy runs
    /// in the pod, with what the proxy did after accepting.
    fn probed_after(
        verdict: &str,
        captured: bool,
        after: Option<&str>,
        manifests: &str,
    ) -> ClusterState {
        let mut state = fixtures::state("shop", "web", manifests);
        // Lines as the agent prints them.
        let evidence = if captured { "packets" } else { "connect" };
        let after = after.map_or(String::new(), |a| format!(r#","after_accept":"{a}""#));
        let line = format!(
            r#"{{"kind":"tcp","target":"mesh:10.1.0.5:8080","verdict":"{verdict}","evidence":"{evidence}","sent":1,"reply":null,"reply_from":null,"socket":"s","elapsed_ms":1.0,"detail":"d"{after}}}"#
        );
        let summary = format!(
            r#"{{"kind":"summary","agent":"a","targets":1,"verdicts":{{}},"elapsed_ms":1.0,"uid":0,"euid":0,"capture":{{"enabled":{captured}}}}}"#
        );
        let (records, summary) = ProbeResults::parse_log(&format!("{line}\n{summary}\n")).unwrap();
        assert!(matches!(records[0], Line::Tcp(_)));
        state.probe = Fact::Known(ProbeResults {
            namespace: "shop".into(),
            pod: "netdoctor-probe-x".into(),
            node: Some("node-1".into()),
            rung: crate::state::probe::Rung::Privileged,
            notes: vec![],
            records,
            summary,
            labels: Default::default(),
            sockets: Default::default(),
        });
        state
    }

    #[test]
    fn open_behind_a_sidecar_says_what_it_proves() {
        let o = run(&probed("open", true));
        assert_eq!(o.status, Status::Pass, "{}", o.summary);
        assert!(
            o.evidence
                .iter()
                .any(|e| e.kind == "MeshSidecar" && e.message.contains("istio-proxy"))
        );
    }

    /// The mesh's policies as the live read gives them.
    fn with_mesh(mut state: ClusterState, policies: serde_json::Value) -> ClusterState {
        use crate::mesh::{MeshFacts, MeshKind, MeshPolicy};
        let policies = policies
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let kind = match o["kind"].as_str().unwrap() {
                    "PeerAuthentication" => MeshKind::PeerAuthentication,
                    _ => MeshKind::IstioAuthorization,
                };
                MeshPolicy::from_object(kind, o).unwrap()
            })
            .collect();
        state.mesh = Fact::Known(MeshFacts {
            policies,
            namespace: None,
        });
        state
    }

    #[test]
    fn a_proxy_that_resets_plaintext_under_strict_mtls_is_the_mesh_refusing_not_the_app() {
        let strict = serde_json::json!([{"kind": "PeerAuthentication",
            "metadata": {"namespace": "shop", "name": "default"}, "spec": {"mtls": {"mode": "STRICT"}}}]);
        let o = run(&with_mesh(
            probed_after("open", true, Some("reset"), MESHED),
            strict.clone(),
        ));
        assert_eq!(o.status, Status::Warn, "{}", o.summary);
        assert_eq!(o.code, Some("ND4009"));
        assert!(o.summary.contains("refused by the mesh"), "{}", o.summary);
        assert!(
            o.evidence.iter().any(|e| e.kind == "MeshPolicy"
                && e.message
                    .contains("Istio PeerAuthentication shop/default (STRICT namespace-wide)")),
            "{:?}",
            o.evidence
        );
        // The fixes: a meshed client's --inside probe first, then the namespace-wide policy's
        // exception as a new PeerAuthentication for the Service's pods.
        assert!(
            o.fix[0].contains("--from pod/web-a --inside"),
            "{:?}",
            o.fix
        );
        assert!(
            o.fix[1].contains("kind: PeerAuthentication") && o.fix[1].contains("8080:"),
            "{:?}",
            o.fix
        );
        // Probed from inside a meshed client, the same reset is not about mTLS: the client's
        // proxy speaks it, so the refusal is not the mesh's and no verdict is made of it.
        let mut inside = with_mesh(probed_after("open", true, Some("reset"), MESHED), strict);
        let client = inside.pods.known().unwrap()[0].clone();
        inside.client = Some(crate::state::Client::Pod {
            namespace: "shop".into(),
            name: "web-a".into(),
            pod: Box::new(Fact::Known(Some(client))),
            near: vec![],
        });
        if let Fact::Known(r) = &mut inside.probe {
            r.pod = "web-a".into();
        }
        let o = run(&inside);
        assert_eq!(o.status, Status::Pass, "{}", o.summary);
        assert!(
            o.evidence
                .iter()
                .any(|e| e.message.contains("the probe ran in a meshed pod"))
        );
    }

    #[test]
    fn a_workload_policy_gets_a_port_exception_patch() {
        let workload = serde_json::json!([{"kind": "PeerAuthentication",
            "metadata": {"namespace": "shop", "name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "mtls": {"mode": "STRICT"}}}]);
        let o = run(&with_mesh(
            probed_after("open", true, Some("closed"), MESHED),
            workload,
        ));
        assert_eq!(o.code, Some("ND4009"));
        assert!(
            o.fix.iter().any(|f| f.contains(
                r#"kubectl patch peerauthentications.security.istio.io web -n shop --type=merge -p '{"spec":{"portLevelMtls":{"8080":{"mode":"PERMISSIVE"}}}}'"#
            )),
            "{:?}",
            o.fix
        );
    }

    #[test]
    fn a_reset_without_any_mesh_requirement_is_not_turned_into_a_verdict() {
        // PERMISSIVE (no PeerAuthentication): the proxy passes plaintext on, so what closed the
        // connection — the app on bytes it did not understand, or nothing behind the proxy — is
        // not known. The handshake stands, the doubt is said.
        let o = run(&with_mesh(
            probed_after("open", true, Some("reset"), MESHED),
            serde_json::json!([]),
        ));
        assert_eq!(o.status, Status::Pass, "{}", o.summary);
        assert!(
            o.evidence.iter().any(|e| e
                .message
                .contains("PERMISSIVE (no PeerAuthentication applies)")
                && e.message
                    .contains("nothing listens on 8080 behind the proxy")),
            "{:?}",
            o.evidence
        );
        // An authorization policy selecting the pod is named, not evaluated.
        let deny = serde_json::json!([{"kind": "AuthorizationPolicy",
            "metadata": {"namespace": "shop", "name": "deny-all"}, "spec": {"action": "DENY"}}]);
        let o = run(&with_mesh(
            probed_after("open", true, Some("reset"), MESHED),
            deny,
        ));
        assert_eq!(o.status, Status::Pass, "{}", o.summary);
        assert!(
            o.evidence.iter().any(|e| e
                .message
                .contains("Istio AuthorizationPolicy shop/deny-all (DENY)")),
            "{:?}",
            o.evidence
        );
        // The proxy let the plaintext through to something that answered: a pass that says so.
        let o = run(&with_mesh(
            probed_after("open", true, Some("answered"), MESHED),
            serde_json::json!([]),
        ));
        assert_eq!(o.status, Status::Pass, "{}", o.summary);
        assert!(
            o.evidence
                .iter()
                .any(|e| e.message.contains("served past the proxy"))
        );
        // Unread policies: the reason is said, not guessed.
        let o = run(&probed_after("open", true, Some("reset"), MESHED));
        assert_eq!(o.code, Some("ND4009"));
        assert!(
            o.evidence
                .iter()
                .any(|e| e.message.contains("could not be read"))
        );
    }

    #[test]
    fn refused_fails_with_the_socket_table_fix_and_weak_evidence_is_said() {
        let o = run(&probed("refused", false));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.summary
                .contains("1 of 1 endpoint(s) do not accept connections"),
            "{}",
            o.summary
        );
        assert!(o.summary.contains("weaker"), "{}", o.summary);
        assert!(o.fix.iter().any(|f| f.contains("ss -lntup")), "{:?}", o.fix);
        assert_eq!(o.root_cause, None);
    }

    #[test]
    fn an_endpoint_the_agent_said_nothing_about_is_not_called_closed() {
        // The agent's log has a line for another target only: nothing is known of 10.1.0.5.
        let mut state = probed("open", true);
        if let Fact::Known(r) = &mut state.probe {
            r.records.clear();
        }
        let o = run(&state);
        assert_eq!(o.status, Status::Error, "{}", o.summary);
        assert_eq!(
            o.summary,
            "the probe reported nothing about 1 of 1 endpoint(s)"
        );
    }

    #[test]
    fn the_socket_table_names_the_mistake() {
        use crate::wire::Listening;
        let l = |proto: &str, addr: &str, port| Listening {
            proto: proto.into(),
            addr: addr.parse().unwrap(),
            port,
        };
        let said = |table: &[Listening]| read_socket_table("web-a", table, 8080, "TCP").0;
        assert!(said(&[l("tcp", "127.0.0.1", 8080)]).contains("127.0.0.1:8080 only"));
        assert!(said(&[l("udp", "0.0.0.0", 8080)]).contains("8080/UDP, not 8080/tcp"));
        assert!(
            said(&[l("tcp", "0.0.0.0", 8081), l("tcp", "127.0.0.1", 9000)])
                .contains("listens on 8081, not 8080")
        );
        assert!(said(&[]).contains("nothing listens on tcp in web-a at all"));
        let mut state = probed("refused", true);
        if let Fact::Known(r) = &mut state.probe {
            r.sockets
                .insert("web-a".into(), Ok(vec![l("tcp", "127.0.0.1", 8080)]));
        }
        let o = run(&state);
        assert!(
            o.evidence
                .iter()
                .any(|e| e.kind == "Sockets" && e.message.contains("127.0.0.1:8080 only"))
        );
        assert!(
            o.fix.iter().any(|f| f.contains("bind 0.0.0.0:8080")),
            "{:?}",
            o.fix
        );
    }

    #[test]
    fn without_a_probe_it_skips_saying_why() {
        let state = fixtures::state("shop", "web", MESHED);
        let o = run(&state);
        assert_eq!(o.status, Status::Skip);
        assert_eq!(o.skip.unwrap().1, "no probe: API checks only");
    }

    /// Each verdict of an endpoint carries its code (src/codes.rs).
    #[test]
    fn verdicts_carry_their_codes() {
        for (verdict, status, code) in [
            ("refused", Status::Fail, "ND4001"),
            // Dropped while no policy denies the probe: outside NetworkPolicy.
            ("dropped", Status::Fail, "ND4002"),
            ("rejected", Status::Fail, "ND4004"),
            ("unreachable", Status::Fail, "ND4005"),
            ("no-answer", Status::Warn, "ND4006"),
        ] {
            let o = run(&probed(verdict, true));
            assert_eq!(
                (o.status, o.code),
                (status, Some(code)),
                "{verdict}: {}",
                o.summary
            );
        }
        assert_eq!(run(&probed("open", true)).code, None);
    }
}
