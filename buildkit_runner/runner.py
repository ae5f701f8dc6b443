"""Execute a Plan: run each step's argv through python-on-whales, stream, collect results.

The argv comes from the plan unchanged; the runner only substitutes ``${IMAGE.digest}``
values that earlier steps produced. Steps run in plan order and the first failure stops the
run: later steps either depend on it or would publish a half-updated project.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from buildkit_runner import cache, log
from buildkit_runner.errors import BkrunError, BuildFailed, EngineUnavailable, PushFailed
from buildkit_runner.plan import BuildStep, Plan, digest_placeholder
from buildkit_runner.progress import RawjsonDecoder, StepProgress
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


@dataclass
class StepResult:
    image: str
    status: str  # built, failed, not-run
    refs: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    digest: str | None = None
    duration_s: float = 0.0
    pushed: bool = False
    error: str | None = None
    # What BuildKit's rawjson progress said: steps, cache hits, cache imports and exports.
    progress: StepProgress = field(default_factory=StepProgress)
    # The last lines of the rendered build log, for reports of a failure.
    tail: tuple[str, ...] = ()
    # Why the cache this build should have written is stale (its export failed), else None.
    cache_stale: str | None = None


class Observer(Protocol):
    """Receives a run's events: the terminal display, CI folding and reports hook in here."""

    def step_started(self, step: BuildStep, index: int, total: int) -> None: ...

    def output(self, step: BuildStep, line: str) -> None: ...

    def progress(self, step: BuildStep, progress: StepProgress) -> None: ...

    def step_finished(self, step: BuildStep, result: StepResult) -> None: ...


class PlainOutput:
    """BuildKit's lines as they come, each prefixed with its image, on a text stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def step_started(self, step: BuildStep, index: int, total: int) -> None:
        log.get().info("build_started", image=step.image, step=f"{index + 1}/{total}")

    def output(self, step: BuildStep, line: str) -> None:
        print(f"[{step.image}] {line}", file=self.stream or sys.stderr, flush=True)

    def progress(self, step: BuildStep, progress: StepProgress) -> None:
        pass

    def step_finished(self, step: BuildStep, result: StepResult) -> None:
        log.get().info(
            "build_finished",
            image=step.image,
            status=result.status,
            duration_s=round(result.duration_s, 1),
            digest=result.digest,
        )


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


def secret_values(env: Mapping[str, str], names: list[str]) -> list[str]:
    return [env[name] for name in names if env.get(name)]


def run(plan: Plan, observer: Observer | None = None) -> list[StepResult]:
    """Run every step; return one result per step. Raise on the first failure.

    The raised error carries the results so far in ``error.results`` so the caller can
    report exactly what was published before the failure.
    """
    from python_on_whales import DockerClient  # heavy: only the build path needs it

    observer = observer or PlainOutput()
    if shutil.which("docker") is None:
        raise EngineUnavailable(
            "the docker command is not on PATH; install the docker client with the buildx "
            "plugin (scripts/engine.sh up does it on Debian)"
        )
    docker_cmd = list(DockerClient().client_config.docker_cmd)
    prepare_state_dir(plan.root, plan.options.state_dir)

    results = [StepResult(step.image, "not-run", step.refs, step.platforms) for step in plan.steps]
    digests: dict[str, str] = {}
    with _working_directory(plan.root):
        for index, step in enumerate(plan.steps):
            observer.step_started(step, index, len(plan.steps))
            try:
                _run_step(step, docker_cmd, digests, observer, results[index])
            except BkrunError as exc:
                results[index].status = "failed"
                results[index].error = exc.message
                observer.step_finished(step, results[index])
                exc.results = results  # type: ignore[attr-defined]
                raise
            if results[index].digest:
                digests[step.image] = results[index].digest  # type: ignore[assignment]
            observer.step_finished(step, results[index])
    return results


def _run_step(
    step: BuildStep,
    docker_cmd: list[str],
    digests: Mapping[str, str],
    observer: Observer,
    result: StepResult,
) -> None:
    """Run one step, filling ``result`` as it goes, so a failure still reports its progress."""
    from python_on_whales.exceptions import DockerException
    from python_on_whales.utils import stream_stdout_and_stderr

    argv = substitute(step.argv, digests)
    metadata = Path(step.metadata_file)
    metadata.unlink(missing_ok=True)
    _clear_oci_outputs(argv)

    tail: deque[str] = deque(maxlen=TAIL_LINES)
    decoder = RawjsonDecoder()
    result.progress = decoder.progress
    started = time.monotonic()
    try:
        for _source, raw in stream_stdout_and_stderr([*docker_cmd, *argv[1:]]):
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
    except DockerException as exc:
        result.duration_s = time.monotonic() - started
        result.tail = tuple(tail)
        raise _failure(step, exc.return_code, list(tail)) from None
    except FileNotFoundError as exc:
        raise EngineUnavailable(f"cannot run docker: {exc}") from None

    result.status = "built"
    _check_cache_export(step, result)
    result.digest = _read_digest(metadata)
    result.duration_s = time.monotonic() - started
    result.pushed = step.push
    result.tail = tuple(tail)


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
    digest = data.get("containerimage.digest")
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
