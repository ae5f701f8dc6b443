"""Turn the file's models into one frozen :class:`Config` with every default filled in.

Precedence, lowest first: built-in defaults, ``[defaults]``, ``[images.<name>]``. Command-line
options and ``BKRUN_*`` variables are applied later, by the plan, on top of this.
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from buildkit_runner import refs
from buildkit_runner.config import models

DEFAULT_TAGS: tuple[
    models.ShaRule | models.BranchRule | models.LatestRule | models.RawRule, ...
] = (
    models.ShaRule(type="sha"),
    models.ShaRule(type="sha", length=40),
    models.BranchRule(type="branch"),
    models.LatestRule(type="latest"),
)

# Build arguments are visible in image history, plans and process lists; values whose names
# look like credentials belong in `secrets`, which BuildKit mounts without recording them.
SECRET_NAME_RE = re.compile(
    r"(^|_)(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)(_|$)",
    re.IGNORECASE,
)

T = TypeVar("T")
TagRule = models.ShaRule | models.BranchRule | models.LatestRule | models.RawRule


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool
    mode: str
    ref: str
    ignore_error: bool


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


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    project_name: str
    default_branch: str | None
    images: dict[str, Image]

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


def resolve(file: models.ConfigFile, path: Path) -> tuple[Config | None, list[str]]:
    """Resolve ``file``; return the config and the list of problems (key path: message)."""
    problems: list[str] = []
    root = path.parent
    images: dict[str, Image] = {}

    for name, image in file.images.items():
        images[name] = _resolve_image(name, image, file, root, problems)
    _check_dependencies(file, problems)

    config = Config(
        path=path,
        root=root,
        project_name=file.project.name or root.name,
        default_branch=file.project.default_branch,
        images=images,
    )
    return (None if problems else config), problems


def _resolve_image(
    name: str, image: models.Image, file: models.ConfigFile, root: Path, problems: list[str]
) -> Image:
    where = f"images.{name}"
    defaults = file.defaults

    registry_name = image.registry or defaults.registry
    repository = _repository(where, image.repository, registry_name, file, problems)
    context, dockerfile = _paths(where, image, root, problems)

    build_args = {**(defaults.build_args or {}), **(image.build_args or {})}
    for key in build_args:
        if SECRET_NAME_RE.search(key):
            problems.append(
                f"{where}.build-args.{key}: looks like a credential; build args are recorded "
                f'in the image and in plans. Use secrets = [{{ id = "{key.lower()}", '
                f'env = "{key}" }}] and RUN --mount=type=secret instead'
            )
    labels = {**(defaults.labels or {}), **(image.labels or {})}

    return Image(
        name=name,
        repository=repository,
        context=context,
        dockerfile=dockerfile,
        target=image.target,
        description=image.description,
        platforms=tuple(_first(image.platforms, defaults.platforms, [])),
        build_args=tuple(build_args.items()),
        labels=tuple(labels.items()),
        tags=tuple(_first(image.tags, defaults.tags, DEFAULT_TAGS)),
        provenance=_first(image.provenance, defaults.provenance, False),
        secrets=tuple(_first(image.secrets, defaults.secrets, [])),
        depends_on=tuple(image.depends_on),
        cache=_cache(where, repository, file.cache, image.cache, registry_name, file, problems),
    )


def _first(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last value is always a default")


def _repository(
    where: str,
    text: str,
    registry_name: str | None,
    file: models.ConfigFile,
    problems: list[str],
) -> str:
    """The full repository (host/path) for ``text``, never an implicit Docker Hub one."""
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
                f"{where}.registry: unknown registry {registry_name!r} (known: {known}); "
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
    project: models.Cache,
    override: models.CacheOverride | None,
    registry_name: str | None,
    file: models.ConfigFile,
    problems: list[str],
) -> CacheSettings:
    merged = project.model_dump()
    if override is not None:
        merged.update(override.model_dump(exclude_none=True))

    cache_repository = repository
    if merged["repository"]:
        cache_where = f"{where}.cache" if override and override.repository else "cache"
        cache_repository = _repository(
            f"{cache_where}", merged["repository"], registry_name, file, problems
        )
    return CacheSettings(
        enabled=merged["enabled"],
        mode=merged["mode"],
        ref=f"{cache_repository}:{merged['tag']}",
        ignore_error=merged["ignore_error"],
    )


def _check_dependencies(file: models.ConfigFile, problems: list[str]) -> None:
    for name, image in file.images.items():
        for index, dependency in enumerate(image.depends_on):
            where = f"images.{name}.depends-on[{index}]"
            if dependency == name:
                problems.append(f"{where}: an image cannot depend on itself")
            elif dependency not in file.images:
                known = ", ".join(sorted(file.images))
                problems.append(f"{where}: unknown image {dependency!r} (images: {known})")
    if problems:
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
