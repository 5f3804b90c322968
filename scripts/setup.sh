#!/usr/bin/env bash
# Install the service into .venv and the map's front-end assets into node_modules.
# Usage: bash scripts/setup.sh [test]   ("test" also installs the test tools and Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "test" ]; then
  .venv/bin/python -m pip install --quiet -e ".[test]"
else
  .venv/bin/python -m pip install --quiet -e .
fi

# Leaflet, markercluster, Font Awesome...: installed from the npm registry, served by our own
# server, so the map works on networks that block CDNs. Exact versions are in package-lock.json.
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed to install the map's front-end assets: install Node.js (apt-get install nodejs npm)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error

if [ "${1:-}" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium (no browser download from the internet).
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
