"""What the active buildx builder can do, asked of the builder itself.

The engine's embedded BuildKit reports ``v0.0.0+unknown`` on Debian's build, so no feature is
inferred from a version number: ``docker buildx inspect`` gives the driver, the platforms the
builder can run and its worker labels, and the labels tell a containerd-backed worker (the
containerd image store, which the ``docker`` driver needs to export cache and build several
platforms) from the classic one. Used by the preflight, ``bkrun doctor`` and the cache probes.
"""

from __future__ import annotations

import platform as host_platform
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

INSPECT_TIMEOUT_S = 20
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# Go architecture names → the qemu binfmt handler that runs them.
QEMU_NAMES = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "arm": "arm",
    "386": "i386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64le": "mips64el",
    "mips64": "mips64",
}
# Architectures a host runs natively besides its own.
NATIVE_ALSO = {"amd64": ("386",), "arm64": ("arm",)}
_MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_CONTAINERD_LABEL = "org.mobyproject.buildkit.worker.containerd.namespace"


@dataclass(frozen=True)
class BuilderInfo:
    name: str = ""
    driver: str = ""
    status: str = ""
    error: str | None = None
    platforms: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        return self.error is None and self.status == "running"

    @property
    def containerd_store(self) -> bool:
        return _CONTAINERD_LABEL in self.labels

    @property
    def can_export_cache(self) -> bool:
        # Only the docker driver on the classic image store refuses: "Cache export is not
        # supported for the docker driver" (https://docs.docker.com/build/cache/backends/).
        return self.driver != "docker" or self.containerd_store

    @property
    def can_build_multi_platform(self) -> bool:
        return self.driver != "docker" or self.containerd_store

    def lists(self, wanted: str) -> bool:
        return _arch(wanted) in {_arch(p) for p in self.platforms}


def inspect(docker: str = "docker") -> BuilderInfo:
    """Run ``docker buildx inspect`` once and parse it; never raises for a down engine."""
    if shutil.which(docker) is None:
        return BuilderInfo(error=f"the {docker} command is not on PATH")
    try:
        done = subprocess.run(
            [docker, "buildx", "inspect"],
            capture_output=True,
            text=True,
            timeout=INSPECT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return BuilderInfo(error=f"docker buildx inspect did not answer in {INSPECT_TIMEOUT_S}s")
    if done.returncode != 0:
        return BuilderInfo(error=(done.stderr.strip() or done.stdout.strip())[:500])
    return parse_inspect(done.stdout)


def parse_inspect(text: str) -> BuilderInfo:
    fields: dict[str, str] = {}
    labels: dict[str, str] = {}
    in_labels = False
    for line in text.splitlines():
        if in_labels and line.startswith(" ") and ":" in line:
            key, _, value = line.strip().partition(":")
            labels[key.strip()] = value.strip()
            continue
        in_labels = line.startswith("Labels:")
        key, sep, value = line.partition(":")
        # The first Name/Status is the builder's, later ones its nodes'; the first wins.
        if sep and key.strip() and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    platforms = tuple(p.strip() for p in fields.get("Platforms", "").split(",") if p.strip())
    return BuilderInfo(
        name=fields.get("Name", ""),
        driver=fields.get("Driver", ""),
        status=fields.get("Status", ""),
        error=fields.get("Error") or None,
        platforms=platforms,
        labels=labels,
    )


def native_arch() -> str:
    machine = host_platform.machine().lower()
    return _MACHINES.get(machine, machine)


def _arch(platform: str) -> str:
    parts = platform.split("/")
    return parts[1] if len(parts) > 1 else parts[0]


def needs_emulator(platform: str, native: str | None = None) -> bool:
    native = native or native_arch()
    arch = _arch(platform)
    return arch != native and arch not in NATIVE_ALSO.get(native, ())


def binfmt_entry(platform: str, binfmt_dir: Path | None = None) -> tuple[bool, str]:
    """Whether the kernel has an enabled emulator for ``platform``, and what was seen."""
    binfmt_dir = binfmt_dir or BINFMT_DIR
    qemu = QEMU_NAMES.get(_arch(platform), _arch(platform))
    entry = binfmt_dir / f"qemu-{qemu}"
    if not (binfmt_dir / "status").exists():
        return False, f"{binfmt_dir} is not mounted"
    try:
        first = entry.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return False, f"no {entry}"
    return first == "enabled", f"{entry}: {first}"


def emulator_fix(platform: str) -> str:
    qemu = QEMU_NAMES.get(_arch(platform), _arch(platform))
    return (
        "install and register QEMU: apt-get install qemu-user-static && "
        f"/lib/systemd/systemd-binfmt /usr/lib/binfmt.d/qemu-{qemu}.conf "
        "(mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc first if it is not "
        "mounted; elsewhere: docker run --privileged --rm tonistiigi/binfmt --install "
        f"{_arch(platform)})"
    )
