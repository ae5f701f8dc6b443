"""Stop the docker processes a run started, when the run itself is interrupted.

python-on-whales starts each ``docker buildx`` as a child process and does not hand the
process back, so the children are found in /proc by their parent pid. Ctrl-C in a terminal
reaches them too (one process group), but ``kill -INT`` or ``kill -TERM`` of bkrun alone,
or a CI runner cancelling the job, would leave a build running, and pushing, on its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

GRACE_SECONDS = 10.0


def children(parent: int | None = None) -> list[int]:
    """Pids of the live direct children of ``parent`` (this process by default)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold spaces: split after it.
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[0] != "Z" and int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def stop_children(grace: float = GRACE_SECONDS) -> list[int]:
    """SIGINT every child (buildx cancels its build on it), then SIGKILL what remains."""
    pids = children()
    _signal(pids, signal.SIGINT)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if pid in children()]
        if not alive:
            return pids
        time.sleep(0.1)
    _signal([pid for pid in pids if pid in children()], signal.SIGKILL)
    return pids


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        # Gone already: it finished between the listing and the signal.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
