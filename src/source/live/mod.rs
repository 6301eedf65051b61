//! The live source: reads what the Service flow needs from the API server in a few bounded rounds
//! of concurrent requests, with server-side selectors and paging. Never all pods of a cluster for
//! one Service: pods by the selector; the namespace's pods only when the selector matched nothing.
//! What it reads becomes a [`Snapshot`](crate::state::snapshot::Snapshot): the state judged is
//! derived from it as from manifests.

mod gateway;
mod retry;
mod scope;
mod service;
mod tiers;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use futures::future::join_all;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::de::DeserializeOwned;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::state::{Fact, Unavailable};
use crate::text;

/// Pods whose events and nodes are read when they are not ready, at most.
const EXPLAIN_PODS: usize = 10;
/// Page size for lists.
const PAGE: u32 = 500;
/// Page size for `scan`, which reads whole scopes: fewer round trips, as many objects.
const SCAN_PAGE: u32 = 2000;

/// Why a read failed: what a diagnosis needs to know of it, and the client's error when there is
/// one (kept for a fatal error's causes).
#[derive(Debug)]
enum ReadError {
    Forbidden,
    NotFound,
    /// The server was not reached or did not answer in time.
    Transport(String, Option<kube::Error>),
    Other(String),
}

/// A list followed page by page must end: a server (or a proxy in front of it) that repeats a
/// continue token, or hands out new ones with nothing in the pages, would be followed forever.
#[derive(Default)]
struct Paging {
    seen: std::collections::HashSet<String>,
    pages: usize,
    empty_in_a_row: usize,
    /// Every object's namespace/name so far: one list holds each object once.
    objects: std::collections::HashSet<(String, String)>,
    /// How many objects the first page said the list holds (its items and remainingItemCount).
    announced: Option<usize>,
}

/// More objects of one kind than any cluster holds: the scalability envelope is 150,000 pods.
const MAX_ITEMS: usize = 1_000_000;
/// The most objects a list makes room for on the first page's word: more than the largest
/// cluster holds of one kind (150,000 pods), less than a hostile count could make it reserve.
const MAX_RESERVED: usize = 200_000;
/// More pages than any cluster holds (at 500 a page: two million objects of one kind).
const MAX_PAGES: usize = 4_000;
/// The API server may answer a page with nothing in it (a selector matched nothing there), but
/// not many in a row.
const MAX_EMPTY_PAGES: usize = 16;

impl Paging {
    /// Accepts a page's objects, or says why the list cannot be trusted to end: an object sent
    /// twice (the same pages again under new tokens), or more objects than the first page
    /// announced — or than any list holds.
    fn items<K: kube::Resource>(
        &mut self,
        page: &[K],
        remaining: Option<i64>,
    ) -> std::result::Result<(), String> {
        if self.pages == 0 {
            self.announced = remaining
                .and_then(|r| usize::try_from(r).ok())
                .map(|r| r + page.len());
        }
        for item in page {
            let meta = item.meta();
            let key = (
                meta.namespace.clone().unwrap_or_default(),
                meta.name.clone().unwrap_or_default(),
            );
            if !self.objects.insert(key) {
                return Err(format!(
                    "the API server sent {} twice in one list: the list would never end",
                    text::sanitize(&format!(
                        "{}/{}",
                        meta.namespace.as_deref().unwrap_or_default(),
                        meta.name.as_deref().unwrap_or_default()
                    ))
                ));
            }
        }
        let count = self.objects.len();
        if let Some(n) = self.announced.filter(|n| count > n + PAGE as usize) {
            return Err(format!(
                "the API server sent {count} objects after announcing {n}: the list would never end"
            ));
        }
        if count > MAX_ITEMS {
            return Err(format!(
                "more than {MAX_ITEMS} objects in one list: stopped"
            ));
        }
        Ok(())
    }

    /// Accepts the next page's continue token, or says why the list cannot be trusted to end.
    fn next(&mut self, token: &str, empty: bool) -> std::result::Result<(), String> {
        self.pages += 1;
        if !self.seen.insert(token.to_string()) {
            return Err(format!(
                "the API server repeated a continue token after {} pages: the list would never end",
                self.pages
            ));
        }
        self.empty_in_a_row = if empty { self.empty_in_a_row + 1 } else { 0 };
        if self.empty_in_a_row >= MAX_EMPTY_PAGES {
            return Err(format!(
                "the API server answered {MAX_EMPTY_PAGES} empty pages in a row, each with a new continue token: the list would never end"
            ));
        }
        if self.pages >= MAX_PAGES {
            return Err(format!("more than {MAX_PAGES} pages: stopped"));
        }
        Ok(())
    }
}

impl ReadError {
    /// What `-v` says of a failed read: words, not a debug dump of the client's error.
    fn said(&self) -> String {
        match self {
            ReadError::Forbidden => "forbidden".into(),
            ReadError::NotFound => "not found".into(),
            ReadError::Transport(m, _) | ReadError::Other(m) => m.clone(),
        }
    }

    fn into_unavailable(
        self,
        verb: &'static str,
        resource: &'static str,
        namespace: Option<&str>,
    ) -> Unavailable {
        match self {
            ReadError::Forbidden => Unavailable::Forbidden {
                verb,
                resource,
                namespace: namespace.map(str::to_string),
            },
            ReadError::NotFound => Unavailable::Failed("not found".into()),
            ReadError::Transport(m, _) | ReadError::Other(m) => Unavailable::Failed(m),
        }
    }
}

/// The largest answer read from the API server, in bytes: a page of 500 objects is a few MiB, an
/// unpaged list of 10,000 pods about 50 MiB. A server that sends more (an endless chunked body)
/// is cut off here, not when memory runs out.
pub(crate) const MAX_RESPONSE: usize = 256 << 20;

/// Whether an error chain holds the response cap's error.
fn over_the_cap(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

fn classify(e: kube::Error) -> ReadError {
    if over_the_cap(&e) {
        return ReadError::Other(format!(
            "the API server's answer is larger than {} MiB, the cap for one response",
            MAX_RESPONSE >> 20
        ));
    }
    match e {
        kube::Error::Api(status) => match status.code {
            403 => ReadError::Forbidden,
            404 => ReadError::NotFound,
            429 => ReadError::Other("the API server is throttling (429 Too Many Requests)".into()),
            503 => {
                ReadError::Other("the API server is unavailable (503 Service Unavailable)".into())
            }
            code => ReadError::Other(format!("{} ({code})", text::sanitize(&status.message))),
        },
        kube::Error::HyperError(ref h) => ReadError::Transport(root_cause(h), Some(e)),
        kube::Error::Service(ref s) => ReadError::Transport(root_cause(s.as_ref()), Some(e)),
        other => ReadError::Other(root_cause(&other)),
    }
}

/// The innermost message of an error chain: "Connection refused (os error 111)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    text::sanitize(&cur.to_string())
}

/// A connected client and what the kubeconfig says.
pub(crate) struct Live {
    client: Client,
    server: String,
    timeout: Option<Duration>,
    verbose: bool,
    /// The context's namespace, or "default".
    default_namespace: String,
    /// Discovery's API groups (name, preferred version, every version), read once per run:
    /// the policy round and the Gateway round both ask.
    groups: tokio::sync::OnceCell<Fact<Vec<ApiGroup>>>,
    /// The cluster-wide policies, read once per run (every Service's flow shares them).
    tiers: tokio::sync::OnceCell<Fact<Vec<crate::netpol::TierPolicy>>>,
    /// The cluster DNS pods, read once per run (see `dns_pods`).
    dns_pods: tokio::sync::OnceCell<Fact<Vec<k8s_openapi::api::core::v1::Pod>>>,
}

/// An API group as discovery serves it.
#[derive(Clone, Debug)]
pub(crate) struct ApiGroup {
    pub name: String,
    pub preferred: String,
    pub versions: Vec<String>,
}

impl Live {
    /// Loads the kubeconfig (`--kubeconfig`, else KUBECONFIG's files merged, else ~/.kube/config,
    /// else the in-cluster service account) and builds a client. Errors are exit 3.
    pub(crate) async fn connect(settings: &Settings) -> Result<Live> {
        let options = KubeConfigOptions {
            context: settings.context.clone(),
            cluster: settings.auth.cluster.clone(),
            user: settings.auth.user.clone(),
        };
        let mut context = None;
        let mut config = match read_kubeconfig(settings)? {
            Some(k) => {
                named_entries_exist(&k, settings)?;
                context = settings
                    .context
                    .clone()
                    .or_else(|| k.current_context.clone());
                Config::from_custom_kubeconfig(k, &options)
                    .await
                    .map_err(|e| bad(&first_line(&e)))?
            }
            None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => Config::incluster()
                .map_err(|e| Error::Kubeconfig(format!("in-cluster config: {}", first_line(&e))))?,
            None => {
                return Err(Error::Kubeconfig(
                    "no kubeconfig: set KUBECONFIG or --kubeconfig, or use -f to diagnose manifests offline".into(),
                ));
            }
        };
        if let Some(t) = settings.request_timeout {
            // The client's own timeouts are a backstop: `bounded` cuts each request at exactly
            // --request-timeout, with one message.
            let backstop = t + Duration::from_secs(1);
            config.connect_timeout = Some(backstop);
            config.read_timeout = Some(backstop);
            config.write_timeout = Some(backstop);
        }
        apply_overrides(&mut config, &settings.auth)?;
        if config.proxy_url.is_some() && bypasses_proxy(&config.cluster_url) {
            config.proxy_url = None;
        }
        config.headers.push(user_agent());
        // kube's own retry of 429/503 resends without bound until --request-timeout, which then
        // says "did not answer" of a server that answered "too many requests" every time: ours
        // (retry::ServerAsks) honours a short Retry-After, as client-go does.
        config.default_retry = false;
        let token_from = if settings.auth.token.is_some() {
            TokenFrom::Flag
        } else if config.auth_info.exec.is_some() {
            TokenFrom::Exec
        } else {
            TokenFrom::Kubeconfig
        };
        super::exec::resolve(&mut config, settings.request_timeout).await?;
        let token_from = read_token_file(&mut config)?.unwrap_or(token_from);
        sendable_token(&config, token_from)?;
        let server = config.cluster_url.to_string();
        crate::connection::connected(settings, context, &server);
        let default_namespace = config.default_namespace.clone();
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| bad(&first_line(&e)))?
            // Retrying needs a service it can clone: kube's stack is boxed, the buffer shares it.
            .with_layer(&tower::buffer::BufferLayer::new(1024))
            .with_layer(&tower::retry::RetryLayer::new(retry::ServerAsks::default()))
            .with_layer(&tower::util::MapResponseLayer::new(
                |r: http::Response<Box<kube::client::DynBody>>| {
                    r.map(|b| http_body_util::Limited::new(b, MAX_RESPONSE))
                },
            ))
            .build();
        Ok(Live {
            client,
            server,
            timeout: settings.request_timeout,
            verbose: settings.verbose > 0,
            default_namespace,
            groups: tokio::sync::OnceCell::new(),
            tiers: tokio::sync::OnceCell::new(),
            dns_pods: tokio::sync::OnceCell::new(),
        })
    }

    /// Before saying an object is not found: a server that answers 404 to `/version` too is no
    /// Kubernetes API (a server URL with a wrong path prefix answers 404 to everything), and
    /// "not found" would be a false finding. Exit 3 naming the URL.
    pub(crate) async fn confirm_api_server(&self) -> Result<()> {
        match self
            .bounded("get /version".to_string(), self.client.apiserver_version())
            .await
        {
            Err(ReadError::NotFound) => Err(Error::Unreachable(format!(
                "{} is not a Kubernetes API server: /version answers 404 Not Found (check the server URL and its path in the kubeconfig)",
                text::sanitize(&self.server)
            ))),
            _ => Ok(()),
        }
    }

    /// The namespace a command works in: `-n`, else the context's (else "default").
    pub(crate) fn namespace(&self, settings: &Settings) -> String {
        settings
            .namespace
            .clone()
            .unwrap_or_else(|| self.default_namespace.clone())
    }

    /// The connection, for what writes to the cluster (the probe orchestrator).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// `--request-timeout`, `None` for no bound.
    pub(crate) fn request_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Whether `-v` asked for each request to be logged.
    pub(crate) fn verbose(&self) -> bool {
        self.verbose
    }

    /// One request, bounded by --request-timeout and logged under -v.
    async fn bounded<T, F>(&self, what: String, fut: F) -> std::result::Result<T, ReadError>
    where
        F: std::future::Future<Output = std::result::Result<T, kube::Error>>,
    {
        let start = Instant::now();
        let res = match self.timeout {
            Some(t) => match tokio::time::timeout(t, fut).await {
                Ok(r) => r.map_err(classify),
                Err(_) => Err(ReadError::Transport(
                    format!("no answer within {}", humantime(t)),
                    None,
                )),
            },
            None => fut.await.map_err(classify),
        };
        if self.verbose {
            let outcome = match &res {
                Ok(_) => "ok".to_string(),
                Err(e) => e.said(),
            };
            // What was read names the cluster's selectors and objects: sanitised like all output.
            eprintln!(
                "{}",
                text::sanitize(&format!(
                    "netdoctor: {what}: {outcome} in {} ms",
                    start.elapsed().as_millis()
                ))
            );
        }
        res
    }

    async fn list<K>(
        &self,
        api: Api<K>,
        what: String,
        lp: ListParams,
    ) -> std::result::Result<Vec<K>, ReadError>
    where
        K: Clone + DeserializeOwned + Debug + kube::Resource,
    {
        // A caller's own page size wins (scan asks for larger pages).
        let mut lp = if lp.limit.is_some() {
            lp
        } else {
            lp.limit(PAGE)
        };
        let mut items: Vec<K> = Vec::new();
        let mut paging = Paging::default();
        loop {
            let page = self.bounded(what.clone(), api.list(&lp)).await?;
            let empty = page.items.is_empty();
            paging
                .items(&page.items, page.metadata.remaining_item_count)
                .map_err(|why| ReadError::Other(format!("{what}: {why}")))?;
            if items.is_empty() {
                // Room for what the first page announces, once: growing by doubling would copy
                // a list of 150,000 pods several times and hold twice its size at the end.
                let announced = page.metadata.remaining_item_count.unwrap_or(0);
                let room = usize::try_from(announced).unwrap_or(0).min(MAX_RESERVED);
                items.reserve_exact(page.items.len() + room);
            }
            items.extend(page.items.into_iter().map(slim));
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => {
                    paging
                        .next(&token, empty)
                        .map_err(|why| ReadError::Other(format!("{what}: {why}")))?;
                    lp = lp.continue_token(&token);
                }
                _ => return Ok(items),
            }
        }
    }

    fn fact<T>(
        &self,
        res: std::result::Result<T, ReadError>,
        verb: &'static str,
        resource: &'static str,
        ns: Option<&str>,
    ) -> Fact<T> {
        match res {
            Ok(v) => Fact::Known(v),
            Err(e) => Fact::Unavailable(e.into_unavailable(verb, resource, ns)),
        }
    }
}

/// An object as the checks read it: without what only its writers need — `managedFields` (the
/// server-side apply record, a tree of every field's owner: often larger than the rest of the
/// object) and kubectl's `last-applied-configuration` annotation (a copy of the whole object as
/// applied). Both are dropped as each page arrives, so a list of 150,000 pods holds neither.
fn slim<K: kube::Resource>(mut object: K) -> K {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    object
}

/// StatefulSets whose pods take a new template only when deleted: (namespace, name).
fn on_delete(statefulsets: &[k8s_openapi::api::apps::v1::StatefulSet]) -> Vec<(String, String)> {
    statefulsets
        .iter()
        .filter(|st| {
            let strategy = st.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
            strategy.and_then(|u| u.type_.as_deref()) == Some("OnDelete")
        })
        .map(|st| {
            (
                st.metadata.namespace.clone().unwrap_or_default(),
                st.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Deployments and StatefulSets asking for zero replicas: (kind, namespace, name, template labels).
fn zero_replica_workloads(
    deployments: Vec<k8s_openapi::api::apps::v1::Deployment>,
    statefulsets: Vec<k8s_openapi::api::apps::v1::StatefulSet>,
) -> Vec<(String, String, String, BTreeMap<String, String>)> {
    // (kind, metadata, replicas, the pod template's labels)
    let zero = |kind: &str,
                meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                replicas: Option<i32>,
                template: k8s_openapi::api::core::v1::PodTemplateSpec| {
        (replicas == Some(0)).then(|| {
            let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
            (
                kind.to_string(),
                meta.namespace.unwrap_or_default(),
                meta.name.unwrap_or_default(),
                labels,
            )
        })
    };
    let deployments = deployments.into_iter().filter_map(|d| {
        let spec = d.spec?;
        zero("Deployment", d.metadata, spec.replicas, spec.template)
    });
    let statefulsets = statefulsets.into_iter().filter_map(|st| {
        let spec = st.spec?;
        zero("StatefulSet", st.metadata, spec.replicas, spec.template)
    });
    deployments.chain(statefulsets).collect()
}

/// "invalid kubeconfig: why" (exit 3).
fn bad(e: &dyn std::fmt::Display) -> Error {
    Error::Kubeconfig(text::sanitize(&format!("invalid kubeconfig: {e}")))
}

/// The kubeconfig as kubectl finds it: `--kubeconfig`, else KUBECONFIG's files merged, else
/// ~/.kube/config; `None` when there is none.
pub(crate) fn read_kubeconfig(settings: &Settings) -> Result<Option<Kubeconfig>> {
    if let Some(path) = &settings.kubeconfig {
        return Kubeconfig::read_from(path).map(Some).map_err(|e| {
            Error::Kubeconfig(text::sanitize(&format!(
                "cannot read kubeconfig {}: {}",
                path.display(),
                first_line(&e)
            )))
        });
    }
    match kubeconfig_from_env() {
        Ok(Some(k)) => Ok(Some(k)),
        Ok(None) => default_kubeconfig()
            .transpose()
            .map_err(|e| bad(&first_line(&e))),
        Err(e) => Err(Error::Kubeconfig(text::sanitize(&format!(
            "cannot read KUBECONFIG: {e}"
        )))),
    }
}

/// The files KUBECONFIG lists, merged as kubectl merges them (the first to set a value wins).
/// A listed file that does not exist is skipped, as kubectl's loading rules skip it; one that
/// exists but cannot be read or parsed is an error. `None` when KUBECONFIG is unset or empty.
fn kubeconfig_from_env() -> std::result::Result<Option<Kubeconfig>, String> {
    let Some(value) = std::env::var_os("KUBECONFIG") else {
        return Ok(None);
    };
    let listed: Vec<std::path::PathBuf> = std::env::split_paths(&value)
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    if listed.is_empty() {
        return Ok(None);
    }
    let present: Vec<&std::path::PathBuf> = listed.iter().filter(|p| p.exists()).collect();
    if present.is_empty() {
        let names: Vec<String> = listed.iter().map(|p| p.display().to_string()).collect();
        return Err(format!("none of its files exists ({})", names.join(", ")));
    }
    present
        .into_iter()
        .try_fold(Kubeconfig::default(), |merged, path| {
            Kubeconfig::read_from(path).and_then(|k| merged.merge(k))
        })
        .map(Some)
        .map_err(|e| first_line(&e))
}

/// --context, --user and --cluster must name entries the kubeconfig has.
fn named_entries_exist(k: &Kubeconfig, settings: &Settings) -> Result<()> {
    let names = |v: Vec<&String>| v.into_iter().cloned().collect::<Vec<String>>();
    for (what, wanted, known) in [
        (
            "context",
            &settings.context,
            names(k.contexts.iter().map(|c| &c.name).collect()),
        ),
        (
            "user",
            &settings.auth.user,
            names(k.auth_infos.iter().map(|u| &u.name).collect()),
        ),
        (
            "cluster",
            &settings.auth.cluster,
            names(k.clusters.iter().map(|c| &c.name).collect()),
        ),
    ] {
        if let Some(w) = wanted.as_ref().filter(|w| !known.contains(w)) {
            // A typo names the near ones; else the kubeconfig's own list (a screenful at most).
            let near = text::near_names(w, &known);
            let hint = if !near.is_empty() {
                format!("; did you mean {}?", near.join(" or "))
            } else if known.is_empty() {
                format!(" (it has no {what}s)")
            } else {
                format!(" (its {what}s: {})", text::some_of(&known, ", "))
            };
            return Err(Error::Kubeconfig(text::sanitize(&format!(
                "{what} {w:?} not found in kubeconfig{hint}"
            ))));
        }
    }
    Ok(())
}

fn default_kubeconfig() -> Option<std::result::Result<Kubeconfig, kube::config::KubeconfigError>> {
    let home = std::env::var_os("HOME")?;
    let path = std::path::Path::new(&home).join(".kube").join("config");
    path.exists().then(|| Kubeconfig::read_from(&path))
}

fn first_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl Live {
    /// What only the DNS infrastructure has: NodeLocal DNSCache (a DaemonSet answering on a
    /// link-local address) and the cluster domain (the CoreDNS Corefile). (kind, message) pairs.
    pub(crate) async fn dns_infra(&self, ns: &str) -> Vec<(&'static str, String)> {
        use k8s_openapi::api::apps::v1::DaemonSet;
        use k8s_openapi::api::core::v1::ConfigMap;
        let ds_api: Api<DaemonSet> = Api::namespaced(self.client.clone(), ns);
        let cm_api: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
        let (ds, cm) = tokio::join!(
            self.list(
                ds_api,
                format!("list daemonsets in {ns}"),
                ListParams::default()
            ),
            self.bounded(
                format!("get configmap {ns}/coredns"),
                cm_api.get_opt("coredns")
            ),
        );
        let mut out = Vec::new();
        match ds {
            Ok(list) => {
                let local: Vec<String> = list
                    .iter()
                    .filter(|d| {
                        d.metadata.name.as_deref().is_some_and(|n| {
                            n.contains("node-local-dns") || n.contains("nodelocaldns")
                        })
                    })
                    .map(|d| {
                        let ready = d.status.as_ref().map_or(0, |s| s.number_ready);
                        let want = d.status.as_ref().map_or(0, |s| s.desired_number_scheduled);
                        format!(
                            "{} ({ready}/{want} ready)",
                            d.metadata.name.clone().unwrap_or_default()
                        )
                    })
                    .collect();
                if local.is_empty() {
                    out.push((
                        "NodeLocalDNS",
                        "NodeLocal DNSCache not found: pods send DNS to the cluster DNS Service"
                            .to_string(),
                    ));
                } else {
                    out.push(("NodeLocalDNS", format!("NodeLocal DNSCache runs: {} — pods using it send DNS to a link-local address on their node (169.254.20.10 by default)", local.join(", "))));
                }
            }
            Err(e) => out.push((
                "Unreadable",
                format!(
                    "daemonsets: {}",
                    e.into_unavailable("list", "daemonsets", Some(ns)).reason()
                ),
            )),
        }
        match cm {
            Ok(Some(cm)) => match cm.data.as_ref().and_then(|d| d.get("Corefile")).and_then(|c| crate::k8s::cluster_domain(c)) {
                Some(domain) => out.push(("ClusterDomain", format!("cluster domain: {domain} (Services resolve as NAME.NAMESPACE.svc.{domain})"))),
                None => out.push(("ClusterDomain", "the CoreDNS Corefile names no kubernetes zone".to_string())),
            },
            Ok(None) => out.push(("ClusterDomain", format!("no ConfigMap {ns}/coredns: the cluster domain is not known (cluster.local is the default)"))),
            Err(e) => out.push(("Unreadable", format!("configmaps: {}", e.into_unavailable("get", "configmaps", Some(ns)).reason()))),
        }
        out
    }

    /// One Ingress by name (`ingress NAME`).
    pub(crate) async fn ingress(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<k8s_openapi::api::networking::v1::Ingress>> {
        let api: Api<k8s_openapi::api::networking::v1::Ingress> =
            Api::namespaced(self.client.clone(), ns);
        match self
            .bounded(format!("get ingress {ns}/{name}"), api.get_opt(name))
            .await
        {
            Ok(Some(i)) => Ok(Some(i)),
            Ok(None) => self.confirm_api_server().await.map(|()| None),
            Err(ReadError::Transport(m, e)) => Err(self.unreachable(&m, e)),
            Err(e) => Err(Error::Unreachable(format!(
                "cannot read the Ingress: {}",
                e.into_unavailable("get", "ingresses", Some(ns)).reason()
            ))),
        }
    }

    /// "; did you mean web?" for a `name` of kind `K` that does not exist in `ns`: the near names
    /// of one page of the namespace's objects (names only). Empty when none is near, or the list
    /// cannot be read (the not-found stands alone then).
    pub(crate) async fn did_you_mean<K>(&self, ns: &str, name: &str) -> String
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
        K::DynamicType: Default,
    {
        let Some(names) = self.names::<K>(ns).await else {
            return String::new();
        };
        let near = text::near_names(name, &names);
        if near.is_empty() {
            String::new()
        } else {
            text::sanitize(&format!("; did you mean {}?", near.join(" or ")))
        }
    }

    /// "NAMESPACE/NAME" of the Services in every namespace that carry `selector` (one page,
    /// metadata only); `None` when they cannot be read.
    pub(crate) async fn services_labelled(&self, selector: &str) -> Option<Vec<String>> {
        let api: Api<k8s_openapi::api::core::v1::Service> = Api::all(self.client.clone());
        let list = self
            .bounded(
                format!("list services -A -l {selector}"),
                api.list_metadata(&ListParams::default().labels(selector).limit(PAGE)),
            )
            .await
            .ok()?;
        Some(
            list.items
                .into_iter()
                .filter_map(|m| Some(format!("{}/{}", m.metadata.namespace?, m.metadata.name?)))
                .collect(),
        )
    }

    /// The names of one page of the `K` objects in `ns`: a metadata-only list. `None` when it
    /// cannot be read.
    pub(crate) async fn names<K>(&self, ns: &str) -> Option<Vec<String>>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
        K::DynamicType: Default,
    {
        self.names_from(Api::<K>::namespaced(self.client.clone(), ns), ns)
            .await
    }

    /// The names of one page of the cluster's `K` objects (namespaces): as [`Live::names`].
    pub(crate) async fn cluster_names<K>(&self) -> Option<Vec<String>>
    where
        K: kube::Resource<Scope = kube::core::ClusterResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
        K::DynamicType: Default,
    {
        self.names_from(Api::<K>::all(self.client.clone()), "the cluster")
            .await
    }

    async fn names_from<K>(&self, api: Api<K>, scope: &str) -> Option<Vec<String>>
    where
        K: kube::Resource + Clone + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        let plural = K::plural(&K::DynamicType::default()).to_string();
        let list = self
            .bounded(
                format!("list {plural} names in {scope}"),
                api.list_metadata(&ListParams::default().limit(PAGE)),
            )
            .await
            .ok()?;
        Some(
            list.items
                .into_iter()
                .filter_map(|m| m.metadata.name)
                .collect(),
        )
    }

    /// The cluster's DaemonSets (one page): the CNI is one of them.
    async fn daemonsets(&self) -> Fact<Vec<crate::state::Workload>> {
        let api: Api<k8s_openapi::api::apps::v1::DaemonSet> = Api::all(self.client.clone());
        let res = self
            .bounded(
                "list daemonsets -A".to_string(),
                api.list(&ListParams::default().limit(PAGE)),
            )
            .await;
        self.fact(
            res.map(|list| {
                list.items
                    .into_iter()
                    .map(|ds| crate::state::Workload {
                        namespace: ds.metadata.namespace.unwrap_or_default(),
                        name: ds.metadata.name.unwrap_or_default(),
                        containers: ds
                            .spec
                            .and_then(|s| s.template.spec)
                            .map(|s| {
                                s.containers
                                    .into_iter()
                                    .map(|c| {
                                        let mut words = vec![c.name];
                                        words.extend(c.args.unwrap_or_default());
                                        words.join(" ")
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            }),
            "list",
            "daemonsets",
            None,
        )
    }

    /// Policies of other engines found in discovery: named, not evaluated.
    async fn other_policies(
        &self,
        groups: &[(String, String)],
        namespaces: &[String],
    ) -> Vec<Fact<Vec<String>>> {
        use kube::api::{ApiResource, DynamicObject};
        use kube::core::GroupVersionKind;
        let mut reads = Vec::new();
        for (group, kind, plural, namespaced) in crate::cni::ENGINE_KINDS {
            let Some((_, version)) = groups.iter().find(|(g, _)| g == group) else {
                continue;
            };
            let ar = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(group, version, kind),
                plural,
            );
            let scopes: Vec<Option<&str>> = if *namespaced {
                namespaces.iter().map(|n| Some(n.as_str())).collect()
            } else {
                vec![None]
            };
            for scope in scopes {
                let api: Api<DynamicObject> = match scope {
                    Some(n) => Api::namespaced_with(self.client.clone(), n, &ar),
                    None => Api::all_with(self.client.clone(), &ar),
                };
                let what = format!(
                    "list {plural}.{group} {}",
                    scope.map_or("cluster-wide".to_string(), |n| format!("in {n}"))
                );
                reads.push(async move {
                    let res = self
                        .bounded(what, api.list(&ListParams::default().limit(PAGE)))
                        .await;
                    self.fact(
                        res.map(|l| {
                            l.items
                                .into_iter()
                                .map(|o| match &o.metadata.namespace {
                                    Some(n) => format!(
                                        "{kind} {n}/{}",
                                        o.metadata.name.clone().unwrap_or_default()
                                    ),
                                    None => format!(
                                        "{kind} {}",
                                        o.metadata.name.clone().unwrap_or_default()
                                    ),
                                })
                                .collect()
                        }),
                        "list",
                        plural,
                        scope,
                    )
                });
            }
        }
        join_all(reads).await
    }

    /// API groups from discovery, with their preferred versions (other policy engines announce
    /// themselves there).
    async fn policy_apis(&self) -> Fact<Vec<(String, String)>> {
        self.api_groups()
            .await
            .map_known(|gs| gs.into_iter().map(|g| (g.name, g.preferred)).collect())
    }

    /// Discovery's `/apis`, read once per run however many rounds ask.
    pub(super) async fn api_groups(&self) -> Fact<Vec<ApiGroup>> {
        self.groups
            .get_or_init(|| async {
                let res = self
                    .bounded("discovery /apis".to_string(), self.client.list_api_groups())
                    .await;
                match res {
                    Ok(list) => Fact::Known(
                        list.groups
                            .into_iter()
                            .map(|g| {
                                let versions: Vec<String> =
                                    g.versions.iter().map(|v| v.version.clone()).collect();
                                let preferred = g
                                    .preferred_version
                                    .map(|v| v.version)
                                    .or_else(|| versions.first().cloned())
                                    .unwrap_or_default();
                                ApiGroup {
                                    name: g.name,
                                    preferred,
                                    versions,
                                }
                            })
                            .collect(),
                    ),
                    Err(e) => {
                        Fact::Unavailable(e.into_unavailable("get", "/apis (discovery)", None))
                    }
                }
            })
            .await
            .clone()
    }
}

/// The namespace offline: `-n`, else the context's when a kubeconfig is readable, else "default"
/// (offline never requires a kubeconfig).
pub(crate) fn offline_namespace(settings: &Settings) -> String {
    settings
        .namespace
        .clone()
        .or_else(|| kubeconfig_namespace(settings))
        .unwrap_or_else(|| "default".to_string())
}

/// The context's namespace from the kubeconfig, when one is readable (offline mode's default).
pub(crate) fn kubeconfig_namespace(settings: &Settings) -> Option<String> {
    let k = match &settings.kubeconfig {
        Some(p) => Kubeconfig::read_from(p).ok()?,
        None => match kubeconfig_from_env() {
            Ok(Some(k)) => k,
            _ => default_kubeconfig()?.ok()?,
        },
    };
    let ctx_name = settings.context.clone().or(k.current_context.clone())?;
    k.contexts
        .iter()
        .find(|c| c.name == ctx_name)?
        .context
        .as_ref()?
        .namespace
        .clone()
}

/// kubectl's --server, --token, --as, --as-group, --certificate-authority and
/// --insecure-skip-tls-verify, over what the kubeconfig says (as kubectl applies them).
fn apply_overrides(config: &mut Config, o: &crate::config::AuthOverrides) -> Result<()> {
    // kubectl's rules (client-go's DirectClientConfig): both flags at once are refused; the
    // insecure flag alone drops the kubeconfig's CA; a kubeconfig cluster with both is invalid.
    const BOTH: &str = "specifying a root certificates file with the insecure flag is not allowed";
    if o.insecure_skip_tls_verify && o.certificate_authority.is_some() {
        return Err(Error::Usage(format!(
            "--certificate-authority with --insecure-skip-tls-verify: {BOTH}"
        )));
    }
    if !o.insecure_skip_tls_verify && config.accept_invalid_certs && config.root_cert.is_some() {
        return Err(Error::Kubeconfig(format!(
            "the kubeconfig's cluster sets insecure-skip-tls-verify and a certificate authority: {BOTH}"
        )));
    }
    if let Some(server) = &o.server {
        config.cluster_url = server.parse().map_err(|e| {
            Error::Usage(text::sanitize(&format!("invalid --server {server:?}: {e}")))
        })?;
    }
    if let Some(token) = &o.token {
        // A token given on the command line replaces every other credential, as in kubectl.
        config.auth_info.token = Some(token.clone().into());
        config.auth_info.exec = None;
        config.auth_info.token_file = None;
        config.auth_info.client_certificate_data = None;
        config.auth_info.client_certificate = None;
    }
    if let Some(user) = &o.impersonate {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !o.impersonate_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(o.impersonate_groups.clone());
    }
    if let Some(path) = &o.certificate_authority {
        let pem = std::fs::read(path).map_err(|e| {
            Error::Usage(format!(
                "cannot read --certificate-authority {}: {e}",
                path.display()
            ))
        })?;
        let certs: Vec<Vec<u8>> = x509_parser::pem::Pem::iter_from_buffer(&pem)
            .filter_map(|p| p.ok())
            .map(|p| p.contents)
            .collect();
        if certs.is_empty() {
            return Err(Error::Usage(format!(
                "--certificate-authority {} holds no PEM certificate",
                path.display()
            )));
        }
        config.root_cert = Some(certs);
    }
    if o.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
        config.root_cert = None;
    }
    Ok(())
}

/// Who is asking, as every request says it: the API server's audit log, its API Priority and
/// Fairness flow schemas and its logs name clients by User-Agent (kubectl sends
/// `kubectl/v1.x.y (linux/amd64) kubernetes/<commit>`; without one, the request is anonymous
/// there).
fn user_agent() -> (http::HeaderName, http::HeaderValue) {
    // Kubernetes names architectures as Go does.
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let value = format!(
        "kubectl-netdoctor/v{} ({}/{arch})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS
    );
    (
        http::header::USER_AGENT,
        http::HeaderValue::from_str(&value)
            .unwrap_or_else(|_| http::HeaderValue::from_static("kubectl-netdoctor")),
    )
}

/// Where the bearer token came from, for an error that says what to fix.
#[derive(Clone, Copy)]
enum TokenFrom {
    Flag,
    Exec,
    Kubeconfig,
    File,
}

/// A credential is small: more than this is not a token.
const TOKEN_FILE_CAP: u64 = 1 << 20;

/// Reads a `tokenFile` (and the in-cluster service-account token) once, as kubectl does: the
/// whitespace around it trimmed (a file written by `echo` ends in a newline), at most 1 MiB, a
/// regular file only (a FIFO or a device would block or never end).
fn read_token_file(config: &mut Config) -> Result<Option<TokenFrom>> {
    use std::io::Read;
    if config.auth_info.token.is_some() {
        return Ok(None);
    }
    let Some(path) = config.auth_info.token_file.take() else {
        return Ok(None);
    };
    let shown = text::sanitize(&path);
    let fail = |why: String| Error::Kubeconfig(format!("cannot read the tokenFile {shown}: {why}"));
    let file = std::fs::File::open(&path).map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    let mut bytes = Vec::new();
    file.take(TOKEN_FILE_CAP + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > TOKEN_FILE_CAP {
        return Err(fail("larger than 1 MiB: not a token".into()));
    }
    let token = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    config.auth_info.token = Some(token.trim().to_string().into());
    Ok(Some(TokenFrom::File))
}

/// A bearer token must fit in an HTTP header (no control characters: a newline would end the
/// header). The HTTP stack panics on one that does not; refuse it first, naming its source.
fn sendable_token(config: &Config, from: TokenFrom) -> Result<()> {
    use secrecy::ExposeSecret;
    let Some(token) = &config.auth_info.token else {
        return Ok(());
    };
    if http::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).is_ok() {
        return Ok(());
    }
    const WHY: &str =
        "holds a character an HTTP header cannot carry (a control character such as a newline)";
    Err(match from {
        TokenFrom::Flag => Error::Usage(format!("--token {WHY}")),
        TokenFrom::Exec => Error::Kubeconfig(format!(
            "the token the kubeconfig's credential plugin printed {WHY}"
        )),
        TokenFrom::Kubeconfig => Error::Kubeconfig(format!("the kubeconfig user's token {WHY}")),
        TokenFrom::File => Error::Kubeconfig(format!("the kubeconfig user's tokenFile {WHY}")),
    })
}

/// Whether NO_PROXY (or no_proxy) says to reach `server` directly, as kubectl (Go's
/// httpproxy) reads it: comma-separated entries; `*` is every host; an IP or a CIDR matches
/// addresses; a name matches itself and its subdomains (a leading dot, subdomains only); an
/// entry's `:port` must match the server's port.
fn bypasses_proxy(server: &http::Uri) -> bool {
    let Some(list) = ["NO_PROXY", "no_proxy"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    else {
        return false;
    };
    let host = server
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = server.port_u16().unwrap_or(match server.scheme_str() {
        Some("http") => 80,
        _ => 443,
    });
    let ip = host.parse::<std::net::IpAddr>().ok();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                return ip.is_some_and(|ip| net.contains(&ip));
            }
            if let Ok(addr) = entry
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
            {
                return ip == Some(addr);
            }
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((n, p)) => match p.parse::<u16>() {
                    Ok(p) => (n, Some(p)),
                    Err(_) => (entry, None),
                },
                None => (entry, None),
            };
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name.to_ascii_lowercase();
            match name.strip_prefix('.') {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => host == name || host.ends_with(&format!(".{name}")),
            }
        })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn listed_objects_drop_what_only_their_writers_need() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "web-1",
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Pod\"}",
                    "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS"
                },
                "managedFields": [{"manager": "kubelet", "operation": "Update", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:status": {"f:podIP": {}}}}]
            }
        }))
        .unwrap();
        let pod = super::slim(pod);
        assert_eq!(pod.metadata.managed_fields, None);
        // Annotations the checks read stay.
        let a = pod.metadata.annotations.unwrap();
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            ["nginx.ingress.kubernetes.io/backend-protocol"]
        );
    }
}
