"""What every planning command does first: load the config, read git, make the plan."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from buildkit_runner import config as config_module
from buildkit_runner import git as git_module
from buildkit_runner import plan as plan_module
from buildkit_runner.changes import Inputs


@dataclass(frozen=True)
class GlobalOptions:
    config: Path | None = None
    verbosity: int = 0
    log_format: str = "auto"
    # --color resolved against NO_COLOR, FORCE_COLOR, TERM and the terminal: True or False.
    color: bool = False


def load_config(options: GlobalOptions, plan_options: plan_module.Options) -> config_module.Config:
    return config_module.load(options.config, profile=plan_options.profile)


def run_settings(
    cfg: config_module.Config, plan_options: plan_module.Options
) -> plan_module.Options:
    """Options left unset on the command line and in BKRUN_* take the profile's value, then
    the built-in one (docs/config.md: precedence)."""
    run = cfg.run
    jobs = plan_options.jobs if plan_options.jobs is not None else run.jobs
    keep_going = plan_options.keep_going
    if_changed = plan_options.if_changed
    return dataclasses.replace(
        plan_options,
        jobs=jobs or 1,
        keep_going=bool(run.keep_going if keep_going is None else keep_going),
        if_changed=bool(run.if_changed if if_changed is None else if_changed),
    )


def load_plan(
    options: GlobalOptions,
    plan_options: plan_module.Options,
    trigger: str | None,
    cfg: config_module.Config | None = None,
) -> tuple[config_module.Config, plan_module.Plan]:
    cfg = cfg or load_config(options, plan_options)
    plan_options = run_settings(cfg, plan_options)
    trigger = trigger or cfg.run.trigger
    context = git_module.context(cfg.root, cfg.default_branch, env=os.environ, trigger=trigger)

    # Inputs are I/O (files, registries): gathered here and passed in, so plan == build.
    from buildkit_runner import inputs

    names = plan_module.select(cfg, plan_options.images, plan_options.no_deps)
    notes = tuple(inputs.undeclared_notes(cfg, names, context))
    found = Inputs(notes=notes)
    if not plan_options.offline:
        # Probes feed the plan (never the runner alone), so plan and build agree.
        from buildkit_runner import probe

        facts = probe.gather(
            cfg, context, names, plan_options.push, plan_options.cache_export, os.environ
        )
        plan_options = dataclasses.replace(plan_options, facts=facts)
        compare = bool(plan_options.if_changed or plan_options.no_deps)
        if plan_options.push or compare:
            gathered = inputs.gather(
                cfg, context, names, plan_options.platforms, compare, os.environ
            )
            found = Inputs(gathered.images, notes + gathered.notes)
    plan_options = dataclasses.replace(
        plan_options, inputs=found, private_ca_hosts=_private_ca_hosts()
    )
    return cfg, plan_module.make_plan(cfg, context, plan_options)


def _private_ca_hosts() -> tuple[str, ...]:
    # dockerd reads these CAs; buildx imagetools, in the client, does not (graph.staged).
    certs = Path("/etc/docker/certs.d")
    try:
        return tuple(sorted(p.name for p in certs.iterdir() if (p / "ca.crt").is_file()))
    except OSError:
        return ()
