#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/web), and a CJK font so the Chinese interface
# renders in screenshots. Idempotent: apt-get runs only when something is missing. Playwright
# drives this browser by its path; it never downloads one.
set -euo pipefail
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

missing=()
command -v chromium >/dev/null || missing+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt-get)"
  "$(dirname "$0")/debs.sh" "${missing[@]}" >/dev/null
fi
chromium --version 2>/dev/null >&2 || true
