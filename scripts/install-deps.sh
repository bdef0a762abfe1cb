#!/usr/bin/env bash
# Installs what Centralita needs on a fresh Debian machine, idempotently:
#   - Debian packages: redis-server, postgresql, chromium, espeak-ng, sox, python3-venv;
#   - the project and its Python packages into its own virtual environment,
#     $CENTRALITA_VENV (default: .venv in the checkout), created with `python3 -m venv`
#     so Debian's externally managed Python (PEP 668) is never touched.
# Prints the environment's interpreter path as its last line on stdout; everything else
# goes to stderr. Any failure stops the script with the tool's own error and a hint.
#   PYTHON=/usr/bin/python3.11 bash scripts/install-deps.sh   # base interpreter for the venv
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
BASE_PY="${PYTHON:-python3}"
VENV="${CENTRALITA_VENV:-$ROOT/.venv}"
EXTRAS="${CENTRALITA_EXTRAS:-test}"

say() { printf '%s\n' "$*" >&2; }
die() { say "install-deps: $1"; say "hint: $2"; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# Another apt (unattended-upgrades, a second shell) may hold the dpkg lock: wait for it,
# bounded, instead of failing at once.
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q)

command -v "$BASE_PY" >/dev/null 2>&1 \
  || die "no Python interpreter '$BASE_PY'" "install python3 (apt-get install python3) or set PYTHON=/path/to/python3"

# WeasyPrint (the PDF reports) needs Pango and fonts; poppler-utils reads PDFs in the tests;
# systemd-analyze checks the generated units.
DEBS=(redis-server postgresql chromium espeak-ng sox systemd libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils)
# `python3 -m venv` needs ensurepip, which Debian ships apart in python3-venv.
if ! "$BASE_PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  DEBS+=("python3-venv")
fi
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  $SUDO "${APT[@]}" update >&2 \
    || die "apt-get update failed (see above)" "check the network and /etc/apt/sources.list, then run again"
  $SUDO "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed (see above)" "fix the apt error shown, then run again"
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtual environment $VENV from $("$BASE_PY" -c 'import sys; print(sys.executable)')"
  "$BASE_PY" -m venv "$VENV" >&2 \
    || die "could not create the virtual environment $VENV" "apt-get install python3-venv, or remove a half-made $VENV and run again"
fi
VPY="$VENV/bin/python"

# Reinstall only when pyproject.toml changed since the last good install.
STAMP="$VENV/.centralita-installed"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1) $EXTRAS $ROOT"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  say "installing Centralita and its Python packages into $VENV"
  "$VPY" -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]" >&2 \
    || die "pip could not install the Python packages (error above)" "fix the named package or the network, then run again; 'rm -rf $VENV' starts over"
  printf '%s' "$WANT" >"$STAMP"
fi

# Check against the installed packages, from outside the checkout, so modules lying in
# the working directory cannot hide a failed install.
(cd / && "$VPY" -I - <<'PY') >&2 || die "the virtual environment is incomplete" "rm -rf $VENV and run again"
import importlib, sys
mods = ["centralita", "servicedesk", "ivr", "ami_listener", "cti_panel", "callstats",
        "asterisk_conf", "pbxsim", "pydantic", "sqlalchemy", "alembic", "redis", "flask",
        "panoramisk", "asterisk.agi", "argon2", "babel", "holidays", "phonenumbers", "psycopg"]
missing = []
for name in mods:
    try:
        importlib.import_module(name)
    except Exception as exc:  # report every missing module, not only the first
        missing.append(f"{name} ({type(exc).__name__}: {exc})")
if missing:
    print("missing modules: " + "; ".join(missing), file=sys.stderr)
    sys.exit(1)
PY
echo "$VPY"
