#!/usr/bin/env bash
# Starts a throwaway Neo4j (5.26 LTS, community) on 127.0.0.1 for the tests: Neo4j's own jars
# from Maven Central, run by the small embedded-DBMS launcher in scripts/servers/neo4j-launcher
# (built here with `mvn -q package` the first time). Prints
# `export CITYHUB_TEST_NEO4J_URL=...` for eval. Idempotent: a server already answering on the
# port is reused. `scripts/neo4j.sh stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${CITYHUB_TEST_NEO4J_PORT:-57687}"
home="${CITYHUB_TEST_NEO4J_DIR:-/tmp/cityhub-neo4j-$port}"
java="${CITYHUB_NEO4J_JAVA:-java}"   # 5.26 runs on Java 17 or 21
heap="${CITYHUB_NEO4J_HEAP:-2g}"
launcher=scripts/servers/neo4j-launcher
log() { echo "neo4j: $*" >&2; }
answering() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if [ "${1:-}" = stop ]; then
  if [ -f "$home/server.pid" ]; then
    pid="$(cat "$home/server.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    rm -f "$home/server.pid"
  fi
  exit 0
fi

if ! answering; then
  if [ ! -f "$launcher/target/neo4j-launcher-1.0.jar" ] || [ ! -d "$launcher/target/lib" ] \
     || [ "$launcher/pom.xml" -nt "$launcher/target/neo4j-launcher-1.0.jar" ] \
     || [ -n "$(find "$launcher/src" -newer "$launcher/target/neo4j-launcher-1.0.jar" -type f)" ]; then
    command -v mvn >/dev/null || {
      log "installing Maven (Debian package)"
      scripts/debs.sh maven
    }
    log "building the launcher (Neo4j jars from Maven Central)"
    rm -rf "$launcher/target/lib"
    mvn -q -f "$launcher/pom.xml" package -DskipTests >&2
  fi
  # The test database is thrown away on each fresh start: tests make their own namespaces.
  rm -rf "$home"; mkdir -p "$home"
  log "starting on 127.0.0.1:$port (home $home)"
  start=$(date +%s%N)
  nohup "$java" -Xms512m "-Xmx$heap" -XX:+UseG1GC \
    -cp "$launcher/target/neo4j-launcher-1.0.jar:$launcher/target/lib/*" \
    cityhub.Neo4jLauncher "$home/dbms" "$port" >"$home/server.log" 2>&1 </dev/null &
  echo $! >"$home/server.pid"
  for _ in $(seq 1 240); do
    grep -q "ready on" "$home/server.log" && break
    kill -0 "$(cat "$home/server.pid")" 2>/dev/null || { tail -n 40 "$home/server.log" >&2; exit 1; }
    sleep 0.25
  done
  grep -q "ready on" "$home/server.log" || { log "not ready after 60 s"; tail -n 40 "$home/server.log" >&2; exit 1; }
  log "ready in $(( ($(date +%s%N) - start) / 1000000 )) ms"
  echo "export CITYHUB_TEST_NEO4J_STARTED=1"   # so scripts/test.sh stops what it started
fi
echo "export CITYHUB_TEST_NEO4J_URL=bolt://127.0.0.1:$port"
