#!/usr/bin/env bash
# Install, load the Newham demo from ../shared/data (or MAPPING_DATA_DIR) and serve the map
# on http://127.0.0.1:5000 with the embedded SQLite store in ./instance.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/mapping init-db
.venv/bin/mapping load-demo
exec .venv/bin/mapping serve --host 127.0.0.1 --port "${PORT:-5000}"
