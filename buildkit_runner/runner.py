"""Execute a Plan: run each step's argv through python-on-whales, stream, collect results.

The argv comes from the plan unchanged; the runner only substitutes ``${IMAGE.digest}``
values that earlier steps produced. Builds run on ``--jobs`` threads in dependency order
(scheduler.py); a failure stops new builds unless ``--keep-going``. The tags move only
after the builds (publish.py): with fail-fast, only when every build succeeded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path

from buildkit_runner import cache, log, procs, scheduler
from buildkit_runner.config import Config
from buildkit_runner.errors import (
    BkrunError,
    BuildFailed,
    EngineUnavailable,
    Interrupted,
    PushFailed,
)
from buildkit_runner.events import Observer as Observer
from buildkit_runner.events import Serialized as Serialized
from buildkit_runner.events import StepResult as StepResult
from buildkit_runner.plan import BuildStep, Plan, digest_placeholder
from buildkit_runner.progress import RawjsonDecoder
from buildkit_runner.redact import REDACTOR

TAIL_LINES = 200
SHOWN_TAIL_LINES = 25

# Text in buildx's output that means the engine, not the build, is the problem.
_ENGINE_DOWN = (
    "Cannot connect to the Docker daemon",
    "error during connect",
    "is not a docker command",
    "unknown command: docker buildx",
)
# Text that means the image built but could not be published.
_PUSH_FAILED = ("failed to push", "push access denied", "server gave HTTP response to HTTPS")


@contextlib.contextmanager
def _working_directory(path: str) -> Iterator[None]:
    # python-on-whales runs docker in the current directory, and plan paths are relative to
    # the project root, so the whole run happens there.
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def prepare_state_dir(root: str, state_dir: str) -> None:
    base = Path(root) / state_dir
    (base / "metadata").mkdir(parents=True, exist_ok=True)
    ignore = base / ".gitignore"
    if not ignore.exists():
        # Keeps bkrun's run files out of git status, so they never mark the tree dirty.
        ignore.write_text("*\n", encoding="utf-8")


_PLACEHOLDER_RE = re.compile(r"\$\{([a-z0-9_-]+)\.digest\}")


def substitute(argv: tuple[str, ...], digests: Mapping[str, str]) -> list[str]:
    """Fill ``${IMAGE.digest}`` with the digests earlier steps produced."""
    result = []
    for arg in argv:
        for image, digest in digests.items():
            arg = arg.replace(digest_placeholder(image), digest)
        missing = _PLACEHOLDER_RE.search(arg)
        if missing:
            # Never hand buildx a literal placeholder: it would fail with a confusing
            # reference error, or worse, resolve something else.
            raise BuildFailed(
                f"the digest of {missing.group(1)!r} is unknown (buildx wrote no metadata "
                "file for it), so the images that depend on it cannot be pinned"
            )
        result.append(arg)
    return result


def initial_results(plan: Plan) -> list[StepResult]:
    """One result per image of the plan: builds not run yet, skipped images as skipped."""
    results = [
        StepResult(step.image, "not-run", step.refs, step.platforms, reason=step.reason)
        for step in plan.steps
    ]
    results += [
        StepResult(skip.image, "skipped", digest=skip.digest, reason=skip.reason)
        for skip in plan.skipped
    ]
    for publish in plan.publish:
        for result in results:
            if result.image == publish.image and result.status == "skipped":
                result.refs = publish.refs
    return results


def run(
    plan: Plan, observer: Observer | None = None, config: Config | None = None
) -> list[StepResult]:
    """Run every build, then (with --push) every publish step; return one result per image.

    On failure the raised error carries the results in ``error.results`` so the caller can
    report exactly what was published and what was not.
    """
    from python_on_whales import DockerClient  # heavy: only the build path needs it

    from buildkit_runner import publish

    if shutil.which("docker") is None:
        raise EngineUnavailable(
            "the docker command is not on PATH; install the docker client with the buildx "
            "plugin (scripts/engine.sh up does it on Debian)"
        )
    docker_cmd = list(DockerClient().client_config.docker_cmd)
    prepare_state_dir(plan.root, plan.options.state_dir)
    results = initial_results(plan)
    with _working_directory(plan.root):
        try:
            errors = _build_all(plan, docker_cmd, Serialized(observer or _lines()), results)
            if errors and not plan.options.keep_going:
                raise _with_results(errors, results)
            publish.run(plan, docker_cmd, results, config)
        except KeyboardInterrupt:
            raise _interrupted(results) from None
    if errors:
        raise _with_results(errors, results)
    return results


def _lines() -> Observer:
    # Plain prefixed lines on stderr: what a caller without its own display gets.
    from buildkit_runner.display import Folding, LinesOutput

    return LinesOutput(Folding())


def _interrupted(results: list[StepResult]) -> Interrupted:
    # Whatever was still building was stopped by the interrupt, not by its Dockerfile.
    procs.stop_children()
    for result in results:
        if result.status == "failed" or (result.status == "not-run" and result.started_at):
            result.status = "failed"
            result.error = "interrupted"
    published = [r.image for r in results if r.pushed]
    error = Interrupted(
        "the run was stopped; "
        + (
            f"published before the stop: {', '.join(published)}"
            if published
            else "nothing was published"
        )
    )
    error.results = results  # type: ignore[attr-defined]
    return error


def _build_all(
    plan: Plan, docker_cmd: list[str], observer: Observer, results: list[StepResult]
) -> list[BkrunError]:
    by_image = {r.image: r for r in results}
    steps = {step.image: step for step in plan.steps}
    index = {step.image: i for i, step in enumerate(plan.steps)}
    digests: dict[str, str] = {}
    errors: list[BkrunError] = []
    guard = threading.Lock()

    def work(name: str) -> bool:
        step, result = steps[name], by_image[name]
        observer.step_started(step, index[name], len(plan.steps))
        with guard:
            known = dict(digests)
        try:
            _run_step(step, docker_cmd, known, observer, result)
        except BkrunError as exc:
            result.status = "failed"
            result.error = exc.message
            with guard:
                errors.append(exc)
            observer.step_finished(step, result)
            return False
        if result.digest:
            with guard:
                digests[name] = result.digest
        observer.step_finished(step, result)
        return True

    scheduler.run(
        list(steps),
        {name: step.depends_on for name, step in steps.items()},
        work,
        jobs=plan.options.jobs or 1,
        keep_going=bool(plan.options.keep_going),
        on_interrupt=procs.stop_children,
    )
    return errors


def _with_results(errors: list[BkrunError], results: list[StepResult]) -> BkrunError:
    error = errors[0]
    if len(errors) > 1:
        names = ", ".join(r.image for r in results if r.status == "failed")
        details = [f"{r.image}: {r.error}" for r in results if r.status == "failed"]
        error = BuildFailed(f"{len(errors)} images failed: {names}", details)
    error.results = results  # type: ignore[attr-defined]
    return error


def _run_step(
    step: BuildStep,
    docker_cmd: list[str],
    digests: Mapping[str, str],
    observer: Observer,
    result: StepResult,
) -> None:
    """Run one step, filling ``result`` as it goes, so a failure still reports its progress."""
    argv = substitute(step.argv, digests)
    metadata = Path(step.metadata_file)
    metadata.unlink(missing_ok=True)
    _clear_oci_outputs(argv)

    tail: deque[str] = deque(maxlen=TAIL_LINES)
    decoder = RawjsonDecoder()
    result.progress = decoder.progress
    result.started_at = time.time()
    started = time.monotonic()
    try:
        for raw in _stream([*docker_cmd, *argv[1:]]):
            # Redact after decoding: rawjson carries RUN output base64-encoded.
            text = raw.decode("utf-8", errors="replace").rstrip("\n")
            for line in decoder.feed(text):
                line = REDACTOR.text(line)
                missing = cache.not_found_ref(line)
                if missing:
                    # A cache ref not written yet is normal (first build of a branch), and
                    # buildx carries on: one informational event, not an ERROR line.
                    log.get().info("cache_not_found", image=step.image, ref=missing)
                    continue
                tail.append(line)
                observer.output(step, line)
            observer.progress(step, decoder.progress)
    except _Exited as exc:
        result.duration_s = time.monotonic() - started
        result.tail = tuple(tail)
        raise _failure(step, exc.code, list(tail)) from None
    except FileNotFoundError as exc:
        raise EngineUnavailable(f"cannot run docker: {exc}") from None

    result.status = "built"
    _check_cache_export(step, result)
    result.digest = _read_digest(metadata)
    result.duration_s = time.monotonic() - started
    result.tail = tuple(tail)
    # Pushed with its tags by the build itself (no publish step: graph.staged).
    result.pushed = "--push" in argv


class _Exited(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _stream(command: list[str]) -> Iterator[bytes]:
    """The command's output lines, stdout and stderr merged; raise _Exited on failure.

    python-on-whales' stream_stdout_and_stderr keeps the whole stderr by concatenating
    bytes, line by line, for its exception text: quadratic in the log's length (a step
    printing 40,000 lines cost seconds of CPU). bkrun keeps its own bounded tail instead.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    try:
        yield from process.stdout
    finally:
        process.stdout.close()
        code = process.wait()
    if code != 0:
        raise _Exited(code)


def _check_cache_export(step: BuildStep, result: StepResult) -> None:
    # With ignore-error=true a failed export leaves the build green; say so once, and let
    # the summary mark the cache stale. The image itself was pushed before the export ran.
    for outcome in result.progress.exports(step.cache_to):
        if outcome.status == "failed":
            result.cache_stale = outcome.error or "cache export failed"
            log.get().warning(
                "cache_export_failed", image=step.image, ref=outcome.ref, error=outcome.error
            )
            return


def _clear_oci_outputs(argv: list[str]) -> None:
    # An OCI layout directory left by an earlier run would be merged with the new result.
    for arg in argv:
        if arg.startswith("type=oci,dest="):
            dest = arg.split("dest=", 1)[1].split(",", 1)[0]
            shutil.rmtree(dest, ignore_errors=True)


def _read_digest(metadata: Path) -> str | None:
    try:
        data = json.loads(metadata.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # The descriptor is what was exported and pushed. With the docker driver and the
    # containerd store, containerimage.digest can name the engine's older image of the same
    # name (seen with dockerd 26.1 when the platforms of a staging tag change).
    descriptor = data.get("containerimage.descriptor")
    digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
    digest = digest or data.get("containerimage.digest")
    return digest if isinstance(digest, str) else None


def _failure(step: BuildStep, code: int, tail: list[str]) -> BkrunError:
    shown = tail[-SHOWN_TAIL_LINES:]
    text = "\n".join(tail)
    details = [f"last {len(shown)} lines of the build log:", *shown]
    if any(marker in text for marker in _ENGINE_DOWN):
        return EngineUnavailable(
            f"image {step.image!r}: docker or buildx could not reach the engine "
            "(is dockerd running? scripts/engine.sh up starts one)",
            details,
        )
    if step.push and any(marker in text for marker in _PUSH_FAILED):
        return PushFailed(
            f"image {step.image!r} built but pushing to {step.repository} failed "
            f"(exit {code}); check the registry is reachable and you are logged in",
            details,
        )
    return BuildFailed(f"image {step.image!r} failed to build (buildx exit {code})", details)
