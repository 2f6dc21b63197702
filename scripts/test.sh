#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint, the Rust crate's checks, pytest
# (with the PostgreSQL-backed store tests, the Neo4j, Elasticsearch and Redis backends'
# conformance suites and the MQTT transport on Mosquitto, against real servers started here and stopped at the end).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Browser tests drive Debian's chromium by its path: never let Playwright download one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
scripts/setup.sh test
# The servers' Debian packages in one apt-get run (each server script would install its own).
scripts/debs.sh postgresql redis-server redis-tools mosquitto maven unzip
scripts/chromium.sh
eval "$(scripts/postgres.sh)"
export CITYHUB_TEST_POSTGRES_URL

# Neo4j, Elasticsearch, Redis and Mosquitto start side by side; each stops at the end if this run
# started it (a server already answering is reused and left running). The trap is set first so
# that one server failing to start does not leave the others running.
stop_servers() {
  [ -z "${CITYHUB_TEST_NEO4J_STARTED:-}" ] || scripts/neo4j.sh stop
  [ -z "${CITYHUB_TEST_ELASTICSEARCH_STARTED:-}" ] || scripts/elasticsearch.sh stop
  [ -z "${CITYHUB_TEST_REDIS_STARTED:-}" ] || scripts/redis.sh stop
  [ -z "${CITYHUB_TEST_MQTT_STARTED:-}" ] || scripts/mosquitto.sh stop
}
trap stop_servers EXIT

say "servers: neo4j, elasticsearch, redis, mosquitto"
servers_started=$(date +%s)
servers_dir="$(mktemp -d)"
for server in neo4j elasticsearch redis mosquitto; do
  scripts/$server.sh >"$servers_dir/$server.env" 2>"$servers_dir/$server.log" &
  echo $! >"$servers_dir/$server.pid"
done
failed=""
for server in neo4j elasticsearch redis mosquitto; do
  if ! wait "$(cat "$servers_dir/$server.pid")"; then
    cat "$servers_dir/$server.log" >&2; failed="$failed $server"; continue
  fi
  cat "$servers_dir/$server.log" >&2
  eval "$(cat "$servers_dir/$server.env")"
done
rm -rf "$servers_dir"
[ -z "$failed" ] || { echo "did not start:$failed" >&2; exit 1; }
say "servers up in $(( $(date +%s) - servers_started )) s"
export CITYHUB_TEST_NEO4J_URL CITYHUB_TEST_ELASTICSEARCH_URL CITYHUB_TEST_REDIS_URL
export CITYHUB_TEST_MQTT_URL

say "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check hub schema connectors simcity tests bench >/dev/null \
  || { .venv/bin/ruff format --diff hub schema connectors simcity tests bench | head -50; exit 1; }
say "mypy (strict: hub, schema, connectors, core_ext; pyproject.toml [tool.mypy])"
.venv/bin/mypy
say "tsc (hub/web, strict; scripts/web.sh installed it)"
(cd hub/web && node_modules/.bin/tsc --noEmit)
say "cargo fmt / clippy"
cargo fmt --check
cargo clippy --quiet --release -- -D warnings

say "pytest"
.venv/bin/python -m pytest --durations=15 "$@"  # the slowest, to keep CI time in view
