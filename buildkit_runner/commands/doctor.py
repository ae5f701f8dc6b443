"""``bkrun doctor``: can this machine build the project? Each problem comes with its fix."""

from __future__ import annotations

import json
import sys
from typing import Any

from buildkit_runner import builder, checks, validation
from buildkit_runner import config as config_module
from buildkit_runner.checks import Check
from buildkit_runner.commands.common import GlobalOptions
from buildkit_runner.errors import ConfigError, NotReady

DOCTOR_FORMAT_VERSION = 1


def run(options: GlobalOptions, as_json: bool) -> int:
    found = gather(options)
    if as_json:
        json.dump(document(found), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render(found))
    return NotReady.exit_code if checks.failed(found) else 0


def document(found: list[Check]) -> dict[str, Any]:
    return {
        "version": DOCTOR_FORMAT_VERSION,
        "ok": not checks.failed(found),
        "checks": [check.to_json() for check in found],
    }


def render(found: list[Check]) -> str:
    lines = []
    for check in found:
        mark = "ok" if check.ok else ("warn" if check.severity == "warning" else "FAIL")
        lines.append(f"{mark:<4}  {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"      fix: {check.fix}")
    problems = checks.failed(found)
    lines.append("")
    lines.append(f"{len(problems)} problem(s) found" if problems else "ready: no problems found")
    return "\n".join(lines)


def gather(options: GlobalOptions) -> list[Check]:
    """Every check, in the order a person would fix them: engine first, registries last."""
    found: list[Check] = []
    cfg, config_check = _config(options)
    found.append(config_check)

    info = builder.inspect()
    engine = checks.engine_check(info)
    found.append(engine)
    found.append(checks.buildx_check())
    if not engine.ok:
        return found

    docker_info = checks.docker_json("info") or {}
    found.append(_builder_check(info))
    if info.driver == "docker" and docker_info:
        found.append(checks.image_store_check(docker_info))
    found.append(checks.cache_export_check(info))
    if cfg:
        found.append(_backend_check(cfg, info))

    platforms = sorted({p for image in cfg.images.values() for p in image.platforms}) if cfg else []
    multi = checks.multi_platform_check(info, platforms)
    if multi:
        found.append(multi)
    found.extend(checks.emulator_checks(info, platforms, local=info.driver == "docker"))
    if cfg:
        for name, host in _registries(cfg).items():
            found.append(checks.registry_check(name, host))
    disk = checks.disk_check(str(docker_info.get("DockerRootDir", "")))
    if disk:
        found.append(disk)
    return found


def _config(options: GlobalOptions) -> tuple[config_module.Config | None, Check]:
    try:
        cfg = config_module.load(options.config)
    except ConfigError as exc:
        if options.config is None and "no bkrun.toml" in exc.problems[0]:
            detail = "no bkrun.toml here; platform and registry checks skipped"
            return None, Check("config", True, detail, severity="warning")
        return None, Check(
            "config", False, "; ".join(exc.problems), "bkrun validate lists every problem"
        )
    count = len(cfg.images)
    return cfg, Check("config", True, f"{cfg.path} ({count} image{'s' if count != 1 else ''})")


def _backend_check(cfg: config_module.Config, info: builder.BuilderInfo) -> Check:
    """Can the active builder use every cache backend the config names?"""
    backends = sorted({i.cache.backend for i in cfg.images.values() if i.cache.enabled})
    problems = validation.backend_problems(cfg, info)
    if not problems:
        return Check("cache backend", True, f"{', '.join(backends) or 'none'}: usable")
    detail, _, fix = problems[0].partition("; ")
    return Check("cache backend", False, detail.split(": ", 1)[-1], fix)


def _builder_check(info: builder.BuilderInfo) -> Check:
    store = ", containerd image store" if info.containerd_store else ""
    platforms = ", ".join(info.platforms) or "none listed"
    detail = f"{info.name!r}: driver {info.driver}{store}; platforms {platforms}"
    return Check("builder", True, detail)


def _registries(cfg: config_module.Config) -> dict[str, str]:
    """Configured registries, plus hosts images name directly (ghcr.io/org/app)."""
    hosts = {name: registry.host for name, registry in cfg.registries.items()}
    known = set(hosts.values())
    for image in cfg.images.values():
        first = image.repository.split("/", 1)[0]
        if "/" in image.repository and ("." in first or ":" in first) and first not in known:
            hosts[first] = first
            known.add(first)
    return hosts
