#!/usr/bin/env bash
# Sets everything up and runs the hub with the Binhai demo city on embedded defaults
# (SQLite in ./var; no servers to install): the simulated city's 28 source systems start on
# their own protocols (in the background, stopped with the hub) and keep living — telemetry
# over MQTT, new reports and requests, now and then an incident — on a clock that starts now
# (CITYHUB_SANDBOX_SPEED=N runs it N times faster); the hub syncs all 28 into its store,
# builds the knowledge graph and search index, creates the demo accounts and serves, consuming
# the city's telemetry and syncing its pull systems every CITYHUB_SYNC_INTERVAL_S (60) seconds.
# Options go to `cityhub serve` (--host, --port, --workers).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/setup.sh run
# --host/--port also go to the demo accounts, so the printed token URLs and the issuer match
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --port) export CITYHUB_PORT="${args[i + 1]:-}" ;;
    --port=*) export CITYHUB_PORT="${args[i]#--port=}" ;;
    --host) export CITYHUB_HOST="${args[i + 1]:-}" ;;
    --host=*) export CITYHUB_HOST="${args[i]#--host=}" ;;
  esac
done
cityhub=.venv/bin/cityhub
mkdir -p var

say "starting the simulated city (log: var/sandbox.log)"
rm -f var/sandbox/endpoints.json
$cityhub sandbox up --speed "${CITYHUB_SANDBOX_SPEED:-1}" >var/sandbox.log 2>&1 &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null || true; wait "$sandbox" 2>/dev/null || true' EXIT
$cityhub sandbox wait --timeout 300
# the hub follows the living city: its telemetry broker, and the pull systems every minute
CITYHUB_MQTT_URL="${CITYHUB_MQTT_URL:-$(.venv/bin/python -c \
  'import json; print(json.load(open("var/sandbox/endpoints.json"))["mqtt"])')}"
export CITYHUB_MQTT_URL
export CITYHUB_SYNC_INTERVAL_S="${CITYHUB_SYNC_INTERVAL_S:-60}"

say "syncing the 28 source systems"
# A system that is down is reported and skipped; the others still load.
$cityhub sync || say "some systems did not sync: see 'cityhub sources status'"
$cityhub index
$cityhub demo accounts
$cityhub serve "$@"
