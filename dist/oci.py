#!/usr/bin/env python3
"""Writes the probe image as an OCI image layout, reproducibly: FROM scratch plus one layer with
the static binary at /usr/local/bin/kubectl-netdoctor, user 65532, the OCI labels. Same inputs,
same bytes: fixed mtimes (SOURCE_DATE_EPOCH), sorted entries, owner 0:0, gzip without a
timestamp. Prints the manifest digest.

usage: oci.py BINARY[:ARCH][,BINARY:ARCH…] OUT_DIR VERSION REVISION SOURCE_URL [ARCH]

Several BINARY:ARCH pairs make a multi-arch image: one manifest per architecture under one index
(what `skopeo copy --all` pushes). Prints the digest of the single manifest, or of the index.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(out, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def layer(binary, mtime):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ["usr/", "usr/local/", "usr/local/bin/"]:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        data = open(binary, "rb").read()
        info = tarfile.TarInfo("usr/local/bin/kubectl-netdoctor")
        info.size, info.mode, info.mtime = len(data), 0o755, mtime
        tar.addfile(info, io.BytesIO(data))
    uncompressed = raw.getvalue()
    zipped = io.BytesIO()
    with gzip.GzipFile(fileobj=zipped, mode="wb", mtime=0, filename="") as g:
        g.write(uncompressed)
    return uncompressed, zipped.getvalue()


def image(out, binary, arch, version, revision, source, mtime, created):
    """Writes one architecture's config, layer and manifest; returns its index entry."""
    uncompressed, zipped = layer(binary, mtime)
    layer_digest, layer_size = blob(out, zipped)
    labels = {
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.title": "kubectl-netdoctor probe agent",
    }
    config = {
        "created": created,
        "architecture": arch,
        "os": "linux",
        "config": {
            "User": "65532:65532",
            "Env": ["PATH=/usr/local/bin"],
            "Entrypoint": ["/usr/local/bin/kubectl-netdoctor"],
            "Cmd": ["agent", "--help"],
            "Labels": labels,
        },
        "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:" + hashlib.sha256(uncompressed).hexdigest()],
        },
        "history": [{"created": created, "created_by": "dist/oci.py: the static binary"}],
    }
    config_digest, config_size = blob(out, dump(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer_digest,
                "size": layer_size,
            }
        ],
        "annotations": labels,
    }
    digest, size = blob(out, dump(manifest))
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": size,
        "platform": {"architecture": arch, "os": "linux"},
    }


def dump(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":")).encode()


def main():
    binaries, out, version, revision, source = sys.argv[1:6]
    default_arch = sys.argv[6] if len(sys.argv) > 6 else "amd64"
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    created = __import__("datetime").datetime.fromtimestamp(
        mtime, __import__("datetime").timezone.utc
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    os.makedirs(out, exist_ok=True)
    pairs = []
    for spec in binaries.split(","):
        path, _, arch = spec.partition(":")
        pairs.append((path, arch or default_arch))
    entries = [image(out, p, a, version, revision, source, mtime, created) for p, a in pairs]
    ref = {"org.opencontainers.image.ref.name": "v" + version}
    if len(entries) == 1:
        manifests = [dict(entries[0], annotations=ref)]
        shown = entries[0]["digest"]
    else:
        # A multi-arch image: an index of the per-arch manifests, tagged in the layout's index.
        nested = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }
        digest, size = blob(out, dump(nested))
        manifests = [
            {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": digest,
                "size": size,
                "annotations": ref,
            }
        ]
        shown = digest
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(dump(index))
    with open(os.path.join(out, "oci-layout"), "wb") as f:
        f.write(dump({"imageLayoutVersion": "1.0.0"}))
    print(shown)


if __name__ == "__main__":
    main()
