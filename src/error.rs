//! The one error type of the program and its mapping to exit codes (DESIGN §2).
//!
//! Only errors that end the run live here. Trouble a diagnosis can work around (a forbidden read, a
//! slow follow-up request) becomes a skipped check instead, never an `Error`.

use std::process::ExitCode;

/// Exit codes, in one place.
pub(crate) mod exit {
    /// Everything that ran passed (warnings allowed unless `--strict`).
    pub(crate) const OK: u8 = 0;
    /// A check failed: the diagnosis found a problem.
    pub(crate) const FAILED: u8 = 1;
    /// Bad flags, unreadable or malformed manifests.
    pub(crate) const USAGE: u8 = 2;
    /// The diagnosis is incomplete, or the environment (kubeconfig, API server) is broken.
    pub(crate) const INCOMPLETE: u8 = 3;
    /// Interrupted by SIGINT.
    pub(crate) const SIGINT: u8 = 130;
    /// Interrupted by SIGTERM.
    pub(crate) const SIGTERM: u8 = 143;
    /// Interrupted by SIGHUP (the terminal or SSH session closed).
    pub(crate) const SIGHUP: u8 = 129;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or argument that cannot work.
    #[error("{0}")]
    Usage(String),
    /// A manifest that cannot be read or parsed.
    #[error("{0}")]
    Manifest(String),
    /// The object a command starts from does not exist (a finding: exit 1).
    #[error("{0}")]
    NotFound(String),
    /// No usable kubeconfig, or an unknown context.
    #[error("{0}")]
    Kubeconfig(String),
    /// The API server could not be reached, or did not answer in time.
    #[error("{0}")]
    Unreachable(String),
    /// A request the run cannot do without failed: the message says what and why in a line; the
    /// client's error is kept whole (`-v` prints every cause).
    #[error("{message}")]
    Api {
        message: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// The run was interrupted by a signal.
    #[error("interrupted by {name}")]
    Interrupted { name: &'static str, code: u8 },
    /// The program could not start what it runs on (its async runtime, its signal handlers).
    #[error("{context}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Writing the report failed (other than a closed pipe).
    #[error("cannot write output")]
    Output(#[from] std::io::Error),
}

impl Error {
    /// What ended the run, on one line. A message that is only context ("cannot write output")
    /// gets its causes after it: "cannot write output: Broken pipe"; the others already say why.
    pub(crate) fn chain(&self) -> String {
        if !matches!(self, Error::Io { .. } | Error::Output(_)) {
            return self.to_string();
        }
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            let said = c.to_string();
            if !out.ends_with(&said) {
                out.push_str(": ");
                out.push_str(&said);
            }
            cause = c.source();
        }
        out
    }
}

impl Error {
    /// Every cause under the message, outermost first (printed under `-v`).
    pub(crate) fn causes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push(c.to_string());
            cause = c.source();
        }
        out
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The exit code, as a number (DESIGN §2).
    pub(crate) fn code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Manifest(_) => exit::USAGE,
            Error::NotFound(_) => exit::FAILED,
            Error::Kubeconfig(_)
            | Error::Unreachable(_)
            | Error::Api { .. }
            | Error::Io { .. }
            | Error::Output(_) => exit::INCOMPLETE,
            Error::Interrupted { code, .. } => *code,
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    // A cause is printed once, after what failed: never "cannot write output" alone, never an
    // unrelated io::Error passed off as an output failure.
    #[test]
    fn errors_print_their_causes_once() {
        let e = Error::from(std::io::Error::other("disk full"));
        assert_eq!(e.chain(), "cannot write output: disk full");
        let e = Error::Io {
            context: "cannot start the async runtime",
            source: std::io::Error::other("no threads"),
        };
        assert_eq!(e.chain(), "cannot start the async runtime: no threads");
        assert_eq!(Error::Usage("bad".into()).chain(), "bad");
        // An API failure says why in its message; the client's error stays for -v.
        let api = Error::Api {
            message: "cannot reach the API server at https://x: refused".into(),
            source: Box::new(kube::Error::LinesCodecMaxLineLengthExceeded),
        };
        assert_eq!(
            api.chain(),
            "cannot reach the API server at https://x: refused"
        );
        assert_eq!(api.causes().len(), 1);
        assert_eq!(api.code(), super::exit::INCOMPLETE);
    }
}
