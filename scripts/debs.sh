#!/usr/bin/env bash
# Installs the Debian packages named as arguments that the machine lacks, in one apt-get run.
# The server scripts start side by side, so apt-get runs under a lock file: two installs at
# once would otherwise fail on apt's own lock. No-op when everything is installed.
set -euo pipefail

missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "debs: installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
(
  flock 9
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq "${missing[@]}" >&2
) 9>/tmp/cityhub-apt.lock
