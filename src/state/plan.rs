//! What the probe connects to for one Service, computed from the gathered state (no I/O):
//! every ready endpoint on its resolved port (EndpointSlices carry the number a named targetPort
//! resolved to), the ClusterIP on every Service port (several connects, to reach several
//! backends), a NodePort or LoadBalancer Service's nodePorts on each node read, and the Service's
//! names through the pod's resolv.conf and through each DNS replica.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;

use crate::k8s;
use crate::state::{Client, ClusterState};

/// Why a target is probed: what its verdict says something about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A ready endpoint: `pods.listening`.
    Endpoint {
        pod: Option<String>,
        /// The Service port's name ("" when unnamed) and the resolved number.
        port_name: String,
        port: u16,
        protocol: String,
    },
    /// The ClusterIP on a Service port: `service.clusterip`.
    ClusterIp {
        ip: String,
        port: u16,
        protocol: String,
        port_name: String,
    },
    /// A node's address on a Service port's nodePort (NodePort and LoadBalancer Services):
    /// `service.clusterip`, per node.
    NodePort {
        node: String,
        ip: String,
        node_port: u16,
        protocol: String,
        port_name: String,
    },
    /// A node's kube-proxy health check for an `externalTrafficPolicy: Local` LoadBalancer
    /// Service (`http:INTERNAL_IP:healthCheckNodePort/`): whether the node claims local
    /// endpoints, as the cloud's load balancer asks it.
    HealthCheck { node: String, ip: String, port: u16 },
    /// The path MTU to a ready endpoint's address (`--mtu`): `pods.listening`.
    Mtu { pod: Option<String>, ip: String },
    /// A LoadBalancer Service's ingress IP (`status.loadBalancer.ingress[].ip`) on a Service
    /// port, from inside the cluster: `service.clusterip`.
    LoadBalancer {
        ip: String,
        port: u16,
        protocol: String,
        port_name: String,
        /// `ipMode: Proxy`: the service proxy sends the traffic out to the load balancer (and it
        /// comes back, a hairpin) instead of to the endpoints directly.
        proxied: bool,
    },
    /// A name of the Service through resolv.conf (`server: None`) or one DNS replica.
    Dns {
        name: String,
        server: Option<(String, String)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    /// The agent's argument (`tcp:IP:PORT`), also the `target` of its lines.
    pub arg: String,
    pub purpose: Purpose,
    /// How many times it is passed (ClusterIP: several connects).
    pub times: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbePlan {
    /// Where the probe pod runs: the client's namespace, else the Service's.
    pub namespace: String,
    /// The client's node (`--from pod/X`), or the node a per-node probe is pinned to: proxy and
    /// node-local DNS faults are per node.
    pub node: Option<String>,
    /// The probe pod tolerates every taint (`--tolerate-taints`).
    pub tolerate_taints: bool,
    /// Labels of a would-be client (`--from ns/N --labels`) that policies reference.
    pub labels: BTreeMap<String, String>,
    pub targets: Vec<Planned>,
    /// What a correct DNS answer contains: the ClusterIPs, or the ready pod IPs when headless.
    pub expected_answers: Vec<String>,
    /// Ports the agent cannot probe (SCTP), said in the report.
    pub unsupported: Vec<String>,
}

/// Connects per ClusterIP port: enough to meet several backends of a random choice.
fn clusterip_connects(backends: usize) -> usize {
    (backends * 2).clamp(3, 12)
}

impl ProbePlan {
    /// A plan without targets yet, for a probe with the client's identity (see [`identity`]).
    fn empty(state: &ClusterState, policy_labels: &[String]) -> ProbePlan {
        let (namespace, node, labels) = identity(state, policy_labels);
        ProbePlan {
            namespace,
            node,
            tolerate_taints: false,
            labels,
            targets: Vec::new(),
            expected_answers: Vec::new(),
            unsupported: Vec::new(),
        }
    }

    pub(crate) fn for_service(state: &ClusterState, policy_labels: &[String]) -> ProbePlan {
        let mut plan = ProbePlan::empty(state, policy_labels);
        let Some(svc) = state.service() else {
            return plan;
        };
        let spec = svc.spec.clone().unwrap_or_default();
        if spec.type_.as_deref() == Some("ExternalName") {
            return plan;
        }
        let backends = plan.plan_endpoints(state);
        let cluster_ips = cluster_ips(svc);
        for ip in &cluster_ips {
            for sp in spec.ports.iter().flatten() {
                let proto = k8s::protocol(sp.protocol.as_ref());
                let Ok(port) = u16::try_from(sp.port) else {
                    continue;
                };
                let Some(arg) = agent_arg(proto, ip, port) else {
                    plan.note_unsupported(format!("{proto} {ip}:{port}"));
                    continue;
                };
                let purpose = Purpose::ClusterIp {
                    ip: ip.clone(),
                    port,
                    protocol: proto.to_string(),
                    port_name: sp.name.clone().unwrap_or_default(),
                };
                plan.push(arg, purpose, clusterip_connects(backends.len()));
            }
        }
        if k8s::has_node_ports(svc) {
            plan.plan_node_ports(state, &spec);
        }
        plan.plan_load_balancer(svc, &spec);
        let mut expected = if cluster_ips.is_empty() {
            backends
        } else {
            cluster_ips
        };
        // Dual-stack: the lookups ask for A records, so the IPv4 addresses are the answer.
        if expected.iter().any(|ip| !ip.contains(':')) {
            expected.retain(|ip| !ip.contains(':'));
        }
        plan.expected_answers = expected;
        plan.plan_dns(state);
        plan
    }

    /// A NodePort or LoadBalancer Service's nodePorts on the nodes read (InternalIP, IPv4 first):
    /// the nodes hosting its ready endpoints first, then the others by name, at most
    /// [`MAX_NODE_PORT_NODES`].
    fn plan_node_ports(
        &mut self,
        state: &ClusterState,
        spec: &k8s_openapi::api::core::v1::ServiceSpec,
    ) {
        let hosting = endpoint_nodes(state);
        let mut nodes: Vec<&k8s_openapi::api::core::v1::Node> =
            state.nodes.known().into_iter().flatten().collect();
        nodes.sort_by_key(|n| {
            let name = k8s::name_of(&n.metadata).to_string();
            (!hosting.contains(&name), name)
        });
        nodes.dedup_by_key(|n| k8s::name_of(&n.metadata).to_string());
        let health = spec
            .health_check_node_port
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0 && spec.external_traffic_policy.as_deref() == Some("Local"));
        for node in nodes.into_iter().take(MAX_NODE_PORT_NODES) {
            let Some(ip) = internal_ip(node) else {
                continue;
            };
            if let Some(port) = health {
                let host = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.clone()
                };
                let purpose = Purpose::HealthCheck {
                    node: k8s::name_of(&node.metadata).to_string(),
                    ip: ip.clone(),
                    port,
                };
                self.push(format!("http:{host}:{port}/"), purpose, 1);
            }
            for sp in spec.ports.iter().flatten() {
                let Some(node_port) = sp.node_port.and_then(|p| u16::try_from(p).ok()) else {
                    continue;
                };
                let proto = k8s::protocol(sp.protocol.as_ref());
                let Some(arg) = agent_arg(proto, &ip, node_port) else {
                    self.note_unsupported(format!("{proto} {ip}:{node_port}"));
                    continue;
                };
                let purpose = Purpose::NodePort {
                    node: k8s::name_of(&node.metadata).to_string(),
                    ip: ip.clone(),
                    node_port,
                    protocol: proto.to_string(),
                    port_name: sp.name.clone().unwrap_or_default(),
                };
                self.push(arg, purpose, 1);
            }
        }
    }

    /// A LoadBalancer Service's ingress IPs on every Service port (hostname-only ingress — an
    /// AWS ELB's — is resolved outside the cluster's DNS and is not probed).
    fn plan_load_balancer(
        &mut self,
        svc: &Service,
        spec: &k8s_openapi::api::core::v1::ServiceSpec,
    ) {
        if spec.type_.as_deref() != Some("LoadBalancer") {
            return;
        }
        let ingress = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref());
        for ing in ingress.into_iter().flatten() {
            let Some(ip) = ing.ip.as_ref().filter(|ip| !ip.is_empty()) else {
                continue;
            };
            let proxied = ing.ip_mode.as_deref() == Some("Proxy");
            for sp in spec.ports.iter().flatten() {
                let proto = k8s::protocol(sp.protocol.as_ref());
                let Ok(port) = u16::try_from(sp.port) else {
                    continue;
                };
                let Some(arg) = agent_arg(proto, ip, port) else {
                    self.note_unsupported(format!("{proto} {ip}:{port}"));
                    continue;
                };
                let purpose = Purpose::LoadBalancer {
                    ip: ip.clone(),
                    port,
                    protocol: proto.to_string(),
                    port_name: sp.name.clone().unwrap_or_default(),
                    proxied,
                };
                self.push(arg, purpose, 1);
            }
        }
    }

    /// Every ready endpoint of the Service's slices, per slice port: the backends' addresses.
    fn plan_endpoints(&mut self, state: &ClusterState) -> Vec<String> {
        let mut backends: Vec<String> = Vec::new();
        let meshed = meshed_pods(state);
        for slice in state.slices.known().into_iter().flatten() {
            if !matches!(slice.address_type.as_str(), "IPv4" | "IPv6") {
                continue;
            }
            for sp in slice.ports.iter().flatten() {
                let (Some(port), proto) = (sp.port, k8s::protocol(sp.protocol.as_ref())) else {
                    continue;
                };
                let Ok(port) = u16::try_from(port) else {
                    continue;
                };
                for ep in &slice.endpoints {
                    let ready = ep.conditions.as_ref().and_then(|c| c.ready) != Some(false);
                    let Some(ip) = ep.addresses.first().filter(|_| ready) else {
                        continue;
                    };
                    if !backends.contains(ip) {
                        backends.push(ip.clone());
                    }
                    let pod = ep.target_ref.as_ref().and_then(|r| r.name.clone());
                    // A pod behind a mesh proxy: the handshake proves only the proxy, so the
                    // agent also sends plaintext and sees whether the proxy turns it away.
                    let behind_proxy =
                        proto == "TCP" && pod.as_deref().is_some_and(|p| meshed.contains(p));
                    let Some(scheme) = scheme(proto) else {
                        self.note_unsupported(format!("{proto} {ip}:{port}"));
                        continue;
                    };
                    let arg = target_arg(if behind_proxy { "mesh" } else { scheme }, ip, port);
                    let purpose = Purpose::Endpoint {
                        pod,
                        port_name: sp.name.clone().unwrap_or_default(),
                        port,
                        protocol: proto.to_string(),
                    };
                    self.push(arg, purpose, 1);
                }
            }
        }
        backends
    }

    /// Names relative to the search list (so that the cluster domain need not be known):
    /// `NAME.NS.svc`, `NAME.NS`, and `NAME` from the Service's own namespace; then `NAME.NS.svc`
    /// through every DNS replica.
    fn plan_dns(&mut self, state: &ClusterState) {
        let (name, ns) = (&state.service_name, &state.namespace);
        let full = format!("{name}.{ns}.svc");
        let mut names = vec![full.clone(), format!("{name}.{ns}")];
        if self.namespace == *ns {
            names.push(name.clone());
        }
        // An IPv6-only Service has AAAA records only.
        let kind = if !self.expected_answers.is_empty()
            && self.expected_answers.iter().all(|ip| ip.contains(':'))
        {
            "/AAAA"
        } else {
            ""
        };
        for n in names {
            let purpose = Purpose::Dns {
                name: n.clone(),
                server: None,
            };
            self.push(format!("dns:{n}{kind}"), purpose, 1);
        }
        for pod in state.dns_pods.known().into_iter().flatten() {
            let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) else {
                continue;
            };
            if k8s::pod_ready(pod) == Some(false) {
                continue;
            }
            let server = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.clone()
            };
            let purpose = Purpose::Dns {
                name: full.clone(),
                server: Some((k8s::name_of(&pod.metadata).to_string(), ip)),
            };
            self.push(format!("dns:{full}{kind}@{server}"), purpose, 1);
        }
    }

    /// A plan with one connection: `protocol` to `ip:port` of pod `pod` (`path --to pod/...`).
    pub(crate) fn for_pod(
        state: &ClusterState,
        policy_labels: &[String],
        pod: &str,
        ip: &str,
        port: u16,
        protocol: &str,
    ) -> ProbePlan {
        let mut plan = ProbePlan::empty(state, policy_labels);
        match agent_arg(protocol, ip, port) {
            Some(arg) => plan.push(
                arg,
                Purpose::Endpoint {
                    pod: Some(pod.to_string()),
                    port_name: String::new(),
                    port,
                    protocol: protocol.to_string(),
                },
                1,
            ),
            None => plan.note_unsupported(format!("{protocol} {ip}:{port}")),
        }
        plan
    }

    /// The plan a probe ran: the Service's plan, from the namespace the probe pod was in (with
    /// the path MTU targets when it measured them).
    pub(crate) fn as_run(state: &ClusterState, results: &super::probe::ProbeResults) -> ProbePlan {
        let mut plan = ProbePlan::for_service(state, &[]);
        if plan.namespace != results.namespace {
            plan.relocate(&results.namespace, state);
        }
        if results.records.iter().any(|l| l.mtu().is_some()) {
            plan.plan_mtu();
        }
        plan
    }

    /// `--mtu`: the path MTU to the ready endpoints' addresses (IPv4; at most
    /// [`MAX_MTU_TARGETS`], one per address).
    pub(crate) fn plan_mtu(&mut self) {
        let mut seen: Vec<String> = Vec::new();
        let endpoints: Vec<(Option<String>, String)> = self
            .targets
            .iter()
            .filter_map(|t| match &t.purpose {
                Purpose::Endpoint { pod, .. } => {
                    let ip = t.arg.split(':').nth(1)?.to_string();
                    Some((pod.clone(), ip))
                }
                _ => None,
            })
            .collect();
        for (pod, ip) in endpoints {
            if ip.contains('[') || seen.contains(&ip) || seen.len() >= MAX_MTU_TARGETS {
                continue;
            }
            seen.push(ip.clone());
            self.push(format!("mtu:{ip}:33434"), Purpose::Mtu { pod, ip }, 1);
        }
    }

    /// Runs the probe from another namespace; the short name (`NAME`) resolves only from the
    /// Service's own, so the DNS targets are planned again.
    pub(crate) fn relocate(&mut self, namespace: &str, state: &ClusterState) {
        self.namespace = namespace.to_string();
        self.targets
            .retain(|t| !matches!(t.purpose, Purpose::Dns { .. }));
        self.plan_dns(state);
    }

    fn push(&mut self, arg: String, purpose: Purpose, times: usize) {
        if !self.targets.iter().any(|t| t.arg == arg) {
            self.targets.push(Planned {
                arg,
                purpose,
                times,
            });
        }
    }

    fn note_unsupported(&mut self, what: String) {
        if !self.unsupported.contains(&what) {
            self.unsupported.push(what);
        }
    }

    /// The agent's arguments, repeated targets included.
    pub(crate) fn agent_targets(&self) -> Vec<String> {
        self.targets
            .iter()
            .flat_map(|t| std::iter::repeat_n(t.arg.clone(), t.times))
            .collect()
    }

    /// Keeps only connections (no DNS) for which `keep` holds.
    pub(crate) fn retain_connections(&mut self, keep: impl Fn(&Purpose) -> bool) {
        self.targets
            .retain(|t| !matches!(t.purpose, Purpose::Dns { .. }) && keep(&t.purpose));
    }
}

/// Label keys the policies' pod selectors use (a would-be client's labels are copied onto the
/// probe only where a policy could decide by them).
pub(crate) fn referenced_labels(
    policies: &[k8s_openapi::api::networking::v1::NetworkPolicy],
) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    if k == "podSelector" {
                        for key in child["matchLabels"]
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(k, _)| k.clone())
                        {
                            out.push(key);
                        }
                        for e in child["matchExpressions"].as_array().into_iter().flatten() {
                            out.extend(e["key"].as_str().map(str::to_string));
                        }
                    }
                    walk(child, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for p in policies {
        if let Ok(v) = serde_json::to_value(p) {
            walk(&v, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The Service's pods a mesh proxy answers for (see [`crate::mesh::proxy_of`]), by name.
pub(crate) fn meshed_pods(state: &ClusterState) -> std::collections::HashSet<&str> {
    let namespace = state.mesh.known().and_then(|m| m.namespace.as_ref());
    state
        .pods
        .known()
        .into_iter()
        .flatten()
        .filter(|p| crate::mesh::proxy_of(p, namespace).is_some())
        .filter_map(|p| p.metadata.name.as_deref())
        .collect()
}

/// The agent's argument for a port of `protocol`; `None` for what it cannot probe (SCTP).
fn agent_arg(protocol: &str, ip: &str, port: u16) -> Option<String> {
    scheme(protocol).map(|scheme| target_arg(scheme, ip, port))
}

/// The agent's target kind for a Service port's protocol.
fn scheme(protocol: &str) -> Option<&'static str> {
    match protocol {
        "TCP" => Some("tcp"),
        "UDP" => Some("udp"),
        _ => None,
    }
}

/// `SCHEME:IP:PORT`, an IPv6 address bracketed.
fn target_arg(scheme: &str, ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("{scheme}:[{ip}]:{port}")
    } else {
        format!("{scheme}:{ip}:{port}")
    }
}

/// Endpoint addresses whose path MTU `--mtu` measures, at most.
pub(crate) const MAX_MTU_TARGETS: usize = 5;

/// The nodes whose nodePorts are tried, at most (`--max-nodes` is the per-node probe's, issue 23).
pub(crate) const MAX_NODE_PORT_NODES: usize = 20;

/// The nodes hosting the Service's ready endpoints (EndpointSlices' nodeName).
pub(crate) fn endpoint_nodes(state: &ClusterState) -> Vec<String> {
    let mut nodes = Vec::new();
    for slice in state.slices.known().into_iter().flatten() {
        for ep in &slice.endpoints {
            let ready = ep.conditions.as_ref().and_then(|c| c.ready) != Some(false);
            if let Some(n) = ep.node_name.as_ref().filter(|_| ready)
                && !nodes.contains(n)
            {
                nodes.push(n.clone());
            }
        }
    }
    nodes
}

/// A node's InternalIP (IPv4 first).
fn internal_ip(node: &k8s_openapi::api::core::v1::Node) -> Option<String> {
    let addrs: Vec<&String> = node
        .status
        .as_ref()?
        .addresses
        .iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP")
        .map(|a| &a.address)
        .collect();
    addrs
        .iter()
        .find(|a| !a.contains(':'))
        .or(addrs.first())
        .map(|a| (*a).clone())
}

fn cluster_ips(svc: &Service) -> Vec<String> {
    let spec = svc.spec.clone().unwrap_or_default();
    let mut ips = spec.cluster_ips.unwrap_or_default();
    if ips.is_empty() {
        ips.extend(spec.cluster_ip);
    }
    ips.retain(|ip| !ip.is_empty() && ip != "None");
    ips
}

/// The client's labels that policies decide by — never a controller's revision hash (which would
/// let a ReplicaSet or StatefulSet count the probe as its own).
fn copy_referenced(
    labels: &BTreeMap<String, String>,
    policy_labels: &[String],
) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| policy_labels.contains(k))
        .filter(|(k, _)| !matches!(k.as_str(), "pod-template-hash" | "controller-revision-hash"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Where the probe runs and who it is: the client's namespace and node, and the client's labels
/// that the policies reference.
fn identity(
    state: &ClusterState,
    policy_labels: &[String],
) -> (String, Option<String>, BTreeMap<String, String>) {
    match &state.client {
        Some(Client::Pod { namespace, pod, .. }) => {
            let pod = pod.known().and_then(|p| p.as_ref());
            let node = pod
                .and_then(|p| p.spec.as_ref())
                .and_then(|s| s.node_name.clone());
            let labels = pod
                .and_then(|p| p.metadata.labels.clone())
                .unwrap_or_default();
            (
                namespace.clone(),
                node,
                copy_referenced(&labels, policy_labels),
            )
        }
        Some(Client::Hypothetical { namespace, labels }) => (
            namespace.clone(),
            None,
            copy_referenced(labels, policy_labels),
        ),
        None => (state.namespace.clone(), None, BTreeMap::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn plans_ready_endpoints_clusterip_and_names() {
        let state = fixtures::state(
            "shop",
            "web",
            r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {name: sctp, port: 9, protocol: SCTP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.1.0.5]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: web-a}
- addresses: [10.1.0.6]
  conditions: {ready: false}
  targetRef: {kind: Pod, name: web-b}
- addresses: [10.1.0.7]
  targetRef: {kind: Pod, name: web-c}
"#,
        );
        let plan = ProbePlan::for_service(&state, &[]);
        assert_eq!(plan.namespace, "shop");
        let args: Vec<&str> = plan.targets.iter().map(|t| t.arg.as_str()).collect();
        // Not-ready 10.1.0.6 is not probed; nil conditions mean ready (10.1.0.7).
        assert_eq!(
            args,
            [
                "tcp:10.1.0.5:8080",
                "tcp:10.1.0.7:8080",
                "tcp:10.96.0.20:80",
                "dns:web.shop.svc",
                "dns:web.shop",
                "dns:web",
            ]
        );
        assert_eq!(plan.targets[2].times, 4, "two backends, two connects each");
        assert_eq!(plan.unsupported, ["SCTP 10.96.0.20:9"]);
        assert_eq!(plan.expected_answers, ["10.96.0.20"]);
        assert_eq!(
            plan.targets[0].purpose,
            Purpose::Endpoint {
                pod: Some("web-a".into()),
                port_name: "http".into(),
                port: 8080,
                protocol: "TCP".into()
            }
        );
    }
}
