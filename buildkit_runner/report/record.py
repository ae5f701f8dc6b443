"""What happened in one ``bkrun build``: the input of every report renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from buildkit_runner.checks import Check
from buildkit_runner.plan import BuildStep, Plan
from buildkit_runner.progress import CacheOutcome
from buildkit_runner.runner import StepResult


@dataclass
class RunRecord:
    plan: Plan | None
    results: list[StepResult]
    started_at: datetime
    finished_at: datetime
    exit_code: int = 0
    # title, message and detail lines of the error that ended the run, if any.
    error: tuple[str, str, tuple[str, ...]] | None = None
    all_images: tuple[str, ...] = ()
    preflight: list[Check] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    def step(self, image: str) -> BuildStep | None:
        steps = self.plan.steps if self.plan else ()
        return next((s for s in steps if s.image == image), None)

    def entries(self) -> list[ImageEntry]:
        """One entry per image of the config: built, pushed, failed, not run or skipped."""
        by_image = {r.image: r for r in self.results}
        entries = [self._entry(result) for result in self.results]
        for name in self.all_images:
            if name not in by_image:
                entries.append(ImageEntry(name, status="skipped", reason=self._not_selected()))
        return entries

    def _entry(self, result: StepResult) -> ImageEntry:
        step = self.step(result.image)
        status = result.status
        if status == "built" and result.pushed:
            status = "pushed"
        published = result.pushed and status in ("pushed", "skipped")
        progress = result.progress
        known = bool(progress.vertexes)
        imports = progress.imports(step.cache_from) if step else []
        exports = progress.exports(step.cache_to) if step else []
        return ImageEntry(
            image=result.image,
            status=status,
            reason=self._reason(result),
            repository=step.repository if step else "",
            tags=tuple(t.value for t in step.tags) if step else (),
            refs=result.refs,
            digest=result.digest,
            platforms=result.platforms,
            duration_s=round(result.duration_s, 3),
            total_steps=progress.total_steps,
            cached_steps=progress.cached_steps,
            cache_hit_ratio=progress.cache_hit_ratio,
            imports=[_known(o, known) for o in imports],
            exports=[_known(o, known) for o in exports],
            error=result.error,
            tail=result.tail,
            published=published,
            published_digest=result.published_digest,
            started_at=result.started_at,
        )

    def _reason(self, result: StepResult) -> str:
        if result.status == "skipped":
            return f"skipped: {result.reason}"
        if result.status == "built" and self.plan and self.plan.publish and not result.pushed:
            return f"built, not published: {self._unpublished()}"
        if result.status in ("built", "failed") and result.reason:
            return f"built: {result.reason}"
        if result.status == "not-run":
            failed = [r.image for r in self.results if r.status == "failed"]
            if failed:
                return f"not run: {', '.join(failed)} failed before it"
            if self.error:
                return f"not run: {self.error[0]}"
            return "not run"
        wanted = self.plan.options.images if self.plan else ()
        if not wanted:
            return "built: every image is selected by default"
        if result.image in wanted:
            return "built: selected on the command line"
        steps = self.plan.steps if self.plan else ()
        needed_by = [s.image for s in steps if result.image in s.depends_on]
        return f"built: {', '.join(needed_by)} depends on it"

    def _unpublished(self) -> str:
        failed = [r.image for r in self.results if r.status == "failed"]
        if failed:
            return f"{', '.join(failed)} failed, so no tag moved"
        return self.error[1] if self.error else "its tags did not move"

    def _not_selected(self) -> str:
        wanted = self.plan.options.images if self.plan else ()
        if not self.plan:
            return "skipped: no plan was made"
        return f"skipped: not selected (selection: {', '.join(wanted)})"


def _known(outcome: CacheOutcome, known: bool) -> CacheOutcome:
    # Without rawjson progress (an older plan, a fake docker) nothing says how it went.
    return outcome if known else CacheOutcome(outcome.ref, "unknown")


@dataclass
class ImageEntry:
    image: str
    status: str
    reason: str
    repository: str = ""
    tags: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    digest: str | None = None
    platforms: tuple[str, ...] = ()
    duration_s: float = 0.0
    total_steps: int = 0
    cached_steps: int = 0
    cache_hit_ratio: float | None = None
    imports: list[CacheOutcome] = field(default_factory=list)
    exports: list[CacheOutcome] = field(default_factory=list)
    error: str | None = None
    tail: tuple[str, ...] = ()
    # Whether this image's tags now point at its digest (built and pushed, or re-tagged).
    published: bool = False
    published_digest: str | None = None
    started_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "repository": self.repository,
            "status": self.status,
            "published": self.published,
            "reason": self.reason,
            "tags": list(self.tags),
            "refs": list(self.refs) if self.status in ("built", "pushed") or self.published else [],
            "digest": self.digest,
            "published_digest": self.published_digest,
            "started_at": self.started_at,
            "platforms": list(self.platforms),
            "duration_s": self.duration_s,
            "steps": {"total": self.total_steps, "cached": self.cached_steps},
            "cache_hit_ratio": self.cache_hit_ratio,
            "cache": {
                "imports": [o.to_json() for o in self.imports],
                "exports": [o.to_json() for o in self.exports],
            },
            "error": self.error,
        }
