""".dockerignore patterns with docker's own semantics (github.com/moby/patternmatcher).

Each pattern is Go's ``filepath.Match`` syntax (``*`` and ``?`` never cross ``/``, classes
``[a-z]`` and ``[^a-z]``, ``\\`` escapes) plus ``**`` for any number of directories. A
pattern matches a path or any of its parent directories; ``!`` re-includes what an earlier
pattern excluded, and the last matching pattern wins. A leading ``/`` is dropped and every
pattern is cleaned like Go's ``filepath.Clean``. Pure: no file system access but the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Regexp characters that mean nothing to filepath.Match; '^' and '[' are deliberately absent.
_ESCAPE = set(".+()|{}$")
_BOM = "\ufeff"


class PatternError(ValueError):
    """A pattern Go's filepath.Match would refuse (docker fails the build on it too)."""


def clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash-separated paths."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append(part)
            continue
        parts.append(part)
    text = "/".join(parts)
    if rooted:
        return "/" + text
    return text or "."


def read(text: str) -> list[str]:
    """The patterns of a .dockerignore file, as docker's ignorefile.ReadAll reads them."""
    patterns = []
    for index, raw in enumerate(text.splitlines()):
        if index == 0:
            raw = raw.removeprefix(_BOM)
        # A comment is a line starting with '#' before any trimming.
        if raw.startswith("#"):
            continue
        pattern = raw.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


@dataclass
class _Pattern:
    text: str
    exclusion: bool
    kind: str = ""  # exact, prefix, suffix or regexp
    regexp: re.Pattern[str] | None = None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            # "**/foo" matches "foo" itself.
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regexp is not None
        return self.regexp.match(path) is not None


def _validate(pattern: str) -> None:
    """Raise PatternError where Go's filepath.Match reports ErrBadPattern."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise PatternError(f"bad pattern {pattern!r}: trailing backslash")
            i += 2
            continue
        if ch == "[":
            i = _validate_class(pattern, i + 1)
            continue
        i += 1


def _validate_class(pattern: str, i: int) -> int:
    bad = PatternError(f"bad pattern {pattern!r}: malformed character class")
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    ranges = 0
    while True:
        if i >= len(pattern):
            raise bad
        if pattern[i] == "]" and ranges > 0:
            return i + 1
        i = _class_char(pattern, i, bad)
        if i < len(pattern) and pattern[i] == "-":
            i = _class_char(pattern, i + 1, bad)
        ranges += 1


def _class_char(pattern: str, i: int, bad: PatternError) -> int:
    if i >= len(pattern) or pattern[i] in "-]":
        raise bad
    if pattern[i] == "\\":
        if i + 1 >= len(pattern):
            raise bad
        return i + 2
    return i + 1


def _compile(pattern: _Pattern) -> None:
    text = pattern.text
    regex = "^"
    kind = "exact"
    i = 0
    first = True
    while i < len(text):
        ch = text[i]
        i += 1
        if ch == "*" and i < len(text) and text[i] == "*":
            i += 1
            if i < len(text) and text[i] == "/":
                i += 1  # "**/" is "**"
            if i >= len(text):
                # A trailing "**" accepts everything below, as in .gitignore.
                if kind == "exact":
                    kind = "prefix"
                else:
                    regex += ".*"
                    kind = "regexp"
            else:
                regex += "(.*/)?"
                kind = "regexp"
            if first:
                kind = "suffix"
        elif ch == "*":
            regex += "[^/]*"
            kind = "regexp"
        elif ch == "?":
            regex += "[^/]"
            kind = "regexp"
        elif ch in _ESCAPE:
            regex += "\\" + ch
        elif ch == "\\":
            if i < len(text):
                regex += "\\" + text[i]
                i += 1
                kind = "regexp"
            else:
                regex += "\\\\"
        elif ch in "[]":
            regex += ch
            kind = "regexp"
        else:
            # Copied as is, like Go: '^' stays an anchor that never matches mid-path.
            regex += ch
        first = False
    pattern.kind = kind
    if kind == "regexp":
        pattern.regexp = re.compile(regex + "$")


class Matcher:
    """docker's PatternMatcher: ``excluded(path)`` is MatchesOrParentMatches."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        self.exclusions = False
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            text = clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise PatternError('illegal exclusion pattern: "!"')
                text = text[1:]
                self.exclusions = True
            _validate(text)
            pattern = _Pattern(text, exclusion)
            _compile(pattern)
            self.patterns.append(pattern)

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (slash-separated, relative to the context) is left out."""
        path = clean(path)
        if path == ".":
            return False
        parent = path.rsplit("/", 1)[0] if "/" in path else "."
        parents = parent.split("/")
        matched = False
        for pattern in self.patterns:
            # An inclusion cannot change a match, an exclusion cannot change a non-match.
            if pattern.exclusion != matched:
                continue
            found = pattern.match(path)
            if not found and parent != ".":
                found = any(pattern.match("/".join(parents[: i + 1])) for i in range(len(parents)))
            if found:
                matched = not pattern.exclusion
        return matched


def matcher_for(context: Path, dockerfile: Path) -> tuple[Matcher, Path | None]:
    """The matcher BuildKit uses for ``context``: ``<Dockerfile>.dockerignore`` next to the
    Dockerfile wins over ``.dockerignore`` at the context's root; also the file it read."""
    specific = dockerfile.with_name(dockerfile.name + ".dockerignore")
    for candidate in (specific, context / ".dockerignore"):
        if candidate.is_file():
            text = candidate.read_text(encoding="utf-8", errors="replace")
            return Matcher(read(text)), candidate
    return Matcher([]), None
