#!/usr/bin/env bash
# Starts a throwaway Redis on 127.0.0.1 for the tests (fan-out between hub workers, shared
# rate-limit counters), installing the Debian package if the machine lacks it. Prints
# `export CITYHUB_TEST_REDIS_URL=...` for eval. Idempotent: a server already answering on the
# port is reused. `scripts/redis.sh stop` stops it.
set -euo pipefail

port="${CITYHUB_TEST_REDIS_PORT:-56379}"
data="${CITYHUB_TEST_REDIS_DIR:-/tmp/cityhub-redis-$port}"
log() { echo "redis: $*" >&2; }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  log "installing the redis-server Debian package"
  "$(dirname "$0")/debs.sh" redis-server redis-tools
fi

if [ "${1:-}" = stop ]; then
  redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  exit 0
fi

if ! redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
  mkdir -p "$data"
  log "starting on 127.0.0.1:$port"
  start=$(date +%s%N)
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$data" \
    --pidfile "$data/redis.pid" --logfile "$data/redis.log" --save "" --appendonly no \
    --protected-mode yes >&2
  for _ in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG \
    || { tail -n 20 "$data/redis.log" >&2; exit 1; }
  log "ready in $(( ($(date +%s%N) - start) / 1000000 )) ms"
  echo "export CITYHUB_TEST_REDIS_STARTED=1"   # so scripts/test.sh stops what it started
fi
echo "export CITYHUB_TEST_REDIS_URL=redis://127.0.0.1:$port/0"
