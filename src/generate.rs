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
    if let Some(arg) = flag(scope, previous).filter(|a| a.get_action().takes_values()) {
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
    text.push_str(":4\n");
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
    let cmd = Cli::command().name("kubectl-netdoctor");
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(out)
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
        ensure(&root.join("man/kubectl-netdoctor.1"), &man().unwrap());
    }
}
