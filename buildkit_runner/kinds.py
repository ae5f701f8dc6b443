"""Registry kinds: what each registry software needs from a registry cache export.

BuildKit exports registry cache as an OCI index whose entries are layers, not manifests.
Docker Hub, GHCR and the distribution registry store it; registries that validate an index's
entries refuse it. For those, ``image-manifest=true`` (BuildKit >= 0.12) writes the cache as
an ordinary OCI image manifest with a cache config, which they accept.
"""

from __future__ import annotations

import re

_IMAGE_MANIFEST = (("image-manifest", "true"), ("oci-mediatypes", "true"))

# kind → (extra --cache-to attributes, why); the why cites where the need is documented.
EXPORT_ATTRS: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "distribution": ((), "the distribution registry stores index-style cache"),
    "dockerhub": ((), "Docker Hub stores index-style cache"),
    "ghcr": ((), "GHCR stores index-style cache"),
    "ecr": (
        _IMAGE_MANIFEST,
        "ECR refuses index-style cache manifests "
        "(https://github.com/aws/containers-roadmap/issues/876)",
    ),
    "harbor": (
        _IMAGE_MANIFEST,
        "Harbor answers 404 to index-style cache manifests "
        "(https://github.com/goharbor/harbor/issues/14774)",
    ),
    "gitea": (
        _IMAGE_MANIFEST,
        "Gitea refuses index-style cache manifests "
        "(https://github.com/go-gitea/gitea/issues/28973)",
    ),
    "forgejo": (
        _IMAGE_MANIFEST,
        "Forgejo, like Gitea, refuses index-style cache manifests "
        "(https://github.com/go-gitea/gitea/issues/28973)",
    ),
    "gitlab": (
        _IMAGE_MANIFEST,
        "GitLab's registry treats index-style cache as non-conformant "
        "(https://gitlab.com/gitlab-org/container-registry/-/issues/407)",
    ),
}

_ECR = re.compile(r"^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_KNOWN_HOSTS = {
    "ghcr.io": "ghcr",
    "docker.io": "dockerhub",
    "index.docker.io": "dockerhub",
    "registry-1.docker.io": "dockerhub",
    "registry.gitlab.com": "gitlab",
    "public.ecr.aws": "ecr",
    "codeberg.org": "forgejo",
    "gitea.com": "gitea",
}


def infer(host: str) -> str:
    """The kind of a well-known registry host; distribution for anything else."""
    bare = host.split(":", 1)[0].lower()
    if _ECR.match(bare):
        return "ecr"
    return _KNOWN_HOSTS.get(bare, "distribution")


def needs_image_manifest(kind: str) -> bool:
    return dict(EXPORT_ATTRS[kind][0]).get("image-manifest") == "true"
