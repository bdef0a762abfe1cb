#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: install, lint, test.
# Servers (redis-server, PostgreSQL, Chromium, SMTP) are started by the tests
# themselves as throwaway instances on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(bash scripts/install-deps.sh)"
"$PY" -m ruff check .
"$PY" -m ruff format --check .
exec "$PY" -m pytest -q -p no:cacheprovider "$@"
