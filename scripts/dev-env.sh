#!/usr/bin/env bash
# Creates .venv (if missing) and installs bkrun into it, editable, with the dev tools.
# Re-running is cheap: pip only reinstalls when pyproject.toml changed since the last run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi

stamp=.venv/.bkrun-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
