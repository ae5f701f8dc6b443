"""The scheduler: dependency order, concurrency, fail-fast and keep-going."""

from __future__ import annotations

import threading
import time

from buildkit_runner import scheduler

DIAMOND = {"base": (), "left": ("base",), "right": ("base",), "top": ("left", "right")}
NAMES = ["base", "left", "right", "top"]


def _recorder(fail: set[str] = frozenset(), delay: float = 0.0):  # type: ignore[no-untyped-def]
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(name: str) -> bool:
        with lock:
            events.append(("start", name))
        time.sleep(delay)
        with lock:
            events.append(("end", name))
        return name not in fail

    return work, events


def test_dependencies_finish_before_their_dependents_start() -> None:
    work, events = _recorder(delay=0.02)
    status = scheduler.run(NAMES, DIAMOND, work, jobs=4)

    assert status == dict.fromkeys(NAMES, "built")
    order = [name for kind, name in events if kind == "start"]
    ends = [name for kind, name in events if kind == "end"]
    assert order[0] == "base" and order[-1] == "top"
    assert ends.index("left") < order.index("top") and ends.index("right") < order.index("top")


def test_independent_images_overlap_with_two_jobs() -> None:
    work, events = _recorder(delay=0.05)
    scheduler.run(NAMES, DIAMOND, work, jobs=2)

    # left and right both start before either ends.
    starts = {name: i for i, (kind, name) in enumerate(events) if kind == "start"}
    ends = {name: i for i, (kind, name) in enumerate(events) if kind == "end"}
    assert max(starts["left"], starts["right"]) < min(ends["left"], ends["right"])


def test_one_job_runs_the_plan_order_exactly() -> None:
    work, events = _recorder()
    scheduler.run(NAMES, DIAMOND, work, jobs=1)

    assert events == [(kind, n) for n in NAMES for kind in ("start", "end")]


def test_fail_fast_starts_nothing_new_but_lets_running_steps_finish() -> None:
    work, events = _recorder(fail={"left"}, delay=0.05)
    status = scheduler.run(NAMES, DIAMOND, work, jobs=2)

    assert status == {"base": "built", "left": "failed", "right": "built", "top": "not-run"}
    assert ("end", "right") in events


def test_fail_fast_with_one_job_stops_at_the_failure() -> None:
    work, _ = _recorder(fail={"left"})
    status = scheduler.run(NAMES, DIAMOND, work, jobs=1)

    assert status == {"base": "built", "left": "failed", "right": "not-run", "top": "not-run"}


def test_keep_going_builds_everything_not_depending_on_a_failure() -> None:
    graph = {**DIAMOND, "solo": ()}
    work, _ = _recorder(fail={"left"})
    status = scheduler.run([*NAMES, "solo"], graph, work, jobs=1, keep_going=True)

    assert status == {
        "base": "built",
        "left": "failed",
        "right": "built",
        "top": "not-run",
        "solo": "built",
    }


def test_dependencies_outside_the_run_count_as_done() -> None:
    work, events = _recorder()
    status = scheduler.run(["top"], DIAMOND, work)

    assert status == {"top": "built"} and events == [("start", "top"), ("end", "top")]
