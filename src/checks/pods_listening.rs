//! pods.listening (5): a probe connects to every ready endpoint on its resolved port, and the
//! packets say what happened: open, refused (nothing listens), dropped (a filter), rejected (a
//! filter that says so), unreachable (no path). A drop is read through the NetworkPolicy decision
//! for the probe's own identity (DESIGN §3): denied → the policy is the root cause; allowed → the
//! drop happens outside NetworkPolicy. An open port that policy denies means nothing enforces it.

use super::probed::{self, denying};
use super::unavailable;
use crate::netpol::Verdict as Policy;
use crate::probe::{ProbePlan, Purpose};
use crate::report::{Evidence, Outcome, SkipKind, Status};
use crate::state::ClusterState;

pub(super) fn run(state: &ClusterState) -> Outcome {
    let results = match state.probe.as_result() {
        Ok(r) => r,
        Err(u) => return unavailable(u),
    };
    let plan = ProbePlan::as_run(state, results);
    let ns = &state.namespace;
    let mut evidence = probed::probe_evidence(results);
    let mut fixes: Vec<String> = Vec::new();
    let mut worst = Status::Pass;
    let mut open = 0;
    let mut probed_count = 0;
    let mut silent_udp = 0;
    let mut all_policy_drops = true;
    let mut unenforced = Vec::new();
    for planned in &plan.targets {
        let Purpose::Endpoint {
            pod,
            port,
            protocol,
            ..
        } = &planned.purpose
        else {
            continue;
        };
        probed_count += 1;
        let pod_name = pod.clone().unwrap_or_else(|| "(no pod)".into());
        let what = format!("pod {pod_name} {protocol}/{port}");
        let Some(record) = results.records_for(&planned.arg).next() else {
            evidence.push(Evidence::new(
                "Probe",
                format!("{what}: the agent reported nothing about {}", planned.arg),
            ));
            raise(&mut worst, Status::Error);
            continue;
        };
        let decision = pod
            .as_deref()
            .and_then(|p| probed::probe_decision(state, results, p, *port, protocol));
        let policy = decision.as_ref().map(|d| d.verdict());
        evidence.push(probed::evidence("Probe", &what, record));
        let ip = planned.arg.rsplit_once(':').map(|(a, _)| a).unwrap_or("");
        let ip = ip.split_once(':').map_or(ip, |(_, rest)| rest);
        match record.verdict.as_str() {
            "open" => {
                open += 1;
                if policy == Some(Policy::Denied) {
                    unenforced.push(format!(
                        "{what} answered although {} denies the probe: NetworkPolicy is not enforced here (the CNI has no policy engine)",
                        denying(decision.as_ref().expect("decided"))
                    ));
                }
            }
            "no-answer" => silent_udp += 1,
            "dropped" => {
                match (&policy, &decision) {
                    (Some(Policy::Denied), Some(d)) => {
                        raise(&mut worst, Status::Fail);
                        evidence.push(Evidence::new(
                        "CrossCheck",
                        format!("expected: {} denies the probe's identity, and its SYNs were dropped", denying(d)),
                    ));
                    }
                    _ => {
                        all_policy_drops = false;
                        raise(&mut worst, Status::Fail);
                        evidence.push(Evidence::new(
                        "CrossCheck",
                        format!(
                            "NetworkPolicy {} the probe, yet its SYNs were dropped: a host firewall, a cloud security group, the CNI, or a policy engine this tool does not read",
                            policy.as_ref().map_or("could not be evaluated for", |p| if *p == Policy::Allowed { "allows" } else { "is undecided for" })
                        ),
                    ));
                        fixes.push(format!(
                        "capture on the pod to see whether the SYNs arrive: kubectl netdoctor capture -n {ns} {pod_name} -w {pod_name}.pcap --filter 'port {port}'"
                    ));
                    }
                }
            }
            "refused" | "closed" => {
                all_policy_drops = false;
                raise(&mut worst, Status::Fail);
                fixes.push(format!(
                    "see what the pod listens on: kubectl debug -n {ns} pod/{pod_name} -it --image=nicolaka/netshoot -- ss -lntup"
                ));
                fixes.push(format!(
                    "make the app listen on 0.0.0.0:{port} (not 127.0.0.1), or point the Service's targetPort at the port it does listen on"
                ));
            }
            "rejected" => {
                all_policy_drops = false;
                raise(&mut worst, Status::Fail);
                fixes.push(format!(
                    "a firewall rejects {ip}:{port}: check the node's iptables/nftables rules and any policy engine's reject rules"
                ));
            }
            "unreachable" => {
                all_policy_drops = false;
                raise(&mut worst, Status::Fail);
                fixes.push(format!(
                    "no path to {ip}: check the CNI pods on the probe's node and on {pod_name}'s node (kubectl get pods -n kube-system -o wide), and the routes between nodes"
                ));
            }
            _ => {
                all_policy_drops = false;
                raise(&mut worst, Status::Error);
            }
        }
    }
    if probed_count == 0 {
        let why = if plan.unsupported.is_empty() {
            "no ready endpoint to probe".to_string()
        } else {
            format!("the agent cannot probe {}", plan.unsupported.join(", "))
        };
        return Outcome::skip(SkipKind::NotApplicable, why);
    }
    let weak = !results.captured();
    let summary = match worst {
        Status::Pass if silent_udp > 0 && open == 0 => {
            worst = Status::Warn;
            format!(
                "{silent_udp} UDP endpoint(s) did not answer: inconclusive (many UDP services ignore an unknown datagram)"
            )
        }
        Status::Pass => format!("{open} of {probed_count} endpoint(s) accept connections"),
        Status::Fail if all_policy_drops => {
            "the probe's connections were dropped by NetworkPolicy (see netpol.allows)".into()
        }
        _ => format!(
            "{} of {probed_count} endpoint(s) do not accept connections",
            probed_count - open - silent_udp
        ),
    };
    let summary = if weak {
        format!("{summary} (no packet capture: verdicts from connect(), weaker)")
    } else {
        summary
    };
    let mut outcome = match worst {
        Status::Pass => Outcome::pass(summary),
        Status::Warn => Outcome::warn(summary),
        Status::Error => {
            let mut o = Outcome::fail(summary);
            o.status = Status::Error;
            o
        }
        _ => Outcome::fail(summary),
    };
    if !unenforced.is_empty() && outcome.status == Status::Pass {
        outcome = Outcome::warn(format!(
            "{} — but NetworkPolicy is not enforced",
            outcome.summary
        ));
    }
    evidence.extend(
        unenforced
            .into_iter()
            .map(|m| Evidence::new("CrossCheck", m)),
    );
    fixes.dedup();
    let outcome = outcome.evidence(evidence).fix(fixes);
    if worst == Status::Fail && all_policy_drops {
        outcome.root_cause("netpol.allows")
    } else {
        outcome
    }
}

/// Keeps the most severe status: fail over error (a finding beats a broken probe line), error
/// over warn.
pub(crate) fn raise(worst: &mut Status, status: Status) {
    let rank = |s: Status| match s {
        Status::Pass | Status::Skip => 0,
        Status::Warn => 1,
        Status::Error => 2,
        Status::Fail => 3,
    };
    if rank(status) > rank(*worst) {
        *worst = status;
    }
}
