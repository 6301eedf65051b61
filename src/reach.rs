//! `reach [-n NS | -A] [-f PATH]`: who can talk to whom. Every allowed workload → workload
//! connection with its protocols and port ranges, from the same policy engine as `netpol.allows`,
//! plus each workload's exposure as its policies state it (other namespaces by selector, addresses
//! outside the cluster by ipBlock). Pairs not listed are denied.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::ExitCode;

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

/// Pods the policies cannot tell apart, judged once: the same namespace, labels, declared ports
/// and hostNetwork, and — only where they can change a decision — the same node (when a
/// hostNetwork pod is in scope: own-node traffic) and the same side of every ipBlock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct ClassKey {
    namespace: String,
    labels: Vec<(String, String)>,
    ports: Vec<(String, u16, String)>,
    host_network: bool,
    node: Option<String>,
    /// Per ipBlock of the policies: 0 outside, 1 inside, 2 address unknown.
    ip_blocks: Vec<u8>,
}

/// A workload (kind in lower case, namespace, name).
type WorkloadId = (String, String, String);
/// A pod of a class: its workload and its name.
type Member = (WorkloadId, String);

/// One row's subject: a class of pods, named after what people know them by.
struct Class {
    name: String,
    rep: PodInfo,
    pods: usize,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    from: String,
    to: String,
    /// "workload" (pods of these two groups) or "rule" (a policy's own peer, by selector or
    /// address).
    kind: &'static str,
    ports: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    undecided: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
}

/// What is known before the first row: for headers and column widths.
pub struct Head {
    source: SourceKind,
    scope: String,
    /// Groups of pods the rows name (a workload, or the part of one that decisions set apart).
    groups: usize,
    workloads: usize,
    /// The longest group name, for aligned columns.
    name_width: usize,
}

/// Where rows go as they are decided: nothing holds the whole table.
pub trait Sink {
    fn begin(&mut self, head: &Head) -> std::io::Result<()>;
    fn connection(&mut self, c: &Connection) -> std::io::Result<()>;
    fn end(&mut self, notes: &[String]) -> std::io::Result<()>;
}

/// What one run found, for the benchmark and the exit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub groups: usize,
    pub workloads: usize,
    /// Rows between groups of pods.
    pub pairs: usize,
    /// Exposure rows (policies' own peers).
    pub rules: usize,
}

/// A sink that only counts (the benchmark's).
#[derive(Default)]
pub struct Discard;

impl Sink for Discard {
    fn begin(&mut self, _: &Head) -> std::io::Result<()> {
        Ok(())
    }
    fn connection(&mut self, _: &Connection) -> std::io::Result<()> {
        Ok(())
    }
    fn end(&mut self, _: &[String]) -> std::io::Result<()> {
        Ok(())
    }
}

/// Groups the pods in scope into classes, named by workload.
fn classes(pods: &[Pod], set: &PolicySet) -> (Vec<Class>, usize) {
    let live: Vec<&Pod> = pods
        .iter()
        .filter(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .collect();
    let infos: Vec<PodInfo> = live.iter().map(|p| PodInfo::from_pod(p)).collect();
    let any_host = infos.iter().any(|p| p.host_network);
    let blocks = set.ip_blocks();
    let key = |p: &PodInfo| ClassKey {
        namespace: p.namespace.clone(),
        labels: p.labels.clone().into_iter().collect(),
        ports: p
            .ports
            .iter()
            .map(|(n, num, proto)| (n.clone(), *num, proto.to_string()))
            .collect(),
        host_network: p.host_network,
        node: (any_host && (p.host_network || set.isolates(p, Direction::Ingress)))
            .then(|| p.node.clone())
            .flatten(),
        ip_blocks: blocks
            .iter()
            .map(|(cidr, except)| match p.ip {
                None => 2,
                Some(ip) => u8::from(cidr.contains(&ip) && !except.iter().any(|e| e.contains(&ip))),
            })
            .collect(),
    };
    // workload (kind, ns, name) → pods; class → (its pods' workloads and names).
    let mut totals: HashMap<WorkloadId, usize> = HashMap::new();
    let mut by_key: BTreeMap<ClassKey, (PodInfo, Vec<Member>)> = BTreeMap::new();
    for (pod, info) in live.iter().zip(infos) {
        let (kind, name) = k8s::workload_of(pod)
            .unwrap_or_else(|| ("Pod".into(), k8s::name_of(&pod.metadata).to_string()));
        let w = (kind.to_lowercase(), info.namespace.clone(), name);
        *totals.entry(w.clone()).or_default() += 1;
        let pod_name = info.name.clone();
        by_key
            .entry(key(&info))
            .or_insert_with(|| (info, Vec::new()))
            .1
            .push((w, pod_name));
    }
    let workloads = totals.len();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Class> = by_key
        .into_iter()
        .map(|(key, (rep, members))| {
            let first = &members[0].0;
            let one_workload = members.iter().all(|(w, _)| w == first);
            let id = format!("{}/{}/{}", first.0, first.1, first.2);
            let name = if one_workload && totals[first] == members.len() {
                id
            } else if one_workload {
                let part = match &key.node {
                    Some(n) => format!("on node {n}"),
                    None => pod_list(&members),
                };
                format!("{id} [{part}]")
            } else {
                format!(
                    "pods/{}/{{{}}} [{}]",
                    key.namespace,
                    crate::text::labels(&rep.labels),
                    pod_list(&members)
                )
            };
            Class {
                name,
                rep,
                pods: members.len(),
            }
        })
        .collect();
    // Names stay unique whatever the grouping produced.
    for c in &mut out {
        let n = names.entry(c.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            c.name = format!("{} #{n}", c.name);
        }
    }
    (out, workloads)
}

/// "pods a, b, c" or "12 pods: a, b, c, …".
fn pod_list(members: &[Member]) -> String {
    let names: Vec<&str> = members.iter().take(3).map(|(_, p)| p.as_str()).collect();
    if members.len() <= 3 {
        format!("pods {}", names.join(", "))
    } else {
        format!("{} pods: {}, …", members.len(), names.join(", "))
    }
}

/// Every connection in scope, written to `sink` as it is decided; public for the benchmark.
pub fn analyse(
    input: &ReachInput,
    all_namespaces: bool,
    scope: &str,
    sink: &mut dyn Sink,
) -> Result<Counts> {
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
    let (groups, workloads) = classes(&input.pods, &set);
    if groups.is_empty() {
        notes.push("no pods or workloads in scope".into());
    }
    let infos: Vec<PodInfo> = input.pods.iter().map(PodInfo::from_pod).collect();
    notes.extend(
        set.lint(&infos, &nss, all_namespaces)
            .into_iter()
            .map(|l| format!("warning: {l}")),
    );
    drop(infos);
    let mut counts = Counts {
        groups: groups.len(),
        workloads,
        ..Counts::default()
    };
    sink.begin(&Head {
        source: input.source,
        scope: scope.to_string(),
        groups: groups.len(),
        workloads,
        name_width: groups
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(4),
    })?;
    let reps: Vec<PodInfo> = groups.iter().map(|c| c.rep.clone()).collect();
    let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, c) in groups.iter().enumerate() {
        by_namespace
            .entry(c.rep.namespace.clone())
            .or_default()
            .push(i);
    }
    // Rows in a stable order: by source name, then destination name.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| groups[a].name.cmp(&groups[b].name));
    let mut rank = vec![0; groups.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    // Per destination, the sources its ingress rules could admit at all (`None`: any): pairs
    // outside are denied at ingress whatever else holds, so they are never decided one by one.
    let admissible: Vec<Option<Vec<usize>>> = groups
        .iter()
        .map(|dst| set.possible_sources(&nss, &dst.rep, &reps, &by_namespace))
        .collect();
    for &i in &order {
        let src = Party::Pod(groups[i].rep.clone());
        let mut row: Vec<(usize, Connection)> = Vec::new();
        for (j, dst) in groups.iter().enumerate() {
            // Pods of one group talk to each other: judged against a twin, never loopback. A
            // lone bare pod has no sibling to reach.
            if i == j && dst.pods == 1 && dst.name.starts_with("pod/") {
                continue;
            }
            if i != j
                && admissible[j]
                    .as_ref()
                    .is_some_and(|s| s.binary_search(&i).is_err())
            {
                continue;
            }
            let dst_party = if i == j {
                Party::Pod(PodInfo {
                    name: format!("{}~peer", dst.rep.name),
                    ..dst.rep.clone()
                })
            } else {
                Party::Pod(dst.rep.clone())
            };
            let r = set.allowed_ports(&nss, &src, &dst_party);
            if r.allowed.is_empty() && r.undecided.is_empty() {
                continue;
            }
            row.push((
                rank[j],
                Connection {
                    from: groups[i].name.clone(),
                    to: dst.name.clone(),
                    kind: "workload",
                    ports: r.allowed.to_string(),
                    undecided: if r.undecided.is_empty() {
                        String::new()
                    } else {
                        r.undecided.to_string()
                    },
                    note: r.reasons.join("; "),
                },
            ));
        }
        row.sort_by_key(|(r, _)| *r);
        for (_, c) in row {
            counts.pairs += 1;
            sink.connection(&c)?;
        }
    }
    for &i in &order {
        let c = &groups[i];
        for (dir, (who, ports)) in set
            .exposure(Direction::Ingress, &c.rep)
            .into_iter()
            .map(|x| (Direction::Ingress, x))
            .chain(
                set.exposure(Direction::Egress, &c.rep)
                    .into_iter()
                    .map(|x| (Direction::Egress, x)),
            )
        {
            let (from, to) = match dir {
                Direction::Ingress => (who, c.name.clone()),
                Direction::Egress => (c.name.clone(), who),
            };
            counts.rules += 1;
            sink.connection(&Connection {
                from,
                to,
                kind: "rule",
                ports: ports.to_string(),
                undecided: String::new(),
                note: String::new(),
            })?;
        }
    }
    sink.end(&notes)?;
    Ok(counts)
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
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut sink: Box<dyn Sink> = match settings.output {
        OutputFormat::Json => Box::new(JsonSink { out, first: true }),
        OutputFormat::Csv => Box::new(CsvSink { out }),
        _ => Box::new(TableSink {
            out,
            width: 0,
            exposure: false,
        }),
    };
    analyse(&input, all, &scope, sink.as_mut())?;
    Ok(ExitCode::SUCCESS)
}

struct JsonSink<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> Sink for JsonSink<W> {
    fn begin(&mut self, h: &Head) -> std::io::Result<()> {
        let field = |v: &dyn erased::Json| v.json();
        writeln!(self.out, "{{")?;
        writeln!(self.out, "  \"apiVersion\": {},", field(&API_VERSION))?;
        writeln!(self.out, "  \"kind\": \"ReachReport\",")?;
        writeln!(self.out, "  \"source\": {},", field(&h.source))?;
        writeln!(self.out, "  \"scope\": {},", field(&h.scope))?;
        writeln!(self.out, "  \"workloads\": {},", h.workloads)?;
        writeln!(self.out, "  \"groups\": {},", h.groups)?;
        write!(self.out, "  \"connections\": [")
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        let sep = if std::mem::take(&mut self.first) {
            ""
        } else {
            ","
        };
        write!(self.out, "{sep}\n    ")?;
        serde_json::to_writer(&mut self.out, c).map_err(std::io::Error::other)
    }
    fn end(&mut self, notes: &[String]) -> std::io::Result<()> {
        let close = if self.first { "]" } else { "\n  ]" };
        writeln!(self.out, "{close},")?;
        write!(self.out, "  \"notes\": ")?;
        serde_json::to_writer(&mut self.out, notes).map_err(std::io::Error::other)?;
        writeln!(self.out, "\n}}")?;
        self.out.flush()
    }
}

/// Serialises one value as JSON text (for the document's head).
mod erased {
    pub(super) trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "null".into())
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

struct CsvSink<W: Write> {
    out: W,
}

impl<W: Write> Sink for CsvSink<W> {
    fn begin(&mut self, _: &Head) -> std::io::Result<()> {
        writeln!(self.out, "from,to,kind,ports,undecided,note")
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        let fields = [
            &c.from,
            &c.to,
            &c.kind.to_string(),
            &c.ports,
            &c.undecided,
            &c.note,
        ]
        .map(|f| csv_field(&sanitize(f)));
        writeln!(self.out, "{}", fields.join(","))
    }
    fn end(&mut self, _: &[String]) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Aligned columns, streamed: the group names are known before the first row, so their width is.
struct TableSink<W: Write> {
    out: W,
    width: usize,
    exposure: bool,
}

impl<W: Write> TableSink<W> {
    fn row(&mut self, a: &str, b: &str, rest: &str) -> std::io::Result<()> {
        let line = format!(
            "{:<w$}  {:<w$}  {rest}",
            sanitize(a),
            sanitize(b),
            w = self.width
        );
        writeln!(self.out, "{}", line.trim_end())
    }
}

impl<W: Write> Sink for TableSink<W> {
    fn begin(&mut self, h: &Head) -> std::io::Result<()> {
        self.width = h.name_width.clamp(4, 60);
        writeln!(
            self.out,
            "Who can talk to whom in {} ({} in {}). Pairs not listed are denied.\n",
            h.scope,
            crate::text::plural(h.groups, "group"),
            crate::text::plural(h.workloads, "workload")
        )?;
        self.row("FROM", "TO", "PORTS")
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        if c.kind == "rule" {
            if !self.exposure {
                self.exposure = true;
                writeln!(
                    self.out,
                    "\nExposure as the policies state it (other namespaces, outside addresses):\n"
                )?;
                self.row("FROM", "TO", "PORTS")?;
            }
            return self.row(&c.from, &c.to, &c.ports);
        }
        let rest = if c.undecided.is_empty() {
            c.ports.clone()
        } else {
            format!(
                "{}  (undecided {}: {})",
                c.ports,
                c.undecided,
                sanitize(&c.note)
            )
        };
        self.row(&c.from, &c.to, &rest)
    }
    fn end(&mut self, notes: &[String]) -> std::io::Result<()> {
        if !notes.is_empty() {
            writeln!(self.out)?;
        }
        for n in notes {
            writeln!(self.out, "note: {}", sanitize(n))?;
        }
        self.out.flush()
    }
}
