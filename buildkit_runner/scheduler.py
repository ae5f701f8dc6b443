"""Run a dependency graph of steps on a pool of threads, dependencies first.

A step starts once every dependency it has in this run has succeeded, and at most ``jobs``
run at once. After a failure, fail-fast (the default) starts nothing new but lets the steps
already running finish: killing a build midway gains a few seconds and loses its log and
its cache export, and nothing is published before every build is done anyway. With
``keep_going`` everything that does not depend on a failure still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

BUILT, FAILED, NOT_RUN = "built", "failed", "not-run"


def run(
    names: Sequence[str],
    depends_on: Mapping[str, Sequence[str]],
    work: Callable[[str], bool],
    jobs: int = 1,
    keep_going: bool = False,
    on_interrupt: Callable[[], object] | None = None,
) -> dict[str, str]:
    """Call ``work(name)`` for each name (True: success); return each name's status.

    ``names`` must list dependencies before their dependents; dependencies outside
    ``names`` (built by an earlier run) count as done. On KeyboardInterrupt nothing new
    starts, ``on_interrupt`` stops what runs (the pool waits for its threads on the way
    out), and the interrupt is raised again.
    """
    present = set(names)
    pending = list(names)
    status: dict[str, str] = {}
    running: dict[Future[bool], str] = {}
    stopped = False
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="bkrun") as pool:
        try:
            while True:
                if not stopped:
                    _start(pending, present, depends_on, status, running, pool, work, jobs)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    status[name] = BUILT if future.result() else FAILED
                    stopped = stopped or (status[name] == FAILED and not keep_going)
        except KeyboardInterrupt:
            if on_interrupt is not None:
                on_interrupt()
            raise
    for name in pending:
        status.setdefault(name, NOT_RUN)
    return {name: status[name] for name in names}


def _start(
    pending: list[str],
    present: set[str],
    depends_on: Mapping[str, Sequence[str]],
    status: dict[str, str],
    running: dict[Future[bool], str],
    pool: ThreadPoolExecutor,
    work: Callable[[str], bool],
    jobs: int,
) -> None:
    # In plan order, so with one job the run is exactly the plan's sequence.
    for name in list(pending):
        needs = [d for d in depends_on.get(name, ()) if d in present]
        if any(status.get(d) in (FAILED, NOT_RUN) for d in needs):
            pending.remove(name)
            status[name] = NOT_RUN
        elif all(status.get(d) == BUILT for d in needs) and len(running) < max(1, jobs):
            pending.remove(name)
            running[pool.submit(work, name)] = name
