"""``bkrun export bake``: write the plan as a docker-bake.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from buildkit_runner import bake, log
from buildkit_runner import plan as plan_module
from buildkit_runner.commands.common import GlobalOptions, load_plan
from buildkit_runner.errors import UsageError

BAKE_FILE = "docker-bake.json"


def run(
    options: GlobalOptions,
    plan_options: plan_module.Options,
    trigger: str | None,
    output: Path | None,
    force: bool,
) -> int:
    config, plan = load_plan(options, plan_options, trigger)
    text = json.dumps(bake.bake_file(config, plan), indent=2) + "\n"
    if output is not None and str(output) == "-":
        sys.stdout.write(text)
        return 0

    path = output or config.root / BAKE_FILE
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    path.write_text(text, encoding="utf-8")
    log.get().info("bake_file_written", path=str(path), targets=len(plan.steps))
    print(f"wrote {path}; build with: {follow_up(path, config.root)}")
    if path.resolve().is_relative_to(config.root.resolve()):
        print(
            f"note: {path.name} is a new file in the work tree: commit it (or add it to "
            ".gitignore), or the next bkrun build sees a dirty tree and marks its tags -dirty"
        )
    return 0


def follow_up(path: Path, root: Path) -> str:
    """The command that builds from the written file: bake runs in the project root, where
    the file's paths point."""
    import shlex

    absolute = path.resolve()
    inside = absolute.is_relative_to(root.resolve())
    shown = absolute.relative_to(root.resolve()).as_posix() if inside else str(absolute)
    command = f"docker buildx bake -f {shlex.quote(shown)}"
    if Path.cwd().resolve() == root.resolve():
        return command
    return f"cd {shlex.quote(str(root))} && {command}"
