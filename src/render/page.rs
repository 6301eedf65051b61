//! A runbook page (Markdown) for the terminal: headings set off, paragraphs and list items wrapped
//! to the width with hanging indents, code blocks indented and never wrapped (they are commands),
//! tables fitted to the width. `explain --raw` (or `-o markdown`) prints the Markdown itself.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use owo_colors::OwoColorize;

/// Renders `markdown` for a terminal `width` columns wide.
pub(crate) fn terminal(markdown: &str, width: usize, color: bool) -> String {
    let mut out = Vec::<String>::new();
    let mut paragraph: Vec<String> = Vec::new();
    let mut bullet = false;
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut code = false;
    let flush = |out: &mut Vec<String>, paragraph: &mut Vec<String>, bullet: &mut bool| {
        if paragraph.is_empty() {
            return;
        }
        let text = paragraph.join(" ").replace("**", "");
        let (first, rest) = if *bullet {
            ("  • ", "    ")
        } else {
            ("", "")
        };
        let options = textwrap::Options::new(width.max(30))
            .initial_indent(first)
            .subsequent_indent(rest)
            .break_words(false);
        out.extend(
            textwrap::wrap(&text, options)
                .into_iter()
                .map(|l| l.into_owned()),
        );
        paragraph.clear();
        *bullet = false;
    };
    let end_table = |out: &mut Vec<String>, table: &mut Vec<Vec<String>>| {
        if table.is_empty() {
            return;
        }
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(width.max(30)).unwrap_or(u16::MAX))
            .set_header(table[0].clone());
        for row in &table[1..] {
            t.add_row(row.clone());
        }
        out.extend(t.to_string().lines().map(str::to_string));
        table.clear();
    };
    for line in markdown.lines() {
        if line.starts_with("```") {
            flush(&mut out, &mut paragraph, &mut bullet);
            code = !code;
            continue;
        }
        if code {
            out.push(format!("    {line}"));
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with('|') {
            flush(&mut out, &mut paragraph, &mut bullet);
            let cells: Vec<String> = trimmed
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('`', ""))
                .collect();
            if !cells
                .iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                table.push(cells);
            }
            continue;
        }
        end_table(&mut out, &mut table);
        if let Some(h) = line.strip_prefix("# ").or_else(|| line.strip_prefix("## ")) {
            flush(&mut out, &mut paragraph, &mut bullet);
            if out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
            out.push(if color {
                h.bold().to_string()
            } else {
                h.to_uppercase()
            });
        } else if let Some(item) = line.strip_prefix("- ") {
            flush(&mut out, &mut paragraph, &mut bullet);
            bullet = true;
            paragraph.push(item.to_string());
        } else if trimmed.is_empty() {
            flush(&mut out, &mut paragraph, &mut bullet);
            if out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
        } else {
            paragraph.push(trimmed.to_string());
        }
    }
    flush(&mut out, &mut paragraph, &mut bullet);
    end_table(&mut out, &mut table);
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n") + "\n"
}
