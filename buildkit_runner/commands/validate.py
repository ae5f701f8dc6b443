"""``bkrun validate``: every problem ``plan`` and ``build`` would report, at once.

The file (keys, types, references, paths), then the tags of the current commit (two images
must never publish one repository:tag), computed offline from git. Unless ``--offline``, one
``docker buildx inspect`` (about 0.15 s) tells whether the active builder can use the
configured cache backends; an engine that does not answer is reported, not an error.
"""

from __future__ import annotations

import os

from buildkit_runner import builder, graph, validation
from buildkit_runner import config as config_module
from buildkit_runner import git as git_module
from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions
from buildkit_runner.errors import ConfigError


def run(options: GlobalOptions, offline: bool = False) -> int:
    cfg = config_module.load(options.config)
    # No images: the same "nothing to build" (exit 3) as plan and build.
    graph.select(cfg, ())
    context = git_module.context(cfg.root, cfg.default_branch, env=os.environ)
    computed = {name: plan_module.compute_tags(cfg, name, context) for name in cfg.images}
    problems = validation.collision_problems(cfg, computed)

    if offline:
        engine = "builder not checked (--offline)"
    else:
        info = builder.inspect()
        if info.reachable:
            problems += validation.backend_problems(cfg, info)
            engine = f"builder {info.name!r} ({info.driver} driver) can use the cache backends"
        else:
            engine = (
                f"builder not checked: the engine does not answer ({info.error or info.status})"
            )
    if problems:
        raise ConfigError(problems)
    # Whatever else plan checks without the engine or registries.
    plan_module.make_plan(cfg, context, plan_module.Options(offline=True))

    count = len(cfg.images)
    commit = f"tags of {context.sha[:7]} checked" if context.sha else "no commit: tags not checked"
    print(
        f"{cfg.path.name}: ok ({count} image{'s' if count != 1 else ''}: "
        f"{', '.join(cfg.order)}; {commit}; {engine})"
    )
    return 0
