#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint, the Rust crate's checks, pytest
# (with the PostgreSQL-backed store tests against a real server started here).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/setup.sh test
eval "$(scripts/postgres.sh)"
export CITYHUB_TEST_POSTGRES_URL

say "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check hub schema connectors simcity tests bench >/dev/null \
  || { .venv/bin/ruff format --diff hub schema connectors simcity tests bench | head -50; exit 1; }
say "cargo fmt / clippy"
cargo fmt --check
cargo clippy --quiet --release -- -D warnings

say "pytest"
.venv/bin/python -m pytest "$@"
