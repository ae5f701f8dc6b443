"""The probe step ``bkrun plan`` and ``bkrun build`` both run before planning.

It asks the builder and the registries what the plan needs to know and returns it as
:class:`~buildkit_runner.cache.Facts`, an input of the pure plan: so ``bkrun plan`` shows the
``--cache-to`` that ``bkrun build`` will run, or its absence and why. It also stops before
any build when an insecure or private-CA registry is not configured for the active builder.
``--offline`` skips it all. Only what the plan will use is asked: a build that writes no
cache and uses no special registry makes no call at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path

from buildkit_runner import cache, kinds, log
from buildkit_runner.config import Config, Image
from buildkit_runner.config.resolve import RegistrySettings
from buildkit_runner.errors import ConfigError
from buildkit_runner.git import GitContext

CERTS_D = Path("/etc/docker/certs.d")


def gather(
    config: Config,
    git: GitContext,
    names: tuple[str, ...],
    push: bool,
    export: bool | None,
    env: Mapping[str, str],
) -> cache.Facts:
    """Probe what the plan of ``names`` needs; raise ConfigError for an untrusted registry."""
    from buildkit_runner import builder, capabilities

    images = [config.images[name] for name in names]
    exporting = [i for i in images if cache.plan_for(i, git, push, export, cache.Facts()).cache_to]
    special = _special_registries(config, images)
    needs_s3 = any(i.cache.backend == "s3" for i in images)
    reproducible = push and any(i.reproducible for i in images)
    if not exporting and not special and not needs_s3 and not reproducible:
        return cache.Facts(probed=True)

    info = builder.inspect()
    if special:
        check_trust(
            special,
            info.driver,
            capabilities.daemon_registries if info.driver == "docker" else None,
        )
    if needs_s3 and info.driver == "docker":
        raise ConfigError(
            [
                'cache.backend: "s3" is not supported by the docker driver of builder '
                f"{info.name!r} (BuildKit in dockerd has no s3 cache); create a builder with "
                "docker buildx create --driver docker-container --use, or use the registry backend"
            ]
        )

    image_manifest = None
    if any(_wants_image_manifest(i) for i in exporting):
        image_manifest = capabilities.supports_image_manifest()
    repositories = dict.fromkeys(
        i.cache.repository for i in exporting if i.cache.backend == "registry"
    )
    writes = _write_probes(config, list(repositories), env)
    rewrite = capabilities.supports_rewrite_timestamp() if reproducible else None
    return cache.Facts(
        probed=True,
        writes=tuple(writes),
        driver=info.driver,
        cache_export=info.can_export_cache if info.reachable else None,
        image_manifest=image_manifest,
        rewrite_timestamp=rewrite,
        builder=info,
    )


def _wants_image_manifest(image: Image) -> bool:
    return image.cache.backend == "registry" and kinds.needs_image_manifest(image.cache.kind)


def _write_probes(
    config: Config, repositories: list[str], env: Mapping[str, str]
) -> list[cache.WriteProbe]:
    """Probe every cache repository, concurrently, with one client (and TLS set-up) per host.

    Sequential probes with a client each cost about 35 ms per image on loopback: 3.5 s of a
    100-image plan, most of it building an SSL context per client.
    """
    from concurrent.futures import ThreadPoolExecutor

    from buildkit_runner import registry

    hosts = dict.fromkeys(repository.split("/", 1)[0] for repository in repositories)
    clients = {host: registry.client_for(config.registry_for(host), env) for host in hosts}
    try:
        with ThreadPoolExecutor(max_workers=_PROBE_WORKERS) as pool:
            found = list(pool.map(lambda r: clients[r.split("/", 1)[0]].can_write(r), repositories))
    finally:
        for client in clients.values():
            client.close()

    logger = log.get()
    for probe in found:
        if probe.writable:
            logger.debug("cache_write_probe", repository=probe.repository, detail=probe.detail)
        else:
            event = "cache_write_probe" if probe.writable is not None else "cache_write_unknown"
            logger.info(
                event, repository=probe.repository, writable=probe.writable, detail=probe.detail
            )
    return found


_PROBE_WORKERS = 8


def _special_registries(config: Config, images: list[Image]) -> list[RegistrySettings]:
    """Configured insecure or private-CA registries that these images push or cache to."""
    hosts = {i.repository.split("/", 1)[0] for i in images}
    hosts |= {i.cache.repository.split("/", 1)[0] for i in images if i.cache.repository}
    return [r for r in config.registries.values() if r.host in hosts and (r.insecure or r.ca_file)]


def check_trust(registries: list[RegistrySettings], driver: str | None, daemon: object) -> None:
    """Raise ConfigError saying exactly what to configure for each registry the builder
    would refuse: plain HTTP it does not allow, or a CA it does not know."""
    problems = []
    for reg in registries:
        where = f"registries.{reg.name}"
        if driver != "docker":
            if not reg.builder_configured:
                problems.append(_buildkitd_problem(where, reg, driver))
            continue
        if reg.insecure and not _daemon_insecure(reg.host, daemon):
            problems.append(
                f"{where}: {reg.host} is plain HTTP, but dockerd (whose BuildKit the docker "
                "driver uses) does not allow it; add it to /etc/docker/daemon.json as "
                f'{{"insecure-registries": ["{reg.host}"]}} and restart dockerd'
            )
        if reg.ca_file and not _ca_installed(reg.host, reg.ca_file):
            problems.append(
                f"{where}.ca-file: dockerd (whose BuildKit the docker driver uses) does not "
                f"trust this CA for {reg.host}; copy it: install -D {reg.ca_file} "
                f"{CERTS_D / reg.host / 'ca.crt'} (read at each connection, no restart)"
            )
    if problems:
        raise ConfigError(problems)


def _daemon_insecure(host: str, daemon: object) -> bool:
    facts = daemon() if callable(daemon) else None
    if facts is None:
        return False
    if host in facts.insecure_hosts:
        return True
    name = host.rsplit(":", 1)[0]
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in facts.insecure_cidrs)


def _ca_installed(host: str, ca_file: str) -> bool:
    installed = CERTS_D / host / "ca.crt"
    try:
        return installed.read_bytes().strip() == Path(ca_file).read_bytes().strip()
    except OSError:
        return False


def _buildkitd_problem(where: str, reg: RegistrySettings, driver: str | None) -> str:
    if reg.insecure:
        body = "http = true\n  insecure = true"
    else:
        body = f'ca = ["/etc/buildkit/certs/{reg.host}/ca.crt"]'
    return (
        f"{where}: the {driver} driver's BuildKit reads registry settings from its own "
        f'buildkitd.toml, which bkrun cannot inspect. Put [registry."{reg.host}"]\n  {body}\n'
        "into it, create the builder with docker buildx create --config buildkitd.toml"
        + ("" if reg.insecure else f" (copy {reg.ca_file} to that ca path)")
        + ", then set builder-configured = true in this table"
    )
