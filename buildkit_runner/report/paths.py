"""Where the reports of a run go: checked before anything is built.

A report that cannot be written must stop the run before its first build, not be noticed
afterwards in a log line: ``bkrun build`` calls :func:`check_paths` first, and the writers
never create directories.
"""

from __future__ import annotations

import os
from pathlib import Path

from buildkit_runner.errors import UsageError


def check_paths(
    report: Path | None = None, summary: Path | None = None, junit: Path | None = None
) -> None:
    """Raise UsageError (exit 2) unless every given output path can be written.

    Each must name a file (not a directory) in an existing, writable directory; an existing
    file must be writable. Two options naming one file are refused too.
    """
    problems: list[str] = []
    seen: dict[Path, str] = {}
    for option, path in (("--report", report), ("--summary", summary), ("--junit", junit)):
        if path is None:
            continue
        problem = path_problem(path)
        if problem:
            problems.append(f"{option} {path}: {problem}")
            continue
        key = path.resolve()
        if key in seen:
            problems.append(f"{option} {path}: the same file as {seen[key]}; give each its own")
        seen[key] = option
    if problems:
        raise UsageError(problems[0], problems[1:])


def path_problem(path: Path) -> str | None:
    """Why a report cannot be written at ``path``, or None."""
    if str(path) in ("", "."):
        return "give a file path"
    if path.is_dir():
        return "is a directory; give a file path in it (e.g. bkrun-report.json)"
    parent = path.parent
    if not parent.exists():
        for ancestor in parent.parents:
            if ancestor.exists() and not ancestor.is_dir():
                return f"{ancestor} is a file, not a directory"
        return f"directory {parent} does not exist; create it first (bkrun does not)"
    if not parent.is_dir():
        return f"{parent} is a file, not a directory"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file exists and is not writable"
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable"
    return None
