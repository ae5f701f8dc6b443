"""The publish phase of a run: move every tag with ``docker buildx imagetools create``.

Runs after the builds, in plan order, one ``imagetools create`` per image (publishing.py
makes the steps). A build that failed or did not run publishes nothing, and neither does
the run unless ``--keep-going`` (runner.py decides). Each result records the digest its
tags point to now: for a single-platform image buildx 0.13 wraps the manifest in a
one-entry index (docker/buildx#2481; ``--prefer-index=false`` came with docker/buildx#2482),
so that digest differs from the built one, but it is the same on every run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from buildkit_runner import log
from buildkit_runner.errors import PushFailed
from buildkit_runner.plan import Plan
from buildkit_runner.redact import REDACTOR

_ATTEMPTS = 3
_TRANSIENT = ("500 Internal Server Error", "502 Bad Gateway", "503 Service Unavailable")

if TYPE_CHECKING:
    from buildkit_runner.config import Config
    from buildkit_runner.runner import StepResult


def run(
    plan: Plan, docker_cmd: list[str], results: list[StepResult], config: Config | None = None
) -> None:
    """Publish what can be published; raise PushFailed (with results) on the first refusal."""
    from python_on_whales.exceptions import DockerException
    from python_on_whales.utils import run as run_docker

    from buildkit_runner.runner import substitute

    by_image = {r.image: r for r in results}
    digests = {r.image: r.digest for r in results if r.status == "built" and r.digest}
    moved: dict[str, tuple[str, ...]] = {}
    for step in plan.publish:
        result = by_image[step.image]
        if result.status not in ("built", "skipped"):
            continue
        try:
            command = [*docker_cmd, *substitute(step.argv, digests)[1:]]
            _retrying(lambda: run_docker(command, capture_stderr=True))  # noqa: B023
        except DockerException as exc:
            text = REDACTOR.text(str(exc.stderr or exc)).strip().splitlines()
            error = PushFailed(
                f"image {step.image!r} built, but moving its tags failed; tags of the images "
                "published before it have moved, the rest have not",
                text[-10:],
            )
            error.results = results  # type: ignore[attr-defined]
            raise error from None
        result.pushed = True
        moved[step.image] = moved.get(step.image, ()) + step.refs
        result.refs = moved[step.image]
        if config is not None and step.refs and result.published_digest is None:
            result.published_digest = _digest_of(config, step.refs[0])
        log.get().info(
            "tags_moved" if not step.retag else "tags_added",
            image=step.image,
            refs=len(step.refs),
            digest=result.published_digest,
        )


def _retrying(call: Callable[[], object]) -> None:
    """Run ``call``; retry twice when the registry answered 5xx, which distribution does now
    and then under concurrent writes to one repository (seen as "unexpected status from HEAD
    request ...: 500 Internal Server Error")."""
    from python_on_whales.exceptions import DockerException

    for attempt in range(_ATTEMPTS):
        try:
            call()
            return
        except DockerException as exc:
            transient = any(code in str(exc.stderr or "") for code in _TRANSIENT)
            if not transient or attempt == _ATTEMPTS - 1:
                raise
            log.get().warning("publish_retry", attempt=attempt + 1, error=str(exc.stderr)[-200:])
            time.sleep(1 + attempt)


def _digest_of(config: Config, ref: str) -> str | None:
    """What ``ref`` points to now, from the registry; None if it cannot tell."""
    from buildkit_runner import refs, registry
    from buildkit_runner.errors import BkrunError

    try:
        parsed = refs.parse_reference(ref)
        client = registry.client_for(config.registry_for(parsed.domain or ""), os.environ)
        try:
            found = client.find(parsed.repository, parsed.tag or "latest")
        finally:
            client.close()
    except (BkrunError, ValueError):
        return None
    return found[0] if found else None
