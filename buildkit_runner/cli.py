"""The typer app: options and dispatch only; each command lives in buildkit_runner.commands."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from buildkit_runner import __version__
from buildkit_runner.errors import (
    INTERNAL_ERROR_EXIT_CODE,
    INTERRUPTED_EXIT_CODE,
    BkrunError,
    ConfigError,
)

app = typer.Typer(
    name="bkrun",
    help="Build and publish container images with docker buildx from one TOML file.",
    no_args_is_help=True,
    add_completion=False,
    # Locals in tracebacks can hold registry passwords and tokens: never render them.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"bkrun {__version__}")
        raise typer.Exit()


@app.callback()
def callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="BKRUN_CONFIG",
            help="Config file (default: nearest bkrun.toml or pyproject.toml with "
            "[tool.bkrun], from the current directory up to the repository root).",
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="More log output (repeatable): -v adds debug events.",
        ),
    ] = 0,
    quiet: Annotated[
        int,
        typer.Option(
            "--quiet",
            "-q",
            count=True,
            show_default=False,
            help="Less log output (repeatable): -q warnings only, -qq errors only.",
        ),
    ] = 0,
    log_format: Annotated[
        str,
        typer.Option(
            envvar="BKRUN_LOG_FORMAT",
            metavar="FORMAT",
            help="auto (console on a terminal, logfmt elsewhere), console, logfmt or json.",
        ),
    ] = "auto",
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    from buildkit_runner import log
    from buildkit_runner.commands.common import GlobalOptions

    if log_format not in log.FORMATS:
        _fail(ConfigError([f"--log-format {log_format!r}: expected one of {log.FORMATS}"]))
    log.configure(verbose - quiet, log_format)
    ctx.obj = GlobalOptions(config=config, verbosity=verbose - quiet, log_format=log_format)


ImagesArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="IMAGE",
        help="Images to build (default: all); their dependencies come along.",
        show_default=False,
    ),
]
PushOpt = Annotated[
    bool, typer.Option("--push", envvar="BKRUN_PUSH", help="Push every tag to its registry.")
]
LoadOpt = Annotated[
    bool,
    typer.Option(
        "--load", envvar="BKRUN_LOAD", help="Load the (single-platform) image into the engine."
    ),
]
PlatformOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--platform",
        envvar="BKRUN_PLATFORM",
        help="Override every image's platforms (repeatable or comma-separated).",
    ),
]
TriggerOpt = Annotated[
    str | None,
    typer.Option(
        envvar="BKRUN_TRIGGER",
        metavar="TRIGGER",
        help="Why this run happens: push, pull_request, tag, schedule or manual "
        "(default: from the CI provider, else manual).",
    ),
]
CacheExportOpt = Annotated[
    bool | None,
    typer.Option(
        "--cache-export/--no-cache-export",
        envvar="BKRUN_CACHE_EXPORT",
        help="Write registry cache (default: only with --push).",
    ),
]


def _plan_options(
    images: list[str] | None,
    push: bool,
    load: bool,
    platform: list[str] | None,
    cache_export: bool | None,
) -> Any:
    from buildkit_runner.plan import Options

    platforms = tuple(p.strip() for value in platform or () for p in value.split(",") if p.strip())
    return Options(
        images=tuple(images or ()),
        push=push,
        load=load,
        platforms=platforms,
        cache_export=cache_export,
    )


def _check_trigger(trigger: str | None) -> None:
    from buildkit_runner.git import TRIGGERS

    if trigger is not None and trigger not in TRIGGERS:
        raise ConfigError(
            [
                f"--trigger {trigger!r}: expected one of {', '.join(TRIGGERS)} "
                "(a cron job is --trigger schedule)"
            ]
        )


@app.command()
def plan(
    ctx: typer.Context,
    images: ImagesArg = None,
    push: PushOpt = False,
    load: LoadOpt = False,
    platform: PlatformOpt = None,
    trigger: TriggerOpt = None,
    cache_export: CacheExportOpt = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One versioned JSON document on stdout.")
    ] = False,
) -> None:
    """Print the exact docker buildx commands that build would run."""
    from buildkit_runner.commands import plan as command

    def go() -> int:
        _check_trigger(trigger)
        options = _plan_options(images, push, load, platform, cache_export)
        return command.run(ctx.obj, options, trigger, json_output)

    _dispatch(go)


@app.command()
def build(
    ctx: typer.Context,
    images: ImagesArg = None,
    push: PushOpt = False,
    load: LoadOpt = False,
    platform: PlatformOpt = None,
    trigger: TriggerOpt = None,
    cache_export: CacheExportOpt = None,
) -> None:
    """Build the images in dependency order (and push them with --push)."""
    from buildkit_runner.commands import build as command

    def go() -> int:
        _check_trigger(trigger)
        options = _plan_options(images, push, load, platform, cache_export)
        return command.run(ctx.obj, options, trigger)

    _dispatch(go)


@app.command()
def validate(ctx: typer.Context) -> None:
    """Check the config file and report every problem at once."""
    from buildkit_runner.commands import validate as command

    _dispatch(lambda: command.run(ctx.obj))


def _fail(exc: BkrunError) -> None:
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            print(f"bkrun: error: {problem}", file=sys.stderr)
    else:
        print(f"bkrun: {exc.title}: {exc.message}", file=sys.stderr)
        for line in exc.details:
            print(f"  {line}", file=sys.stderr)
    raise typer.Exit(exc.exit_code)


def _dispatch(command: Callable[[], int]) -> None:
    """Run a command; turn expected errors into one message and their exit code."""
    try:
        code = command()
    except BkrunError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        print("bkrun: interrupted", file=sys.stderr)
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    except Exception as exc:
        _crash(exc)
    raise typer.Exit(code)


def _crash(exc: Exception) -> None:
    # A bug, not bad input: say so in one line; the traceback (no locals) only on request.
    if os.environ.get("BKRUN_DEBUG"):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(
        f"bkrun: internal error: {type(exc).__name__}: {exc} "
        "(a bug in bkrun; set BKRUN_DEBUG=1 for the traceback and report it)",
        file=sys.stderr,
    )
    raise typer.Exit(INTERNAL_ERROR_EXIT_CODE)


def main() -> None:
    app()
