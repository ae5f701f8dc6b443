"""Find, read and validate the config file; render every problem with its key path."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import sys
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from buildkit_runner.config import models
from buildkit_runner.config.resolve import Config, resolve
from buildkit_runner.config.rules import RULE_TYPES
from buildkit_runner.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

CONFIG_NAME = "bkrun.toml"
PYPROJECT_NAME = "pyproject.toml"


def discover(start: Path) -> Path:
    """The nearest bkrun.toml, or pyproject.toml with [tool.bkrun], from ``start`` upwards.

    The walk stops at the repository root (the first directory holding ``.git``) so a stray
    config above the checkout is never picked up.
    """
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT_NAME
        if pyproject.is_file() and _has_bkrun_table(pyproject):
            return pyproject
        if (directory / ".git").exists():
            break
    raise ConfigError(
        [
            f"no {CONFIG_NAME} (or pyproject.toml with a [tool.bkrun] table) in {start} or "
            "its parents up to the repository root; create one with the images to build, "
            "or pass -c/--config PATH"
        ]
    )


def _has_bkrun_table(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("tool"), dict) and "bkrun" in data["tool"]


def load(path: Path | None = None, start: Path | None = None, profile: str | None = None) -> Config:
    """Load the config at ``path`` (or discover it from ``start``) with ``profile``'s
    overrides; raise ConfigError."""
    given = path
    if path is None:
        path = discover((start or Path.cwd()).resolve())
    path = path.resolve()
    label = _display(path, given)
    data = _read(path, label, given is not None)

    # In pyproject.toml the keys live under [tool.bkrun]; say so in every key path.
    if path.name == PYPROJECT_NAME:
        label += ": tool.bkrun"

    try:
        file = models.ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_locate(label, line) for line in describe(exc)]) from None

    config, problems = resolve(file, path, profile)
    if config is None:
        raise ConfigError([_locate(label, line) for line in problems])
    # Problems found later (credentials unset at build time) name the file too.
    for name, registry in config.registries.items():
        where = _locate(label, f"registries.{name}")
        config.registries[name] = dataclasses.replace(registry, where=where)
    return config


def _locate(label: str, line: str) -> str:
    # "bkrun.toml: images.web: ..." or, for pyproject.toml, "...: tool.bkrun.images.web: ...".
    if label.endswith(": tool.bkrun"):
        return f"{label}.{line}" if not line.startswith("(top level)") else f"{label}{line[11:]}"
    return f"{label}: {line}"


# Where the config path came from, when the CLI knows: "-c/--config" or "BKRUN_CONFIG".
_SOURCE: dict[str, str] = {}


def set_source(source: str | None) -> None:
    """Name the option or variable that gave the config path, for error messages."""
    _SOURCE.clear()
    if source:
        _SOURCE["name"] = source


def _display(path: Path, given: Path | None = None) -> str:
    """The path as the user knows it: a path given outside the working directory as given
    (never ``../../x.toml`` for ``/x.toml``), else relative to the working directory."""
    if given is not None and not path.is_relative_to(Path.cwd().resolve()):
        return str(given)
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - a different drive on Windows
        return str(path)


def _read(path: Path, label: str, given: bool = True) -> dict[str, Any]:
    source = _SOURCE.get("name")
    hint = f"check {source}" if given and source else "check the config path"
    if path.is_dir():
        raise ConfigError(
            [f"{label}: is a directory, not a config file (e.g. {label}/bkrun.toml); {hint}"]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{label}: file not found; {hint}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([f"{label}: cannot read the file ({reason}); {hint}"]) from None

    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{label}: not valid TOML: {exc}"]) from None

    if path.name == PYPROJECT_NAME:
        table: Any = data.get("tool", {}).get("bkrun")
        if not isinstance(table, dict):
            raise ConfigError([f"{label}: no [tool.bkrun] table; add one or use bkrun.toml"])
        return table
    return data


def key_path(loc: Sequence[int | str]) -> str:
    """``("images", "web", "platforms", 1)`` → ``images.web.platforms[1]``."""
    text = ""
    for part in loc:
        if part == "[key]":
            # pydantic's marker for "the key itself is invalid": the path already ends at it.
            continue
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        # A key that is not a TOML bare key (a label such as "org.opencontainers.image.title")
        # is quoted, as in the file, so its dots do not read as nesting.
        name = str(part) if _BARE_KEY.fullmatch(str(part)) else json.dumps(str(part))
        text += f".{name}" if text else name
    return text or "(top level)"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def describe(exc: ValidationError) -> list[str]:
    """One line per problem: key path, what is wrong, how to fix it."""
    lines = []
    # include_input=False: a rejected value may be a secret, and pydantic's default keeps it.
    errors = exc.errors(include_input=False, include_url=False)
    suggested = _suggested_keys(errors)
    for error in errors:
        loc = _without_union_tags(error["loc"])
        if error["type"] == "missing" and loc in suggested:
            # A misspelled required key shows up twice (unknown + missing); the did-you-mean
            # line already says everything.
            continue
        lines.append(f"{key_path(loc)}: {_message(error, loc)}")
    return lines


def _suggested_keys(errors: Sequence[Any]) -> set[tuple[int | str, ...]]:
    """Locations of required keys that an unknown key's did-you-mean points to."""
    suggested = set()
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        loc = _without_union_tags(error["loc"])
        allowed = sorted(_keys_at(loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]).replace("_", "-"), allowed, n=1)
        if close:
            suggested.add((*loc[:-1], close[0]))
    return suggested


def _without_union_tags(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    # Discriminated unions add the tag to the location (tags[0].sha.length); users never
    # wrote that level, so drop it.
    parts = list(loc)
    kept: list[int | str] = []
    for index, part in enumerate(parts):
        if index > 0 and isinstance(parts[index - 1], int) and part in _RULE_TAGS:
            continue
        kept.append(part)
    return tuple(kept)


_RULE_TAGS = set(RULE_TYPES)


def _message(error: Any, loc: tuple[int | str, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "union_tag_invalid":
        expected = error.get("ctx", {}).get("expected_tags", "")
        return f"unknown rule type; expected one of {expected}"
    if kind == "union_tag_not_found":
        return 'a tag rule needs a type, e.g. { type = "sha" } or the shorthand "sha"'
    if kind == "bool_type":
        # Strict: "yes", "1" or "false" (a string) are not booleans in TOML.
        return "expected true or false (a TOML boolean, without quotes)"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1])
    allowed = sorted(_keys_at(loc[:-1]))
    hint = ""
    close = difflib.get_close_matches(key.replace("_", "-"), allowed, n=1, cutoff=0.6)
    if close:
        hint = f"; did you mean {close[0]!r}?"
    elif allowed:
        hint = f"; expected one of: {', '.join(allowed)}"
    return f"unknown key {key!r}{hint}"


def _keys_at(loc: Sequence[int | str]) -> set[str]:
    """The keys the model at ``loc`` accepts, by walking the field annotations."""
    current: Any = models.ConfigFile
    for part in loc:
        current = _step(current, part)
        if current is None:
            return set()
    models_here = [m for m in _models_in(current)]
    return {kebab for model in models_here for kebab in _aliases(model)}


def _step(annotation: Any, part: int | str) -> Any:
    for model in _models_in(annotation):
        for name, field in model.model_fields.items():
            if models.kebab(name) == part:
                return field.annotation
    for arg in _flatten(annotation):
        origin = typing.get_origin(arg)
        if origin is dict:
            return typing.get_args(arg)[1]
        if origin is list and isinstance(part, int):
            return typing.get_args(arg)[0]
    return None


def _flatten(annotation: Any) -> Iterator[Any]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        yield from _flatten(args[0])
    elif args and typing.get_origin(annotation) not in (list, dict):
        for arg in args:
            yield from _flatten(arg)
    else:
        yield annotation


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    return [
        arg for arg in _flatten(annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)
    ]


def _aliases(model: type[BaseModel]) -> set[str]:
    return {models.kebab(name) for name in model.model_fields}
