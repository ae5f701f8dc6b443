"""Translate the ``build:`` sections of a compose file (PyYAML, a runtime dependency).

A service's ``image:`` names the repository and tag; ``build.additional_contexts`` entries
of the form ``service:<name>`` become ``depends-on``. Compose's own ``depends_on`` orders
containers at run time, not builds, and is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from buildkit_runner.errors import UsageError
from buildkit_runner.migrate import ImageSpec, image_name, split_reference


def parse(path: Path) -> list[ImageSpec]:
    import yaml  # only init reads YAML

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        raise UsageError(f"{path}: no services: section; is it a compose file?")

    taken: set[str] = set()
    images = []
    by_service: dict[str, str] = {}
    for service, body in services.items():
        if isinstance(body, dict) and body.get("build") is not None:
            spec = _service(str(service), body, path.name, taken)
            by_service[str(service)] = spec.name
            images.append(spec)
    for spec in images:
        spec.depends_on = [by_service.get(name, name) for name in spec.depends_on]
    return images


def _service(service: str, body: dict[str, Any], where: str, taken: set[str]) -> ImageSpec:
    build = body["build"]
    if isinstance(build, str):
        build = {"context": build}
    repository, tag = split_reference(str(body.get("image", "")))
    contexts = build.get("additional_contexts") or {}
    if isinstance(contexts, list):
        contexts = dict(str(item).split("=", 1) for item in contexts if "=" in str(item))
    return ImageSpec(
        name=image_name(service, taken),
        repository=repository,
        context=str(build.get("context", ".")),
        dockerfile=_dockerfile(build),
        target=build.get("target"),
        platforms=[str(p) for p in build.get("platforms") or ()],
        build_args=_mapping(build.get("args")),
        labels=_mapping(build.get("labels")),
        tags=_tags(tag, build.get("tags")),
        cache_from=[str(c) for c in build.get("cache_from") or ()],
        cache_to=[str(c) for c in build.get("cache_to") or ()],
        depends_on=[
            str(v).split(":", 1)[1] for v in contexts.values() if str(v).startswith("service:")
        ],
        source=f"{where}: services.{service}",
    )


def _tags(tag: str | None, more: Any) -> list[str]:
    extra = [split_reference(str(x))[1] for x in more or ()]
    return [t for t in [tag, *extra] if t]


def _dockerfile(build: dict[str, Any]) -> str | None:
    dockerfile = build.get("dockerfile")
    if not dockerfile:
        return None
    # Compose reads the Dockerfile relative to the context, bkrun relative to the project.
    return str(Path(str(build.get("context", "."))) / str(dockerfile))


def _mapping(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(i).partition("=")[0]: str(i).partition("=")[2] for i in value}
    return {}
