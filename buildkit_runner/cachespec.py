"""Cache specs as text: parse, check against the keys BuildKit accepts, and format.

BuildKit ignores an attribute it does not know: ``type=registry,ref=x,mod=max`` exports a
mode=min cache and ``type=local,dest=d,bogus=1`` succeeds without a word. So every spec bkrun
passes on, generated or written by the user, is checked here first, and a misspelled key is
an error with a did-you-mean, never a silently weaker cache.

The key lists follow BuildKit's cache backend docs (docs.docker.com/build/cache/backends/).
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Mapping

_EXPORT = frozenset({"mode", "ignore-error"})
_LAYERS = frozenset(
    {"oci-mediatypes", "image-manifest", "compression", "compression-level", "force-compression"}
)
_S3 = frozenset(
    {
        "region",
        "bucket",
        "name",
        "endpoint_url",
        "prefix",
        "blobs_prefix",
        "manifests_prefix",
        "use_path_style",
        "access_key_id",
        "secret_access_key",
        "session_token",
    }
)
_AZBLOB = frozenset(
    {"account_url", "name", "prefix", "blobs_prefix", "manifests_prefix", "secret_access_key"}
)
_GHA = frozenset({"url", "url_v2", "token", "scope", "timeout", "repository", "ghtoken"})

# type → (keys of --cache-from, keys of --cache-to); "type" itself is always allowed.
KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "registry": (frozenset({"ref"}), frozenset({"ref"}) | _EXPORT | _LAYERS),
    "local": (frozenset({"src", "digest", "tag"}), frozenset({"dest", "tag"}) | _EXPORT | _LAYERS),
    "inline": (frozenset(), frozenset()),
    "gha": (_GHA, _GHA | _EXPORT),
    "s3": (_S3, _S3 | _EXPORT | {"touch_refresh", "upload_parallelism"}),
    "azblob": (_AZBLOB, _AZBLOB | _EXPORT),
}
REQUIRED: dict[str, tuple[str, str]] = {
    "registry": ("ref", "ref"),
    "local": ("src", "dest"),
    "s3": ("bucket", "bucket"),
}
# Credentials in a spec end up in argv, plans and process lists; buildx reads each of them
# from the environment instead (AWS_*, ACTIONS_RUNTIME_TOKEN, AZURE_*).
SECRET_KEYS = frozenset({"secret_access_key", "session_token", "token", "ghtoken"})
BOOLEANS = frozenset(
    {"ignore-error", "oci-mediatypes", "image-manifest", "force-compression", "use_path_style"}
)
CHOICES: dict[str, tuple[str, ...]] = {
    "mode": ("min", "max"),
    "compression": ("gzip", "estargz", "zstd", "uncompressed"),
}


def parse(text: str) -> dict[str, str]:
    """``type=registry,ref=x`` → ``{"type": "registry", "ref": "x"}``.

    A bare reference is buildx's shorthand for a registry cache, as on its command line.
    Raises ValueError for a field without ``=``.
    """
    text = text.strip()
    if "=" not in text:
        return {"type": "registry", "ref": text}
    fields = next(csv.reader([text]))
    attrs: dict[str, str] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep:
            raise ValueError(f"field {field!r} has no '=' (expected key=value)")
        attrs[key.strip().lower()] = value.strip()
    attrs.setdefault("type", "registry")
    return attrs


def format_spec(attrs: Mapping[str, str]) -> str:
    """The inverse of :func:`parse`: ``type`` first, then the other keys in their order."""
    fields = [f"type={attrs['type']}"]
    fields.extend(f"{key}={value}" for key, value in attrs.items() if key != "type")
    return ",".join(_quote(field) for field in fields)


def _quote(field: str) -> str:
    # csv quoting, as buildx's parser (Go encoding/csv) expects for commas or quotes.
    if "," in field or '"' in field:
        return '"' + field.replace('"', '""') + '"'
    return field


def problems(text: str, direction: str) -> list[str]:
    """What is wrong with ``text`` as a ``cache-from`` or ``cache-to`` spec (empty if fine)."""
    try:
        attrs = parse(text)
    except (ValueError, csv.Error) as exc:
        return [f"cannot parse {text!r}: {exc}"]

    kind = attrs["type"]
    if kind not in KEYS:
        return [_unknown(f"cache type {kind!r}", kind, KEYS)]
    from_keys, to_keys = KEYS[kind]
    allowed = from_keys if direction == "cache-from" else to_keys
    if kind == "inline" and direction == "cache-from":
        return [
            "type=inline cannot be imported as such; read the image itself with "
            '"type=registry,ref=<image>:<tag>"'
        ]

    found: list[str] = []
    for key, value in attrs.items():
        if key == "type":
            continue
        if key not in allowed:
            found.append(_unknown(f"key {key!r} for type={kind} in {direction}", key, allowed))
        elif key in SECRET_KEYS:
            found.append(
                f"{key} would put a credential into argv and plans; leave it out, buildx "
                "reads it from the environment"
            )
        else:
            found.extend(_value_problems(key, value))
    required = REQUIRED.get(kind)
    if required:
        key = required[0] if direction == "cache-from" else required[1]
        if not attrs.get(key):
            found.append(f"type={kind} needs {key}=... in {direction}")
    return found


def _value_problems(key: str, value: str) -> list[str]:
    if key in BOOLEANS and value.lower() not in ("true", "false"):
        return [f"{key}={value!r}: expected true or false"]
    choices = CHOICES.get(key)
    if choices and value not in choices:
        return [f"{key}={value!r}: expected one of {', '.join(choices)}"]
    return []


def _unknown(what: str, key: str, allowed: Mapping[str, object] | frozenset[str]) -> str:
    names = sorted(allowed)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"unknown {what}; did you mean {close[0]!r}?"
    listed = ", ".join(names) or "none"
    return f"unknown {what}; BuildKit accepts: {listed}"
