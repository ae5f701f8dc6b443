"""A stand-in for the docker client, driven by environment variables.

The ``fake_docker`` fixture puts a ``docker`` wrapper that runs this script first on PATH.

FAKE_DOCKER_LOG     append one JSON line per call: argv (without "docker"), cwd, image, digest
FAKE_DOCKER_SCRIPT  optional JSON file: {"<image>": {"exit": N, "output": ["line", ...]}}
                    scripted lines are printed on stderr before exiting with N; the key
                    "inspect" scripts ``docker buildx inspect`` (else a running builder)
                    the key "imagetools" scripts ``buildx imagetools create`` (logged to
                    imagetools.jsonl next to FAKE_DOCKER_LOG)
FAKE_DOCKER_ECHO    optional variable name: its value is printed, as a RUN step might leak it
                    (inside a base64 rawjson log with --progress=rawjson, and on stdout)

The image is the stem of ``--metadata-file``. On success the metadata file gets a
``containerimage.digest`` derived from the argv, so every call reports a stable digest.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from pathlib import Path


def _value_after(argv: list[str], flag: str) -> str | None:
    for index, arg in enumerate(argv[:-1]):
        if arg == flag:
            return argv[index + 1]
    return None


def _rawjson_updates(log_text: str) -> list[dict[str, object]]:
    """What buildx --progress=rawjson writes: vertexes, then a step's log (base64), done."""
    load = {"digest": "sha256:v1", "name": "[internal] load build definition from Dockerfile"}
    run = {"digest": "sha256:v2", "name": "[1/1] RUN cat /run/secrets/npm"}
    start, end = "2024-01-02T03:04:05.000000000Z", "2024-01-02T03:04:06.500000000Z"
    data = base64.b64encode(log_text.encode() + b"\n").decode()
    return [
        {"vertexes": [{**load, "started": start}]},
        {"vertexes": [{**load, "started": start, "completed": start}]},
        {"vertexes": [{**run, "started": start}]},
        {"logs": [{"vertex": "sha256:v2", "stream": 1, "data": data, "timestamp": end}]},
        {"vertexes": [{**run, "started": start, "completed": end}]},
    ]


INSPECT = """\
Name:          fake
Driver:        docker-container
Last Activity: 2024-01-02 03:04:05 +0000 UTC

Nodes:
Name:      fake0
Endpoint:  unix:///var/run/docker.sock
Status:    running
BuildKit:  v0.17.0
Platforms: linux/amd64, linux/arm64, linux/arm/v7
"""


def _script() -> dict[str, dict[str, object]]:
    path = os.environ.get("FAKE_DOCKER_SCRIPT")
    if path and Path(path).exists():
        data: dict[str, dict[str, object]] = json.loads(Path(path).read_text(encoding="utf-8"))
        return data
    return {}


def _scripted(key: str) -> int:
    """Print the scripted lines for ``key`` on stderr; return its exit code (0 if none)."""
    behaviour = _script().get(key, {})
    for line in behaviour.get("output", []):  # type: ignore[union-attr]
        print(line, file=sys.stderr)
    return int(behaviour.get("exit", 0))  # type: ignore[call-overload]


def main() -> int:
    argv = sys.argv[1:]
    if argv[:2] == ["buildx", "inspect"]:
        # A running docker-container builder: the preflight checks pass without QEMU here.
        code = _scripted("inspect")
        if not code:
            print(INSPECT, end="")
        return code
    if argv[:3] == ["buildx", "imagetools", "create"]:
        # Publish steps go to their own log, next to the build log.
        log_path = Path(os.environ["FAKE_DOCKER_LOG"]).with_name("imagetools.jsonl")
        with log_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps({"argv": argv}) + "\n")
        return _scripted("imagetools")
    if argv[:2] != ["buildx", "build"]:
        return 0
    metadata = _value_after(argv, "--metadata-file")
    image = Path(metadata).stem if metadata else "unknown"
    digest = "sha256:" + hashlib.sha256(json.dumps(argv).encode()).hexdigest()

    with Path(os.environ["FAKE_DOCKER_LOG"]).open("a", encoding="utf-8") as log:
        entry = {"argv": argv, "cwd": str(Path.cwd()), "image": image, "digest": digest}
        log.write(json.dumps(entry) + "\n")

    rawjson = "--progress=rawjson" in argv
    echo = os.environ.get("FAKE_DOCKER_ECHO")
    leaked = f"npm token is {os.environ.get(echo, '')}" if echo else "no secret here"
    if rawjson:
        for update in _rawjson_updates(leaked):
            print(json.dumps(update, indent=2), file=sys.stderr, flush=True)
    else:
        print('#0 building with "default" instance using docker driver', file=sys.stderr)
        print("#1 [internal] load build definition from Dockerfile", file=sys.stderr)
        print("#1 DONE 0.0s", file=sys.stderr)
        print(f"#2 0.123 {leaked}", file=sys.stderr, flush=True)
    if echo:
        # A tool that prints the variable itself, outside BuildKit's progress.
        print(f"warning: {echo}={os.environ.get(echo, '')}", flush=True)

    code = _scripted(image)
    if code:
        return code

    if "--push" in argv or any("push=true" in arg for arg in argv):
        print("#9 pushing layers 0.1s done", file=sys.stderr)
    print(f"#9 writing image {digest} done", file=sys.stderr)
    if metadata:
        Path(metadata).write_text(json.dumps({"containerimage.digest": digest}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
