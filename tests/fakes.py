"""Helpers shared by the unit tests: projects on disk, git repositories, the fake docker."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from buildkit_runner.config import Config, load
from buildkit_runner.git import GitContext

SHA = "0123456789abcdef0123456789abcdef01234567"
COMMIT_DATE = "2024-01-02T03:04:05+00:00"
COMMIT_TIME = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

# Commits never depend on the developer's global git config.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_AUTHOR_DATE": COMMIT_DATE,
    "GIT_COMMITTER_DATE": COMMIT_DATE,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; return its stripped stdout."""
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def init_repo(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    return path


def commit_all(path: Path, message: str = "commit") -> str:
    git(path, "add", "-A")
    git(path, "commit", "-q", "--allow-empty", "-m", message)
    return git(path, "rev-parse", "HEAD")


def write_project(root: Path, toml: str, contexts: tuple[str, ...] = ()) -> Path:
    """Write ``bkrun.toml`` (dedented) and a Dockerfile in each context; return the file."""
    root.mkdir(parents=True, exist_ok=True)
    for context in contexts:
        (root / context).mkdir(parents=True, exist_ok=True)
        (root / context / "Dockerfile").write_text("FROM scratch\n")
    path = root / "bkrun.toml"
    path.write_text(textwrap.dedent(toml))
    return path


def load_project(root: Path, toml: str, contexts: tuple[str, ...] = ()) -> Config:
    return load(write_project(root, toml, contexts))


def git_context(**changes: Any) -> GitContext:
    """A clean push to main at SHA, with any field overridden."""
    values: dict[str, Any] = {
        "sha": SHA,
        "branch": "main",
        "default_branch": "main",
        "commit_time": COMMIT_TIME,
        "now": COMMIT_TIME,
        "trigger": "push",
    }
    values.update(changes)
    return GitContext(**values)


@dataclass
class FakeDocker:
    """The fake docker on PATH: its call log and a way to script failures."""

    bin_dir: Path
    log_path: Path
    script_path: Path

    def calls(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def published(self) -> list[list[str]]:
        """The argv of every ``buildx imagetools create`` call, in order."""
        path = self.log_path.with_name("imagetools.jsonl")
        if not path.exists():
            return []
        return [json.loads(line)["argv"] for line in path.read_text().splitlines()]

    def script(self, image: str, exit_code: int, *output: str) -> None:
        data = json.loads(self.script_path.read_text()) if self.script_path.exists() else {}
        data[image] = {"exit": exit_code, "output": list(output)}
        self.script_path.write_text(json.dumps(data))
