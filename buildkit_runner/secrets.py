"""Build secrets at build time: read each ``env`` secret's value, for masking, or say which
variable is missing before anything is built.

``bkrun build`` calls :func:`read` where it registers secret values with the redactor: one
pass finds every unset variable (exit 2, one line each) and returns the values to mask.
"""

from __future__ import annotations

from collections.abc import Mapping

from buildkit_runner.config import Config
from buildkit_runner.errors import ConfigError
from buildkit_runner.plan import Plan


def read(config: Config, plan: Plan, env: Mapping[str, str]) -> list[str]:
    """The values of the ``env`` secrets of the images ``plan`` builds.

    Raises ConfigError (exit 2) naming each secret whose variable is unset: BuildKit would
    otherwise fail the build half-way with a less helpful message.
    """
    values: list[str] = []
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for step in plan.steps:
        for secret in config.images[step.image].secrets:
            if not secret.env or (secret.id, secret.env) in seen:
                continue
            seen.add((secret.id, secret.env))
            value = env.get(secret.env)
            if value is not None:
                # An empty value is the user's choice (a fork's CI run without secrets);
                # there is nothing to mask in it.
                if value:
                    values.append(value)
                continue
            problems.append(
                f"images.{step.image}: secret {secret.id}: variable {secret.env} is not set; "
                f'export it (export {secret.env}=...) or use src = "<file>" for this secret '
                "in the config"
            )
    if problems:
        raise ConfigError(problems)
    return values
