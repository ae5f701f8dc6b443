"""versions: semver parsing and precedence, PEP 440 through packaging."""

from __future__ import annotations

import random

import pytest

from buildkit_runner.versions import highest, highest_stable, parse_pep440, parse_semver


@pytest.mark.parametrize(
    ("tag", "version", "parts", "pre"),
    [
        ("v1.2.3", "1.2.3", (1, 2, 3), False),
        ("1.2.3", "1.2.3", (1, 2, 3), False),
        ("V10.20.30", "10.20.30", (10, 20, 30), False),
        ("v2.0.0-rc.1", "2.0.0-rc.1", (2, 0, 0), True),
        ("v1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5", (1, 2, 3), True),
        ("v1.2.3+build", "1.2.3+build", (1, 2, 3), False),
        ("0.0.0", "0.0.0", (0, 0, 0), False),
        ("1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", None, (1, 0, 0), True),
        ("1.0.0-0A.is.legal", "1.0.0-0A.is.legal", (1, 0, 0), True),
        ("1.0.0--", "1.0.0--", (1, 0, 0), True),
    ],
)
def test_valid_semver(
    tag: str, version: str | None, parts: tuple[int, int, int], pre: bool
) -> None:
    parsed = parse_semver(tag)
    assert parsed is not None
    assert parsed.version == (version or tag)
    assert (parsed.major, parsed.minor, parsed.patch) == parts
    assert parsed.prerelease is pre
    assert parsed.raw == tag


@pytest.mark.parametrize(
    "tag",
    [
        "v1.2",
        "1",
        "v1.2.3.4",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3-01",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-rc..1",
        "1.2.3+build..1",
        "vv1.2.3",
        "release-1.2.3",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3\n",
        "1.2.3-ü",
        "latest",
        "",
        "v",
        "1.2.3-rc.1+b+c",
    ],
)
def test_not_semver(tag: str) -> None:
    assert parse_semver(tag) is None


def test_semver_precedence_follows_the_spec() -> None:
    # semver.org item 11's example, in order.
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0-rc.1",
        "2.0.0",
        "10.0.0",
    ]
    for seed in range(20):
        shuffled = ordered[:]
        random.Random(seed).shuffle(shuffled)
        keys = sorted(shuffled, key=lambda t: parse_semver(t).key)  # type: ignore[union-attr]
        assert keys == ordered


def test_highest_and_highest_stable() -> None:
    tags = ["v1.9.0", "v1.10.0", "v2.0.0-rc.1", "nightly", "v1.10.0+meta", "docs"]
    top = highest(tags, "semver")
    assert top is not None and top.raw == "v2.0.0-rc.1"
    stable = highest_stable(tags, "semver")
    assert stable is not None and stable.version in ("1.10.0", "1.10.0+meta")
    assert highest(["nightly", "v1.2"], "semver") is None
    assert highest_stable(["v2.0.0-rc.1"], "semver") is None


def test_highest_does_not_depend_on_order() -> None:
    tags = ["v1.2.3+b", "v1.2.3", "1.2.3", "v1.2.3+a"]
    results = set()
    for seed in range(20):
        shuffled = tags[:]
        random.Random(seed).shuffle(shuffled)
        found = highest(shuffled, "semver")
        assert found is not None
        results.add(found.raw)
    assert len(results) == 1


@pytest.mark.parametrize(
    ("tag", "version", "parts", "pre"),
    [
        ("1.2.3", "1.2.3", (1, 2, 3), False),
        ("v1.2.3", "1.2.3", (1, 2, 3), False),
        ("1.2.3rc1", "1.2.3rc1", (1, 2, 3), True),
        ("1.2.3.dev4", "1.2.3.dev4", (1, 2, 3), True),
        ("1.2.3.post1", "1.2.3.post1", (1, 2, 3), False),
        ("2024.1", "2024.1", (2024, 1, 0), False),
        ("1!2.0", "1!2.0", (2, 0, 0), False),
        ("1.2.3+local.7", "1.2.3+local.7", (1, 2, 3), False),
        ("1.2.3-RC1", "1.2.3rc1", (1, 2, 3), True),
    ],
)
def test_pep440(tag: str, version: str, parts: tuple[int, int, int], pre: bool) -> None:
    parsed = parse_pep440(tag)
    assert parsed is not None
    assert (parsed.version, (parsed.major, parsed.minor, parsed.patch)) == (version, parts)
    assert parsed.prerelease is pre


def test_not_pep440() -> None:
    for tag in ("latest", "release-1", "1.2.3-rc.1.x", ""):
        assert parse_pep440(tag) is None
    top = highest(["1.2.3rc1", "1.2.2", "1.2.3"], "pep440")
    assert top is not None and top.raw == "1.2.3"
