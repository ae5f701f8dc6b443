"""Registries against the real engine: login, TLS + htpasswd, trust checks, gc, no leaks."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cachehelpers import change_source, free_port, small_project, throwaway_registry

AUTH_HOST = "127.0.0.1:5443"
AUTH_CA = Path("/etc/docker/certs.d/127.0.0.1:5443/ca.crt")
PASSWORD = os.environ.get("BKRUN_TEST_REGISTRY_PASSWORD", "bkrun-test-password")
AUTH_TABLE = f"""
[registries.auth]
host = "{AUTH_HOST}"
username-env = "E2E_REGISTRY_USER"
password-env = "E2E_REGISTRY_PASSWORD"
"""


def _auth_project(tmp_path: Path):  # type: ignore[no-untyped-def]
    project = small_project(tmp_path, registries=AUTH_TABLE, host=AUTH_HOST)
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    env = {
        "DOCKER_CONFIG": str(docker_config),
        "E2E_REGISTRY_USER": "bkrun",
        "E2E_REGISTRY_PASSWORD": PASSWORD,
    }
    return project, docker_config, env


def test_login_then_push_to_tls_htpasswd_registry(engine: None, tmp_path: Path) -> None:
    project, docker_config, env = _auth_project(tmp_path)

    login = project.bkrun("login", env=env)
    plan = project.bkrun("-v", "plan", "--push", "--json", env=env)
    build = project.bkrun("-v", "build", "--push", env=env)

    assert login.code == 0, login.output
    assert f"logged in to {AUTH_HOST} as bkrun" in login.stdout
    stored = json.loads((docker_config / "config.json").read_text(encoding="utf-8"))
    assert AUTH_HOST in stored["auths"]
    assert build.code == 0, build.output[-3000:]
    # The write probe authenticated (basic auth) and found the cache writable.
    assert "event=cache_write_probe" in plan.stderr and "HTTP 202" in plan.stderr
    for run in (login, plan, build):
        assert PASSWORD not in run.output
    user_pass = base64.b64encode(f"bkrun:{PASSWORD}".encode()).decode()
    assert user_pass not in plan.output + build.output

    curl = subprocess.run(
        [
            "curl",
            "-sf",
            "--cacert",
            str(AUTH_CA),
            "-u",
            f"bkrun:{PASSWORD}",
            f"https://{AUTH_HOST}/v2/{project.namespace}/app/tags/list",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert {"main", "buildcache"} <= set(json.loads(curl.stdout)["tags"])


def test_push_without_login_is_a_push_failure(engine: None, tmp_path: Path) -> None:
    project, _, env = _auth_project(tmp_path)
    # No credentials anywhere: the probe finds the cache not writable, the push fails.
    env = {"DOCKER_CONFIG": env["DOCKER_CONFIG"]}
    toml = (project.path / "bkrun.toml").read_text(encoding="utf-8")
    toml = toml.replace('username-env = "E2E_REGISTRY_USER"\n', "")
    toml = toml.replace('password-env = "E2E_REGISTRY_PASSWORD"\n', "")
    (project.path / "bkrun.toml").write_text(toml, encoding="utf-8")

    plan = project.bkrun("plan", "--push", env=env)
    build = project.bkrun("build", "--push", env=env)

    assert "cannot write to" in plan.stdout and "HTTP 401" in plan.stdout
    assert build.code == 5, build.output[-3000:]


def test_wrong_password_canary_never_printed(engine: None, tmp_path: Path) -> None:
    project, _, env = _auth_project(tmp_path)
    canary = "canary-Zq8v1-not-the-password"
    env["E2E_REGISTRY_PASSWORD"] = canary

    login = project.bkrun("-v", "--log-format", "json", "login", env=env)
    plan = project.bkrun("-v", "plan", "--push", "--json", env=env)

    assert login.code == 7, login.output
    for run in (login, plan):
        assert canary not in run.output


def test_insecure_registry_dockerd_does_not_allow_stops_before_building(
    engine: None, tmp_path: Path
) -> None:
    # Loopback is insecure for dockerd automatically; the docker0 address is not.
    address = f"172.17.0.1:{free_port()}"
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    table = f'[registries.lan]\nhost = "{address}"\ninsecure = true\n'
    with throwaway_registry(registry_dir, address):
        project = small_project(tmp_path, registries=table, host=address)
        plan = project.bkrun("plan", "--push")
        build = project.bkrun("build", "--push")

    assert plan.code == 2, plan.output
    assert f'{{"insecure-registries": ["{address}"]}}' in plan.stderr
    assert "/etc/docker/daemon.json" in plan.stderr
    assert build.code == 2 and "exporting" not in build.stderr


def test_private_ca_must_be_where_dockerd_reads_it(engine: None, tmp_path: Path) -> None:
    project, _, env = _auth_project(tmp_path)
    shutil.copy(AUTH_CA, project.path / "registry-ca.crt")
    other = project.path / "other-ca.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
            "-keyout",
            str(tmp_path / "k.pem"),
            "-out",
            str(other),
        ],
        capture_output=True,
        check=True,
    )
    toml = project.path / "bkrun.toml"
    base = toml.read_text(encoding="utf-8")

    toml.write_text(
        base.replace(AUTH_TABLE.strip(), AUTH_TABLE.strip() + '\nca-file = "registry-ca.crt"')
    )
    trusted = project.bkrun("plan", "--push", env=env)
    toml.write_text(
        base.replace(AUTH_TABLE.strip(), AUTH_TABLE.strip() + '\nca-file = "other-ca.crt"')
    )
    untrusted = project.bkrun("plan", "--push", env=env)

    assert trusted.code == 0, trusted.output
    assert untrusted.code == 2, untrusted.output
    assert f"/etc/docker/certs.d/{AUTH_HOST}/ca.crt" in untrusted.stderr


@pytest.mark.parametrize("dry_run", [True, False])
def test_gc_deletes_stale_branch_caches_but_never_plan_refs(
    engine: None, tmp_path: Path, dry_run: bool
) -> None:
    address = f"127.0.0.1:{free_port()}"
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    gc = (
        '\n[gc]\nrules = [{ pattern = "buildcache-*", keep = 0 }, '
        '{ pattern = "sha-*", keep = 1 }]\n'
    )
    with throwaway_registry(registry_dir, address):
        project = small_project(tmp_path, host=address)
        with (project.path / "bkrun.toml").open("a", encoding="utf-8") as file:
            file.write(gc)
        project.git("commit", "-q", "-am", "gc rules")
        for branch in ("feature-a", "feature-b"):
            project.git("checkout", "-q", "-b", branch)
            change_source(project, f"{branch}\n")
            built = project.bkrun("build", "--push")
            assert built.code == 0, built.output[-3000:]
        sha_b = project.git("rev-parse", "HEAD")
        repository = f"{project.namespace}/app"
        before = _tags(address, repository)

        listing = project.bkrun("gc")
        deleting = None if dry_run else project.bkrun("gc", "--yes")
        after = _tags(address, repository)

    assert listing.code == 0, listing.output
    ref = f"{address}/{repository}"
    assert f"would delete  {ref}:buildcache-feature-a" in listing.stdout
    assert f"keep          {ref}:buildcache-feature-b  (referenced by the current plan)" in (
        listing.stdout
    )
    assert {"buildcache-feature-a", "buildcache-feature-b", f"sha-{sha_b[:7]}"} <= before
    if dry_run:
        assert after == before
        return
    assert deleting is not None and deleting.code == 0, deleting.output
    assert "buildcache-feature-a" not in after
    # The current plan's cache ref and its sha tags survive.
    assert {"buildcache-feature-b", f"sha-{sha_b[:7]}", f"sha-{sha_b}"} <= after


def _tags(address: str, repository: str) -> set[str]:
    import urllib.request

    with urllib.request.urlopen(f"http://{address}/v2/{repository}/tags/list") as response:
        return set(json.loads(response.read()).get("tags") or ())
