"""Reading BuildKit's rawjson progress, from real captures (tests/data/rawjson-*.txt)."""

from __future__ import annotations

import json
from pathlib import Path

from buildkit_runner.progress import RawjsonDecoder

DATA = Path(__file__).parent / "data"
IMPORTED = "type=registry,ref=127.0.0.1:5000/rjtest/x:buildcache"
MISSING = "type=registry,ref=127.0.0.1:5000/nope/x:buildcache"


def decode(name: str) -> tuple[RawjsonDecoder, list[str]]:
    decoder = RawjsonDecoder()
    text = (DATA / f"rawjson-{name}.txt").read_text(encoding="utf-8")
    lines = [out for line in text.splitlines() for out in decoder.feed(line)]
    return decoder, lines


def test_cold_build_renders_plain_lines_and_counts_no_hits() -> None:
    decoder, lines = decode("cold")

    assert "#5 [2/3] RUN echo hello-out && echo err >&2" in lines
    assert any(line.startswith("#5 0.") and line.endswith(" hello-out") for line in lines)
    assert "#4 DONE 0.1s" in lines
    progress = decoder.progress
    # FROM is not a step: it is "cached" whenever the base image is local.
    assert (progress.cached_steps, progress.total_steps) == (0, 2)
    assert progress.cache_hit_ratio == 0.0
    assert [o.status for o in progress.imports((MISSING,))] == ["missing"]
    assert [o.status for o in progress.exports(("ref",))] == ["exported"]


def test_cached_build_counts_hits_and_a_failed_export() -> None:
    decoder, lines = decode("cached-export-failed")

    assert "#5 CACHED" in lines
    progress = decoder.progress
    assert (progress.cached_steps, progress.total_steps) == (2, 2)
    assert progress.cache_hit_ratio == 1.0
    assert [o.status for o in progress.imports((IMPORTED,))] == ["imported"]
    (export,) = progress.exports(("ref",))
    assert export.status == "failed"
    assert "connection refused" in (export.error or "")


def test_failure_keeps_buildx_text_after_the_json() -> None:
    decoder, lines = decode("failed")

    assert lines[-1].startswith("ERROR: failed to solve: process")
    assert "   3 | >>> RUN echo bad && exit 3" in lines
    assert any(line.startswith("#4 ERROR: process") for line in lines)
    assert decoder.progress.exports(("ref",))[0].status == "not-run"


def test_plain_text_passes_through_and_current_step_follows_starts() -> None:
    decoder = RawjsonDecoder()

    assert decoder.feed("#0 building with default") == ["#0 building with default"]
    update = {
        "vertexes": [{"digest": "d1", "name": "[1/2] RUN x", "started": "2024-01-01T00:00:00Z"}]
    }
    lines = [
        out for line in json.dumps(update, indent=2).splitlines() for out in decoder.feed(line)
    ]
    assert lines == ["#1 [1/2] RUN x"]
    assert decoder.progress.current == "[1/2] RUN x"
    assert decoder.progress.cache_hit_ratio is None  # nothing completed yet


def test_nanosecond_timestamps_give_offsets() -> None:
    decoder = RawjsonDecoder()
    decoder.apply(
        {"vertexes": [{"digest": "d", "name": "[1/1] RUN x", "started": "2024-01-01T00:00:01.5Z"}]}
    )
    lines = decoder.apply(
        {"logs": [{"vertex": "d", "data": "aGkK", "timestamp": "2024-01-01T00:00:02.123456789Z"}]}
    )

    assert lines == ["#1 0.623 hi"]
