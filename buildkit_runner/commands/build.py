"""``bkrun build``: check the machine, run the plan, summarise and report what was published."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from buildkit_runner import checks, display, log, report, runner
from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions, load_plan
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
    started = datetime.now(timezone.utc)
    record = RunRecord(plan=None, results=[], started_at=started, finished_at=started)
    try:
        _build(options, plan_options, trigger, outputs, record)
    except BkrunError as exc:
        partial = getattr(exc, "results", None)
        if partial:
            record.results = partial
            print(report.summary(partial), file=sys.stdout)
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
) -> None:
    config, plan = load_plan(options, plan_options, trigger)
    record.plan = plan
    record.all_images = config.order
    record.results = [
        runner.StepResult(step.image, "not-run", step.refs, step.platforms) for step in plan.steps
    ]
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
    if outputs.preflight:
        record.preflight = preflight(plan)

    with display.observer(
        plan.steps, os.environ, options.log_format, options.color, options.verbosity
    ) as observer:
        record.results = runner.run(plan, observer)
    print(report.summary(record.results), file=sys.stdout)


def preflight(plan: plan_module.Plan) -> list[checks.Check]:
    """The cheap checks this plan needs; raise with every problem and its fix."""
    started = time.monotonic()
    platforms = {p for step in plan.steps for p in step.platforms}
    exports = any(
        not spec.startswith("type=inline") for step in plan.steps for spec in step.cache_to
    )
    found = checks.preflight(platforms, cache_export=exports)
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
