"""Translate a shell build script: ``docker build``, ``docker buildx build``, ``docker tag``
and ``docker push`` lines, read with shlex. Simple variables assigned in the script
(``REGISTRY=ghcr.io/org``, ``${TAG:-latest}``) are expanded; loops and functions are not
followed, and every line that could not be translated is kept as a note.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from buildkit_runner.migrate import ImageSpec, image_name, split_reference

_ASSIGN = re.compile(r"^(?:export\s+|readonly\s+|local\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_VALUE_FLAGS = {
    "-t": "tag",
    "--tag": "tag",
    "-f": "file",
    "--file": "file",
    "--platform": "platform",
    "--build-arg": "build_arg",
    "--label": "label",
    "--target": "target",
    "--cache-from": "cache_from",
    "--cache-to": "cache_to",
    "--secret": "secret",
}
# Flags with a value that bkrun sets itself or that do not change the image.
_IGNORED_VALUE_FLAGS = {"--progress", "--metadata-file", "--builder", "--iidfile", "-o", "--output"}


def parse(path: Path) -> list[ImageSpec]:
    variables: dict[str, str] = {}
    images: list[ImageSpec] = []
    taken: set[str] = set()
    for number, line in _logical_lines(path.read_text(encoding="utf-8")):
        where = f"{path.name}:{number}"
        assignment = _ASSIGN.match(line)
        if assignment and " " not in assignment.group(2).strip("\"'"):
            value = shlex.split(assignment.group(2)) or [""]
            variables[assignment.group(1)] = _expand(value[0], variables)
            continue
        try:
            words = [_expand(w, variables) for w in shlex.split(line, comments=True)]
        except ValueError:
            continue
        for command in _docker_commands(words):
            _apply(command, where, images, taken)
    return images


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append((start, (pending + raw).strip()))
        pending = ""
    return lines


def _expand(word: str, variables: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in variables:
            return variables[name]
        return match.group(2) if match.group(2) is not None else match.group(0)

    return _VAR.sub(value, word)


def _docker_commands(words: list[str]) -> list[list[str]]:
    """Each ``docker ...`` command in a line, split at ``&&``, ``;`` and ``||``."""
    commands: list[list[str]] = []
    current: list[str] = []
    for word in [*words, "&&"]:
        if word in ("&&", ";", "||", "|"):
            if "docker" in current:
                commands.append(current[current.index("docker") + 1 :])
            current = []
        else:
            current.append(word)
    return commands


def _apply(args: list[str], where: str, images: list[ImageSpec], taken: set[str]) -> None:
    if args[:2] == ["buildx", "build"] or args[:2] == ["image", "build"]:
        images.append(_build(args[2:], where, taken))
    elif args[:1] == ["build"]:
        images.append(_build(args[1:], where, taken))
    elif args[:1] == ["push"] and len(args) > 1:
        repository, tag = split_reference(args[-1])
        for image in images:
            if image.repository == repository:
                image.pushed = True
                if tag and tag not in image.tags:
                    image.tags.append(tag)
    elif args[:1] == ["tag"] and len(args) == 3:
        source, _ = split_reference(args[1])
        repository, tag = split_reference(args[2])
        for image in images:
            if image.repository == source and repository == source and tag:
                image.tags.append(tag)


def _build(args: list[str], where: str, taken: set[str]) -> ImageSpec:
    values: dict[str, list[str]] = {}
    positional: list[str] = []
    notes: list[str] = []
    flags = iter(args)
    for arg in flags:
        flag, eq, inline = arg.partition("=")
        if flag in _VALUE_FLAGS or flag in _IGNORED_VALUE_FLAGS:
            value = inline if eq else next(flags, "")
            if flag in _VALUE_FLAGS:
                values.setdefault(_VALUE_FLAGS[flag], []).append(value)
            continue
        if arg in ("--push", "--load", "--pull", "--no-cache", "-q", "--quiet"):
            values.setdefault(arg.lstrip("-"), []).append("1")
        elif arg.startswith("-"):
            notes.append(f"{where}: option {arg} not translated")
        else:
            positional.append(arg)

    repository, _ = split_reference(values.get("tag", [""])[0])
    return ImageSpec(
        name=image_name(repository or (positional[-1] if positional else "image"), taken),
        repository=repository,
        context=positional[-1] if positional else ".",
        dockerfile=values.get("file", [None])[0],
        target=values.get("target", [None])[0],
        platforms=[p for v in values.get("platform", []) for p in v.split(",") if p],
        build_args=dict(_pair(v) for v in values.get("build_arg", [])),
        labels=dict(_pair(v) for v in values.get("label", [])),
        tags=[t for t in (split_reference(v)[1] for v in values.get("tag", [])) if t],
        cache_from=values.get("cache_from", []),
        cache_to=values.get("cache_to", []),
        secrets=values.get("secret", []),
        pushed="push" in values,
        source=where,
        notes=notes,
    )


def _pair(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key, value
