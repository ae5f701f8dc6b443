"""Release versions read from git tags: semver (``v1.2.3-rc.1+build``) and PEP 440.

A tag either is a version of the scheme asked for or is not; nothing is coerced (``v1.2`` is
not semver), so the tags a release gets never depend on a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from packaging.version import InvalidVersion
from packaging.version import Version as Pep440Version

Scheme = Literal["semver", "pep440"]

# semver.org's grammar: no leading zeros in numeric parts, dot-separated identifiers.
_NUMBER = r"0|[1-9][0-9]*"
_PRE_ID = r"0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*"
_SEMVER = re.compile(
    rf"[vV]?(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)


@dataclass(frozen=True)
class Version:
    """One parsed version tag."""

    raw: str  # the git tag as written: v1.2.3-rc.1
    version: str  # without the v: 1.2.3-rc.1 (semver) or the normalised PEP 440 text
    major: int
    minor: int
    patch: int
    prerelease: bool
    # Orders versions of one scheme by precedence (build metadata is ignored).
    key: tuple[object, ...]


def parse_semver(tag: str) -> Version | None:
    """``tag`` as semver, with an optional ``v``; None when it is not one."""
    match = _SEMVER.fullmatch(tag)
    if match is None:
        return None
    major, minor, patch = (int(match[name]) for name in ("major", "minor", "patch"))
    pre = match["pre"]
    version = tag[1:] if tag[0] in "vV" else tag
    return Version(
        raw=tag,
        version=version,
        major=major,
        minor=minor,
        patch=patch,
        prerelease=pre is not None,
        key=(major, minor, patch, _pre_key(pre)),
    )


def _pre_key(pre: str | None) -> tuple[object, ...]:
    # A release ranks above its pre-releases; numeric identifiers rank below alphanumeric
    # ones and compare as numbers (semver.org, item 11).
    if pre is None:
        return (1,)
    parts: list[tuple[int, int, str]] = []
    for part in pre.split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return (0, tuple(parts))


def parse_pep440(tag: str) -> Version | None:
    """``tag`` as a PEP 440 version (``v`` allowed, as PEP 440 itself allows); else None."""
    try:
        parsed = Pep440Version(tag)
    except InvalidVersion:
        return None
    release = (*parsed.release, 0, 0)
    return Version(
        raw=tag,
        version=str(parsed),
        major=release[0],
        minor=release[1],
        patch=release[2],
        prerelease=parsed.is_prerelease,
        key=(parsed,),
    )


def parse(tag: str, scheme: Scheme) -> Version | None:
    return parse_semver(tag) if scheme == "semver" else parse_pep440(tag)


def highest(tags: Iterable[str], scheme: Scheme) -> Version | None:
    """The highest version among ``tags`` (pre-releases included); None if none parses."""
    found = [v for v in (parse(t, scheme) for t in tags) if v is not None]
    return max(found, key=_order) if found else None


def all_versions(tags: Iterable[str], scheme: Scheme) -> list[Version]:
    """Every tag of ``scheme`` among ``tags``, highest first."""
    found = [v for v in (parse(t, scheme) for t in tags) if v is not None]
    return sorted(found, key=_order, reverse=True)


def highest_stable(tags: Iterable[str], scheme: Scheme) -> Version | None:
    found = [v for v in (parse(t, scheme) for t in tags) if v is not None and not v.prerelease]
    return max(found, key=_order) if found else None


def _order(version: Version) -> tuple[object, ...]:
    # Ties (v1.2.3 and 1.2.3+build) break on the raw tag, so the choice never depends on
    # the order git listed the tags in.
    return (*version.key, version.raw)
