"""``bkrun plan``: print the exact buildx commands ``bkrun build`` would run."""

from __future__ import annotations

import json
import sys

from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions, load_plan


def run(
    options: GlobalOptions,
    plan_options: plan_module.Options,
    trigger: str | None,
    as_json: bool,
) -> int:
    _, plan = load_plan(options, plan_options, trigger)
    if as_json:
        json.dump(plan.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(render(plan))
    return 0


def render(plan: plan_module.Plan) -> str:
    """The plan as shell: a comment line per step, then its command."""
    git = plan.git
    extra = f", {len(plan.skipped)} skipped" if plan.skipped else ""
    jobs = f", up to {plan.options.jobs} at once" if (plan.options.jobs or 1) > 1 else ""
    head = [
        f"# project {plan.project}: {len(plan.steps)} step(s){extra}{jobs}",
        f"# commit {git.sha or 'unknown'} on {git.branch or 'no branch'}"
        f" (trigger {git.trigger}, {git.provider}{', dirty' if git.dirty else ''})",
    ]
    head.extend(f"# note: {note}" for note in plan.notes)
    blocks = ["\n".join(head)]
    for index, step in enumerate(plan.steps, 1):
        lines = [f"# {index}/{len(plan.steps)} {step.image}"]
        if step.depends_on:
            lines[0] += f" (after {', '.join(step.depends_on)})"
        if step.reason:
            lines.append(f"# build: {step.reason}")
        lines.extend(f"# tag skipped: {why}" for why in step.skipped_tags)
        lines.extend(f"# cache: {note}" for note in step.notes)
        lines.append(step.command())
        blocks.append("\n".join(lines))
    blocks.extend(f"# skip {skip.image}: {skip.reason}" for skip in plan.skipped)
    if plan.publish:
        blocks.append(
            "# publish: only once every build above has succeeded, the tags move to the "
            "pushed digests"
        )
    for publish in plan.publish:
        kind = "retag" if publish.retag else "publish"
        blocks.append(f"# {kind} {publish.image}: {publish.why}\n{publish.command()}")
    return "\n\n".join(blocks)
