"""Helpers for the end-to-end tests: example copies, the registry's HTTP API, log checks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "127.0.0.1:5000"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "example"
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_ACCEPT = ", ".join(
    (
        *INDEX_TYPES,
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bkrun tests",
    "GIT_AUTHOR_EMAIL": "tests@bkrun.invalid",
    "GIT_COMMITTER_NAME": "bkrun tests",
    "GIT_COMMITTER_EMAIL": "tests@bkrun.invalid",
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Project:
    path: Path
    namespace: str

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env={**os.environ, **GIT_IDENTITY},
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def bkrun(self, *args: str, env: dict[str, str] | None = None) -> Run:
        result = subprocess.run(
            [sys.executable, "-m", "buildkit_runner", *args],
            cwd=self.path,
            env={**_clean_env(), **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        return Run(result.returncode, result.stdout, result.stderr)

    def repository(self, image: str) -> str:
        return f"{self.namespace}/{image}"


def _clean_env() -> dict[str, str]:
    # The tests act as a local run: no CI provider variables leak in from the runner.
    drop = re.compile(r"^(GITHUB_|GITLAB_|GITEA_|FORGEJO_|CI_|BUILDKITE|DRONE|BKRUN_)")
    env = {k: v for k, v in os.environ.items() if not drop.match(k)}
    for name in ("CI", "JENKINS_URL", "BRANCH_NAME", "GIT_BRANCH", "GIT_COMMIT"):
        env.pop(name, None)
    return env


def make_project(root: Path) -> Project:
    """A copy of the example in its own git repository, with repositories no test shares."""
    namespace = f"e2e-{uuid.uuid4().hex[:10]}"
    path = root / "example"
    shutil.copytree(EXAMPLE, path)
    config = path / "bkrun.toml"
    text = config.read_text(encoding="utf-8").replace('"example/', f'"{namespace}/')
    config.write_text(text, encoding="utf-8")

    project = Project(path, namespace)
    project.git("init", "-q", "-b", "main")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "example")
    return project


def registry_get(path: str, accept: str | None = None) -> tuple[dict[str, str], dict]:
    """GET a registry API path; return the headers and the JSON body."""
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{path}")
    if accept:
        request.add_header("Accept", accept)
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(response.headers), json.loads(response.read())


def registry_tags(repository: str) -> set[str]:
    _, body = registry_get(f"{repository}/tags/list")
    return set(body.get("tags") or ())


def manifest(repository: str, reference: str) -> tuple[str, dict]:
    """The digest and body of ``repository:reference``."""
    headers, body = registry_get(f"{repository}/manifests/{reference}", MANIFEST_ACCEPT)
    return headers["Docker-Content-Digest"], body


def wipe_builder(*repositories: str) -> None:
    """A fresh runner: no build cache and none of the project's images in the engine."""
    subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, check=True)
    listed = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    doomed = [
        ref for ref in listed if any(ref.startswith(f"{REGISTRY}/{r}:") for r in repositories)
    ]
    if doomed:
        subprocess.run(["docker", "image", "rm", "-f", *doomed], capture_output=True, check=True)


def executed(output: str, image: str, marker: str) -> bool:
    """Whether a RUN step printed ``marker`` while running (not merely in its header line)."""
    pattern = re.compile(rf"^\[{re.escape(image)}\] #\d+ \d+\.\d+ {re.escape(marker)}", re.M)
    return bool(pattern.search(output))
