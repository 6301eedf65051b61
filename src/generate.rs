//! Generated files: the man pages (man/), produced from the clap definitions so they never
//! drift (a test regenerates them and fails when the committed copies are stale;
//! `NETDOCTOR_REGENERATE=1 cargo test` rewrites them), and the command tree shell completion
//! reads.

use clap::CommandFactory;

use crate::cli::Cli;

/// The shells we ship completion scripts for (completions/).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// A shell's completion script: each asks the binary (`__complete`, [`crate::complete`]) for the
/// candidates. Bash's also carries clap_complete's static completion of the command tree, which
/// it falls back to when the binary cannot be run (commands, flags, formats and check ids need no
/// cluster); a test keeps the committed file current.
pub(crate) fn completions(shell: Shell) -> Vec<u8> {
    match shell {
        Shell::Bash => bash().into_bytes(),
        Shell::Zsh => include_bytes!("../completions/_kubectl-netdoctor").to_vec(),
        Shell::Fish => include_bytes!("../completions/kubectl-netdoctor.fish").to_vec(),
    }
}

/// The bash script: the function that asks the binary and registers itself, then the static
/// table it falls back to (`_kubectl_netdoctor_static`).
fn bash() -> String {
    let mut cmd = for_completion("kubectl-netdoctor");
    let mut table = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::Bash,
        &mut cmd,
        "kubectl-netdoctor",
        &mut table,
    );
    let table = String::from_utf8_lossy(&table)
        // clap_complete names the functions of subcommands with "__subcmd__" for the binary's
        // '-' but dispatches to them with "__": one spelling, or no subcommand would complete.
        .replace("kubectl__subcmd__netdoctor", "kubectl__netdoctor")
        .replace("_kubectl__netdoctor() {", "_kubectl_netdoctor_static() {");
    // Its own `complete` registration (with file names as the default) is not ours.
    let table = match table.find("\nif [[ \"${BASH_VERSINFO[0]}\"") {
        Some(end) => &table[..end + 1],
        None => &table[..],
    };
    format!(
        "{}\n# The static table: clap_complete's completion of the command-line definition.\n{table}",
        include_str!("complete.bash")
    )
}

/// The command tree as a shell completes it: named after the binary (the help says "kubectl
/// netdoctor", a name with a space no shell can complete), without the hidden commands (`agent`,
/// `completions`, `man`), which clap_complete would otherwise offer.
pub(crate) fn for_completion(bin: &'static str) -> clap::Command {
    let full = Cli::command();
    let output = full
        .get_arguments()
        .find(|a| a.get_id() == "output")
        .cloned()
        .expect("the -o flag");
    let ids: Vec<&'static str> = crate::checks::REGISTRY.iter().map(|c| c.id).collect();
    let visible: Vec<clap::Command> = full
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| {
            // -o offers what this command prints, not every format.
            let names: Vec<&'static str> = crate::config::output_formats(s.get_name())
                .iter()
                .map(|f| f.name())
                .collect();
            let s = s.clone().arg(
                output
                    .clone()
                    .global(false)
                    .value_parser(clap::builder::PossibleValuesParser::new(names)),
            );
            if s.get_name() == "explain" {
                s.mut_arg("check", |a| {
                    a.value_parser(clap::builder::PossibleValuesParser::new(ids.clone()))
                })
            } else {
                s
            }
        })
        .collect();
    let mut root = clap::Command::new(bin)
        .bin_name(bin)
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(visible);
    if let Some(about) = full.get_about() {
        root = root.about(about.clone());
    }
    root
}

pub(crate) fn man() -> std::io::Result<Vec<u8>> {
    Ok(man_pages()?.swap_remove(0).1)
}

/// Every man page: kubectl-netdoctor(1), one per command (kubectl-netdoctor-svc(1), …) with its
/// options and EXAMPLES, and kubectl-netdoctor-checks(7) from the runbook pages.
pub(crate) fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let root = crate::cli::command()
        .name("kubectl-netdoctor")
        .display_name("kubectl-netdoctor")
        .bin_name("kubectl netdoctor");
    let subcommands: Vec<&clap::Command> = root
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    let mut pages = vec![(
        "kubectl-netdoctor.1".to_string(),
        page(&root, None, &subcommands)?,
    )];
    for sub in &subcommands {
        let name: &'static str =
            Box::leak(format!("kubectl-netdoctor-{}", sub.get_name()).into_boxed_str());
        let cmd = (*sub).clone().name(name).display_name(name);
        pages.push((
            format!("{name}.1"),
            page(&cmd, Some(sub.get_name()), &subcommands)?,
        ));
    }
    pages.push(("kubectl-netdoctor-checks.7".to_string(), checks_page()));
    Ok(pages
        .into_iter()
        .map(|(name, roff)| (name, ascii_roff(&roff)))
        .collect())
}

/// The footer's source: the program and its version, on every page.
const SOURCE: &str = concat!("kubectl-netdoctor ", env!("CARGO_PKG_VERSION"));

/// The header's middle: short, so that the page's name fits beside it on both sides at 80 columns
/// (groff's man macros set the name at each end; with the default "General Commands Manual"
/// they run into each other).
const MANUAL: &str = "kubectl netdoctor";

/// Roff as every formatter reads it: each character past ASCII written as groff's `\[uXXXX]`
/// (without `preconv`, troff takes UTF-8 bytes for invalid characters: `groff -ww` warns).
fn ascii_roff(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out.into_bytes()
}

/// One command's page: clap_mangen's sections (not its title, whose header has no room and whose
/// footer no version, nor its EXTRA, which would repeat the examples as help text), then the
/// commands (on the top page), EXAMPLES, EXIT STATUS and SEE ALSO.
fn page(
    cmd: &clap::Command,
    command: Option<&str>,
    subcommands: &[&clap::Command],
) -> std::io::Result<Vec<u8>> {
    use roff::{Roff, bold, roman};
    let man = clap_mangen::Man::new(cmd.clone().after_help(""));
    let mut out = Vec::new();
    let mut title = Roff::default();
    // `.TH title section date source manual`, each argument quoted (an empty date included).
    let name = cmd.get_name().to_uppercase().replace('-', "\\-");
    title.control("TH", [name.as_str(), "1", "\"\"", SOURCE, MANUAL]);
    title.to_writer(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    let mut roff = Roff::default();
    if command.is_none() {
        // Each command names its own page (clap_mangen's list names a help page there is not).
        roff.control("SH", ["COMMANDS"]);
        for sub in subcommands {
            roff.control("TP", []);
            roff.text([
                bold(format!("kubectl netdoctor {}", sub.get_name())),
                roman(format!(" (kubectl-netdoctor-{}(1))", sub.get_name())),
            ]);
            roff.text([roman(
                sub.get_about().map(|a| a.to_string()).unwrap_or_default(),
            )]);
        }
    }
    let examples: Vec<(&str, &str)> = match command {
        Some(c) => crate::cli::EXAMPLES
            .iter()
            .filter(|(name, _)| *name == c)
            .flat_map(|(_, list)| list.iter().copied())
            .collect(),
        None => crate::cli::EXAMPLES
            .iter()
            .filter_map(|(_, list)| list.first().copied())
            .collect(),
    };
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        for (what, line) in examples {
            roff.control("PP", []);
            roff.text([roman(what)]);
            roff.control("RS", ["4"]);
            roff.control("nf", []);
            roff.text([bold(line)]);
            roff.control("fi", []);
            roff.control("RE", []);
        }
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        (
            "0",
            "every check that ran passed (warnings allowed unless --strict)",
        ),
        ("1", "a check failed: the diagnosis found a problem"),
        (
            "2",
            "usage error: bad flags, unreadable or malformed manifests",
        ),
        (
            "3",
            "incomplete: a read was forbidden or failed, the API server was unreachable, or the kubeconfig is unusable",
        ),
        (
            "129, 130, 143",
            "interrupted by SIGHUP, SIGINT or SIGTERM, after cleanup",
        ),
    ] {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = Vec::new();
    match command {
        Some(_) => see.push("kubectl-netdoctor(1)".into()),
        None => see.extend(
            subcommands
                .iter()
                .map(|s| format!("kubectl-netdoctor-{}(1)", s.get_name())),
        ),
    }
    see.push("kubectl-netdoctor-checks(7)".into());
    see.push("kubectl(1)".into());
    roff.text([roman(see.join(", "))]);
    roff.to_writer(&mut out)?;
    Ok(out)
}

/// kubectl-netdoctor-checks(7): every check's runbook page, in flow order, its Markdown set in
/// roff (code and **strong** in bold, *emphasis* in italics, tables and code blocks as they are).
fn checks_page() -> Vec<u8> {
    use roff::{Roff, italic, roman};
    let mut roff = Roff::default();
    roff.control(
        "TH",
        ["KUBECTL\\-NETDOCTOR\\-CHECKS", "7", "\"\"", SOURCE, MANUAL],
    );
    roff.control("SH", ["NAME"]);
    roff.text([roman(
        "kubectl-netdoctor-checks - the checks of kubectl netdoctor svc, as runbook pages",
    )]);
    roff.control("SH", ["DESCRIPTION"]);
    roff.text([roman(
        "The checks run in traffic order and stop at the first broken link. Each section is the page kubectl netdoctor explain ID prints.",
    )]);
    for def in crate::checks::REGISTRY {
        roff.control(
            "SH",
            [format!("{}. {}", def.order, def.id).to_uppercase().as_str()],
        );
        roff.text([italic(def.title)]);
        let body = crate::commands::explain::page(def.id).map_or("", |p| p.body);
        markdown_body(&mut roff, body);
    }
    for (id, title, body) in crate::commands::explain::TOPICS {
        roff.control("SH", [id.to_uppercase().as_str()]);
        roff.text([italic(*title)]);
        markdown_body(&mut roff, body);
    }
    roff.to_roff().into_bytes()
}

/// A runbook page's Markdown body set in roff.
fn markdown_body(roff: &mut roff::Roff, body: &str) {
    use roff::roman;
    let mut code = false;
    let mut in_table = false;
    // The paragraph or list item being read: Markdown's inline marks (a `code span`) may
    // cross its lines, so it is set once whole.
    let mut prose = String::new();
    let flush = |roff: &mut roff::Roff, prose: &mut String| {
        if !prose.is_empty() {
            roff.text(inline_markdown(prose));
            prose.clear();
        }
    };
    for line in body.lines() {
        if !line.starts_with('|') {
            in_table = false;
        }
        let continues = !code
            && !line.trim().is_empty()
            && !line.starts_with("```")
            && !line.starts_with('#')
            && !line.starts_with("- ")
            && !line.starts_with('|');
        if continues {
            // Markdown continuation lines are indented; in roff a leading space breaks the
            // line.
            if !prose.is_empty() {
                prose.push(' ');
            }
            prose.push_str(line.trim());
            continue;
        }
        flush(roff, &mut prose);
        if line.starts_with("```") {
            roff.control(if code { "fi" } else { "nf" }, []);
            if code {
                roff.control("RE", []);
            } else {
                roff.control("RS", ["4"]);
            }
            code = !code;
        } else if code {
            roff.text([roman(line)]);
        } else if let Some(h) = line.strip_prefix("# ") {
            roff.control("SS", [plain_markdown(h).as_str()]);
        } else if let Some(h) = line.strip_prefix("## ") {
            roff.control("SS", [plain_markdown(h).as_str()]);
        } else if let Some(h) = line.strip_prefix("### ") {
            // A finding's section (### ND1108 — title): a bold line of its own.
            roff.control("PP", []);
            roff.text([roff::bold(plain_markdown(h))]);
        } else if let Some(item) = line.strip_prefix("- ") {
            roff.control("IP", ["\\(bu", "2"]);
            prose.push_str(item.trim());
        } else if line.trim().is_empty() {
            roff.control("PP", []);
        } else if line.starts_with('|') {
            // A table row as a tagged paragraph: the first cell the tag, the others its text
            // (a man page has no room for wide columns). The header row and its rule go.
            let cells = table_cells(line);
            let header = !std::mem::replace(&mut in_table, true);
            if header || cells.iter().all(|c| c.trim_matches(['-', ':']).is_empty()) {
                continue;
            }
            roff.control("TP", []);
            let tag = inline_markdown(&cells[0])
                .into_iter()
                .map(|i| match i {
                    roff::Inline::Roman(t) => roff::bold(t),
                    other => other,
                })
                .collect::<Vec<_>>();
            roff.text(tag);
            let rest: Vec<&str> = cells[1..]
                .iter()
                .map(String::as_str)
                .filter(|c| !c.is_empty())
                .collect();
            roff.text(inline_markdown(&rest.join("; ")));
        }
    }
    flush(roff, &mut prose);
    if code {
        roff.control("fi", []);
        roff.control("RE", []);
    }
}

/// A line of Markdown as roff runs: `code` and **strong** bold, *emphasis* italic, the rest roman.
fn inline_markdown(line: &str) -> Vec<roff::Inline> {
    use roff::{bold, italic, roman};
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let next = ["`", "**", "*"]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, *m)))
            // At one place `**` before `*`.
            .min_by_key(|(i, m)| (*i, std::cmp::Reverse(m.len())));
        let Some((start, mark)) = next else {
            out.push(roman(rest));
            break;
        };
        let after = &rest[start + mark.len()..];
        let Some(end) = after.find(mark).filter(|e| *e > 0) else {
            // No closing mark: the character is text.
            out.push(roman(&rest[..start + mark.len()]));
            rest = after;
            continue;
        };
        if start > 0 {
            out.push(roman(&rest[..start]));
        }
        let inner = &after[..end];
        out.push(match mark {
            "*" => italic(inner),
            _ => bold(inner),
        });
        rest = &after[end + mark.len()..];
    }
    out
}

/// The cells of a Markdown table row, trimmed, `\\|` read as a `|` inside a cell.
fn table_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// A line of Markdown without its marks (headings).
fn plain_markdown(line: &str) -> String {
    line.replace("**", "").replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Compares a generated file with the committed one; rewrites it under NETDOCTOR_REGENERATE=1.
    fn ensure(path: &Path, content: &[u8]) {
        if std::env::var_os("NETDOCTOR_REGENERATE").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
            return;
        }
        let committed = std::fs::read(path).unwrap_or_default();
        assert!(
            committed == content,
            "{} is stale: run `NETDOCTOR_REGENERATE=1 cargo test generate` and commit it",
            path.display()
        );
    }

    #[test]
    fn completions_and_man_pages_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        ensure(
            &root.join("completions/kubectl-netdoctor.bash"),
            &completions(Shell::Bash),
        );
        for (file, content) in man_pages().unwrap() {
            ensure(&root.join("man").join(file), &content);
        }
    }
}
