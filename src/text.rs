//! Text helpers: sanitising cluster-supplied strings for a terminal, and small formatting aids.

use std::collections::BTreeMap;

/// Strips every control character (ESC, CSI, BEL, carriage return, …) from a string that came from
/// the cluster or a manifest, so that nothing it holds can drive the terminal. Newlines, tabs and
/// the Unicode line and paragraph separators become spaces: every field is printed on its own line
/// by the renderer, and a message must not start a line of its own ("VERDICT: PASS").
/// Invisible characters that change how text reads or what it seems to say go: bidirectional
/// marks and overrides, zero-width characters, the byte-order mark, and the noncharacters
/// U+FFFE/U+FFFF (which also make XML ill-formed).
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' | '\t' | '\u{2028}' | '\u{2029}' | '\u{85}' => Some(' '),
            c if c.is_control() => None,
            '\u{200B}'..='\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFFE}'
            | '\u{FFFF}' => None,
            c => Some(c),
        })
        .collect()
}

/// `app=postgres,tier=db`, keys in order: how kubectl prints a selector.
pub(crate) fn labels(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// "1 pod", "2 pods".
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Quotes a string for a POSIX shell when it needs it, so printed commands can be pasted.
pub(crate) fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// How many near names a "did you mean" offers.
const MAX_SUGGESTIONS: usize = 3;

/// Names within edit distance, closest first: typos, and prefixes like "cart" for "cart-api".
pub(crate) fn near_names(wanted: &str, names: &[String]) -> Vec<String> {
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .filter(|n| n.as_str() != wanted)
        .filter_map(|n| {
            let d = strsim::damerau_levenshtein(wanted, n);
            let related = n.starts_with(wanted) || wanted.starts_with(n.as_str());
            (d <= limit || related).then_some((d, n))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, n)| n.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_removes_escape_sequences_and_controls() {
        assert_eq!(sanitize("ok\x1b[31mred\x1b[0m"), "ok[31mred[0m");
        assert_eq!(sanitize("a\rb\x07c\x00d"), "abcd");
        assert_eq!(sanitize("two\nlines\tand tab"), "two lines and tab");
        assert_eq!(sanitize("x\u{202E}y\u{9b}z"), "xyz");
        assert_eq!(sanitize("café ✔"), "café ✔");
        // Marks that reorder or hide text, and line separators that would start a line.
        assert_eq!(
            sanitize("a\u{200E}b\u{200F}c\u{061C}d\u{200B}e\u{FEFF}f\u{2060}g"),
            "abcdefg"
        );
        assert_eq!(
            sanitize("x\u{2028}VERDICT: PASS\u{2029}y\u{85}z"),
            "x VERDICT: PASS y z"
        );
        assert_eq!(sanitize("bad\u{FFFE}\u{FFFF}xml"), "badxml");
    }

    #[test]
    fn shell_quote_only_when_needed() {
        assert_eq!(shell_quote("app=web"), "app=web");
        assert_eq!(shell_quote(r#"{"a":1}"#), r#"'{"a":1}'"#);
        assert_eq!(shell_quote("it's"), r#"'it'\''s'"#);
    }

    #[test]
    fn near_names_catch_typos_and_prefixes_but_not_strangers() {
        let names: Vec<String> = ["cart", "cart-api", "carts", "checkout", "db"]
            .map(String::from)
            .into();
        assert_eq!(near_names("crat", &names), vec!["cart", "carts"]);
        let near = near_names("cart", &names);
        assert!(near.contains(&"carts".to_string()) && near.contains(&"cart-api".to_string()));
        assert!(!near.contains(&"checkout".to_string()));
        assert!(near_names("zzzzzz", &names).is_empty());
    }
}
