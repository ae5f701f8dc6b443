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
    # A run that failed before it had images (a config error, the engine down, the lock)
    # must never look green: it is one failing testcase, named after the config file.
    stopped = _stopped_before_images(record) if not entries else None
    suite = ET.Element(
        "testsuite",
        name=f"bkrun {project}",
        tests=str(len(entries) or int(stopped is not None)),
        failures=str(sum(1 for e in entries if e.status == "failed") or int(stopped is not None)),
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
    if stopped is not None:
        name, message, text = stopped
        case = ET.SubElement(suite, "testcase", classname=f"bkrun.{project}", name=name)
        failure = ET.SubElement(case, "failure", message=message)
        failure.text = text
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _stopped_before_images(record: RunRecord) -> tuple[str, str, str] | None:
    """(testcase name, message, text) of an error that ended the run before any image."""
    if record.succeeded or record.error is None:
        return None
    title, message, details = record.error
    # Config problems start with the file they are in: "bkrun.toml: images.web: ...".
    first = details[0] if details else message
    label = first.split(": ", 1)[0]
    name = label if label.endswith(".toml") else "config" if title == "config error" else title
    return name, f"{title}: {message}", "\n".join(details or (message,))


def write(record: RunRecord, path: Path) -> None:
    path.write_text(render(record), encoding="utf-8")
