"""What every planning command does first: load the config, read git, make the plan."""

from __future__ import annotations

import dataclasses
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
    # --color resolved against NO_COLOR, FORCE_COLOR, TERM and the terminal: True or False.
    color: bool = False


def load_plan(
    options: GlobalOptions, plan_options: plan_module.Options, trigger: str | None
) -> tuple[config_module.Config, plan_module.Plan]:
    cfg = config_module.load(options.config)
    context = git_module.context(cfg.root, cfg.default_branch, env=os.environ, trigger=trigger)
    if not plan_options.offline:
        # Probes feed the plan (never the runner alone), so plan and build agree.
        from buildkit_runner import probe

        names = plan_module.select(cfg, plan_options.images)
        facts = probe.gather(
            cfg, context, names, plan_options.push, plan_options.cache_export, os.environ
        )
        plan_options = dataclasses.replace(plan_options, facts=facts)
    return cfg, plan_module.make_plan(cfg, context, plan_options)
