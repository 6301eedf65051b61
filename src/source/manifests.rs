//! The offline source: `ClusterState` from manifests (files, directories, stdin), before anything is
//! deployed. Workloads contribute their pod templates, so selector and port checks work on
//! `helm template` output; facts only a running cluster has are `Unavailable::Offline`.

use std::io::Read;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Event, Pod, PodTemplateSpec, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::snapshot::Snapshot;
use crate::error::{Error, Result};
use crate::state::{ClientSpec, ClusterState, Fact, ObjectRef, Origin, SourceKind, TEMPLATE_OF};

/// One object read from a manifest, with where it came from.
#[derive(Debug)]
pub struct Loaded {
    pub value: Value,
    pub origin: Origin,
}

/// Reads every path: files, directories (recursively, *.yaml, *.yml, *.json, sorted) and "-".
pub fn load(paths: &[PathBuf]) -> Result<Vec<Loaded>> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::Manifest(format!("cannot read stdin: {e}")))?;
            parse_text("<stdin>", &text, &mut out)?;
        } else if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)?;
            if files.is_empty() {
                return Err(Error::Manifest(format!(
                    "{}: no .yaml, .yml or .json files",
                    path.display()
                )));
            }
            for f in files {
                parse_file(&f, &mut out)?;
            }
        } else {
            parse_file(path, &mut out)?;
        }
    }
    Ok(out)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::Manifest(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, files)?;
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            files.push(p);
        }
    }
    Ok(())
}

fn parse_file(path: &Path, out: &mut Vec<Loaded>) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Manifest(format!("{}: {e}", path.display())))?;
    parse_text(&path.display().to_string(), &text, out)
}

/// Splits a YAML stream into documents at `---` lines, keeping each document's first line so that
/// errors can say "file:line (document N)".
fn documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ") || line == "...";
        if is_marker {
            docs.push((start, std::mem::take(&mut current)));
            start = i + 2;
            if let Some(rest) = line.strip_prefix("--- ") {
                current.push_str(rest);
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
/// cap a document at 250,000 nodes, less than a `kubectl get -o yaml` of a large namespace holds.
/// Raise the size caps, keep the rest.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 50_000_000;
    budget.max_events = 100_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Parses one file's text (YAML stream or JSON) into objects, expanding `kind: List`.
pub fn parse_text(file: &str, text: &str, out: &mut Vec<Loaded>) -> Result<()> {
    let trimmed = text.trim_start();
    let json = trimmed.starts_with('{') || trimmed.starts_with('[');
    let docs: Vec<(usize, String)> = if json {
        vec![(1, text.to_string())]
    } else {
        documents(text)
    };
    let mut number = 0;
    for (line, doc) in docs {
        if doc
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        number += 1;
        let at = |msg: String| {
            Error::Manifest(format!("{file}: document {number} (line {line}): {msg}"))
        };
        let value: Value = if json {
            // `kubectl get -o json` of a whole cluster: serde_json has no node budget to breach.
            serde_json::from_str(&doc).map_err(|e| at(e.to_string()))?
        } else {
            serde_saphyr::from_str_with_options(&doc, yaml_options()).map_err(|e| {
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                at(first)
            })?
        };
        let origin = Origin {
            file: file.to_string(),
            document: number,
        };
        match value {
            Value::Null => continue,
            Value::Object(_) => push_object(value, &origin, &at, out)?,
            other => {
                return Err(at(format!(
                    "expected a Kubernetes object (a mapping), found {}",
                    type_name(&other)
                )));
            }
        }
    }
    Ok(())
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

fn push_object(
    value: Value,
    origin: &Origin,
    at: &dyn Fn(String) -> Error,
    out: &mut Vec<Loaded>,
) -> Result<()> {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if kind.is_empty() {
        return Err(at("object has no kind".into()));
    }
    if value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        return Err(at(format!("{kind} has no apiVersion")));
    }
    if kind.ends_with("List") {
        if let Some(items) = value.get("items") {
            let Value::Array(items) = items.clone() else {
                return Err(at(format!("{kind}.items is not a list")));
            };
            for item in items {
                push_object(item, origin, at, out)?;
            }
            return Ok(());
        }
    }
    out.push(Loaded {
        value,
        origin: origin.clone(),
    });
    Ok(())
}

fn typed<T: DeserializeOwned>(l: &Loaded, kind: &str) -> Result<T> {
    serde_json::from_value(l.value.clone()).map_err(|e| {
        Error::Manifest(format!(
            "{}: document {}: invalid {kind}: {e}",
            l.origin.file, l.origin.document
        ))
    })
}

/// The pod template of a workload kind, if it is one.
fn template_of(kind: &str, v: &Value) -> Option<Value> {
    let t = match kind {
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => v.pointer("/spec/template"),
        "CronJob" => v.pointer("/spec/jobTemplate/spec/template"),
        _ => None,
    };
    t.cloned()
}

/// Manifests as a snapshot of what the cluster would hold.
pub fn classify(loaded: &[Loaded], namespace: &str) -> Result<Snapshot> {
    let mut o = Snapshot::new(SourceKind::Manifests);
    for l in loaded {
        let kind = l.value["kind"].as_str().unwrap_or_default();
        let api = l.value["apiVersion"].as_str().unwrap_or_default();
        let ns = l
            .value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(namespace)
            .to_string();
        let name = l
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let key = ObjectRef::new(kind, &ns, &name);
        let set_ns = |m: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            m.namespace = Some(ns.clone());
        };
        match (api, kind) {
            ("v1", "Service") => {
                let mut s: Service = typed(l, kind)?;
                set_ns(&mut s.metadata);
                o.services.push(s);
            }
            ("v1", "Pod") => {
                let mut p: Pod = typed(l, kind)?;
                set_ns(&mut p.metadata);
                o.pods.push(p);
            }
            ("discovery.k8s.io/v1", "EndpointSlice") => {
                let mut s: EndpointSlice = typed(l, kind)?;
                set_ns(&mut s.metadata);
                o.slices.push(s);
            }
            ("v1", "Event") => {
                let mut e: Event = typed(l, kind)?;
                set_ns(&mut e.metadata);
                o.events.push(e);
            }
            ("v1", "Node") => o.nodes.push(typed(l, kind)?),
            ("v1", "Namespace") => o.namespaces.push(typed(l, kind)?),
            ("networking.k8s.io/v1", "Ingress") => {
                let mut i: k8s_openapi::api::networking::v1::Ingress = typed(l, kind)?;
                set_ns(&mut i.metadata);
                o.ingresses.push(i);
            }
            ("networking.k8s.io/v1", "IngressClass") => o.ingress_classes.push(typed(l, kind)?),
            ("v1", "Secret") => {
                let mut sec: k8s_openapi::api::core::v1::Secret = typed(l, kind)?;
                set_ns(&mut sec.metadata);
                o.secrets
                    .push((ns.clone(), name.clone(), Fact::Known(Some(sec))));
            }
            ("networking.k8s.io/v1", "NetworkPolicy") => {
                let mut p: NetworkPolicy = typed(l, kind)?;
                set_ns(&mut p.metadata);
                o.policies.push(p);
            }
            _ => {
                if let Some(template) = template_of(kind, &l.value) {
                    let t: PodTemplateSpec = serde_json::from_value(template).map_err(|e| {
                        Error::Manifest(format!(
                            "{}: document {}: invalid {kind} pod template: {e}",
                            l.origin.file, l.origin.document
                        ))
                    })?;
                    let mut meta = t.metadata.unwrap_or_default();
                    meta.name = Some(name.clone());
                    meta.namespace = Some(ns.clone());
                    meta.annotations
                        .get_or_insert_with(Default::default)
                        .insert(TEMPLATE_OF.into(), format!("{kind}/{name}"));
                    o.pods.push(Pod {
                        metadata: meta,
                        spec: t.spec,
                        status: None,
                    });
                }
            }
        }
        std::sync::Arc::make_mut(&mut o.origins).insert(key, l.origin.clone());
    }
    Ok(o)
}

/// What `reach` needs from manifests: pods (and workload templates) and policies in scope.
pub fn reach_input(
    loaded: &[Loaded],
    scope: Option<&str>,
    default_ns: &str,
) -> Result<crate::reach::ReachInput> {
    let o = classify(loaded, default_ns)?;
    let in_scope = |ns: Option<&str>| scope.is_none_or(|s| ns == Some(s));
    Ok(crate::reach::ReachInput {
        source: SourceKind::Manifests,
        pods: o
            .pods
            .into_iter()
            .filter(|p| in_scope(p.metadata.namespace.as_deref()))
            .collect(),
        policies: o
            .policies
            .into_iter()
            .filter(|p| in_scope(p.metadata.namespace.as_deref()))
            .collect(),
        namespaces: Fact::Known(o.namespaces),
    })
}

/// Builds the Service flow's state from manifests.
pub fn state_for_service(
    loaded: &[Loaded],
    namespace: &str,
    name: &str,
    client: Option<&ClientSpec>,
) -> Result<ClusterState> {
    Ok(classify(loaded, namespace)?.state_for_service(namespace, name, client))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s;
    use crate::state::Unavailable;

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
        let objs = parse(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: eighty}]}\n",
        )
        .unwrap();
        let err = state_for_service(&objs, "default", "s", None).expect_err("a typed error");
        assert!(
            err.to_string()
                .starts_with("t.yaml: document 1: invalid Service:"),
            "{err}"
        );
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

    #[test]
    fn workloads_contribute_template_pods_in_the_default_namespace() {
        let objs = parse("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: pg}\nspec:\n  template:\n    metadata: {labels: {app: pg}}\n    spec: {containers: [{name: db, image: postgres}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: pg}\nspec: {selector: {app: pg}, ports: [{port: 5432}]}\n").unwrap();
        let s = state_for_service(&objs, "shop", "pg", None).unwrap();
        let pods = s.pods.known().unwrap();
        assert_eq!(pods.len(), 1);
        assert_eq!(
            k8s::describe_pod(&pods[0]),
            "Deployment shop/pg (pod template)"
        );
        assert!(matches!(
            s.slices,
            Fact::Unavailable(Unavailable::Offline(_))
        ));
        assert_eq!(
            s.edit_location("Service", "shop", "pg"),
            "t.yaml (document 2, Service shop/pg)"
        );
    }
}
