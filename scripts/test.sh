#!/usr/bin/env bash
# Install everything the tests need, then run the linters, the type checker and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check mapping web tests scripts
.venv/bin/mypy mapping
.venv/bin/pytest "$@"
