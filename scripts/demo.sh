#!/usr/bin/env bash
# Install, load the Newham demo from ../shared/data (or MAPPING_DATA_DIR) and serve the map
# on http://127.0.0.1:5000 with the embedded SQLite store in ./instance.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }
bash scripts/setup.sh
step "Creating the SQLite store in instance/ (or bringing its schema up to date)"
.venv/bin/mapping init-db
step "Loading the Newham demo from ${MAPPING_DATA_DIR:-../shared/data} (about a minute)"
.venv/bin/mapping load-demo
# The spend page's example: a real council's published payments (Lambeth, June 2012; the data
# folder has no Newham spend), named so nobody takes it for Newham's. Replaced on every run.
step "Importing the spend page's example file"
.venv/bin/mapping import-spend \
  "${MAPPING_DATA_DIR:-../shared/data}/spend/lambeth/lambeth_payments_over_500_2012-06_raw.csv" \
  --name "Lambeth June 2012 (example from another council)" --replace
step "Serving the map on http://127.0.0.1:${PORT:-5000} (Ctrl+C stops it; sign-in: see README)"
exec .venv/bin/mapping serve --host 127.0.0.1 --port "${PORT:-5000}"
