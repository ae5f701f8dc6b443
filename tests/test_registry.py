"""registry: auth challenges, write probes, tags, ages, credentials; probe: trust checks."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from buildkit_runner import probe, registry
from buildkit_runner.capabilities import DaemonRegistries
from buildkit_runner.config.resolve import RegistrySettings
from buildkit_runner.errors import ConfigError

CANARY = "canary-p4ssw0rd-never-shown"
REG = RegistrySettings(name="r", host="reg.example", kind="distribution")


def client(handler: Any, creds: registry.Credentials | None = None) -> registry.Client:
    made = registry.Client(REG, creds)
    made._http = httpx.Client(transport=httpx.MockTransport(handler))
    return made


def creds() -> registry.Credentials:
    return registry.Credentials("user", registry.SecretStr(CANARY), "test")


def test_basic_challenge_is_answered_with_credentials() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"www-authenticate": 'Basic realm="r"'})
        return httpx.Response(202, headers={"location": "/v2/a/b/blobs/uploads/1"})

    probe_result = client(handler, creds()).can_write("reg.example/a/b")

    assert probe_result.writable is True
    expected = "Basic " + base64.b64encode(f"user:{CANARY}".encode()).decode()
    assert seen == [None, expected, expected]  # POST, retried POST, DELETE of the upload


def test_bearer_challenge_fetches_a_token_for_the_scope() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            assert request.url.params["scope"] == "repository:a/b:pull"
            assert request.url.params["service"] == "reg"
            return httpx.Response(200, json={"token": "tok-123456"})
        if request.headers.get("authorization") != "Bearer tok-123456":
            challenge = 'Bearer realm="https://auth.example/token",service="reg"'
            return httpx.Response(401, headers={"www-authenticate": challenge})
        return httpx.Response(200, json={"tags": ["x", "y"]})

    assert client(handler).tags("reg.example/a/b") == ["x", "y"]


@pytest.mark.parametrize(
    ("status", "writable", "detail"),
    [
        (401, False, "HTTP 401: these credentials cannot push"),
        (403, False, "HTTP 403: these credentials cannot push"),
        (405, False, "HTTP 405: the registry is read-only"),
        (500, None, "HTTP 500 to a blob upload"),
    ],
)
def test_write_probe_outcomes(status: int, writable: bool | None, detail: str) -> None:
    result = client(lambda _r: httpx.Response(status)).can_write("reg.example/a/b")
    assert (result.writable, result.detail) == (writable, detail)


def test_unreachable_registry_is_unknown_not_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result = client(handler).can_write("reg.example/a/b")
    assert result.writable is None and "unreachable" in result.detail


def test_tags_follow_link_pagination() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("last") == "b":
            return httpx.Response(200, json={"tags": ["c"]})
        link = '</v2/a/b/tags/list?n=2&last=b>; rel="next"'
        return httpx.Response(200, json={"tags": ["a", "b"]}, headers={"link": link})

    assert client(handler).tags("reg.example/a/b") == ["a", "b", "c"]


def test_age_of_a_cache_index_is_its_newest_layer() -> None:
    body = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "x",
                "annotations": {"buildkit/createdat": "2026-01-02T03:04:05.123456789Z"},
            },
            {"mediaType": "x", "annotations": {"buildkit/createdat": "2025-01-01T00:00:00Z"}},
            {"mediaType": registry.CACHE_CONFIG_TYPE},
        ],
    }
    created = registry.created_from(body, None, None)
    assert created == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)


def test_age_of_an_image_index_is_its_first_platform_config() -> None:
    index = {
        "manifests": [
            {"digest": "att", "platform": {"os": "unknown", "architecture": "unknown"}},
            {"digest": "amd", "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    }
    manifests = {"amd": {"config": {"digest": "cfg", "mediaType": "application/json"}}}
    blobs = {"cfg": {"created": "2026-03-04T05:06:07Z"}}
    created = registry.created_from(index, manifests.__getitem__, blobs.__getitem__)
    assert created == datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def test_credentials_from_named_variables_are_secret() -> None:
    reg = RegistrySettings("r", "reg.example", "distribution", "U", "P")
    found = registry.credentials(reg, {"U": "me", "P": CANARY})
    assert found is not None and found.username == "me"
    assert CANARY not in repr(found) and CANARY not in str(found)


def test_missing_credential_variable_names_it() -> None:
    reg = RegistrySettings("r", "reg.example", "distribution", "U", "P")
    with pytest.raises(ConfigError) as error:
        registry.credentials(reg, {"U": "me"})
    assert error.value.problems == (
        "registries.r: variable(s) P not set; export them (a CI secret) or remove "
        "username-env/password-env",
    )


def test_credentials_from_docker_config(tmp_path: Path) -> None:
    auth = base64.b64encode(f"me:{CANARY}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"reg.example": {"auth": auth}}}))
    found = registry.docker_config_credentials("reg.example", {"DOCKER_CONFIG": str(tmp_path)})
    assert found is not None and found.username == "me"
    assert found.password.get_secret_value() == CANARY
    assert registry.docker_config_credentials("other", {"DOCKER_CONFIG": str(tmp_path)}) is None


def test_loopback_detection() -> None:
    assert registry.is_loopback("127.0.0.1:5000")
    assert registry.is_loopback("localhost:5000")
    assert not registry.is_loopback("172.17.0.1:5000")
    assert not registry.is_loopback("ghcr.io")


def _daemon(cidrs: tuple[str, ...] = ("127.0.0.0/8",), hosts: tuple[str, ...] = ()) -> Any:
    return lambda: DaemonRegistries(cidrs, hosts)


def test_insecure_loopback_is_allowed_by_dockerd() -> None:
    reg = RegistrySettings("lan", "127.0.0.1:5000", "distribution", insecure=True)
    probe.check_trust([reg], "docker", _daemon())


def test_insecure_host_dockerd_does_not_allow() -> None:
    reg = RegistrySettings("lan", "10.0.0.5:5000", "distribution", insecure=True)
    with pytest.raises(ConfigError) as error:
        probe.check_trust([reg], "docker", _daemon())
    assert error.value.problems == (
        "registries.lan: 10.0.0.5:5000 is plain HTTP, but dockerd (whose BuildKit the docker "
        "driver uses) does not allow it; add it to /etc/docker/daemon.json as "
        '{"insecure-registries": ["10.0.0.5:5000"]} and restart dockerd',
    )
    probe.check_trust([reg], "docker", _daemon(hosts=("10.0.0.5:5000",)))


def test_container_builder_gets_a_buildkitd_snippet() -> None:
    reg = RegistrySettings("lan", "10.0.0.5:5000", "distribution", insecure=True)
    with pytest.raises(ConfigError) as error:
        probe.check_trust([reg], "docker-container", None)
    [problem] = error.value.problems
    assert '[registry."10.0.0.5:5000"]\n  http = true\n  insecure = true' in problem
    assert "builder-configured = true" in problem
    done = RegistrySettings(
        "lan", "10.0.0.5:5000", "distribution", insecure=True, builder_configured=True
    )
    probe.check_trust([done], "docker-container", None)


def test_private_ca_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "CERTS_D", tmp_path / "certs.d")
    ca = tmp_path / "ca.crt"
    ca.write_text("PEM")
    reg = RegistrySettings("corp", "reg.corp:443", "harbor", ca_file=str(ca))
    with pytest.raises(ConfigError) as error:
        probe.check_trust([reg], "docker", _daemon())
    assert f"install -D {ca} {tmp_path}/certs.d/reg.corp:443/ca.crt" in error.value.problems[0]
    (tmp_path / "certs.d" / "reg.corp:443").mkdir(parents=True)
    (tmp_path / "certs.d" / "reg.corp:443" / "ca.crt").write_text("PEM\n")
    probe.check_trust([reg], "docker", _daemon())
