//! `cleanup [-n NS | -A] [--all]`: delete probe Jobs whose deadline passed (or every one), and
//! pods a Job left behind.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};

use crate::probe::{DEADLINE_ANNOTATION, MANAGED_BY};
use crate::text;

/// `cleanup`: deletes probe Jobs (and pods a Job left behind) in scope whose deadline has passed
/// or that finished — or all of them with `--all`.
pub(crate) async fn run(
    settings: &crate::config::Settings,
    args: &crate::cli::CleanupArgs,
) -> crate::error::Result<std::process::ExitCode> {
    use crate::error::Error;
    let live = crate::source::live::Live::connect(settings).await?;
    let prober = super::prober(&live);
    let ns = live.namespace(settings);
    let (jobs, pods): (Api<Job>, Api<Pod>) = if args.all_namespaces {
        (
            Api::all(prober.client.clone()),
            Api::all(prober.client.clone()),
        )
    } else {
        (
            Api::namespaced(prober.client.clone(), &ns),
            Api::namespaced(prober.client.clone(), &ns),
        )
    };
    let scope = if args.all_namespaces {
        "cluster-wide".to_string()
    } else {
        format!("in {ns}")
    };
    let selector = ListParams::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
    let refused = |what: &str, e: kube::Error| match e {
        kube::Error::Api(s) if s.code == 403 => {
            Error::Unreachable(format!("forbidden: needs {what} {scope}"))
        }
        other => Error::Unreachable(format!(
            "cannot {what}: {}",
            text::sanitize(&other.to_string())
        )),
    };
    let now = k8s_openapi::jiff::Timestamp::now();
    let mut deleted = Vec::new();
    let mut kept = 0;
    let job_list = prober
        .bounded(jobs.list(&selector))
        .await
        .map_err(|e| refused("list jobs", e))?;
    for job in job_list.items {
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
        if !(args.all || finished || expired) {
            kept += 1;
            continue;
        }
        let api: Api<Job> = Api::namespaced(prober.client.clone(), &job_ns);
        let gone = prober
            .delete_gone(api, &name, &DeleteParams::background())
            .await;
        if gone.map_err(|e| refused("delete jobs", e))? {
            deleted.push(format!("job/{name} -n {job_ns}"));
        }
    }
    // Pods whose Job is gone (deleted without propagation) have no owner left to collect them.
    let pod_list = prober
        .bounded(pods.list(&selector))
        .await
        .map_err(|e| refused("list pods", e))?;
    let live_jobs: Vec<String> = prober
        .bounded(jobs.list(&selector))
        .await
        .map(|l| l.items.into_iter().filter_map(|j| j.metadata.uid).collect())
        .unwrap_or_default();
    for pod in pod_list.items {
        let owned = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| live_jobs.contains(&o.uid));
        if owned {
            continue;
        }
        let (Some(name), Some(pod_ns)) =
            (pod.metadata.name.clone(), pod.metadata.namespace.clone())
        else {
            continue;
        };
        let api: Api<Pod> = Api::namespaced(prober.client.clone(), &pod_ns);
        let gone = prober
            .delete_gone(api, &name, &DeleteParams::default())
            .await;
        if gone.map_err(|e| refused("delete pods", e))? {
            deleted.push(format!("pod/{name} -n {pod_ns}"));
        }
    }
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    for d in &deleted {
        writeln!(out, "deleted {}", text::sanitize(d))?;
    }
    if deleted.is_empty() {
        writeln!(out, "no leftover probes {scope}")?;
    }
    if kept > 0 {
        writeln!(
            out,
            "kept {kept} probe job(s) still within their deadline (another run may be using them; --all deletes them too)"
        )?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}
