#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on 127.0.0.1 for the tests, installing the Debian package if
# the machine lacks it. Prints `export CITYHUB_TEST_POSTGRES_URL=...` for eval. Idempotent:
# a server already answering on the port is reused. `scripts/postgres.sh stop` stops it.
set -euo pipefail

port="${CITYHUB_TEST_PG_PORT:-55432}"
data="${CITYHUB_TEST_PG_DIR:-/tmp/cityhub-pg-$port}"
db=cityhub_test
log() { echo "postgres: $*" >&2; }

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin="$(find_bin)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  log "installing the postgresql Debian package"
  "$(dirname "$0")/debs.sh" postgresql
  bin="$(find_bin)"
fi

# PostgreSQL refuses to run as root: run it as the postgres user the package creates.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ "${1:-}" = stop ]; then
  if [ -d "$data" ]; then as_owner "$bin/pg_ctl" -D "$data" -m fast stop >&2 || true; fi
  exit 0
fi

if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a cluster in $data"
    rm -rf "$data"; mkdir -p "$data"
    as_owner true   # creates the postgres user if the machine has none
    if [ "$(id -u)" = 0 ]; then chown postgres "$data"; fi
    as_owner "$bin/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >&2
  fi
  log "starting on 127.0.0.1:$port"
  as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c max_connections=200" \
    start >&2 || { cat "$data/server.log" >&2; exit 1; }
fi

if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
fi
echo "export CITYHUB_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$port/$db"
