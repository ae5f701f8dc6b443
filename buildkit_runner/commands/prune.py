"""``bkrun prune``: shrink the builder's local cache to ``[prune] keep-storage`` (for cron)."""

from __future__ import annotations

from buildkit_runner import capabilities
from buildkit_runner import config as config_module
from buildkit_runner.commands.common import GlobalOptions
from buildkit_runner.errors import ConfigError


def run(options: GlobalOptions, keep_storage: str | None, until: str | None) -> int:
    import re

    from buildkit_runner.config.models import SIZE_PATTERN

    cfg = config_module.load(options.config)
    keep = keep_storage or cfg.prune.keep_storage
    if not re.match(SIZE_PATTERN, keep):
        raise ConfigError([f"--keep-storage {keep!r}: expected a size such as 512MB or 10GB"])
    report = capabilities.prune(keep, until or cfg.prune.until)
    print(report.strip() or "nothing to prune")
    print(f"builder cache kept at or below {keep}")
    return 0
