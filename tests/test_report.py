"""Reports of a build: the JSON document, the Markdown summary and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke
from tests.fakes import FakeDocker


def test_successful_push_reports_every_image(
    project: Path, cli: Invoke, fake_docker: FakeDocker, tmp_path: Path
) -> None:
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()  # bkrun never creates the directory of a report

    result = cli("build", "--push", "--report", str(report))

    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["version"] == 1
    assert data["status"] == "success" and data["exit_code"] == 0
    base, app = data["images"]
    assert base["image"] == "base" and base["status"] == "pushed" and base["published"]
    assert base["digest"].startswith("sha256:")
    assert base["platforms"] == ["linux/amd64", "linux/arm64"]
    assert base["reason"] == "built: every image is selected by default"
    assert base["steps"] == {"total": 1, "cached": 0} and base["cache_hit_ratio"] == 0.0
    assert [i["ref"] for i in base["cache"]["imports"]] == [
        "type=registry,ref=127.0.0.1:5000/demo/base:buildcache"
    ]
    assert set(data["published"]) == set(base["refs"]) | set(app["refs"])
    assert data["not_published"] == []


def test_failure_still_writes_every_report(
    project: Path,
    cli: Invoke,
    fake_docker: FakeDocker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_docker.script("app", 1, "ERROR: failed to solve: boom")
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    report, junit, summary = (tmp_path / name for name in ("r.json", "j.xml", "s.md"))

    result = cli(
        "build", "--push", "--report", str(report), "--junit", str(junit), "--summary", str(summary)
    )

    assert result.exit_code == 1
    data = json.loads(report.read_text())
    assert data["status"] == "failed" and data["exit_code"] == 1
    assert data["error"]["title"] == "build failed"
    statuses = {i["image"]: (i["status"], i["published"]) for i in data["images"]}
    # base built and sits at its staging tag, but no tag moved: app failed.
    assert statuses == {"base": ("built", False), "app": ("failed", False)}
    assert data["not_published"] == ["base", "app"]
    reasons = {i["image"]: i["reason"] for i in data["images"]}
    assert reasons["base"] == "built, not published: app failed, so no tag moved"

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='app']/failure")
    assert failure is not None and "boom" in (failure.text or "")

    text = summary.read_text()
    assert "| app | ❌ failed |" in text and "Not published: base, app." in text
    # On GitHub the summary is appended to the step summary, never replacing it.
    assert step_summary.read_text().startswith("earlier step\n## bkrun: demo failed (exit 1)")


def test_not_selected_and_not_run_images_are_explained(
    project: Path, cli: Invoke, fake_docker: FakeDocker, tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    cli("build", "base", "--report", str(report))
    data = json.loads(report.read_text())
    assert {i["image"]: i["reason"] for i in data["images"]} == {
        "base": "built: selected on the command line",
        "app": "skipped: not selected (selection: base)",
    }

    fake_docker.script("base", 1, "ERROR: nope")
    cli("build", "--report", str(report))
    app = json.loads(report.read_text())["images"][1]
    assert (app["status"], app["reason"]) == ("not-run", "not run: base failed before it")


def test_report_of_a_config_error_has_no_images(
    tmp_path: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bkrun.toml").write_text("[images.x]\nrepository = 1\n")
    report = tmp_path / "r.json"

    result = cli("build", "--report", str(report))

    assert result.exit_code == 2
    data = json.loads(report.read_text())
    assert (data["status"], data["exit_code"], data["images"]) == ("failed", 2, [])


def test_junit_of_a_config_error_is_one_failing_testcase(
    tmp_path: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's report: a config-load failure gave a green tests="0" failures="0".
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bkrun.toml").write_text("[images.x]\nrepository = 1\n")
    junit = tmp_path / "j.xml"

    result = cli("build", "--junit", str(junit))

    assert result.exit_code == 2
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
    case = suite.find("testcase[@name='bkrun.toml']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None and "images.x.repository" in (failure.text or "")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        # The user's reports: a file as a directory, and a directory that does not exist.
        (lambda t: t / "file" / "x.json", "--report {t}/file/x.json: {t}/file is a file"),
        (
            lambda t: t / "nonexistent-dir" / "r.json",
            "--report {t}/nonexistent-dir/r.json: directory {t}/nonexistent-dir does not exist",
        ),
        (lambda t: t, "--report {t}: is a directory"),
    ],
)
def test_report_paths_are_checked_before_building(tmp_path: Path, make: Any, expected: str) -> None:
    from buildkit_runner.errors import UsageError
    from buildkit_runner.report import check_paths

    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError) as caught:
        check_paths(make(tmp_path), None, None)
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith(expected.format(t=tmp_path)), caught.value.message
    assert not (tmp_path / "nonexistent-dir").exists()


def test_report_paths_that_can_be_written_pass(tmp_path: Path) -> None:
    from buildkit_runner.errors import UsageError
    from buildkit_runner.report import check_paths

    (tmp_path / "old.json").write_text("{}")
    check_paths(tmp_path / "old.json", tmp_path / "s.md", Path("relative.xml"))
    with pytest.raises(UsageError) as caught:
        check_paths(tmp_path / "a", None, tmp_path / "a")
    assert (
        caught.value.message
        == f"--junit {tmp_path}/a: the same file as --report; give each its own"
    )
