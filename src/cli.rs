//! Command-line definitions (clap). Parsing only: [`crate::config`] turns these into a validated
//! configuration without any I/O, so `--help` works while a cluster is down.

// Doc comments here are --help text, where brackets are option syntax (`svc/NAME[:PORT]`), not
// links.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Why can't traffic reach my Service? Ordered checks, one verdict.
///
/// Walks a Service's traffic path in order, as an experienced engineer debugs it (Service →
/// EndpointSlices → Pods → ports), and stops at the first broken link with the evidence and the
/// exact fix. Works on a live cluster or, with -f, on manifests before they are deployed.
#[derive(Debug, Parser)]
#[command(name = "kubectl-netdoctor", bin_name = "kubectl netdoctor", version)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// kubectl's global flags, accepted before or after the subcommand.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH",
        value_hint = clap::ValueHint::FilePath
    )]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "NAME"
    )]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, else "default").
    #[arg(
        short = 'n',
        long,
        global = true,
        help_heading = "Global options",
        value_name = "NS"
    )]
    pub namespace: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, global = true, help_heading = "Global options", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Bound for each API request and for the whole gather, kubectl-style ("30s", "1m", "0" = none).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "DURATION",
        default_value = "30s"
    )]
    pub request_timeout: String,
    /// Never colour the output (also: NO_COLOR, TERM=dumb, or output not a terminal).
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_color: bool,
    /// Print each API request and its outcome to stderr; kubectl's log level is accepted as
    /// -v=N (any level above 0 logs requests).
    #[arg(
        short = 'v',
        long = "verbose",
        alias = "v",
        global = true, help_heading = "Global options",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "1",
        default_value = "0",
        value_name = "LEVEL",
        value_parser = clap::value_parser!(u8)
    )]
    pub verbose: u8,
    /// The kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub cluster: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub user: Option<String>,
    /// The API server's address, over the kubeconfig's.
    #[arg(
        short = 's',
        long,
        global = true,
        value_name = "URL",
        help_heading = "Connection"
    )]
    pub server: Option<String>,
    /// Bearer token for the API server.
    #[arg(long, global = true, value_name = "TOKEN", help_heading = "Connection")]
    pub token: Option<String>,
    /// Username to impersonate.
    #[arg(
        long = "as",
        global = true,
        value_name = "USER",
        help_heading = "Connection"
    )]
    pub impersonate: Option<String>,
    /// Group to impersonate (repeat for several).
    #[arg(
        long = "as-group",
        global = true,
        value_name = "GROUP",
        help_heading = "Connection"
    )]
    pub impersonate_groups: Vec<String>,
    /// A CA certificate file (PEM) to verify the API server with.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Connection",
        value_hint = clap::ValueHint::FilePath
    )]
    pub certificate_authority: Option<PathBuf>,
    /// Do not verify the API server's certificate (insecure).
    #[arg(long, global = true, help_heading = "Connection")]
    pub insecure_skip_tls_verify: bool,
}

pub(crate) use crate::config::OutputFormat;

/// Examples per command: the end of its `--help` and the EXAMPLES of its man page. A test parses
/// every one with the CLI definition.
pub(crate) const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "svc",
        &[
            (
                "On call: why can't traffic reach cart?",
                "kubectl netdoctor svc cart -n shop",
            ),
            (
                "Judge one real client's path, policies and packets",
                "kubectl netdoctor svc cart -n shop --from pod/frontend-7d9f-abcde",
            ),
            (
                "Before deploy, on rendered manifests",
                "kubectl netdoctor svc cart -n shop -f rendered/",
            ),
            (
                "API reads only, JSON for a ticket bot",
                "kubectl netdoctor svc cart -n shop --no-probe -o json",
            ),
        ],
    ),
    (
        "ingress",
        &[(
            "Every backend of an Ingress",
            "kubectl netdoctor ingress web -n shop",
        )],
    ),
    (
        "gateway",
        &[(
            "Every Service behind a Gateway's routes",
            "kubectl netdoctor gateway public -n infra",
        )],
    ),
    (
        "route",
        &[(
            "One HTTPRoute's backends, attachment included",
            "kubectl netdoctor route httproute/web -n shop",
        )],
    ),
    (
        "dns",
        &[(
            "Cluster DNS, resolved from your namespace",
            "kubectl netdoctor dns -n shop",
        )],
    ),
    (
        "scan",
        &[
            (
                "CI after deploy: a JUnit report, exit 1 on any failure",
                "kubectl netdoctor scan -n shop -o junit",
            ),
            (
                "CI before deploy, warnings fail too",
                "kubectl netdoctor scan -A -f rendered/ --strict",
            ),
            (
                "Known findings reported, never failing the run",
                "kubectl netdoctor scan -n shop --ignore ND6004,ND9001",
            ),
        ],
    ),
    (
        "path",
        &[(
            "Can frontend reach cart on 80?",
            "kubectl netdoctor path --from pod/frontend-7d9f-abcde --to svc/cart:80 -n shop",
        )],
    ),
    (
        "reach",
        &[(
            "Who talks to whom, as CSV",
            "kubectl netdoctor reach -n shop -o csv",
        )],
    ),
    (
        "diff",
        &[(
            "Before merging a policy change: what it breaks",
            "kubectl netdoctor diff -n shop -f new/ --base old/ --fail-on-loss",
        )],
    ),
    (
        "explain",
        &[
            ("The checks, in flow order", "kubectl netdoctor explain"),
            (
                "The runbook page of one check",
                "kubectl netdoctor explain ports.target",
            ),
        ],
    ),
    (
        "capture",
        &[(
            "20 s of a pod's port 8080 into a pcap file",
            "kubectl netdoctor capture web-7d9f-abcde -n shop -w web.pcap --filter 'tcp and port 8080' --duration 20s",
        )],
    ),
    (
        "cleanup",
        &[(
            "Leftover probe Jobs everywhere",
            "kubectl netdoctor cleanup -A",
        )],
    ),
];

/// What each exit code means (the end of the top-level help).
const EXIT_CODES: &str = "Exit codes: 0 healthy (warnings allowed unless --strict), 1 a check failed, \
2 usage error or malformed manifest, 3 diagnosis incomplete (API unreachable, forbidden read, bad \
kubeconfig), 129/130/143 interrupted (SIGHUP/SIGINT/SIGTERM).";

/// The examples of one command ("" for the top level: each command's first), as its help ends.
fn examples_text(command: &str) -> Option<String> {
    let list: Vec<(&str, &str)> = if command.is_empty() {
        EXAMPLES
            .iter()
            .filter_map(|(_, list)| list.first().copied())
            .collect()
    } else {
        let (_, list) = EXAMPLES.iter().find(|(c, _)| *c == command)?;
        list.to_vec()
    };
    let mut out = String::from("Examples:\n");
    for (what, line) in list {
        out.push_str(&format!("  # {what}\n  {line}\n\n"));
    }
    Some(out.trim_end().to_string())
}

/// Where a help text's examples go: clap wraps its help to the terminal, which would break an
/// example command across lines (two commands when pasted). The help is rendered with this mark,
/// and [`help_text`] puts the examples in its place, each on one line (the terminal wraps it).
const EXAMPLES_MARK: &str = "@examples@";

/// The help clap rendered (`-h`, `--help`, `help CMD`), with each example whole on its line.
pub(crate) fn help_text(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len() + 1024);
    let mut rest = rendered;
    while let Some(at) = rest.find(EXAMPLES_MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + EXAMPLES_MARK.len()..];
        let end = after.find('@').unwrap_or(0);
        out.push_str(&examples_text(&after[..end]).unwrap_or_default());
        rest = &after[(end + 1).min(after.len())..];
    }
    out.push_str(rest);
    out
}

/// The command line definition with every command's examples at the end of its help.
pub(crate) fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    // The top level ends as each command does: examples (each command's first, as the man page
    // lists them), then the exit codes.
    cmd = cmd.after_help(format!("{EXAMPLES_MARK}@\n\n{EXIT_CODES}"));
    // -o is global; each command has its own copy, which says the formats that command prints
    // (clap copies a global flag only into commands without one; the value still reaches the
    // global flag). A format the command does not print is refused with one line naming those
    // it does.
    let output = cmd
        .get_arguments()
        .find(|a| a.get_id() == "output")
        .cloned()
        .expect("the -o flag");
    for (name, _) in EXAMPLES {
        let formats: Vec<&str> = crate::config::output_formats(name)
            .iter()
            .map(|f| f.name())
            .collect();
        let output = output
            .clone()
            .global(false)
            .help(format!("Output format: {}", crate::text::either(&formats)))
            .hide_possible_values(true);
        cmd = cmd.mut_subcommand(*name, |s| {
            let mut s = s.arg(output);
            if *name == "path" {
                // path runs no checks: its probe sends the client's packets to the target.
                s = s.mut_arg("no_probe", |a| {
                    a.help("Decide from the NetworkPolicies only: create no probe pod (nothing is written)")
                });
            }
            s.after_help(format!("{EXAMPLES_MARK}{name}@"))
        });
    }
    cmd
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Diagnose one Service: the ordered flow (Service, endpoints, ports, then a probe pod's
    /// packets and DNS, Ingress, NetworkPolicy).
    #[command(visible_alias = "service")]
    Svc(SvcArgs),
    /// Start from an Ingress: each backend Service's flow (class, controller, TLS included).
    #[command(visible_alias = "ing")]
    Ingress(IngressArgs),
    /// Start from a Gateway (Gateway API): the flow of each Service its attached routes send to.
    #[command(visible_alias = "gw")]
    Gateway(GatewayArgs),
    /// Start from a Gateway API route (httproute/NAME, grpcroute/NAME, tlsroute/, tcproute/,
    /// udproute/; NAME alone is an HTTPRoute): each backend Service's flow.
    Route(RouteArgs),
    /// Cluster DNS health: the DNS Service's flow (a probe resolves through every replica from a
    /// client's namespace), its pods, NodeLocal DNSCache, the cluster domain.
    Dns(DnsArgs),
    /// Every Service in scope through the API-level checks, for CI (exit 1 on any failure).
    Scan(ScanArgs),
    /// Can this client reach that target? NetworkPolicy decisions both ways, per backend pod.
    Path(PathArgs),
    /// Who can talk to whom: every allowed workload → workload connection, with ports.
    Reach(ReachArgs),
    /// Print the runbook page of a check, or list the checks.
    Explain(ExplainArgs),
    /// Capture packets in a pod's network namespace into a pcap file (an ephemeral container).
    Capture(CaptureArgs),
    /// Delete leftover probe Jobs and pods (label app.kubernetes.io/managed-by=kubectl-netdoctor).
    Cleanup(CleanupArgs),
    /// What a change does before it is applied: connections lost and gained, Services whose
    /// verdict changes, new findings — the manifests against a base (other manifests, or live).
    Diff(DiffArgs),
    /// The in-pod probe program: connects to targets while capturing packets, prints one JSON
    /// line per target and a summary (schema: `explain pods.listening`).
    #[command(hide = true, args_override_self = true)]
    Agent(AgentArgs),
    /// Print a shell completion script (completions/).
    #[command(hide = true)]
    Completions {
        #[arg(value_enum)]
        shell: crate::generate::Shell,
    },
    /// Print the man page in roff (what man/ is generated from).
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Args)]
pub(crate) struct SvcArgs {
    /// The Service's name (also accepted as svc/NAME or service/NAME).
    pub name: String,
    /// Diagnose manifests instead of a live cluster: files, directories (recursively) or "-" for
    /// stdin; multi-document YAML, JSON, `kind: List`.
    #[arg(short = 'f', long = "filename", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub filenames: Vec<PathBuf>,
    #[command(flatten)]
    pub probe: ProbeArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// The client whose traffic to judge: pod/NAME (a real pod in the namespace; pod/NS/NAME
    /// elsewhere; offline also a workload's name), deploy/NAME, sts/NAME or ds/NAME (a ready pod
    /// of it, named in the report), or ns/NAMESPACE (a would-be client there, with --labels).
    /// Without it, policies are summarised for any source.
    #[arg(long, value_name = "pod/NAME|deploy/NAME|ns/NAMESPACE")]
    pub from: Option<String>,
    /// Labels of a would-be client (--from ns/NAMESPACE): k=v,k2=v2.
    #[arg(long, value_name = "K=V,...", requires = "from")]
    pub labels: Option<String>,
    /// Run the probe inside the --from pod, as an ephemeral container: its exact network identity
    /// (the container stays in the pod's spec; ephemeral containers cannot be removed).
    #[arg(long, requires = "from", conflicts_with_all = ["all_nodes", "nodes"])]
    pub inside: bool,
    /// When a backend refuses, read its socket table from inside it (an ephemeral container, which
    /// stays in the pod's spec): "127.0.0.1 only", "8081, not 8080", "UDP, not TCP".
    #[arg(long)]
    pub inspect: bool,
    #[command(flatten)]
    pub nodes: NodeArgs,
    /// Also write what the run saw to FILE (a .tar.gz): the report, the objects read (Secrets
    /// without data; env values and sensitive annotations redacted), the probe's agent lines,
    /// versions and timings. `svc NAME -f FILE` replays its API checks offline.
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub bundle: Option<PathBuf>,
    /// List every check skipped because an earlier one failed (by default one line says how many).
    #[arg(long)]
    pub show_skipped: bool,
    /// kubectl's -A: svc diagnoses one Service, so this only explains where to go (scan -A).
    #[arg(short = 'A', long = "all-namespaces", hide = true)]
    pub all_namespaces: bool,
}

/// Per-node probing: a probe pod pinned to each node.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// Probe from every node: a probe pod pinned to each (at most --max-nodes), and a node × path
    /// table naming the nodes where the pod IPs, the ClusterIP, a NodePort or DNS fail.
    #[arg(long, conflicts_with = "nodes")]
    pub all_nodes: bool,
    /// Probe from the nodes this label selector matches, as --all-nodes does from every node.
    #[arg(long = "nodes", value_name = "SELECTOR")]
    pub nodes: Option<String>,
    /// With --all-nodes or --nodes: at most this many probe pods; over it, the nodes hosting
    /// endpoints first, then a sample per zone (topology.kubernetes.io/zone).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=500))]
    pub max_nodes: u16,
    /// With --all-nodes or --nodes: probe tainted nodes too (the probe pods tolerate every taint,
    /// as a DaemonSet that runs everywhere does); by default they are listed as not probed.
    #[arg(long)]
    pub tolerate_taints: bool,
}

impl NodeArgs {
    /// The label selector of the nodes to probe (`""`: every node), or None without per-node
    /// probing.
    pub(crate) fn selector(&self) -> Option<&str> {
        if self.all_nodes {
            Some("")
        } else {
            self.nodes.as_deref()
        }
    }
}

/// How the probe pod runs (checks 5–7).
#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// API reads only: create no probe pod (checks 5–7 are skipped; nothing is written).
    #[arg(long)]
    pub no_probe: bool,
    /// The probe's image: a release pins the one it published by digest; mirror it for clusters
    /// that cannot pull from the internet (skopeo copy, then this flag or NETDOCTOR_PROBE_IMAGE).
    #[arg(
        long,
        value_name = "IMAGE",
        env = "NETDOCTOR_PROBE_IMAGE",
        default_value = crate::probe::job::DEFAULT_IMAGE
    )]
    pub probe_image: String,
    /// How long the probe may take, pod start included; its Job's deadline follows.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::config::parse_positive_duration)]
    pub probe_timeout: std::time::Duration,
    /// Also measure the path MTU to the Service's endpoints (UDP with don't-fragment, 1,280 bytes
    /// up to the interface's MTU): names a black hole where large packets vanish without an ICMP
    /// fragmentation-needed (overlay overhead). Not measured by `path`.
    #[arg(long)]
    pub mtu: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PathArgs {
    /// The client: pod/NAME, pod/NAMESPACE/NAME, or ns/NAMESPACE with --labels.
    #[arg(long, value_name = "pod/NAME|ns/NAMESPACE")]
    pub from: String,
    /// Labels of a would-be client (--from ns/NAMESPACE): k=v,k2=v2.
    #[arg(long, value_name = "K=V,...")]
    pub labels: Option<String>,
    /// The target: svc/NAME[:PORT] (every backend pod) or pod/NAME:PORT[/UDP].
    #[arg(long, value_name = "svc/NAME[:PORT]|pod/NAME:PORT")]
    pub to: String,
    /// Decide on manifests instead of a live cluster.
    #[arg(short = 'f', long = "filename", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub filenames: Vec<PathBuf>,
    /// With --from pod/NAME: probe from inside that pod (ephemeral container).
    #[arg(long)]
    pub inside: bool,
    #[command(flatten)]
    pub probe: ProbeArgs,
}

#[derive(Debug, Args)]
pub(crate) struct IngressArgs {
    /// The Ingress's name (also ing/NAME or ingress/NAME).
    pub name: String,
    /// Diagnose manifests instead of a live cluster.
    #[arg(short = 'f', long = "filename", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub filenames: Vec<PathBuf>,
    /// Each backend Service gets its own probe (checks 5–7).
    #[command(flatten)]
    pub flow: FlowArgs,
}

#[derive(Debug, Args)]
pub(crate) struct GatewayArgs {
    /// The Gateway's name (also gateway/NAME or gtw/NAME).
    pub name: String,
    /// Diagnose manifests instead of a live cluster.
    #[arg(short = 'f', long = "filename", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub filenames: Vec<PathBuf>,
    /// Each backend Service gets its own probe (checks 5–7).
    #[command(flatten)]
    pub flow: FlowArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RouteArgs {
    /// The route: KIND/NAME (httproute, grpcroute, tlsroute, tcproute, udproute; singular or
    /// plural), or NAME for an HTTPRoute.
    pub name: String,
    /// Diagnose manifests instead of a live cluster.
    #[arg(short = 'f', long = "filename", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub filenames: Vec<PathBuf>,
    /// Each backend Service gets its own probe (checks 5–7).
    #[command(flatten)]
    pub flow: FlowArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DnsArgs {
    /// The cluster DNS Service, NAMESPACE/NAME (kube-dns in kube-system by default).
    #[arg(long, value_name = "NS/NAME", default_value = "kube-system/kube-dns")]
    pub service: String,
    /// The probe resolves from -n's namespace (the context's by default), as a client there would.
    #[command(flatten)]
    pub flow: FlowArgs,
    /// Resolution from every node (or those --nodes selects): one probe pod pinned to each.
    #[command(flatten)]
    pub nodes: NodeArgs,
}

/// What fails a run, and which findings are ignored: CI's handles (svc, scan, ingress, dns).
#[derive(Debug, Args)]
pub(crate) struct GateArgs {
    /// Treat warnings as failures (exit 1): the same as --fail-on warn.
    #[arg(long, conflicts_with = "fail_on")]
    pub strict: bool,
    /// The lowest status that fails the run (exit 1): fail (the default) or warn.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub fail_on: Option<FailOn>,
    /// Finding codes to ignore, comma-separated or repeated (ND6004,ND9001): each is reported
    /// as suppressed, counted, and never fails the run. An object's annotation
    /// netdoctor.io/ignore: "ND6004 # why" does the same for the findings about it.
    #[arg(long, value_name = "CODES", value_delimiter = ',', value_parser = crate::codes::parse_code)]
    pub ignore: Vec<&'static str>,
}

impl GateArgs {
    /// Whether warnings fail the run.
    pub(crate) fn warnings_fail(&self) -> bool {
        self.strict || self.fail_on == Some(FailOn::Warn)
    }
}

/// `--fail-on`: the lowest status that fails a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    Fail,
    Warn,
}

/// What the commands that run Services' flows take besides their target: --strict, the probe's
/// flags, --show-skipped.
#[derive(Debug, Args)]
pub(crate) struct FlowArgs {
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// List every check skipped because an earlier one failed (by default one line says how many).
    #[arg(long)]
    pub show_skipped: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Every namespace (else -n, the context's namespace, or "default").
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only Services with these labels (kubectl's label selector).
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Scan manifests instead of a live cluster.
    #[arg(short = 'f', long = "filename", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub filenames: Vec<PathBuf>,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The change: manifests as they would be applied (files, directories, "-").
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true, value_hint = clap::ValueHint::AnyPath)]
    pub filenames: Vec<PathBuf>,
    /// What it is compared with: the manifests as they are now, or "live" for the cluster the
    /// kubeconfig names.
    #[arg(long, value_name = "PATH|live", required = true, value_hint = clap::ValueHint::AnyPath)]
    pub base: Vec<PathBuf>,
    /// Every namespace (else -n, the context's namespace, or "default").
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Exit 1 when something that worked stops working: a connection lost or narrowed, a
    /// Service whose verdict gets worse, a new finding (else the exit is 0).
    #[arg(long)]
    pub fail_on_loss: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReachArgs {
    /// Every namespace (else -n, the context's namespace, or "default").
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Read manifests instead of a live cluster.
    #[arg(short = 'f', long = "filename", value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub filenames: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// A check id such as `service.selector`, or its number in the flow (`2`); omitted: list every
    /// check.
    pub check: Option<String>,
    /// Print the page's Markdown as it is (also -o markdown), not rendered for the terminal.
    #[arg(long)]
    pub raw: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    /// Splits an example as a POSIX shell would (words, single quotes).
    fn words(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '\'' => quoted = !quoted,
                ' ' if !quoted => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            }
        }
        out.push(cur);
        out
    }

    // Every example a --help or man page shows is a command line the CLI accepts, for the
    // command it is listed under, with flags that exist.
    #[test]
    fn every_example_parses_with_the_cli_definition() {
        for (command, list) in EXAMPLES {
            assert!(
                Cli::command().find_subcommand(command).is_some(),
                "examples for an unknown command {command}"
            );
            for (_, line) in list.iter() {
                let w = words(line);
                assert_eq!(&w[..3], ["kubectl", "netdoctor", *command], "{line}");
                let argv =
                    std::iter::once("kubectl-netdoctor".to_string()).chain(w[2..].iter().cloned());
                let m = super::command()
                    .try_get_matches_from(argv)
                    .unwrap_or_else(|e| panic!("{line}: {e}"));
                Cli::from_arg_matches(&m).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
        }
        // What `scan --help` ends with: its examples, put in place of the mark clap rendered.
        let mut cmd = super::command();
        let help = cmd
            .find_subcommand_mut("scan")
            .unwrap()
            .render_help()
            .to_string();
        let help = super::help_text(&help);
        assert!(
            help.trim_end().ends_with(
                "Examples:\n  # CI after deploy: a JUnit report, exit 1 on any failure\n  kubectl netdoctor scan -n shop -o junit\n\n  # CI before deploy, warnings fail too\n  kubectl netdoctor scan -A -f rendered/ --strict\n\n  # Known findings reported, never failing the run\n  kubectl netdoctor scan -n shop --ignore ND6004,ND9001"
            ),
            "{help}"
        );
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "kubectl-netdoctor",
            "svc",
            "cart",
            "-n",
            "shop",
            "-o",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("shop"));
        assert_eq!(cli.global.output, OutputFormat::Json);
    }
}

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// What to probe: tcp:IP:PORT, mesh:IP:PORT (TCP, then plaintext to a mesh proxy), udp:IP:PORT
    /// ([IPv6]:PORT), dns:NAME[/A|AAAA|SRV][@SERVER[:PORT]]
    /// (without @SERVER, through the resolv.conf as a process here would resolve).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Deadline per target: a TCP probe with no answer by then is "dropped".
    #[arg(long, default_value = "1.5s", value_parser = crate::config::parse_duration, value_name = "DURATION")]
    pub timeout: std::time::Duration,
    /// Interfaces to capture on (repeatable; default: the ones the targets' packets leave by).
    #[arg(long = "capture-iface", value_name = "IFACE")]
    pub capture_iface: Vec<String>,
    /// Do not capture packets: verdicts from socket errors only (weaker evidence).
    #[arg(long)]
    pub no_capture: bool,
    /// Write the captured packets to a pcap file ("-" for stdout; the JSON lines then go to stderr).
    #[arg(long, value_name = "FILE|-")]
    pub pcap: Option<PathBuf>,
    /// How the pcap is written: raw bytes, or base64 text lines prefixed "pcap " (what survives a
    /// container log; `capture` reads them back).
    #[arg(long, value_enum, default_value_t = PcapEncoding::Raw)]
    pub pcap_encoding: PcapEncoding,
    /// Keep only matching packets in the pcap: host IP, port N, tcp, udp, icmp, joined by and/or.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Capture for this long (from the start), then stop.
    #[arg(long, value_parser = crate::config::parse_duration, value_name = "DURATION")]
    pub duration: Option<std::time::Duration>,
    /// Stop capturing after this many packets in the pcap.
    #[arg(long, value_name = "N")]
    pub max_packets: Option<u64>,
    /// The resolv.conf for DNS targets without @SERVER.
    #[arg(long, default_value = "/etc/resolv.conf", value_name = "PATH")]
    pub resolv_conf: PathBuf,
    /// Run each DNS lookup this many times (intermittent timeouts show as "intermittent").
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100), value_name = "N")]
    pub repeat: u32,
    /// Print the sockets that listen in this network namespace (TCP and UDP), then exit.
    #[arg(long)]
    pub sockets: bool,
    /// Exit (code 3) after this long whatever happens.
    #[arg(long, default_value = "5m", value_parser = crate::config::parse_duration, value_name = "DURATION")]
    pub hard_deadline: std::time::Duration,
    /// Serve instead of probing, until killed: tcp:[ADDR:]PORT answers HTTP with 200,
    /// tcp-reset:[ADDR:]PORT also resets what is not HTTP, udp:[ADDR:]PORT echoes (the test
    /// lab's stand-in application; repeatable).
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["targets", "sockets", "pcap"])]
    pub serve: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CleanupArgs {
    /// Every namespace (else -n, the context's namespace, or "default").
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Also delete probes still within their deadline (another run may be using them).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PcapEncoding {
    Raw,
    Base64,
}

#[derive(Debug, Args)]
pub(crate) struct CaptureArgs {
    /// The pod whose traffic to capture (also pod/NAME).
    pub pod: String,
    /// The container to attach to (its network is the pod's; this names it in the pod spec).
    #[arg(short = 'c', long, value_name = "NAME")]
    pub container: Option<String>,
    /// The pcap file to write ("-" for stdout).
    #[arg(short = 'w', long = "write", value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub write: PathBuf,
    /// Keep only matching packets: host IP, port N, tcp, udp, icmp, joined by and/or.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// How long to capture.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::config::parse_duration)]
    pub duration: std::time::Duration,
    /// Stop after this many packets.
    #[arg(long, value_name = "N")]
    pub max_packets: Option<u64>,
    /// The interface in the pod (default: the one of its default route, usually eth0).
    #[arg(long, value_name = "IFACE")]
    pub iface: Option<String>,
    /// The agent's image (mirror it for clusters that cannot pull from the internet; also
    /// NETDOCTOR_PROBE_IMAGE).
    #[arg(
        long,
        value_name = "IMAGE",
        env = "NETDOCTOR_PROBE_IMAGE",
        default_value = crate::probe::job::DEFAULT_IMAGE
    )]
    pub probe_image: String,
}

use std::io::IsTerminal;

use crate::config::Settings;
use crate::error::{Error, Result};

impl Settings {
    /// The validated settings of kubectl's global flags (no I/O but the environment).
    pub(crate) fn from_args(g: &GlobalArgs) -> Result<Self> {
        let request_timeout = crate::config::parse_duration(&g.request_timeout).map_err(|e| {
            Error::Usage(format!(
                "invalid --request-timeout {:?}: {e}",
                g.request_timeout
            ))
        })?;
        let env_no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let color = !g.no_color && !env_no_color && !dumb && std::io::stdout().is_terminal();
        if let Some(ns) = &g.namespace {
            crate::config::validate_name("namespace", ns)?;
        }
        Ok(Settings {
            kubeconfig: g.kubeconfig.clone(),
            context: g.context.clone(),
            namespace: g.namespace.clone(),
            output: g.output,
            request_timeout: (!request_timeout.is_zero()).then_some(request_timeout),
            color,
            verbose: g.verbose,
            auth: crate::config::AuthOverrides {
                cluster: g.cluster.clone(),
                user: g.user.clone(),
                server: g.server.clone(),
                token: g.token.clone(),
                impersonate: g.impersonate.clone(),
                impersonate_groups: g.impersonate_groups.clone(),
                certificate_authority: g.certificate_authority.clone(),
                insecure_skip_tls_verify: g.insecure_skip_tls_verify,
            },
        })
    }
}

impl crate::probe::job::ProbeOptions {
    /// From the flags every probing command shares.
    pub(crate) fn from_args(args: &crate::cli::ProbeArgs) -> Self {
        Self {
            image: args.probe_image.clone(),
            timeout: args.probe_timeout,
            mtu: args.mtu,
            ..Default::default()
        }
    }
}
