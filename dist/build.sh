#!/usr/bin/env bash
# The one command that builds what a release ships, on this machine, from source, with no daemon:
#
#   dist/build.sh                  # or: dist/build.sh --out DIR
#
#   DIR/kubectl-netdoctor-linux-amd64          the static binary (musl; no libc, no /etc, no shell)
#   DIR/kubectl-netdoctor_linux_amd64.tar.gz   the archive krew and the release attach, + .sha256
#   DIR/image/                                 the probe image, an OCI layout tagged v<version>:
#                                              FROM scratch + the binary, user 65532, OCI labels
#   DIR/netdoctor.yaml                         the krew manifest for the archives built
#
# Reproducible: the same commit gives the same binary, archive and image digest (fixed mtimes from
# the commit's date, sorted entries, no timestamps in gzip). Prints the image digest. The release
# workflow (.github/workflows/release.yml) runs the same steps per platform.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/out
if [[ "${1:-}" == "--out" ]]; then out=$2; fi
target=x86_64-unknown-linux-musl
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
source_url=${NETDOCTOR_SOURCE_URL:-https://github.com/kubectl-netdoctor/kubectl-netdoctor}

rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"
# --remap-path-prefix keeps the build directory out of the binary: the same source gives the same
# bytes wherever it is built.
RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$PWD=. --remap-path-prefix=$HOME=~" \
  cargo build --profile dist --target "$target" --locked --bin kubectl-netdoctor --quiet

rm -rf "$out"
mkdir -p "$out"
bin="$out/kubectl-netdoctor-linux-amd64"
cp "target/$target/dist/kubectl-netdoctor" "$bin"
touch -d "@$SOURCE_DATE_EPOCH" "$bin"

# The archive: the binary (as krew installs it), the license notice and the completions.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$bin" "$stage/kubectl-netdoctor"
cp README.md "$stage/"
cp -r completions man "$stage/"
archive="$out/kubectl-netdoctor_linux_amd64.tar.gz"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  -C "$stage" -cf - . | gzip -n > "$archive"
(cd "$out" && sha256sum "$(basename "$archive")" > "$(basename "$archive").sha256")

digest=$(python3 dist/oci.py "$bin" "$out/image" "$version" "$revision" "$source_url" amd64)
python3 dist/krew.py "$version" "$source_url" \
  "linux,amd64,$archive,$source_url/releases/download/v$version/$(basename "$archive")" \
  > "$out/netdoctor.yaml"
echo "$digest"
