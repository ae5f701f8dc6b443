#!/usr/bin/env bash
# The full test suite on a fresh machine: engine and registries, bkrun in .venv, then pytest
# (unit tests first, then the end-to-end tests against the real engine).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not engine"` for unit tests only.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/engine.sh up
bash scripts/dev-env.sh

.venv/bin/ruff check buildkit_runner tests
.venv/bin/ruff format --check buildkit_runner tests
.venv/bin/mypy
.venv/bin/pytest "$@"
