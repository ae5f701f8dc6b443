"""Read BuildKit's ``--progress=rawjson`` stream: human lines, cache hits, cache outcomes.

buildx 0.13 writes each progress update as an indented JSON object (``vertexes``, ``statuses``,
``logs``) and, after a failure, plain text (the Dockerfile excerpt and ``ERROR: ...``). One
stream gives both what a person reads, rendered here in the shape of ``--progress=plain``
(``#3 [2/3] RUN ...``, ``#3 0.412 output``, ``#3 CACHED``), and the facts a report needs:
which Dockerfile steps ran and which were served from cache (``"cached": true``, set for a
local hit and for a step imported from a registry cache alike), and how each cache import and
export went. Pure: no I/O, fed one line at a time.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# A Dockerfile instruction: "[2/3] RUN ...", "[build 1/4] COPY ...", "[linux/arm64 base 2/2] RUN".
# Internal vertexes (load build definition, exporting, cache import) are not steps, and
# neither is FROM: it is "cached" whenever the base image is already local, which says
# nothing about the build cache.
_STEP_NAME = re.compile(r"^\[(?:[^\]]*\s)?\d+/\d+\] (?!FROM )")
_IMPORT_PREFIX = "importing cache manifest from "
_EXPORT_PREFIX = "exporting cache"


@dataclass
class Vertex:
    number: int
    name: str
    started: str | None = None
    completed: str | None = None
    cached: bool = False
    error: str | None = None

    @property
    def is_step(self) -> bool:
        return bool(_STEP_NAME.match(self.name))


@dataclass
class CacheOutcome:
    """One cache import or export as BuildKit reported it."""

    ref: str
    status: str  # imported, missing, failed, exported, not-run
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "status": self.status, "error": self.error}


@dataclass
class StepProgress:
    """What one build has done so far; the live display and the report read it."""

    vertexes: dict[str, Vertex] = field(default_factory=dict)
    current: str | None = None

    @property
    def steps(self) -> list[Vertex]:
        return [v for v in self.vertexes.values() if v.is_step and v.completed]

    @property
    def total_steps(self) -> int:
        return len(self.steps)

    @property
    def cached_steps(self) -> int:
        return sum(1 for v in self.steps if v.cached)

    @property
    def cache_hit_ratio(self) -> float | None:
        total = self.total_steps
        return round(self.cached_steps / total, 3) if total else None

    def imports(self, refs: tuple[str, ...]) -> list[CacheOutcome]:
        """One outcome per ``--cache-from`` ref, matched by the vertex that imported it."""
        outcomes = []
        for ref in refs:
            name = ref.split("ref=", 1)[1].split(",", 1)[0] if "ref=" in ref else ref
            vertex = self._named(_IMPORT_PREFIX + name)
            outcomes.append(_import_outcome(ref, vertex))
        return outcomes

    def exports(self, refs: tuple[str, ...]) -> list[CacheOutcome]:
        # BuildKit names the export vertex without its ref; bkrun exports one ref per image.
        vertex = next(
            (v for v in self.vertexes.values() if v.name.startswith(_EXPORT_PREFIX)), None
        )
        outcomes = []
        for ref in refs:
            if vertex is None or not vertex.completed:
                outcomes.append(CacheOutcome(ref, "not-run"))
            elif vertex.error:
                outcomes.append(CacheOutcome(ref, "failed", vertex.error))
            else:
                outcomes.append(CacheOutcome(ref, "exported"))
        return outcomes

    def _named(self, name: str) -> Vertex | None:
        return next((v for v in self.vertexes.values() if v.name == name), None)


def _import_outcome(ref: str, vertex: Vertex | None) -> CacheOutcome:
    if vertex is None or not vertex.completed:
        return CacheOutcome(ref, "not-run")
    if vertex.error and vertex.error.rstrip().endswith("not found"):
        # The first build of an image: nothing to import yet, and the build goes on.
        return CacheOutcome(ref, "missing", vertex.error)
    if vertex.error:
        return CacheOutcome(ref, "failed", vertex.error)
    return CacheOutcome(ref, "imported")


class RawjsonDecoder:
    """Feed lines of buildx's stderr; get back human lines. ``progress`` accumulates."""

    def __init__(self) -> None:
        self.progress = StepProgress()
        self._buffer: list[str] = []

    def feed(self, line: str) -> list[str]:
        # An object starts with "{" in column 0 and ends with "}" in column 0; anything
        # outside an object is buildx's own text and passes through unchanged.
        if not self._buffer and not line.startswith("{"):
            return [line]
        self._buffer.append(line)
        if line.rstrip() != "}":
            return []
        text = "\n".join(self._buffer)
        self._buffer = []
        try:
            update = json.loads(text)
        except ValueError:
            return text.splitlines()
        return self.apply(update) if isinstance(update, dict) else []

    def apply(self, update: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        for raw in update.get("vertexes") or ():
            lines.extend(self._vertex(raw))
        for raw in update.get("statuses") or ():
            lines.extend(self._status(raw))
        for raw in update.get("logs") or ():
            lines.extend(self._log(raw))
        return lines

    def _vertex(self, raw: dict[str, Any]) -> list[str]:
        digest = str(raw.get("digest", ""))
        vertex = self.progress.vertexes.get(digest)
        lines = []
        if vertex is None:
            number = len(self.progress.vertexes) + 1
            vertex = Vertex(number, str(raw.get("name", "")))
            self.progress.vertexes[digest] = vertex
            lines.append(f"#{number} {vertex.name}")
        if raw.get("started") and not vertex.started:
            vertex.started = raw["started"]
            self.progress.current = vertex.name
        vertex.cached = vertex.cached or bool(raw.get("cached"))
        if raw.get("error"):
            vertex.error = str(raw["error"])
        if raw.get("completed") and not vertex.completed:
            vertex.completed = raw["completed"]
            lines.append(_finished_line(vertex))
        return lines

    def _status(self, raw: dict[str, Any]) -> list[str]:
        vertex = self.progress.vertexes.get(str(raw.get("vertex", "")))
        if vertex is None or not raw.get("completed"):
            return []
        # Layer downloads and pushes: the plain progress prints them once done, too.
        return [f"#{vertex.number} {raw.get('id', '')} done"]

    def _log(self, raw: dict[str, Any]) -> list[str]:
        vertex = self.progress.vertexes.get(str(raw.get("vertex", "")))
        if vertex is None:
            return []
        try:
            data = base64.b64decode(raw.get("data", "")).decode("utf-8", errors="replace")
        except ValueError:
            return []
        offset = _seconds_between(vertex.started, raw.get("timestamp"))
        return [f"#{vertex.number} {offset:.3f} {text}" for text in data.splitlines()]


def _finished_line(vertex: Vertex) -> str:
    if vertex.cached:
        return f"#{vertex.number} CACHED"
    if vertex.error:
        return f"#{vertex.number} ERROR: {vertex.error}"
    return f"#{vertex.number} DONE {_seconds_between(vertex.started, vertex.completed):.1f}s"


def _seconds_between(start: str | None, end: Any) -> float:
    if not start or not isinstance(end, str):
        return 0.0
    try:
        return max(0.0, (_parse_time(end) - _parse_time(start)).total_seconds())
    except ValueError:
        return 0.0


def _parse_time(value: str) -> datetime:
    # BuildKit writes nanoseconds ("...55.67098065Z"); fromisoformat takes at most micro.
    head, _, fraction = value.rstrip("Z").partition(".")
    fraction = (fraction + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{fraction}+00:00")
