#!/usr/bin/env bash
# Builds the operations centre (hub/web) into hub/web/dist: npm ci + esbuild. Idempotent: it
# rebuilds only when the UI's sources, package.json or package-lock.json changed since the last
# build. Needs Node.js and npm, and the npm registry (nothing else: no CDN, no browser).
set -euo pipefail
cd "$(dirname "$0")/../hub/web"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "web: $tool is required (apt-get install nodejs npm)" >&2; exit 1; }
done
digest=$( (cat package.json package-lock.json build.mjs; find src -type f -print0 | sort -z | xargs -0 cat) \
  | sha256sum | cut -d' ' -f1)
stamp=dist/.build-digest
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && [ -f dist/index.html ]; then
  say "ops centre is built and up to date"
  exit 0
fi
lock_digest=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.lock-digest ] || [ "$(cat node_modules/.lock-digest)" != "$lock_digest" ]; then
  say "installing the ops centre's npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s' "$lock_digest" > node_modules/.lock-digest
fi
say "building the ops centre (esbuild)"
node build.mjs
printf '%s' "$digest" > "$stamp"
