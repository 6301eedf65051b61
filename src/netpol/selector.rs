//! `metav1.LabelSelector` for NetworkPolicy: matchLabels and matchExpressions (In, NotIn, Exists,
//! DoesNotExist), where an empty selector selects everything. Evaluated over labels that may be
//! only partly known (a namespace offline: only its `kubernetes.io/metadata.name`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// The label every namespace carries, set by the API server (immutable since 1.22).
pub(crate) const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

/// A validated selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Selector {
    terms: Vec<(String, Op)>,
}

/// Labels as far as they are known.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Labels<'a> {
    Known(&'a BTreeMap<String, String>),
    /// Only these labels are known; any other key is unknown (not absent).
    Partial(&'a BTreeMap<String, String>),
}

/// A tri-state match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    Yes,
    No,
    Unknown,
}

impl Selector {
    /// Validates a selector the way the API server does (keys, operators, values).
    pub(crate) fn compile(sel: &LabelSelector) -> Result<Self, String> {
        let mut terms = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            validate_key(k)?;
            validate_value(v)?;
            terms.push((k.clone(), Op::In(vec![v.clone()])));
        }
        for e in sel.match_expressions.iter().flatten() {
            validate_key(&e.key)?;
            let values = e.values.clone().unwrap_or_default();
            let op = match e.operator.as_str() {
                "In" | "NotIn" => {
                    if values.is_empty() {
                        return Err(format!(
                            "matchExpressions {}: operator {} needs values",
                            e.key, e.operator
                        ));
                    }
                    for v in &values {
                        validate_value(v)?;
                    }
                    if e.operator == "In" {
                        Op::In(values)
                    } else {
                        Op::NotIn(values)
                    }
                }
                "Exists" | "DoesNotExist" => {
                    if !values.is_empty() {
                        return Err(format!(
                            "matchExpressions {}: operator {} takes no values",
                            e.key, e.operator
                        ));
                    }
                    if e.operator == "Exists" {
                        Op::Exists
                    } else {
                        Op::DoesNotExist
                    }
                }
                other => {
                    return Err(format!(
                        "matchExpressions {}: unknown operator {other:?}",
                        e.key
                    ));
                }
            };
            terms.push((e.key.clone(), op));
        }
        Ok(Selector { terms })
    }

    /// Selects everything.
    #[cfg(test)]
    pub(crate) fn everything() -> Self {
        Selector { terms: Vec::new() }
    }

    /// Adds the label keys this selector reads, each with the values it names (none for
    /// `Exists`/`DoesNotExist`): a value it does not name matters to it only as "present".
    pub(crate) fn mentions(&self, out: &mut BTreeMap<String, BTreeSet<String>>) {
        for (key, op) in &self.terms {
            let values = out.entry(key.clone()).or_default();
            if let Op::In(vs) | Op::NotIn(vs) = op {
                values.extend(vs.iter().cloned());
            }
        }
    }

    pub(crate) fn is_everything(&self) -> bool {
        self.terms.is_empty()
    }

    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_partial(Labels::Known(labels)) == Match::Yes
    }

    pub(crate) fn matches_partial(&self, labels: Labels<'_>) -> Match {
        let (map, partial) = match labels {
            Labels::Known(m) => (m, false),
            Labels::Partial(m) => (m, true),
        };
        let mut unknown = false;
        for (key, op) in &self.terms {
            let value = map.get(key);
            if value.is_none() && partial {
                unknown = true;
                continue;
            }
            let ok = match op {
                Op::In(vs) => value.is_some_and(|v| vs.contains(v)),
                Op::NotIn(vs) => value.is_none_or(|v| !vs.contains(v)),
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
            };
            if !ok {
                return Match::No;
            }
        }
        if unknown { Match::Unknown } else { Match::Yes }
    }
}

impl std::fmt::Display for Selector {
    /// kubectl's notation: `app=web,tier in (a,b),!legacy`; `{}` for everything.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.terms.is_empty() {
            return f.write_str("{}");
        }
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|(k, op)| match op {
                Op::In(vs) if vs.len() == 1 => format!("{k}={}", vs[0]),
                Op::In(vs) => format!("{k} in ({})", vs.join(",")),
                Op::NotIn(vs) => format!("{k} notin ({})", vs.join(",")),
                Op::Exists => k.clone(),
                Op::DoesNotExist => format!("!{k}"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

/// A qualified name: optional DNS-subdomain prefix and '/', then 1-63 name characters that begin
/// and end alphanumeric.
fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        let ok = !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !ok {
            return Err(format!("invalid label key {key:?}: bad prefix"));
        }
    }
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(is_name_char)
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

fn validate_value(v: &str) -> Result<(), String> {
    let ok = v.is_empty()
        || (v.len() <= 63
            && v.chars().all(is_name_char)
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid label value {v:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn empty_selects_everything_and_expressions_follow_upstream() {
        let all = Selector::compile(&LabelSelector::default()).unwrap();
        assert!(all.matches(&labels(&[])));
        let sel = Selector::compile(&LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            match_expressions: Some(vec![
                expr("tier", "In", &["a", "b"]),
                expr("env", "NotIn", &["prod"]),
                expr("team", "Exists", &[]),
                expr("legacy", "DoesNotExist", &[]),
            ]),
        })
        .unwrap();
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "a"), ("team", "x")])));
        // NotIn matches a missing key.
        assert!(sel.matches(&labels(&[
            ("app", "web"),
            ("tier", "b"),
            ("team", "x"),
            ("env", "dev")
        ])));
        assert!(!sel.matches(&labels(&[
            ("app", "web"),
            ("tier", "b"),
            ("team", "x"),
            ("env", "prod")
        ])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "c"), ("team", "x")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "a")])));
        assert!(!sel.matches(&labels(&[
            ("app", "web"),
            ("tier", "a"),
            ("team", "x"),
            ("legacy", "1")
        ])));
        assert_eq!(
            sel.to_string(),
            "app=web,tier in (a,b),env notin (prod),team,!legacy"
        );
    }

    #[test]
    fn partial_labels_answer_unknown_only_when_it_matters() {
        let name_only = labels(&[(NAMESPACE_NAME_LABEL, "y")]);
        let by_name = Selector::compile(&LabelSelector {
            match_labels: Some([(NAMESPACE_NAME_LABEL.to_string(), "y".to_string())].into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            by_name.matches_partial(Labels::Partial(&name_only)),
            Match::Yes
        );
        let by_team = Selector::compile(&LabelSelector {
            match_labels: Some([("team".to_string(), "ops".to_string())].into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            by_team.matches_partial(Labels::Partial(&name_only)),
            Match::Unknown
        );
        assert_eq!(
            by_team.matches_partial(Labels::Known(&name_only)),
            Match::No
        );
        assert_eq!(
            Selector::everything().matches_partial(Labels::Partial(&name_only)),
            Match::Yes
        );
    }

    #[test]
    fn invalid_selectors_are_errors() {
        let bad = |sel: LabelSelector| Selector::compile(&sel).is_err();
        assert!(bad(LabelSelector {
            match_labels: Some([("bad key!".into(), "x".into())].into()),
            ..Default::default()
        }));
        assert!(bad(LabelSelector {
            match_labels: Some([("a".into(), "-x".into())].into()),
            ..Default::default()
        }));
        assert!(bad(LabelSelector {
            match_expressions: Some(vec![expr("a", "In", &[])]),
            ..Default::default()
        }));
        assert!(bad(LabelSelector {
            match_expressions: Some(vec![expr("a", "Exists", &["x"])]),
            ..Default::default()
        }));
        assert!(bad(LabelSelector {
            match_expressions: Some(vec![expr("a", "Equals", &["x"])]),
            ..Default::default()
        }));
        assert!(bad(LabelSelector {
            match_labels: Some([("Example.com/a".into(), "x".into())].into()),
            ..Default::default()
        }));
        assert!(!bad(LabelSelector {
            match_labels: Some([("app.kubernetes.io/name".into(), "x".into())].into()),
            ..Default::default()
        }));
    }
}
