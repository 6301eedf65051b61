//! `fakeapi FILE...`: serve YAML fixtures as a fake API server until interrupted, and write a
//! kubeconfig for it. For trying the tool (or kubectl) by hand against a scenario.

use std::io::Write;

fn main() {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    let mut kubeconfig_path = String::from("fakeapi.kubeconfig");
    if let Some(i) = files.iter().position(|a| a == "--kubeconfig") {
        files.remove(i);
        if i < files.len() {
            kubeconfig_path = files.remove(i);
        }
    }
    let mut latency = None;
    if let Some(i) = files.iter().position(|a| a == "--latency-ms") {
        files.remove(i);
        if i < files.len() {
            latency = files.remove(i).parse::<u64>().ok();
        }
    }
    if files.is_empty() {
        eprintln!("usage: fakeapi [--kubeconfig PATH] [--latency-ms N] FILE.yaml...");
        std::process::exit(2);
    }
    let api = fakeapi::FakeApi::new();
    let texts: Vec<String> = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f).unwrap_or_else(|e| {
                eprintln!("{f}: {e}");
                std::process::exit(2)
            })
        })
        .collect();
    // Fixtures with Gateway API or policy.networking.k8s.io objects are clusters with those
    // CRDs installed.
    api.serve_custom_apis_for(&texts);
    for (f, text) in files.iter().zip(&texts) {
        if let Err(e) = api.load_yaml(text) {
            eprintln!("{f}: {e}");
            std::process::exit(2);
        }
    }
    if let Some(ms) = latency {
        api.set_latency(std::time::Duration::from_millis(ms));
    }
    let server = api.start();
    std::fs::File::create(&kubeconfig_path)
        .and_then(|mut f| f.write_all(server.kubeconfig(None).as_bytes()))
        .unwrap_or_else(|e| {
            eprintln!("{kubeconfig_path}: {e}");
            std::process::exit(2)
        });
    eprintln!(
        "serving {} at {}; kubeconfig in {kubeconfig_path}",
        files.join(", "),
        server.url
    );
    loop {
        std::thread::park();
    }
}
