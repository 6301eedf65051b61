//! Generated files: shell completions (completions/) and the man page (man/), produced from the
//! clap definitions so they never drift. A test regenerates them and fails when the committed
//! copies are stale (`NETDOCTOR_REGENERATE=1 cargo test` rewrites them).

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Shells we ship completions for, with their file names under completions/.
#[cfg(test)]
pub(crate) const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "kubectl-netdoctor.bash"),
    (Shell::Zsh, "_kubectl-netdoctor"),
    (Shell::Fish, "kubectl-netdoctor.fish"),
];

pub(crate) fn completions(shell: Shell) -> Vec<u8> {
    let mut cmd = for_completion("kubectl-netdoctor");
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kubectl-netdoctor", &mut out);
    if shell == Shell::Bash {
        // clap_complete names the bash functions of subcommands by turning the binary's '-' into
        // "__subcmd__", but dispatches to them with '-' turned into "__": with a hyphenated binary
        // no subcommand would complete. Use the dispatch spelling everywhere.
        let text = String::from_utf8_lossy(&out)
            .replace("kubectl__subcmd__netdoctor", "kubectl__netdoctor");
        return text.into_bytes();
    }
    if shell == Shell::Fish {
        // clap_complete's fish script completes no positional values: the check ids of explain.
        let ids: Vec<&str> = crate::checks::REGISTRY.iter().map(|c| c.id).collect();
        out.extend_from_slice(
            format!(
                "complete -c kubectl-netdoctor -n \"__fish_kubectl_netdoctor_using_subcommand explain\" -f -a \"{}\"\n",
                ids.join(" ")
            )
            .as_bytes(),
        );
    }
    out
}

/// The command tree as a shell completes it: named after the binary (the help says "kubectl
/// netdoctor", a name with a space no shell can complete), without the hidden commands (`agent`,
/// `completions`, `man`), which clap_complete would otherwise offer.
fn for_completion(bin: &'static str) -> clap::Command {
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

/// kubectl's plugin completion (kubectl ≥ 1.26 runs `kubectl_complete-netdoctor ARGS… CURRENT`,
/// which runs this): the candidates for the last word, one per line, then cobra's directive line
/// (`:4`, no file completion). Candidates come from the same tree the shell scripts are made of.
pub(crate) fn complete(words: &[String]) -> String {
    let cmd = {
        let mut c = for_completion("kubectl-netdoctor");
        c.build();
        c
    };
    let (current, before) = match words.split_last() {
        Some((cur, before)) => (cur.as_str(), before),
        None => ("", &[][..]),
    };
    // The subcommand being completed: the first word that names one.
    let mut scope = &cmd;
    let mut chosen = false;
    let mut skip_value = false;
    for w in before {
        if skip_value {
            skip_value = false;
            continue;
        }
        if let Some(arg) = flag(scope, w) {
            skip_value = !w.contains('=') && arg.get_action().takes_values();
            continue;
        }
        if !chosen {
            if let Some(sub) = scope.find_subcommand(w) {
                scope = sub;
                chosen = true;
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    let previous = before.last().map(String::as_str).unwrap_or_default();
    let value_of = flag(scope, previous).filter(|a| a.get_action().takes_values());
    // cobra's directive: 0 lets the shell complete file names (a path flag's value), 4 not.
    let directive = match value_of.map(clap::Arg::get_value_hint) {
        Some(clap::ValueHint::FilePath | clap::ValueHint::AnyPath | clap::ValueHint::DirPath) => 0,
        _ => 4,
    };
    if let Some(arg) = value_of {
        out.extend(
            arg.get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string()),
        );
    } else if current.starts_with('-') {
        for arg in scope.get_arguments().filter(|a| !a.is_hide_set()) {
            out.extend(arg.get_long().map(|l| format!("--{l}")));
            out.extend(arg.get_short().map(|s| format!("-{s}")));
        }
    } else if !chosen {
        out.extend(
            scope
                .get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .map(|s| s.get_name().to_string()),
        );
    } else {
        for arg in scope.get_positionals() {
            out.extend(
                arg.get_possible_values()
                    .iter()
                    .map(|v| v.get_name().to_string()),
            );
        }
    }
    let mut text: String = out
        .into_iter()
        .filter(|c| c.starts_with(current))
        .map(|c| c + "\n")
        .collect();
    text.push_str(&format!(":{directive}\n"));
    text
}

/// The flag `word` names in `cmd` (`--output`, `-o`, `--output=json`).
fn flag<'a>(cmd: &'a clap::Command, word: &str) -> Option<&'a clap::Arg> {
    let name = word.split_once('=').map_or(word, |(n, _)| n);
    if let Some(long) = name.strip_prefix("--") {
        return cmd.get_arguments().find(|a| a.get_long() == Some(long));
    }
    let short = name.strip_prefix('-')?;
    let mut chars = short.chars();
    let c = chars.next()?;
    chars
        .next()
        .is_none()
        .then(|| cmd.get_arguments().find(|a| a.get_short() == Some(c)))
        .flatten()
}

pub(crate) fn man() -> std::io::Result<Vec<u8>> {
    Ok(man_pages()?.swap_remove(0).1)
}

/// Every man page: kubectl-netdoctor(1), one per command (kubectl-netdoctor-svc(1), …) with its
/// options and EXAMPLES, and kubectl-netdoctor-checks(7) from the runbook pages.
pub(crate) fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut root = crate::cli::command()
        .name("kubectl-netdoctor")
        .display_name("kubectl-netdoctor")
        .bin_name("kubectl netdoctor");
    root.build();
    let mut pages = vec![("kubectl-netdoctor.1".to_string(), page(&root, None)?)];
    for sub in root
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name: &'static str =
            Box::leak(format!("kubectl-netdoctor-{}", sub.get_name()).into_boxed_str());
        let cmd = sub.clone().name(name).display_name(name);
        pages.push((format!("{name}.1"), page(&cmd, Some(sub.get_name()))?));
    }
    pages.push(("kubectl-netdoctor-checks.7".to_string(), checks_page()));
    Ok(pages)
}

/// One command's page: clap_mangen's sections (not its EXTRA, which would repeat the examples
/// as help text), then EXAMPLES, EXIT STATUS and SEE ALSO.
fn page(cmd: &clap::Command, command: Option<&str>) -> std::io::Result<Vec<u8>> {
    use roff::{Roff, bold, roman};
    let man = clap_mangen::Man::new(cmd.clone().after_help(""));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = Roff::default();
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
    if command.is_some() {
        see.push("kubectl-netdoctor(1)".into());
    }
    see.push("kubectl-netdoctor-checks(7)".into());
    see.push("kubectl(1)".into());
    roff.text([roman(see.join(", "))]);
    roff.to_writer(&mut out)?;
    Ok(out)
}

/// kubectl-netdoctor-checks(7): every check's runbook page, in flow order.
fn checks_page() -> Vec<u8> {
    use roff::{Roff, italic, roman};
    let mut roff = Roff::default();
    roff.control(
        "TH",
        [
            "KUBECTL-NETDOCTOR-CHECKS",
            "7",
            "",
            concat!("kubectl-netdoctor ", env!("CARGO_PKG_VERSION")),
        ],
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
        let mut code = false;
        for line in body.lines() {
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
                roff.control("SS", [h]);
            } else if let Some(h) = line.strip_prefix("## ") {
                roff.control("SS", [h]);
            } else if let Some(item) = line.strip_prefix("- ") {
                roff.control("IP", ["\\(bu", "2"]);
                roff.text([roman(item.trim_start())]);
            } else if line.trim().is_empty() {
                roff.control("PP", []);
            } else if line.starts_with('|') {
                roff.control("nf", []);
                roff.text([roman(line)]);
                roff.control("fi", []);
            } else {
                // Markdown continuation lines are indented; in roff a leading space breaks the line.
                roff.text([roman(line.trim_start())]);
            }
        }
        if code {
            roff.control("fi", []);
            roff.control("RE", []);
        }
    }
    roff.to_roff().into_bytes()
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
    fn completions_and_man_page_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (shell, file) in SHELLS {
            ensure(&root.join("completions").join(file), &completions(*shell));
        }
        for (file, content) in man_pages().unwrap() {
            ensure(&root.join("man").join(file), &content);
        }
    }
}
