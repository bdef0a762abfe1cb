#!/usr/bin/env bash
# The README's first command: installs what Centralita needs (Debian packages and the
# project's virtual environment, idempotent), then runs the whole system on the simulator.
#   bash scripts/demo.sh            # panel on http://127.0.0.1:8080/
#   bash scripts/demo.sh --port 9000
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(bash scripts/install-deps.sh)"
exec "$PY" -m centralita demo "$@"
