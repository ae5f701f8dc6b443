"""The JSON report of a run (``--report PATH``): one versioned document, described in
docs/reports.md. Written on failure too, marking what was published and what was not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from buildkit_runner import __version__
from buildkit_runner.report.record import RunRecord

REPORT_FORMAT_VERSION = 1


def document(record: RunRecord) -> dict[str, Any]:
    entries = record.entries()
    plan = record.plan
    plan_json = plan.to_json() if plan else None
    error = None
    if record.error:
        title, message, details = record.error
        error = {"title": title, "message": message, "details": list(details)}
    return {
        "version": REPORT_FORMAT_VERSION,
        "bkrun": __version__,
        "project": plan.project if plan else None,
        "config": plan.config_path if plan else None,
        "status": "success" if record.succeeded else "failed",
        "exit_code": record.exit_code,
        "error": error,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat(),
        "duration_s": record.duration_s,
        "git": plan_json["git"] if plan_json else None,
        "options": plan_json["options"] if plan_json else None,
        "preflight": [check.to_json() for check in record.preflight],
        "images": [entry.to_json() for entry in entries],
        "published": [ref for e in entries if e.published for ref in e.refs],
        "not_published": [e.image for e in entries if not e.published],
    }


def write(record: RunRecord, path: Path) -> None:
    text = json.dumps(document(record), indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
