//! Shell completion, as kubectl's (cobra's) protocol has it: every shell script (completions/)
//! and kubectl's plugin completion run `kubectl-netdoctor __complete WORDS… CURRENT`, which prints
//! the candidates for CURRENT, one per line (`value<TAB>description` where one helps), then a
//! directive line (`:4`). Names a command expects — namespaces, Services, Ingresses, pods,
//! workloads, kubeconfig contexts — come from the cluster the line's own connection flags
//! (`--kubeconfig`, `--context`, `-n`, …) name, read with a short timeout; on any error there are
//! none, silently. A name is never completed with file names; a path is.

use std::time::Duration;

use k8s_openapi::api::{apps::v1 as apps, core::v1 as core, networking::v1 as net};

use crate::config::{AuthOverrides, OutputFormat, Settings};
use crate::source::live::Live;

/// cobra's directives (ShellCompDirective): the bits the scripts act on.
const NO_SPACE: u8 = 2;
const NO_FILE: u8 = 4;

/// How long a completion may wait for the API server: a TAB that hangs is worse than none.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The candidates and directive for the last word of `words`, in cobra's format.
pub(crate) fn complete(words: &[String]) -> String {
    let cmd = {
        let mut c = crate::generate::for_completion("kubectl-netdoctor");
        c.build();
        c
    };
    let (current, before) = match words.split_last() {
        Some((cur, before)) => (cur.as_str(), before),
        None => ("", &[][..]),
    };
    // bash splits `--context=prod` at '=' into three words: join them back.
    let current = if current == "=" { "" } else { current };
    let line = Line::read(&cmd, before);
    let (candidates, directive) = line.candidates(current);
    let mut text: String = candidates
        .into_iter()
        .filter(|c| c.value.starts_with(current))
        .map(|c| match c.about {
            Some(about) => format!("{}\t{about}\n", c.value),
            None => format!("{}\n", c.value),
        })
        .collect();
    text.push_str(&format!(":{directive}\n"));
    text
}

/// One completion candidate.
struct Candidate {
    value: String,
    about: Option<String>,
}

impl Candidate {
    fn plain(value: impl Into<String>) -> Self {
        Candidate {
            value: value.into(),
            about: None,
        }
    }
}

/// What the words before the one being completed say.
struct Line<'a> {
    /// The command being completed: the root, or the subcommand the line named.
    scope: &'a clap::Command,
    chosen: bool,
    /// The positional arguments given to the subcommand so far.
    positionals: usize,
    /// The flags given, by long name, with their values (the last one wins).
    flags: Vec<(String, String)>,
    /// The flag whose value is being completed (the previous word), if any.
    pending: Option<&'a clap::Arg>,
}

impl<'a> Line<'a> {
    fn read(cmd: &'a clap::Command, before: &'a [String]) -> Self {
        let mut line = Line {
            scope: cmd,
            chosen: false,
            positionals: 0,
            flags: Vec::new(),
            pending: None,
        };
        let mut words = before.iter().map(String::as_str).filter(|w| *w != "=");
        while let Some(w) = words.next() {
            if let Some(arg) = flag(line.scope, w) {
                let long = arg.get_long().unwrap_or_default().to_string();
                if let Some((_, value)) = w.split_once('=') {
                    line.flags.push((long, value.to_string()));
                } else if arg.get_action().takes_values() && !arg.is_require_equals_set() {
                    match words.next() {
                        Some(value) => line.flags.push((long, value.to_string())),
                        None => line.pending = Some(arg),
                    }
                } else {
                    line.flags.push((long, String::new()));
                }
                continue;
            }
            if w.starts_with('-') && w.len() > 1 {
                continue;
            }
            if !line.chosen {
                if let Some(sub) = line.scope.find_subcommand(w) {
                    line.scope = sub;
                    line.chosen = true;
                    continue;
                }
            }
            line.positionals += 1;
        }
        line
    }

    fn value(&self, long: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(l, _)| l == long)
            .map(|(_, v)| v.as_str())
    }

    fn candidates(&self, current: &str) -> (Vec<Candidate>, u8) {
        if let Some(arg) = self.pending {
            return self.values(arg, current, "");
        }
        if let Some((name, value)) = current.split_once('=') {
            if let Some(arg) = flag(self.scope, name).filter(|a| a.get_action().takes_values()) {
                let (list, directive) = self.values(arg, value, &format!("{name}="));
                return (list, directive);
            }
        }
        if current.starts_with('-') {
            let mut out = Vec::new();
            for arg in self.scope.get_arguments().filter(|a| !a.is_hide_set()) {
                let about = arg.get_help().map(|h| first_sentence(&h.to_string()));
                out.extend(arg.get_long().map(|l| Candidate {
                    value: format!("--{l}"),
                    about: about.clone(),
                }));
                out.extend(arg.get_short().map(|s| Candidate {
                    value: format!("-{s}"),
                    about: about.clone(),
                }));
            }
            return (out, NO_FILE);
        }
        if !self.chosen {
            let subcommands = self
                .scope
                .get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .map(|s| Candidate {
                    value: s.get_name().to_string(),
                    about: s.get_about().map(|a| first_sentence(&a.to_string())),
                })
                .collect();
            return (subcommands, NO_FILE);
        }
        let Some(arg) = self.scope.get_positionals().nth(self.positionals) else {
            return (Vec::new(), NO_FILE);
        };
        let names = match (self.scope.get_name(), arg.get_id().as_str()) {
            ("svc", _) => Some((Names::Services, &["svc/", "service/"][..])),
            ("ingress", _) => Some((Names::Ingresses, &["ing/", "ingress/"][..])),
            ("gateway", _) => Some((Names::Gateways, &["gateway/", "gtw/"][..])),
            ("route", _) => Some((Names::Routes, &ROUTE_PREFIXES[..])),
            ("capture", _) => Some((Names::Pods, &["pod/", "po/"][..])),
            _ => None,
        };
        match names {
            Some((names, kinds)) => {
                // `svc/NAME` is accepted as well as `NAME`: complete after the prefix typed.
                let prefix = kinds
                    .iter()
                    .find(|k| current.starts_with(*k))
                    .copied()
                    .unwrap_or_default();
                (self.names(names, prefix), NO_FILE)
            }
            None => (possible_values(arg), NO_FILE),
        }
    }

    /// The values of `arg`, each written after `prefix` (`--context=`).
    fn values(&self, arg: &clap::Arg, current: &str, prefix: &str) -> (Vec<Candidate>, u8) {
        let long = arg.get_long().unwrap_or_default();
        let (mut list, directive) = match long {
            "namespace" => (self.names(Names::Namespaces, ""), NO_FILE),
            "context" => (self.kubeconfig(Names::Contexts), NO_FILE),
            "cluster" => (self.kubeconfig(Names::Clusters), NO_FILE),
            "user" => (self.kubeconfig(Names::Users), NO_FILE),
            "from" | "to" => self.reference(long, current),
            _ => match arg.get_value_hint() {
                // A path: the shell's file names (cobra's default directive, 0).
                clap::ValueHint::FilePath | clap::ValueHint::AnyPath | clap::ValueHint::DirPath => {
                    (Vec::new(), 0)
                }
                _ => (possible_values(arg), NO_FILE),
            },
        };
        for c in &mut list {
            c.value.insert_str(0, prefix);
        }
        (list, directive)
    }

    /// `--from`/`--to` values: first a kind (`pod/`, no space after it), then its names.
    fn reference(&self, flag: &str, current: &str) -> (Vec<Candidate>, u8) {
        let kinds: &[(&str, &str, Names)] = match (self.scope.get_name(), flag) {
            ("svc", "from") => &[
                ("pod/", "a pod in the namespace", Names::Pods),
                ("deploy/", "a ready pod of a Deployment", Names::Deployments),
                ("sts/", "a ready pod of a StatefulSet", Names::StatefulSets),
                ("ds/", "a ready pod of a DaemonSet", Names::DaemonSets),
                (
                    "ns/",
                    "a would-be client in a namespace (--labels)",
                    Names::Namespaces,
                ),
            ],
            ("path", "from") => &[
                ("pod/", "a pod in the namespace", Names::Pods),
                (
                    "ns/",
                    "a would-be client in a namespace (--labels)",
                    Names::Namespaces,
                ),
            ],
            ("path", "to") => &[
                ("svc/", "a Service (every backend pod)", Names::Services),
                ("pod/", "a pod, then :PORT", Names::Pods),
            ],
            _ => &[],
        };
        match kinds.iter().find(|(k, _, _)| current.starts_with(k)) {
            Some((kind, _, names)) => {
                let directive = if *kind == "pod/" && flag == "to" {
                    NO_FILE | NO_SPACE
                } else {
                    NO_FILE
                };
                (self.names(*names, kind), directive)
            }
            None => (
                kinds
                    .iter()
                    .map(|(k, about, _)| Candidate {
                        value: k.to_string(),
                        about: Some(about.to_string()),
                    })
                    .collect(),
                NO_FILE | NO_SPACE,
            ),
        }
    }

    /// The connection the line's flags name, as a run with them would use it.
    fn settings(&self) -> Settings {
        let request_timeout = self
            .value("request-timeout")
            .and_then(|t| crate::config::parse_duration(t).ok())
            .filter(|t| !t.is_zero())
            .map_or(TIMEOUT, |t| t.min(TIMEOUT));
        let given = |long: &str| self.value(long).map(str::to_string);
        Settings {
            kubeconfig: given("kubeconfig").map(Into::into),
            context: given("context"),
            namespace: given("namespace"),
            output: OutputFormat::Table,
            request_timeout: Some(request_timeout),
            color: false,
            verbose: 0,
            auth: AuthOverrides {
                cluster: given("cluster"),
                user: given("user"),
                server: given("server"),
                token: given("token"),
                impersonate: given("as"),
                impersonate_groups: self
                    .flags
                    .iter()
                    .filter(|(l, _)| l == "as-group")
                    .map(|(_, v)| v.clone())
                    .collect(),
                certificate_authority: given("certificate-authority").map(Into::into),
                insecure_skip_tls_verify: self.value("insecure-skip-tls-verify").is_some(),
            },
        }
    }

    /// Contexts, clusters or users of the kubeconfig the line names (no API request).
    fn kubeconfig(&self, names: Names) -> Vec<Candidate> {
        let Ok(Some(k)) = crate::source::live::read_kubeconfig(&self.settings()) else {
            return Vec::new();
        };
        let list: Vec<String> = match names {
            Names::Contexts => k.contexts.into_iter().map(|c| c.name).collect(),
            Names::Clusters => k.clusters.into_iter().map(|c| c.name).collect(),
            _ => k.auth_infos.into_iter().map(|u| u.name).collect(),
        };
        list.into_iter().map(Candidate::plain).collect()
    }

    /// The names of a kind in the line's namespace, each after `prefix` (`pod/`).
    fn names(&self, names: Names, prefix: &str) -> Vec<Candidate> {
        let settings = self.settings();
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return Vec::new();
        };
        let read = async {
            let live = Live::connect(&settings).await.ok()?;
            let ns = live.namespace(&settings);
            match names {
                Names::Namespaces => live.cluster_names::<core::Namespace>().await,
                Names::Services => live.names::<core::Service>(&ns).await,
                Names::Ingresses => live.names::<net::Ingress>(&ns).await,
                Names::Gateways => live.gateway_names(&ns, "Gateway", "gateways").await,
                Names::Routes => {
                    // The kind typed before the slash (an HTTPRoute without one).
                    let (kind, plural) = match prefix {
                        "grpcroute/" => ("GRPCRoute", "grpcroutes"),
                        "tlsroute/" => ("TLSRoute", "tlsroutes"),
                        "tcproute/" => ("TCPRoute", "tcproutes"),
                        "udproute/" => ("UDPRoute", "udproutes"),
                        _ => ("HTTPRoute", "httproutes"),
                    };
                    live.gateway_names(&ns, kind, plural).await
                }
                Names::Pods => live.names::<core::Pod>(&ns).await,
                Names::Deployments => live.names::<apps::Deployment>(&ns).await,
                Names::StatefulSets => live.names::<apps::StatefulSet>(&ns).await,
                Names::DaemonSets => live.names::<apps::DaemonSet>(&ns).await,
                Names::Contexts | Names::Clusters | Names::Users => None,
            }
        };
        // Bounded twice: each request by --request-timeout (≤ 3 s), the whole by the same.
        let found = runtime
            .block_on(async { tokio::time::timeout(TIMEOUT, read).await })
            .ok()
            .flatten()
            .unwrap_or_default();
        found
            .into_iter()
            // A name the shell would split or run is no candidate (Kubernetes names never are).
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            })
            .map(|n| Candidate::plain(format!("{prefix}{n}")))
            .collect()
    }
}

/// `route KIND/NAME`'s kinds, as completion offers them.
const ROUTE_PREFIXES: [&str; 5] = [
    "httproute/",
    "grpcroute/",
    "tlsroute/",
    "tcproute/",
    "udproute/",
];

/// The kinds of names completion reads.
#[derive(Clone, Copy)]
enum Names {
    Namespaces,
    Services,
    Ingresses,
    Gateways,
    Routes,
    Pods,
    Deployments,
    StatefulSets,
    DaemonSets,
    Contexts,
    Clusters,
    Users,
}

fn possible_values(arg: &clap::Arg) -> Vec<Candidate> {
    arg.get_possible_values()
        .iter()
        .map(|v| Candidate::plain(v.get_name()))
        .collect()
}

/// A help text's first clause, on one line: a candidate's description ("Diagnose one Service").
fn first_sentence(help: &str) -> String {
    let line = help.lines().next().unwrap_or_default();
    let end = [". ", "; ", ": ", " ("]
        .iter()
        .filter_map(|s| line.find(s))
        .min()
        .unwrap_or(line.len());
    line[..end].trim_end_matches('.').to_string()
}

/// The flag `word` names in `cmd` (`--output`, `-o`, `--output=json`).
fn flag<'a>(cmd: &'a clap::Command, word: &str) -> Option<&'a clap::Arg> {
    let name = word.split_once('=').map_or(word, |(n, _)| n);
    if let Some(long) = name.strip_prefix("--") {
        return cmd.get_arguments().find(|a| a.get_long() == Some(long));
    }
    let short = name.strip_prefix('-')?;
    let mut chars = short.chars();
    let c = chars.next()?;
    chars
        .next()
        .is_none()
        .then(|| cmd.get_arguments().find(|a| a.get_short() == Some(c)))
        .flatten()
}
