"""procs: finding and stopping this process's children."""

from __future__ import annotations

import subprocess
import sys

from buildkit_runner import procs


def test_children_lists_live_children_and_stop_ends_them() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert child.pid in procs.children()

        stopped = procs.stop_children(grace=5)

        assert child.pid in stopped
        assert child.wait(timeout=5) != 0
        assert child.pid not in procs.children()
    finally:
        child.kill()
        child.wait()


def test_a_child_that_ignores_sigint_is_killed() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"

        procs.stop_children(grace=0.5)

        assert child.wait(timeout=5) == -9
    finally:
        child.kill()
        child.wait()
