//! Text helpers: sanitising cluster-supplied strings for a terminal, and small formatting aids.

use std::collections::BTreeMap;

/// Makes a string that came from the cluster or a manifest safe and honest on a terminal: nothing
/// it holds can drive the terminal, and nothing it holds is invisible. Newlines, tabs, carriage
/// returns and the Unicode line and paragraph separators become spaces (every field is printed on
/// its own line by the renderer, and a message must not start a line of its own: "VERDICT: PASS").
/// Every other control character (ESC, CSI, BEL, …) and every character that is invisible or
/// changes how text reads — bidirectional marks and overrides, zero-width characters, the
/// byte-order mark, soft hyphens, Hangul fillers, variation selectors, TAG characters, the
/// noncharacters U+FFFE/U+FFFF, and combining marks past [`MAX_MARKS`] on one letter — is shown
/// escaped (`we\u200bb`), never dropped: two different values must not read the same.
pub(crate) fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut marks = 0;
    for c in s.chars() {
        if unicode_normalization::char::is_combining_mark(c) {
            marks += 1;
            if marks > MAX_MARKS {
                push_escaped(&mut out, c);
                continue;
            }
        } else {
            marks = 0;
        }
        match c {
            '\n' | '\t' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => out.push(' '),
            c if hidden(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Combining marks one letter may carry before the rest are shown escaped: enough for every
/// script's stacked diacritics (Vietnamese uses two), not for a "Zalgo" flood that paints over
/// the lines around it.
pub(crate) const MAX_MARKS: usize = 4;

/// Whether a character is a control character or one that prints as nothing or reorders text:
/// the Unicode Default_Ignorable_Code_Point property (DerivedCoreProperties.txt: soft hyphen,
/// combining grapheme joiner, Arabic letter mark, Hangul fillers, Mongolian selectors, zero-width
/// and bidirectional marks, invisible operators, variation selectors, the BOM, TAG characters),
/// plus the noncharacters U+FFFE/U+FFFF (which also make XML ill-formed).
pub(crate) fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{AD}'
                | '\u{34F}'
                | '\u{61C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{FFFE}'..='\u{FFFF}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// `\u200b` for a character of the Basic Multilingual Plane, `\U000e0041` past it: the escapes
/// JSON, YAML and Python read back.
pub(crate) fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    let n = u32::from(c);
    if n <= 0xFFFF {
        let _ = write!(out, "\\u{n:04x}");
    } else {
        let _ = write!(out, "\\U{n:08x}");
    }
}

/// Names what makes two different strings look alike, for a near miss shown side by side:
/// `Cyrillic е (U+0435) where the selector has Latin e (U+0065)`, or the invisible characters
/// one holds. `None` when they differ visibly (or not at all).
pub(crate) fn lookalike(have: &str, want: &str, whose: &str) -> Option<String> {
    if have == want {
        return None;
    }
    let skeleton = |s: &str| -> String {
        unicode_security::skeleton(s)
            .filter(|c| !hidden(*c))
            .collect()
    };
    if skeleton(have) != skeleton(want) {
        return None;
    }
    let invisible: Vec<String> = have
        .chars()
        .filter(|c| hidden(*c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    let (a, b): (Vec<char>, Vec<char>) = (
        have.chars().filter(|c| !hidden(*c)).collect(),
        want.chars().filter(|c| !hidden(*c)).collect(),
    );
    let mut parts = Vec::new();
    if a.len() == b.len() {
        for (x, y) in a.iter().zip(&b).filter(|(x, y)| x != y) {
            parts.push(format!(
                "{} {x} (U+{:04X}) where {whose} has {} {y} (U+{:04X})",
                script(*x),
                u32::from(*x),
                script(*y),
                u32::from(*y)
            ));
        }
    }
    if !invisible.is_empty() {
        parts.push(format!("invisible {}", invisible.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// "Cyrillic", "Greek", "Latin": the script a character belongs to, as Unicode names it.
fn script(c: char) -> &'static str {
    use unicode_script::UnicodeScript;
    match c.script() {
        unicode_script::Script::Common => "common",
        s => s.full_name(),
    }
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

/// How many names a sentence lists before it counts the rest.
pub(crate) const MAX_NAMED: usize = 5;

/// `a, b, c` — or, past [`MAX_NAMED`], `a, b, c, d, e and 9,995 more`: a sentence stays a
/// sentence when ten thousand policies select a pod (the evidence lists them all).
pub(crate) fn some_of(items: &[String], sep: &str) -> String {
    if items.len() <= MAX_NAMED {
        return items.join(sep);
    }
    format!(
        "{} and {} more",
        items[..MAX_NAMED].join(sep),
        thousands(items.len() - MAX_NAMED)
    )
}

/// `a`, `a or b`, `a, b or c`: the choices of a sentence.
pub(crate) fn either(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// 9995 → "9,995".
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    fn sanitize_shows_what_it_cannot_print_escaped() {
        // ESC and the C1 CSI cannot drive the terminal; what they were stays readable.
        assert_eq!(sanitize("ok\x1b[31mred"), "ok\\u001b[31mred");
        assert_eq!(sanitize("a\x07c\x00d\u{9b}e"), "a\\u0007c\\u0000d\\u009be");
        assert_eq!(sanitize("two\nlines\tand\rtab"), "two lines and tab");
        assert_eq!(sanitize("café ✔ Grüße"), "café ✔ Grüße");
        // Two values that differ by an invisible character must not read the same.
        assert_eq!(sanitize("we\u{200B}b"), "we\\u200bb");
        assert_ne!(sanitize("we\u{200B}b"), sanitize("web"));
        assert_eq!(sanitize("x\u{202E}y\u{2066}z"), "x\\u202ey\\u2066z");
        assert_eq!(
            sanitize("soft\u{AD}hy\u{3164}\u{FE0F}\u{E0041}"),
            "soft\\u00adhy\\u3164\\ufe0f\\U000e0041"
        );
        assert_eq!(
            sanitize("x\u{2028}VERDICT: PASS\u{2029}y\u{85}z"),
            "x VERDICT: PASS y z"
        );
        assert_eq!(sanitize("bad\u{FFFE}xml"), "bad\\ufffexml");
        // Vietnamese stacks two marks on one letter (decomposed here); a flood is cut short.
        assert_eq!(sanitize("e\u{302}\u{301}"), "e\u{302}\u{301}");
        let zalgo = format!("a{}", "\u{301}".repeat(40));
        let shown = sanitize(&zalgo);
        assert_eq!(shown.matches('\u{301}').count(), MAX_MARKS);
        assert_eq!(shown.matches("\\u0301").count(), 40 - MAX_MARKS);
    }

    #[test]
    fn lookalikes_are_named_by_script() {
        // "wеb" with a Cyrillic е (U+0435) is not "web".
        let note = lookalike("w\u{435}b", "web", "the selector").unwrap();
        assert_eq!(
            note,
            "Cyrillic е (U+0435) where the selector has Latin e (U+0065)"
        );
        let note = lookalike("we\u{200B}b", "web", "the selector").unwrap();
        assert_eq!(note, "invisible U+200B");
        assert_eq!(lookalike("web", "web", "x"), None);
        assert_eq!(lookalike("api", "web", "x"), None);
    }

    #[test]
    fn long_lists_are_counted_past_five_names() {
        let names: Vec<String> = (0..10_000).map(|i| format!("p{i}")).collect();
        assert_eq!(some_of(&names[..2], ", "), "p0, p1");
        assert_eq!(some_of(&names[..5], ", "), "p0, p1, p2, p3, p4");
        assert_eq!(some_of(&names[..6], ", "), "p0, p1, p2, p3, p4 and 1 more");
        assert_eq!(some_of(&names, "; "), "p0; p1; p2; p3; p4 and 9,995 more");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
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
