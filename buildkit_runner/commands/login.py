"""``bkrun login``: ``docker login`` to every registry whose credentials the config names.

The password goes to docker on stdin (``--password-stdin``), never on argv, and is never
printed. Registries without username-env/password-env keep what the docker config and its
credential helpers already hold.
"""

from __future__ import annotations

import os

from buildkit_runner import capabilities, log, registry
from buildkit_runner import config as config_module
from buildkit_runner.commands.common import GlobalOptions


def run(options: GlobalOptions) -> int:
    cfg = config_module.load(options.config)
    logger = log.get()
    if not cfg.registries:
        print("no [registries.<name>] tables: nothing to log in to")
        return 0

    for reg in cfg.registries.values():
        if not (reg.username_env and reg.password_env):
            print(
                f"{reg.name}: {reg.host} skipped (no username-env/password-env; the docker "
                "config and credential helpers are used as they are)"
            )
            continue
        creds = registry.credentials(reg, os.environ)
        assert creds is not None
        capabilities.login(reg.host, creds.username, creds.password.get_secret_value())
        logger.info("registry_login", registry=reg.name, host=reg.host, source=creds.source)
        print(f"{reg.name}: logged in to {reg.host} as {creds.username} ({creds.source})")
    return 0
