#!/usr/bin/env python3
"""Renders the krew plugin manifest (krew's plugin index format, apiVersion krew.googlecontainertools.github.com/v1alpha2)
for the release archives: one platform entry per archive, with its uri and sha256.

usage: krew.py VERSION HOMEPAGE OS,ARCH,ARCHIVE_PATH,URI ...
"""
import hashlib
import sys

SHORT = "Why can't traffic reach my Service? One verdict"
DESCRIPTION = """\
Runs the debugging flow for a Service in traffic order and stops at the first
broken link with the evidence and the fix: the Service and its selector, the
EndpointSlices and readiness, the target ports, a probe pod's packets (open,
refused, dropped, rejected), the ClusterIP, DNS from the client's namespace,
Ingresses and NetworkPolicies (naming the deciding rule). Works live and offline
on manifests; scans namespaces for CI (JSON, YAML, JUnit, Markdown)."""
CAVEATS = """\
netdoctor reads Services, pods, EndpointSlices, events, nodes, Ingresses and
NetworkPolicies: the read-only ClusterRole is in deploy/rbac.yaml of the
homepage. The probe (checks 5-7) also creates and deletes a Job in the client's
namespace; --no-probe reads only. Clusters that cannot pull the probe image:
mirror it and set NETDOCTOR_PROBE_IMAGE or --probe-image."""


def indent(text, n):
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.splitlines())


def main():
    version, homepage = sys.argv[1], sys.argv[2]
    platforms = []
    for spec in sys.argv[3:]:
        os_, arch, path, uri = spec.split(",", 3)
        sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
        binary = "kubectl-netdoctor.exe" if os_ == "windows" else "kubectl-netdoctor"
        platforms.append(
            f"""  - selector:
      matchLabels:
        os: {os_}
        arch: {arch}
    uri: {uri}
    sha256: {sha}
    bin: {binary}
    files:
    - from: {binary}
      to: .
    - from: completions/*
      to: completions/"""
        )
    print(
        f"""apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: netdoctor
spec:
  version: v{version}
  homepage: {homepage}
  shortDescription: "{SHORT}"
  description: |
{indent(DESCRIPTION, 4)}
  caveats: |
{indent(CAVEATS, 4)}
  platforms:
""" + "\n".join(platforms)
    )


if __name__ == "__main__":
    main()
