#!/usr/bin/env bash
# Install the service into .venv and the map's front-end assets into node_modules.
# Usage: bash scripts/setup.sh [test]   ("test" also installs the test tools and Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  step "Creating the Python environment in .venv"
  "$PYTHON" -m venv .venv
fi
step "Installing the Python packages into .venv (the first time takes about 2 minutes)"
.venv/bin/python -m pip install --quiet --upgrade pip
# pip shows each package it fetches (not the hundreds it already has); a failure stops here
# with pip's own message (pipefail: the pipeline fails when pip does).
pip_install() {
  .venv/bin/python -m pip install --progress-bar off "$@" 2>&1 \
    | { grep -vE '^(Requirement already satisfied|Using cached)' || true; }
}
if [ "${1:-}" = "test" ]; then
  pip_install -e ".[test]"
else
  pip_install -e .
fi

# Leaflet, markercluster, Font Awesome...: installed from the npm registry, served by our own
# server, so the map works on networks that block CDNs. Exact versions are in package-lock.json.
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed to install the map's front-end assets: install Node.js (apt-get install nodejs npm)" >&2
  exit 1
fi
step "Installing the map's front-end files (Leaflet and friends) from npm into node_modules"
# axe-core (the accessibility checker the browser tests run) is a dev dependency: tests only.
if [ "${1:-}" = "test" ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm ci --omit=dev --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  step "Installing Debian's Chromium for the browser tests"
  # Browser tests drive Debian's Chromium (no browser download from the internet).
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
