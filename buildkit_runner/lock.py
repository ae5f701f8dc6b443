"""One build of a project at a time: an flock on ``<state dir>/lock``, holder info inside.

The kernel releases an flock when its process dies, however it dies, so a lock left by a
crashed or killed run is simply free again: nothing to clean up, no stale pid to guess
about. The file keeps the holder's pid, start time and command line for the message the
next run prints while it waits, skips or fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from buildkit_runner import log
from buildkit_runner.errors import Locked

LOCK_NAME = "lock"
_POLL_S = 0.5


@dataclass(frozen=True)
class Holder:
    pid: int | None
    started: str | None
    command: str | None

    def describe(self) -> str:
        if self.pid is None:
            return "another bkrun build (holder unknown)"
        return f"pid {self.pid}, started {self.started}, running: {self.command}"


class Skipped(Exception):
    """lock = "skip" and another run holds the lock: this run does nothing, successfully."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(holder.describe())
        self.holder = holder


def read_holder(path: Path) -> Holder:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        data = {}
    return Holder(data.get("pid"), data.get("started"), data.get("command"))


@contextlib.contextmanager
def hold(state: Path, mode: str, timeout: float) -> Iterator[None]:
    """Hold the project's lock for the block; wait, skip or fail as ``mode`` says."""
    state.mkdir(parents=True, exist_ok=True)
    path = state / LOCK_NAME
    stream = path.open("a+", encoding="utf-8")
    try:
        _acquire(stream, path, mode, timeout)
        stream.seek(0)
        stream.truncate()
        holder = {
            "pid": os.getpid(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["bkrun", *sys.argv[1:]]),
        }
        stream.write(json.dumps(holder))
        stream.flush()
        yield
    finally:
        # Closing the file releases the lock; the holder info stays for the curious.
        stream.close()


def _acquire(stream: IO[str], path: Path, mode: str, timeout: float) -> None:
    if _try(stream):
        return
    holder = read_holder(path)
    if mode == "skip":
        raise Skipped(holder)
    if mode == "fail":
        raise Locked(f"another build of this project holds {path}: {holder.describe()}")

    log.get().warning("lock_waiting", holder=holder.describe(), timeout_s=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(_POLL_S)
        if _try(stream):
            log.get().info("lock_acquired", waited_for=holder.describe())
            return
    raise Locked(
        f"waited {timeout:g}s for the lock {path}, still held by {read_holder(path).describe()}"
    )


def _try(stream: IO[str]) -> bool:
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
