"""The build graph, --jobs, --if-changed, atomic publishing and the lock on the real engine."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.helpers import Project, _clean_env
from tests.e2e.nightly import (
    commit,
    digest,
    fail_in,
    images,
    make_diamond,
    push_upstream,
    report,
    tags_of,
)

ALL = ("base", "left", "right", "top")


def test_diamond_builds_in_order_and_in_parallel(project_dir: Path) -> None:
    project = make_diamond(project_dir)
    path = project_dir / "r.json"

    run = project.bkrun("build", "--push", "--jobs", "2", "--report", str(path))

    assert run.code == 0, run.output[-3000:]
    found = images(report(project, run, path))
    assert all(found[name]["published"] for name in ALL)
    start = {n: found[n]["started_at"] for n in ALL}
    end = {n: start[n] + found[n]["duration_s"] for n in ALL}
    # Dependencies first; left and right (independent) overlap in time.
    assert end["base"] <= min(start["left"], start["right"])
    assert max(start["left"], start["right"]) < min(end["left"], end["right"])
    assert max(end["left"], end["right"]) <= start["top"]
    sha = project.git("rev-parse", "HEAD")
    for name in ALL:
        tags = tags_of(project.repository(name))
        assert {f"sha-{sha[:7]}", "main", "latest"} <= tags


def test_fail_fast_publishes_nothing_and_keep_going_publishes_the_rest(
    project_dir: Path,
) -> None:
    project = make_diamond(project_dir)
    fail_in(project, "right")
    sha = commit(project, "right fails")[:7]

    run = project.bkrun("build", "--push")
    assert run.code == 1, run.output[-3000:]
    assert "published: none; not published: base, left, right, top" in run.stdout
    for name in ALL:
        assert f"sha-{sha}" not in tags_of(project.repository(name))

    path = project_dir / "r.json"
    run = project.bkrun("build", "--push", "--keep-going", "--report", str(path))
    assert run.code == 1
    found = images(report(project, run, path))
    assert {n: (found[n]["status"], found[n]["published"]) for n in ALL} == {
        "base": ("pushed", True),
        "left": ("pushed", True),
        "right": ("failed", False),
        "top": ("not-run", False),
    }
    assert f"sha-{sha}" in tags_of(project.repository("left"))
    assert f"sha-{sha}" not in tags_of(project.repository("top"))


def test_a_failure_in_the_second_image_moves_no_tag(project_dir: Path) -> None:
    project = make_diamond(project_dir)
    assert project.bkrun("build", "--push").code == 0
    before = {name: digest(project, name, "main") for name in ALL}

    (project.path / "base" / "file.txt").write_text("base v2\n")
    fail_in(project, "left")  # the second image of the plan
    sha = commit(project, "base changes, left breaks")[:7]
    run = project.bkrun("build", "--push")

    assert run.code == 1
    assert {name: digest(project, name, "main") for name in ALL} == before
    for name in ALL:
        assert f"sha-{sha}" not in tags_of(project.repository(name))


def test_if_changed_rebuilds_only_what_changed_and_retags_the_rest(project_dir: Path) -> None:
    project = make_diamond(project_dir)
    old_sha = project.git("rev-parse", "HEAD")[:7]
    assert project.bkrun("build", "--push", "--jobs", "2").code == 0

    (project.path / "right" / "file.txt").write_text("right v2\n")
    new_sha = commit(project, "right changes")[:7]
    path = project_dir / "r.json"
    run = project.bkrun("build", "--push", "--if-changed", "--report", str(path))

    assert run.code == 0, run.output[-3000:]
    found = images(report(project, run, path))
    assert {n: found[n]["status"] for n in ALL} == {
        "base": "skipped",
        "left": "skipped",
        "right": "pushed",
        "top": "pushed",
    }
    assert found["right"]["reason"] == "built: changed: files in the build context"
    assert found["top"]["reason"] == "built: depends on right, which this run rebuilds"
    for name in ("base", "left"):
        assert digest(project, name, f"sha-{new_sha}") == digest(project, name, f"sha-{old_sha}")
    for name in ("right", "top"):
        assert digest(project, name, f"sha-{new_sha}") != digest(project, name, f"sha-{old_sha}")


def test_a_new_base_image_digest_rebuilds_the_images_on_it(project_dir: Path) -> None:
    project = make_diamond(project_dir)
    assert project.bkrun("build", "--push", "--jobs", "2").code == 0
    before = {name: digest(project, name, "main") for name in ALL}

    push_upstream(project.namespace, "v2")
    path = project_dir / "r.json"
    run = project.bkrun("build", "--push", "--if-changed", "--jobs", "2", "--report", str(path))

    assert run.code == 0, run.output[-3000:]
    found = images(report(project, run, path))
    assert {n: found[n]["status"] for n in ALL} == dict.fromkeys(ALL, "pushed")
    upstream = f"{project.namespace}/upstream:latest"
    assert upstream in found["base"]["reason"] and "has a new digest" in found["base"]["reason"]
    assert all(digest(project, n, "main") != before[n] for n in ALL)


def test_nightly_twice_rebuilds_nothing_the_second_time(project_dir: Path) -> None:
    project = make_diamond(project_dir)
    first = project.bkrun("build", "--push", "--profile", "nightly")
    assert first.code == 0, first.output[-3000:]
    before = {name: digest(project, name, "main") for name in ALL}

    path = project_dir / "r.json"
    second = project.bkrun("build", "--push", "--profile", "nightly", "--report", str(path))

    assert second.code == 0, second.output[-3000:]
    found = images(report(project, second, path))
    assert {n: found[n]["status"] for n in ALL} == dict.fromkeys(ALL, "skipped")
    assert {name: digest(project, name, "main") for name in ALL} == before

    # reproducible = true: forcing a rebuild of the same commit gives the same digests.
    third = project.bkrun("build", "--push", "--profile", "nightly", "--always")
    assert third.code == 0, third.output[-3000:]
    assert {name: digest(project, name, "main") for name in ALL} == before


def _start(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "buildkit_runner", *args],
        cwd=project.path,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lock(project: Project, pid: int) -> None:
    lock = project.path / ".bkrun" / "lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lock.exists() and f'"pid": {pid},' in lock.read_text():
            return
        time.sleep(0.1)
    raise AssertionError("the first run never took the lock")


def test_a_second_run_skips_or_waits_for_the_lock(project_dir: Path) -> None:
    project = make_diamond(project_dir, lock="skip")
    first = _start(project, "build", "--push")
    _wait_for_lock(project, first.pid)
    second = project.bkrun("build", "--push")
    _, err = first.communicate(timeout=300)

    assert first.returncode == 0, err[-3000:]
    assert second.code == 0
    assert "bkrun: skipped: another build of this project is running (pid " in second.stderr
    assert f"pid {first.pid}," in second.stderr

    config = project.path / "bkrun.toml"
    config.write_text(config.read_text().replace('lock = "skip"', 'lock = "wait"'))
    commit(project, "wait")
    first = _start(project, "build", "--push", "--always")
    _wait_for_lock(project, first.pid)
    second = project.bkrun("build", "--push", "--if-changed")
    _, err = first.communicate(timeout=300)

    assert first.returncode == 0 and second.code == 0, second.output[-3000:]
    assert "lock_waiting" in second.stderr
    # It ran after the first had published: nothing left to build.
    assert "skipped=base,left,right,top" in second.stderr
