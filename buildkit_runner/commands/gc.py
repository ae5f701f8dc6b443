"""``bkrun gc``: delete stale cache refs and tags through the registry API (dry run default).

What is stale comes from the ``[gc]`` rules (buildkit_runner.retention); what the current
plan references (this commit's tags and every cache ref it reads or writes) is never touched.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from buildkit_runner import cache, retention
from buildkit_runner import config as config_module
from buildkit_runner import git as git_module
from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions


def run(options: GlobalOptions, yes: bool, trigger: str | None = None) -> int:
    from buildkit_runner import registry

    cfg = config_module.load(options.config)
    context = git_module.context(cfg.root, cfg.default_branch, env=os.environ, trigger=trigger)
    protected = referenced(cfg, context)
    now = datetime.now(timezone.utc)

    stale: list[retention.Decision] = []
    for repository in repositories(cfg):
        client = registry.client_for(cfg.registry_for(repository.split("/", 1)[0]))
        try:
            infos = _tag_infos(client, repository)
            decisions = retention.decide(infos, cfg.gc_rules, protected, now)
            for decision in decisions:
                verb = ("delete" if yes else "would delete") if decision.delete else "keep"
                print(f"{verb:<13} {decision.tag.ref}  ({decision.why})")
                if decision.delete:
                    stale.append(decision)
            if yes:
                for digest in dict.fromkeys(d.tag.digest for d in decisions if d.delete):
                    client.delete(repository, digest)
        finally:
            client.close()

    if not stale:
        print("nothing is stale")
    elif yes:
        print(f"deleted {len(stale)} stale tag(s)")
    else:
        print(f"{len(stale)} stale tag(s); run bkrun gc --yes to delete them")
    return 0


def referenced(cfg: config_module.Config, context: git_module.GitContext) -> set[str]:
    """Every ref the plan for this commit uses: its tags and the cache refs it reads/writes."""
    options = plan_module.Options(cache_export=True, offline=True)
    plan = plan_module.make_plan(cfg, context, options)
    found: set[str] = set()
    for step in plan.steps:
        found.update(step.refs)
        found.update(cache.registry_refs(step.cache_from + step.cache_to))
    # The default branch's cache is every branch's fallback.
    found.update(image.cache.ref for image in cfg.images.values())
    return found


def repositories(cfg: config_module.Config) -> list[str]:
    names = [image.repository for image in cfg.images.values()]
    names += [i.cache.repository for i in cfg.images.values() if i.cache.backend == "registry"]
    return list(dict.fromkeys(n for n in names if n))


def _tag_infos(client: object, repository: str) -> list[retention.TagInfo]:
    from buildkit_runner.registry import Client

    assert isinstance(client, Client)
    infos = []
    for tag in client.tags(repository):
        digest, _ = client.manifest(repository, tag)
        infos.append(retention.TagInfo(repository, tag, digest, client.created(repository, tag)))
    return infos
