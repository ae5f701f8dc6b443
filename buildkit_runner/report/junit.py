"""JUnit XML (``--junit PATH``): one testcase per image, so any CI shows builds as tests.

A failed image carries the tail of its build log; an image not run or not selected is a
skipped testcase with the reason.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from buildkit_runner.report.record import RunRecord

TAIL_LINES = 50


def render(record: RunRecord) -> str:
    entries = record.entries()
    project = record.plan.project if record.plan else "bkrun"
    suite = ET.Element(
        "testsuite",
        name=f"bkrun {project}",
        tests=str(len(entries)),
        failures=str(sum(1 for e in entries if e.status == "failed")),
        errors="0",
        skipped=str(sum(1 for e in entries if e.status in ("skipped", "not-run"))),
        time=f"{record.duration_s:.3f}",
        timestamp=record.started_at.isoformat(timespec="seconds"),
    )
    for entry in entries:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"bkrun.{project}",
            name=entry.image,
            time=f"{entry.duration_s:.3f}",
        )
        if entry.status == "failed":
            failure = ET.SubElement(case, "failure", message=entry.error or "failed")
            failure.text = "\n".join(entry.tail[-TAIL_LINES:])
        elif entry.status in ("skipped", "not-run"):
            ET.SubElement(case, "skipped", message=entry.reason)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                [f"{entry.status}: {ref}" for ref in entry.refs]
                + [
                    f"digest: {entry.digest}",
                    f"cache hits: {entry.cached_steps}/{entry.total_steps}",
                ]
            )
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def write(record: RunRecord, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(record), encoding="utf-8")
