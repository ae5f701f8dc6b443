"""What a run reports as it goes: each image's result, and the Observer that hears about it.

The terminal display, CI folding and the reports hook in through :class:`Observer`; builds
run on several threads, so the runner wraps it in :class:`Serialized`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from buildkit_runner.progress import StepProgress
from buildkit_runner.steps import BuildStep


@dataclass
class StepResult:
    image: str
    status: str  # built, failed, not-run, skipped (inputs unchanged)
    refs: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    digest: str | None = None
    duration_s: float = 0.0
    pushed: bool = False
    error: str | None = None
    # What BuildKit's rawjson progress said: steps, cache hits, cache imports and exports.
    progress: StepProgress = field(default_factory=StepProgress)
    # The last lines of the rendered build log, for reports of a failure.
    tail: tuple[str, ...] = ()
    # Why the cache this build should have written is stale (its export failed), else None.
    cache_stale: str | None = None
    # Why the image was built or skipped; the digest its tags point to once published.
    reason: str = ""
    published_digest: str | None = None
    started_at: float | None = None  # time.time() at the start of the build


class Observer(Protocol):
    """Receives a run's events: the terminal display, CI folding and reports hook in here."""

    def step_started(self, step: BuildStep, index: int, total: int) -> None: ...

    def output(self, step: BuildStep, line: str) -> None: ...

    def progress(self, step: BuildStep, progress: StepProgress) -> None: ...

    def step_finished(self, step: BuildStep, result: StepResult) -> None: ...


class Serialized:
    """An Observer whose events never interleave: builds report from several threads."""

    def __init__(self, inner: Observer) -> None:
        self.inner = inner
        self._lock = threading.Lock()

    def step_started(self, step: BuildStep, index: int, total: int) -> None:
        with self._lock:
            self.inner.step_started(step, index, total)

    def output(self, step: BuildStep, line: str) -> None:
        with self._lock:
            self.inner.output(step, line)

    def progress(self, step: BuildStep, progress: StepProgress) -> None:
        with self._lock:
            self.inner.progress(step, progress)

    def step_finished(self, step: BuildStep, result: StepResult) -> None:
        with self._lock:
            self.inner.step_finished(step, result)
