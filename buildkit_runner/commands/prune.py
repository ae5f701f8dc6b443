"""``bkrun prune``: shrink the builder's local cache to ``[prune] keep-storage`` (for cron).

A dry run by default, like ``bkrun gc``: it shows the builder's cache usage (``docker buildx
du``) and the exact ``docker buildx prune`` command; ``--yes`` runs it.
"""

from __future__ import annotations

import shlex

from buildkit_runner import capabilities, units
from buildkit_runner import config as config_module
from buildkit_runner.commands.common import GlobalOptions
from buildkit_runner.errors import BkrunError, ConfigError


def run(options: GlobalOptions, keep_storage: str | None, until: str | None, yes: bool) -> int:
    problems = []
    if keep_storage is not None and (problem := units.size_problem(keep_storage)):
        problems.append(f"--keep-storage: {problem}")
    if until is not None and (problem := units.duration_problem(until)):
        problems.append(f"--until: {problem}")
    if problems:
        raise ConfigError(problems)

    cfg = config_module.load(options.config)
    keep = keep_storage or cfg.prune.keep_storage
    older = until or cfg.prune.until
    command = shlex.join(["docker", *capabilities.prune_args(keep, older)])
    if yes:
        report = capabilities.prune(keep, older)
        print(report.strip() or "nothing to prune")
        print(f"builder cache kept at or below {keep}")
        return 0

    try:
        usage = capabilities.disk_usage()
    except BkrunError:
        usage = {}
    if usage:
        print(
            f"builder cache now: {usage.get('Total', '?')} in total, "
            f"{usage.get('Reclaimable', '?')} reclaimable (docker buildx du)"
        )
    scope = f"cache unused for {older} or more, " if older else ""
    print(f"would prune {scope}down to {keep} kept: {command}")
    print("run bkrun prune --yes to prune (BKRUN_PRUNE_YES=1)")
    return 0
