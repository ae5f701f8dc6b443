"""refs: the OCI distribution reference grammar, tag and platform checks."""

from __future__ import annotations

import pytest

from buildkit_runner import refs
from buildkit_runner.refs import Reference, parse_reference, platform_problem, tag_problem

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app", Reference(None, "app")),
        ("library/app", Reference(None, "library/app")),
        ("app:1.0", Reference(None, "app", tag="1.0")),
        ("ghcr.io/org/app", Reference("ghcr.io", "org/app")),
        ("ghcr.io/org/team/app:v1", Reference("ghcr.io", "org/team/app", tag="v1")),
        ("localhost/app", Reference("localhost", "app")),
        ("localhost:5000/app", Reference("localhost:5000", "app")),
        ("127.0.0.1:5000/example/app", Reference("127.0.0.1:5000", "example/app")),
        ("registry-1.docker.io/a/b", Reference("registry-1.docker.io", "a/b")),
        ("Registry.Example.COM/app", Reference("Registry.Example.COM", "app")),
        ("[::1]:5000/app", Reference("[::1]:5000", "app")),
        ("[2001:db8::1]/app:tag", Reference("[2001:db8::1]", "app", tag="tag")),
        ("localhost:5000/app:5000", Reference("localhost:5000", "app", tag="5000")),
        ("a.b/c__d/e-f/g.h_i", Reference("a.b", "c__d/e-f/g.h_i")),
        ("a/b---c", Reference(None, "a/b---c")),
        ("app@" + DIGEST, Reference(None, "app", digest=DIGEST)),
        ("h.io/app:v1@" + DIGEST, Reference("h.io", "app", tag="v1", digest=DIGEST)),
        ("app:_under", Reference(None, "app", tag="_under")),
        ("app:" + "t" * 128, Reference(None, "app", tag="t" * 128)),
    ],
)
def test_valid_references_parse_into_their_parts(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected
    assert str(parse_reference(text)) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the repository path is empty"),
        ("ghcr.io/", "invalid repository path 'ghcr.io/'"),
        ("Example/App", "repository path 'Example/App' must be lowercase ('example/app')"),
        ("ghcr.io/Org/app", "repository path 'Org/app' must be lowercase ('org/app')"),
        ("-app", "invalid repository path '-app'"),
        ("app-", "invalid repository path 'app-'"),
        ("a//b", "invalid repository path 'a//b'"),
        ("a/b/", "invalid repository path 'a/b/'"),
        ("a..b", "invalid repository path 'a..b'"),
        ("a___b", "invalid repository path 'a___b'"),
        ("a b", "invalid repository path 'a b'"),
        ("-bad.io/app", "invalid registry host '-bad.io'"),
        ("bad-.io/app", "invalid registry host 'bad-.io'"),
        ("host.io:port/app", "invalid registry host 'host.io:port'"),
        ("[::g]:5000/app", "invalid registry host '[::g]:5000'"),
        ("h_st.io/app", "invalid registry host 'h_st.io'"),
        ("app:", "invalid tag '': a tag cannot be empty"),
        ("app:-x", "invalid tag '-x': a tag cannot start with '.' or '-'"),
        ("app:.x", "invalid tag '.x': a tag cannot start with '.' or '-'"),
        ("app:a+b", "invalid tag 'a+b': a tag may only contain"),
        ("app:" + "t" * 129, "a tag has at most 128 characters, this one has 129"),
        ("app@sha256:abc", "invalid digest 'sha256:abc'"),
        ("app@" + "a" * 64, "invalid digest"),
        ("app@sha256:" + "g" * 64, "invalid digest"),
        ("h.io/" + "a" * 251, "repository name is 256 characters (at most 255)"),
    ],
)
def test_invalid_references_are_explained(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_reference(text)
    assert message in str(caught.value)


def test_name_of_exactly_255_characters_is_accepted() -> None:
    assert parse_reference("h.io/" + "a" * 250).path == "a" * 250


@pytest.mark.parametrize(
    ("component", "is_domain"),
    [
        ("ghcr.io", True),
        ("localhost", True),
        ("myhost:5000", True),
        ("[::1]", True),
        ("library", False),
        ("local-host", False),
    ],
)
def test_first_component_is_a_host_by_dockers_rule(component: str, is_domain: bool) -> None:
    assert refs.looks_like_domain(component) is is_domain


@pytest.mark.parametrize("tag", ["v1", "1.0.0", "latest", "_x", "A-B.c_d", "9" * 128])
def test_valid_tags_have_no_problem(tag: str) -> None:
    assert tag_problem(tag) == ""


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("", "a tag cannot be empty"),
        ("x" * 129, "a tag has at most 128 characters, this one has 129"),
        (".hidden", "a tag cannot start with '.' or '-'"),
        ("-rc1", "a tag cannot start with '.' or '-'"),
        ("a/b", "a tag may only contain letters, digits, '_', '.' and '-'"),
        ("a b", "a tag may only contain letters, digits, '_', '.' and '-'"),
        # The grammar's \w is ASCII (Go regexp): letters beyond it are not allowed.
        ("café", "a tag may only contain letters, digits, '_', '.' and '-'"),
        ("ünicode", "a tag may only contain letters, digits, '_', '.' and '-'"),
        ("v١", "a tag may only contain letters, digits, '_', '.' and '-'"),
    ],
)
def test_invalid_tags_are_explained(tag: str, problem: str) -> None:
    assert tag_problem(tag) == problem


def test_unicode_tag_is_rejected_in_a_reference() -> None:
    with pytest.raises(ValueError, match="invalid tag 'café'"):
        parse_reference("h.io/app:café")


@pytest.mark.parametrize(
    "platform",
    [
        "linux/amd64",
        "linux/arm64",
        "linux/arm/v7",
        "linux/arm/v6",
        "linux/arm64/v8",
        "linux/386",
        "linux/ppc64le",
        "linux/s390x",
        "linux/riscv64",
        "windows/amd64",
        "darwin/arm64",
        "wasip1/wasm",
        *refs.COMMON_PLATFORMS,
    ],
)
def test_known_platforms_have_no_problem(platform: str) -> None:
    assert platform_problem(platform) == ""


@pytest.mark.parametrize(
    ("platform", "problem"),
    [
        (
            "linux/amd65",
            "unknown architecture 'amd65' (e.g. linux/amd64, linux/arm64, linux/arm/v7)",
        ),
        ("linux/x86_64", "write 'amd64' instead of 'x86_64', e.g. linux/amd64"),
        ("linux/x86-64", "write 'amd64' instead of 'x86-64', e.g. linux/amd64"),
        ("linux/aarch64", "write 'arm64' instead of 'aarch64', e.g. linux/arm64"),
        ("linux/armhf", "write 'arm' instead of 'armhf', e.g. linux/arm"),
        ("amd64", "expected os/arch or os/arch/variant, e.g. linux/amd64"),
        ("linux/", "expected os/arch or os/arch/variant, e.g. linux/amd64"),
        ("/amd64", "expected os/arch or os/arch/variant, e.g. linux/amd64"),
        ("linux/arm/v7/x", "expected os/arch or os/arch/variant, e.g. linux/amd64"),
        ("", "expected os/arch or os/arch/variant, e.g. linux/amd64"),
        (
            "Linux/amd64",
            "unknown os 'Linux' (expected one of linux, windows, darwin, "
            "freebsd, netbsd, openbsd, wasip1)",
        ),
        ("linux/arm/7", "unknown variant '7' (e.g. v7 in linux/arm/v7)"),
        ("linux/arm/v", "unknown variant 'v' (e.g. v7 in linux/arm/v7)"),
    ],
)
def test_platform_problems_name_the_fix(platform: str, problem: str) -> None:
    assert platform_problem(platform) == problem
