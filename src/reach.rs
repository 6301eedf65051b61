//! `reach [-n NS | -A] [-f PATH]`: who can talk to whom. Every allowed workload → workload
//! connection with its protocols and port ranges, from the same policy engine as `netpol.allows`,
//! plus each workload's exposure as its policies state it (other namespaces by selector, addresses
//! outside the cluster by ipBlock). Pairs not listed are denied.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::ExitCode;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use crate::cli::{OutputFormat, ReachArgs};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::k8s;
use crate::netpol::{Direction, Namespaces, Party, PodInfo, PolicySet};
use crate::report::API_VERSION;
use crate::source::live::Live;
use crate::source::manifests;
use crate::state::{Fact, SourceKind};
use crate::text::sanitize;

/// What `reach` reads.
pub struct ReachInput {
    pub source: SourceKind,
    pub pods: Vec<Pod>,
    pub policies: Vec<NetworkPolicy>,
    pub namespaces: Fact<Vec<Namespace>>,
}

/// A workload: pods grouped by their owning controller, one representative for the policies.
struct Workload {
    kind: String,
    namespace: String,
    name: String,
    pods: usize,
    rep: PodInfo,
}

impl Workload {
    fn id(&self) -> String {
        format!(
            "{}/{}/{}",
            self.kind.to_lowercase(),
            self.namespace,
            self.name
        )
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Connection {
    from: String,
    to: String,
    /// "workload" (an exact pair) or "rule" (a policy's own peer, by selector or address).
    kind: &'static str,
    ports: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    undecided: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
}

/// The `reach` document (`-o json`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachReport {
    api_version: &'static str,
    kind: &'static str,
    source: SourceKind,
    scope: String,
    workloads: usize,
    connections: Vec<Connection>,
    notes: Vec<String>,
}

fn workloads(pods: &[Pod]) -> Vec<Workload> {
    let mut map: BTreeMap<(String, String, String), Workload> = BTreeMap::new();
    for pod in pods {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let (kind, name) = k8s::workload_of(pod)
            .unwrap_or_else(|| ("Pod".into(), k8s::name_of(&pod.metadata).to_string()));
        map.entry((ns.clone(), kind.clone(), name.clone()))
            .and_modify(|w| w.pods += 1)
            .or_insert_with(|| Workload {
                kind,
                namespace: ns,
                name,
                pods: 1,
                rep: PodInfo::from_pod(pod),
            });
    }
    map.into_values().collect()
}

/// Every connection in scope; public for the benchmark.
pub fn analyse(input: &ReachInput, all_namespaces: bool, scope: &str) -> Result<ReachReport> {
    let set = PolicySet::compile(&input.policies).map_err(|e| Error::Manifest(e.to_string()))?;
    let mut notes = Vec::new();
    let map = |list: &Vec<Namespace>| {
        list.iter()
            .filter_map(|n| {
                Some((
                    n.metadata.name.clone()?,
                    n.metadata.labels.clone().unwrap_or_default(),
                ))
            })
            .collect()
    };
    let nss = match &input.namespaces {
        Fact::Known(list) if input.source == SourceKind::Manifests => {
            Namespaces::partial(map(list))
        }
        Fact::Known(list) => Namespaces::complete(map(list)),
        Fact::Unavailable(u) => {
            notes.push(format!("namespace labels unknown ({}): namespaceSelectors on other labels answer \"unknown\"", u.reason()));
            Namespaces::partial(Default::default())
        }
    };
    let wl = workloads(&input.pods);
    let mut connections = Vec::new();
    let parties: Vec<Party> = wl.iter().map(|w| Party::Pod(w.rep.clone())).collect();
    let reps: Vec<PodInfo> = wl.iter().map(|w| w.rep.clone()).collect();
    let ids: Vec<String> = wl.iter().map(Workload::id).collect();
    let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, w) in wl.iter().enumerate() {
        by_namespace.entry(w.namespace.clone()).or_default().push(i);
    }
    for (j, dst) in wl.iter().enumerate() {
        // Only sources the destination's ingress rules could admit: the same answer as trying
        // every pair (allowed_ports decides each one), at a fraction of the cost.
        let sources: Vec<usize> = match set.possible_sources(&nss, &dst.rep, &reps, &by_namespace) {
            Some(mut s) => {
                if let Err(pos) = s.binary_search(&j) {
                    s.insert(pos, j);
                }
                s
            }
            None => (0..wl.len()).collect(),
        };
        for i in sources {
            // Pods of one workload talk to each other too: judge against a twin, not loopback.
            let twin;
            let dst_party = if i == j {
                twin = Party::Pod(PodInfo {
                    name: format!("{}~peer", dst.rep.name),
                    ..dst.rep.clone()
                });
                &twin
            } else {
                &parties[j]
            };
            let r = set.allowed_ports(&nss, &parties[i], dst_party);
            if r.allowed.is_empty() && r.undecided.is_empty() {
                continue;
            }
            connections.push(Connection {
                from: ids[i].clone(),
                to: ids[j].clone(),
                kind: "workload",
                ports: r.allowed.to_string(),
                undecided: if r.undecided.is_empty() {
                    String::new()
                } else {
                    r.undecided.to_string()
                },
                note: r.reasons.join("; "),
            });
        }
    }
    connections.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    for w in &wl {
        for (who, ports) in set.exposure(Direction::Ingress, &w.rep) {
            connections.push(Connection {
                from: who,
                to: w.id(),
                kind: "rule",
                ports: ports.to_string(),
                undecided: String::new(),
                note: String::new(),
            });
        }
        for (who, ports) in set.exposure(Direction::Egress, &w.rep) {
            connections.push(Connection {
                from: w.id(),
                to: who,
                kind: "rule",
                ports: ports.to_string(),
                undecided: String::new(),
                note: String::new(),
            });
        }
    }
    if wl.is_empty() {
        notes.push("no pods or workloads in scope".into());
    }
    let infos: Vec<PodInfo> = input.pods.iter().map(PodInfo::from_pod).collect();
    notes.extend(
        set.lint(&infos, &nss, all_namespaces)
            .into_iter()
            .map(|l| format!("warning: {l}")),
    );
    Ok(ReachReport {
        api_version: API_VERSION,
        kind: "ReachReport",
        source: input.source,
        scope: scope.to_string(),
        workloads: wl.len(),
        connections,
        notes,
    })
}

impl ReachReport {
    /// How many workloads were in scope.
    pub fn workloads(&self) -> usize {
        self.workloads
    }

    /// (workload pairs, exposure rows).
    pub fn counts(&self) -> (usize, usize) {
        let pairs = self
            .connections
            .iter()
            .filter(|c| c.kind == "workload")
            .count();
        (pairs, self.connections.len() - pairs)
    }
}

pub async fn run(settings: &Settings, args: &ReachArgs) -> Result<ExitCode> {
    let (input, scope) = if args.filenames.is_empty() {
        let live = Live::connect(settings).await?;
        let ns = settings
            .namespace
            .clone()
            .unwrap_or_else(|| live.default_namespace.clone());
        let scope = if args.all_namespaces { None } else { Some(ns) };
        let input = live.reach_input(scope.as_deref()).await?;
        (input, scope)
    } else {
        let loaded = manifests::load(&args.filenames, settings.verbose > 0)?;
        let scope = if args.all_namespaces {
            None
        } else {
            Some(crate::source::live::offline_namespace(settings))
        };
        let default_ns = scope
            .clone()
            .or_else(|| settings.namespace.clone())
            .unwrap_or_else(|| "default".into());
        (
            manifests::reach_input(&loaded, scope.as_deref(), &default_ns)?,
            scope,
        )
    };
    let all = scope.is_none();
    let scope = scope.map_or("all namespaces".to_string(), |n| format!("namespace {n}"));
    let report = analyse(&input, all, &scope)?;
    let mut out = std::io::stdout().lock();
    match settings.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
        OutputFormat::Csv => csv(&report, &mut out)?,
        _ => human(&report, &mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(r: &ReachReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "from,to,kind,ports,undecided,note")?;
    for c in &r.connections {
        let fields = [
            &c.from,
            &c.to,
            &c.kind.to_string(),
            &c.ports,
            &c.undecided,
            &c.note,
        ]
        .map(|f| csv_field(&sanitize(f)));
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
}

fn human(r: &ReachReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Who can talk to whom in {} ({} workloads). Pairs not listed are denied.",
        r.scope, r.workloads
    )?;
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["from", "to", "ports", "note"]);
    for c in r.connections.iter().filter(|c| c.kind == "workload") {
        let note = match (c.undecided.is_empty(), c.note.is_empty()) {
            (true, _) => String::new(),
            (false, _) => format!("undecided {}: {}", c.undecided, c.note),
        };
        table.add_row([
            sanitize(&c.from),
            sanitize(&c.to),
            c.ports.clone(),
            sanitize(&note),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "\nExposure as the policies state it (other namespaces, outside addresses):"
    )?;
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["from", "to", "ports"]);
    for c in r.connections.iter().filter(|c| c.kind == "rule") {
        table.add_row([sanitize(&c.from), sanitize(&c.to), c.ports.clone()]);
    }
    writeln!(out, "{table}")?;
    for n in &r.notes {
        writeln!(out, "note: {}", sanitize(n))?;
    }
    Ok(())
}
