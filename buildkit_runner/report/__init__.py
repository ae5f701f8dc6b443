"""Render run results: the terminal summary after a build."""

from __future__ import annotations

from collections.abc import Sequence

from buildkit_runner.report.paths import check_paths as check_paths
from buildkit_runner.runner import StepResult

_MARK = {"built": "ok", "failed": "FAILED", "not-run": "not run", "skipped": "unchanged"}


def summary(results: Sequence[StepResult], pushing: bool = False) -> str:
    """One block per image: status, duration, digest, platforms and every tag.

    ``pushing``: the run publishes, so an image whose tags did not move says so.
    """
    lines = ["", "bkrun summary"]
    for result in results:
        state = _MARK.get(result.status, result.status)
        if result.status == "built" and result.pushed:
            state = "pushed"
        elif result.status == "skipped" and result.pushed:
            state = "unchanged, re-tagged"
        timed = result.status not in ("not-run", "skipped")
        duration = f" in {result.duration_s:.1f}s" if timed else ""
        lines.append(f"  {result.image}: {state}{duration}")
        if result.reason and result.status == "skipped":
            lines.append(f"    why        {result.reason}")
        if result.digest:
            lines.append(f"    digest     {result.digest}")
        if result.platforms:
            lines.append(f"    platforms  {', '.join(result.platforms)}")
        if result.pushed or (result.status == "built" and not pushing):
            for ref in result.refs:
                lines.append(f"    tag        {ref}")
        if result.error:
            lines.append(f"    error      {result.error}")
        if result.cache_stale:
            lines.append(f"    cache      stale: export failed ({result.cache_stale})")

    published = [r.image for r in results if r.pushed]
    unpublished = [r.image for r in results if not r.pushed]
    if unpublished and pushing:
        lines.append(
            f"  published: {', '.join(published) or 'none'}; "
            f"not published: {', '.join(unpublished)}"
        )
    return "\n".join(lines)
