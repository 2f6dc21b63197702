#!/usr/bin/env bash
# Sets the project up on a fresh machine: a virtualenv in .venv with cityhub installed
# editable (which compiles the Rust core and the Cython modules). Idempotent: it rebuilds
# only when the build inputs changed since the last successful run.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-test}"   # "test" adds the test tools; "run" installs only what the hub needs
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

for tool in python3 cargo; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required but not on PATH" >&2; exit 1; }
done
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11 or newer is required (found $(python3 --version))" >&2; exit 1
fi

if [ ! -x .venv/bin/python ]; then
  say "creating virtualenv .venv"
  python3 -m venv .venv
fi

# The operations centre's web assets (npm ci + esbuild, only when its sources changed).
scripts/web.sh

spec="."
[ "$extras" = "test" ] && spec=".[test]"
stamp=".venv/.cityhub-build-$extras"
inputs=$(cat pyproject.toml Cargo.toml Cargo.lock setup.py 2>/dev/null; \
  find core_ext -type f \( -name '*.rs' -o -name '*.pyx' -o -name '*.pxd' \) -print0 \
  | sort -z | xargs -0 cat 2>/dev/null)
digest=$(printf '%s' "$inputs" | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && .venv/bin/python -c 'import core_ext._core' 2>/dev/null; then
  say "cityhub is installed and up to date"
  exit 0
fi

say "installing cityhub (compiles the Rust core and Cython modules; first time takes a few minutes)"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --editable "$spec"
printf '%s' "$digest" > "$stamp"
say "cityhub $(.venv/bin/cityhub --version | cut -d' ' -f2) installed in .venv"
