"""The images a Dockerfile builds on: FROM lines and ``COPY --from``, ARGs substituted. Pure.

Global ARGs (before the first FROM) take their default, or the build arg of the same name,
as BuildKit does. ``scratch``, earlier stage names and stage numbers are not images. A
reference that still holds an unresolved variable is returned in ``unresolved`` so callers
can say why they cannot pin it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_VAR_RE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-+])?(?P<word>[^}]*)\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class Bases:
    images: tuple[str, ...]
    unresolved: tuple[str, ...]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.strip().partition(" ")
        found.append((keyword.upper(), rest.strip()))
        current = ""
    if current.strip():
        keyword, _, rest = current.strip().partition(" ")
        found.append((keyword.upper(), rest.strip()))
    return found


def substitute(text: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """``$X``, ``${X}``, ``${X:-d}``, ``${X:+w}``; also the names that had no value."""
    missing: list[str] = []

    def one(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        value = values.get(name)
        op, word = match.group("op"), match.group("word") or ""
        if op in (":-", "-"):
            return value if value else word
        if op in (":+", "+"):
            return word if value else ""
        if value is None:
            missing.append(name)
            return match.group(0)
        return value

    return _VAR_RE.sub(one, text), missing


def _args(arguments: str) -> list[tuple[str, str | None]]:
    pairs = []
    for item in arguments.split():
        name, sep, default = item.partition("=")
        pairs.append((name, default.strip("\"'") if sep else None))
    return pairs


def bases(text: str, build_args: Mapping[str, str], skip: tuple[str, ...] = ()) -> Bases:
    """The registry images ``text`` builds on; ``skip`` names named contexts (depends-on)."""
    values: dict[str, str | None] = {}
    stages: set[str] = set()
    images: list[str] = []
    unresolved: list[str] = []
    seen_from = False
    for keyword, arguments in instructions(text):
        if keyword == "ARG" and not seen_from:
            for name, default in _args(arguments):
                values[name] = build_args.get(name, default)
        elif keyword == "FROM":
            seen_from = True
            words = [w for w in arguments.split() if not w.startswith("--")]
            if not words:
                continue
            _add(words[0], values, stages, skip, images, unresolved)
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
        elif keyword in ("COPY", "ADD", "RUN"):
            for source in re.findall(r"--(?:from|mount=[^ ]*\bfrom)=([^ ,]+)", arguments):
                if not source.isdigit():
                    _add(source, values, stages, skip, images, unresolved)
    return Bases(tuple(dict.fromkeys(images)), tuple(dict.fromkeys(unresolved)))


def _add(
    reference: str,
    values: Mapping[str, str | None],
    stages: set[str],
    skip: tuple[str, ...],
    images: list[str],
    unresolved: list[str],
) -> None:
    name, missing = substitute(reference, values)
    if missing:
        unresolved.append(reference)
        return
    if name.lower() == "scratch" or name.lower() in stages or name in skip:
        return
    images.append(name)
