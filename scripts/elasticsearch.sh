#!/usr/bin/env bash
# Starts a throwaway Elasticsearch 9 on 127.0.0.1 for the tests: Elastic's own distribution as
# published to Maven Central (org.elasticsearch.distribution.integ-test-zip:elasticsearch, a zip
# with bin/elasticsearch), fetched once with `mvn dependency:copy` into a cache folder outside
# the repo. Single node, security off (loopback only), modest heap, run on a JDK >= 21 as a
# dedicated system user (it refuses root). Prints `export CITYHUB_TEST_ELASTICSEARCH_URL=...`
# for eval. Idempotent: a server already answering is reused. `... stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${CITYHUB_ES_VERSION:-9.1.5}"
port="${CITYHUB_TEST_ES_PORT:-59200}"
data="${CITYHUB_TEST_ES_DIR:-/tmp/cityhub-es-$port}"
heap="${CITYHUB_ES_HEAP:-512m}"
user=cityhub-es
# root's home is private: the dedicated user could not read a copy under it.
if [ "$(id -u)" = 0 ]; then cache=/var/cache/cityhub; else cache="${XDG_CACHE_HOME:-$HOME/.cache}/cityhub"; fi
dist="$cache/elasticsearch-$version"
log() { echo "elasticsearch: $*" >&2; }
url="http://127.0.0.1:$port"
answering() { curl -fsS -m 2 "$url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; }

if [ "${1:-}" = stop ]; then
  if [ -f "$data/server.pid" ]; then
    pid="$(cat "$data/server.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    rm -f "$data/server.pid"
  fi
  exit 0
fi

if answering; then echo "export CITYHUB_TEST_ELASTICSEARCH_URL=$url"; exit 0; fi

jdk="${ES_JAVA_HOME:-}"
if [ -z "$jdk" ]; then
  for candidate in $(ls -d /usr/lib/jvm/* 2>/dev/null | sort -rV); do
    v="$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/.*java.specification.version = //p')"
    if [ -n "$v" ] && [ "$v" -ge 21 ] 2>/dev/null; then jdk="$candidate"; break; fi
  done
fi
[ -n "$jdk" ] || { log "needs a JDK >= 21 under /usr/lib/jvm (or ES_JAVA_HOME)"; exit 1; }

if [ ! -x "$dist/bin/elasticsearch" ]; then
  command -v mvn >/dev/null && command -v unzip >/dev/null || {
    scripts/debs.sh maven unzip
  }
  log "fetching the $version distribution from Maven Central"
  mkdir -p "$cache"
  mvn -q org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
    "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$version:zip" \
    "-DoutputDirectory=$cache" >&2
  rm -rf "$dist.tmp"; mkdir -p "$dist.tmp"
  (cd "$dist.tmp" && unzip -q "$cache/elasticsearch-$version.zip")
  mv "$dist.tmp/elasticsearch-$version" "$dist"; rm -rf "$dist.tmp" "$cache/elasticsearch-$version.zip"
  chmod -R a+rX "$cache"
fi

as_user() {
  if [ "$(id -u)" = 0 ]; then
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

rm -rf "$data"; mkdir -p "$data"
cp -r "$dist/config" "$data/config"
as_user true   # creates the user
if [ "$(id -u)" = 0 ]; then chown -R "$user" "$data"; fi
log "starting $version on 127.0.0.1:$port (JDK $jdk, heap $heap)"
start=$(date +%s%N)
as_user env ES_JAVA_HOME="$jdk" ES_PATH_CONF="$data/config" \
  ES_JAVA_OPTS="-Xms$heap -Xmx$heap -XX:TieredStopAtLevel=1" \
  "$dist/bin/elasticsearch" -d -p "$data/server.pid" \
  -E discovery.type=single-node -E network.host=127.0.0.1 -E "http.port=$port" \
  -E "transport.port=$((port + 100))" -E "path.data=$data/data" -E "path.logs=$data/logs" \
  -E xpack.security.enabled=false -E cluster.routing.allocation.disk.threshold_enabled=false \
  -E action.destructive_requires_name=false >"$data/start.log" 2>&1 \
  || { cat "$data/start.log" >&2; tail -n 40 "$data"/logs/*.log >&2 2>/dev/null; exit 1; }
for _ in $(seq 1 240); do answering && break; sleep 0.25; done
answering || { log "not ready after 60 s"; tail -n 40 "$data"/logs/*.log >&2; exit 1; }
log "ready in $(( ($(date +%s%N) - start) / 1000000 )) ms"
echo "export CITYHUB_TEST_ELASTICSEARCH_STARTED=1"   # so scripts/test.sh stops what it started
echo "export CITYHUB_TEST_ELASTICSEARCH_URL=$url"
