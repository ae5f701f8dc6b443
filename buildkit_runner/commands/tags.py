"""``bkrun tags``: each image's tags for this commit, the rule behind each, and skipped rules."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from buildkit_runner import config as config_module
from buildkit_runner import git as git_module
from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions

TAGS_FORMAT_VERSION = 1


def run(options: GlobalOptions, images: tuple[str, ...], trigger: str | None, as_json: bool) -> int:
    cfg = config_module.load(options.config)
    context = git_module.context(cfg.root, cfg.default_branch, env=os.environ, trigger=trigger)
    # Offline: tags need no probe of the builder or registries.
    plan = plan_module.make_plan(cfg, context, plan_module.Options(images=images, offline=True))
    if as_json:
        json.dump(document(plan), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render(plan))
    return 0


def document(plan: plan_module.Plan) -> dict[str, Any]:
    full = plan.to_json()
    return {
        "version": TAGS_FORMAT_VERSION,
        "git": full["git"],
        "notes": full["notes"],
        "images": [
            {
                "image": step.image,
                "repositories": list(_repositories(step)),
                "version": step.version,
                "tags": [
                    {
                        "tag": tag.value,
                        "rule": tag.rule,
                        "refs": [f"{r}:{tag.value}" for r in _repositories(step)],
                    }
                    for tag in step.tags
                ],
                "skipped": list(step.skipped_tags),
            }
            for step in plan.steps
        ],
    }


def render(plan: plan_module.Plan) -> str:
    """One block per image: its repositories, then a line per tag and per skipped rule."""
    git = plan.git
    lines = [
        f"# commit {git.sha or 'unknown'} on {git.branch or 'no branch'}"
        f" (trigger {git.trigger}, {git.provider}{', dirty' if git.dirty else ''})"
    ]
    lines.extend(f"# note: {note}" for note in plan.notes)
    for step in plan.steps:
        lines.append("")
        lines.append(f"{step.image}: {', '.join(_repositories(step))}")
        width = max((len(tag.value) for tag in step.tags), default=0)
        lines.extend(f"  {tag.value:<{width}}  {tag.rule}" for tag in step.tags)
        if not step.tags:
            lines.append("  (no tags)")
        lines.extend(f"  skipped {why}" for why in step.skipped_tags)
    return "\n".join(lines)


def _repositories(step: plan_module.BuildStep) -> tuple[str, ...]:
    return step.repositories or (step.repository,)
