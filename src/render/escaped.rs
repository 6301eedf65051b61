//! JSON and YAML that stay honest when shown raw: `-o json | less` or a CI log must not reorder or
//! hide text either. Both writers escape every character [`crate::text::hidden`] names — C0 and C1
//! controls, bidirectional marks, zero-width and other invisible characters — as `\uXXXX`, which
//! every JSON and YAML reader turns back into the same string. (serde_json escapes only C0
//! controls; serde-saphyr prints bidirectional marks raw and cannot be told otherwise, so YAML is
//! written here, from the same serde data.)

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::text::hidden;

/// Pretty JSON, as `serde_json::to_writer_pretty`, with hidden characters escaped.
pub(crate) fn json_pretty<T: Serialize + ?Sized>(out: &mut dyn Write, v: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(
        out,
        Escaping(serde_json::ser::PrettyFormatter::new()),
    );
    v.serialize(&mut ser).map_err(json_io)
}

/// One-line JSON, as `serde_json::to_writer`, with hidden characters escaped.
pub(crate) fn json_line<T: Serialize + ?Sized>(out: &mut dyn Write, v: &T) -> io::Result<()> {
    let mut ser =
        serde_json::Serializer::with_formatter(out, Escaping(serde_json::ser::CompactFormatter));
    v.serialize(&mut ser).map_err(json_io)
}

/// Hidden characters, and the line and paragraph separators (which end a line in some readers
/// and JavaScript before ES2019).
fn must_escape(c: char) -> bool {
    hidden(c) || c == '\u{2028}' || c == '\u{2029}'
}

/// serde_json's error as an io::Error of the same kind: a broken pipe stays one (and the exit code
/// stays the diagnosis').
fn json_io(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::from(kind),
        None => io::Error::other(e),
    }
}

/// A formatter that escapes hidden characters and otherwise formats as `F` does.
struct Escaping<F>(F);

/// `\uXXXX`, a character past the Basic Multilingual Plane as its UTF-16 surrogate pair (JSON
/// has no other escape for it).
fn write_escaped<W: ?Sized + Write>(w: &mut W, c: char) -> io::Result<()> {
    let mut units = [0u16; 2];
    for u in c.encode_utf16(&mut units) {
        write!(w, "\\u{:04x}", u)?;
    }
    Ok(())
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if must_escape(c) {
                w.write_all(&s.as_bytes()[start..i])?;
                write_escaped(w, c)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&s.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// A YAML document of `v`: block mappings and sequences in the order serde gives them, strings
/// plain only when no YAML reader could take them for anything else, otherwise double-quoted with
/// JSON's escapes (valid YAML escapes) and hidden characters escaped.
pub(crate) fn yaml<T: Serialize + ?Sized>(out: &mut dyn Write, v: &T) -> io::Result<()> {
    let value = serde_json::to_value(v).map_err(io::Error::other)?;
    let mut text = String::new();
    match &value {
        Value::Object(m) if !m.is_empty() => mapping(&mut text, m, 0),
        Value::Array(a) if !a.is_empty() => sequence(&mut text, a, 0),
        scalar => {
            text.push_str(&inline(scalar));
            text.push('\n');
        }
    }
    out.write_all(text.as_bytes())
}

fn mapping(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    let mut first = true;
    for (k, v) in m {
        if !first {
            out.push_str(&" ".repeat(indent));
        }
        first = false;
        out.push_str(&string(k));
        out.push(':');
        value(out, v, indent, true);
    }
}

fn sequence(out: &mut String, a: &[Value], indent: usize) {
    let mut first = true;
    for v in a {
        if !first {
            out.push_str(&" ".repeat(indent));
        }
        first = false;
        out.push('-');
        value(out, v, indent, false);
    }
}

/// A value after `key:` or `-`, on the same line when inline, else on the lines below.
fn value(out: &mut String, v: &Value, indent: usize, in_mapping: bool) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            if in_mapping {
                out.push('\n');
                out.push_str(&" ".repeat(indent + 2));
            } else {
                out.push(' ');
            }
            mapping(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            if in_mapping {
                // A sequence under a key, indented below it, as kubectl prints them.
                out.push('\n');
                out.push_str(&" ".repeat(indent + 2));
            } else {
                out.push(' ');
            }
            sequence(out, a, indent + 2);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Plain when it can only be read as this string, else double-quoted.
fn string(s: &str) -> String {
    if plain(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if must_escape(c) => crate::text::push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Words YAML 1.1 or 1.2 readers take for booleans or null (`on` is a boolean to PyYAML).
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// Whether a string may be written plain: it starts with a letter or `/` (so never a number, a
/// date, an indicator or an alias), holds only letters, digits, spaces and `._/-@+=,()`,
/// has no leading or trailing space, and is no reserved word.
fn plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_alphabetic() || first == '/')
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| (c.is_alphanumeric() && !hidden(c)) || " ._/-@+=,()".contains(c))
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml_of(v: &Value) -> String {
        let mut out = Vec::new();
        yaml(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn yaml_reads_back_as_the_same_data_and_keeps_key_order() {
        let v = serde_json::json!({
            "zeta": "first key",
            "apiVersion": "netdoctor.io/v1",
            "n": 3, "f": 1.5, "ok": true, "none": null,
            "empty": {}, "list": [],
            "tricky": ["yes", "On", "1.2.3", "10.0.0.1", "- x", "a: b", "#c", "", " lead", "-1",
                       "2001-12-14", "x #y", "*alias", "&a", "!tag", "'q'", "\"dq\"", "a\\b",
                       "two\nlines", "tab\there", "0x1F", "~", ".inf", "@at", "é"],
            "items": [{"name": "a", "checks": [{"id": "x", "fix": ["kubectl get pods"]}]},
                      [1, [2, 3]], {"deep": {"deeper": {"k": "v"}}}],
            "hidden": "a\u{202E}b\u{200B}c\u{9b}d\u{1b}e\u{E0041}f\u{2028}g",
        });
        let text = yaml_of(&v);
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, v, "{text}");
        let keys: Vec<&String> = back.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "zeta", "{text}");
        assert!(
            text.starts_with("zeta: first key\napiVersion: netdoctor.io/v1\n"),
            "{text}"
        );
        for c in text.chars() {
            assert!(!hidden(c) || c == '\n', "{c:?} printed raw in {text}");
        }
        assert!(
            text.contains(r#""a\u202eb\u200bc\u009bd\u001be\U000e0041f\u2028g""#),
            "{text}"
        );
    }

    #[test]
    fn json_escapes_what_serde_json_prints_raw() {
        let v = serde_json::json!({"m": "a\u{202E}b\u{9b}c\u{E0041}d\u{1b}\u{2028}"});
        let mut out = Vec::new();
        json_line(&mut out, &v).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#"{"m":"a\u202eb\u009bc\udb40\udc41d\u001b\u2028"}"#);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
        let mut out = Vec::new();
        json_pretty(&mut out, &v).unwrap();
        let pretty = String::from_utf8(out).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), v);
        assert!(pretty.contains("\n  \"m\""), "{pretty}");
    }
}
