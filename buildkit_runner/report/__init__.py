"""Render run results: the terminal summary after a build."""

from __future__ import annotations

from collections.abc import Sequence

from buildkit_runner.runner import StepResult

_MARK = {"built": "ok", "failed": "FAILED", "not-run": "not run"}


def summary(results: Sequence[StepResult]) -> str:
    """One block per image: status, duration, digest, platforms and every tag."""
    lines = ["", "bkrun summary"]
    for result in results:
        state = _MARK.get(result.status, result.status)
        if result.status == "built" and result.pushed:
            state = "pushed"
        duration = f" in {result.duration_s:.1f}s" if result.status != "not-run" else ""
        lines.append(f"  {result.image}: {state}{duration}")
        if result.digest:
            lines.append(f"    digest     {result.digest}")
        if result.platforms:
            lines.append(f"    platforms  {', '.join(result.platforms)}")
        if result.status == "built":
            for ref in result.refs:
                lines.append(f"    tag        {ref}")
        if result.error:
            lines.append(f"    error      {result.error}")
        if result.cache_stale:
            lines.append(f"    cache      stale: export failed ({result.cache_stale})")

    published = [r.image for r in results if r.status == "built" and r.pushed]
    unpublished = [r.image for r in results if r.status != "built"]
    if unpublished and published:
        lines.append(
            f"  published: {', '.join(published)}; not published: {', '.join(unpublished)}"
        )
    return "\n".join(lines)
