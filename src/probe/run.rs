//! Running a probe against the API: create the Job, wait for its pod, read the log, delete the
//! Job (propagation Background: a Job's default, Orphan, would leave its pod behind).
//!
//! Every created Job is registered until deleted, so that an interrupted run (Ctrl-C, SIGTERM)
//! deletes it before exiting ([`cleanup_registered`]); the Job's own deadline and TTL clean up
//! after a CLI that was killed outright.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};

use super::job::{self, ProbeOptions, Rung};
use super::{ProbePlan, ProbeResults};
use crate::state::{Fact, Unavailable};
use crate::text;

/// Jobs created and not yet deleted: (client, namespace, name).
static CREATED: Mutex<Vec<(Client, String, String)>> = Mutex::new(Vec::new());

/// Container waiting reasons that will not resolve by waiting.
const STUCK: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// How long a Job may stay without a pod before its events are read for a refusal.
const NO_POD_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct Prober {
    pub client: Client,
    /// Bounds each API request.
    pub request_timeout: Option<Duration>,
    pub verbose: bool,
    /// Told each new stage of a probe (Job created, pod scheduled on a node, running, …) with
    /// the time spent and the limit: a spinner's message on a terminal.
    pub progress: Option<Progress>,
}

/// Receives a probe's stages as they happen, with when the probe started and its time limit.
pub(crate) type Progress = std::sync::Arc<dyn Fn(&str, Instant, Duration) + Send + Sync>;

/// A probe container that will not start by waiting (its image cannot be pulled, its config is
/// wrong): fail now, with the cause.
fn stuck(status: &k8s_openapi::api::core::v1::PodStatus, opts: &ProbeOptions) -> Option<Attempt> {
    status.container_statuses.iter().flatten().find_map(|cs| {
        let w = cs.state.as_ref().and_then(|s| s.waiting.as_ref())?;
        STUCK.contains(&w.reason.as_deref().unwrap_or("")).then(|| {
            Attempt::Failed(failure(format!(
                "the probe image {} cannot start: {}: {} ({})",
                text::sanitize(&opts.image),
                w.reason.as_deref().unwrap_or(""),
                text::sanitize(w.message.as_deref().unwrap_or("")),
                mirror_hint(&opts.image)
            )))
        })
    })
}

/// Where a probe pod stands, in words: the stage a person waits on.
fn stage(pod: &Pod) -> String {
    let name = crate::k8s::name_of(&pod.metadata);
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.as_deref().unwrap_or("Pending");
    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    let unscheduled = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False");
    let waiting = status
        .container_statuses
        .iter()
        .flatten()
        .find_map(|cs| cs.state.as_ref().and_then(|s| s.waiting.as_ref()));
    let text = match (phase, node) {
        ("Succeeded" | "Failed", _) => {
            format!("pod {name} finished ({phase}): reading its results")
        }
        ("Running", Some(n)) => format!("pod {name} running on node {n}"),
        (_, None) => match unscheduled {
            Some(c) => format!(
                "pod {name} not scheduled: {}",
                c.message
                    .as_deref()
                    .or(c.reason.as_deref())
                    .unwrap_or("no node yet")
            ),
            None => format!("pod {name} waiting for a node"),
        },
        (_, Some(n)) => match waiting.and_then(|w| w.reason.as_deref()) {
            Some(reason) => {
                format!("pod {name} on node {n}: {reason} (pulling the image, starting)")
            }
            None => format!("pod {name} scheduled on node {n}: pulling the image, starting"),
        },
    };
    text::sanitize(&text)
}

/// RBAC refused a request the probe needs.
/// What the probe's wait has seen before any pod of its Job.
const NO_POD: &str = "the Job made no pod";

fn forbidden(verb: &'static str, resource: &'static str, ns: &str) -> Attempt {
    Attempt::Failed(Unavailable::Forbidden {
        verb,
        resource,
        namespace: Some(ns.to_string()),
    })
}

/// Why a probe could not run (a skipped check with this reason leaves the diagnosis incomplete).
fn failed(msg: impl Into<String>) -> Fact<ProbeResults> {
    Fact::Unavailable(failure(msg))
}

fn failure(msg: impl Into<String>) -> Unavailable {
    Unavailable::Stopped(msg.into())
}

impl Prober {
    pub(crate) async fn run(&self, plan: &ProbePlan, opts: &ProbeOptions) -> Fact<ProbeResults> {
        self.run_from(plan, opts, Instant::now()).await
    }

    /// [`Prober::run`] under a deadline that started at `started` (`--probe-timeout` from then):
    /// several probes share one.
    pub(crate) async fn run_from(
        &self,
        plan: &ProbePlan,
        opts: &ProbeOptions,
        started: Instant,
    ) -> Fact<ProbeResults> {
        let prepared = self.prepare(plan).await;
        self.run_prepared(prepared, opts, started).await
    }

    /// What a probe's namespace decides before any Job: the first rung of the capture ladder its
    /// PodSecurity level admits, and whether the client's labels may be copied. Read once for
    /// every node of per-node probing (the same namespace and labels).
    pub(crate) async fn prepare(&self, plan: &ProbePlan) -> Prepared {
        let level = self.pod_security_level(&plan.namespace).await;
        let mut prepared = Prepared {
            plan: plan.clone(),
            rung: Rung::for_level(level.as_deref()),
            notes: Vec::new(),
        };
        if !plan.labels.is_empty() {
            if let Some(conflict) = self.identity_conflict(plan).await {
                prepared.notes.push(format!(
                    "the client's labels ({}) were not copied onto the probe: {conflict}; its NetworkPolicy identity is the probe's own",
                    text::labels(&plan.labels)
                ));
                prepared.plan.labels.clear();
            }
        }
        prepared
    }

    /// Runs a prepared probe up the capture ladder until admission takes a rung.
    pub(crate) async fn run_prepared(
        &self,
        prepared: Prepared,
        opts: &ProbeOptions,
        started: Instant,
    ) -> Fact<ProbeResults> {
        let Prepared {
            plan,
            mut rung,
            mut notes,
        } = prepared;
        loop {
            let outcome = self.attempt(&plan, opts, rung, started).await;
            match outcome {
                Attempt::Done(mut results) => {
                    results.notes.splice(0..0, notes);
                    return Fact::Known(*results);
                }
                Attempt::Refused(message) => match rung.next() {
                    Some(next) => {
                        notes.push(format!(
                            "admission refused the probe at Pod Security level {} ({}); retried at {}",
                            rung.as_str(),
                            message,
                            next.as_str()
                        ));
                        rung = next;
                    }
                    None => return failed(format!("admission refused the probe pod: {message}")),
                },
                Attempt::Failed(u) => return Fact::Unavailable(u),
            }
        }
    }

    /// Whether a pod with the probe's labels would be counted where it must not be (DESIGN §4): by
    /// a PodDisruptionBudget (blocking evictions), or as an endpoint of a Service that publishes
    /// not-ready addresses. Unreadable means "assume so".
    async fn identity_conflict(&self, plan: &ProbePlan) -> Option<String> {
        use k8s_openapi::api::core::v1::Service;
        use k8s_openapi::api::policy::v1::PodDisruptionBudget;
        let labels = job::pod_labels(plan);
        let ns = plan.namespace.as_str();
        let pdbs: Api<PodDisruptionBudget> = Api::namespaced(self.client.clone(), ns);
        match self.bounded(pdbs.list(&ListParams::default())).await {
            Ok(list) => {
                for pdb in list.items {
                    let selector = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
                    let selects = selector
                        .and_then(|s| crate::netpol::selector::Selector::compile(s).ok())
                        .is_some_and(|s| s.matches(&labels));
                    if selects {
                        return Some(format!(
                            "PodDisruptionBudget {ns}/{} would count it",
                            crate::k8s::name_of(&pdb.metadata)
                        ));
                    }
                }
            }
            Err(_) => return Some(format!("PodDisruptionBudgets in {ns} could not be read")),
        }
        let services: Api<Service> = Api::namespaced(self.client.clone(), ns);
        match self.bounded(services.list(&ListParams::default())).await {
            Ok(list) => list.items.into_iter().find_map(|svc| {
                let spec = svc.spec.as_ref()?;
                let selector = spec.selector.as_ref().filter(|s| !s.is_empty())?;
                (spec.publish_not_ready_addresses == Some(true)
                    && crate::k8s::selector_matches(selector, &labels))
                .then(|| {
                    format!(
                        "Service {ns}/{} publishes not-ready addresses and would route to it",
                        crate::k8s::name_of(&svc.metadata)
                    )
                })
            }),
            Err(_) => Some(format!("Services in {ns} could not be read")),
        }
    }

    async fn pod_security_level(&self, ns: &str) -> Option<String> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let namespace = self.bounded(api.get_opt(ns)).await.ok().flatten()?;
        namespace
            .metadata
            .labels?
            .get("pod-security.kubernetes.io/enforce")
            .cloned()
    }

    async fn attempt(
        &self,
        plan: &ProbePlan,
        opts: &ProbeOptions,
        rung: Rung,
        started: Instant,
    ) -> Attempt {
        let ns = plan.namespace.as_str();
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), ns);
        let deadline = k8s_openapi::jiff::Timestamp::now()
            + k8s_openapi::jiff::SignedDuration::from_secs(opts.timeout.as_secs() as i64 + 30);
        let mut manifest = job::manifest(plan, opts, rung, &deadline.to_string());
        // The name is chosen here, not by generateName, and registered before the create is
        // sent: a run interrupted while the create is in flight still knows what to delete.
        let name = generated_name("netdoctor-probe-");
        manifest.metadata.name = Some(name.clone());
        register(&self.client, ns, &name);
        let created = self
            .bounded(jobs.create(&PostParams::default(), &manifest))
            .await;
        match created {
            Ok(_) => {}
            Err(kube::Error::Api(status))
                if status.code == 403 && !is_admission(&status.message) =>
            {
                unregister(ns, &name);
                return forbidden("create", "jobs", ns);
            }
            Err(kube::Error::Api(status)) => {
                unregister(ns, &name);
                return Attempt::Failed(failure(format!(
                    "the probe Job was refused: {}",
                    text::sanitize(&status.message)
                )));
            }
            Err(e) => {
                // No answer (a timeout, a reset): the server may have stored the Job all the
                // same. Delete it by the name chosen here — gone already is fine.
                self.delete(ns, &name).await;
                return Attempt::Failed(failure(format!(
                    "cannot create the probe Job: {} (a Job {ns}/{name} it may have made is deleted)",
                    text::sanitize(&e.to_string())
                )));
            }
        }
        self.tell(
            &format!(
                "Job {ns}/{name} created (Pod Security level {})",
                rung.as_str()
            ),
            started,
            opts,
        );
        let outcome = self.wait(plan, opts, rung, &name, started).await;
        self.delete(ns, &name).await;
        outcome
    }

    /// Says a probe's new stage: under -v on stderr, on a terminal as the spinner's message.
    fn tell(&self, stage: &str, started: Instant, opts: &ProbeOptions) {
        // Stages quote the cluster (a scheduler's message, a pod's name): never raw to a terminal.
        let stage = &text::sanitize(stage);
        if self.verbose {
            eprintln!("probe: {stage}");
        }
        if let Some(progress) = &self.progress {
            progress(&format!("probe: {stage}"), started, opts.timeout);
        }
    }

    async fn wait(
        &self,
        plan: &ProbePlan,
        opts: &ProbeOptions,
        rung: Rung,
        job: &str,
        started: Instant,
    ) -> Attempt {
        let ns = plan.namespace.as_str();
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let selector = ListParams::default().labels(&format!("job-name={job}"));
        let mut delay = Duration::from_millis(100);
        let created = Instant::now();
        let mut last = NO_POD.to_string();
        loop {
            if started.elapsed() > opts.timeout {
                // The Job is deleted after this; its events stay (an hour, by default). No pod
                // at all is the Job controller's or admission's doing, not a slow start: say
                // where its events are, with the run's connection flags.
                if last == NO_POD {
                    let events = crate::connection::targeted(&format!(
                        "kubectl get events -n {} --field-selector involvedObject.name={}",
                        text::shell_quote(ns),
                        text::shell_quote(job)
                    ));
                    return Attempt::Failed(failure(format!(
                        "the probe Job made no pod within {} s and no event says why yet; its Job is deleted, its events stay: {events}",
                        opts.timeout.as_secs(),
                    )));
                }
                return Attempt::Failed(failure(format!(
                    "the probe did not finish within {} s (last seen: {last}); its Job is deleted — raise --probe-timeout if the cluster is slow to start pods",
                    opts.timeout.as_secs(),
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
            let list = match self.bounded(pods.list(&selector)).await {
                Ok(list) => list,
                Err(kube::Error::Api(s)) if s.code == 403 => {
                    return forbidden("list", "pods", ns);
                }
                Err(_) => continue,
            };
            let Some(pod) = list.items.into_iter().next() else {
                if created.elapsed() >= NO_POD_GRACE {
                    if let Some(refusal) = self.creation_refused(ns, job).await {
                        return refusal;
                    }
                }
                continue;
            };
            let status = pod.status.clone().unwrap_or_default();
            let phase = status.phase.clone().unwrap_or_default();
            let now = stage(&pod);
            if now != last {
                self.tell(&now, started, opts);
                last = now;
            }
            if let Some(stuck) = stuck(&status, opts) {
                return stuck;
            }
            if !matches!(phase.as_str(), "Succeeded" | "Failed") {
                continue;
            }
            return self.results(plan, rung, &pod, &phase).await;
        }
    }

    /// A probe pod that ended: its log read back as the agent's lines.
    async fn results(&self, plan: &ProbePlan, rung: Rung, pod: &Pod, phase: &str) -> Attempt {
        let ns = plan.namespace.as_str();
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let pod_name = crate::k8s::name_of(&pod.metadata).to_string();
        let params = LogParams {
            container: Some("agent".into()),
            ..Default::default()
        };
        let log = match self.bounded(pods.logs(&pod_name, &params)).await {
            Ok(log) => log,
            Err(kube::Error::Api(s)) if s.code == 403 => {
                return forbidden("get", "pods/log", ns);
            }
            Err(e) => {
                return Attempt::Failed(failure(format!(
                    "cannot read the probe's log: {}",
                    text::sanitize(&e.to_string())
                )));
            }
        };
        let (records, summary) = match ProbeResults::parse_log(&log) {
            Ok(parsed) => parsed,
            Err(e) => {
                return Attempt::Failed(failure(format!(
                    "the probe's log is not the agent's: {e}"
                )));
            }
        };
        let Some(summary) = summary else {
            return Attempt::Failed(failure(format!(
                "the probe pod {pod_name} ended ({phase}) without the agent's summary: {}",
                text::sanitize(log.lines().last().unwrap_or("empty log"))
            )));
        };
        let mut notes = Vec::new();
        if let (false, Some(reason)) = (summary.capture.enabled, &summary.capture.reason) {
            notes.push(format!(
                "no packet capture in the probe ({}): verdicts come from connect() and are weaker",
                text::sanitize(reason)
            ));
        }
        Attempt::Done(Box::new(ProbeResults {
            namespace: ns.to_string(),
            pod: pod_name,
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            rung,
            notes,
            records,
            summary: Some(summary),
            labels: job::pod_labels(plan),
            sockets: Default::default(),
        }))
    }

    /// A Job without a pod: PodSecurity or a quota refused it (an event on the Job says so).
    async fn creation_refused(&self, ns: &str, job: &str) -> Option<Attempt> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), ns);
        let params = ListParams::default().fields(&format!("involvedObject.name={job}"));
        let list = self.bounded(events.list(&params)).await.ok()?;
        let event = list
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("FailedCreate"))?;
        let message = text::sanitize(event.message.as_deref().unwrap_or("FailedCreate"));
        Some(if message.contains("PodSecurity") {
            Attempt::Refused(message)
        } else {
            Attempt::Failed(failure(format!(
                "the probe pod could not be created: {message}"
            )))
        })
    }

    async fn delete(&self, ns: &str, name: &str) {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), ns);
        match self
            .delete_gone(jobs, name, &DeleteParams::background())
            .await
        {
            Ok(_) => unregister(ns, name),
            Err(e) => eprintln!(
                "warning: could not delete probe job {ns}/{name}: {} (run: kubectl netdoctor cleanup -n {})",
                text::sanitize(&e.to_string()),
                text::shell_quote(ns)
            ),
        }
    }

    /// Deletes `name`: true when this call deleted it, false when it was already gone.
    pub(crate) async fn delete_gone<K>(
        &self,
        api: Api<K>,
        name: &str,
        dp: &DeleteParams,
    ) -> Result<bool, kube::Error>
    where
        K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        match self.bounded(api.delete(name, dp)).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn bounded<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, kube::Error> {
        match self.request_timeout {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .unwrap_or_else(|_| Err(kube::Error::Service("request timed out".into()))),
            None => fut.await,
        }
    }
}

/// A probe ready to run: its plan (the client's labels dropped when they may not be copied), the
/// rung it starts at, and what was decided on the way.
#[derive(Clone)]
pub(crate) struct Prepared {
    pub plan: ProbePlan,
    rung: Rung,
    notes: Vec<String>,
}

enum Attempt {
    Done(Box<ProbeResults>),
    /// Admission refused this rung: try the next.
    Refused(String),
    Failed(Unavailable),
}

/// A 403 from an admission webhook or PodSecurity carries its reason in the message; RBAC's
/// says "cannot create resource".
fn is_admission(message: &str) -> bool {
    !(message.contains("cannot ") && message.contains(" resource \""))
}

fn register(client: &Client, ns: &str, name: &str) {
    if let Ok(mut created) = CREATED.lock() {
        created.push((client.clone(), ns.to_string(), name.to_string()));
    }
}

fn unregister(ns: &str, name: &str) {
    if let Ok(mut created) = CREATED.lock() {
        created.retain(|(_, n, j)| !(n == ns && j == name));
    }
}

/// Deletes every Job this process created and has not deleted yet (on SIGINT/SIGTERM), within
/// `limit`; returns the ones that could not be deleted.
pub(crate) async fn cleanup_registered(limit: Duration) -> Vec<String> {
    let pending: Vec<(Client, String, String)> = CREATED
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    let mut left = Vec::new();
    for (client, ns, name) in pending {
        let jobs: Api<Job> = Api::namespaced(client, &ns);
        let deleted =
            tokio::time::timeout(limit, jobs.delete(&name, &DeleteParams::background())).await;
        match deleted {
            Ok(Ok(_)) => {}
            Ok(Err(kube::Error::Api(s))) if s.code == 404 => {}
            _ => left.push(format!("{ns}/{name}")),
        }
    }
    left
}

/// Why an ephemeral container's run failed.
pub(crate) enum EphemeralError {
    /// Admission refused it (PodSecurity): try with fewer privileges.
    Refused(String),
    /// The container cannot start as asked (e.g. root in a runAsNonRoot pod): try another way.
    CannotStart(String),
    /// Anything else: give up, saying this.
    Failed(Unavailable),
}

/// A name no earlier ephemeral container of this pod used (they stay forever).
/// How to make the image pullable where the cluster cannot reach its registry.
fn mirror_hint(image: &str) -> String {
    let dev = if super::job::image_is_pinned() {
        ""
    } else {
        "this is a development build: its default image is only published by a release; build one with dist/build.sh; "
    };
    format!(
        "{dev}mirror it: skopeo copy docker://{} docker://REGISTRY/netdoctor:TAG, then --probe-image REGISTRY/netdoctor@sha256:… or NETDOCTOR_PROBE_IMAGE",
        text::sanitize(image)
    )
}

/// `prefix` and five random characters from the alphabet the API server's generateName uses
/// (no vowels, no look-alikes): 27^5 names, so two runs at once do not collide.
pub(crate) fn generated_name(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    let mut bits = h.finish();
    let mut name = prefix.to_string();
    for _ in 0..5 {
        name.push(ALPHABET[(bits % ALPHABET.len() as u64) as usize] as char);
        bits /= ALPHABET.len() as u64;
    }
    name
}

pub(crate) fn ephemeral_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{prefix}-{:x}", (nanos as u64) & 0xff_ffff)
}

impl Prober {
    /// Adds `container` to the pod's ephemeral containers, waits until it terminates (or `limit`)
    /// and returns its log.
    pub(crate) async fn run_ephemeral(
        &self,
        ns: &str,
        pod: &str,
        container: serde_json::Value,
        limit: Duration,
    ) -> Result<String, EphemeralError> {
        let name = container["name"].as_str().unwrap_or_default().to_string();
        let image = container["image"].as_str().unwrap_or_default().to_string();
        self.add_ephemeral(ns, pod, container).await?;
        self.wait_ephemeral(ns, pod, &name, &image, limit).await
    }

    /// Adds `container` to the pod's ephemeral containers (for good).
    pub(crate) async fn add_ephemeral(
        &self,
        ns: &str,
        pod: &str,
        container: serde_json::Value,
    ) -> Result<(), EphemeralError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let patch = kube::api::Patch::Strategic(
            serde_json::json!({"spec": {"ephemeralContainers": [container]}}),
        );
        match self
            .bounded(pods.patch_ephemeral_containers(
                pod,
                &kube::api::PatchParams::default(),
                &patch,
            ))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 403 && !is_admission(&s.message) => {
                return Err(EphemeralError::Failed(Unavailable::Forbidden {
                    verb: "patch",
                    resource: "pods/ephemeralcontainers",
                    namespace: Some(ns.to_string()),
                }));
            }
            Err(kube::Error::Api(s)) if s.message.contains("PodSecurity") => {
                return Err(EphemeralError::Refused(text::sanitize(&s.message)));
            }
            Err(kube::Error::Api(s)) => {
                return Err(EphemeralError::Failed(failure(format!(
                    "cannot add an ephemeral container to {ns}/{pod}: {}",
                    text::sanitize(&s.message)
                ))));
            }
            Err(e) => {
                return Err(EphemeralError::Failed(failure(format!(
                    "cannot add an ephemeral container to {ns}/{pod}: {}",
                    text::sanitize(&e.to_string())
                ))));
            }
        }
        Ok(())
    }

    /// Waits until the ephemeral container `name` terminates (or `limit`) and returns its log.
    pub(crate) async fn wait_ephemeral(
        &self,
        ns: &str,
        pod: &str,
        name: &str,
        image: &str,
        limit: Duration,
    ) -> Result<String, EphemeralError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let name = name.to_string();
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            if started.elapsed() > limit {
                return Err(EphemeralError::Failed(failure(format!(
                    "the ephemeral container {name} in {ns}/{pod} did not finish within {} s",
                    limit.as_secs()
                ))));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
            let Ok(current) = self.bounded(pods.get(pod)).await else {
                continue;
            };
            let state = current
                .status
                .and_then(|s| s.ephemeral_container_statuses)
                .unwrap_or_default()
                .into_iter()
                .find(|s| s.name == name)
                .and_then(|s| s.state);
            let Some(state) = state else { continue };
            if let Some(w) = state.waiting {
                let reason = w.reason.unwrap_or_default();
                let message = text::sanitize(&w.message.unwrap_or_default());
                if reason == "CreateContainerConfigError" {
                    return Err(EphemeralError::CannotStart(format!("{reason}: {message}")));
                }
                if STUCK.contains(&reason.as_str()) {
                    return Err(EphemeralError::Failed(failure(format!(
                        "the probe image {} cannot start: {reason}: {message} ({})",
                        text::sanitize(image),
                        mirror_hint(image)
                    ))));
                }
                continue;
            }
            if state.terminated.is_none() {
                continue;
            }
            let params = LogParams {
                container: Some(name.clone()),
                ..Default::default()
            };
            return self
                .bounded(pods.logs(pod, &params))
                .await
                .map_err(|e| match e {
                    kube::Error::Api(s) if s.code == 403 => {
                        EphemeralError::Failed(Unavailable::Forbidden {
                            verb: "get",
                            resource: "pods/log",
                            namespace: Some(ns.to_string()),
                        })
                    }
                    other => EphemeralError::Failed(failure(format!(
                        "cannot read the log of {name}: {}",
                        text::sanitize(&other.to_string())
                    ))),
                });
        }
    }

    /// `--inside`: the agent runs as an ephemeral container of the client pod itself — its exact
    /// network identity. Root with NET_RAW first; if admission refuses or the pod forbids root, as
    /// non-root without capabilities (no capture).
    pub(crate) async fn run_inside(
        &self,
        plan: &ProbePlan,
        opts: &ProbeOptions,
        pod: &Pod,
    ) -> Fact<ProbeResults> {
        let ns = plan.namespace.as_str();
        let pod_name = crate::k8s::name_of(&pod.metadata).to_string();
        let mut notes = Vec::new();
        let mut rung = Rung::Privileged;
        loop {
            let name = ephemeral_name("netdoctor-probe");
            let manifest = job::manifest(plan, opts, rung, "");
            let Some(agent) = manifest
                .spec
                .and_then(|s| s.template.spec)
                .and_then(|s| s.containers.into_iter().next())
            else {
                return failed("no agent container in the probe manifest");
            };
            let container = serde_json::json!({
                "name": name,
                "image": agent.image,
                "command": agent.command,
                "args": agent.args,
                "securityContext": agent.security_context,
            });
            let limit = opts.timeout;
            match self.run_ephemeral(ns, &pod_name, container, limit).await {
                Ok(log) => {
                    let (records, summary) = match ProbeResults::parse_log(&log) {
                        Ok(parsed) => parsed,
                        Err(e) => {
                            return failed(format!("the probe's log is not the agent's: {e}"));
                        }
                    };
                    if summary.is_none() {
                        return failed(format!(
                            "the probe container {name} ended without the agent's summary: {}",
                            text::sanitize(log.lines().last().unwrap_or("empty log"))
                        ));
                    }
                    notes.push(format!(
                        "ran inside pod {ns}/{pod_name} as ephemeral container {name} (it stays in the pod's spec)"
                    ));
                    return Fact::Known(ProbeResults {
                        namespace: ns.to_string(),
                        pod: pod_name,
                        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                        rung,
                        notes,
                        records,
                        summary,
                        labels: pod.metadata.labels.clone().unwrap_or_default(),
                        sockets: Default::default(),
                    });
                }
                Err(EphemeralError::Refused(why) | EphemeralError::CannotStart(why))
                    if rung != Rung::Restricted =>
                {
                    notes.push(format!(
                        "the probe could not run as root with NET_RAW inside {pod_name} ({why}); retried as non-root without capture"
                    ));
                    rung = Rung::Restricted;
                }
                Err(EphemeralError::Refused(why) | EphemeralError::CannotStart(why)) => {
                    return failed(format!(
                        "the probe cannot run inside {ns}/{pod_name}: {why}"
                    ));
                }
                Err(EphemeralError::Failed(u)) => return Fact::Unavailable(u),
            }
        }
    }
}
