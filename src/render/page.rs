//! A runbook page (Markdown) for the terminal: headings set off, paragraphs and list items wrapped
//! to the width with hanging indents, code blocks indented and never wrapped (they are commands),
//! tables fitted to the width. `explain --raw` (or `-o markdown`) prints the Markdown itself.

use owo_colors::OwoColorize;

/// Renders `markdown` for a terminal `width` columns wide.
pub(crate) fn terminal(markdown: &str, width: usize, color: bool) -> String {
    let mut page = Page {
        width: width.max(30),
        color,
        out: Vec::new(),
        paragraph: Vec::new(),
        bullet: false,
        table: Vec::new(),
    };
    let mut code = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            page.flush();
            code = !code;
        } else if code {
            page.out.push(format!("    {line}"));
        } else {
            page.line(line);
        }
    }
    page.flush();
    page.end_table();
    let mut out = page.out;
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n") + "\n"
}

/// A page being laid out: the lines so far, and the paragraph or table being gathered.
struct Page {
    width: usize,
    color: bool,
    out: Vec<String>,
    paragraph: Vec<String>,
    /// The paragraph is a list item.
    bullet: bool,
    table: Vec<Vec<String>>,
}

impl Page {
    /// One Markdown line outside a code block.
    fn line(&mut self, line: &str) {
        let trimmed = line.trim();
        if trimmed.starts_with('|') {
            self.flush();
            let cells: Vec<String> = trimmed
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('`', ""))
                .collect();
            // The |---|---| line under the header.
            if !cells
                .iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                self.table.push(cells);
            }
            return;
        }
        self.end_table();
        if let Some(h) = line.strip_prefix("# ").or_else(|| line.strip_prefix("## ")) {
            self.flush();
            self.blank();
            self.out.push(if self.color {
                h.bold().to_string()
            } else {
                h.to_uppercase()
            });
        } else if let Some(h) = line.strip_prefix("### ") {
            // A finding's section (ND1108 — title): its own line, bold on a terminal.
            self.flush();
            self.blank();
            self.out.push(if self.color {
                h.bold().to_string()
            } else {
                h.to_string()
            });
        } else if let Some(item) = line.strip_prefix("- ") {
            self.flush();
            self.bullet = true;
            self.paragraph.push(item.to_string());
        } else if trimmed.is_empty() {
            self.flush();
            self.blank();
        } else {
            self.paragraph.push(trimmed.to_string());
        }
    }

    /// One empty line, never two.
    fn blank(&mut self) {
        if self.out.last().is_some_and(|l| !l.is_empty()) {
            self.out.push(String::new());
        }
    }

    /// The paragraph (or list item) gathered so far, wrapped with a hanging indent.
    fn flush(&mut self) {
        if self.paragraph.is_empty() {
            return;
        }
        let text = self.paragraph.join(" ").replace("**", "");
        let (first, rest) = if self.bullet {
            ("  • ", "    ")
        } else {
            ("", "")
        };
        let options = textwrap::Options::new(self.width)
            .initial_indent(first)
            .subsequent_indent(rest)
            .break_words(false);
        self.out.extend(
            textwrap::wrap(&text, options)
                .into_iter()
                .map(|l| l.into_owned()),
        );
        self.paragraph.clear();
        self.bullet = false;
    }

    /// The table gathered so far, fitted to the width.
    fn end_table(&mut self) {
        if self.table.is_empty() {
            return;
        }
        let mut t = super::grid::Grid::new(self.table[0].clone());
        for row in &self.table[1..] {
            t.row(row.clone());
        }
        self.out
            .extend(t.render(self.width).lines().map(str::to_string));
        self.table.clear();
    }
}
