"""The shape of a plan: options in, build steps and publish steps out, and its JSON form.

plan.py makes these; the runner, the reports and ``bkrun plan`` read them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from buildkit_runner import cache, changes, publishing, tags
from buildkit_runner.git import GitContext

PLAN_FORMAT_VERSION = 1
STATE_DIR = ".bkrun"


def digest_placeholder(image: str) -> str:
    return "${" + image + ".digest}"


@dataclass(frozen=True)
class Options:
    """What the command line (or BKRUN_* variables) asks of this run."""

    images: tuple[str, ...] = ()
    push: bool = False
    load: bool = False
    platforms: tuple[str, ...] = ()
    cache_export: bool | None = None
    progress: str = "rawjson"
    state_dir: str = STATE_DIR
    # Filled by the probe step both plan and build run (commands/common.py); --offline skips it.
    offline: bool = False
    facts: cache.Facts = field(default_factory=cache.Facts)
    # The [profiles.<name>] to apply; its run settings fill the three options below when they
    # are None (unset on the command line), then the built-ins (commands/common.py).
    profile: str | None = None
    # Scheduling: concurrent builds, and whether a failure stops new builds from starting.
    jobs: int | None = None
    keep_going: bool | None = None
    # Skip images whose input digest matches their reference tag's (changes.py).
    if_changed: bool | None = None
    # Build only the named images, on their dependencies' published digests.
    no_deps: bool = False
    # --pull/--no-pull over every image's pull setting; None: the config decides.
    pull: bool | None = None
    # Registry hosts with a CA in /etc/docker/certs.d: buildx imagetools cannot reach them.
    private_ca_hosts: tuple[str, ...] = ()
    # Input digests and registry state, gathered before planning (inputs.py).
    inputs: changes.Inputs = field(default_factory=changes.Inputs)


@dataclass(frozen=True)
class Part:
    """A run of argv and the reason it is there."""

    args: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class BuildStep:
    image: str
    repository: str
    tags: tuple[tags.Tag, ...]
    skipped_tags: tuple[str, ...]
    platforms: tuple[str, ...]
    depends_on: tuple[str, ...]
    cache_from: tuple[str, ...]
    cache_to: tuple[str, ...]
    metadata_file: str
    parts: tuple[Part, ...]
    push: bool
    load: bool
    notes: tuple[str, ...] = ()
    # Every repository the tags go to (repository first); labels and annotations as built.
    repositories: tuple[str, ...] = ()
    version: str | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    metadata_skipped: tuple[str, ...] = ()
    # Why this image is built in this run, and its input digest (None: not computed).
    reason: str = ""
    input_digest: str | None = None

    @property
    def argv(self) -> tuple[str, ...]:
        return ("docker", "buildx", "build", *(a for part in self.parts for a in part.args))

    @property
    def refs(self) -> tuple[str, ...]:
        repositories = self.repositories or (self.repository,)
        return tuple(f"{repo}:{tag.value}" for tag in self.tags for repo in repositories)

    def command(self) -> str:
        """The argv as one shell line, split at each option for reading."""
        lines = ["docker buildx build"]
        lines.extend(shlex.join(part.args) for part in self.parts)
        return " \\\n    ".join(lines)


@dataclass(frozen=True)
class Plan:
    project: str
    config_path: str
    root: str
    git: GitContext
    options: Options
    steps: tuple[BuildStep, ...]
    notes: tuple[str, ...] = field(default=())
    publish: tuple[publishing.PublishStep, ...] = ()
    skipped: tuple[publishing.Skip, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PLAN_FORMAT_VERSION,
            "project": self.project,
            "config": self.config_path,
            "git": _git_json(self.git),
            "options": {
                "push": self.options.push,
                "load": self.options.load,
                "platforms": list(self.options.platforms),
                "cache_export": self.options.cache_export,
                "offline": self.options.offline,
                "probes": self.options.facts.to_json(),
                "jobs": self.options.jobs,
                "keep_going": self.options.keep_going,
                "if_changed": self.options.if_changed,
                "no_deps": self.options.no_deps,
            },
            "notes": list(self.notes),
            "steps": [_step_json(step, self.options.inputs) for step in self.steps],
            "skipped": [skip.to_json() for skip in self.skipped],
            "publish": [step.to_json() for step in self.publish],
        }


def _git_json(git: GitContext) -> dict[str, Any]:
    return {
        "sha": git.sha,
        "branch": git.branch,
        "default_branch": git.default_branch,
        "tags": list(git.tags),
        "dirty": git.dirty,
        "commit_time": git.commit_time.isoformat() if git.commit_time else None,
        "trigger": git.trigger,
        "pr_number": git.pr_number,
        "provider": git.provider,
        "source": git.source,
    }


def _step_json(step: BuildStep, inputs: changes.Inputs) -> dict[str, Any]:
    found = inputs.get(step.image)
    return {
        "image": step.image,
        "reason": step.reason,
        "inputs": found.to_json() if found else None,
        "repository": step.repository,
        "repositories": list(step.repositories or (step.repository,)),
        "tags": [
            {"tag": t.value, "ref": f"{step.repository}:{t.value}", "rule": t.rule}
            for t in step.tags
        ],
        "refs": list(step.refs),
        "skipped_tags": list(step.skipped_tags),
        "version": step.version,
        "labels": dict(step.labels),
        "annotations": dict(step.annotations),
        "metadata_skipped": list(step.metadata_skipped),
        "platforms": list(step.platforms),
        "depends_on": list(step.depends_on),
        "cache": {
            "from": list(step.cache_from),
            "to": list(step.cache_to),
            "notes": list(step.notes),
        },
        "push": step.push,
        "load": step.load,
        "metadata_file": step.metadata_file,
        "argv": list(step.argv),
        "explain": [{"args": list(p.args), "why": p.why} for p in step.parts],
    }
