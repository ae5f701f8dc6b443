"""ImageSpecs → a commented bkrun.toml that loads as written.

Whatever has no bkrun equivalent is kept as a comment next to the image it belongs to, so
a reviewer sees every decision: tags from git instead of the script's fixed ones, build args
that look like credentials moved to secrets, cache flags that are not registry cache.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from buildkit_runner import refs
from buildkit_runner.config.resolve import SECRET_NAME_RE
from buildkit_runner.migrate import ImageSpec

PLACEHOLDER_HOST = "127.0.0.1:5000"
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$")


@dataclass(frozen=True)
class Header:
    project: str
    source: str  # what the specs were read from, for the first comment


def parse_registry(text: str) -> tuple[str, str]:
    """``--registry``: ``host[/namespace]``, with or without a scheme, as (host, namespace).

    ``https://ghcr.io/acme/`` → ``("ghcr.io", "acme")``; raises ValueError with the reason.
    """
    value = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", text.strip()).strip("/")
    host, _, namespace = value.partition("/")
    if not host or not refs.DOMAIN_RE.fullmatch(host) or not refs.looks_like_domain(host):
        raise ValueError(
            f"{host or text!r} is not a registry host: expected host[:port][/namespace], "
            "e.g. ghcr.io/acme or 127.0.0.1:5000"
        )
    if namespace and not refs.PATH_RE.fullmatch(namespace):
        raise ValueError(
            f"namespace {namespace!r} is not a repository path: lowercase letters, digits, "
            "and '.', '_', '-' between them, '/' between parts (e.g. ghcr.io/acme)"
        )
    return host, namespace


def needs_registry(specs: list[ImageSpec], registry: str | None) -> bool:
    """Whether some image gets the placeholder registry (no --registry, no host of its own)."""
    return registry is None and any(_place(spec, None)[0] == PLACEHOLDER_HOST for spec in specs)


def render(
    header: Header, specs: list[ImageSpec], registry: str | None, namespace: str = ""
) -> str:
    placed = [_place(spec, registry, namespace) for spec in specs]
    hosts = {host for host, _ in placed}
    names = {host: _registry_name(host) for host in sorted(hosts)}
    shared_host = next(iter(hosts)) if len(hosts) == 1 else None
    platforms = {tuple(s.platforms) for s in specs}
    shared_platforms = next(iter(platforms)) if len(platforms) == 1 else ()
    modes = {m for s in specs for m in _cache_modes(s)}

    out = [
        f"# bkrun.toml for {header.project}, written by `bkrun init` from {header.source}.",
        "# Review it, then `bkrun plan` shows the exact buildx commands it resolves to.",
        "# Every key: docs/config.md. Tags come from git (sha, branch, latest on the default",
        "# branch) unless an image lists its own.",
        "",
        "[project]",
        f"name = {_q(header.project)}",
        "",
    ]
    for host, name in names.items():
        if host == PLACEHOLDER_HOST and registry is None:
            out += [
                "# PLACEHOLDER: no --registry was given, so this is a local registry. Replace",
                '# the host with yours (e.g. host = "ghcr.io" and repository = "<org>/<image>"',
                "# below), or run bkrun init --registry ghcr.io/<org> --force again.",
            ]
        out += [f"[registries.{name}]", f"host = {_q(host)}", ""]
    out.append("[defaults]")
    if shared_host:
        out.append(f"registry = {_q(names[shared_host])}")
    if shared_platforms:
        out.append(f"platforms = {_list(shared_platforms)}")
    out.append("")
    out += ["# Registry cache: imported on every build, exported on builds that push."]
    out += ["[cache]", f"mode = {_q(modes.pop() if len(modes) == 1 else 'max')}", ""]

    for spec, (host, repository) in zip(specs, placed, strict=False):
        own = names[host] if not shared_host else None
        out += _image(spec, f"{host}/{repository}", repository, own, shared_platforms)
    return "\n".join(out).rstrip() + "\n"


def _image(
    spec: ImageSpec, full: str, repository: str, registry: str | None, shared: tuple[str, ...]
) -> list[str]:
    out = [f"[images.{spec.name}]"]
    if spec.source:
        out.append(f"# from {spec.source}")
    out += [f"# {note}" for note in spec.notes]
    out.append(f"repository = {_q(repository)}")
    if registry:
        out.append(f"registry = {_q(registry)}")
    out.append(f"context = {_q(spec.context)}")
    if spec.dockerfile and spec.dockerfile != f"{spec.context.rstrip('/')}/Dockerfile":
        out.append(f"dockerfile = {_q(spec.dockerfile)}")
    if spec.target:
        out.append(f"target = {_q(spec.target)}")
    if spec.platforms and tuple(spec.platforms) != shared:
        out.append(f"platforms = {_list(spec.platforms)}")
    out += _args(spec)
    if spec.labels:
        out.append(f"labels = {_table(spec.labels)}")
    if spec.depends_on:
        out.append(f"depends-on = {_list(spec.depends_on)}")
        out.append(
            "# bkrun passes each dependency as a named build context: write `FROM "
            f"{spec.depends_on[0]}` in the Dockerfile to build on the result just built."
        )
    out += _tags(spec)
    out += _cache(spec, full)
    out.append("")
    return out


def _args(spec: ImageSpec) -> list[str]:
    plain = {k: v for k, v in spec.build_args.items() if not SECRET_NAME_RE.search(k)}
    secret = [k for k in spec.build_args if SECRET_NAME_RE.search(k)]
    out = [f"build-args = {_table(plain)}"] if plain else []
    ids = [_secret_id(s) for s in spec.secrets]
    entries = [f"{{ id = {_q(i)} }}" for i in ids if i]
    if secret:
        out.append(f"# build args {', '.join(secret)} look like credentials: passed as secrets")
        out.append(
            "# instead; read one with RUN --mount=type=secret,id=<id> "
            'NAME="$(cat /run/secrets/<id>)" ...'
        )
        out.append(
            "# (env=<NAME> on the mount needs # syntax=docker/dockerfile:1.10, docs/migrate.md)"
        )
        entries += [f"{{ id = {_q(k.lower())}, env = {_q(k)} }}" for k in secret]
    if entries:
        out.append(f"secrets = [{', '.join(entries)}]")
    return out


def _secret_id(text: str) -> str | None:
    fields = dict(part.partition("=")[::2] for part in text.split(","))
    return fields.get("id") or None


def _tags(spec: ImageSpec) -> list[str]:
    fixed = [t for t in spec.tags if t != "latest" and "$" not in t and not refs.tag_problem(t)]
    if not spec.tags:
        return []
    out = [f"# the old build tagged: {', '.join(spec.tags)}"]
    if not fixed:
        return out
    raw = ", ".join(f'{{ type = "raw", value = {_q(t)} }}' for t in fixed)
    out.append(f'tags = ["sha", "branch", "latest", {raw}]')
    return out


def _cache(spec: ImageSpec, full: str) -> list[str]:
    out = []
    for flag in [*spec.cache_from, *spec.cache_to]:
        fields = dict(part.partition("=")[::2] for part in flag.split(","))
        if fields.get("type", "registry") != "registry" or "ref" not in fields:
            out.append(f"# cache {flag!r} is not registry cache: not translated (docs/config.md)")
    refs_used = [
        dict(part.partition("=")[::2] for part in flag.split(",")).get("ref", "")
        for flag in [*spec.cache_from, *spec.cache_to]
    ]
    ref = next((r for r in refs_used if r), "")
    if not ref:
        return out
    cache_repo, tag = ref.rsplit(":", 1) if ":" in ref.rsplit("/", 1)[-1] else (ref, "latest")
    changes = {}
    if cache_repo != full:
        changes["repository"] = cache_repo
    if tag != "buildcache":
        changes["tag"] = tag
    if changes:
        out.append(f"cache = {_table(changes)}")
    return out


def _cache_modes(spec: ImageSpec) -> list[str]:
    return [m.group(1) for flag in spec.cache_to for m in [re.search(r"mode=(min|max)", flag)] if m]


def _place(spec: ImageSpec, registry: str | None, namespace: str = "") -> tuple[str, str]:
    """(registry host, repository on it) for an image; ``namespace`` prefixes a repository
    placed on ``registry``."""
    repository = spec.repository
    first = repository.split("/", 1)[0]
    if "/" in repository and refs.looks_like_domain(first):
        return first, repository.split("/", 1)[1]
    if repository and registry is None:
        # `docker push org/app` went to Docker Hub; say so explicitly, bkrun never implies it.
        return "docker.io", repository if "/" in repository else f"library/{repository}"
    repository = repository or spec.name
    if registry and namespace and not repository.startswith(f"{namespace}/"):
        repository = f"{namespace}/{repository}"
    return registry or PLACEHOLDER_HOST, repository


def _registry_name(host: str) -> str:
    if _LOOPBACK.match(host):
        return "local"
    label = host.removeprefix("registry.").split(".", 1)[0].split(":", 1)[0]
    return re.sub(r"[^a-z0-9_-]", "-", label.lower()) or "registry"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _table(values: dict[str, str]) -> str:
    keys = [k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _q(k) for k in values]
    pairs = zip(keys, values.values(), strict=True)
    return "{ " + ", ".join(f"{k} = {_q(v)}" for k, v in pairs) + " }"
