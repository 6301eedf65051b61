//! Unit-test fixtures: a `ClusterState` built from a YAML string the way the live source would
//! gather it (pods selected by the Service's selector, slices by their service-name label).

use k8s_openapi::api::core::v1::{Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

use crate::k8s;
use crate::state::{ClusterState, Fact, SourceKind};

pub(crate) fn state(ns: &str, name: &str, yaml: &str) -> ClusterState {
    let mut s = ClusterState::new(SourceKind::Live, ns, name);
    let docs: Vec<Value> = if yaml.trim().is_empty() {
        Vec::new()
    } else {
        serde_saphyr::from_multiple(yaml).expect("fixture YAML")
    };
    let (mut pods, mut slices, mut unlabelled, mut events, mut nodes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for doc in docs {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        match kind.as_str() {
            "Service" => {
                let svc: Service = serde_json::from_value(doc).expect("Service");
                if svc.metadata.name.as_deref() == Some(name) {
                    s.service = Fact::Known(Some(svc));
                }
            }
            "Pod" => {
                let mut pod: Pod = serde_json::from_value(doc).expect("Pod");
                pod.metadata.namespace.get_or_insert_with(|| ns.to_string());
                pods.push(pod);
            }
            "EndpointSlice" => {
                let slice: EndpointSlice = serde_json::from_value(doc).expect("EndpointSlice");
                let owner = slice
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                    .cloned();
                if owner.as_deref() == Some(name) {
                    slices.push(slice);
                } else if owner.is_none() {
                    unlabelled.push(slice);
                }
            }
            "Event" => events.push(serde_json::from_value::<Event>(doc).expect("Event")),
            "Node" => nodes.push(serde_json::from_value::<Node>(doc).expect("Node")),
            other => panic!("fixture kind {other} not handled"),
        }
    }
    let selector = s
        .service()
        .and_then(|svc| svc.spec.as_ref())
        .and_then(|spec| spec.selector.clone())
        .unwrap_or_default();
    let selected = pods
        .iter()
        .filter(|p| !selector.is_empty() && k8s::selector_matches(&selector, &k8s::labels_of(p)))
        .cloned()
        .collect();
    s.pods = Fact::Known(selected);
    s.namespace_pods = Fact::Known(pods);
    s.slices = Fact::Known(slices);
    s.unlabelled_slices = Fact::Known(unlabelled);
    s.events = Fact::Known(events);
    s.nodes = Fact::Known(nodes);
    s
}
