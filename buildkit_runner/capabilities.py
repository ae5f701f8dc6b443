"""Docker calls of the cache and registry features: capability probes, login, prune.

The engine's BuildKit may report ``v0.0.0+unknown`` (Debian's build does), so support is
never read from a version string: dockerd's registry settings come from ``docker info`` and
image-manifest cache support from a tiny probe build. Like the runner, this module reaches
docker through python-on-whales.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildkit_runner.errors import EngineUnavailable, RegistryError


@dataclass(frozen=True)
class DaemonRegistries:
    """dockerd's registry settings, which its embedded BuildKit (docker driver) uses."""

    insecure_cidrs: tuple[str, ...] = ()
    insecure_hosts: tuple[str, ...] = ()


def _docker(*args: str) -> str:
    from python_on_whales import DockerClient
    from python_on_whales.exceptions import DockerException
    from python_on_whales.utils import run

    command = [*DockerClient().client_config.docker_cmd, *args]
    try:
        output = str(run(command))
    except DockerException as exc:
        raise EngineUnavailable(
            f"docker {' '.join(args[:2])} failed: {exc.stderr or exc}"
        ) from None
    except FileNotFoundError:
        raise EngineUnavailable("the docker command is not on PATH") from None
    return output or ""


def daemon_registries() -> DaemonRegistries:
    text = _docker("info", "--format", "{{json .RegistryConfig}}")
    try:
        config: dict[str, Any] = json.loads(text or "{}") or {}
    except ValueError:
        return DaemonRegistries()
    indexes = config.get("IndexConfigs") or {}
    return DaemonRegistries(
        insecure_cidrs=tuple(config.get("InsecureRegistryCIDRs") or ()),
        insecure_hosts=tuple(n for n, i in indexes.items() if not i.get("Secure", True)),
    )


def supports_image_manifest() -> bool | None:
    """Export a one-file build's cache with image-manifest=true and look at what came out.

    A BuildKit that knows the attribute writes an OCI image manifest; an older one ignores
    it without a word and writes an index, so only the result tells.
    """
    with tempfile.TemporaryDirectory(prefix="bkrun-probe-") as tmp:
        context = Path(tmp)
        (context / "probe").write_text("bkrun image-manifest probe\n", encoding="utf-8")
        (context / "Dockerfile").write_text("FROM scratch\nCOPY probe /probe\n", encoding="utf-8")
        out = context / "cache"
        spec = f"type=local,dest={out},mode=min,image-manifest=true,oci-mediatypes=true"
        _docker("buildx", "build", "--progress=quiet", "--cache-to", spec, str(context))
        try:
            index = json.loads((out / "index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    found = {m.get("mediaType") for m in index.get("manifests", ())}
    return "application/vnd.oci.image.manifest.v1+json" in found


def supports_rewrite_timestamp() -> bool:
    """Build an empty image with rewrite-timestamp=true and see whether the exporter takes it.

    The docker driver's image exporter always unpacks into the engine's store, and BuildKit
    refuses rewrite-timestamp with unpack (moby/buildkit#4230): only a real build tells,
    since the embedded BuildKit reports no usable version.
    """
    with tempfile.TemporaryDirectory(prefix="bkrun-probe-") as tmp:
        (Path(tmp) / "Dockerfile").write_text("FROM scratch\nLABEL bkrun=probe\n", "utf-8")
        output = "type=image,name=bkrun.invalid/probe:rewrite,push=false,rewrite-timestamp=true"
        try:
            _docker("buildx", "build", "--progress=quiet", "--output", output, tmp)
        except EngineUnavailable:
            return False
    return True


def login(host: str, username: str, password: str) -> None:
    """``docker login`` with the password on stdin (python-on-whales: --password-stdin)."""
    from python_on_whales import docker
    from python_on_whales.exceptions import DockerException

    try:
        docker.login(server=host, username=username, password=password)
    except DockerException as exc:
        # The exception's text holds argv only; the password went to stdin.
        raise RegistryError(f"docker login {host} failed (exit {exc.return_code})") from None


def prune_args(keep_storage: str, until: str | None) -> list[str]:
    """The docker arguments of ``bkrun prune --yes`` (shown as they are by the dry run)."""
    args = ["buildx", "prune", "--force", "--keep-storage", keep_storage]
    if until:
        args += ["--filter", f"until={until}"]
    return args


def prune(keep_storage: str, until: str | None) -> str:
    """``docker buildx prune`` down to ``keep_storage``; returns buildx's report."""
    return _docker(*prune_args(keep_storage, until))


def disk_usage() -> dict[str, str]:
    """The totals of ``docker buildx du`` (Shared, Private, Reclaimable, Total)."""
    totals = {}
    for line in _docker("buildx", "du").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("Shared", "Private", "Reclaimable", "Total"):
            totals[name.strip()] = value.strip()
    return totals
