"""The live per-image display on a terminal: state, current step, cache hits, elapsed time.

The only module that imports rich, and only ``bkrun build`` on a terminal imports it.
bkrun's own log events are not printed while it runs (they would tear the display); the
summary and any error follow once it stops, and ``-v`` prints BuildKit's lines above it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from buildkit_runner.plan import BuildStep
from buildkit_runner.progress import StepProgress
from buildkit_runner.runner import StepResult

_STYLES = {
    "waiting": "dim",
    "building": "bold cyan",
    "built": "green",
    "pushed": "green",
    "failed": "bold red",
    "skipped": "dim green",
}
_STEP_WIDTH = 60


@dataclass
class _Row:
    image: str
    state: str = "waiting"
    current: str = ""
    cached: int = 0
    total: int = 0
    started: float | None = None
    finished: float | None = None

    def elapsed(self) -> str:
        if self.started is None:
            return ""
        end = self.finished if self.finished is not None else time.monotonic()
        return f"{end - self.started:.1f}s"


class LiveDisplay:
    """An Observer that redraws one row per image, a few times a second."""

    def __init__(self, stream: TextIO, color: bool, verbose: bool = False) -> None:
        self.console = Console(
            file=stream, force_terminal=True, no_color=not color, highlight=False
        )
        self.verbose = verbose
        self.rows: dict[str, _Row] = {}
        self._live = Live(
            console=self.console,
            get_renderable=self.render,
            refresh_per_second=8,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveDisplay:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()

    def render(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("image", "state", "cache hits", "elapsed", "step"):
            table.add_column(column, no_wrap=True)
        for row in self.rows.values():
            hits = f"{row.cached}/{row.total}" if row.total else ""
            step = row.current if len(row.current) <= _STEP_WIDTH else row.current[:57] + "..."
            state = Text(row.state, style=_STYLES.get(row.state, ""))
            table.add_row(row.image, state, hits, row.elapsed(), step)
        return table

    def step_started(self, step: BuildStep, index: int, total: int) -> None:
        row = self.rows.setdefault(step.image, _Row(step.image))
        row.state = "building"
        row.started = time.monotonic()

    def output(self, step: BuildStep, line: str) -> None:
        if self.verbose:
            self.console.print(f"[{step.image}] {line}", markup=False)

    def progress(self, step: BuildStep, progress: StepProgress) -> None:
        row = self.rows.setdefault(step.image, _Row(step.image))
        row.current = progress.current or ""
        row.cached = progress.cached_steps
        row.total = progress.total_steps

    def step_finished(self, step: BuildStep, result: StepResult) -> None:
        row = self.rows.setdefault(step.image, _Row(step.image))
        row.state = "pushed" if result.status == "built" and result.pushed else result.status
        row.finished = time.monotonic()
        row.current = result.error or ""
        row.cached = result.progress.cached_steps
        row.total = result.progress.total_steps
        self._live.refresh()

    def plan(self, steps: tuple[BuildStep, ...]) -> None:
        """Show every image of the plan as waiting before the first one starts.

        Several images can build at once (--jobs): each keeps its own row and timer; the
        runner serialises the events, and the rows exist before the refresh thread starts.
        """
        for step in steps:
            self.rows.setdefault(step.image, _Row(step.image))
