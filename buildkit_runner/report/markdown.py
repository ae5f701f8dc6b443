"""A Markdown summary of a run, for ``$GITHUB_STEP_SUMMARY`` or ``--summary PATH``."""

from __future__ import annotations

from pathlib import Path

from buildkit_runner.report.record import ImageEntry, RunRecord

_MARK = {
    "pushed": "✅ pushed",
    "built": "✅ built",
    "failed": "❌ failed",
    "skipped": "➖ unchanged",
}
SHOWN_TAIL_LINES = 25


def render(record: RunRecord) -> str:
    project = record.plan.project if record.plan else "bkrun"
    verdict = "succeeded" if record.succeeded else f"failed (exit {record.exit_code})"
    lines = [f"## bkrun: {project} {verdict} in {record.duration_s:.1f}s", ""]
    if record.plan and record.plan.git.sha:
        git = record.plan.git
        sha = git.sha or ""
        lines += [
            f"Commit `{sha[:12]}` on `{git.branch or 'no branch'}` (trigger {git.trigger}).",
            "",
        ]

    lines += [
        "| image | result | time | cache hits | digest | tags |",
        "|---|---|---|---|---|---|",
    ]
    entries = record.entries()
    lines += [_row(entry) for entry in entries]

    if record.error:
        title, message, details = record.error
        lines += ["", f"**{title}**: {_cell(message)}"]
        tail = [d for d in details][-SHOWN_TAIL_LINES:]
        if tail:
            lines += ["", "<details><summary>last lines of the log</summary>", "", "```"]
            lines += [*tail, "```", "", "</details>"]
    not_published = [e.image for e in entries if not e.published]
    if not record.succeeded and not_published:
        lines += ["", f"Not published: {', '.join(not_published)}."]
    return "\n".join(lines) + "\n"


def _row(entry: ImageEntry) -> str:
    result = _MARK.get(entry.status, entry.status)
    time = f"{entry.duration_s:.1f}s" if entry.status in _MARK else ""
    hits = f"{entry.cached_steps}/{entry.total_steps}" if entry.total_steps else ""
    digest = f"`{entry.digest[:19]}…`" if entry.digest else ""
    tags = ", ".join(f"`{tag}`" for tag in entry.tags) if entry.status in _MARK else ""
    name = entry.image if entry.status in _MARK else f"{entry.image} ({entry.reason})"
    return f"| {_cell(name)} | {result} | {time} | {hits} | {digest} | {tags} |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write(record: RunRecord, path: Path, append: bool = False) -> None:
    with path.open("a" if append else "w", encoding="utf-8") as stream:
        stream.write(render(record))
