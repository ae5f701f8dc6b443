#!/usr/bin/env python3
"""bkrun's benchmark suites: what bkrun costs next to the tools and commands it stands for.

    .venv/bin/python scripts/benchmark.py --suite plan [--runs N] [--sizes 1 10 100]
    .venv/bin/python scripts/benchmark.py --suite cache --runs 1 --json cache.json
    .venv/bin/python scripts/benchmark.py --smoke [--suite plan]

Suites (docs/benchmarks.md says what each measures and holds the current figures):

    plan      bkrun plan --json vs docker buildx bake --print on generated projects
    overhead  bkrun build vs a shell script running the same buildx commands, fully cached
    cache     cold, same-builder and fresh-runner builds of apt and pip images (amd64 only)
    parallel  bkrun build --jobs, once bkrun has it
    nightly   bkrun build --if-changed, once bkrun has it

Every figure is a median of --runs runs with its min and max; a ratio is computed pair by pair
within one run, then summarised the same way. --smoke runs the smallest size of each suite
once and checks nothing but that it ran (for CI; no wall-clock assertions). Benchmark images
live under bench/ in the local registry. The suites that build wipe the build cache: run them
alone on the engine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import pstats
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "benchmarks"
# The bkrun measured: this checkout's, or another's with --checkout (set in main).
CHECKOUT = ROOT
BKRUN = ROOT / ".venv" / "bin" / "bkrun"
PYTHON = ROOT / ".venv" / "bin" / "python"
REGISTRY = "127.0.0.1:5000"
NAMESPACE = "bench"
FORMAT_VERSION = 1
PLACEHOLDER = re.compile(r"\$\{([^}]+)\.digest\}")
RETRIES: list[str] = []  # failures cured by a retry, per suite (see retried)

PLAN_TARGET = 1.0  # bkrun plan / bake --print, at 100 images
OVERHEAD_TARGET = 1.03  # bkrun build / shell script, fully cached
CACHE_TARGET = 0.10  # fresh-runner rebuild / cold build

MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bkrun benchmark",
    "GIT_AUTHOR_EMAIL": "benchmark@bkrun.invalid",
    "GIT_COMMITTER_NAME": "bkrun benchmark",
    "GIT_COMMITTER_EMAIL": "benchmark@bkrun.invalid",
}


@dataclass(frozen=True)
class SuiteSpec:
    run: Callable[[argparse.Namespace, list[int | str]], dict[str, Any]]
    sizes: tuple[int | str, ...]
    runs: int
    what: str


# ------------------------------------------------------------------------------ measuring


@dataclass(frozen=True)
class Measured:
    seconds: float
    max_rss_mib: float
    code: int
    stderr: str


def measure(
    argv: Sequence[str | Path],
    cwd: Path,
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.DEVNULL,
) -> Measured:
    """Run ``argv`` to completion: wall seconds and the peak RSS of its process tree.

    The RSS comes from wait4's rusage, as for ``/usr/bin/time -v``: the largest resident set
    of the child or any descendant it waited for.
    """
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(a) for a in argv], cwd=cwd, env=env or bench_env(), stdout=stdout, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", errors="replace")
    return Measured(elapsed, usage.ru_maxrss / 1024, proc.returncode, text)


def checked(argv: Sequence[str | Path], cwd: Path, **kwargs: Any) -> Measured:
    result = measure(argv, cwd, **kwargs)
    if result.code != 0:
        shown = " ".join(str(a) for a in argv)
        raise RuntimeError(f"{shown} exited {result.code}:\n{result.stderr[-3000:]}")
    return result


def stats(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": len(values),
    }


def verdict(ratio: dict[str, Any], target: float) -> dict[str, Any]:
    """Met or missed on the median ratio, and by how much (percent of the target)."""
    median = ratio["median"]
    return {
        "target": target,
        "met": median <= target,
        "by_percent": round((median - target) / target * 100, 1),
    }


def paired(first: Callable[[], Any], second: Callable[[], Any], runs: int) -> list[Any]:
    """``runs`` pairs of (first, second) timings; who goes first alternates run by run, so
    drift on the machine hits both alike."""

    def pair(index: int) -> tuple[Any, Any]:
        if index % 2 == 0:
            a = first()
            return a, second()
        b = second()
        return first(), b

    return [retried(lambda: pair(index)) for index in range(runs)]  # noqa: B023


def compared(pairs: list[Any], target: float) -> dict[str, Any]:
    ratio = stats([b / s for b, s in pairs], 3)
    return {
        "bkrun_s": stats([b for b, _ in pairs]),
        "shell_s": stats([s for _, s in pairs]),
        "difference_s": stats([b - s for b, s in pairs]),
        "ratio": ratio,
        "verdict": verdict(ratio, target),
    }


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of a local run: no CI provider variables, no BKRUN_ overrides."""
    drop = re.compile(r"^(GITHUB_|GITLAB_|GITEA_|FORGEJO_|CI_|BUILDKITE|DRONE|BKRUN_)")
    env = {k: v for k, v in os.environ.items() if not drop.match(k)}
    for name in ("CI", "JENKINS_URL", "BRANCH_NAME", "GIT_BRANCH", "GIT_COMMIT"):
        env.pop(name, None)
    env["COLUMNS"] = "200"  # help text read for option detection is not wrapped away
    return {**env, **extra}


def run(argv: Sequence[str | Path], cwd: Path = ROOT, check: bool = True) -> str:
    result = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=bench_env(**GIT_IDENTITY),
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        shown = " ".join(str(a) for a in argv)
        raise RuntimeError(f"{shown} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout


# ------------------------------------------------------------------------------- context


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
    total_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(total_kib / 1024 / 1024, 1),
        "cpu": model.group(1).strip() if model else platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def bkrun_commit() -> dict[str, Any]:
    """HEAD's short sha, or 'uncommitted' when the package differs from HEAD."""
    git = ["git", "-C", str(CHECKOUT)]
    head = run([*git, "rev-parse", "--short", "HEAD"], check=False).strip() or None
    paths = ["--", "buildkit_runner", "pyproject.toml"]
    changed = run([*git, "status", "--porcelain", *paths], check=False).splitlines()
    return {
        "commit": head if head and not changed else "uncommitted",
        "head": head,
        "checkout": str(CHECKOUT),
    }


def tool_versions() -> dict[str, str | None]:
    def first_line(argv: list[str]) -> str | None:
        try:
            return run(argv, check=False).strip().splitlines()[0]
        except (IndexError, OSError):
            return None

    return {
        "bkrun": first_line([str(BKRUN), "--version"]),
        "buildx": first_line(["docker", "buildx", "version"]),
        "engine": first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
    }


def has_option(command: str, option: str) -> bool:
    """Whether ``bkrun COMMAND --help`` lists ``option``."""
    return option in run([BKRUN, command, "--help"], check=False)


def wait_for_engine(timeout_s: float = 300) -> None:
    """Wait until dockerd and the registry answer (another user may be restarting them)."""
    deadline = time.monotonic() + timeout_s
    while True:
        engine = subprocess.run(["docker", "info"], capture_output=True, check=False)
        try:
            urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5).close()
            registry = True
        except OSError:
            registry = False
        if engine.returncode == 0 and registry:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"engine or registry {REGISTRY} not answering after {timeout_s} s")
        time.sleep(5)


def retried(action: Callable[[], Any], attempts: int = 3) -> Any:
    """``action()``; if it fails, wait for the engine and try again (up to ``attempts``).

    Other users restart dockerd and the registry, and prune the build cache, on this
    machine; a failure that a retry cures is kept in RETRIES and stated in the report.
    """
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except (RuntimeError, OSError) as exc:
            if attempt == attempts:
                raise
            RETRIES.append(str(exc).strip().splitlines()[-1][:300])
            wait_for_engine()
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------ projects


def git_project(path: Path) -> None:
    """Make ``path`` a clean git repository on main with one commit, as a checkout is."""
    run(["git", "init", "-q", "-b", "main"], cwd=path)
    run(["git", "add", "-A"], cwd=path)
    run(["git", "commit", "-q", "-m", "benchmark project"], cwd=path)


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    return json.dumps(value)


def write_config(path: Path, project: str, images: dict[str, dict[str, Any]], **top: Any) -> None:
    """A bkrun.toml for ``images`` (name → keys) in the local registry, cache mode=max."""
    lines = [
        "[project]",
        f"name = {toml_value(project)}",
        'default-branch = "main"',
        "",
        "[registries.local]",
        f'host = "{REGISTRY}"',
        "",
        "[defaults]",
        'registry = "local"',
        *(f"{key} = {toml_value(value)}" for key, value in top.items()),
        "",
        "[cache]",
        'mode = "max"',
    ]
    for name, keys in images.items():
        lines += ["", f"[images.{name}]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in keys.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def plan_json(project: Path, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run([BKRUN, "plan", "--json", *args], cwd=project))
    return data


def bake_target(step: dict[str, Any]) -> dict[str, Any]:
    """The docker-bake.json target for one bkrun plan step: the same build, said as bake."""
    context = step["argv"][-1]
    target: dict[str, Any] = {"context": context}
    for part in step["explain"]:
        name, *values = part["args"]
        value = values[0] if values else ""
        if name == context and not values:
            continue
        if name == "--file":
            target["dockerfile"] = os.path.relpath(value, context)
        elif name == "--platform":
            target["platforms"] = value.split(",")
        elif name in ("--tag", "--cache-from", "--cache-to", "--secret", "--annotation"):
            key = {"--tag": "tags", "--secret": "secret", "--annotation": "annotations"}.get(
                name, name[2:]
            )
            target.setdefault(key, []).append(value)
        elif name in ("--build-arg", "--label"):
            key, _, text = value.partition("=")
            target.setdefault("args" if name == "--build-arg" else "labels", {})[key] = text
        elif name == "--build-context":
            # bake's own way to say "built from that target": it orders the builds itself.
            dependency = value.split("=", 1)[0]
            target.setdefault("contexts", {})[dependency] = f"target:{dependency}"
        elif name == "--target":
            target["target"] = value
        elif name.startswith("--provenance="):
            mode = name.split("=", 1)[1]
            disabled = "disabled=true" if mode == "false" else mode
            target["attest"] = [f"type=provenance,{disabled}"]
        elif name == "--push":
            target["output"] = ["type=registry"]
        elif name == "--output":
            target["output"] = [value]
        elif name == "--metadata-file" or name.startswith("--progress="):
            continue  # bake takes these for the whole run, not per target
        else:
            raise ValueError(f"no bake equivalent for {name!r} in step {step['image']!r}")
    return target


def write_bake_file(plan: dict[str, Any], path: Path) -> None:
    targets = {step["image"]: bake_target(step) for step in plan["steps"]}
    bake = {"group": {"default": {"targets": list(targets)}}, "target": targets}
    path.write_text(json.dumps(bake, indent=2) + "\n", encoding="utf-8")


def plan_project(base: Path, count: int) -> Path:
    """``count`` images on one shared tiny context, two platforms, registry cache, a few args
    and labels, and depends-on chains (in each group of five: 1 ← 2 ← 3, then 4 and 5 alone).
    """
    path = base / f"plan-{count}"
    shutil.copytree(FIXTURES / "plan", path)
    images = {}
    for index in range(count):
        name = f"img-{index:04d}"
        keys: dict[str, Any] = {
            "repository": f"{NAMESPACE}/plan/{name}",
            "context": "context",
            "build-args": {"IMAGE_NAME": name, "IMAGE_INDEX": str(index)},
            "labels": {"org.opencontainers.image.title": name},
        }
        if index % 5 in (1, 2):
            keys["depends-on"] = [f"img-{index - 1:04d}"]
        images[name] = keys
    write_config(
        path / "bkrun.toml",
        f"bench-plan-{count}",
        images,
        platforms=["linux/amd64", "linux/arm64"],
        **{
            "build-args": {"BENCH_SUITE": "plan"},
            "labels": {"org.opencontainers.image.vendor": "bkrun benchmark"},
        },
    )
    git_project(path)
    write_bake_file(plan_json(path, "--push"), base / f"plan-{count}.bake.json")
    return path


# --------------------------------------------------------------------------- plan suite


def suite_plan(args: argparse.Namespace, sizes: list[int | str]) -> dict[str, Any]:
    """bkrun plan --json against bake --print on the same generated projects."""
    results = []
    projects = {}
    with tempfile.TemporaryDirectory(prefix="bkrun-bench-plan-") as tmp:
        base = Path(tmp)
        # Since bkrun has probes (registry and builder calls before planning), `plan --push`
        # is measured as users run it and, when the option exists, with --offline too.
        variants = {"default": []}
        if has_option("plan", "--offline"):
            variants["offline"] = ["--offline"]
        for count in map(int, sizes):
            project = projects[count] = plan_project(base, count)
            bake_file = base / f"plan-{count}.bake.json"
            bake_argv = ["docker", "buildx", "bake", "--print", "-f", bake_file]
            for variant, flags in variants.items():
                bkrun_argv = [BKRUN, "plan", "--json", "--push", *flags]
                checked(bkrun_argv, project)  # warm: page cache and bytecode
                checked(bake_argv, project)
                pairs = paired(
                    lambda: checked(bkrun_argv, project),  # noqa: B023
                    lambda: checked(bake_argv, project),  # noqa: B023
                    args.runs,
                )
                results.append(
                    {
                        "size": count,
                        "unit": "images",
                        "variant": variant,
                        "bkrun_s": stats([b.seconds for b, _ in pairs]),
                        "bake_s": stats([k.seconds for _, k in pairs]),
                        "ratio": stats([b.seconds / k.seconds for b, k in pairs], 2),
                        "bkrun_rss_mib": stats([b.max_rss_mib for b, _ in pairs], 1),
                        "bake_rss_mib": stats([k.max_rss_mib for _, k in pairs], 1),
                    }
                )

        summary: dict[str, Any] = {"target": "ratio <= 1.0 at 100 images", "verdict": None}
        at_100 = next((r for r in results if r["size"] == 100), None)
        if at_100:
            summary["verdict"] = verdict(at_100["ratio"], PLAN_TARGET)
        for r in results:
            r["verdict"] = verdict(r["ratio"], PLAN_TARGET) if r["size"] == 100 else None
        if args.profile or (at_100 and not summary["verdict"]["met"]):
            size = 100 if at_100 else max(projects)
            summary["profile"] = profile_plan(projects[size], size)
        return {
            "results": results,
            "cold_start": cold_start(args.runs),
            "import_time": import_time(projects[min(projects)]),
            **summary,
        }


def cold_start(runs: int) -> dict[str, Any]:
    """``bkrun --version`` and a bare interpreter start, for scale."""
    checked([BKRUN, "--version"], ROOT)
    version = [checked([BKRUN, "--version"], ROOT).seconds for _ in range(runs)]
    bare = [checked([PYTHON, "-c", "pass"], ROOT).seconds for _ in range(runs)]
    return {"bkrun_version_s": stats(version), "python_bare_s": stats(bare)}


def import_time(project: Path, top: int = 12) -> dict[str, Any]:
    """``python -X importtime`` for ``bkrun plan --json``: where start-up time goes."""
    argv = [PYTHON, "-X", "importtime", "-m", "buildkit_runner", "plan", "--json"]
    stderr = checked(argv, project).stderr
    rows = []
    for match in re.finditer(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", stderr):
        self_us, cumulative_us, indent, module = match.groups()
        rows.append((module, int(self_us), int(cumulative_us), len(indent) // 2))
    packages: dict[str, int] = {}
    for module, self_us, _, _ in rows:
        name = module.split(".")[0]
        packages[name] = packages.get(name, 0) + self_us
    # Depth 0 and 1: what the process and its first imports pulled in, each with all below.
    roots = sorted((r for r in rows if r[3] <= 1), key=lambda r: -r[2])
    return {
        "total_ms": round(sum(r[1] for r in rows) / 1000, 1),
        "by_package_ms": {
            name: round(us / 1000, 1)
            for name, us in sorted(packages.items(), key=lambda item: -item[1])[:top]
        },
        "top_cumulative_ms": {m: round(c / 1000, 1) for m, _, c, _ in roots[:top]},
    }


def profile_plan(project: Path, count: int, top: int = 15) -> dict[str, Any]:
    """A cProfile of one ``bkrun plan --json --push``: the functions the time goes to."""
    out = project.parent / f"plan-{count}.prof"
    argv = [PYTHON, "-m", "cProfile", "-o", out, "-m", "buildkit_runner", "plan", "--json"]
    checked([*argv, "--push"], project)
    profile = pstats.Stats(str(out))
    total = profile.total_tt  # type: ignore[attr-defined]
    entries = profile.stats  # type: ignore[attr-defined]

    def label(key: tuple[str, int, str]) -> str:
        filename, line, function = key
        filename = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", filename)
        filename = filename.removeprefix(f"{CHECKOUT}/")
        return f"{filename}:{line}({function})" if line else function

    def ranked(index: int, only_bkrun: bool = False) -> list[dict[str, Any]]:
        rows = sorted(entries.items(), key=lambda item: -item[1][index])
        picked = [
            {"function": label(key), "seconds": round(value[index], 4), "calls": value[1]}
            for key, value in rows
            if not only_bkrun or "buildkit_runner" in key[0]
        ]
        return picked[:top]

    return {
        "images": count,
        "total_s": round(total, 3),
        "by_cumulative": ranked(3),
        "by_own_time": ranked(2),
        "bkrun_functions": ranked(3, only_bkrun=True),
    }


# ----------------------------------------------------------------------- overhead suite


def overhead_project(base: Path, count: int, variant: str) -> Path:
    """base, plus ``count - 1`` apps built on it (named context), linux/amd64."""
    path = base / f"overhead-{count}-{variant}"
    shutil.copytree(FIXTURES / "overhead", path)
    images: dict[str, dict[str, Any]] = {
        "base": {"repository": f"{NAMESPACE}/overhead/base", "context": "base"}
    }
    for index in range(1, count):
        images[f"app{index}"] = {
            "repository": f"{NAMESPACE}/overhead/app{index}",
            "context": "app",
            "depends-on": ["base"],
            "build-args": {"APP_NAME": f"app{index}"},
        }
    write_config(path / "bkrun.toml", f"bench-overhead-{count}", images, platforms=["linux/amd64"])
    git_project(path)
    return path


def shell_script(plan: dict[str, Any], root: Path) -> str:
    """The plan's buildx commands as sh, doing what the runner does around each of them:
    clear the metadata file and OCI output, run, read the digest for the dependents.
    """
    lines = ["#!/bin/sh", "set -e", f"cd {shlex.quote(str(root))}", "mkdir -p .bkrun/metadata"]
    placeholders = {}
    for step in plan["steps"]:
        argv = step["argv"]
        lines.append(f"rm -f {shlex.quote(step['metadata_file'])}")
        for arg in argv:
            if arg.startswith("type=oci,dest="):
                dest = arg.split("dest=", 1)[1].split(",", 1)[0]
                lines.append(f"rm -rf {shlex.quote(dest)}")
        words = []
        for arg in argv:
            # ${IMAGE.digest} becomes "$digest_IMAGE", the rest of the word stays quoted.
            pieces = PLACEHOLDER.split(arg)
            word = "".join(
                ('"$' + placeholders[piece] + '"') if index % 2 else shlex.quote(piece)
                for index, piece in enumerate(pieces)
                if piece
            )
            words.append(word)
        lines.append(" ".join(words))
        variable = "digest_" + re.sub(r"\W", "_", step["image"])
        placeholders[step["image"]] = variable
        lines.append(
            f'{variable}=$(sed -n \'s/.*"containerimage.digest": *"\\([^"]*\\)".*/\\1/p\' '
            f"{shlex.quote(step['metadata_file'])})"
        )
    return "\n".join(lines) + "\n"


def suite_overhead(args: argparse.Namespace, sizes: list[int | str]) -> dict[str, Any]:
    """bkrun build against a shell script of the identical buildx commands, fully cached;
    and the same for one uncached, chatty step (how bkrun copes with a long build log).
    """
    results = []
    with tempfile.TemporaryDirectory(prefix="bkrun-bench-overhead-") as tmp:
        base = Path(tmp)
        for count in map(int, sizes):
            for variant, flags in (("local", []), ("push", ["--push"])):
                wait_for_engine()
                project = overhead_project(base, count, variant)
                script = base / f"overhead-{count}-{variant}.sh"
                script.write_text(shell_script(plan_json(project, *flags), project), "utf-8")
                bkrun_argv = [BKRUN, "build", *flags]
                # Warm: every step cached from here on.
                retried(lambda: checked(bkrun_argv, project))  # noqa: B023
                retried(lambda: checked(["sh", script], project))  # noqa: B023
                pairs = paired(
                    lambda: checked(bkrun_argv, project).seconds,  # noqa: B023
                    lambda: checked(["sh", script], project).seconds,  # noqa: B023
                    args.runs,
                )
                results.append(
                    {
                        "size": count,
                        "unit": "images",
                        "variant": variant,
                        **compared(pairs, OVERHEAD_TARGET),
                    }
                )
        if not args.smoke:
            try:
                wait_for_engine()
                results.append(overhead_chatty(base, min(args.runs, 3)))
            except (RuntimeError, OSError) as exc:
                results.append({"size": 1, "variant": "chatty", "error": str(exc)[-500:]})
    return {"target": f"ratio <= {OVERHEAD_TARGET}", "results": results}


def overhead_chatty(base: Path, runs: int) -> dict[str, Any]:
    """One image whose single step always runs and prints 40 000 lines (benchmarks/overhead/
    chatty): bkrun build against the same buildx command in sh."""
    path = base / "overhead-chatty"
    shutil.copytree(FIXTURES / "overhead", path)
    images = {"chatty": {"repository": f"{NAMESPACE}/overhead/chatty", "context": "chatty"}}
    write_config(path / "bkrun.toml", "bench-overhead-chatty", images, platforms=["linux/amd64"])
    git_project(path)
    script = base / "overhead-chatty.sh"

    def new_nonce() -> None:
        # A new commit: the step re-runs, and the plan's sha tags are this commit's.
        commit_change(path, "chatty/nonce", uuid.uuid4().hex)
        script.write_text(shell_script(plan_json(path), path), encoding="utf-8")

    def bkrun() -> float:
        new_nonce()
        return checked([BKRUN, "build"], path).seconds

    def shell() -> float:
        new_nonce()
        return checked(["sh", script], path).seconds

    pairs = paired(bkrun, shell, runs)
    return {"size": 1, "unit": "images", "variant": "chatty", **compared(pairs, OVERHEAD_TARGET)}


# -------------------------------------------------------------------------- cache suite

CACHE_IMAGES = {
    "apt": ("Dockerfile.apt", "Dockerfile.apt-mount", "packages.txt", "file"),
    "pip": ("Dockerfile.pip", "Dockerfile.pip-mount", "requirements.txt", "tabulate==0.9.0"),
}


def registry_delete(repository: str, tag: str) -> None:
    """Delete ``repository:tag`` from the local registry (it allows deletes); absent is fine."""
    url = f"http://{REGISTRY}/v2/{repository}/manifests/{tag}"
    try:
        head = urllib.request.Request(url, method="HEAD", headers={"Accept": MANIFEST_ACCEPT})
        with urllib.request.urlopen(head, timeout=10) as response:
            digest = response.headers["Docker-Content-Digest"]
        delete = urllib.request.Request(
            f"http://{REGISTRY}/v2/{repository}/manifests/{digest}", method="DELETE"
        )
        urllib.request.urlopen(delete, timeout=10).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise


def wipe_runner(repositories: Sequence[str]) -> None:
    """A fresh runner: no build cache, no image of the project's repositories in the engine."""
    run(["docker", "builder", "prune", "-af"])
    listed = run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).split()
    doomed = [ref for ref in listed if ref.rsplit(":", 1)[0] in repositories]
    if doomed:
        run(["docker", "image", "rm", "-f", *doomed])


def cache_project(base: Path) -> Path:
    path = base / "cache"
    shutil.copytree(FIXTURES / "cache", path)
    images = {}
    for kind, (plain, mounted, _, _) in CACHE_IMAGES.items():
        for name, dockerfile in ((kind, plain), (f"{kind}-mount", mounted)):
            images[name] = {
                "repository": f"{NAMESPACE}/cache/{name}",
                "context": ".",
                "dockerfile": dockerfile,
            }
    write_config(path / "bkrun.toml", "bench-cache", images, platforms=["linux/amd64"])
    git_project(path)
    return path


def commit_change(project: Path, file: str, text: str) -> None:
    with (project / file).open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    run(["git", "commit", "-q", "-am", f"change {file}"], cwd=project)


def cache_round(
    project: Path, image: str, extra_package: str, deps_file: str
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """One cold → source change → dependency change → fresh runner sequence for ``image``."""
    plan = plan_json(project, "--push", image)
    step = plan["steps"][0]
    refs = [tag["ref"] for tag in step["tags"]]
    for ref in [*refs, step["cache"]["from"][0].split("ref=", 1)[1]]:
        repository, tag = ref.removeprefix(f"{REGISTRY}/").rsplit(":", 1)
        registry_delete(repository, tag)
    build = [BKRUN, "build", "--push", image]
    wipe_runner([step["repository"]])

    times = {"cold": checked(build, project).seconds}
    commit_change(project, "src/app.txt", f"source change {uuid.uuid4().hex}")
    times["source_change"] = checked(build, project).seconds
    commit_change(project, deps_file, extra_package)
    times["dependency_change"] = checked(build, project).seconds
    commit_change(project, "src/app.txt", f"source change {uuid.uuid4().hex}")
    wipe_runner([step["repository"]])
    fresh = checked(build, project)
    times["fresh_runner"] = fresh.seconds
    return times, slowest_steps(fresh.stderr)


def slowest_steps(log: str, top: int = 5) -> list[dict[str, Any]]:
    """The BuildKit vertices that took longest in a plain-progress log, e.g. exporting."""
    names: dict[str, str] = {}
    for number, name in re.findall(r"#(\d+) (\[.+?\] .+|[a-z].+)$", log, re.M):
        names.setdefault(number, name.strip()[:80])
    done = re.findall(r"#(\d+) DONE (\d+\.\d+)s$", log, re.M)
    ranked = sorted(done, key=lambda item: -float(item[1]))[:top]
    return [{"step": names.get(n, f"#{n}"), "seconds": float(t)} for n, t in ranked]


def cache_once(
    image: str, extra_package: str, deps_file: str
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    # A new copy per round: each round appends to the source and dependency files.
    with tempfile.TemporaryDirectory(prefix="bkrun-bench-cache-") as tmp:
        return cache_round(cache_project(Path(tmp)), image, extra_package, deps_file)


def suite_cache(args: argparse.Namespace, sizes: list[int | str]) -> dict[str, Any]:
    """Cold, same-builder and fresh-runner builds of the apt and pip images, linux/amd64."""
    results = []
    for kind in sizes:
        _, _, deps_file, extra = CACHE_IMAGES[str(kind)]
        variants = [str(kind)] if args.smoke else [str(kind), f"{kind}-mount"]
        for image in variants:
            rounds, slowest = [], []
            for _ in range(args.runs):
                times, steps = retried(lambda: cache_once(image, extra, deps_file))  # noqa: B023
                rounds.append(times)
                slowest = steps  # of the last round's fresh-runner build
            ratio = stats([r["fresh_runner"] / r["cold"] for r in rounds], 3)
            results.append(
                {
                    "size": image,
                    "unit": "image",
                    **{f"{key}_s": stats([r[key] for r in rounds], 1) for key in rounds[0]},
                    "fresh_vs_cold": ratio,
                    "verdict": verdict(ratio, CACHE_TARGET),
                    "fresh_runner_slowest_steps": slowest,
                }
            )
    return {
        "target": f"fresh-runner rebuild <= {CACHE_TARGET:.0%} of the cold build",
        "platforms": ["linux/amd64"],
        "results": results,
    }


# ----------------------------------------------------------------- parallel and nightly


def parallel_project(base: Path, count: int) -> Path:
    path = base / f"parallel-{count}"
    shutil.copytree(FIXTURES / "parallel", path)
    images = {
        f"job{index}": {
            "repository": f"{NAMESPACE}/parallel/job{index}",
            "context": ".",
            "build-args": {"JOB": str(index)},
        }
        for index in range(count)
    }
    write_config(path / "bkrun.toml", f"bench-parallel-{count}", images, platforms=["linux/amd64"])
    git_project(path)
    return path


def suite_parallel(args: argparse.Namespace, sizes: list[int | str]) -> dict[str, Any]:
    """bkrun build --jobs N against --jobs 1 on N independent images whose step always runs."""
    if not has_option("build", "--jobs"):
        return {"status": "not available yet", "needs": "bkrun build --jobs"}
    results = []
    with tempfile.TemporaryDirectory(prefix="bkrun-bench-parallel-") as tmp:
        for count in sizes:
            project = parallel_project(Path(tmp), int(count))

            def build(jobs: int, project: Path = project) -> float:
                # A new commit: the step re-runs in every image.
                commit_change(project, "nonce", uuid.uuid4().hex)
                return checked([BKRUN, "build", "--jobs", str(jobs)], project).seconds

            pairs = paired(lambda: build(1), lambda: build(int(count)), args.runs)  # noqa: B023
            results.append(
                {
                    "size": int(count),
                    "unit": "images",
                    "jobs_1_s": stats([p[0] for p in pairs]),
                    "jobs_n_s": stats([p[1] for p in pairs]),
                    "ratio": stats([p[1] / p[0] for p in pairs], 2),
                }
            )
    return {"results": results}


def suite_nightly(args: argparse.Namespace, sizes: list[int | str]) -> dict[str, Any]:
    """bkrun build --push --if-changed with nothing changed, against a cached full build."""
    if not has_option("build", "--if-changed"):
        return {"status": "not available yet", "needs": "bkrun build --if-changed"}
    results = []
    with tempfile.TemporaryDirectory(prefix="bkrun-bench-nightly-") as tmp:
        for count in sizes:
            project = overhead_project(Path(tmp), int(count), "nightly")
            full = [BKRUN, "build", "--push"]
            retried(lambda: checked(full, project))  # noqa: B023
            pairs = paired(
                lambda: checked([*full, "--if-changed"], project).seconds,  # noqa: B023
                lambda: checked(full, project).seconds,  # noqa: B023
                args.runs,
            )
            results.append(
                {
                    "size": int(count),
                    "unit": "images",
                    "if_changed_s": stats([p[0] for p in pairs]),
                    "full_cached_s": stats([p[1] for p in pairs]),
                    "ratio": stats([p[0] / p[1] for p in pairs], 2),
                }
            )
    return {"results": results}


SUITES = {
    "plan": SuiteSpec(suite_plan, (1, 10, 100, 1000), 5, "bkrun plan vs bake --print"),
    "overhead": SuiteSpec(suite_overhead, (1, 3), 5, "bkrun build vs the same buildx in sh"),
    "cache": SuiteSpec(suite_cache, ("apt", "pip"), 3, "cold, rebuild, fresh-runner rebuild"),
    "parallel": SuiteSpec(suite_parallel, (4,), 3, "bkrun build --jobs"),
    "nightly": SuiteSpec(suite_nightly, (3,), 3, "bkrun build --if-changed"),
}


# ------------------------------------------------------------------------------- report


def fmt(value: dict[str, Any], unit: str = "") -> str:
    return f"{value['median']}{unit} ({value['min']}–{value['max']})"


def render(report: dict[str, Any]) -> str:
    """The report as markdown: a heading, the context, one table per suite."""
    meta = report["meta"]
    box = meta["machine"]
    lines = [
        f"# bkrun benchmarks, {meta['date']}",
        "",
        f"- machine: {box['cores']} cores ({box['cpu']}), {box['memory_gib']} GiB, {box['os']}",
        f"- bkrun commit: {meta['commit']} (HEAD {meta['head']}); {meta['versions']['bkrun']}",
        f"- buildx: {meta['versions']['buildx']}; engine: {meta['versions']['engine']}",
        "- figures: median (min–max) of the runs shown; ratios pair by pair within a run",
    ]
    for name, suite in report["suites"].items():
        load = "–".join(map(str, suite["load"]))
        lines += ["", f"## {name} ({suite['runs']} run(s), load average {load})", ""]
        if suite.get("status") != "ok":
            lines.append(f"{suite['status']}: {suite.get('needs') or suite.get('error', '')}")
            continue
        lines += render_suite(name, suite)
    return "\n".join(lines) + "\n"


def render_suite(name: str, suite: dict[str, Any]) -> list[str]:
    rows: list[list[str]] = []
    if name == "plan":
        head = ["images", "bkrun", "bkrun plan s", "bake --print s", "ratio", "bkrun MiB"]
        head.append("bake MiB")
        for r in suite["results"]:
            rows.append(
                [
                    str(r["size"]),
                    r.get("variant", "default"),
                    fmt(r["bkrun_s"]),
                    fmt(r["bake_s"]),
                    fmt(r["ratio"]),
                    fmt(r["bkrun_rss_mib"]),
                    fmt(r["bake_rss_mib"]),
                ]
            )
    elif name == "overhead":
        head = ["images", "mode", "bkrun build s", "shell s", "bkrun − shell s", "ratio"]
        for r in suite["results"]:
            if "error" in r:
                error = r["error"].strip().splitlines()[-1]
                rows.append([str(r["size"]), r["variant"], f"failed: {error}", "", "", ""])
                continue
            cells = [str(r["size"]), r["variant"], fmt(r["bkrun_s"]), fmt(r["shell_s"])]
            rows.append([*cells, fmt(r["difference_s"]), fmt(r["ratio"]) + mark(r)])
    elif name == "cache":
        head = ["image", "cold s", "source change s", "deps change s", "fresh runner s"]
        head.append("fresh / cold")
        for r in suite["results"]:
            cells = [r["size"], fmt(r["cold_s"]), fmt(r["source_change_s"])]
            cells += [fmt(r["dependency_change_s"]), fmt(r["fresh_runner_s"])]
            rows.append([*cells, fmt(r["fresh_vs_cold"]) + mark(r)])
    else:
        head = ["images", *[k for k in suite["results"][0] if k.endswith("_s")], "ratio"]
        for r in suite["results"]:
            rows.append([str(r["size"]), *[fmt(r[k]) for k in head[1:-1]], fmt(r["ratio"])])
    lines = [table_row(head), table_row(["---"] * len(head)), *map(table_row, rows)]
    lines += render_extras(name, suite)
    return lines


def mark(result: dict[str, Any]) -> str:
    v = result["verdict"]
    return f" met (target {v['target']})" if v["met"] else f" MISSED by {v['by_percent']}%"


def table_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_extras(name: str, suite: dict[str, Any]) -> list[str]:
    lines = [""]
    if suite["retries"]:
        last = suite["retries"][-1]
        lines += [f"Retried after a failure {len(suite['retries'])} time(s); last: {last}", ""]
    if "target" in suite:
        lines.append(f"Target: {suite['target']}.")
    if name == "cache":
        lines += ["", "Slowest steps of the last fresh-runner build (s):", ""]
        for r in suite["results"]:
            steps = r.get("fresh_runner_slowest_steps", [])[:3]
            shown = "; ".join(f"{s['step']} {s['seconds']}" for s in steps)
            lines.append(f"- {r['size']}: {shown}")
    if name != "plan":
        return lines
    if suite["verdict"]:
        v = suite["verdict"]
        state = "met" if v["met"] else f"MISSED by {v['by_percent']}%"
        lines.append(f"At 100 images: {state}.")
    start = suite["cold_start"]
    lines += [
        f"Cold start: bkrun --version {fmt(start['bkrun_version_s'], ' s')}; "
        f"python -c pass {fmt(start['python_bare_s'], ' s')}.",
        "",
        f"Import time of bkrun plan (-X importtime): {suite['import_time']['total_ms']} ms; "
        "by package (ms): "
        + ", ".join(f"{k} {v}" for k, v in suite["import_time"]["by_package_ms"].items()),
    ]
    profile = suite.get("profile")
    if profile:
        title = f"cProfile of bkrun plan --json --push, {profile['images']} images"
        lines += ["", f"{title} ({profile['total_s']} s under the profiler):", ""]
        lines.append(table_row(["bkrun function", "cumulative s", "calls"]))
        lines.append(table_row(["---"] * 3))
        for row in profile["bkrun_functions"][:10]:
            cells = [f"`{row['function']}`", str(row["seconds"]), str(row["calls"])]
            lines.append(table_row(cells))
        lines += ["", table_row(["any function", "own time s", "calls"])]
        lines.append(table_row(["---"] * 3))
        for row in profile["by_own_time"][:10]:
            cells = [f"`{row['function']}`", str(row["seconds"]), str(row["calls"])]
            lines.append(table_row(cells))
    return lines


# --------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Suites: " + "; ".join(f"{n}: {s.what}" for n, s in SUITES.items()),
        allow_abbrev=False,
    )
    parser.add_argument(
        "--suite",
        action="append",
        choices=[*SUITES, "all"],
        help="suite to run (repeatable; 'all' for every one; default: all with --smoke)",
    )
    parser.add_argument("--runs", type=int, help="runs per figure (default: per suite, 3-5)")
    parser.add_argument(
        "--sizes",
        nargs="+",
        help="suite-specific sizes: image counts (plan, overhead, parallel, nightly) "
        "or images of the cache suite (apt, pip)",
    )
    parser.add_argument("--json", type=Path, help="also write the full report as JSON here")
    parser.add_argument(
        "--smoke", action="store_true", help="smallest size of each suite, once (for CI)"
    )
    parser.add_argument(
        "--checkout",
        type=Path,
        default=ROOT,
        help="the bkrun checkout to measure, with its own .venv (default: this one); "
        "e.g. a clean clone of HEAD while the work tree is being edited",
    )
    parser.add_argument(
        "--profile", action="store_true", help="plan suite: cProfile even if the target is met"
    )
    args = parser.parse_args(argv)
    if not args.suite and not args.smoke:
        parser.error("choose a suite with --suite NAME (or --smoke for all of them)")
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def run_suite(name: str, args: argparse.Namespace) -> dict[str, Any]:
    spec = SUITES[name]
    sizes: list[int | str] = list(args.sizes or spec.sizes)
    if isinstance(spec.sizes[0], int):
        if not all(str(s).isdigit() and int(s) > 0 for s in sizes):
            raise SystemExit(f"benchmark: --sizes for {name} are image counts, e.g. 1 10 100")
        sizes = sorted(int(s) for s in sizes)
    elif not set(sizes) <= set(spec.sizes):
        raise SystemExit(f"benchmark: --sizes for {name}: choose from {', '.join(spec.sizes)}")
    if args.smoke:
        sizes = sizes[:1]
    suite_args = argparse.Namespace(**vars(args))
    suite_args.runs = 1 if args.smoke else (args.runs or spec.runs)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    print(f"benchmark: {name} sizes={sizes} runs={suite_args.runs}", file=sys.stderr, flush=True)
    RETRIES.clear()
    try:
        if name != "plan":
            wait_for_engine()
        result = spec.run(suite_args, sizes)
    except (RuntimeError, OSError, ValueError) as exc:
        result = {"status": "failed", "error": str(exc)}
    return {
        "status": result.pop("status", "ok"),
        "runs": suite_args.runs,
        "sizes": sizes,
        "seconds": round(time.perf_counter() - started, 1),
        # One-minute load averages: other work on the machine shows up here.
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "retries": list(RETRIES),
        **result,
    }


def use_checkout(path: Path) -> None:
    global CHECKOUT, BKRUN, PYTHON
    CHECKOUT = path.resolve()
    BKRUN = CHECKOUT / ".venv" / "bin" / "bkrun"
    PYTHON = CHECKOUT / ".venv" / "bin" / "python"
    if not BKRUN.is_file():
        raise SystemExit(f"benchmark: no {BKRUN}; install bkrun into that checkout's .venv")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    use_checkout(args.checkout)
    names = list(SUITES) if not args.suite or "all" in args.suite else args.suite
    report: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            **bkrun_commit(),
            "versions": tool_versions(),
            "smoke": args.smoke,
        },
        "suites": {name: run_suite(name, args) for name in dict.fromkeys(names)},
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(render(report), end="")
    return 1 if any(s["status"] == "failed" for s in report["suites"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
