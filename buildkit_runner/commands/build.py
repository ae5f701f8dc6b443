"""``bkrun build``: check the machine, run the plan, summarise and report what was published."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from buildkit_runner import checks, display, lock, log, report, runner, secrets
from buildkit_runner import config as config_module
from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions, load_config, load_plan
from buildkit_runner.errors import BkrunError, EngineUnavailable, NotReady
from buildkit_runner.redact import REDACTOR
from buildkit_runner.report import document, junit, markdown
from buildkit_runner.report.record import RunRecord


@dataclass(frozen=True)
class Outputs:
    """Where the run is reported, and whether the preflight checks run first."""

    report: Path | None = None
    summary: Path | None = None
    junit: Path | None = None
    preflight: bool = True


def run(
    options: GlobalOptions,
    plan_options: plan_module.Options,
    trigger: str | None,
    outputs: Outputs | None = None,
) -> int:
    outputs = outputs or Outputs()
    # Before anything is built: a report that cannot be written must not surface after a push.
    report.check_paths(outputs.report, outputs.summary, outputs.junit)
    started = datetime.now(timezone.utc)
    record = RunRecord(plan=None, results=[], started_at=started, finished_at=started)
    try:
        config = load_config(options, plan_options)
        # Held from before planning: what is unchanged is decided after the last run published.
        runner.prepare_state_dir(str(config.root), plan_options.state_dir)
        state = config.root / plan_options.state_dir
        with lock.hold(state, config.lock, config.lock_timeout):
            _build(options, plan_options, trigger, outputs, record, config)
    except lock.Skipped as skipped:
        message = f"another build of this project is running ({skipped.holder.describe()})"
        log.get().warning("lock_held_skipping", holder=skipped.holder.describe())
        print(
            f'bkrun: skipped: {message}; lock = "skip", so this run does nothing', file=sys.stderr
        )
        record.error = ("skipped", message, ())
        return 0
    except BkrunError as exc:
        partial = getattr(exc, "results", None)
        if partial:
            record.results = partial
            pushing = bool(record.plan and record.plan.publish)
            print(report.summary(partial, pushing), file=sys.stdout)
        record.exit_code = exc.exit_code
        record.error = (exc.title, exc.message, exc.details)
        raise
    except KeyboardInterrupt:
        record.exit_code = 130
        record.error = ("interrupted", "interrupted (Ctrl-C or SIGTERM)", ())
        raise
    finally:
        record.finished_at = datetime.now(timezone.utc)
        _write_reports(record, outputs)
    return 0


def _build(
    options: GlobalOptions,
    plan_options: plan_module.Options,
    trigger: str | None,
    outputs: Outputs,
    record: RunRecord,
    loaded: config_module.Config,
) -> None:
    config, plan = load_plan(options, plan_options, trigger, loaded)
    record.plan = plan
    record.all_images = config.order
    record.results = runner.initial_results(plan)
    logger = log.get()

    # Build secrets are passed by variable name; their values are masked in all output.
    REDACTOR.add(secrets.read(config, plan, os.environ))

    for note in plan.notes:
        logger.warning("git_context", note=note)
    logger.info(
        "plan_resolved",
        images=",".join(step.image for step in plan.steps),
        skipped=",".join(skip.image for skip in plan.skipped),
        push=plan_options.push,
        jobs=plan.options.jobs,
    )
    for skip in plan.skipped:
        logger.info("image_skipped", image=skip.image, reason=skip.reason)
    if outputs.preflight:
        record.preflight = preflight(plan)

    with display.observer(
        plan.steps,
        os.environ,
        options.log_format,
        options.color,
        options.verbosity,
        jobs=plan.options.jobs or 1,
    ) as observer:
        record.results = runner.run(plan, observer, config)
    print(report.summary(record.results, bool(plan.publish)), file=sys.stdout)


def preflight(plan: plan_module.Plan) -> list[checks.Check]:
    """The cheap checks this plan needs; raise with every problem and its fix."""
    started = time.monotonic()
    if not plan.steps:
        return []  # nothing to build: the publish steps need only the registry
    platforms = {p for step in plan.steps for p in step.platforms}
    exports = any(
        not spec.startswith("type=inline") for step in plan.steps for spec in step.cache_to
    )
    # The probes before planning may have asked the builder already: one inspect per run.
    found = checks.preflight(platforms, cache_export=exports, info=plan.options.facts.builder)
    log.get().debug("preflight_done", duration_ms=round((time.monotonic() - started) * 1000))

    problems = checks.failed(found)
    if problems and problems[0].name == "engine":
        raise EngineUnavailable(problems[0].detail, [f"fix: {problems[0].fix}"])
    if problems:
        raise NotReady(
            f"{len(problems)} preflight problem(s); nothing was built "
            "(bkrun doctor checks more; --no-preflight skips these checks)",
            [problem.problem() for problem in problems],
        )
    return found


def _write_reports(record: RunRecord, outputs: Outputs) -> None:
    # Reports must never hide the run's own outcome: a write failure is logged, not raised.
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    writers: list[tuple[Path | None, Callable[[Path], None]]] = [
        (outputs.report, lambda path: document.write(record, path)),
        (outputs.summary, lambda path: markdown.write(record, path)),
        (
            Path(step_summary) if step_summary else None,
            lambda path: markdown.write(record, path, append=True),
        ),
        (outputs.junit, lambda path: junit.write(record, path)),
    ]
    for path, write in writers:
        if path is None:
            continue
        try:
            write(path)
        except OSError as exc:
            log.get().error("report_not_written", path=str(path), error=str(exc))
        else:
            log.get().info("report_written", path=str(path))
