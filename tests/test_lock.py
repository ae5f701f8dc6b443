"""The project lock: one build at a time, a dead holder's lock is free again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from buildkit_runner import lock
from buildkit_runner.errors import Locked

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from buildkit_runner import lock
    with lock.hold(Path(sys.argv[1]), "fail", 1):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _holder(state: Path, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    return process


def test_the_holder_is_written_into_the_lock_file(tmp_path: Path) -> None:
    with lock.hold(tmp_path, "fail", 1):
        data = json.loads((tmp_path / "lock").read_text())
    assert data["pid"] == os.getpid() and data["command"].startswith("bkrun")
    assert data["started"]


def test_fail_names_the_holder(tmp_path: Path) -> None:
    process = _holder(tmp_path, 30)
    try:
        with pytest.raises(Locked) as caught, lock.hold(tmp_path, "fail", 1):
            pass
    finally:
        process.kill()
        process.wait()
    assert f"pid {process.pid}, started " in caught.value.message
    assert caught.value.exit_code == 8


def test_skip_raises_skipped_with_the_holder(tmp_path: Path) -> None:
    process = _holder(tmp_path, 30)
    try:
        with pytest.raises(lock.Skipped) as caught, lock.hold(tmp_path, "skip", 1):
            pass
    finally:
        process.kill()
        process.wait()
    assert caught.value.holder.pid == process.pid


def test_wait_waits_for_the_holder_to_finish(tmp_path: Path) -> None:
    process = _holder(tmp_path, 1.0)
    started = time.monotonic()
    with lock.hold(tmp_path, "wait", 30):
        waited = time.monotonic() - started
    process.wait()
    assert waited >= 0.5


def test_wait_gives_up_after_the_timeout(tmp_path: Path) -> None:
    process = _holder(tmp_path, 30)
    try:
        with pytest.raises(Locked, match="waited 1s for the lock"), lock.hold(tmp_path, "wait", 1):
            pass
    finally:
        process.kill()
        process.wait()


def test_a_killed_holder_leaves_a_free_lock(tmp_path: Path) -> None:
    process = _holder(tmp_path, 30)
    process.kill()
    process.wait()

    with lock.hold(tmp_path, "fail", 1):
        assert json.loads((tmp_path / "lock").read_text())["pid"] == os.getpid()
