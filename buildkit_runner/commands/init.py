"""``bkrun init``: write a commented bkrun.toml from what the project already has.

Without ``--from`` it scans for Dockerfiles; with ``--from FILE`` it translates a build script
(shell lines calling docker build/buildx build/tag/push) or a compose file (``compose.yaml``,
``docker-compose.yml``: chosen by the file name or a ``services:`` key). An existing file is
never overwritten without ``--force``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from buildkit_runner import log
from buildkit_runner.commands.common import GlobalOptions
from buildkit_runner.config.load import CONFIG_NAME
from buildkit_runner.errors import NothingToBuild, UsageError
from buildkit_runner.migrate import ImageSpec, compose, scan, script, writer

_COMPOSE_NAME = re.compile(r"(docker-)?compose(\.[\w-]+)*\.ya?ml$")


def run(
    options: GlobalOptions,
    directory: Path,
    source: Path | None,
    registry: str | None,
    output: Path | None,
    force: bool,
) -> int:
    root = directory.resolve()
    if not root.is_dir():
        raise UsageError(f"{directory} is not a directory")
    host, namespace = None, ""
    if registry is not None:
        # Checked before anything is read or written: host[/namespace], scheme optional.
        try:
            host, namespace = writer.parse_registry(registry)
        except ValueError as exc:
            raise UsageError(f"--registry {registry!r}: {exc}") from None
    project = re.sub(r"[^a-z0-9_-]+", "-", root.name.lower()).strip("-") or "project"
    specs, what = _read(root, source, project)
    if not specs:
        raise NothingToBuild(f"no image found in {what}; write bkrun.toml by hand (docs/config.md)")
    _relative_contexts(specs, root, source)

    text = writer.render(writer.Header(project, what), specs, host, namespace)
    placeholder = writer.needs_registry(specs, host)
    if placeholder:
        print(
            f"bkrun: note: no --registry given: the config names the placeholder registry "
            f"{writer.PLACEHOLDER_HOST}; replace it (see its comment), or rerun with "
            "--registry ghcr.io/<org>",
            file=sys.stderr,
        )
    if output is not None and str(output) == "-":
        sys.stdout.write(text)
        return 0
    path = output or root / CONFIG_NAME
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    path.write_text(text, encoding="utf-8")
    log.get().info("config_written", path=str(path), images=len(specs))
    count = len(specs)
    print(
        f"wrote {path} ({count} image{'s' if count != 1 else ''}: "
        f"{', '.join(s.name for s in specs)}); check it with `bkrun validate` and `bkrun plan`"
    )
    return 0


def _read(root: Path, source: Path | None, project: str) -> tuple[list[ImageSpec], str]:
    if source is None:
        return scan.specs(root, project), "the Dockerfiles found"
    if not source.is_file():
        raise UsageError(f"--from {source}: no such file")
    if _COMPOSE_NAME.search(source.name) or _looks_like_compose(source):
        return compose.parse(source), source.name
    return script.parse(source), source.name


def _looks_like_compose(path: Path) -> bool:
    head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    return bool(re.search(r"^services:\s*$", head, re.M))


def _relative_contexts(specs: list[ImageSpec], root: Path, source: Path | None) -> None:
    # A script or compose file names paths relative to where it lives (a script is usually
    # run from its own directory); bkrun's are relative to the config file.
    base = source.resolve().parent if source else root
    for spec in specs:
        for attr in ("context", "dockerfile"):
            value = getattr(spec, attr)
            if value and not Path(value).is_absolute():
                absolute = (base / value).resolve()
                try:
                    setattr(spec, attr, absolute.relative_to(root).as_posix() or ".")
                except ValueError:
                    spec.notes.append(f"{attr} {value!r} lies outside {root}")
        if spec.dockerfile is None and spec.context:
            spec.dockerfile = f"{spec.context.rstrip('/')}/Dockerfile"
