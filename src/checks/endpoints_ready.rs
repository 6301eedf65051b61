//! `endpoints.ready`: every Service port has ready endpoints, read from the EndpointSlices the way
//! kube-proxy reads them.
//!
//! Per Service port: the unique addresses (deduplicated across slices) of endpoints in slices whose
//! `ports` include that port's name and protocol. An endpoint is ready unless `conditions.ready` is
//! false (nil means true); the controller already folded `publishNotReadyAddresses` into it.

use crate::report::Status;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Pod, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};

use super::unavailable;
use crate::k8s;
use crate::report::{Evidence, Outcome, SkipKind};
use crate::state::{ClusterState, Fact, ObjectRef};
use crate::text;
use crate::text::shell_quote as q;

pub(super) fn run(state: &ClusterState) -> Outcome {
    let spec = match super::backed_spec(state, "no endpoints") {
        Ok(spec) => spec,
        Err(skip) => return *skip,
    };
    let slices = match state.slices.as_result() {
        Ok(s) => s,
        Err(u) => return unavailable(u),
    };
    let ports = spec.ports.clone().unwrap_or_default();
    let pods = state.pods.known().map(Vec::as_slice).unwrap_or_default();
    if pods.is_empty() && !state.scaled_to_zero.is_empty() {
        return Outcome::skip(
            SkipKind::NotApplicable,
            "scaled to zero: no endpoints expected",
        );
    }
    let selector_less = spec.selector.as_ref().is_none_or(|s| s.is_empty());

    if slices.is_empty() && !selector_less && !pods.is_empty() {
        return Outcome::fail(format!(
            "no EndpointSlice labelled kubernetes.io/service-name={} although {} match the selector",
            state.service_name,
            text::plural(pods.len(), "pod")
        ))
        .code("ND2001")
        .fix([
            "check that kube-controller-manager (the EndpointSlice controller) is running: kubectl get pods -n kube-system".to_string(),
            format!(
                "kubectl get endpointslices -n {} -l {}",
                q(&state.namespace),
                q(&format!("kubernetes.io/service-name={}", state.service_name))
            ),
        ]);
    }

    let mut ports_seen = Ports::default();
    // A headless Service may have no ports: its slices then carry every port.
    let port_list: Vec<Option<&ServicePort>> = if ports.is_empty() {
        vec![None]
    } else {
        ports.iter().map(Some).collect()
    };
    for port in port_list {
        ports_seen.add(slices, port, pods);
    }
    // Matched pods that are not ready (whether or not the controller listed them).
    for pod in pods {
        if k8s::pod_ready(pod) == Some(false) {
            ports_seen
                .not_ready_pods
                .insert(k8s::name_of(&pod.metadata).to_string());
        }
    }
    let mut fix = Vec::new();
    for name in &ports_seen.not_ready_pods {
        if let Some(pod) = pods.iter().find(|p| k8s::name_of(&p.metadata) == name) {
            ports_seen.evidence.extend(why_not_ready(state, pod));
            if !ports_seen.empty.is_empty() {
                fix.extend(pod_fixes(state, pod));
            }
        }
    }
    if !ports_seen.not_ready_pods.is_empty() {
        ports_seen.evidence.extend(unread_explanations(state));
    }
    ports_seen
        .evidence
        .extend(traffic_policy_notes(&spec, slices));
    let outcome = ports_seen.outcome(state, pods.len(), selector_less, fix);
    crash_looping(state, pods, outcome)
}

/// Restarts a container may have had before they say more than a node's reboot.
const RESTARTS: i32 = 3;

/// A pass over endpoints becomes a warning when a backing pod is crash-looping: ready or not
/// now, connections through it fail each time it restarts (a CoreDNS replica that restarts
/// makes lookups time out while the others answer). Named, with where to look.
fn crash_looping(state: &ClusterState, pods: &[Pod], outcome: Outcome) -> Outcome {
    if outcome.status != Status::Pass {
        return outcome;
    }
    let mut said = Vec::new();
    let mut evidence = Vec::new();
    let mut fix = Vec::new();
    for pod in pods {
        let statuses = pod
            .status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten());
        for cs in statuses {
            let waiting = cs
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref());
            let looping = waiting == Some("CrashLoopBackOff")
                || (cs.restart_count >= RESTARTS
                    && cs
                        .last_state
                        .as_ref()
                        .is_some_and(|s| s.terminated.is_some()));
            if !looping {
                continue;
            }
            let name = k8s::name_of(&pod.metadata);
            let line = format!(
                "{} container {} restarted {} times{}{}: connections through it fail while it restarts",
                k8s::describe_pod(pod),
                cs.name,
                cs.restart_count,
                k8s::last_exit(cs),
                waiting.map(|w| format!(", now {w}")).unwrap_or_default()
            );
            said.push(format!("{name} is crash-looping"));
            evidence.push(Evidence::new("CrashLooping", line).on(pod_ref(pod)));
            fix.push(format!(
                "kubectl logs {} -n {} -c {} --previous",
                q(name),
                q(&state.namespace),
                q(&cs.name)
            ));
        }
    }
    if said.is_empty() {
        return outcome;
    }
    let mut warned =
        Outcome::warn(format!("{}; {}", outcome.summary, said.join(", "))).code("ND2004");
    warned.evidence = outcome.evidence;
    warned.evidence.extend(evidence);
    warned.fix(fix)
}

/// What the Service's ports have, port by port.
#[derive(Default)]
struct Ports {
    /// "http 80/TCP → 8080: 2 ready", per port.
    lines: Vec<String>,
    /// The ports with ready endpoints.
    backed: Vec<String>,
    evidence: Vec<Evidence>,
    /// The ports without ready endpoints.
    empty: Vec<String>,
    /// The ports with only terminating (still serving) endpoints.
    terminating_only: Vec<String>,
    /// A ready pod is missing from a port's endpoints: its named targetPort did not resolve.
    unresolved: bool,
    not_ready_pods: BTreeSet<String>,
}

impl Ports {
    fn add(&mut self, slices: &[EndpointSlice], port: Option<&ServicePort>, pods: &[Pod]) {
        let label = port.map_or("(all ports)".to_string(), k8s::describe_service_port);
        let tally = tally(slices, port);
        if tally.ready > 0 {
            self.lines.push(format!("{label}: {} ready", tally.ready));
            self.backed.push(format!("{label}: {} ready", tally.ready));
        } else if tally.serving_terminating > 0 {
            self.lines.push(format!(
                "{label}: 0 ready, {} terminating",
                tally.serving_terminating
            ));
            self.terminating_only.push(label.clone());
        } else {
            self.lines.push(format!("{label}: no ready endpoints"));
            self.empty.push(label.clone());
        }
        // Ready pods missing from this port's endpoints: their named targetPort did not resolve.
        if let Some(p) = port {
            for pod in pods {
                let ip = pod.status.as_ref().and_then(|s| s.pod_ip.as_deref());
                let listed = ip.is_some_and(|ip| tally.addresses.contains(ip));
                if k8s::pod_ready(pod) == Some(true) && !listed && k8s::find_port(pod, p).is_none()
                {
                    self.unresolved = true;
                    self.evidence.push(
                        Evidence::new(
                            "PortUnresolved",
                            format!("{} is ready but has no port {label}: its targetPort does not resolve (see ports.target)", k8s::describe_pod(pod)),
                        )
                        .on(pod_ref(pod)),
                    );
                }
            }
        }
        for ep in &tally.not_ready {
            if let Some(r) = &ep.target_ref {
                self.not_ready_pods
                    .insert(r.name.clone().unwrap_or_default());
            }
        }
    }

    /// The verdict: a port without ready endpoints fails (a port unresolved on ready pods is
    /// ports.target's failure); only terminating endpoints warn.
    fn outcome(
        self,
        state: &ClusterState,
        pods: usize,
        selector_less: bool,
        mut fix: Vec<String>,
    ) -> Outcome {
        let summary = self.lines.join("; ");
        let not_ready = self.not_ready_pods.len();
        if !self.empty.is_empty() {
            let mut summary = format!("no ready endpoints for {}", self.empty.join(", "));
            if not_ready > 0 {
                summary.push_str(&format!(
                    ": {not_ready} of {} not ready",
                    text::plural(pods, "pod")
                ));
            }
            if !self.backed.is_empty() {
                summary.push_str(&format!(" ({})", self.backed.join("; ")));
            }
            let mut o = Outcome::fail(summary).code("ND2002");
            if self.unresolved {
                o.summary
                    .push_str(" (ready pods, port unresolved: see ports.target)");
                o = o.root_cause("ports.target");
            } else if not_ready == 0 && pods == 0 && selector_less {
                fix.push(format!(
                    "add endpoints with conditions.ready true to the EndpointSlices labelled kubernetes.io/service-name={}",
                    state.service_name
                ));
            }
            return o.evidence(self.evidence).fix(fix);
        }
        if !self.terminating_only.is_empty() {
            return Outcome::warn(format!(
                "only terminating endpoints (kube-proxy falls back to them until they are gone): {summary}"
            ))
            .code("ND2003")
            .evidence(self.evidence)
            .fix([format!("kubectl get pods -n {} -o wide", q(&state.namespace))]);
        }
        if not_ready > 0 {
            return Outcome::pass(format!(
                "{summary} ({} not ready)",
                text::plural(not_ready, "pod")
            ))
            .evidence(self.evidence);
        }
        Outcome::pass(summary).evidence(self.evidence)
    }
}

/// What kube-proxy would count for one Service port.
#[derive(Default)]
struct Tally<'a> {
    ready: usize,
    serving_terminating: usize,
    not_ready: Vec<&'a Endpoint>,
    addresses: BTreeSet<String>,
}

fn tally<'a>(slices: &'a [EndpointSlice], port: Option<&ServicePort>) -> Tally<'a> {
    let mut t = Tally::default();
    // Unique by address family and address, across slices.
    let mut seen: BTreeMap<(String, String), ()> = BTreeMap::new();
    for slice in slices {
        let carries = match port {
            None => true,
            Some(p) => {
                let name = p.name.as_deref().unwrap_or("");
                let proto = k8s::protocol(p.protocol.as_ref());
                slice.ports.iter().flatten().any(|sp| {
                    sp.name.as_deref().unwrap_or("") == name
                        && k8s::protocol(sp.protocol.as_ref()) == proto
                })
            }
        };
        if !carries {
            continue;
        }
        for ep in &slice.endpoints {
            let Some(addr) = ep.addresses.first() else {
                continue;
            };
            if seen
                .insert((slice.address_type.clone(), addr.clone()), ())
                .is_some()
            {
                continue;
            }
            t.addresses.insert(addr.clone());
            let c = ep.conditions.clone().unwrap_or_default();
            let ready = c.ready != Some(false);
            let serving = c.serving.unwrap_or(ready);
            let terminating = c.terminating == Some(true);
            if ready {
                t.ready += 1;
            } else if serving && terminating {
                t.serving_terminating += 1;
            } else {
                t.not_ready.push(ep);
            }
        }
    }
    t
}

fn pod_ref(pod: &Pod) -> ObjectRef {
    ObjectRef::new(
        "Pod",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        k8s::name_of(&pod.metadata),
    )
}

/// Reads that would have explained not-ready pods but failed: said, never silently dropped.
fn unread_explanations(state: &ClusterState) -> Vec<Evidence> {
    [
        super::unread(
            &state.events,
            "events",
            "the verdict may miss why pods are not ready (failing probes, image pulls, scheduling)",
        ),
        super::unread(
            &state.nodes,
            "nodes",
            "the verdict may miss a NotReady node under the pods",
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Everything the pod and its surroundings say about why it is not ready.
fn why_not_ready(state: &ClusterState, pod: &Pod) -> Vec<Evidence> {
    let name = k8s::name_of(&pod.metadata);
    let r = pod_ref(pod);
    let ev = |msg: String| Evidence::new("PodNotReady", format!("{name}: {msg}")).on(r.clone());
    let mut out = Vec::new();
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    if pod.metadata.deletion_timestamp.is_some() {
        out.push(ev("terminating".to_string()));
    }
    let phase = status.phase.as_deref().unwrap_or("Unknown");
    for c in status.conditions.iter().flatten() {
        if c.status == "True" {
            continue;
        }
        let detail = [c.reason.as_deref(), c.message.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        match c.type_.as_str() {
            "PodScheduled" => out.push(ev(format!("not scheduled ({phase}): {detail}"))),
            "Ready" if detail.is_empty() => out.push(ev(format!("not Ready ({phase})"))),
            "Ready" => out.push(ev(format!("not Ready ({phase}): {detail}"))),
            _ => {}
        }
    }
    for gate in spec.readiness_gates.iter().flatten() {
        let ok = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == gate.condition_type && c.status == "True");
        if !ok {
            out.push(ev(format!(
                "readiness gate {} is not satisfied (set by an outside controller, e.g. a cloud load balancer's health check)",
                gate.condition_type
            )));
        }
    }
    for cs in status.container_statuses.iter().flatten() {
        out.extend(container_not_ready(&spec, cs).into_iter().map(&ev));
    }
    out.extend(
        around_pod(state, name, spec.node_name.as_deref())
            .into_iter()
            .map(&ev),
    );
    if out.is_empty() {
        out.push(ev(format!("not ready ({phase})")));
    }
    out
}

/// What a container's status says: waiting (and why), restarts (and the last exit), running
/// but failing its readiness probe.
fn container_not_ready(
    spec: &k8s_openapi::api::core::v1::PodSpec,
    cs: &k8s_openapi::api::core::v1::ContainerStatus,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) {
        let reason = w.reason.as_deref().unwrap_or("Waiting");
        let msg = w
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        out.push(format!("container {} is waiting: {reason}{msg}", cs.name));
    }
    if cs.restart_count > 0 {
        out.push(format!(
            "container {} restarted {} times{}",
            cs.name,
            cs.restart_count,
            crate::k8s::last_exit(cs)
        ));
    }
    if !cs.ready && cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some() {
        let probe = spec
            .containers
            .iter()
            .find(|c| c.name == cs.name)
            .and_then(|c| c.readiness_probe.as_ref())
            .map(describe_probe);
        if let Some(probe) = probe {
            out.push(format!(
                "container {} is running but not ready; readiness probe: {probe}",
                cs.name
            ));
        }
    }
    out
}

/// What the pod's surroundings say: its Warning events, and its node when NotReady.
fn around_pod(state: &ClusterState, name: &str, node: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Fact::Known(events) = &state.events {
        for e in events
            .iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(name))
            .filter(|e| e.type_.as_deref() == Some("Warning"))
        {
            let count = e
                .count
                .filter(|c| *c > 1)
                .map(|c| format!(" (×{c})"))
                .unwrap_or_default();
            out.push(format!(
                "event {}: {}{count}",
                e.reason.as_deref().unwrap_or(""),
                e.message.as_deref().unwrap_or("").trim()
            ));
        }
    }
    if let (Some(node), Fact::Known(nodes)) = (node, &state.nodes) {
        if let Some(n) = nodes.iter().find(|n| k8s::name_of(&n.metadata) == node) {
            let ready = n
                .status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .find(|c| c.type_ == "Ready");
            if ready.is_none_or(|c| c.status != "True") {
                out.push(format!("its node {node} is NotReady"));
            }
        }
    }
    out
}

fn describe_probe(p: &k8s_openapi::api::core::v1::Probe) -> String {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let port = |p: &IntOrString| match p {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    };
    if let Some(h) = &p.http_get {
        format!(
            "{} GET :{}{}",
            h.scheme.as_deref().unwrap_or("HTTP"),
            port(&h.port),
            h.path.as_deref().unwrap_or("/")
        )
    } else if let Some(t) = &p.tcp_socket {
        format!("TCP connect :{}", port(&t.port))
    } else if let Some(g) = &p.grpc {
        format!("gRPC :{}", g.port)
    } else if let Some(e) = &p.exec {
        format!("exec {}", e.command.clone().unwrap_or_default().join(" "))
    } else {
        "unknown".to_string()
    }
}

fn pod_fixes(state: &ClusterState, pod: &Pod) -> Vec<String> {
    let ns = &state.namespace;
    let name = k8s::name_of(&pod.metadata);
    let mut fix = vec![format!("kubectl describe pod {} -n {}", q(name), q(ns))];
    let status = pod.status.clone().unwrap_or_default();
    for cs in status.container_statuses.iter().flatten() {
        if cs.restart_count > 0 {
            fix.push(format!(
                "kubectl logs {} -n {} -c {} --previous",
                q(name),
                q(ns),
                q(&cs.name)
            ));
        }
    }
    fix
}

fn traffic_policy_notes(
    spec: &k8s_openapi::api::core::v1::ServiceSpec,
    slices: &[EndpointSlice],
) -> Vec<Evidence> {
    let mut out = Vec::new();
    let nodes: BTreeSet<&str> = slices
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
        .filter_map(|e| e.node_name.as_deref())
        .collect();
    let on = if nodes.is_empty() {
        "no node is known".to_string()
    } else {
        format!(
            "ready endpoints are on {}",
            nodes.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    if spec.internal_traffic_policy.as_deref() == Some("Local") {
        out.push(Evidence::new(
            "TrafficPolicy",
            format!("internalTrafficPolicy Local: clients on other nodes get no backend; {on} (name a client with --from to judge)"),
        ));
    }
    if spec.external_traffic_policy.as_deref() == Some("Local")
        && matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer"))
    {
        out.push(Evidence::new(
            "TrafficPolicy",
            format!("externalTrafficPolicy Local: only nodes with a ready endpoint answer external traffic; {on}"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::state;
    use crate::report::Status;

    const SVC: &str = "
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090, targetPort: metrics}
";

    fn pod(name: &str, ip: &str, ready: bool, ports: &str) -> String {
        format!(
            "---
kind: Pod
metadata: {{name: {name}, namespace: shop, labels: {{app: web}}}}
spec:
  containers: [{{name: app, ports: [{ports}]}}]
status:
  phase: Running
  podIP: {ip}
  conditions: [{{type: Ready, status: '{}'}}]
",
            if ready { "True" } else { "False" }
        )
    }

    fn slice(name: &str, ports: &str, endpoints: &str) -> String {
        format!(
            "---
kind: EndpointSlice
metadata: {{name: {name}, namespace: shop, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
ports: [{ports}]
endpoints: [{endpoints}]
"
        )
    }

    #[test]
    fn counts_per_port_deduplicated_across_slices_nil_condition_is_ready() {
        let yaml = format!(
            "{SVC}{}{}",
            slice(
                "web-a",
                "{name: http, port: 8080}, {name: metrics, port: 9090}",
                "{addresses: [10.0.0.1], conditions: {ready: true}}, {addresses: [10.0.0.2]}"
            ),
            // The same address again in another slice (e.g. during a migration) counts once.
            slice(
                "web-b",
                "{name: http, port: 8080}, {name: metrics, port: 9090}",
                "{addresses: [10.0.0.1], conditions: {ready: true}}"
            ),
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Pass, "{}", o.summary);
        assert!(
            o.summary.contains("http 80/TCP → http: 2 ready"),
            "{}",
            o.summary
        );
        assert!(
            o.summary.contains("metrics 9090/TCP → metrics: 2 ready"),
            "{}",
            o.summary
        );
    }

    #[test]
    fn a_crash_looping_backend_is_a_warning_naming_it() {
        // Issue 17 item 6: a CoreDNS replica that restarts passed while lookups through it time
        // out. One restart (a node reboot) is not a loop; CrashLoopBackOff, or 3 with a last
        // exit, is.
        let restarting = |restarts: i32, waiting: &str| {
            format!(
                "---
kind: Pod
metadata: {{name: web-b, namespace: shop, labels: {{app: web}}}}
spec:
  containers: [{{name: app, ports: [{{name: http, containerPort: 8080}}, {{name: metrics, containerPort: 9090}}]}}]
status:
  phase: Running
  podIP: 10.0.0.2
  conditions: [{{type: Ready, status: 'True'}}]
  containerStatuses:
  - name: app
    ready: true
    restartCount: {restarts}
    image: x
    imageID: x
    {waiting}
    lastState: {{terminated: {{exitCode: 1, reason: Error}}}}
"
            )
        };
        let slices = slice(
            "web-a",
            "{name: http, port: 8080}, {name: metrics, port: 9090}",
            "{addresses: [10.0.0.1]}, {addresses: [10.0.0.2]}",
        );
        let ok = pod(
            "web-a",
            "10.0.0.1",
            true,
            "{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}",
        );
        let looping = format!(
            "{SVC}{ok}{}{slices}",
            restarting(7, "state: {waiting: {reason: CrashLoopBackOff}}")
        );
        let o = run(&state("shop", "web", &looping));
        assert_eq!(o.status, Status::Warn, "{}", o.summary);
        assert_eq!(o.code, Some("ND2004"));
        assert!(
            o.summary.ends_with("; web-b is crash-looping"),
            "{}",
            o.summary
        );
        let e = o
            .evidence
            .iter()
            .find(|e| e.kind == "CrashLooping")
            .unwrap();
        assert!(
            e.message.contains(
                "container app restarted 7 times, last exit 1 (Error), now CrashLoopBackOff"
            ),
            "{}",
            e.message
        );
        assert_eq!(o.fix, ["kubectl logs web-b -n shop -c app --previous"]);
        let rebooted = format!("{SVC}{ok}{}{slices}", restarting(1, "state: {running: {}}"));
        assert_eq!(run(&state("shop", "web", &rebooted)).status, Status::Pass);
    }

    #[test]
    fn one_port_unbacked_because_the_named_port_is_missing_names_ports_target() {
        let yaml = format!(
            "{SVC}{}{}",
            pod(
                "web-1",
                "10.0.0.1",
                true,
                "{name: http, containerPort: 8080}"
            ),
            slice(
                "web-a",
                "{name: http, port: 8080}",
                "{addresses: [10.0.0.1], conditions: {ready: true}, targetRef: {kind: Pod, name: web-1}}"
            ),
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.summary.starts_with(
                "no ready endpoints for metrics 9090/TCP → metrics (http 80/TCP → http: 1 ready)"
            ),
            "{}",
            o.summary
        );
        assert_eq!(o.root_cause, Some("ports.target"));
        assert!(o.evidence.iter().any(|e| e.kind == "PortUnresolved"));
    }

    #[test]
    fn not_ready_pods_explained_with_events() {
        let yaml = format!(
            "{SVC}{}{}---
kind: Event
metadata: {{name: e1, namespace: shop}}
involvedObject: {{kind: Pod, name: web-1, namespace: shop}}
type: Warning
reason: Unhealthy
message: 'Readiness probe failed: HTTP probe failed with statuscode: 503'
count: 7
",
            pod(
                "web-1",
                "10.0.0.1",
                false,
                "{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}"
            ),
            slice(
                "web-a",
                "{name: http, port: 8080}, {name: metrics, port: 9090}",
                "{addresses: [10.0.0.1], conditions: {ready: false, serving: false, terminating: false}, targetRef: {kind: Pod, name: web-1}}"
            ),
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.root_cause, None);
        assert!(
            o.evidence
                .iter()
                .any(|e| e.message.contains("Readiness probe failed") && e.message.contains("×7")),
            "{:?}",
            o.evidence
        );
        assert_eq!(o.fix[0], "kubectl describe pod web-1 -n shop");
    }

    #[test]
    fn terminating_but_serving_only_is_a_warning() {
        let yaml = format!(
            "{SVC}{}",
            slice(
                "web-a",
                "{name: http, port: 8080}, {name: metrics, port: 9090}",
                "{addresses: [10.0.0.1], conditions: {ready: false, serving: true, terminating: true}}"
            ),
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!((o.status, o.code), (Status::Warn, Some("ND2003")));
    }

    #[test]
    fn local_traffic_policy_is_noted_with_the_nodes_that_have_endpoints() {
        let yaml = format!(
            "{}{}",
            SVC.replace(
                "selector: {app: web}",
                "selector: {app: web}\n  internalTrafficPolicy: Local"
            ),
            slice(
                "web-a",
                "{name: http, port: 8080}, {name: metrics, port: 9090}",
                "{addresses: [10.0.0.1], nodeName: node-a}"
            ),
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(o.status, Status::Pass, "{}", o.summary);
        let note = o
            .evidence
            .iter()
            .find(|e| e.kind == "TrafficPolicy")
            .expect("a note");
        assert!(
            note.message.contains("internalTrafficPolicy Local"),
            "{}",
            note.message
        );
        assert!(
            note.message.contains("ready endpoints are on node-a"),
            "{}",
            note.message
        );
    }

    /// Pods match, no slice: the EndpointSlice controller is not doing its work (ND2001).
    #[test]
    fn matching_pods_without_a_slice_blame_the_controller() {
        let yaml = format!(
            "{SVC}{}",
            pod(
                "web-a",
                "10.0.0.1",
                true,
                "{name: http, containerPort: 8080}"
            )
        );
        let o = run(&state("shop", "web", &yaml));
        assert_eq!(
            (o.status, o.code),
            (Status::Fail, Some("ND2001")),
            "{}",
            o.summary
        );
        assert!(
            o.summary.contains("no EndpointSlice labelled"),
            "{}",
            o.summary
        );
    }
}
