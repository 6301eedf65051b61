//! A fake Kubernetes API server for tests and benchmarks: an in-memory store loaded from YAML,
//! served over the real REST paths (discovery, get and list with label and field selectors,
//! paging), with Status errors, injectable 403s and latency, and a request log.
//!
//! ```no_run
//! let api = fakeapi::FakeApi::new();
//! api.load_yaml("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n").unwrap();
//! api.forbid("list", "pods", Some("shop"));
//! let server = api.start();
//! let kubeconfig = server.kubeconfig(Some("shop"));
//! ```
//!
//! Writes are served where the probe flow needs them: create (with `generateName`), delete (with
//! the propagation policies' effect on owned pods), pod logs, and a Job controller with a fake
//! kubelet (see [`kubelet`]) that runs created probe pods the way a test decides.

pub mod kubelet;
mod resources;
mod selector;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use kubelet::{EphemeralRunner, Kubelet, PodRun};
pub use resources::{RESOURCES, Resource};
pub use selector::{FieldSelector, LabelSelector};

/// The Kubernetes version the server reports (kubectl's dispatcher picks its binary from it).
pub const VERSION: (&str, &str) = ("1", "32");

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    /// When it arrived, since the server started: requests sent together arrive together.
    pub at: Duration,
    /// The Authorization header, if any ("Bearer …").
    pub authorization: Option<String>,
    /// The Impersonate-User header, if any.
    pub impersonate_user: Option<String>,
}

impl Request {
    /// Whether the request could change state.
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

/// A refused (verb, resource, namespace) triple; `namespace: None` refuses it everywhere.
#[derive(Debug, Clone)]
struct Forbid {
    verb: String,
    resource: String,
    namespace: Option<String>,
}

type Key = (String, String, String); // (group/version/plural, namespace, name)
/// A list: (group/version/plural, namespace, labelSelector, fieldSelector).
type ListKey = (String, String, String, String);
/// The keys a list matched, and at which count of writes.
type Matched = (u64, Arc<Vec<Key>>);

/// An `Instant` with a `Default` (now).
struct Started(std::time::Instant);

impl Default for Started {
    fn default() -> Self {
        Started(std::time::Instant::now())
    }
}

impl Started {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// How a broken server pages forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndlessContinue {
    /// The same continue token on every page (the first page again and again).
    SameToken = 1,
    /// A new token on every page, past the end: empty pages forever.
    FreshTokens = 2,
    /// A new token on every page, with the first page's items again each time (and no
    /// remainingItemCount): the same objects forever, under a fresh token.
    RepeatPages = 3,
}

#[derive(Default)]
struct Shared {
    objects: RwLock<BTreeMap<Key, Value>>,
    /// Writes to `objects` so far: a list's matching keys stay valid while it does not move.
    writes: AtomicU64,
    /// The keys each list (resource, namespace, selectors) matched, for its next pages: a page
    /// costs its own objects, as the API server's watch cache serves them, not the whole list.
    lists: Mutex<HashMap<ListKey, Matched>>,
    log: Mutex<Vec<Request>>,
    forbidden: RwLock<Vec<Forbid>>,
    /// Paths that answer a server error: (path, code).
    failing: RwLock<Vec<(String, u16)>>,
    /// (path, code, requests to let through first): one failure in mid-run.
    failing_later: Mutex<Vec<(String, u16, usize)>>,
    latency_ms: AtomicU64,
    /// Time a create takes to answer *after* it was stored (a response still in flight).
    create_latency_ms: AtomicU64,
    /// A broken server's paging (see [`EndlessContinue`]), as its discriminant (0: none).
    endless_continue: AtomicU64,
    resource_version: AtomicU64,
    /// When the store was made (the request log's clock).
    started: Started,
    /// API groups announced in discovery without resources served (CRDs of other tools).
    extra_groups: RwLock<Vec<(String, String)>>,
    /// Custom resources served besides the built-in catalogue.
    custom: RwLock<Vec<&'static Resource>>,
    /// A `gitVersion` suffix, as managed clusters report one ("-gke.1200").
    version_suffix: RwLock<String>,
    /// Runs the pods the Job controller creates; none: they stay Pending (no node).
    kubelet: RwLock<Option<Kubelet>>,
    /// The Job controller is down (kube-controller-manager stopped): Jobs make no pods.
    no_job_controller: std::sync::atomic::AtomicBool,
    /// Container logs by (namespace, pod, container).
    logs: RwLock<HashMap<(String, String, String), String>>,
    /// Runs ephemeral containers added to a pod (`kubectl debug`, `capture`).
    ephemeral: RwLock<Option<EphemeralRunner>>,
}

/// The fake API server's store and settings; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct FakeApi {
    shared: Arc<Shared>,
}

impl FakeApi {
    /// An empty cluster: namespaces default, kube-system, kube-public and kube-node-lease.
    pub fn new() -> Self {
        let api = Self::default();
        {
            let mut objects = api.shared.objects.write().unwrap();
            for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                objects.insert(
                    ("v1/namespaces".into(), String::new(), ns.into()),
                    namespace_object(ns),
                );
            }
        }
        api
    }

    /// Loads objects from a YAML stream (or JSON), expanding `kind: List`. Objects without a
    /// namespace go to "default", like `kubectl apply`.
    pub fn load_yaml(&self, text: &str) -> Result<usize, String> {
        let trimmed = text.trim_start();
        let docs: Vec<Value> = if trimmed.starts_with('{') || trimmed.starts_with('[') {
            vec![serde_json::from_str(text).map_err(|e| e.to_string())?]
        } else {
            serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?
        };
        let mut n = 0;
        for doc in docs {
            if doc.is_null() {
                continue;
            }
            let items = match doc.get("items") {
                Some(Value::Array(items))
                    if doc["kind"].as_str().is_some_and(|k| k.ends_with("List")) =>
                {
                    items.clone()
                }
                _ => vec![doc],
            };
            for item in items {
                self.insert(item)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Adds or replaces one object.
    pub fn insert(&self, mut obj: Value) -> Result<(), String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let res = match resources::by_kind(&self.catalogue(), &api_version, &kind) {
            Some(r) => r,
            // Another version of a kind it serves: stored at the served one, as a CRD without a
            // conversion webhook (strategy None) does — only apiVersion changes.
            None => {
                let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
                let r = self
                    .catalogue()
                    .into_iter()
                    .find(|r| r.kind == kind && !group.is_empty() && r.group == group)
                    .ok_or_else(|| format!("fakeapi does not serve {api_version} {kind}"))?;
                obj["apiVersion"] = json!(r.group_version());
                r
            }
        };
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{kind} without metadata.name"))?
            .to_string();
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or("metadata is not a mapping")?;
        let namespace = if res.namespaced {
            let ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            meta.insert("namespace".into(), json!(ns));
            ns
        } else {
            meta.remove("namespace");
            String::new()
        };
        if kind == "Service" {
            allocate_cluster_ip(&mut obj, &self.shared.resource_version);
        }
        if kind == "Secret" {
            fold_string_data(&mut obj);
        }
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or("metadata is not a mapping")?;
        let rv = self.shared.resource_version.fetch_add(1, Ordering::SeqCst) + 1;
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.entry("uid")
            .or_insert_with(|| json!(format!("uid-{kind}-{namespace}-{name}").to_lowercase()));
        meta.entry("creationTimestamp")
            .or_insert_with(|| json!("2026-01-01T00:00:00Z"));
        let key = (
            format!("{}/{}", res.group_version(), res.plural),
            namespace.clone(),
            name,
        );
        let mut objects = self.shared.objects.write().unwrap();
        self.shared.writes.fetch_add(1, Ordering::SeqCst);
        objects.insert(key, obj);
        // A real cluster has a Namespace object for every namespace in use.
        if !namespace.is_empty() {
            let ns_key = (
                "v1/namespaces".to_string(),
                String::new(),
                namespace.clone(),
            );
            objects
                .entry(ns_key)
                .or_insert_with(|| namespace_object(&namespace));
        }
        Ok(())
    }

    /// Answers every request for exactly `path` (any query) with `code` (a server error).
    pub fn fail(&self, path: &str, code: u16) {
        self.shared
            .failing
            .write()
            .unwrap()
            .push((path.into(), code));
    }

    /// Answers `code` once to a request for `path`, after letting the first `after` through.
    pub fn fail_once_after(&self, path: &str, code: u16, after: usize) {
        self.shared
            .failing_later
            .lock()
            .unwrap()
            .push((path.into(), code, after));
    }

    /// Refuses `verb` on `resource` (plural) in `namespace` (None: everywhere) with a 403.
    pub fn forbid(&self, verb: &str, resource: &str, namespace: Option<&str>) {
        self.shared.forbidden.write().unwrap().push(Forbid {
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.map(Into::into),
        });
    }

    /// Serves a custom resource (as a CRD would): its group appears in discovery, and objects of
    /// its kind can be loaded, got and listed.
    #[allow(clippy::too_many_arguments)]
    pub fn add_custom_resource(
        &self,
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
    ) {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        let singular = leak(&kind.to_lowercase());
        let r: &'static Resource = Box::leak(Box::new(Resource {
            group: leak(group),
            version: leak(version),
            kind: leak(kind),
            plural: leak(plural),
            singular,
            namespaced,
            short_names: &[],
            fields: &[],
        }));
        self.shared.custom.write().unwrap().push(r);
    }

    /// Serves the Gateway API's kinds (gateway.networking.k8s.io/v1), as its standard-channel
    /// CRDs do once installed.
    pub fn serve_gateway_api(&self) {
        const GROUP: &str = "gateway.networking.k8s.io";
        for (kind, plural, namespaced) in [
            ("GatewayClass", "gatewayclasses", false),
            ("Gateway", "gateways", true),
            ("HTTPRoute", "httproutes", true),
            ("GRPCRoute", "grpcroutes", true),
            ("TLSRoute", "tlsroutes", true),
            ("TCPRoute", "tcproutes", true),
            ("UDPRoute", "udproutes", true),
            ("ReferenceGrant", "referencegrants", true),
        ] {
            self.add_custom_resource(GROUP, "v1", kind, plural, namespaced);
        }
    }

    /// Serves the Gateway API when any of the fixtures holds one of its objects, and the
    /// cluster-wide policy kinds of sigs.k8s.io/network-policy-api at the versions the fixtures
    /// use: such fixtures are clusters with those CRDs installed.
    pub fn serve_custom_apis_for(&self, fixtures: &[String]) {
        let uses = |s: &str| fixtures.iter().any(|t| t.contains(s));
        if uses("gateway.networking.k8s.io/") {
            self.serve_gateway_api();
        }
        const POLICY: &str = "policy.networking.k8s.io";
        // v0.1.x of the CRDs: AdminNetworkPolicy and BaselineAdminNetworkPolicy.
        if uses("policy.networking.k8s.io/v1alpha1") {
            self.add_custom_resource(
                POLICY,
                "v1alpha1",
                "AdminNetworkPolicy",
                "adminnetworkpolicies",
                false,
            );
            self.add_custom_resource(
                POLICY,
                "v1alpha1",
                "BaselineAdminNetworkPolicy",
                "baselineadminnetworkpolicies",
                false,
            );
        }
        // v0.2 and later: ClusterNetworkPolicy, served at v1beta1 and v1alpha2.
        if uses("policy.networking.k8s.io/v1beta1") || uses("policy.networking.k8s.io/v1alpha2") {
            for v in ["v1beta1", "v1alpha2"] {
                self.add_custom_resource(
                    POLICY,
                    v,
                    "ClusterNetworkPolicy",
                    "clusternetworkpolicies",
                    false,
                );
            }
        }
    }

    /// Reports `v1.32.0<suffix>` as gitVersion, like a managed cluster ("-gke.1200").
    pub fn set_version_suffix(&self, suffix: &str) {
        *self.shared.version_suffix.write().unwrap() = suffix.to_string();
    }

    /// Every resource served: the built-in catalogue and the custom ones.
    fn catalogue(&self) -> Vec<&'static Resource> {
        let mut all: Vec<&'static Resource> = RESOURCES.iter().collect();
        all.extend(self.shared.custom.read().unwrap().iter().copied());
        all
    }

    /// Lists an API group in discovery (as a CRD would), without serving its resources.
    pub fn announce_group(&self, group: &str, version: &str) {
        self.shared
            .extra_groups
            .write()
            .unwrap()
            .push((group.into(), version.into()));
    }

    /// Delays every response.
    /// Delays every create's answer after the object is stored, as a slow network would: a
    /// client that gives up meanwhile has still created it.
    pub fn set_create_latency(&self, latency: Duration) {
        self.shared
            .create_latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Makes every list answer with a continue token, as a broken server or proxy might.
    pub fn set_endless_continue(&self, mode: EndlessContinue) {
        self.shared
            .endless_continue
            .store(mode as u64, Ordering::SeqCst);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Runs every pod a created Job gets through `kubelet` (on a thread of its own).
    /// Stops the Job controller: Jobs are stored and make no pod, and no event says why.
    pub fn stop_job_controller(&self) {
        self.shared.no_job_controller.store(true, Ordering::SeqCst);
    }

    pub fn set_kubelet(&self, kubelet: impl Fn(&Value) -> PodRun + Send + Sync + 'static) {
        *self.shared.kubelet.write().unwrap() = Some(Arc::new(kubelet));
    }

    /// Runs every ephemeral container added to a pod through `runner` (pod, container).
    pub fn set_ephemeral_runner(
        &self,
        runner: impl Fn(&Value, &Value) -> PodRun + Send + Sync + 'static,
    ) {
        *self.shared.ephemeral.write().unwrap() = Some(Arc::new(runner));
    }

    /// One stored object, by apiVersion, kind, namespace ("" for cluster-scoped) and name.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let res = resources::by_kind(&self.catalogue(), api_version, kind)?;
        let key = (key_prefix(res), namespace.to_string(), name.to_string());
        self.shared.objects.read().unwrap().get(&key).cloned()
    }

    /// Every stored object of a kind (all namespaces).
    pub fn all(&self, api_version: &str, kind: &str) -> Vec<Value> {
        let Some(res) = resources::by_kind(&self.catalogue(), api_version, kind) else {
            return Vec::new();
        };
        let prefix = key_prefix(res);
        self.shared
            .objects
            .read()
            .unwrap()
            .iter()
            .filter(|((p, _, _), _)| *p == prefix)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Serves on 127.0.0.1 (a free port) from a thread of its own, until the `Server` is dropped.
    pub fn start(&self) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let api = self.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = Router::new().fallback(handle).with_state(api);
                // Stop at once, dropping requests in flight (a test of a slow server must not
                // wait for the slow answer when it is done).
                tokio::select! {
                    res = axum::serve(listener, app) => res.expect("serve"),
                    _ = rx => {}
                }
            });
            rt.shutdown_background();
        });
        Server {
            api: self.clone(),
            url: format!("http://{addr}"),
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

/// What the API server does on create: a Service without a clusterIP gets one (ExternalName none).
fn allocate_cluster_ip(obj: &mut Value, counter: &AtomicU64) {
    let spec = obj
        .as_object_mut()
        .and_then(|o| o.entry("spec").or_insert_with(|| json!({})).as_object_mut());
    let Some(spec) = spec else { return };
    if spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
        return;
    }
    let ip = match spec.get("clusterIP").and_then(Value::as_str) {
        Some(ip) if !ip.is_empty() => ip.to_string(),
        _ => {
            let n = counter.load(Ordering::SeqCst) + 10;
            format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 1)
        }
    };
    spec.insert("clusterIP".into(), json!(ip));
    spec.entry("clusterIPs").or_insert_with(|| json!([ip]));
    spec.entry("type").or_insert_with(|| json!("ClusterIP"));
}

/// What the API server does with a Secret's `stringData`: base64 into `data`, never stored.
fn fold_string_data(obj: &mut Value) {
    let Some(o) = obj.as_object_mut() else { return };
    let Some(Value::Object(strings)) = o.remove("stringData") else {
        return;
    };
    let data = o.entry("data").or_insert_with(|| json!({}));
    if let Some(d) = data.as_object_mut() {
        for (k, v) in strings {
            d.insert(k, json!(base64(v.as_str().unwrap_or_default().as_bytes())));
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn namespace_object(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {
            "name": name, "uid": format!("uid-namespace-{name}"), "resourceVersion": "1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

/// A running server; stops when dropped.
pub struct Server {
    pub api: FakeApi,
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// A kubeconfig pointing at this server (context "fake", with a dummy token so that kubectl
    /// does not prompt).
    pub fn kubeconfig(&self, namespace: Option<&str>) -> String {
        let ns = namespace
            .map(|n| format!("\n    namespace: {n}"))
            .unwrap_or_default();
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {url}
contexts:
- name: fake
  context:
    cluster: fake
    user: tester{ns}
current-context: fake
users:
- name: tester
  user:
    token: fake-token
",
            url = self.url
        )
    }

    pub fn requests(&self) -> Vec<Request> {
        self.api.requests()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn json_response(code: StatusCode, body: Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body.to_string()),
    )
        .into_response()
}

/// A `Status` error as the API server sends it.
fn status(code: u16, reason: &str, message: String, details: Value) -> Response {
    json_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason,
            "details": details, "code": code,
        }),
    )
}

/// What a resource path asks for.
#[derive(Debug)]
struct Target {
    res: &'static Resource,
    namespace: Option<String>,
    name: Option<String>,
    /// "log" for pods/NAME/log.
    subresource: Option<String>,
}

fn parse_target(
    catalogue: &[&'static Resource],
    segments: &[&str],
) -> Option<Result<Target, Response>> {
    let (group, version, rest) = match segments {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let mut subresource = None;
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [
            "namespaces",
            ns,
            "pods",
            name,
            sub @ ("log" | "ephemeralcontainers"),
        ] if group.is_empty() => {
            subresource = Some((*sub).to_string());
            (Some(*ns), "pods", Some(*name))
        }
        ["namespaces", name] if group.is_empty() => (None, "namespaces", Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return Some(Err(not_found_path())),
    };
    let Some(res) = resources::by_plural(catalogue, group, version, plural) else {
        return Some(Err(not_found_path()));
    };
    if namespace.is_some() && !res.namespaced {
        return Some(Err(not_found_path()));
    }
    Some(Ok(Target {
        res,
        namespace: namespace.map(Into::into),
        name: name.map(Into::into),
        subresource,
    }))
}

fn not_found_path() -> Response {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource".into(),
        json!({}),
    )
}

async fn handle(
    State(api): State<FakeApi>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    api.shared.log.lock().unwrap().push(Request {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        at: api.shared.started.elapsed(),
        authorization: header("authorization"),
        impersonate_user: header("impersonate-user"),
    });
    let latency = api.shared.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let failing = api
        .shared
        .failing
        .read()
        .unwrap()
        .iter()
        .find(|(path, _)| uri.path() == path)
        .map(|(_, code)| *code)
        .or_else(|| {
            let mut later = api.shared.failing_later.lock().unwrap();
            let at = later.iter().position(|(p, _, _)| uri.path() == p)?;
            if later[at].2 == 0 {
                return Some(later.remove(at).1);
            }
            later[at].2 -= 1;
            None
        });
    if let Some(code) = failing {
        let mut r = status(
            code,
            "InternalError",
            "an error on the server has prevented the request from succeeding".into(),
            json!({}),
        );
        // kube-apiserver's flow control answers 429 with "Retry-After: 1" (as 503s of a
        // server starting up do).
        if matches!(code, 429 | 503) {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        return r;
    }
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    if let Some(r) = discovery(&api, &segments) {
        return r;
    }
    let target = match parse_target(&api.catalogue(), &segments) {
        None => return not_found_path(),
        Some(Err(r)) => return r,
        Some(Ok(t)) => t,
    };
    match (&method, &target.name, &target.subresource) {
        (&Method::GET, _, _) => {}
        (&Method::POST, None, None) => {
            let created = create(&api, &target, &body);
            let after = api.shared.create_latency_ms.load(Ordering::SeqCst);
            if after > 0 {
                tokio::time::sleep(Duration::from_millis(after)).await;
            }
            return created;
        }
        (&Method::DELETE, Some(name), None) => return delete(&api, &target, name, &query, &body),
        (&Method::PATCH, Some(name), Some(sub)) if sub == "ephemeralcontainers" => {
            return add_ephemeral(&api, &target, name, &body);
        }
        _ => {
            return status(
                405,
                "MethodNotAllowed",
                format!("{method} is not supported by the fake API server"),
                json!({}),
            );
        }
    }
    if let (Some(name), Some(sub)) = (&target.name, &target.subresource) {
        if sub == "log" {
            return logs(&api, &target, name, &query);
        }
        return get(&api, &target, name);
    }
    if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return status(
            405,
            "MethodNotAllowed",
            "watch is not supported by the fake API server".into(),
            json!({}),
        );
    }
    let verb = if target.name.is_some() { "get" } else { "list" };
    if let Some(r) = forbidden(&api, verb, &target) {
        return r;
    }
    match &target.name {
        Some(name) => get(&api, &target, name),
        None => list(&api, &target, &query),
    }
}

fn forbidden(api: &FakeApi, verb: &str, t: &Target) -> Option<Response> {
    let rules = api.shared.forbidden.read().unwrap();
    let hit = rules.iter().any(|f| {
        f.verb == verb
            && f.resource == t.res.plural
            && (f.namespace.is_none() || f.namespace == t.namespace)
    });
    if !hit {
        return None;
    }
    let scope = match &t.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let message = format!(
        "{plural} is forbidden: User \"tester\" cannot {verb} resource \"{plural}\" in API group \"{group}\" {scope}",
        plural = t.res.plural,
        group = t.res.group,
    );
    Some(status(
        403,
        "Forbidden",
        message,
        json!({"kind": t.res.plural, "group": t.res.group}),
    ))
}

fn key_prefix(res: &Resource) -> String {
    format!("{}/{}", res.group_version(), res.plural)
}

fn get(api: &FakeApi, t: &Target, name: &str) -> Response {
    let key = (
        key_prefix(t.res),
        t.namespace.clone().unwrap_or_default(),
        name.to_string(),
    );
    match api.shared.objects.read().unwrap().get(&key) {
        Some(obj) => json_response(StatusCode::OK, obj.clone()),
        None => status(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", t.res.qualified()),
            json!({"name": name, "kind": t.res.plural, "group": t.res.group}),
        ),
    }
}

fn list(api: &FakeApi, t: &Target, query: &HashMap<String, String>) -> Response {
    let bad = |m: String| status(400, "BadRequest", m, json!({}));
    let labels =
        match LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or("")) {
            Ok(s) => s,
            Err(e) => return bad(e),
        };
    let fields = match FieldSelector::parse(
        query.get("fieldSelector").map(String::as_str).unwrap_or(""),
        t.res.fields,
    ) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let prefix = key_prefix(t.res);
    let objects = api.shared.objects.read().unwrap();
    let writes = api.shared.writes.load(Ordering::SeqCst);
    let list = (
        prefix.clone(),
        t.namespace.clone().unwrap_or_default(),
        query.get("labelSelector").cloned().unwrap_or_default(),
        query.get("fieldSelector").cloned().unwrap_or_default(),
    );
    let known = api
        .shared
        .lists
        .lock()
        .unwrap()
        .get(&list)
        .filter(|(at, _)| *at == writes)
        .map(|(_, keys)| keys.clone());
    let keys = known.unwrap_or_else(|| {
        // Keys sort by (resource, namespace, name): one resource's objects (of one namespace)
        // are a range.
        let from = (list.0.clone(), list.1.clone(), String::new());
        let keys: Arc<Vec<Key>> = Arc::new(
            objects
                .range(from..)
                .take_while(|((p, ns, _), _)| {
                    *p == prefix && t.namespace.as_ref().is_none_or(|want| want == ns)
                })
                .filter(|(_, v)| {
                    labels.matches(v.pointer("/metadata/labels").and_then(Value::as_object))
                })
                .filter(|(_, v)| fields.matches(v))
                .map(|(k, _)| k.clone())
                .collect(),
        );
        api.shared
            .lists
            .lock()
            .unwrap()
            .insert(list, (writes, keys.clone()));
        keys
    });
    let total = keys.len();
    // "again-N": the N-th repetition of the first page (EndlessContinue::RepeatPages).
    let again: usize = query
        .get("continue")
        .and_then(|c| c.strip_prefix("again-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let offset: usize = match query.get("continue").filter(|c| !c.is_empty()) {
        None => 0,
        Some(_) if again > 0 => 0,
        Some(c) => match c.strip_prefix("offset-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return bad(format!("invalid continue token {c:?}")),
        },
    };
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let end = offset.saturating_add(limit).min(total);
    let page: Vec<Value> = keys[offset.min(end)..end]
        .iter()
        .filter_map(|k| objects.get(k))
        .map(|v| {
            // List items carry no kind/apiVersion on the wire.
            let mut v = (*v).clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("kind");
                o.remove("apiVersion");
            }
            v
        })
        .collect();
    let mut meta =
        json!({"resourceVersion": api.shared.resource_version.load(Ordering::SeqCst).to_string()});
    if end < total {
        meta["continue"] = json!(format!("offset-{end}"));
        meta["remainingItemCount"] = json!(total - end);
    }
    match api.shared.endless_continue.load(Ordering::SeqCst) {
        1 => meta["continue"] = json!("offset-0"),
        2 => {
            meta["continue"] = json!(format!(
                "offset-{}",
                offset.saturating_add(limit.min(1 << 20))
            ))
        }
        3 => {
            meta["continue"] = json!(format!("again-{}", again + 1));
            if let Some(m) = meta.as_object_mut() {
                m.remove("remainingItemCount");
            }
        }
        _ => {}
    }
    json_response(
        StatusCode::OK,
        json!({
            "kind": format!("{}List", t.res.kind),
            "apiVersion": t.res.group_version(),
            "metadata": meta,
            "items": page,
        }),
    )
}

fn resource_list(
    catalogue: &[&'static Resource],
    group_version: &str,
    group: &str,
    version: &str,
) -> Value {
    let resources: Vec<Value> = catalogue
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({
                "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["create", "delete", "get", "list"], "shortNames": r.short_names,
            })
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

fn api_group(group: &str, version: &str) -> Value {
    api_group_versions(group, &[version])
}

/// A group with every version it serves, the first preferred (a CRD serving two versions is one
/// group in discovery, as the real API server lists it).
fn api_group_versions(group: &str, versions: &[&str]) -> Value {
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
}

/// Discovery's groups: each once, with its versions in the order first served.
fn grouped(catalogue: &[&'static Resource]) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for (g, v) in resources::groups(catalogue) {
        match out.iter_mut().find(|(name, _)| *name == g) {
            Some((_, vs)) => vs.push(v),
            None => out.push((g, vec![v])),
        }
    }
    out
}

fn discovery(api: &FakeApi, segments: &[&str]) -> Option<Response> {
    let body = match segments {
        ["version"] => json!({
            "major": VERSION.0, "minor": VERSION.1, "gitVersion": format!("v{}.{}.0{}", VERSION.0, VERSION.1, api.shared.version_suffix.read().unwrap()),
            "gitCommit": "fake", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64",
        }),
        ["api"] => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
        }),
        ["apis"] => {
            let mut groups: Vec<Value> = grouped(&api.catalogue())
                .into_iter()
                .map(|(g, vs)| api_group_versions(g, &vs))
                .collect();
            for (g, v) in api.shared.extra_groups.read().unwrap().iter() {
                groups.push(api_group(g, v));
            }
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        ["api", "v1"] => resource_list(&api.catalogue(), "v1", "", "v1"),
        ["apis", g] => {
            let (g, vs) = grouped(&api.catalogue())
                .into_iter()
                .find(|(name, _)| name == g)?;
            let mut body = api_group_versions(g, &vs);
            body["kind"] = json!("APIGroup");
            body["apiVersion"] = json!("v1");
            body
        }
        ["apis", g, v] => {
            resources::groups(&api.catalogue())
                .into_iter()
                .find(|gv| gv == &(*g, *v))?;
            resource_list(&api.catalogue(), &format!("{g}/{v}"), g, v)
        }
        _ => return None,
    };
    Some(json_response(StatusCode::OK, body))
}

/// POST to a collection: the object as the server stores it (201), or a Status error.
fn create(api: &FakeApi, t: &Target, body: &[u8]) -> Response {
    if let Some(r) = forbidden(api, "create", t) {
        return r;
    }
    let bad = |m: String| status(400, "BadRequest", m, json!({}));
    let mut obj: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad(format!("the body is not JSON: {e}")),
    };
    if obj["kind"] != t.res.kind || obj["apiVersion"] != t.res.group_version() {
        return bad(format!(
            "the body is a {} {}, not a {} {}",
            obj["apiVersion"],
            obj["kind"],
            t.res.group_version(),
            t.res.kind
        ));
    }
    let namespace = t.namespace.clone().unwrap_or_default();
    let meta = &mut obj["metadata"];
    if let Some(ns) = meta["namespace"].as_str().filter(|ns| *ns != namespace) {
        return bad(format!(
            "the namespace of the provided object ({ns}) does not match the namespace sent on the request ({namespace})"
        ));
    }
    if meta["name"].as_str().unwrap_or_default().is_empty() {
        let Some(prefix) = meta["generateName"].as_str() else {
            return status(
                422,
                "Invalid",
                format!(
                    "{} is invalid: metadata.name: Required value: name or generateName is required",
                    t.res.kind
                ),
                json!({}),
            );
        };
        let n = api.shared.resource_version.load(Ordering::SeqCst);
        meta["name"] = json!(format!("{prefix}{}", suffix(n)));
    }
    if !namespace.is_empty() {
        meta["namespace"] = json!(namespace);
    }
    let name = meta["name"].as_str().unwrap_or_default().to_string();
    let key = (key_prefix(t.res), namespace.clone(), name.clone());
    if api.shared.objects.read().unwrap().contains_key(&key) {
        return status(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", t.res.qualified()),
            json!({"name": name, "kind": t.res.plural, "group": t.res.group}),
        );
    }
    if let Err(e) = api.insert(obj) {
        return bad(e);
    }
    let stored = api
        .shared
        .objects
        .read()
        .unwrap()
        .get(&key)
        .cloned()
        .unwrap_or_default();
    if t.res.kind == "Job" {
        start_job(api, &stored);
    }
    json_response(StatusCode::CREATED, stored)
}

/// Five characters from a number, as generated names end.
fn suffix(n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = n.wrapping_mul(2_654_435_761).wrapping_add(97);
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// The Job controller: one pod (or a FailedCreate event when PodSecurity refuses it), run by the
/// fake kubelet on a thread of its own.
fn start_job(api: &FakeApi, job: &Value) {
    if api.shared.no_job_controller.load(Ordering::SeqCst) {
        return;
    }
    let namespace = job["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let job_name = job["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let level = namespace_level(api, &namespace);
    let n = api.shared.resource_version.load(Ordering::SeqCst);
    let pod = kubelet::pod_for_job(job, &suffix(n + 7));
    let pod_name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let violations = kubelet::pod_security_violations(&level, &pod["spec"]);
    if !violations.is_empty() {
        let message = format!(
            "Error creating: pods \"{pod_name}\" is forbidden: violates PodSecurity \"{level}:latest\": {}",
            violations.join(", ")
        );
        let _ = api.insert(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{job_name}.{}", suffix(n + 13)), "namespace": namespace},
            "involvedObject": {"kind": "Job", "namespace": namespace, "name": job_name, "apiVersion": "batch/v1"},
            "reason": "FailedCreate", "message": message, "type": "Warning", "count": 1,
        }));
        return;
    }
    if api.insert(pod.clone()).is_err() {
        return;
    }
    let Some(kubelet) = api.shared.kubelet.read().unwrap().clone() else {
        return;
    };
    let api = api.clone();
    std::thread::spawn(move || {
        let run = kubelet(&pod);
        let (Some(mut pod), Some(mut job)) = (
            api.get("v1", "Pod", &namespace, &pod_name),
            api.get("batch/v1", "Job", &namespace, &job_name),
        ) else {
            return; // deleted while it ran
        };
        kubelet::finished(&mut pod, &mut job, &run);
        if let PodRun::Exited { logs, .. } = &run {
            api.shared.logs.write().unwrap().insert(
                (namespace.clone(), pod_name.clone(), "agent".into()),
                logs.clone(),
            );
        }
        let _ = api.insert(pod);
        let _ = api.insert(job);
    });
}

/// The namespace's enforced PodSecurity level ("privileged" when unlabelled).
fn namespace_level(api: &FakeApi, namespace: &str) -> String {
    api.get("v1", "Namespace", "", namespace)
        .and_then(|ns| {
            ns.pointer("/metadata/labels/pod-security.kubernetes.io~1enforce")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "privileged".into())
}

/// DELETE of one object. Owned objects go too under Background or Foreground propagation; a Job's
/// default is Orphan (its pods stay), as upstream keeps for compatibility.
fn delete(
    api: &FakeApi,
    t: &Target,
    name: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    if let Some(r) = forbidden(api, "delete", t) {
        return r;
    }
    let from_body = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|b| b["propagationPolicy"].as_str().map(str::to_string));
    let propagation = query
        .get("propagationPolicy")
        .cloned()
        .or(from_body)
        .unwrap_or_else(|| {
            if t.res.kind == "Job" {
                "Orphan".into()
            } else {
                "Background".into()
            }
        });
    let key = (
        key_prefix(t.res),
        t.namespace.clone().unwrap_or_default(),
        name.to_string(),
    );
    let mut objects = api.shared.objects.write().unwrap();
    api.shared.writes.fetch_add(1, Ordering::SeqCst);
    let Some(obj) = objects.remove(&key) else {
        return status(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", t.res.qualified()),
            json!({"name": name, "kind": t.res.plural, "group": t.res.group}),
        );
    };
    if propagation != "Orphan" {
        let uid = obj["metadata"]["uid"].clone();
        objects.retain(|_, o| {
            !o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
        });
    }
    json_response(
        StatusCode::OK,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "kind": t.res.plural, "group": t.res.group, "uid": obj["metadata"]["uid"]},
        }),
    )
}

/// GET pods/NAME/log: what the fake kubelet recorded.
/// A 403 for a pod subresource refused with [`FakeApi::forbid`] (e.g. "pods/log").
fn forbidden_subresource(
    api: &FakeApi,
    t: &Target,
    verb: &str,
    resource: &str,
    name: &str,
) -> Option<Response> {
    let rules = api.shared.forbidden.read().unwrap();
    let refused = rules.iter().any(|f| {
        f.verb == verb
            && f.resource == resource
            && (f.namespace.is_none() || f.namespace == t.namespace)
    });
    if !refused {
        return None;
    }
    let namespace = t.namespace.clone().unwrap_or_default();
    Some(status(
        403,
        "Forbidden",
        format!(
            "pods \"{name}\" is forbidden: User \"tester\" cannot {verb} resource \"{resource}\" in API group \"\" in the namespace \"{namespace}\""
        ),
        json!({"name": name, "kind": "pods"}),
    ))
}

/// PATCH pods/NAME/ephemeralcontainers (a strategic merge: containers are appended by name; an
/// existing one cannot change), then the runner runs the new ones.
fn add_ephemeral(api: &FakeApi, t: &Target, name: &str, body: &[u8]) -> Response {
    if let Some(r) = forbidden_subresource(api, t, "patch", "pods/ephemeralcontainers", name) {
        return r;
    }
    let namespace = t.namespace.clone().unwrap_or_default();
    let Some(mut pod) = api.get("v1", "Pod", &namespace, name) else {
        return status(
            404,
            "NotFound",
            format!("pods \"{name}\" not found"),
            json!({"name": name, "kind": "pods"}),
        );
    };
    let patch: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return status(
                400,
                "BadRequest",
                format!("the patch is not JSON: {e}"),
                json!({}),
            );
        }
    };
    let added: Vec<Value> = patch["spec"]["ephemeralContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // PodSecurity admission judges ephemeral containers too, on this subresource.
    let level = namespace_level(api, &namespace);
    let judged = json!({"securityContext": pod["spec"]["securityContext"], "containers": added});
    let violations = kubelet::pod_security_violations(&level, &judged);
    if !violations.is_empty() {
        return status(
            403,
            "Forbidden",
            format!(
                "pods \"{name}\" is forbidden: violates PodSecurity \"{level}:latest\": {}",
                violations.join(", ")
            ),
            json!({"name": name, "kind": "pods"}),
        );
    }
    let mut list = pod["spec"]["ephemeralContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut new = Vec::new();
    for c in added {
        match list.iter().find(|e| e["name"] == c["name"]) {
            Some(existing) if *existing == c => {}
            Some(_) => {
                return status(
                    422,
                    "Invalid",
                    format!(
                        "Pod \"{name}\" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers {} may not be changed",
                        c["name"]
                    ),
                    json!({}),
                );
            }
            None => {
                list.push(c.clone());
                new.push(c);
            }
        }
    }
    pod["spec"]["ephemeralContainers"] = json!(list);
    let _ = api.insert(pod.clone());
    let runner = api.shared.ephemeral.read().unwrap().clone();
    for container in new {
        let Some(runner) = runner.clone() else { break };
        let (api, pod, namespace, pod_name) = (
            api.clone(),
            pod.clone(),
            namespace.clone(),
            name.to_string(),
        );
        std::thread::spawn(move || {
            let container_name = container["name"].as_str().unwrap_or_default().to_string();
            let run = runner(&pod, &container);
            let Some(mut pod) = api.get("v1", "Pod", &namespace, &pod_name) else {
                return;
            };
            let state = match &run {
                PodRun::Exited { exit_code, .. } => {
                    json!({"terminated": {"exitCode": exit_code, "reason": if *exit_code == 0 { "Completed" } else { "Error" }}})
                }
                PodRun::Waiting { reason, message } => {
                    json!({"waiting": {"reason": reason, "message": message}})
                }
                PodRun::Hang | PodRun::Unschedulable { .. } => {
                    json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
                }
            };
            let mut statuses = pod["status"]["ephemeralContainerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            statuses.retain(|s| s["name"] != container_name.as_str());
            statuses.push(json!({"name": container_name, "ready": false, "restartCount": 0, "image": container["image"], "state": state}));
            pod["status"]["ephemeralContainerStatuses"] = json!(statuses);
            if let PodRun::Exited { logs, .. } = &run {
                api.shared.logs.write().unwrap().insert(
                    (namespace.clone(), pod_name.clone(), container_name),
                    logs.clone(),
                );
            }
            let _ = api.insert(pod);
        });
    }
    json_response(StatusCode::OK, pod)
}

fn logs(api: &FakeApi, t: &Target, name: &str, query: &HashMap<String, String>) -> Response {
    if let Some(r) = forbidden_subresource(api, t, "get", "pods/log", name) {
        return r;
    }
    let namespace = t.namespace.clone().unwrap_or_default();
    let Some(pod) = api.get("v1", "Pod", &namespace, name) else {
        return status(
            404,
            "NotFound",
            format!("pods \"{name}\" not found"),
            json!({"name": name, "kind": "pods"}),
        );
    };
    let first = pod["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap_or("agent")
        .to_string();
    let container = query.get("container").cloned().unwrap_or(first);
    let known = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .chain(pod["spec"]["ephemeralContainers"].as_array())
        .flatten()
        .any(|c| c["name"] == container.as_str());
    if !known {
        return status(
            400,
            "BadRequest",
            format!("container {container} is not valid for pod {name}"),
            json!({}),
        );
    }
    let key = (namespace, name.to_string(), container.clone());
    match api.shared.logs.read().unwrap().get(&key) {
        Some(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            Body::from(text.clone()),
        )
            .into_response(),
        None => {
            let reason = pod
                .pointer("/status/containerStatuses/0/state/waiting/reason")
                .and_then(Value::as_str)
                .unwrap_or("ContainerCreating");
            status(
                400,
                "BadRequest",
                format!(
                    "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
                ),
                json!({}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), enc);
        }
    }
}
