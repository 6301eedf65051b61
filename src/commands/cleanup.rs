//! `cleanup [-n NS | -A] [--all]`: delete probe Jobs whose deadline passed (or every one), and
//! pods a Job left behind.

use std::io::Write;
use std::process::ExitCode;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};

use crate::cli::CleanupArgs;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::probe::run::Prober;
use crate::probe::{DEADLINE_ANNOTATION, MANAGED_BY};
use crate::text;

/// `cleanup`: deletes probe Jobs (and pods a Job left behind) in scope whose deadline has passed
/// or that finished — or all of them with `--all`.
pub(crate) async fn run(settings: &Settings, args: &CleanupArgs) -> Result<ExitCode> {
    let live = crate::source::live::Live::connect(settings).await?;
    let ns = live.namespace(settings);
    let scope = Scope {
        prober: super::prober(&live),
        ns: (!args.all_namespaces).then_some(ns),
        selector: ListParams::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1)),
    };
    let (mut deleted, kept) = match scope.jobs(args.all).await {
        Ok(done) => done,
        Err(e) => {
            // A server that answers 404 to everything is no Kubernetes API: say so (as reach).
            live.confirm_api_server().await?;
            return Err(e);
        }
    };
    deleted.extend(scope.orphans().await?);
    let mut out = std::io::stdout().lock();
    for d in &deleted {
        writeln!(out, "deleted {}", text::sanitize(d))?;
    }
    if deleted.is_empty() {
        writeln!(out, "no leftover probes {}", scope.describe())?;
    }
    if kept > 0 {
        writeln!(
            out,
            "kept {kept} probe job(s) still within their deadline (another run may be using them; --all deletes them too)"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Where cleanup looks: a namespace, or every one (`ns: None`).
struct Scope {
    prober: Prober,
    ns: Option<String>,
    /// The probes' own label.
    selector: ListParams,
}

impl Scope {
    fn describe(&self) -> String {
        match &self.ns {
            Some(ns) => format!("in {ns}"),
            None => "cluster-wide".to_string(),
        }
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        let client = self.prober.client.clone();
        match &self.ns {
            Some(ns) => Api::namespaced(client, ns),
            None => Api::all(client),
        }
    }

    /// A refused request ends the run: "forbidden: needs list jobs in shop".
    fn refused(&self, what: &str, e: kube::Error) -> Error {
        match e {
            kube::Error::Api(s) if s.code == 403 => {
                Error::Unreachable(format!("forbidden: needs {what} {}", self.describe()))
            }
            kube::Error::Api(s) => Error::Unreachable(format!(
                "cannot {what}: {} ({})",
                text::sanitize(&s.message),
                s.code
            )),
            other => Error::Unreachable(format!(
                "cannot {what}: {}",
                text::sanitize(&other.to_string())
            )),
        }
    }

    /// Deletes the probe Jobs that finished or are past their deadline (every one with `all`):
    /// what was deleted, and how many were kept.
    async fn jobs(&self, all: bool) -> Result<(Vec<String>, usize)> {
        let now = k8s_openapi::jiff::Timestamp::now();
        let mut deleted = Vec::new();
        let mut kept = 0;
        let list = self
            .prober
            .bounded(self.api::<Job>().list(&self.selector))
            .await
            .map_err(|e| self.refused("list jobs", e))?;
        for job in list.items {
            let (Some(name), Some(job_ns)) =
                (job.metadata.name.clone(), job.metadata.namespace.clone())
            else {
                continue;
            };
            let finished = job
                .status
                .as_ref()
                .is_some_and(|s| s.succeeded.unwrap_or(0) + s.failed.unwrap_or(0) > 0);
            let expired = job
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEADLINE_ANNOTATION))
                .and_then(|d| d.parse::<k8s_openapi::jiff::Timestamp>().ok())
                .is_none_or(|deadline| deadline < now);
            if !(all || finished || expired) {
                kept += 1;
                continue;
            }
            let api: Api<Job> = Api::namespaced(self.prober.client.clone(), &job_ns);
            let gone = self
                .prober
                .delete_gone(api, &name, &DeleteParams::background())
                .await;
            if gone.map_err(|e| self.refused("delete jobs", e))? {
                deleted.push(format!("job/{name} -n {job_ns}"));
            }
        }
        Ok((deleted, kept))
    }

    /// Pods whose Job is gone (deleted without propagation) have no owner left to collect them.
    async fn orphans(&self) -> Result<Vec<String>> {
        let pods = self
            .prober
            .bounded(self.api::<Pod>().list(&self.selector))
            .await
            .map_err(|e| self.refused("list pods", e))?;
        // Without the Jobs every probe pod would look orphaned: a failed read stops here, and
        // nothing is deleted on a partial view.
        let live_jobs: Vec<String> = self
            .prober
            .bounded(self.api::<Job>().list(&self.selector))
            .await
            .map(|l| l.items.into_iter().filter_map(|j| j.metadata.uid).collect())
            .map_err(|e| self.refused("list jobs", e))?;
        let mut deleted = Vec::new();
        for pod in pods.items {
            let owned = pod
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| live_jobs.contains(&o.uid));
            let (false, Some(name), Some(pod_ns)) = (
                owned,
                pod.metadata.name.clone(),
                pod.metadata.namespace.clone(),
            ) else {
                continue;
            };
            let api: Api<Pod> = Api::namespaced(self.prober.client.clone(), &pod_ns);
            let gone = self
                .prober
                .delete_gone(api, &name, &DeleteParams::default())
                .await;
            if gone.map_err(|e| self.refused("delete pods", e))? {
                deleted.push(format!("pod/{name} -n {pod_ns}"));
            }
        }
        Ok(deleted)
    }
}
