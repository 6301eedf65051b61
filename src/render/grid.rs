//! Tables as every command prints them: one style (comfy-table's condensed box), fitted to the
//! output's width. An identifier — a cell without a space: a name, a selector, a check id, a
//! port — is never broken across lines; prose cells wrap at spaces. When the identifiers alone
//! would not fit, the longest are shortened in the middle with `…` (`shop/cart-5c…-aaaaa`), and
//! the full value stays in `-o json`.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};
use textwrap::core::display_width;

/// No word is shortened below this many columns: a shorter stub names nothing.
const SHORTEST: usize = 6;

/// A table being gathered: its header and rows of text (already sanitised).
pub(crate) struct Grid {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    pub(crate) fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Grid {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table's lines, at most `width` columns wide unless one identifier alone cannot be
    /// shortened enough (then wider, never broken).
    pub(crate) fn render(&self, width: usize) -> String {
        let n = self.header.len();
        // Each column: `│ ` before it, ` ` after it, and the table's closing `│`.
        let room = width.saturating_sub(3 * n + 1);
        // The width a column cannot go below: its whole cells when they are identifiers, else
        // its longest word (a word is never broken either).
        let floor = |rows: &[Vec<String>], c: usize| -> usize {
            let cells = rows.iter().filter_map(|r| r.get(c));
            let identifiers = rows
                .iter()
                .filter_map(|r| r.get(c))
                .all(|s| !s.contains(char::is_whitespace));
            let body = if identifiers {
                cells.map(|s| display_width(s)).max().unwrap_or(0)
            } else {
                cells.map(|s| longest_word(s)).max().unwrap_or(0)
            };
            body.max(longest_word(&self.header[c]))
        };
        let floors: Vec<usize> = (0..n).map(|c| floor(&self.rows, c)).collect();
        // The largest word length every column can keep and still fit.
        let cap = if floors.iter().sum::<usize>() <= room {
            usize::MAX
        } else {
            let widest = floors.iter().copied().max().unwrap_or(0);
            (SHORTEST..=widest)
                .rev()
                .find(|cap| floors.iter().map(|f| (*f).min(*cap)).sum::<usize>() <= room)
                .unwrap_or(SHORTEST)
        };
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|cell| shorten_words(cell, cap)).collect())
            .collect();
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(width).unwrap_or(u16::MAX))
            .set_header(self.header.clone());
        for r in &rows {
            table.add_row(r.clone());
        }
        for c in 0..n {
            // comfy-table's widths count the cell's padding (one space each side).
            let floor = floor(&rows, c) + 2;
            if let Some(col) = table.column_mut(c) {
                col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
                    u16::try_from(floor).unwrap_or(u16::MAX),
                )));
            }
        }
        table.to_string()
    }
}

fn longest_word(s: &str) -> usize {
    s.split_whitespace().map(display_width).max().unwrap_or(0)
}

/// `cell` with every word wider than `cap` shortened to `cap` columns (spaces kept).
fn shorten_words(cell: &str, cap: usize) -> String {
    if longest_word(cell) <= cap {
        return cell.to_string();
    }
    let mut out = String::with_capacity(cell.len());
    let mut word = String::new();
    for c in cell.chars() {
        if c.is_whitespace() {
            out.push_str(&shorten(&word, cap));
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.push_str(&shorten(&word, cap));
    out
}

/// `s` in at most `cap` columns: its start and its end around `…` (a name's distinct parts are
/// often a prefix and a generated suffix: `frontend-7d9f…-abcde`).
fn shorten(s: &str, cap: usize) -> String {
    if display_width(s) <= cap {
        return s.to_string();
    }
    let keep = cap.saturating_sub(1);
    let tail_width = keep / 2;
    let head_width = keep - tail_width;
    let mut head = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = display_width(c.encode_utf8(&mut [0; 4]));
        if w + cw > head_width {
            break;
        }
        w += cw;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut w = 0;
    for c in s.chars().rev() {
        let cw = display_width(c.encode_utf8(&mut [0; 4]));
        if w + cw > tail_width {
            break;
        }
        w += cw;
        tail.push(c);
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(s: &str) -> usize {
        s.lines().map(display_width).max().unwrap_or(0)
    }

    #[test]
    fn identifiers_stay_whole_and_prose_wraps() {
        let mut g = Grid::new(["service", "check", "finding"]);
        g.row([
            "shop/checkout-gateway",
            "service.selector",
            "the selector app=checkout matches no pod; 3 pods have app=check-out",
        ]);
        for width in [60, 80, 120] {
            let out = g.render(width);
            assert!(widest(&out) <= width, "{width}:\n{out}");
            for id in ["shop/checkout-gateway", "service.selector", "app=check-out"] {
                assert!(
                    out.lines().any(|l| l.contains(id)),
                    "{id} broken at {width}:\n{out}"
                );
            }
        }
    }

    #[test]
    fn identifiers_too_wide_together_are_shortened_in_the_middle() {
        let long = "payments-east/ledger-reconciliation-worker-7d9f5c6b8-abcde";
        let mut g = Grid::new(["from", "to", "verdict"]);
        g.row([long, long, "denied by default"]);
        let out = g.render(60);
        assert!(widest(&out) <= 60, "{out}");
        assert!(!out.contains(long), "{out}");
        // Kept: a start and the generated suffix, never a line break inside.
        assert!(out.contains('…'), "{out}");
        for line in out.lines().filter(|l| l.contains('…')) {
            let cell = line.split(['│', '┆']).nth(1).unwrap().trim();
            assert!(cell.starts_with("payments"), "{line}");
            assert!(cell.ends_with("abcde"), "{line}");
        }
    }

    #[test]
    fn shorten_keeps_both_ends() {
        assert_eq!(shorten("frontend-7d9f5c-abcde", 12), "fronte…abcde");
        assert_eq!(shorten("short", 12), "short");
        assert_eq!(display_width(&shorten("ａｂｃｄｅｆｇｈｉｊ", 9)), 9);
    }
}
