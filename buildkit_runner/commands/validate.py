"""``bkrun validate``: load and check the config, report every problem at once."""

from __future__ import annotations

from buildkit_runner import config as config_module
from buildkit_runner.commands.common import GlobalOptions


def run(options: GlobalOptions) -> int:
    cfg = config_module.load(options.config)
    count = len(cfg.images)
    print(f"{cfg.path.name}: ok ({count} image{'s' if count != 1 else ''}: {', '.join(cfg.order)})")
    return 0
