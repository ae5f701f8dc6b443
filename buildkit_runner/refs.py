"""Image reference, tag and platform grammars.

The reference grammar follows the OCI distribution reference (distribution/reference's
regexp.go): ``[domain[:port]/]path[:tag][@digest]`` with lowercase path components, tags of
at most 128 characters and names of at most 255.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
TAG_PATTERN = r"[\w][\w.-]{0,127}"
DIGEST_PATTERN = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
DOMAIN_RE = re.compile(_DOMAIN)
# ASCII: the grammar's \w is Go's [0-9A-Za-z_]; Python's str \w would also take 'é' or '١'.
TAG_RE = re.compile(TAG_PATTERN, re.ASCII)
DIGEST_RE = re.compile(DIGEST_PATTERN)

MAX_NAME_LENGTH = 255
MAX_TAG_LENGTH = 128


@dataclass(frozen=True)
class Reference:
    """A parsed image reference."""

    domain: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """``domain/path`` (or ``path`` alone when there is no domain)."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def looks_like_domain(component: str) -> bool:
    """Whether the first path component names a registry host (docker's own rule)."""
    return "." in component or ":" in component or component == "localhost"


def parse_reference(text: str) -> Reference:
    """Parse ``text``; raise ValueError with a human explanation when it is not valid."""
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not DIGEST_RE.fullmatch(digest):
            raise ValueError(f"invalid digest {digest!r} (expected e.g. sha256:<64 hex digits>)")

    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not TAG_RE.fullmatch(tag):
            raise ValueError(f"invalid tag {tag!r}: {tag_problem(tag)}")

    domain = None
    first, _, remainder = rest.partition("/")
    if remainder and looks_like_domain(first):
        if not DOMAIN_RE.fullmatch(first):
            raise ValueError(f"invalid registry host {first!r}")
        domain, rest = first, remainder

    if not rest:
        raise ValueError("the repository path is empty")
    if rest != rest.lower() and PATH_RE.fullmatch(rest.lower()):
        raise ValueError(f"repository path {rest!r} must be lowercase ({rest.lower()!r})")
    if not PATH_RE.fullmatch(rest):
        raise ValueError(
            f"invalid repository path {rest!r} (lowercase letters, digits and separators "
            "'.', '_', '__', '-' between them, components joined by '/')"
        )
    name_length = len(rest) + (len(domain) + 1 if domain else 0)
    if name_length > MAX_NAME_LENGTH:
        raise ValueError(f"repository name is {name_length} characters (at most 255)")
    return Reference(domain=domain, path=rest, tag=tag, digest=digest)


def tag_problem(tag: str) -> str:
    """Explain why ``tag`` is not a valid tag (empty string when it is)."""
    if not tag:
        return "a tag cannot be empty"
    if len(tag) > MAX_TAG_LENGTH:
        return f"a tag has at most {MAX_TAG_LENGTH} characters, this one has {len(tag)}"
    if tag[0] in ".-":
        return "a tag cannot start with '.' or '-'"
    if not TAG_RE.fullmatch(tag):
        return "a tag may only contain letters, digits, '_', '.' and '-'"
    return ""


# Platforms BuildKit knows how to target; an unknown one is nearly always a typo.
KNOWN_OS = ("linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "wasip1")
KNOWN_ARCH = (
    "amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64",
    "mips64le", "mips64", "mipsle", "mips", "loong64", "wasm",
)  # fmt: skip
ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm"}
COMMON_PLATFORMS = (
    "linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386",
    "linux/ppc64le", "linux/s390x", "linux/riscv64",
)  # fmt: skip


def platform_problem(text: str) -> str:
    """Explain why ``text`` is not a platform (empty string when it is)."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        return "expected os/arch or os/arch/variant, e.g. linux/amd64"
    os_name, arch = parts[0], parts[1]
    if os_name not in KNOWN_OS:
        return f"unknown os {os_name!r} (expected one of {', '.join(KNOWN_OS)})"
    if arch in ARCH_ALIASES:
        return (
            f"write {ARCH_ALIASES[arch]!r} instead of {arch!r}, e.g. {os_name}/{ARCH_ALIASES[arch]}"
        )
    if arch not in KNOWN_ARCH:
        return f"unknown architecture {arch!r} (e.g. linux/amd64, linux/arm64, linux/arm/v7)"
    if len(parts) == 3 and not re.fullmatch(r"v[0-9]+", parts[2]):
        return f"unknown variant {parts[2]!r} (e.g. v7 in linux/arm/v7)"
    return ""
