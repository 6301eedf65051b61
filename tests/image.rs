//! The release path: `dist/build.sh` builds the static binary, the archive, the probe image and
//! the krew manifest. The image is checked with skopeo, and the binary *from its unpacked layer*
//! runs as the agent in the network-namespace lab under chroot — in a root filesystem that holds
//! nothing else (no libc, no /etc, no shell) — and classifies real packets.
//!
//! `.ci/run` builds into dist/out before the tests; elsewhere the test builds it (minutes, once).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::netns::{Lab, SERVER_IP};
use crate::support::repo;

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// dist/out, built by .ci/run or here; `None` (skip) where the tools are missing outside CI.
pub(crate) fn built() -> Option<PathBuf> {
    let out = repo().join("dist/out");
    if out.join("image/index.json").exists() {
        return Some(out);
    }
    let ok = Command::new("bash")
        .arg(repo().join("dist/build.sh"))
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(out);
    }
    assert!(!ci(), "dist/build.sh failed in CI");
    eprintln!("skipped: dist/build.sh could not build (musl target or musl-tools missing)");
    None
}

fn skopeo(args: &[&str]) -> Option<serde_json::Value> {
    let out = Command::new("skopeo").args(args).output();
    match out {
        Ok(o) if o.status.success() => Some(serde_json::from_slice(&o.stdout).expect("JSON")),
        Ok(o) => panic!("skopeo {args:?}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            assert!(!ci(), "skopeo is needed in CI: {e}");
            eprintln!("skipped: no skopeo");
            None
        }
    }
}

/// The image's single layer unpacked into a fresh root filesystem.
pub(crate) fn unpack(image: &Path, into: &Path) {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(image.join("index.json")).unwrap()).unwrap();
    let blob = |digest: &str| {
        image
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "FROM scratch + one layer");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(blob(layers[0]["digest"].as_str().unwrap()))
        .arg("-C")
        .arg(into)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_probe_image_is_scratch_plus_the_binary_and_its_agent_classifies_packets() {
    let Some(out) = built() else { return };
    let image = out.join("image");
    let reference = format!("oci:{}:v{}", image.display(), version());
    let Some(inspect) = skopeo(&["inspect", &reference]) else {
        return;
    };
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    let labels = &inspect["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], version());
    assert!(
        labels["org.opencontainers.image.source"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(
        labels["org.opencontainers.image.revision"]
            .as_str()
            .unwrap()
            .len(),
        40,
        "{labels}"
    );
    let config = skopeo(&["inspect", "--config", &reference]).unwrap();
    assert_eq!(
        config["config"]["User"], "65532:65532",
        "non-root by default"
    );

    // The same binary gives the same image, byte for byte (its date is the build's commit date).
    let created: k8s_openapi::jiff::Timestamp = inspect["Created"]
        .as_str()
        .unwrap()
        .parse()
        .expect("a timestamp");
    let epoch = created.as_second();
    let again = tempfile::tempdir().unwrap();
    let digest = |dir: &Path| {
        let o = Command::new("python3")
            .arg(repo().join("dist/oci.py"))
            .arg(out.join("kubectl-netdoctor-linux-amd64"))
            .arg(dir)
            .args([
                &version(),
                labels["org.opencontainers.image.revision"]
                    .as_str()
                    .unwrap(),
                labels["org.opencontainers.image.source"].as_str().unwrap(),
            ])
            .env("SOURCE_DATE_EPOCH", epoch.to_string())
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let first = digest(&again.path().join("a"));
    assert!(first.starts_with("sha256:"), "{first}");
    assert_eq!(first, digest(&again.path().join("b")));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(image.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"], first,
        "dist/out is this build's image"
    );

    // That exact binary, from the unpacked layer, alone in its root filesystem.
    let Some(mut lab) = Lab::routed("image_agent_from_scratch", &["nc", "ss"]) else {
        return;
    };
    let rootfs = tempfile::tempdir().unwrap();
    unpack(&image, rootfs.path());
    let entries: Vec<String> = std::fs::read_dir(rootfs.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, ["usr"], "nothing but the binary: {entries:?}");
    lab.listen_tcp(8080);
    let s = lab.server.clone();
    lab.iptables(&s, "-A INPUT -p tcp --dport 8082 -j DROP");
    let root = rootfs.path().display().to_string();
    let (open, refused, dropped) = (
        format!("tcp:{SERVER_IP}:8080"),
        format!("tcp:{SERVER_IP}:8081"),
        format!("tcp:{SERVER_IP}:8082"),
    );
    let c = lab.client.clone();
    let run = lab.agent_command(
        &c,
        &[
            "chroot",
            &root,
            "/usr/local/bin/kubectl-netdoctor",
            "agent",
            &open,
            &refused,
            &dropped,
            "--timeout",
            "1s",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.verdict(&open), "open", "{}", run.line(&open));
    assert_eq!(run.verdict(&refused), "refused", "{}", run.line(&refused));
    assert_eq!(run.verdict(&dropped), "dropped", "{}", run.line(&dropped));
    // Verdicts from captured packets, not only connect(): capture works from scratch too.
    assert_eq!(
        run.line(&open)["evidence"],
        "packets",
        "{}",
        run.line(&open)
    );
}

// krew's rules for a plugin manifest, checked on the one dist/build.sh renders: the archive's
// checksum, a bin per platform, a short description krew shows in one line.
#[test]
fn the_krew_manifest_points_at_the_archives_it_was_made_for() {
    let Some(out) = built() else { return };
    let text = std::fs::read_to_string(out.join("netdoctor.yaml")).unwrap();
    let m: serde_json::Value = serde_saphyr::from_str(&text).expect("the manifest is YAML");
    let sha =
        std::fs::read_to_string(out.join("kubectl-netdoctor_linux_amd64.tar.gz.sha256")).unwrap();
    let sha = sha.split_whitespace().next().unwrap();
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(m["metadata"]["name"], "netdoctor");
    let spec = &m["spec"];
    assert_eq!(spec["version"], format!("v{}", version()));
    assert!(spec["homepage"].as_str().unwrap().starts_with("https://"));
    assert!(spec["shortDescription"].as_str().unwrap().len() <= 50);
    assert!(
        spec["caveats"].as_str().unwrap().contains("ClusterRole"),
        "caveats name the RBAC"
    );
    let platforms = spec["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 1, "the archives this machine built");
    let p = &platforms[0];
    assert_eq!(p["selector"]["matchLabels"]["os"], "linux");
    assert_eq!(p["selector"]["matchLabels"]["arch"], "amd64");
    assert_eq!(p["sha256"], sha);
    assert_eq!(p["bin"], "kubectl-netdoctor");
    assert!(
        p["uri"]
            .as_str()
            .unwrap()
            .ends_with("/kubectl-netdoctor_linux_amd64.tar.gz")
    );
    // The archive holds the binary krew links as `bin`.
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(out.join("kubectl-netdoctor_linux_amd64.tar.gz"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.lines().any(|l| l == "./kubectl-netdoctor"),
        "{listing}"
    );
}
