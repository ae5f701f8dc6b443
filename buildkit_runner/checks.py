"""Checks of the machine a build runs on: for ``bkrun doctor`` and the build's preflight.

Each check is a fact plus, when it fails, the exact fix. The preflight runs only the cheap
ones (one ``docker buildx inspect`` and a few reads under /proc) so a build fails in a second
with the same message doctor gives, instead of ``exec format error`` ten minutes in.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildkit_runner import builder as builder_module
from buildkit_runner.builder import BuilderInfo

DOCKER_TIMEOUT_S = 20
REGISTRY_TIMEOUT_S = 5
MIN_FREE_GIB = 5.0
ENGINE_FIX = (
    "start the engine (scripts/engine.sh up here; systemctl start docker elsewhere) or point "
    "DOCKER_HOST at a running one"
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    # A warning is reported but does not fail doctor (low disk, say).
    severity: str = "error"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "severity": self.severity,
            "detail": self.detail,
            "fix": self.fix,
        }

    def problem(self) -> str:
        return f"{self.name}: {self.detail}; fix: {self.fix}"


def failed(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.ok and c.severity == "error"]


def engine_check(info: BuilderInfo) -> Check:
    if info.reachable:
        return Check("engine", True, f"builder {info.name!r} is running")
    return Check("engine", False, f"not reachable: {info.error or info.status}", ENGINE_FIX)


def cache_export_check(info: BuilderInfo) -> Check:
    if info.can_export_cache:
        how = "containerd image store" if info.driver == "docker" else f"{info.driver} driver"
        return Check("cache export", True, f"supported ({how})")
    return Check(
        "cache export",
        False,
        f"the {info.driver} driver on the classic image store cannot export registry cache",
        'enable the containerd image store: {"features": {"containerd-snapshotter": true}} in '
        "/etc/docker/daemon.json, then restart dockerd; or build with --no-cache-export",
    )


def multi_platform_check(info: BuilderInfo, platforms: Iterable[str]) -> Check | None:
    wanted = sorted(set(platforms))
    if len(wanted) < 2:
        return None
    if info.can_build_multi_platform:
        return Check("multi-platform", True, f"supported for {', '.join(wanted)}")
    return Check(
        "multi-platform",
        False,
        f"the {info.driver} driver on the classic image store builds one platform at a time",
        'enable the containerd image store: {"features": {"containerd-snapshotter": true}} in '
        "/etc/docker/daemon.json, then restart dockerd; or pass --platform with one platform",
    )


def emulator_checks(info: BuilderInfo, platforms: Iterable[str], local: bool) -> list[Check]:
    """Every requested non-native platform needs the builder to list it and, for a builder on
    this machine, an enabled binfmt entry: the builder's list is cached and still shows a
    platform whose emulator was unregistered since (the RUN then fails with exec format error).
    """
    checks = []
    for platform in sorted(set(platforms)):
        if not builder_module.needs_emulator(platform):
            continue
        name = f"emulator {platform}"
        fix = builder_module.emulator_fix(platform)
        if not info.lists(platform):
            listed = ", ".join(info.platforms) or "none"
            checks.append(Check(name, False, f"the builder does not list it ({listed})", fix))
            continue
        if local:
            enabled, seen = builder_module.binfmt_entry(platform)
            if not enabled:
                checks.append(Check(name, False, seen, fix))
                continue
        checks.append(Check(name, True, "the builder lists it and QEMU is registered"))
    return checks


def preflight(
    platforms: Iterable[str], cache_export: bool, info: BuilderInfo | None = None
) -> list[Check]:
    """The cheap checks a build needs; ``info`` from one ``docker buildx inspect`` call."""
    info = info or builder_module.inspect()
    engine = engine_check(info)
    if not engine.ok:
        return [engine]
    platforms = list(platforms)
    checks = [engine]
    if cache_export:
        checks.append(cache_export_check(info))
    multi = multi_platform_check(info, platforms)
    if multi:
        checks.append(multi)
    checks.extend(emulator_checks(info, platforms, local=info.driver == "docker"))
    return checks


def docker_json(*args: str) -> dict[str, Any] | None:
    """``docker ARGS --format {{json .}}``, parsed; None when docker cannot answer."""
    try:
        done = subprocess.run(
            ["docker", *args, "--format", "{{json .}}"],
            capture_output=True,
            text=True,
            timeout=DOCKER_TIMEOUT_S,
            check=False,
        )
        data = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return data if isinstance(data, dict) else None


def buildx_check() -> Check:
    try:
        done = subprocess.run(
            ["docker", "buildx", "version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        done = None
        detail = str(exc)
    if done is not None and done.returncode == 0:
        return Check("buildx", True, done.stdout.strip())
    if done is not None:
        detail = (done.stderr or done.stdout).strip()[:300]
    return Check(
        "buildx",
        False,
        f"not available: {detail}",
        "install the buildx plugin: apt-get install docker-buildx (Debian 13), or put the "
        "release binary at ~/.docker/cli-plugins/docker-buildx",
    )


def image_store_check(info: dict[str, Any]) -> Check:
    status = dict(tuple(pair) for pair in info.get("DriverStatus") or () if len(pair) == 2)
    if status.get("driver-type") == "io.containerd.snapshotter.v1":
        return Check("image store", True, f"containerd ({info.get('Driver')})")
    return Check(
        "image store",
        False,
        f"classic ({info.get('Driver')}): the docker driver cannot export cache or build "
        "several platforms",
        'add {"features": {"containerd-snapshotter": true}} to /etc/docker/daemon.json and '
        "restart dockerd",
    )


def disk_check(root: str, min_free_gib: float = MIN_FREE_GIB) -> Check | None:
    if not root or not Path(root).exists():
        return None  # a remote engine: its disk is not this machine's
    free = shutil.disk_usage(root).free / 2**30
    detail = f"{free:.1f} GiB free in {root}"
    if free >= min_free_gib:
        return Check("disk", True, detail)
    return Check(
        "disk",
        False,
        detail,
        "free space: docker builder prune --keep-storage 10GB && docker image prune -a",
        severity="warning",
    )


def registry_check(name: str, host: str, timeout: float = REGISTRY_TIMEOUT_S) -> Check:
    """GET /v2/: 200 or 401 means a registry answers (401 only asks for a login)."""
    errors = []
    for scheme in _schemes(host):
        try:
            with urllib.request.urlopen(f"{scheme}://{host}/v2/", timeout=timeout) as response:
                return Check(f"registry {name}", True, f"{host} answers ({response.status})")
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return Check(f"registry {name}", True, f"{host} answers (401: log in to push)")
            errors.append(f"{scheme}: HTTP {exc.code}")
        except (OSError, ValueError) as exc:
            errors.append(f"{scheme}: {getattr(exc, 'reason', exc)}")
    return Check(
        f"registry {name}",
        False,
        f"{host} does not answer ({'; '.join(errors)})",
        f"check the host and port in [registries.{name}] and that the registry is running "
        f"(curl -v https://{host}/v2/)",
    )


def _schemes(host: str) -> tuple[str, ...]:
    # dockerd talks plain HTTP to loopback registries (127.0.0.0/8 is insecure by default).
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if hostname == "localhost" or hostname.startswith("127."):
        return ("http", "https")
    return ("https",)
