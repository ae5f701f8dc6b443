"""``bkrun export bake``: write the plan as a docker-bake.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from buildkit_runner import bake, log
from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions, load_plan
from buildkit_runner.errors import UsageError

BAKE_FILE = "docker-bake.json"


def run(
    options: GlobalOptions,
    plan_options: plan_module.Options,
    trigger: str | None,
    output: Path | None,
    force: bool,
) -> int:
    config, plan = load_plan(options, plan_options, trigger)
    text = json.dumps(bake.bake_file(config, plan), indent=2) + "\n"
    if output is not None and str(output) == "-":
        sys.stdout.write(text)
        return 0

    path = output or config.root / BAKE_FILE
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    path.write_text(text, encoding="utf-8")
    log.get().info("bake_file_written", path=str(path), targets=len(plan.steps))
    print(f"wrote {path}: run `docker buildx bake -f {path.name}` in {config.root}")
    return 0
