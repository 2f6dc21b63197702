#!/usr/bin/env bash
# Starts a throwaway Mosquitto MQTT broker on 127.0.0.1 for the tests, installing the Debian
# package if the machine lacks it. Prints `export CITYHUB_TEST_MQTT_URL=...` for eval.
# Idempotent: a broker already answering on the port is reused. `scripts/mosquitto.sh stop`.
set -euo pipefail

port="${CITYHUB_TEST_MQTT_PORT:-51883}"
dir="${CITYHUB_TEST_MQTT_DIR:-/tmp/cityhub-mosquitto-$port}"
log() { echo "mosquitto: $*" >&2; }

bin="$(command -v mosquitto || true)"
[ -z "$bin" ] && [ -x /usr/sbin/mosquitto ] && bin=/usr/sbin/mosquitto
if [ -z "$bin" ]; then
  log "installing the mosquitto Debian package"
  "$(dirname "$0")/debs.sh" mosquitto
  bin=/usr/sbin/mosquitto
fi

if [ "${1:-}" = stop ]; then
  if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; rm -f "$dir/pid"; fi
  exit 0
fi

answering() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if ! answering; then
  mkdir -p "$dir"
  cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 100000
log_dest file $dir/mosquitto.log
CONF
  if [ "$(id -u)" = 0 ]; then echo "user root" >> "$dir/mosquitto.conf"; fi
  log "starting on 127.0.0.1:$port"
  "$bin" -c "$dir/mosquitto.conf" -d
  for _ in $(seq 50); do answering && break; sleep 0.1; done
  answering || { cat "$dir/mosquitto.log" >&2; exit 1; }
  pgrep -f "mosquitto -c $dir/mosquitto.conf" | head -n 1 > "$dir/pid" || true
  echo "export CITYHUB_TEST_MQTT_STARTED=1"   # so scripts/test.sh stops what it started
fi
echo "export CITYHUB_TEST_MQTT_URL=mqtt://127.0.0.1:$port"
