"""Stopping a run: SIGTERM or SIGINT to bkrun alone stops its builds and publishes nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.helpers import GIT_IDENTITY, _clean_env, registry_tags

CONFIG = """
[registries.local]
host = "127.0.0.1:5000"

[defaults]
registry = "local"
platforms = ["linux/amd64"]

[images.a]
repository = "{ns}/a"
context = "a"

[images.b]
repository = "{ns}/b"
context = "b"
depends-on = ["a"]
"""
SLOW_MARKER = "b: slow step"


def _project(root: Path) -> tuple[Path, str]:
    namespace = f"e2e-{uuid.uuid4().hex[:10]}"
    (root / "a").mkdir()
    (root / "b").mkdir()
    (root / "bkrun.toml").write_text(CONFIG.format(ns=namespace), encoding="utf-8")
    (root / "a" / "Dockerfile").write_text(
        "FROM 127.0.0.1:5000/base/busybox:latest\nRUN echo a-ran\n", encoding="utf-8"
    )
    # A unique value in the step keeps it from ever coming out of a cache.
    (root / "b" / "Dockerfile").write_text(
        f'FROM a\nRUN echo "{SLOW_MARKER} {namespace}" && sleep 120\n', encoding="utf-8"
    )
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        env = {**_clean_env(), **GIT_IDENTITY}
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root, namespace


def _children(pid: int) -> list[int]:
    from buildkit_runner.procs import children

    return children(pid)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_builds_and_publishes_nothing(
    engine: None, tmp_path: Path, signum: int
) -> None:
    root, namespace = _project(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "buildkit_runner", "build", "--push", "--report", "r.json"],
        cwd=root,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    # Wait until b's slow step runs, so a is built and staged and b is mid-build.
    assert process.stderr is not None
    seen = []
    deadline = time.monotonic() + 120
    for line in process.stderr:
        seen.append(line)
        if SLOW_MARKER in line and namespace in line and "#" in line and "RUN" not in line:
            break
        assert time.monotonic() < deadline, "".join(seen[-30:])
    buildx = _children(process.pid)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, "".join(seen[-20:]) + stderr
    assert "bkrun: interrupted: the run was stopped; nothing was published" in stderr
    assert "published: none; not published: a, b" in stdout
    assert buildx, "buildx ran as a child of bkrun"
    assert not [pid for pid in buildx if Path(f"/proc/{pid}").exists()], "buildx outlived bkrun"
    report = json.loads((root / "r.json").read_text(encoding="utf-8"))
    statuses = {image["image"]: image["status"] for image in report["images"]}
    assert statuses == {"a": "built", "b": "failed"}
    assert report["published"] == []
    # a was staged (pushed by digest) but none of its tags moved.
    assert "main" not in registry_tags(f"{namespace}/a")
