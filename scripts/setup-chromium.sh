#!/usr/bin/env bash
# setup-chromium.sh - install the browser the web example's test drives (playwright-core launches it), from Debian:
#   chromium: /usr/bin/chromium
# Idempotent; needs root (apt-get) only when it is missing.
# Usage: scripts/setup-chromium.sh [--quiet]
set -euo pipefail
QUIET=${1:-}
CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-chromium: $CHROMIUM is missing; run as root (apt-get install chromium)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
fi
[ "$QUIET" = --quiet ] || echo "chromium: $CHROMIUM"
