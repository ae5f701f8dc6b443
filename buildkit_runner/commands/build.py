"""``bkrun build``: run the plan against the engine and summarise what was published."""

from __future__ import annotations

import os
import sys

from buildkit_runner import log, report, runner
from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions, load_plan
from buildkit_runner.errors import BkrunError
from buildkit_runner.redact import REDACTOR


def run(
    options: GlobalOptions,
    plan_options: plan_module.Options,
    trigger: str | None,
) -> int:
    config, plan = load_plan(options, plan_options, trigger)
    logger = log.get()

    # Build secrets are passed by variable name; their values are masked in all output.
    names = [s.env for step in plan.steps for s in config.images[step.image].secrets if s.env]
    REDACTOR.add(runner.secret_values(os.environ, names))

    for note in plan.notes:
        logger.warning("git_context", note=note)
    logger.info(
        "plan_resolved",
        images=",".join(step.image for step in plan.steps),
        push=plan_options.push,
    )
    try:
        results = runner.run(plan)
    except BkrunError as exc:
        partial = getattr(exc, "results", None)
        if partial:
            print(report.summary(partial), file=sys.stdout)
        raise
    print(report.summary(results), file=sys.stdout)
    return 0
