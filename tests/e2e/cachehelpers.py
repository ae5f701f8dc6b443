"""Small projects and throwaway registries for the cache and registry end-to-end tests."""

from __future__ import annotations

import socket
import subprocess
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.helpers import Project

BASE = "127.0.0.1:5000/base/busybox:latest"
EXPENSIVE = "e2e: expensive builder step"


def small_project(root: Path, cache: str = "", registries: str = "", host: str = "") -> Project:
    """One image, amd64 only, two stages: an expensive builder stage and a final stage."""
    namespace = f"e2e-{uuid.uuid4().hex[:10]}"
    path = root / "small"
    path.mkdir(parents=True)
    repository = f"{host}/{namespace}/app" if host else f"{namespace}/app"
    config = f"""
        [project]
        name = "small"
        default-branch = "main"

        [registries.local]
        host = "127.0.0.1:5000"
        {registries}

        [defaults]
        registry = "local"
        platforms = ["linux/amd64"]

        [cache]
        {cache}

        [images.app]
        repository = "{repository}"
        context = "."
        """
    (path / "bkrun.toml").write_text(textwrap.dedent(config), encoding="utf-8")
    # The namespace in the RUN line keeps every test's cache keys apart.
    dockerfile = f"""
        FROM {BASE} AS builder
        RUN echo "{EXPENSIVE} {namespace}" && sleep 3 && echo built > /artifact
        FROM {BASE}
        COPY --from=builder /artifact /artifact
        COPY src.txt /src.txt
        """
    (path / "Dockerfile").write_text(textwrap.dedent(dockerfile), encoding="utf-8")
    (path / "src.txt").write_text("one\n", encoding="utf-8")
    project = Project(path, namespace)
    project.git("init", "-q", "-b", "main")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "small")
    return project


def change_source(project: Project, text: str) -> None:
    (project.path / "src.txt").write_text(text, encoding="utf-8")
    project.git("commit", "-q", "-am", f"source {text.strip()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_registry(tmp: Path, address: str) -> Iterator[subprocess.Popen[bytes]]:
    """A distribution registry of our own (deletes enabled) at ``address``."""
    config = tmp / "registry.yml"
    config.write_text(
        textwrap.dedent(
            f"""
            version: 0.1
            log:
              level: error
            http:
              addr: {address}
            storage:
              filesystem:
                rootdirectory: {tmp / "data"}
              delete:
                enabled: true
            """
        ),
        encoding="utf-8",
    )
    log = (tmp / "registry.log").open("wb")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        log.close()
