"""A four-image diamond project on the real engine, for the graph and nightly tests.

base builds FROM a base image the test owns (a copy of base/busybox pushed under the test's
namespace), left and right build on base, top on both. Each RUN sleeps a little, so two
images built at once visibly overlap.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import uuid
from pathlib import Path

from tests.e2e.helpers import REGISTRY, Project, Run, manifest

BUSYBOX = f"{REGISTRY}/base/busybox:latest"

CONFIG = """\
[project]
name = "diamond"
default-branch = "main"
lock = "{lock}"
lock-timeout = 120

[registries.local]
host = "{registry}"

[defaults]
registry = "local"
platforms = ["linux/amd64"]

[cache]
enabled = false

[images.base]
repository = "{ns}/base"
context = "base"

[images.left]
repository = "{ns}/left"
context = "left"
depends-on = ["base"]

[images.right]
repository = "{ns}/right"
context = "right"
depends-on = ["base"]

[images.top]
repository = "{ns}/top"
context = "top"
depends-on = ["left", "right"]

[profiles.nightly]
trigger = "schedule"
pull = true
reproducible = true
if-changed = true
jobs = 2
"""

DOCKERFILES = {
    "base": "FROM {upstream}\nCOPY . /ctx/base\nRUN sleep 1 && echo base > /base\n",
    "left": "FROM base\nCOPY . /ctx/left\nRUN sleep 2 && echo left > /left\n",
    "right": "FROM base\nCOPY . /ctx/right\nRUN sleep 2 && echo right > /right\n",
    "top": "FROM left\nCOPY --from=right /right /right\nCOPY . /ctx/top\nRUN echo top > /top\n",
}


def make_diamond(root: Path, lock: str = "wait") -> Project:
    namespace = f"e2e-{uuid.uuid4().hex[:10]}"
    path = root / "diamond"
    upstream = f"{REGISTRY}/{namespace}/upstream:latest"
    for name, text in DOCKERFILES.items():
        (path / name).mkdir(parents=True)
        (path / name / "Dockerfile").write_text(text.format(upstream=upstream))
        (path / name / "file.txt").write_text(f"{name} v1\n")
    (path / "bkrun.toml").write_text(CONFIG.format(lock=lock, registry=REGISTRY, ns=namespace))
    project = Project(path, namespace)
    project.git("init", "-q", "-b", "main")
    commit(project, "diamond")
    push_upstream(namespace, "")
    return project


def commit(project: Project, message: str) -> str:
    project.git("add", "-A")
    project.git("commit", "-q", "--allow-empty", "-m", message)
    return project.git("rev-parse", "HEAD")


def push_upstream(namespace: str, marker: str) -> str:
    """Push the test's base image: busybox as is, or with a file that changes its digest."""
    target = f"{REGISTRY}/{namespace}/upstream:latest"
    if not marker:
        argv = ["docker", "buildx", "imagetools", "create", "-t", target, BUSYBOX]
        subprocess.run(argv, check=True, capture_output=True)
    else:
        dockerfile = f"FROM {BUSYBOX}\nRUN echo {marker} > /marker\n"
        argv = [
            "docker", "buildx", "build", "--platform", "linux/amd64", "--provenance=false",
            "--output", f"type=image,name={target},push=true", "-",
        ]  # fmt: skip
        subprocess.run(argv, input=dockerfile, text=True, check=True, capture_output=True)
    return manifest(f"{namespace}/upstream", "latest")[0]


def report(project: Project, run: Run, path: Path) -> dict:
    assert path.exists(), run.output[-3000:]
    data: dict = json.loads(path.read_text())
    return data


def images(data: dict) -> dict[str, dict]:
    return {entry["image"]: entry for entry in data["images"]}


def digest(project: Project, image: str, tag: str) -> str:
    return manifest(project.repository(image), tag)[0]


def fail_in(project: Project, image: str) -> None:
    path = project.path / image / "Dockerfile"
    path.write_text(path.read_text() + textwrap.dedent("RUN echo failing && exit 3\n"))


def tags_of(repository: str) -> set[str]:
    """The repository's tags; none for a repository the registry has never seen."""
    import urllib.error

    from tests.e2e.helpers import registry_tags

    try:
        return registry_tags(repository)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return set()
        raise
