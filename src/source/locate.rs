//! Where a field is in the manifests: the line and column of a key (`spec.selector`) of an
//! object read offline, for SARIF (GitHub code scanning annotates that line of the pull request).
//!
//! Positions are found only for the objects a finding names, when SARIF is written: the object's
//! document is read again from its file (each file once, and only a regular file: a pipe or stdin
//! cannot be read twice) and parsed with positions (serde-saphyr's `Spanned`); every other
//! document was read once, without them.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::state::Origin;

/// A position in a file: 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// One step of a path into an object: a key, an index into a list, or the first mapping in the
/// subtree whose `key` has the value `value` (`Where("name", "ghost")`: an Ingress backend).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    Where(String, String),
}

/// `spec.selector` → [Key(spec), Key(selector)]; `spec.ports.1.targetPort` → an Index between.
pub(crate) fn path(dotted: &str) -> Vec<Step> {
    dotted
        .split('.')
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<usize>() {
            Ok(i) => Step::Index(i),
            Err(_) => Step::Key(s.to_string()),
        })
        .collect()
}

/// Finds positions, reading each manifest file at most once.
#[derive(Default)]
pub(crate) struct Locator {
    files: std::collections::HashMap<String, Option<String>>,
}

impl Locator {
    /// The position of the deepest step of `steps` found in the object at `origin`: at least its
    /// document's first line; `None` for stdin.
    pub(crate) fn locate(&mut self, origin: &Origin, steps: &[Step]) -> Option<Position> {
        if origin.file == "<stdin>" {
            return None;
        }
        let text = self
            .files
            .entry(origin.file.clone())
            .or_insert_with(|| {
                let regular = std::fs::metadata(&origin.file).is_ok_and(|m| m.is_file());
                regular
                    .then(|| std::fs::read_to_string(&origin.file).ok())
                    .flatten()
            })
            .as_deref();
        match text {
            Some(text) => Some(locate_in(text, origin, steps)),
            None => Some(Position {
                file: origin.file.clone(),
                line: origin.line.max(1),
                column: 1,
            }),
        }
    }
}

/// [`Locator::locate`] in the file's `text`.
fn locate_in(text: &str, origin: &Origin, steps: &[Step]) -> Position {
    let at = |line: usize, column: usize| Position {
        file: origin.file.clone(),
        line,
        column,
    };
    let doc_start = origin.line.max(1);
    let document: String = text
        .lines()
        .skip(doc_start - 1)
        .take_while(|l| !(l.starts_with("---") || l.starts_with("...")))
        .collect::<Vec<_>>()
        .join("\n");
    let Ok(root) = serde_saphyr::from_str::<Spanned<Node>>(&document) else {
        return at(doc_start, 1);
    };
    let mut here = (
        root.referenced.line() as usize,
        root.referenced.column() as usize,
    );
    let mut node = &root.value;
    for step in steps {
        match (step, node) {
            (Step::Key(k), Node::Map(entries)) => {
                let Some((key, value)) = entries.iter().find(|(key, _)| key.value == *k) else {
                    break;
                };
                here = (
                    key.referenced.line() as usize,
                    key.referenced.column() as usize,
                );
                node = &value.value;
            }
            (Step::Index(i), Node::Seq(items)) => {
                let Some(item) = items.get(*i) else {
                    break;
                };
                here = (
                    item.referenced.line() as usize,
                    item.referenced.column() as usize,
                );
                node = &item.value;
            }
            (Step::Where(k, v), _) => {
                let Some((key, value)) = find_where(node, k, v) else {
                    break;
                };
                here = (
                    key.referenced.line() as usize,
                    key.referenced.column() as usize,
                );
                node = value;
            }
            _ => break,
        }
    }
    if here.0 == 0 {
        return at(doc_start, 1);
    }
    at(doc_start + here.0 - 1, here.1.max(1))
}

/// The first mapping under `node` whose `key` is the scalar `value`: its key, and the mapping.
fn find_where<'a>(
    node: &'a Node,
    key: &str,
    value: &str,
) -> Option<(&'a Spanned<String>, &'a Node)> {
    match node {
        Node::Map(entries) => {
            if let Some((k, _)) = entries
                .iter()
                .find(|(k, v)| k.value == key && matches!(&v.value, Node::Scalar(s) if s == value))
            {
                return Some((k, node));
            }
            entries
                .iter()
                .find_map(|(_, v)| find_where(&v.value, key, value))
        }
        Node::Seq(items) => items.iter().find_map(|i| find_where(&i.value, key, value)),
        Node::Scalar(_) => None,
    }
}

/// A YAML node with the positions of its keys and items.
#[derive(Debug)]
enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar(String),
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML node")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Scalar>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            let key = Spanned {
                value: key.value.0,
                referenced: key.referenced,
                defined: key.defined,
            };
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(String::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(String::new()))
    }
}

/// A mapping key, whatever scalar it is.
struct Scalar(String);

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(NodeVisitor)? {
            Node::Scalar(s) => Ok(Scalar(s)),
            _ => Err(de::Error::custom("a mapping key that is not a scalar")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_their_document() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.yaml");
        let text = "# a comment\nkind: ConfigMap\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: http\n  - {port: 9090, targetPort: metrics}\n";
        std::fs::write(&file, text).unwrap();
        let origin = Origin {
            file: file.display().to_string(),
            document: 2,
            line: 4,
        };
        let mut locator = Locator::default();
        let mut at = |p: &str| {
            let pos = locator.locate(&origin, &path(p)).unwrap();
            (pos.line, pos.column)
        };
        assert_eq!(at("spec.selector"), (8, 3));
        assert_eq!(at("spec.ports.0.targetPort"), (12, 5));
        // A flow mapping: the key inside the braces.
        assert_eq!(at("spec.ports.1.targetPort"), (13, 18));
        // Not there: the deepest step found.
        assert_eq!(at("spec.externalName"), (7, 1));
        let w = Locator::default()
            .locate(
                &origin,
                &[Step::Where("targetPort".into(), "metrics".into())],
            )
            .unwrap();
        assert_eq!((w.line, w.column), (13, 18));
    }
}
