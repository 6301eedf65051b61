//! `kubectl-netdoctor`: a thin entry point; everything lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    kubectl_netdoctor::main()
}
