#!/usr/bin/env bash
# setup-datasets.sh - install the datasets the examples train on, from Debian packages:
#   dataset-fashion-mnist (MIT): /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
# Idempotent; needs root (apt-get) only when something is missing.
# Usage: scripts/setup-datasets.sh [--quiet]
set -euo pipefail
QUIET=${1:-}
FASHION=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [ ! -f "$FASHION" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-datasets: $FASHION is missing; run as root (apt-get install dataset-fashion-mnist)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends dataset-fashion-mnist >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends dataset-fashion-mnist >/dev/null; }
fi
[ "$QUIET" = --quiet ] || echo "fashion-mnist: $(dirname "$FASHION")"
