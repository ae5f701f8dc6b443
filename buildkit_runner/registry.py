"""The registry HTTP API (OCI distribution): auth, write probes, tags, manifests, deletes.

Credentials come from the variables a ``[registries.<name>]`` table names, else from the
docker config and its credential helpers, as docker itself finds them. Passwords are held as
SecretStr, registered with the redactor, and only ever sent in an Authorization header.
httpx is imported inside the functions that need it, so planning without probes stays fast.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import ssl
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from buildkit_runner.cache import WriteProbe
from buildkit_runner.config.resolve import RegistrySettings
from buildkit_runner.errors import ConfigError, RegistryError
from buildkit_runner.redact import REDACTOR

if TYPE_CHECKING:
    import httpx

CERTS_D = Path("/etc/docker/certs.d")
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
CACHE_CONFIG_TYPE = "application/vnd.buildkit.cacheconfig.v0"
_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    username: str
    password: SecretStr
    source: str  # for messages: "env REGISTRY_PASSWORD", "docker config" ...


def credentials(registry: RegistrySettings, env: Mapping[str, str]) -> Credentials | None:
    """The credentials for ``registry``: named variables first, then the docker config."""
    if registry.username_env and registry.password_env:
        missing = [n for n in (registry.username_env, registry.password_env) if not env.get(n)]
        if missing:
            raise ConfigError(
                [
                    f"{registry.where or f'registries.{registry.name}'}: variable(s) "
                    f"{', '.join(missing)} not set; "
                    "export them (a CI secret) or remove username-env/password-env"
                ]
            )
        password = env[registry.password_env]
        REDACTOR.add([password])
        return Credentials(
            env[registry.username_env], SecretStr(password), f"env {registry.password_env}"
        )
    return docker_config_credentials(registry.host, env)


def docker_config_credentials(host: str, env: Mapping[str, str]) -> Credentials | None:
    """What ``docker login`` stored for ``host``: a credential helper, or config.json auths."""
    directory = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        data = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    helper = (data.get("credHelpers") or {}).get(host) or data.get("credsStore")
    if helper:
        found = _from_helper(str(helper), host)
        if found:
            return found
    auths = data.get("auths") or {}
    entry = auths.get(host) or auths.get(f"https://{host}") or {}
    encoded = entry.get("auth")
    if not encoded:
        return None
    username, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
    REDACTOR.add([password])
    return Credentials(username, SecretStr(password), "docker config")


def _from_helper(helper: str, host: str) -> Credentials | None:
    try:
        result = subprocess.run(
            [f"docker-credential-{helper}", "get"],
            input=host,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return None
    # "<token>" marks an identity token, which only the token endpoint's OAuth flow accepts.
    if not data.get("Secret") or data.get("Username") == "<token>":
        return None
    REDACTOR.add([data["Secret"]])
    return Credentials(data.get("Username", ""), SecretStr(data["Secret"]), f"helper {helper}")


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class Client:
    """One registry: picks http or https as docker does, answers auth challenges."""

    def __init__(
        self, registry: RegistrySettings, creds: Credentials | None, timeout: float = 15.0
    ) -> None:
        self.registry = registry
        self.creds = creds
        self.timeout = timeout
        self._scheme = "http" if registry.insecure else "https"
        self._tokens: dict[str, str] = {}
        self._http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        import httpx

        if self._http is None:
            self._http = httpx.Client(verify=self._verify(), timeout=self.timeout)
        return self._http

    def _verify(self) -> ssl.SSLContext:
        ca = self.registry.ca_file
        default = CERTS_D / self.registry.host / "ca.crt"
        if ca is None and default.is_file():
            ca = str(default)
        return ssl.create_default_context(cafile=ca)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def request(
        self,
        method: str,
        path: str,
        scope: str,
        headers: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        """``method /v2/<path>``, authenticated for ``scope`` when the registry asks."""
        import httpx

        try:
            try:
                return self._authorised(method, url or self._url(path), scope, headers)
            except (httpx.ConnectError, httpx.RemoteProtocolError):
                # dockerd speaks plain HTTP to loopback registries; fall back the same way.
                if not (self._scheme == "https" and is_loopback(self.registry.host)):
                    raise
                self._scheme = "http"
                if url:
                    url = url.replace("https://", "http://", 1)
                return self._authorised(method, url or self._url(path), scope, headers)
        except httpx.HTTPError as exc:
            raise RegistryError(f"registry {self.registry.host} unreachable: {exc}") from None

    def _base(self) -> str:
        return f"{self._scheme}://{self.registry.host}"

    def _url(self, path: str) -> str:
        return f"{self._base()}/v2/{path}"

    def _authorised(
        self, method: str, url: str, scope: str, headers: Mapping[str, str] | None
    ) -> httpx.Response:
        sent = dict(headers or {})
        if scope in self._tokens:
            sent["Authorization"] = self._tokens[scope]
        response = self._client().request(method, url, headers=sent)
        if response.status_code != 401 or scope in self._tokens:
            return response
        authorization = self._answer(response.headers.get("www-authenticate", ""), scope)
        if authorization is None:
            return response
        self._tokens[scope] = authorization
        sent["Authorization"] = authorization
        return self._client().request(method, url, headers=sent)

    def _answer(self, challenge: str, scope: str) -> str | None:
        kind = challenge.split(" ", 1)[0].lower()
        if kind == "basic":
            if self.creds is None:
                return None
            pair = f"{self.creds.username}:{self.creds.password.get_secret_value()}"
            return "Basic " + base64.b64encode(pair.encode()).decode()
        if kind == "bearer":
            return self._bearer(dict(_CHALLENGE_RE.findall(challenge)), scope)
        return None

    def _bearer(self, params: dict[str, str], scope: str) -> str | None:
        realm = params.get("realm")
        if not realm:
            return None
        query = {"service": params.get("service", ""), "scope": scope}
        auth = None
        if self.creds is not None:
            auth = (self.creds.username, self.creds.password.get_secret_value())
        response = self._client().get(realm, params=query, auth=auth)
        if response.status_code != 200:
            return None
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            return None
        REDACTOR.add([token])
        return f"Bearer {token}"

    # -- the API calls bkrun makes ------------------------------------------------------

    def can_write(self, repository: str) -> WriteProbe:
        """Start a blob upload and cancel it: 202 means these credentials may push."""
        path = _path(repository)
        try:
            response = self.request("POST", f"{path}/blobs/uploads/", _scope(path, "pull,push"))
        except RegistryError as exc:
            return WriteProbe(repository, None, exc.message)
        code = response.status_code
        if code == 202:
            location = response.headers.get("location", "")
            if location:
                url = location if "://" in location else self._base() + location
                self.request("DELETE", "", _scope(path, "pull,push"), url=url)
            return WriteProbe(repository, True, "HTTP 202 to a blob upload")
        if code in (401, 403):
            return WriteProbe(repository, False, f"HTTP {code}: these credentials cannot push")
        if code == 405:
            return WriteProbe(repository, False, "HTTP 405: the registry is read-only")
        return WriteProbe(repository, None, f"HTTP {code} to a blob upload")

    def tags(self, repository: str) -> list[str]:
        path = _path(repository)
        found: list[str] = []
        url: str | None = self._url(f"{path}/tags/list?n=1000")
        while url:
            response = self.request("GET", "", _scope(path, "pull"), url=url)
            if response.status_code == 404:
                return found
            self._check(response, f"list tags of {repository}")
            found.extend(response.json().get("tags") or ())
            url = _next_link(response, self._base())
        return found

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]]:
        """The digest and the body of ``repository:reference`` (or ``@digest``)."""
        path = _path(repository)
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        response = self.request(
            "GET", f"{path}/manifests/{reference}", _scope(path, "pull"), headers
        )
        self._check(response, f"read {repository}:{reference}")
        return response.headers.get("docker-content-digest", ""), response.json()

    def find(self, repository: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        """Like :meth:`manifest`, but None when the registry has no such tag or digest."""
        path = _path(repository)
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        response = self.request(
            "GET", f"{path}/manifests/{reference}", _scope(path, "pull"), headers
        )
        if response.status_code == 404:
            return None
        self._check(response, f"read {repository}:{reference}")
        return response.headers.get("docker-content-digest", ""), response.json()

    def blob_json(self, repository: str, digest: str) -> dict[str, Any]:
        path = _path(repository)
        response = self.request("GET", f"{path}/blobs/{digest}", _scope(path, "pull"))
        if response.status_code in (301, 302, 307, 308):
            import httpx

            response = httpx.get(response.headers["location"], timeout=self.timeout)
        self._check(response, f"read blob {digest} of {repository}")
        body: dict[str, Any] = response.json()
        return body

    def delete(self, repository: str, digest: str) -> None:
        path = _path(repository)
        response = self.request("DELETE", f"{path}/manifests/{digest}", _scope(path, "delete"))
        if response.status_code == 405:
            raise RegistryError(
                f"{self.registry.host} does not allow deletes (distribution: set "
                "storage.delete.enabled: true)"
            )
        self._check(response, f"delete {repository}@{digest}")

    def created(self, repository: str, reference: str) -> datetime | None:
        """When ``reference`` was made: the image config's ``created``, or for a cache
        manifest the newest ``buildkit/createdat`` of its layers."""
        _, body = self.manifest(repository, reference)
        return created_from(
            body, lambda d: self.manifest(repository, d)[1], lambda d: self.blob_json(repository, d)
        )

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code >= 400:
            raise RegistryError(f"{self.registry.host}: cannot {what}: HTTP {response.status_code}")


def created_from(body: dict[str, Any], manifest: Any, blob: Any) -> datetime | None:
    """The creation time of a manifest ``body``; ``manifest``/``blob`` fetch by digest."""
    entries = body.get("manifests")
    layers = entries if entries is not None else body.get("layers") or []
    config = body.get("config") or {}
    is_cache = config.get("mediaType") == CACHE_CONFIG_TYPE or any(
        e.get("mediaType") == CACHE_CONFIG_TYPE for e in layers
    )
    if is_cache:
        stamps = [
            _parse((e.get("annotations") or {}).get("buildkit/createdat", "")) for e in layers
        ]
        known = [s for s in stamps if s is not None]
        return max(known) if known else None
    if entries is not None:
        # An index of platforms: the first real platform's image says when it was built.
        for entry in entries:
            if (entry.get("platform") or {}).get("os") != "unknown":
                return created_from(manifest(entry["digest"]), manifest, blob)
        return None
    if config.get("digest"):
        return _parse(str(blob(config["digest"]).get("created", "")))
    return None


def _parse(text: str) -> datetime | None:
    if not text:
        return None
    head, _, rest = text.rstrip("Z").partition(".")
    digits = re.match(r"\d*", rest)
    fraction = ((digits.group(0) if digits else "") + "000000")[:6]
    try:
        return datetime.fromisoformat(f"{head}.{fraction}+00:00")
    except ValueError:
        return None


def _path(repository: str) -> str:
    """``host/ns/name`` → ``ns/name``."""
    return repository.split("/", 1)[1]


def _scope(path: str, actions: str) -> str:
    return f"repository:{path}:{actions}"


def _next_link(response: httpx.Response, base: str) -> str | None:
    link = response.headers.get("link", "")
    match = re.search(r"<([^>]+)>", link)
    if not match:
        return None
    target = match.group(1)
    return target if "://" in target else base + target


def client_for(registry: RegistrySettings, env: Mapping[str, str] | None = None) -> Client:
    return Client(registry, credentials(registry, os.environ if env is None else env))
