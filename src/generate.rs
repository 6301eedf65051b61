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
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kubectl-netdoctor", &mut out);
    out
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
