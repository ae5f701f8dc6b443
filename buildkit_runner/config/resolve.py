"""Turn the file's models into one frozen :class:`Config` with every default filled in.

Precedence, lowest first: built-in defaults, ``[defaults]``, ``[images.<name>]``, the selected
``[profiles.<name>]``. Command-line options and ``BKRUN_*`` variables are applied later, by
the plan, on top of this.
"""

from __future__ import annotations

import difflib
import graphlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from buildkit_runner import cachespec, kinds, refs
from buildkit_runner.config import models, publish, rules

DEFAULT_TAGS: tuple[rules.AnyRule, ...] = (
    rules.ShaRule(type="sha"),
    rules.ShaRule(type="sha", length=40),
    rules.BranchRule(type="branch"),
    rules.LatestRule(type="latest"),
)

# Build arguments are visible in image history, plans and process lists; values whose names
# look like credentials belong in `secrets`, which BuildKit mounts without recording them.
# PAT, PASS and KEY only as the last word (GITHUB_PAT, DB_PASS, SSH_KEY), never inside one
# (KEYBOARD, PASSTHROUGH, PATH) nor for a public key.
SECRET_NAME_RE = re.compile(
    r"(^|_)(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)(_|$)"
    r"|(^|_)(PAT|PASS|(?<!PUBLIC_)KEY)$",
    re.IGNORECASE,
)

T = TypeVar("T")
TagRule = rules.AnyRule


# A FROM instruction; counted to warn when a cache mode loses intermediate stages.
FROM_RE = re.compile(r"^\s*FROM\s", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class CacheSettings:
    """One image's cache policy, every default filled; cache.py turns it into specs."""

    enabled: bool
    mode: str
    ref: str  # <repository>:<tag>, the default branch's registry cache
    ignore_error: bool
    backend: str = "registry"
    repository: str = ""
    tag: str = "buildcache"
    write: str = "auto"
    per_branch: bool = True
    kind: str = "distribution"
    dir: str = ".bkrun/cache"
    scope: str = ""
    s3: tuple[tuple[str, str], ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    stages: int = 1


@dataclass(frozen=True)
class RegistrySettings:
    name: str
    host: str
    kind: str
    username_env: str | None = None
    password_env: str | None = None
    insecure: bool = False
    ca_file: str | None = None  # absolute
    builder_configured: bool = False
    # The key path in messages, with the file: "bkrun.toml: registries.local" (config.load).
    where: str = ""


@dataclass(frozen=True)
class Image:
    name: str
    repository: str
    context: str
    dockerfile: str
    target: str | None
    description: str | None
    platforms: tuple[str, ...]
    build_args: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    tags: tuple[TagRule, ...]
    provenance: bool
    secrets: tuple[models.Secret, ...]
    depends_on: tuple[str, ...]
    cache: CacheSettings
    # Every repository the tags go to, `repository` first (docs/tags.md).
    repositories: tuple[str, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    dirty_suffix: str = "-dirty"
    metadata: publish.MetadataSettings = field(default_factory=publish.MetadataSettings)
    # The depends-on image the final stage is FROM, if any.
    base: str | None = None
    pull: bool = False
    reproducible: bool = False


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    project_name: str
    default_branch: str | None
    images: dict[str, Image]
    registries: dict[str, RegistrySettings] = field(default_factory=dict)
    gc_rules: tuple[models.GcRule, ...] = tuple(models.DEFAULT_GC_RULES)
    prune: models.Prune = field(default_factory=models.Prune)
    lock: str = "wait"
    lock_timeout: float = 3600
    profiles: tuple[str, ...] = ()
    # The profile this config was resolved with, and its run settings.
    profile: str | None = None
    run: models.Profile = field(default_factory=models.Profile)

    def registry_for(self, host: str) -> RegistrySettings:
        """The configured registry at ``host``, or one with settings inferred from it."""
        for registry in self.registries.values():
            if registry.host == host:
                return registry
        return RegistrySettings(name=host, host=host, kind=kinds.infer(host))

    @property
    def order(self) -> tuple[str, ...]:
        """Image names with every dependency before its dependents, file order otherwise."""
        sorter = graphlib.TopologicalSorter({n: self.images[n].depends_on for n in self.images})
        sorter.prepare()
        ordered: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=list(self.images).index)
            ordered.extend(ready)
            sorter.done(*ready)
        return tuple(ordered)


def resolve(
    file: models.ConfigFile, path: Path, profile: str | None = None
) -> tuple[Config | None, list[str]]:
    """Resolve ``file`` (with ``profile``); return the config and the problems found."""
    problems: list[str] = []
    root = path.parent
    images: dict[str, Image] = {}
    chosen = _profile(file, profile, problems)

    registries = {
        name: _resolve_registry(name, registry, root, problems)
        for name, registry in file.registries.items()
    }
    for name, image in file.images.items():
        images[name] = _resolve_image(name, image, file, root, problems, chosen)
    _check_dependencies(file, problems)
    # A problem in [defaults] or [cache] is found once per image; report it once.
    problems = list(dict.fromkeys(problems))

    config = Config(
        path=path,
        root=root,
        project_name=file.project.name or root.name,
        default_branch=file.project.default_branch,
        images=images,
        registries=registries,
        gc_rules=tuple(file.gc.rules),
        prune=file.prune,
        lock=file.project.lock,
        lock_timeout=file.project.lock_timeout,
        profiles=tuple(file.profiles),
        profile=profile if chosen is not None else None,
        run=chosen or models.Profile(),
    )
    return (None if problems else config), problems


def _profile(
    file: models.ConfigFile, name: str | None, problems: list[str]
) -> models.Profile | None:
    if name is None:
        return None
    if name in file.profiles:
        return file.profiles[name]
    close = difflib.get_close_matches(name, list(file.profiles), n=1)
    known = ", ".join(sorted(file.profiles)) or "none are defined"
    hint = f"did you mean {close[0]!r}?" if close else f"profiles: {known}"
    problems.append(f"--profile {name!r}: no [profiles.{name}] table; {hint}")
    return None


def _resolve_image(
    name: str,
    image: models.Image,
    file: models.ConfigFile,
    root: Path,
    problems: list[str],
    profile: models.Profile | None = None,
) -> Image:
    where = f"images.{name}"
    defaults = file.defaults
    chosen = profile or models.Profile()

    registry_name = image.registry or defaults.registry
    registry_where = f"{where}.registry" if image.registry else "defaults.registry"
    repository = _repository(where, image.repository, registry_name, registry_where, file, problems)
    context, dockerfile = _paths(where, image, root, problems)

    build_args = {**(defaults.build_args or {}), **(image.build_args or {})}
    for key in build_args:
        if SECRET_NAME_RE.search(key):
            source = where if key in (image.build_args or {}) else "defaults"
            problems.append(
                f"{source}.build-args.{key}: looks like a credential; build args are recorded "
                f'in the image and in plans. Use secrets = [{{ id = "{key.lower()}", '
                f'env = "{key}" }}] and RUN --mount=type=secret instead'
            )
    labels = {**(defaults.labels or {}), **(image.labels or {})}
    annotations = {**(defaults.annotations or {}), **(image.annotations or {})}
    repositories = [repository]
    for index, extra in enumerate(image.repositories):
        at = f"{where}.repositories[{index}]"
        found: list[str] = []
        repositories.append(_repository(at, extra, registry_name, registry_where, file, found))
        problems.extend(p.replace(f"{at}.repository:", f"{at}:") for p in found)

    return Image(
        name=name,
        repository=repository,
        context=context,
        dockerfile=dockerfile,
        target=image.target,
        description=image.description,
        platforms=tuple(_first(chosen.platforms, image.platforms, defaults.platforms, [])),
        build_args=tuple(build_args.items()),
        labels=tuple(labels.items()),
        tags=tuple(_first(chosen.tags, image.tags, defaults.tags, DEFAULT_TAGS)),
        provenance=_first(image.provenance, defaults.provenance, False),
        secrets=_secrets(where, image, defaults, root, problems),
        depends_on=tuple(image.depends_on),
        cache=_cache(where, repository, image, file, root / dockerfile, problems),
        repositories=tuple(dict.fromkeys(repositories)),
        annotations=tuple(annotations.items()),
        dirty_suffix=_first(image.dirty_suffix, defaults.dirty_suffix, "-dirty"),
        metadata=publish.metadata(image, defaults),
        base=publish.base(root / dockerfile, tuple(image.depends_on)),
        pull=_first(chosen.pull, image.pull, defaults.pull, False),
        reproducible=_first(chosen.reproducible, image.reproducible, defaults.reproducible, False),
    )


def _secrets(
    where: str, image: models.Image, defaults: models.Shared, root: Path, problems: list[str]
) -> tuple[models.Secret, ...]:
    """The image's secrets, each ``src`` made absolute (relative paths name files next to
    the config file, wherever bkrun runs) and checked to exist."""
    own = image.secrets is not None
    found: list[models.Secret] = []
    for index, secret in enumerate(_first(image.secrets, defaults.secrets, [])):
        if secret.src is None:
            found.append(secret)
            continue
        path = (root / Path(secret.src).expanduser()).resolve()
        if not path.is_file():
            at = f"{where if own else 'defaults'}.secrets[{index}].src"
            what = "is a directory" if path.is_dir() else "does not exist"
            problems.append(
                f"{at}: secret {secret.id!r}: file {secret.src!r} {what} (relative paths are "
                "relative to the directory holding the config file); create it, or use "
                f'env = "<VARIABLE>" instead of src'
            )
        found.append(secret.model_copy(update={"src": str(path)}))
    return tuple(found)


def _first(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last value is always a default")


def _repository(
    where: str,
    text: str,
    registry_name: str | None,
    registry_where: str,
    file: models.ConfigFile,
    problems: list[str],
) -> str:
    """The full repository (host/path) for ``text``, never an implicit Docker Hub one.

    ``registry_where`` is the key path that set ``registry_name`` (the image's or defaults').
    """
    first = text.split("/", 1)[0]
    has_host = "/" in text and refs.looks_like_domain(first)

    if not has_host:
        if registry_name is None:
            problems.append(
                f"{where}.repository: {text!r} names no registry host and no registry is "
                "set; bkrun never sends images to Docker Hub implicitly. Set registry = "
                '"<name>" with a [registries.<name>] table, or write the host, e.g. '
                f'"127.0.0.1:5000/{text}" or "docker.io/{text}"'
            )
            return text
        registry = file.registries.get(registry_name)
        if registry is None:
            known = ", ".join(sorted(file.registries)) or "none are defined"
            problems.append(
                f"{registry_where}: unknown registry {registry_name!r} (known: {known}); "
                f"add a [registries.{registry_name}] table with a host"
            )
            return text
        text = f"{registry.host}/{text}"

    try:
        reference = refs.parse_reference(text)
    except ValueError as exc:
        problems.append(f"{where}.repository: {exc}")
        return text
    if reference.tag or reference.digest:
        problems.append(
            f"{where}.repository: {text!r} carries a tag or digest; give the repository "
            "alone and set tags with the tags key"
        )
    return reference.repository


def _paths(where: str, image: models.Image, root: Path, problems: list[str]) -> tuple[str, str]:
    context = image.context
    if not (root / context).is_dir():
        problems.append(
            f"{where}.context: directory {context!r} does not exist "
            f"(paths are relative to the directory holding the config file)"
        )
    dockerfile = image.dockerfile or str(Path(context) / "Dockerfile")
    if (root / context).is_dir() and not (root / dockerfile).is_file():
        key = "dockerfile" if image.dockerfile else "context"
        problems.append(
            f'{where}.{key}: no Dockerfile at {dockerfile!r}; set dockerfile = "<path>" '
            "relative to the directory holding the config file"
        )
    return Path(context).as_posix(), Path(dockerfile).as_posix()


def _cache(
    where: str,
    repository: str,
    image: models.Image,
    file: models.ConfigFile,
    dockerfile: Path,
    problems: list[str],
) -> CacheSettings:
    merged: dict[str, Any] = file.cache.model_dump()
    override = image.cache
    if override is not None:
        merged.update(override.model_dump(exclude_none=True))

    def key_where(key: str) -> str:
        # The key path of the table that set ``key``: the image's own, else the project's.
        overridden = override is not None and getattr(override, key) is not None
        return f"{where}.cache.{models.kebab(key)}" if overridden else f"cache.{models.kebab(key)}"

    cache_repository = repository
    if merged["repository"]:
        registry_name = image.registry or file.defaults.registry
        registry_where = f"{where}.registry" if image.registry else "defaults.registry"
        cache_repository = _repository(
            key_where("repository").rsplit(".", 1)[0],
            merged["repository"],
            registry_name,
            registry_where,
            file,
            problems,
        )
    _check_cache(merged, key_where, problems)

    host = cache_repository.split("/", 1)[0]
    kind = next((_kind(r) for r in file.registries.values() if r.host == host), kinds.infer(host))
    s3 = merged["s3"] or {}
    return CacheSettings(
        enabled=merged["enabled"],
        mode=merged["mode"],
        ref=f"{cache_repository}:{merged['tag']}",
        ignore_error=merged["ignore_error"],
        backend=merged["backend"],
        repository=cache_repository,
        tag=merged["tag"],
        write=merged["write"],
        per_branch=merged["per_branch"],
        kind=kind,
        dir=merged["dir"],
        scope=merged["scope"] or image_scope(where),
        s3=tuple(
            (k, str(v).lower() if isinstance(v, bool) else v)
            for k, v in s3.items()
            if v is not None
        ),
        cache_from=tuple(merged["cache_from"]),
        cache_to=tuple(merged["cache_to"]),
        stages=_stages(dockerfile),
    )


def image_scope(where: str) -> str:
    return where.removeprefix("images.")


def _kind(registry: models.Registry) -> str:
    return registry.kind or kinds.infer(registry.host)


def _check_cache(merged: dict[str, Any], key_where: Any, problems: list[str]) -> None:
    if merged["backend"] == "inline" and merged["mode"] == "max":
        problems.append(
            f"{key_where('backend')}: inline cache holds mode=min only (it lives in the image, "
            'which has no intermediate stages), but mode is "max" (the default); set '
            'mode = "min", or keep mode=max with backend = "registry"'
        )
    if merged["backend"] == "s3" and not merged["s3"]:
        problems.append(
            f'{key_where("backend")}: backend "s3" needs an s3 table with bucket and region, '
            'e.g. s3 = { bucket = "ci-cache", region = "eu-west-1" }'
        )
    for key, direction in (("cache_from", "cache-from"), ("cache_to", "cache-to")):
        for index, text in enumerate(merged[key]):
            for problem in cachespec.problems(text, direction):
                problems.append(f"{key_where(key)}[{index}]: {problem}")


def _stages(dockerfile: Path) -> int:
    try:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 1
    return max(1, len(FROM_RE.findall(text)))


def _resolve_registry(
    name: str, registry: models.Registry, root: Path, problems: list[str]
) -> RegistrySettings:
    where = f"registries.{name}"
    if (registry.username_env is None) != (registry.password_env is None):
        problems.append(
            f"{where}: set both username-env and password-env (the names of the variables "
            "holding them), or neither to use the docker config and its credential helpers"
        )
    ca_file = None
    if registry.ca_file:
        path = (root / registry.ca_file).resolve()
        if not path.is_file():
            problems.append(
                f"{where}.ca-file: no file at {registry.ca_file!r} (relative to the "
                "directory holding the config file); give the PEM file of the registry's CA"
            )
        ca_file = str(path)
    if registry.insecure and registry.ca_file:
        problems.append(
            f"{where}: insecure (plain HTTP) and ca-file (TLS) exclude each other; keep one"
        )
    return RegistrySettings(
        name=name,
        host=registry.host,
        kind=_kind(registry),
        username_env=registry.username_env,
        password_env=registry.password_env,
        insecure=registry.insecure,
        ca_file=ca_file,
        builder_configured=registry.builder_configured,
    )


def _check_dependencies(file: models.ConfigFile, problems: list[str]) -> None:
    before = len(problems)
    for name, image in file.images.items():
        for index, dependency in enumerate(image.depends_on):
            where = f"images.{name}.depends-on[{index}]"
            if dependency == name:
                problems.append(f"{where}: an image cannot depend on itself")
            elif dependency not in file.images:
                known = ", ".join(sorted(file.images))
                problems.append(f"{where}: unknown image {dependency!r} (images: {known})")
    if len(problems) > before:
        # The cycle check needs a graph of known images; problems elsewhere do not stop it.
        return

    graph = {name: image.depends_on for name, image in file.images.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(reversed(exc.args[1]))
        problems.append(
            f'images: depends-on forms a cycle: {cycle} (read -> as "depends on"); '
            "remove one of these dependencies"
        )
