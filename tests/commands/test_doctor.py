"""bkrun doctor and the build preflight: facts from the builder, each problem with its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildkit_runner import builder, checks
from buildkit_runner.builder import BuilderInfo
from tests.conftest import Invoke
from tests.fakes import FakeDocker

DOCKER_CLASSIC = """\
Name:          default
Driver:        docker
Last Activity: 2024-01-02 03:04:05 +0000 UTC

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.0.0+unknown
Platforms:        linux/amd64, linux/amd64/v2, linux/386
Labels:
 org.mobyproject.buildkit.worker.moby.host-gateway-ip: 172.17.0.1
"""
CONTAINERD_LABEL = " org.mobyproject.buildkit.worker.containerd.namespace: moby\n"


def test_parse_inspect_of_the_docker_driver() -> None:
    classic = builder.parse_inspect(DOCKER_CLASSIC)
    containerd = builder.parse_inspect(DOCKER_CLASSIC + CONTAINERD_LABEL)

    assert (classic.name, classic.driver, classic.status) == ("default", "docker", "running")
    assert classic.reachable and not classic.can_export_cache
    assert not classic.can_build_multi_platform
    assert containerd.can_export_cache and containerd.can_build_multi_platform
    assert classic.lists("linux/amd64") and not classic.lists("linux/arm64")


def test_a_down_engine_is_an_error_line_not_an_exit_code() -> None:
    text = "Name: default\nDriver:\nError: Cannot connect to the Docker daemon at unix:///x\n"
    info = builder.parse_inspect(text)

    check = checks.engine_check(info)
    assert not check.ok and "Cannot connect" in check.detail
    assert check.fix and "DOCKER_HOST" in check.fix


def test_preflight_names_the_missing_emulator_and_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binfmt = tmp_path / "binfmt_misc"
    binfmt.mkdir()
    (binfmt / "status").write_text("enabled\n")
    (binfmt / "qemu-aarch64").write_text("disabled\ninterpreter /usr/bin/qemu-aarch64\n")
    monkeypatch.setattr(builder, "BINFMT_DIR", binfmt)
    monkeypatch.setattr(builder, "native_arch", lambda: "amd64")
    info = builder.parse_inspect(
        DOCKER_CLASSIC.replace("linux/386", "linux/arm64, linux/s390x") + CONTAINERD_LABEL
    )

    found = checks.preflight(["linux/amd64", "linux/arm64", "linux/riscv64"], True, info)

    problems = {c.name: c for c in checks.failed(found)}
    assert set(problems) == {"emulator linux/arm64", "emulator linux/riscv64"}
    assert "qemu-aarch64: disabled" in problems["emulator linux/arm64"].detail
    assert "does not list it" in problems["emulator linux/riscv64"].detail
    assert "qemu-user-static" in (problems["emulator linux/arm64"].fix or "")


def test_preflight_refuses_cache_export_on_the_classic_store() -> None:
    info = builder.parse_inspect(DOCKER_CLASSIC)

    found = checks.preflight(["linux/amd64"], cache_export=True, info=info)

    (problem,) = checks.failed(found)
    assert problem.name == "cache export"
    assert "containerd-snapshotter" in (problem.fix or "")
    assert not checks.failed(checks.preflight(["linux/amd64"], cache_export=False, info=info))


def test_native_and_compatible_platforms_need_no_emulator() -> None:
    assert not builder.needs_emulator("linux/amd64", "amd64")
    assert not builder.needs_emulator("linux/386", "amd64")
    assert builder.needs_emulator("linux/arm64", "amd64")
    assert not builder.needs_emulator("linux/arm/v7", "arm64")


def test_registry_check_counts_401_as_reachable() -> None:
    info = BuilderInfo(error="x")
    assert not checks.engine_check(info).ok
    bad = checks.registry_check("nowhere", "127.0.0.1:9", timeout=1)
    assert (
        not bad.ok and "does not answer" in bad.detail and "[registries.nowhere]" in (bad.fix or "")
    )


def test_doctor_json_with_the_fake_docker(
    project: Path, cli: Invoke, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        checks, "registry_check", lambda n, h: checks.Check(f"registry {n}", True, h)
    )

    result = cli("doctor", "--json")

    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["version"] == 1 and data["ok"] is True
    names = [c["name"] for c in data["checks"]]
    assert names[:3] == ["config", "engine", "buildx"]
    assert "registry local" in names and "multi-platform" in names


def test_doctor_reports_a_down_engine_with_exit_6(
    project: Path, cli: Invoke, fake_docker: FakeDocker
) -> None:
    fake_docker.script("inspect", 1, "ERROR: Cannot connect to the Docker daemon")

    result = cli("doctor")

    assert result.exit_code == 6
    assert "FAIL  engine: not reachable" in result.stdout
    assert "      fix: start the engine" in result.stdout


def test_build_preflight_fails_fast_with_the_same_message(
    project: Path, cli: Invoke, fake_docker: FakeDocker
) -> None:
    # The fake builder lists amd64, arm64 and arm/v7: riscv64 has no emulator.
    result = cli("build", "--platform", "linux/riscv64")

    assert result.exit_code == 6
    assert "preflight problem(s); nothing was built" in result.stderr
    assert "emulator linux/riscv64: the builder does not list it" in result.stderr
    assert "qemu-user-static" in result.stderr
    assert not fake_docker.calls()
    assert cli("build", "--platform", "linux/riscv64", "--no-preflight").exit_code == 0
