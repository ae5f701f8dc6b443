#!/usr/bin/env bash
# The main job on a fresh machine: start the engine and the local registry, install bkrun,
# then build the example project and push it with its registry cache.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/engine.sh up
bash scripts/dev-env.sh

.venv/bin/bkrun --config configs/example/bkrun.toml plan --push
.venv/bin/bkrun --config configs/example/bkrun.toml build --push
