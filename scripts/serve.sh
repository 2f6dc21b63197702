#!/usr/bin/env bash
# Sets everything up and runs the hub with the Binhai demo city on embedded defaults
# (SQLite in ./var; no servers to install). Options go to `cityhub serve` (--host, --port, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh run
.venv/bin/cityhub demo load
.venv/bin/cityhub demo accounts
exec .venv/bin/cityhub serve "$@"
