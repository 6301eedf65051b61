//! `gateway NAME` and `route KIND/NAME`: start from a Gateway (or one route) and run the flow
//! of each Service its routes send to — their `gateway.routes` check judging the attachment —
//! as one report, with the findings about the Gateway or route itself (crate::gateway::lint).

use std::path::PathBuf;
use std::process::ExitCode;

use super::{flows_of, print_flows};
use crate::error::{Error, Result};
use crate::gateway::Route;
use crate::report::{API_VERSION, ScanReport, Summary};
use crate::source::live::Live;
use crate::source::manifests;
use crate::state::snapshot::{Snapshot, part};
use crate::state::{Fact, SourceKind};

/// What the command starts from.
pub(crate) enum Start {
    Gateway(String),
    Route { kind: &'static str, name: String },
}

/// Route kinds by the names kubectl accepts for them (singular and plural, any case).
const ROUTE_KINDS: [(&str, &str, &str); 5] = [
    ("HTTPRoute", "httproute", "httproutes"),
    ("GRPCRoute", "grpcroute", "grpcroutes"),
    ("TLSRoute", "tlsroute", "tlsroutes"),
    ("TCPRoute", "tcproute", "tcproutes"),
    ("UDPRoute", "udproute", "udproutes"),
];

impl Start {
    /// `NAME`, `gateway/NAME` or `gtw/NAME` (kubectl's short name for Gateways).
    pub(crate) fn gateway(arg: &str) -> Result<Start> {
        let name = ["gateway/", "gateways/", "gtw/"]
            .iter()
            .find_map(|p| arg.strip_prefix(p))
            .unwrap_or(arg);
        crate::config::validate_name("Gateway name", name)?;
        Ok(Start::Gateway(name.to_string()))
    }

    /// `KIND/NAME` (a route kind, singular or plural) or `NAME` (an HTTPRoute).
    pub(crate) fn route(arg: &str) -> Result<Start> {
        let (kind, name) = match arg.split_once('/') {
            None => ("HTTPRoute", arg),
            Some((k, name)) => {
                let lower = k.to_ascii_lowercase();
                let kind = ROUTE_KINDS
                    .iter()
                    .find(|(_, one, many)| lower == *one || lower == *many)
                    .map(|(kind, _, _)| *kind)
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "{}: the route's kind must be one of httproute, grpcroute, tlsroute, tcproute, udproute",
                            crate::text::sanitize(arg)
                        ))
                    })?;
                (kind, name)
            }
        };
        crate::config::validate_name(&format!("{kind} name"), name)?;
        Ok(Start::Route {
            kind,
            name: name.to_string(),
        })
    }

    /// "Gateway infra/public", "HTTPRoute shop/web".
    fn describe(&self, ns: &str) -> String {
        match self {
            Start::Gateway(name) => format!("Gateway {ns}/{name}"),
            Start::Route { kind, name } => format!("{kind} {ns}/{name}"),
        }
    }
}

/// The routes a start names: the Gateway's attached routes (any namespace), or the one route.
/// Not found: the names near it.
fn routes_of<'a>(snap: &'a Snapshot, ns: &str, start: &Start) -> Result<Vec<&'a Route>> {
    let g = &snap.gateway;
    let where_ = match snap.source {
        SourceKind::Live => "",
        SourceKind::Manifests => " in the manifests",
    };
    let missing = |kind: &str, name: &str, names: Vec<String>| {
        let near = crate::text::near_names(name, &names);
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", near.join(" or "))
        };
        Error::NotFound(crate::text::sanitize(&format!(
            "{kind} {ns}/{name} not found{where_}{hint}"
        )))
    };
    match start {
        Start::Gateway(name) => {
            let here = |gw: &&crate::gateway::Gateway| gw.namespace() == ns;
            if !g
                .gateways
                .iter()
                .filter(here)
                .any(|gw| gw.metadata.name.as_deref() == Some(name.as_str()))
            {
                let names = g
                    .gateways
                    .iter()
                    .filter(here)
                    .filter_map(|gw| gw.metadata.name.clone())
                    .collect();
                return Err(missing("Gateway", name, names));
            }
            let key = (ns.to_string(), name.clone());
            Ok(g.routes
                .iter()
                .filter(|r| crate::gateway::parent_gateways([*r]).contains(&key))
                .collect())
        }
        Start::Route { kind, name } => {
            let same = |r: &&Route| r.kind == *kind && r.namespace() == ns;
            match g
                .routes
                .iter()
                .filter(same)
                .find(|r| r.metadata.name.as_deref() == Some(name.as_str()))
            {
                Some(r) => Ok(vec![r]),
                None => {
                    let names = g
                        .routes
                        .iter()
                        .filter(same)
                        .filter_map(|r| r.metadata.name.clone())
                        .collect();
                    Err(missing(kind, name, names))
                }
            }
        }
    }
}

/// The Services the routes send to, (namespace, name), each once, in order.
fn backends(routes: &[&Route]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = routes
        .iter()
        .flat_map(|r| {
            r.spec
                .rules
                .iter()
                .flat_map(|rule| rule.backend_refs.iter())
                .filter(|b| b.is_service())
                .map(|b| {
                    (
                        b.namespace
                            .clone()
                            .unwrap_or_else(|| r.namespace().to_string()),
                        b.name.clone(),
                    )
                })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The findings about the start's own objects: the Gateway and its routes, or the route.
fn findings(
    snap: &Snapshot,
    ns: &str,
    start: &Start,
    routes: &[&Route],
) -> Vec<crate::report::Finding> {
    let mine = |f: &crate::report::Finding| {
        let Some(o) = &f.object else { return false };
        match start {
            Start::Gateway(name) => {
                (o.kind == "Gateway" && o.namespace.as_deref() == Some(ns) && o.name == *name)
                    || routes.iter().any(|r| {
                        r.kind == o.kind
                            && Some(r.namespace()) == o.namespace.as_deref()
                            && r.metadata.name.as_deref() == Some(o.name.as_str())
                    })
            }
            Start::Route { kind, name } => {
                o.kind == *kind && o.namespace.as_deref() == Some(ns) && o.name == *name
            }
        }
    };
    let mut found: Vec<crate::report::Finding> = crate::scan::gateway_findings(snap, None, true)
        .into_iter()
        .filter(|f| mine(f))
        .collect();
    crate::suppress::findings(&mut found, &|o| crate::suppress::meta_in_snapshot(snap, o));
    // Offline, where each finding's object is written (SARIF).
    for f in &mut found {
        f.origin =
            f.at.as_ref()
                .and_then(|at| snap.origins.get(&at.object).cloned());
    }
    found
}

/// `gateway NAME` / `route KIND/NAME`.
pub(crate) async fn run(
    settings: &crate::config::Settings,
    filenames: &[PathBuf],
    flow: &crate::cli::FlowArgs,
    start: Start,
) -> Result<ExitCode> {
    let (source, ns, snap, live) = if filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = live.namespace(settings);
        let snap = live.gateway_objects().await?;
        (SourceKind::Live, ns, snap, Some(live))
    } else {
        let loaded = manifests::load(filenames, settings.verbose > 0)?;
        let ns = crate::source::live::offline_namespace(settings);
        let snap = manifests::classify(&loaded, &ns)?;
        (SourceKind::Manifests, ns, snap, None)
    };
    match &snap.gateway.installed {
        Fact::Known(true) => {}
        Fact::Known(false) => {
            return Err(Error::NotFound(format!(
                "{} not found: the Gateway API is not installed (gateway.networking.k8s.io is not served)",
                crate::text::sanitize(&start.describe(&ns))
            )));
        }
        Fact::Unavailable(u) => {
            return Err(Error::Unreachable(format!(
                "cannot read the Gateway API: {}",
                u.reason()
            )));
        }
    }
    for p in [part::ROUTES, part::GATEWAYS] {
        if let Some(u) = snap.unavailable.get(p) {
            return Err(Error::Unreachable(format!(
                "cannot read the Gateway API: {}",
                u.reason()
            )));
        }
    }
    let routes = routes_of(&snap, &ns, &start)?;
    let services = backends(&routes);
    let findings = findings(&snap, &ns, &start, &routes);
    let (items, interrupted) = match &live {
        Some(live) => flows_of(settings, live, &services, flow).await?,
        None => (
            services
                .iter()
                .map(|(sns, svc)| crate::checks::diagnose(&snap.state_for_service(sns, svc, None)))
                .collect(),
            None,
        ),
    };
    let summary = Summary::of(&items);
    let report = ScanReport {
        api_version: API_VERSION,
        kind: "ScanReport",
        cluster: crate::report::live_cluster(source),
        source,
        scope: start.describe(&ns),
        items,
        findings,
        summary,
    };
    let code = print_flows(settings, report, &flow.gate, flow.show_skipped)?;
    Ok(interrupted.map_or(code, |s| ExitCode::from(s.exit_code())))
}
