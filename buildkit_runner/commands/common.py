"""What every planning command does first: load the config, read git, make the plan."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from buildkit_runner import config as config_module
from buildkit_runner import git as git_module
from buildkit_runner import plan as plan_module


@dataclass(frozen=True)
class GlobalOptions:
    config: Path | None = None
    verbosity: int = 0
    log_format: str = "auto"


def load_plan(
    options: GlobalOptions, plan_options: plan_module.Options, trigger: str | None
) -> tuple[config_module.Config, plan_module.Plan]:
    cfg = config_module.load(options.config)
    context = git_module.context(cfg.root, cfg.default_branch, env=os.environ, trigger=trigger)
    return cfg, plan_module.make_plan(cfg, context, plan_options)
