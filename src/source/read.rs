//! Reading manifests as kubectl reads them: files, directories (recursively; each file and
//! directory once by canonical path, so symlink loops end), `-` for stdin; YAML streams whose
//! documents may be JSON (or JSON streams), `kind: List` and typed lists (`PodList`) whose items
//! carry no kind. Every input is bounded ([`MAX_INPUT`]); duplicate keys are errors in JSON as in
//! YAML; a known kind under a version the API does not serve is an error, an unknown kind (a CRD)
//! is ignored and listed with `-v`. A directory's files are parsed on every core, their objects
//! kept in file order.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::state::Origin;

/// The most one input (a file, or stdin) may hold: `kubectl get -A -o yaml` of a large cluster
/// fits; `/dev/zero` or an endless pipe does not grow memory past it.
pub(crate) const MAX_INPUT: u64 = 512 * 1024 * 1024;

/// The most all inputs of one run (every `-f`, stdin) may hold together.
pub(crate) const MAX_TOTAL: u64 = 1024 * 1024 * 1024;

/// The most values (mappings, lists, strings, numbers…) all inputs of one run may hold: text
/// expands about twelvefold in memory (`[]` is 2 bytes of text and 32 of a value), so a byte cap
/// alone would let 509 MiB of `[[],[],…]` take 6.6 GB. 25 million values is about five times a
/// `kubectl get -A -o yaml` of 10,000 pods, and about 1.5 GB at worst.
pub(crate) const MAX_VALUES: usize = 25_000_000;

std::thread_local! {
    /// Values the run may still read ([`MAX_VALUES`]), counted as JSON is parsed (its parser has
    /// no budget of its own) and after each YAML document (whose parser caps each document).
    /// Shared by the threads parsing one run's files; each thread's run is its own (tests).
    static VALUES_LEFT: RefCell<Arc<AtomicUsize>> =
        RefCell::new(Arc::new(AtomicUsize::new(MAX_VALUES)));
    /// Values this thread took from [`VALUES_LEFT`] and has not spent yet: JSON spends one value
    /// at a time, and threads sharing one counter value by value would contend for it.
    static DRAWN: Cell<usize> = const { Cell::new(0) };
}

/// How many values a thread takes from the shared budget at once.
const DRAW: usize = 4096;

/// Starts this thread's run with `budget` values (a new run, or a test's).
fn start_budget(budget: usize) {
    VALUES_LEFT.with(|left| *left.borrow_mut() = Arc::new(AtomicUsize::new(budget)));
    DRAWN.with(|drawn| drawn.set(0));
}

/// Makes this thread spend from `shared`, another thread's run.
fn join_budget(shared: Arc<AtomicUsize>) {
    VALUES_LEFT.with(|left| *left.borrow_mut() = shared);
    DRAWN.with(|drawn| drawn.set(0));
}

/// Takes `n` values from the run's budget; `false` when it is spent.
fn spend_values(n: usize) -> bool {
    DRAWN.with(|drawn| {
        if let Some(rest) = drawn.get().checked_sub(n) {
            drawn.set(rest);
            return true;
        }
        let need = n - drawn.get();
        let mut got = 0;
        VALUES_LEFT.with(|left| {
            // A draw's worth when there is one, else whatever covers the need, else nothing
            // (and the budget is spent for every thread).
            let _ = left
                .borrow()
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |rest| {
                    got = if rest >= need.max(DRAW) {
                        need.max(DRAW)
                    } else if rest >= need {
                        rest
                    } else {
                        0
                    };
                    Some(if got == 0 { 0 } else { rest - got })
                });
        });
        if got == 0 {
            drawn.set(0);
            return false;
        }
        drawn.set(drawn.get() + got - n);
        true
    })
}

fn too_many_values() -> String {
    format!(
        "more than {} values across the inputs, the most one run reads",
        crate::text::thousands(MAX_VALUES)
    )
}

/// How many values a parsed document holds.
fn values_in(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(values_in).sum(),
        Value::Object(m) => m.values().map(values_in).sum::<usize>() + m.len(),
        _ => 0,
    }
}

/// Nesting the YAML parser accepts. A CRD's schema nests two mappings per level
/// (`properties: {x: {properties: …}}`): 31 levels of schema are about 70 mappings deep.
const MAX_DEPTH: usize = 256;

/// One object read from a manifest, with where it came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub value: Value,
    pub origin: Origin,
}

/// Reads every path: files, directories (recursively, *.yaml, *.yml, *.json, sorted) and "-".
/// No object at all is an error, as kubectl says "no objects passed". With `verbose`, kinds the
/// tool does not read are listed once each on stderr.
pub(crate) fn load(paths: &[PathBuf], verbose: bool) -> Result<Vec<Loaded>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    start_budget(MAX_VALUES);
    let read = AtomicU64::new(0);
    for path in paths {
        if path.as_os_str() == "-" {
            let text = read_bounded("<stdin>", std::io::stdin().lock(), &read)?;
            parse_text("<stdin>", &text, &mut out)?;
        } else if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files, &mut seen)?;
            if files.is_empty() && seen.len() <= 1 {
                return Err(Error::Manifest(format!(
                    "{}: no .yaml, .yml or .json files",
                    path.display()
                )));
            }
            parse_files(&files, &mut out, &read)?;
        } else if once(path, &mut seen) {
            parse_file(path, &mut out, &read)?;
        }
    }
    // A bundle of a run that read nothing (the Service did not exist) replays as such.
    let bundle = |p: &PathBuf| {
        let mut head = [0u8; 2];
        std::fs::File::open(p)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| crate::bundle::is_bundle(&head))
    };
    if out.is_empty() && !paths.iter().any(|p| p.is_file() && bundle(p)) {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::Manifest(format!(
            "no Kubernetes objects in {}",
            crate::text::sanitize(&names.join(", "))
        )));
    }
    if verbose {
        let mut ignored: BTreeMap<(String, String), usize> = BTreeMap::new();
        for l in &out {
            if !is_read(str_at(&l.value, "apiVersion"), str_at(&l.value, "kind")) {
                *ignored
                    .entry((
                        str_at(&l.value, "apiVersion").to_string(),
                        str_at(&l.value, "kind").to_string(),
                    ))
                    .or_default() += 1;
            }
        }
        for ((api, kind), n) in ignored {
            eprintln!(
                "{}",
                crate::text::sanitize(&format!(
                    "ignored: {} of kind {kind} ({api}): not read by netdoctor",
                    crate::text::plural(n, "object")
                ))
            );
        }
    }
    Ok(out)
}

/// Whether this canonical path is met for the first time.
fn once(path: &Path, seen: &mut HashSet<PathBuf>) -> bool {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    seen.insert(canonical)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, seen: &mut HashSet<PathBuf>) -> Result<()> {
    if !once(dir, seen) {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::Manifest(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, files, seen)?;
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            && once(&p, seen)
        {
            // In a folder only files are manifests: a FIFO (or a device, a socket) found there
            // would block or never end. Named alone with -f it is read, as `-f <(helm template …)`
            // must be.
            if std::fs::metadata(&p).is_ok_and(|m| !m.is_file()) {
                return Err(Error::Manifest(format!(
                    "{}: not a regular file (a FIFO, device or socket in a folder is not read; name it with -f to read it)",
                    p.display()
                )));
            }
            files.push(p);
        }
    }
    Ok(())
}

/// A directory's files, parsed on every core (a GitOps repository holds thousands); their
/// objects in file order, and the first error in file order, as one after another would give.
fn parse_files(files: &[PathBuf], out: &mut Vec<Loaded>, read: &AtomicU64) -> Result<()> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(files.len())
        .min(8);
    if threads <= 1 {
        for f in files {
            parse_file(f, out, read)?;
        }
        return Ok(());
    }
    let budget = VALUES_LEFT.with(|left| left.borrow().clone());
    // Files are taken in order, so when one fails every file before it was taken too: the
    // others stop taking more.
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let mut parsed: Vec<(usize, Result<Vec<Loaded>>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    join_budget(budget.clone());
                    let mut mine = Vec::new();
                    while !failed.load(Ordering::SeqCst) {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(f) = files.get(i) else { break };
                        let mut objects = Vec::new();
                        let r = parse_file(f, &mut objects, read).map(|()| objects);
                        if r.is_err() {
                            failed.store(true, Ordering::SeqCst);
                        }
                        mine.push((i, r));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    parsed.sort_by_key(|(i, _)| *i);
    for (_, r) in parsed {
        out.extend(r?);
    }
    Ok(())
}

fn parse_file(path: &Path, out: &mut Vec<Loaded>, read: &AtomicU64) -> Result<()> {
    use std::io::BufRead;
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::Manifest(format!("{name}: {e}")))?;
    let mut input = std::io::BufReader::new(file);
    let head = input
        .fill_buf()
        .map_err(|e| Error::Manifest(format!("{name}: {e}")))?;
    // An incident bundle (`--bundle`): its objects, read as any manifest is.
    if crate::bundle::is_bundle(head) {
        let text = crate::bundle::objects_text(&name, input, &mut |member, r| {
            read_bounded(member, r, read)
        })?;
        return parse_text(&name, &text, out);
    }
    let text = read_bounded(&name, input, read)?;
    parse_text(&name, &text, out)
}

/// Reads at most [`MAX_INPUT`] bytes of text, and no more than [`MAX_TOTAL`] with what the run
/// has `read` (in every thread); binary input (a NUL byte) is refused at once.
fn read_bounded(name: &str, input: impl Read, read: &AtomicU64) -> Result<String> {
    let room = MAX_TOTAL.saturating_sub(read.load(Ordering::SeqCst));
    let limit = MAX_INPUT.min(room);
    let mut input = input.take(limit + 1);
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Manifest(format!("{name}: {e}"))),
        };
        if chunk[..n].contains(&0) {
            return Err(Error::Manifest(format!(
                "{name}: binary data (a NUL byte), not YAML or JSON"
            )));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    let together = || {
        Error::Manifest(format!(
            "{name}: the inputs together hold more than {} MiB, the most one run reads",
            MAX_TOTAL >> 20
        ))
    };
    if bytes.len() as u64 > limit {
        return Err(if limit == MAX_INPUT {
            Error::Manifest(format!(
                "{name}: larger than {} MiB, the most one input may hold",
                MAX_INPUT >> 20
            ))
        } else {
            together()
        });
    }
    // Other threads may have read meanwhile: the total is what counts.
    let before = read.fetch_add(bytes.len() as u64, Ordering::SeqCst);
    if before + bytes.len() as u64 > MAX_TOTAL {
        return Err(together());
    }
    String::from_utf8(bytes).map_err(|e| Error::Manifest(format!("{name}: not UTF-8 text: {e}")))
}

/// Splits a YAML stream into documents at `---` lines, keeping each document's first line so that
/// errors can say "file:line (document N)".
fn documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        // A marker is `---` or `...` alone or followed by white space (a space or a tab, as
        // YAML 1.2 §9.1.2 allows), then maybe content: `--- {kind: Pod}`.
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
        };
        if marker("---") || marker("...") {
            docs.push((start, std::mem::take(&mut current)));
            start = i + 2;
            if let Some(rest) = line.strip_prefix("---").filter(|r| !r.trim().is_empty()) {
                current.push_str(rest.trim_start());
                current.push('\n');
                start = i + 1;
            }
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    docs.push((start, current));
    docs
}

/// YAML limits: the parser's defaults protect against hostile input (depth, alias expansion) but
/// cap a document at 250,000 nodes, less than a `kubectl get -o yaml` of a large namespace holds,
/// and at 64 levels, less than a CRD schema may nest. Raise those, keep the rest.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = MAX_VALUES;
    budget.max_events = 100_000_000;
    budget.max_depth = MAX_DEPTH;
    budget.max_total_scalar_bytes = MAX_INPUT as usize;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Whether a document is JSON rather than YAML: a JSON object or array (a YAML flow mapping such
/// as `{kind: Pod}` starts with `{` too, but not with `{"`).
fn looks_like_json(doc: &str) -> bool {
    let t = doc.trim_start();
    let rest = t
        .strip_prefix('{')
        .or_else(|| t.strip_prefix('['))
        .map(str::trim_start);
    rest.is_some_and(|r| r.is_empty() || r.starts_with(['"', '}', ']', '{', '[']))
}

/// Parses one input's text into objects: a YAML stream whose documents may be JSON values (or
/// several JSON values in a row, as `kubectl get -o json` output concatenated), expanding lists.
pub(crate) fn parse_text(file: &str, text: &str, out: &mut Vec<Loaded>) -> Result<()> {
    let mut number = 0;
    for (line, doc) in documents(text) {
        if doc
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let mut values = Vec::new();
        if looks_like_json(&doc) {
            // A JSON stream: serde_json has no node budget to breach. Its depth limit (128
            // levels of objects and arrays) is below what a deep CRD schema nests as JSON
            // (`kubectl get crd -o json`): such a document is read again as YAML, of which JSON
            // is a subset, under the YAML depth limit (256).
            let mut stream = serde_json::Deserializer::from_str(&doc).into_iter::<Strict>();
            loop {
                let start = stream.byte_offset();
                let at = line + doc[..start].matches('\n').count();
                match stream.next() {
                    None => break,
                    Some(Ok(Strict(v))) => values.push((at, v)),
                    Some(Err(e)) if e.to_string().starts_with("recursion limit exceeded") => {
                        let v: Value =
                            serde_saphyr::from_str_with_options(&doc[start..], yaml_options())
                                .map_err(|y| located(file, number + 1, at, &y.to_string()))?;
                        if !spend_values(values_in(&v)) {
                            return Err(located(file, number + 1, at, &too_many_values()));
                        }
                        values.push((at, v));
                        break;
                    }
                    Some(Err(e)) => {
                        number += 1;
                        return Err(located(file, number, at, &e.to_string()));
                    }
                }
            }
        } else {
            let v: Value = serde_saphyr::from_str_with_options(&doc, yaml_options())
                .map_err(|e| located(file, number + 1, line, &e.to_string()))?;
            if !spend_values(values_in(&v)) {
                return Err(located(file, number + 1, line, &too_many_values()));
            }
            values.push((line, v));
        }
        for (line, value) in values {
            number += 1;
            let origin = Origin {
                file: file.to_string(),
                document: number,
                line,
            };
            let at = |msg: String| located(file, number, line, &msg);
            match value {
                Value::Null => continue,
                Value::Object(_) => push_object(value, None, &origin, &at, out)?,
                other => {
                    return Err(at(format!(
                        "expected a Kubernetes object (a mapping), found {}",
                        type_name(&other)
                    )));
                }
            }
        }
    }
    Ok(())
}

fn located(file: &str, number: usize, line: usize, msg: &str) -> Error {
    let first = msg.lines().next().unwrap_or_default();
    // The parser's advice is for its own callers ("use from_str_multiple…"), not for a person.
    let first = match first.split_once("multiple YAML documents detected") {
        Some((at, _)) => &format!(
            "{at}a second YAML document starts here: separate documents with a line of `---`"
        ),
        None => first,
    };
    Error::Manifest(format!("{file}: document {number} (line {line}): {first}"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Adds one object, or a list's items. `list` is the enclosing typed list's (kind, apiVersion):
/// the API server leaves them out of each item of a `PodList`, and kubectl fills them in.
fn push_object(
    mut value: Value,
    list: Option<(&str, &str)>,
    origin: &Origin,
    at: &dyn Fn(String) -> Error,
    out: &mut Vec<Loaded>,
) -> Result<()> {
    if let (Some((kind, api)), Value::Object(map)) = (list, &mut value) {
        if map.get("kind").and_then(Value::as_str).is_none() {
            map.insert("kind".into(), Value::String(kind.to_string()));
        }
        if map.get("apiVersion").and_then(Value::as_str).is_none() {
            map.insert("apiVersion".into(), Value::String(api.to_string()));
        }
    }
    let kind = str_at(&value, "kind").to_string();
    if kind.is_empty() {
        return Err(at("object has no kind".into()));
    }
    let api = str_at(&value, "apiVersion").to_string();
    if api.is_empty() {
        return Err(at(format!("{kind} has no apiVersion")));
    }
    if let Some(item_kind) = kind.strip_suffix("List") {
        if let Some(items) = value.get_mut("items") {
            let Value::Array(items) = items.take() else {
                return Err(at(format!("{kind}.items is not a list")));
            };
            // `kind: List` items name their own kinds; a `PodList`'s are Pods.
            let typed = (!item_kind.is_empty()).then_some((item_kind, api.as_str()));
            for item in items {
                push_object(item, typed, origin, at, out)?;
            }
            return Ok(());
        }
    }
    check_version(&api, &kind).map_err(at)?;
    out.push(Loaded {
        value,
        origin: origin.clone(),
    });
    Ok(())
}

/// The kinds netdoctor reads, with the versions the API serves them as.
const READ: &[(&str, &[&str])] = &[
    ("Service", &["v1"]),
    ("Pod", &["v1"]),
    ("Event", &["v1", "events.k8s.io/v1"]),
    ("Node", &["v1"]),
    ("Namespace", &["v1"]),
    ("Secret", &["v1"]),
    ("ReplicationController", &["v1"]),
    ("EndpointSlice", &["discovery.k8s.io/v1"]),
    ("Ingress", &["networking.k8s.io/v1"]),
    ("IngressClass", &["networking.k8s.io/v1"]),
    ("NetworkPolicy", &["networking.k8s.io/v1"]),
    // sigs.k8s.io/network-policy-api: v0.1 serves the first two, v0.2+ the third.
    ("AdminNetworkPolicy", &["policy.networking.k8s.io/v1alpha1"]),
    (
        "BaselineAdminNetworkPolicy",
        &["policy.networking.k8s.io/v1alpha1"],
    ),
    (
        "ClusterNetworkPolicy",
        &[
            "policy.networking.k8s.io/v1beta1",
            "policy.networking.k8s.io/v1alpha2",
        ],
    ),
    ("Deployment", &["apps/v1"]),
    ("StatefulSet", &["apps/v1"]),
    ("DaemonSet", &["apps/v1"]),
    ("ReplicaSet", &["apps/v1"]),
    ("Job", &["batch/v1"]),
    ("CronJob", &["batch/v1"]),
    // The Gateway API, at the versions its CRDs serve (standard and experimental channels).
    (
        "GatewayClass",
        &[
            "gateway.networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1beta1",
        ],
    ),
    (
        "Gateway",
        &[
            "gateway.networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1beta1",
        ],
    ),
    (
        "HTTPRoute",
        &[
            "gateway.networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1beta1",
        ],
    ),
    ("GRPCRoute", &["gateway.networking.k8s.io/v1"]),
    (
        "TLSRoute",
        &[
            "gateway.networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1alpha3",
            "gateway.networking.k8s.io/v1alpha2",
        ],
    ),
    (
        "TCPRoute",
        &[
            "gateway.networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1alpha2",
        ],
    ),
    (
        "UDPRoute",
        &[
            "gateway.networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1alpha2",
        ],
    ),
    (
        "ReferenceGrant",
        &[
            "gateway.networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1beta1",
        ],
    ),
];

/// Every kind of the core group (`apiVersion: v1`), which no CRD can add to.
const CORE_KINDS: &[&str] = &[
    "Binding",
    "ComponentStatus",
    "ConfigMap",
    "Endpoints",
    "Event",
    "LimitRange",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodTemplate",
    "ReplicationController",
    "ResourceQuota",
    "Secret",
    "Service",
    "ServiceAccount",
    "Status",
];

/// Whether netdoctor reads this object (a known kind at a served version).
pub(crate) fn is_read(api: &str, kind: &str) -> bool {
    READ.iter()
        .any(|(k, versions)| *k == kind && versions.contains(&api))
}

/// A group Kubernetes itself serves: the core group, `apps`-style names without a dot, and
/// `*.k8s.io`. Other groups belong to CRDs, whose kinds may share names with built-in ones
/// (Knative's `serving.knative.dev/v1` Service).
fn built_in_group(api: &str) -> bool {
    match api.rsplit_once('/') {
        None => true,
        Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

/// A known kind under a built-in group must be at a version the API serves (as kubectl's "no
/// matches for kind"); a core-group kind must exist. Other kinds are ignored, never an error.
fn check_version(api: &str, kind: &str) -> std::result::Result<(), String> {
    if !built_in_group(api) || is_read(api, kind) {
        return Ok(());
    }
    if let Some((_, versions)) = READ.iter().find(|(k, _)| *k == kind) {
        return Err(format!(
            "no kind {kind} is served as apiVersion {api} (use {})",
            versions.join(" or ")
        ));
    }
    if !api.contains('/') && !CORE_KINDS.contains(&kind) {
        let near = CORE_KINDS
            .iter()
            .min_by_key(|k| strsim::levenshtein(k, kind))
            .filter(|k| strsim::levenshtein(k, kind) <= 2);
        return Err(match near {
            Some(k) => format!("no kind {kind} in apiVersion {api}: did you mean {k}?"),
            None => format!("no kind {kind} in apiVersion {api}"),
        });
    }
    Ok(())
}

/// A JSON value whose objects must not repeat a key (serde_json keeps the last silently; the
/// YAML parser refuses, and both must read alike).
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        if !spend_values(1) {
            return Err(de::Error::custom(too_many_values()));
        }
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(key.clone(), v).is_some() {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Loaded>> {
        let mut out = Vec::new();
        parse_text("t.yaml", text, &mut out)?;
        Ok(out)
    }

    #[test]
    fn multi_document_yaml_lists_and_json() {
        let objs = parse("---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n- {apiVersion: v1, kind: Pod, metadata: {name: q}}\n").unwrap();
        assert_eq!(objs.len(), 3);
        assert_eq!(objs[1].origin.document, 2);
        let json =
            parse(r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"j"}}"#).unwrap();
        assert_eq!(json[0].value["metadata"]["name"], "j");
    }

    #[test]
    fn malformed_documents_name_file_document_and_line() {
        let err = parse("apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: [unclosed\n")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("t.yaml: document 2 (line 4):"), "{msg}");
        let err = parse("apiVersion: v1\nmetadata: {name: x}\n").unwrap_err();
        assert!(err.to_string().contains("no kind"), "{err}");
        let err = parse("- a\n- b\n").unwrap_err();
        assert!(err.to_string().contains("found a list"), "{err}");
    }

    #[test]
    fn large_lists_parse_in_json_and_yaml() {
        let mut json = String::from(r#"{"apiVersion":"v1","kind":"List","items":["#);
        let mut yaml = String::from("apiVersion: v1\nkind: List\nitems:\n");
        for i in 0..30_000 {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p{i}","namespace":"ns","labels":{{"app":"a","tier":"t"}}}}}}"#));
            yaml.push_str(&format!("- {{apiVersion: v1, kind: Pod, metadata: {{name: p{i}, namespace: ns, labels: {{app: a, tier: t}}}}}}\n"));
        }
        json.push_str("]}");
        assert_eq!(parse(&json).unwrap().len(), 30_000);
        assert_eq!(parse(&yaml).unwrap().len(), 30_000);
    }

    // What the API server returns for `GET /api/v1/pods`: a PodList whose items carry neither
    // kind nor apiVersion (kubectl fills them from the list: kind minus "List", its apiVersion).
    #[test]
    fn typed_lists_give_their_items_kind_and_version() {
        let objs = parse("apiVersion: v1\nkind: PodList\nmetadata: {resourceVersion: '1'}\nitems:\n- metadata: {name: a, namespace: shop}\n- metadata: {name: b, namespace: shop}\n").unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].value["kind"], "Pod");
        assert_eq!(objs[1].value["apiVersion"], "v1");
        let objs = parse(
            r#"{"apiVersion":"v1","kind":"NamespaceList","items":[{"metadata":{"name":"shop"}}]}"#,
        )
        .unwrap();
        assert_eq!(objs[0].value["kind"], "Namespace");
        // A generic List's items must still name their own kind.
        assert!(parse("apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n").is_err());
    }

    #[test]
    fn a_yaml_stream_of_json_documents_and_a_json_stream() {
        let objs = parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}\n---\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}\n").unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1].value["kind"], "Pod");
        assert_eq!(objs[1].origin.document, 2);
        let objs = parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}\n").unwrap();
        assert_eq!(objs.len(), 2);
        // A YAML flow mapping is YAML, not JSON.
        let objs = parse("{apiVersion: v1, kind: Pod, metadata: {name: p}}\n").unwrap();
        assert_eq!(objs[0].value["metadata"]["name"], "p");
    }

    #[test]
    fn duplicate_keys_are_errors_in_json_as_in_yaml() {
        let yaml =
            parse("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nmetadata: {name: b}\n");
        assert!(yaml.is_err());
        let err =
            parse(r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","name":"b"}}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("duplicate key \"name\""), "{err}");
        assert!(err.starts_with("t.yaml: document 1 (line 1):"), "{err}");
    }

    #[test]
    fn known_kinds_at_unserved_versions_are_errors_unknown_kinds_are_ignored() {
        let err = |t: &str| parse(t).unwrap_err().to_string();
        let e = err("apiVersion: v9\nkind: Service\nmetadata: {name: a}\n");
        assert!(
            e.contains("no kind Service is served as apiVersion v9 (use v1)"),
            "{e}"
        );
        let e = err("apiVersion: apps/v1\nkind: Service\nmetadata: {name: a}\n");
        assert!(e.contains("apiVersion apps/v1"), "{e}");
        // Ingress left networking.k8s.io/v1beta1 and extensions/v1beta1 in Kubernetes 1.22.
        let e = err("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: a}\n");
        assert!(e.contains("use networking.k8s.io/v1"), "{e}");
        // The core group has a fixed set of kinds: a typo there is no CRD.
        let e = err("apiVersion: v1\nkind: Servicee\nmetadata: {name: a}\n");
        assert!(e.contains("did you mean Service?"), "{e}");
        // CRDs: ignored, whatever their kind is called (Knative has a Service of its own).
        for t in [
            "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: a}\n",
            "apiVersion: example.com/v1\nkind: Servicee\nmetadata: {name: a}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            "apiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XBackendTrafficPolicy\nmetadata: {name: a}\n",
        ] {
            let objs = parse(t).unwrap();
            assert!(!is_read(
                str_at(&objs[0].value, "apiVersion"),
                str_at(&objs[0].value, "kind")
            ));
        }
        // The Gateway API's kinds are read, at the versions its CRDs serve.
        assert!(is_read("gateway.networking.k8s.io/v1", "HTTPRoute"));
        assert!(is_read(
            "gateway.networking.k8s.io/v1beta1",
            "ReferenceGrant"
        ));
        let e = err(
            "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: HTTPRoute\nmetadata: {name: a}\n",
        );
        assert!(
            e.contains(
                "no kind HTTPRoute is served as apiVersion gateway.networking.k8s.io/v1alpha2"
            ),
            "{e}"
        );
    }

    fn crd(levels: usize) -> String {
        let mut schema = String::from("{type: string}");
        for i in 0..levels {
            schema = format!("{{type: object, properties: {{f{i}: {schema}}}}}");
        }
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: deep.example.com}}\nspec:\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema: {schema}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: a}}\n"
        )
    }

    #[test]
    fn a_deeply_nested_crd_schema_is_read_and_absurd_nesting_is_a_clean_error() {
        assert_eq!(parse(&crd(31)).unwrap().len(), 2);
        let json = serde_json::to_string(&parse(&crd(31)).unwrap()[0].value).unwrap();
        assert_eq!(parse(&json).unwrap().len(), 1);
        let deep = format!("a: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn inputs_are_bounded_and_binary_is_refused() {
        let err = read_bounded("z", std::io::repeat(0), &AtomicU64::new(0))
            .unwrap_err()
            .to_string();
        assert!(err.contains("binary data"), "{err}");
        let err = read_bounded("y", std::io::repeat(b'a'), &AtomicU64::new(0))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "y: larger than 512 MiB, the most one input may hold");
    }

    #[test]
    fn a_document_marker_may_be_followed_by_a_tab() {
        // Issue 18 item 24: `---<tab>` is a document start (YAML 1.2 §9.1.2: white space after
        // the marker); it leaked the parser's "use from_str_multiple" as the error.
        let objs = parse("kind: Service\napiVersion: v1\n---\t\nkind: Pod\napiVersion: v1\n---\t# c\n...\t\n--- {kind: Pod, apiVersion: v1}\n").unwrap();
        let kinds: Vec<&str> = objs.iter().map(|o| str_at(&o.value, "kind")).collect();
        assert_eq!(kinds, ["Service", "Pod", "Pod"]);
        // Whatever else makes the parser see two documents is said in words.
        let e = located("f", 1, 1, "error: line 6 column 1: multiple YAML documents detected; use from_str_multiple or from_str_multiple_with_options").to_string();
        assert_eq!(
            e,
            "f: document 1 (line 1): error: line 6 column 1: a second YAML document starts here: separate documents with a line of `---`"
        );
        // `----` or `---x` is content, not a marker.
        assert!(documents("a: 1\n----\n").len() == 1);
    }

    #[test]
    fn all_inputs_together_are_bounded() {
        // Issue 18 item 16: the cap is per run, not only per input.
        let read = AtomicU64::new(MAX_TOTAL - 10);
        let err = read_bounded("b.yaml", "kind: Pod\n".repeat(10).as_bytes(), &read)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "b.yaml: the inputs together hold more than 1024 MiB, the most one run reads"
        );
        let read = AtomicU64::new(0);
        read_bounded("a.yaml", "kind: Pod\n".as_bytes(), &read).unwrap();
        assert_eq!(read.load(Ordering::SeqCst), 10);
    }

    /// A directory's files are parsed on several threads; what comes out is what one after
    /// another would give: objects in file order, and the first bad file in that order named.
    #[test]
    fn a_directory_of_many_files_reads_in_file_order_and_names_its_first_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..300 {
            let body = format!("apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i:03}}}\n");
            std::fs::write(dir.path().join(format!("f-{i:03}.yaml")), body).unwrap();
        }
        let loaded = load(&[dir.path().to_path_buf()], false).unwrap();
        let names: Vec<&str> = loaded
            .iter()
            .map(|l| l.value["metadata"]["name"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (0..300).map(|i| format!("svc-{i:03}")).collect();
        assert_eq!(names, expected);
        for bad in [250, 120] {
            std::fs::write(dir.path().join(format!("f-{bad:03}.yaml")), "kind: [").unwrap();
        }
        let err = load(&[dir.path().to_path_buf()], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("f-120.yaml: document 1"), "{err}");
    }

    #[test]
    fn values_are_bounded_as_json_and_as_yaml() {
        // `[[],[],…]` expands twelvefold in memory: the run stops at its value budget, named.
        for text in [
            format!("[{}[]]", "[],".repeat(200)),
            format!("- []\n{}", "- []\n".repeat(200)),
        ] {
            start_budget(100);
            let err = parse(&text).unwrap_err().to_string();
            assert!(
                err.contains(
                    "more than 25,000,000 values across the inputs, the most one run reads"
                ),
                "{err}"
            );
            start_budget(MAX_VALUES);
            assert!(
                parse(&text)
                    .unwrap_err()
                    .to_string()
                    .contains("expected a Kubernetes object")
            );
        }
    }
}
