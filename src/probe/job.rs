//! The probe Job (DESIGN §4): `backoffLimit: 0`, a deadline, a TTL, hardened, labelled for
//! `cleanup`, out of every Service (a readiness gate nobody sets) and of every mesh (injection off).
//!
//! Capture needs CAP_NET_RAW; what a namespace's PodSecurity level admits decides how it is asked
//! for — the capture ladder:
//! - privileged: uid 0 and `capabilities.add: [NET_RAW]`;
//! - baseline: uid 0 and no capabilities stanza — the runtime's default set (containerd's includes
//!   NET_RAW, CRI-O's does not), since baseline refuses adding NET_RAW;
//! - restricted: non-root, `drop: [ALL]`: no capture, verdicts from connect() only.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, PodReadinessGate, PodSecurityContext, PodSpec, PodTemplateSpec,
    ResourceRequirements, SeccompProfile, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{AMBIENT_OPT_OUT, DEADLINE_ANNOTATION, MANAGED_BY, NAME_LABEL, ProbePlan};

/// The image the agent runs from: a release build embeds the image it published, pinned by digest
/// (`NETDOCTOR_IMAGE=REGISTRY/netdoctor@sha256:…` at build time, set by the release workflow); a
/// development build names the version's tag, which only a release publishes. `--probe-image` or
/// `NETDOCTOR_PROBE_IMAGE` point at a mirror.
pub(crate) const DEFAULT_IMAGE: &str = match option_env!("NETDOCTOR_IMAGE") {
    Some(pinned) => pinned,
    None => concat!(
        "ghcr.io/kubectl-netdoctor/netdoctor:v",
        env!("CARGO_PKG_VERSION")
    ),
};

/// Whether this build carries a digest-pinned image (a release) or a tag (a development build).
pub(crate) fn image_is_pinned() -> bool {
    DEFAULT_IMAGE.contains("@sha256:")
}

/// A readiness gate no controller sets: the probe pod is never a ready endpoint of anything.
pub(crate) const NEVER_READY: &str = "netdoctor.io/never-ready";

pub(crate) use crate::state::probe::Rung;

#[derive(Debug, Clone)]
pub(crate) struct ProbeOptions {
    pub image: String,
    /// The whole probe: pod start, agent run, log read.
    pub timeout: Duration,
    /// Per target, in the agent.
    pub target_deadline: Duration,
    /// DNS repeats (intermittent failures).
    pub dns_repeat: u32,
    /// `--mtu`: measure the path MTU to the endpoints too.
    pub mtu: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            image: DEFAULT_IMAGE.to_string(),
            timeout: Duration::from_secs(60),
            target_deadline: Duration::from_millis(1500),
            dns_repeat: 3,
            mtu: false,
        }
    }
}

/// The labels of the probe pod: ours, plus a would-be client's (only those policies reference).
pub(crate) fn pod_labels(plan: &ProbePlan) -> BTreeMap<String, String> {
    let mut labels = plan.labels.clone();
    // The client's labels win (they are copied because a deciding policy selects on them): a
    // probe that overwrote the client's app.kubernetes.io/name would be dropped by the very
    // policy it is there to test. The probe's own identity goes only where the client has none;
    // the Job keeps it in any case (cleanup finds the Job, and its pod goes with it).
    labels
        .entry(MANAGED_BY.0.into())
        .or_insert_with(|| MANAGED_BY.1.into());
    labels
        .entry(NAME_LABEL.0.into())
        .or_insert_with(|| NAME_LABEL.1.into());
    labels.insert(AMBIENT_OPT_OUT.0.into(), AMBIENT_OPT_OUT.1.into());
    labels
}

pub(crate) fn manifest(plan: &ProbePlan, opts: &ProbeOptions, rung: Rung, deadline: &str) -> Job {
    let deadline_secs = opts.timeout.as_secs().max(10);
    let labels = pod_labels(plan);
    let mut ours = BTreeMap::from([
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
        (NAME_LABEL.0.to_string(), NAME_LABEL.1.to_string()),
    ]);
    ours.insert("app.kubernetes.io/component".into(), "probe".into());
    let annotations = BTreeMap::from([
        (DEADLINE_ANNOTATION.to_string(), deadline.to_string()),
        ("sidecar.istio.io/inject".to_string(), "false".to_string()),
        ("linkerd.io/inject".to_string(), "disabled".to_string()),
    ]);
    let container = agent_container(plan, opts, rung, deadline_secs);
    Job {
        metadata: ObjectMeta {
            // The name is set by the orchestrator before the create (see run.rs).
            namespace: Some(plan.namespace.clone()),
            labels: Some(ours),
            annotations: Some(annotations.clone()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            active_deadline_seconds: Some(deadline_secs as i64),
            ttl_seconds_after_finished: Some(60),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    node_name: plan.node.clone(),
                    // A DaemonSet that runs everywhere tolerates every taint this way.
                    tolerations: plan.tolerate_taints.then(|| {
                        vec![k8s_openapi::api::core::v1::Toleration {
                            operator: Some("Exists".into()),
                            ..Default::default()
                        }]
                    }),
                    node_selector: Some(BTreeMap::from([(
                        "kubernetes.io/os".to_string(),
                        "linux".to_string(),
                    )])),
                    readiness_gates: Some(vec![PodReadinessGate {
                        condition_type: NEVER_READY.into(),
                    }]),
                    termination_grace_period_seconds: Some(1),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            localhost_profile: None,
                        }),
                        ..Default::default()
                    }),
                    containers: vec![container],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// The agent container at a rung of the capture ladder: its targets, deadlines, limits, and the
/// identity the rung allows (root with NET_RAW, root, or non-root without capabilities).
fn agent_container(
    plan: &ProbePlan,
    opts: &ProbeOptions,
    rung: Rung,
    deadline_secs: u64,
) -> Container {
    let mut args = vec!["agent".to_string()];
    args.extend(plan.agent_targets());
    args.extend([
        "--timeout".into(),
        format!("{}ms", opts.target_deadline.as_millis()),
        "--repeat".into(),
        opts.dns_repeat.to_string(),
        "--hard-deadline".into(),
        format!("{deadline_secs}s"),
    ]);
    let (run_as_user, capabilities) = match rung {
        Rung::Privileged => (
            0,
            Some(Capabilities {
                add: Some(vec!["NET_RAW".into()]),
                drop: None,
            }),
        ),
        Rung::Baseline => (0, None),
        Rung::Restricted => (
            65534,
            Some(Capabilities {
                add: None,
                drop: Some(vec!["ALL".into()]),
            }),
        ),
    };
    let quantity = |s: &str| Quantity(s.to_string());
    Container {
        name: "agent".into(),
        image: Some(opts.image.clone()),
        command: Some(vec!["kubectl-netdoctor".into()]),
        args: Some(args),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), quantity("10m")),
                ("memory".to_string(), quantity("32Mi")),
            ])),
            limits: Some(BTreeMap::from([
                ("cpu".to_string(), quantity("500m")),
                ("memory".to_string(), quantity("128Mi")),
            ])),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(rung == Rung::Restricted),
            run_as_user: Some(run_as_user),
            capabilities,
            // Also on the container: as an ephemeral container (--inside) it has no pod-level one.
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> ProbePlan {
        ProbePlan {
            namespace: "shop".into(),
            node: Some("node-1".into()),
            tolerate_taints: false,
            labels: BTreeMap::from([("role".to_string(), "frontend".to_string())]),
            targets: vec![crate::state::plan::Planned {
                arg: "tcp:10.96.0.20:80".into(),
                purpose: super::super::Purpose::ClusterIp {
                    ip: "10.96.0.20".into(),
                    port: 80,
                    protocol: "TCP".into(),
                    port_name: String::new(),
                },
                times: 3,
            }],
            expected_answers: vec![],
            unsupported: vec![],
        }
    }

    #[test]
    fn the_clients_labels_win_over_the_probes_own() {
        // Issue 18 item 6: a policy selecting app.kubernetes.io/name=frontend must see the
        // client's value on the probe, not netdoctor-probe.
        let mut p = plan();
        p.labels = BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), "frontend".to_string()),
            ("tier".to_string(), "web".to_string()),
        ]);
        let labels = pod_labels(&p);
        assert_eq!(labels["app.kubernetes.io/name"], "frontend");
        assert_eq!(labels["tier"], "web");
        assert_eq!(labels[MANAGED_BY.0], MANAGED_BY.1);
        // Without a client label of that name, the probe names itself.
        assert_eq!(pod_labels(&plan())[NAME_LABEL.0], NAME_LABEL.1);
    }

    #[test]
    fn the_job_cleans_up_after_itself_and_stays_out_of_services() {
        let job = manifest(
            &plan(),
            &ProbeOptions::default(),
            Rung::Privileged,
            "2026-01-01T00:01:00Z",
        );
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.backoff_limit, Some(0));
        assert_eq!(spec.active_deadline_seconds, Some(60));
        assert!(spec.ttl_seconds_after_finished.is_some());
        let pod = spec.template.spec.as_ref().unwrap();
        assert_eq!(pod.node_name.as_deref(), Some("node-1"));
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(
            pod.readiness_gates.as_ref().unwrap()[0].condition_type,
            NEVER_READY
        );
        let labels = spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap();
        assert_eq!(labels[MANAGED_BY.0], MANAGED_BY.1);
        assert_eq!(labels["role"], "frontend");
        let args = pod.containers[0].args.as_ref().unwrap();
        assert_eq!(args.iter().filter(|a| *a == "tcp:10.96.0.20:80").count(), 3);
        let annotations = job.metadata.annotations.as_ref().unwrap();
        assert_eq!(annotations["sidecar.istio.io/inject"], "false");
        // Istio ambient enrols pods by their namespace's label unless the pod says none.
        let pod_labels = job
            .spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap();
        assert_eq!(
            pod_labels.labels.as_ref().unwrap()["istio.io/dataplane-mode"],
            "none"
        );
        assert_eq!(annotations[DEADLINE_ANNOTATION], "2026-01-01T00:01:00Z");
    }

    #[test]
    fn the_ladder_follows_the_namespace_level() {
        let caps = |rung| {
            let job = manifest(&plan(), &ProbeOptions::default(), rung, "t");
            let c = job
                .spec
                .unwrap()
                .template
                .spec
                .unwrap()
                .containers
                .remove(0);
            let sc = c.security_context.unwrap();
            (sc.run_as_user, sc.capabilities)
        };
        let (uid, c) = caps(Rung::Privileged);
        assert_eq!(
            (uid, c.unwrap().add),
            (Some(0), Some(vec!["NET_RAW".to_string()]))
        );
        assert_eq!(caps(Rung::Baseline), (Some(0), None));
        let (uid, c) = caps(Rung::Restricted);
        assert_eq!(
            (uid, c.unwrap().drop),
            (Some(65534), Some(vec!["ALL".to_string()]))
        );
        assert_eq!(Rung::for_level(Some("restricted")), Rung::Restricted);
        assert_eq!(Rung::for_level(None), Rung::Privileged);
        assert_eq!(Rung::Privileged.next(), Some(Rung::Baseline));
    }
}
