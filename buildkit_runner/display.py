"""How a build shows itself: a live display on a terminal, plain lines (folded on CI) elsewhere.

The choice is made once, here. A terminal outside CI gets the live per-image display
(:mod:`buildkit_runner.live`, the only module that imports rich). Everything else gets
BuildKit's lines, prefixed with the image, folded into one group per image where the CI can
fold: ``::group::`` on GitHub, Gitea and Forgejo Actions, collapsible sections on GitLab.
Under ``--log-format json`` each line becomes a ``build_output`` event instead, so stderr
stays one JSON document per line.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TextIO

from buildkit_runner import ci, log
from buildkit_runner.plan import BuildStep
from buildkit_runner.progress import StepProgress
from buildkit_runner.runner import Observer, StepResult

COLOR_CHOICES = ("auto", "always", "never")
_GITHUB_LIKE = ("github-actions", "gitea-actions", "forgejo-actions")


def color_enabled(choice: str, stream: TextIO, env: Mapping[str, str]) -> bool:
    """``--color``: always/never win; auto follows NO_COLOR, FORCE_COLOR, TERM=dumb, isatty.

    NO_COLOR (https://no-color.org) and FORCE_COLOR count when set to a non-empty value.
    """
    if choice in ("always", "never"):
        return choice == "always"
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def live_wanted(stream: TextIO, env: Mapping[str, str], log_format: str) -> bool:
    """The live display needs a real terminal that can move its cursor, outside CI."""
    if log_format == "json" or env.get("CI") or ci.detect(env) is not None:
        return False
    if env.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Folding:
    """No folding: plain CI systems and local pipes."""

    def open(self, step: BuildStep, index: int, total: int) -> str | None:
        return None

    def close(self, step: BuildStep) -> str | None:
        return None

    def error(self, step: BuildStep, message: str) -> str | None:
        return None


class GitHubFolding(Folding):
    """Workflow commands, understood alike by GitHub, Gitea and Forgejo Actions."""

    def open(self, step: BuildStep, index: int, total: int) -> str | None:
        return f"::group::{step.image} ({index + 1}/{total})"

    def close(self, step: BuildStep) -> str | None:
        return "::endgroup::"

    def error(self, step: BuildStep, message: str) -> str | None:
        # Workflow command data must escape %, CR and LF.
        text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::error title=bkrun: {step.image}::{text}"


class GitLabFolding(Folding):
    """Collapsible sections: https://docs.gitlab.com/ci/jobs/job_logs/#custom-collapsible-sections"""

    def open(self, step: BuildStep, index: int, total: int) -> str | None:
        name = _section(step)
        header = f"{step.image} ({index + 1}/{total})"
        return f"\x1b[0Ksection_start:{int(time.time())}:{name}[collapsed=true]\r\x1b[0K{header}"

    def close(self, step: BuildStep) -> str | None:
        return f"\x1b[0Ksection_end:{int(time.time())}:{_section(step)}\r\x1b[0K"


def _section(step: BuildStep) -> str:
    return "bkrun_" + re.sub(r"[^A-Za-z0-9_.-]", "_", step.image)


def folding_for(env: Mapping[str, str]) -> Folding:
    facts = ci.detect(env)
    provider = facts.provider if facts else None
    if provider in _GITHUB_LIKE:
        return GitHubFolding()
    if provider == "gitlab-ci":
        return GitLabFolding()
    return Folding()


class LinesOutput:
    """BuildKit's lines with an image prefix, folded per image; bkrun's events via structlog."""

    def __init__(self, folding: Folding, stream: TextIO | None = None, json_lines: bool = False):
        self.folding = folding
        self.stream = stream
        self.json_lines = json_lines

    def _print(self, text: str | None) -> None:
        if text is not None and not self.json_lines:
            print(text, file=self.stream or sys.stderr, flush=True)

    def step_started(self, step: BuildStep, index: int, total: int) -> None:
        self._print(self.folding.open(step, index, total))
        log.get().info("build_started", image=step.image, step=f"{index + 1}/{total}")

    def output(self, step: BuildStep, line: str) -> None:
        if self.json_lines:
            log.get().info("build_output", image=step.image, line=line)
        else:
            self._print(f"[{step.image}] {line}")

    def progress(self, step: BuildStep, progress: StepProgress) -> None:
        pass

    def step_finished(self, step: BuildStep, result: StepResult) -> None:
        log.get().info(
            "build_finished",
            image=step.image,
            status=result.status,
            duration_s=round(result.duration_s, 1),
            cached_steps=f"{result.progress.cached_steps}/{result.progress.total_steps}",
            digest=result.digest,
        )
        self._print(self.folding.close(step))
        if result.status == "failed":
            self._print(self.folding.error(step, result.error or "failed"))


@contextlib.contextmanager
def observer(
    steps: Sequence[BuildStep],
    env: Mapping[str, str],
    log_format: str,
    color: bool,
    verbosity: int = 0,
    jobs: int = 1,
) -> Iterator[Observer]:
    """The observer for this run; a live display is stopped (and its last frame kept) on exit.

    With several jobs the lines of concurrent builds interleave (each keeps its image
    prefix), so CI folding is off: a fold would swallow the other builds' lines.
    """
    if live_wanted(sys.stderr, env, log_format):
        from buildkit_runner.live import LiveDisplay  # rich only where the display is made

        with LiveDisplay(sys.stderr, color=color, verbose=verbosity > 0) as display:
            display.plan(tuple(steps))
            yield display
        return
    json_lines = log.choose_format(log_format) == "json"
    folding = folding_for(env) if jobs <= 1 else Folding()
    yield LinesOutput(folding, json_lines=json_lines)
