"""The typer app: options and dispatch only; each command lives in buildkit_runner.commands."""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument

from buildkit_runner import __version__
from buildkit_runner.errors import (
    INTERNAL_ERROR_EXIT_CODE,
    INTERRUPTED_EXIT_CODE,
    BkrunError,
    ConfigError,
)
from buildkit_runner.runopts import (
    IfChangedOpt,
    JobsOpt,
    KeepGoingOpt,
    NoDepsOpt,
    ProfileOpt,
    PullOpt,
    RunFlags,
)


def _argument_type(self: TyperArgument, ctx: Any) -> str | None:
    # typer shows an argument as "IMAGE <list[str]>" even with a metavar; the metavar
    # (IMAGE, DIRECTORY) says it all, as it does for options.
    return None if self.metavar else _TYPER_ARGUMENT_TYPE(self, ctx)


_TYPER_ARGUMENT_TYPE = TyperArgument.display_type_rich
TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign, assignment]

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
            metavar="PATH",
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
            envvar="BKRUN_VERBOSE",
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
            envvar="BKRUN_QUIET",
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
    color: Annotated[
        str,
        typer.Option(
            envvar="BKRUN_COLOR",
            metavar="WHEN",
            help="auto (a terminal, unless NO_COLOR is set or TERM=dumb; FORCE_COLOR forces "
            "it), always or never.",
        ),
    ] = "auto",
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    from buildkit_runner import log
    from buildkit_runner.commands.common import GlobalOptions
    from buildkit_runner.display import COLOR_CHOICES, color_enabled

    if log_format not in log.FORMATS:
        _fail(ConfigError([f"--log-format {log_format!r}: expected one of {log.FORMATS}"]))
    if color not in COLOR_CHOICES:
        _fail(ConfigError([f"--color {color!r}: expected one of {COLOR_CHOICES}"]))
    from buildkit_runner.config.load import set_source

    # Error messages name where a bad config path came from, when typer knows.
    given = ctx.get_parameter_source("config") if config is not None else None
    set_source(
        {"COMMANDLINE": "-c/--config", "ENVIRONMENT": "BKRUN_CONFIG"}.get(
            getattr(given, "name", "")
        )
    )
    use_color = color_enabled(color, sys.stderr, os.environ)
    log.configure(verbose - quiet, log_format, color=use_color)
    _ERROR_FORMAT["format"] = log_format
    ctx.obj = GlobalOptions(
        config=config, verbosity=verbose - quiet, log_format=log_format, color=use_color
    )


def _images_argument(help_text: str) -> Any:
    return typer.Argument(metavar="IMAGE", help=help_text, show_default=False)


ImagesArg = Annotated[
    list[str] | None,
    _images_argument("Images to build (default: all); their dependencies come along."),
]
TagsImagesArg = Annotated[list[str] | None, _images_argument("Images to list (default: all).")]
PlanImagesArg = Annotated[
    list[str] | None,
    _images_argument("Images to plan (default: all); their dependencies come along."),
]
ExportImagesArg = Annotated[
    list[str] | None,
    _images_argument(
        "Images to export as bake targets (default: all); their dependencies come along."
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
        metavar="PLATFORM",
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


OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        envvar="BKRUN_OFFLINE",
        help="Skip the probes of the builder and registries (cache writability, "
        "image-manifest support); the plan then assumes every cache export can happen.",
    ),
]


def _plan_options(
    images: list[str] | None,
    push: bool,
    load: bool,
    platform: list[str] | None,
    cache_export: bool | None,
    offline: bool = False,
    flags: RunFlags | None = None,
) -> Any:
    from buildkit_runner.plan import Options

    flags = flags or RunFlags()
    platforms = tuple(p.strip() for value in platform or () for p in value.split(",") if p.strip())
    return Options(
        images=tuple(images or ()),
        push=push,
        load=load,
        platforms=platforms,
        cache_export=cache_export,
        offline=offline,
        profile=flags.profile,
        jobs=flags.jobs,
        keep_going=flags.keep_going,
        if_changed=flags.if_changed,
        no_deps=flags.no_deps,
        pull=flags.pull,
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


JsonOpt = Annotated[
    bool,
    typer.Option("--json", envvar="BKRUN_JSON", help="One versioned JSON document on stdout."),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        envvar="BKRUN_REPORT",
        metavar="PATH",
        help="Write the run's JSON report here (also on failure); see docs/reports.md.",
    ),
]
SummaryOpt = Annotated[
    Path | None,
    typer.Option(
        envvar="BKRUN_SUMMARY",
        metavar="PATH",
        help="Write a Markdown summary here (on GitHub it is also appended to "
        "$GITHUB_STEP_SUMMARY).",
    ),
]
JunitOpt = Annotated[
    Path | None,
    typer.Option(
        envvar="BKRUN_JUNIT", metavar="PATH", help="Write JUnit XML here: one testcase per image."
    ),
]
PreflightOpt = Annotated[
    bool,
    typer.Option(
        "--preflight/--no-preflight",
        envvar="BKRUN_PREFLIGHT",
        help="Check the engine, cache export and emulators before building.",
    ),
]


@app.command()
def plan(
    ctx: typer.Context,
    images: PlanImagesArg = None,
    push: PushOpt = False,
    load: LoadOpt = False,
    platform: PlatformOpt = None,
    trigger: TriggerOpt = None,
    cache_export: CacheExportOpt = None,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
    profile: ProfileOpt = None,
    jobs: JobsOpt = None,
    keep_going: KeepGoingOpt = None,
    if_changed: IfChangedOpt = None,
    no_deps: NoDepsOpt = False,
    pull: PullOpt = None,
) -> None:
    """Print the exact docker buildx commands that build would run."""
    from buildkit_runner.commands import plan as command

    def go() -> int:
        _check_trigger(trigger)
        flags = RunFlags(profile, jobs, keep_going, if_changed, no_deps, pull)
        options = _plan_options(images, push, load, platform, cache_export, offline, flags)
        return command.run(ctx.obj, options, trigger, json_output)

    _dispatch(go)


@app.command()
def tags(
    ctx: typer.Context,
    images: TagsImagesArg = None,
    trigger: TriggerOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """List each image's tags for this commit, the rule behind each, and skipped rules."""
    from buildkit_runner.commands import tags as command

    def go() -> int:
        _check_trigger(trigger)
        return command.run(ctx.obj, tuple(images or ()), trigger, json_output)

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
    offline: OfflineOpt = False,
    report: ReportOpt = None,
    summary: SummaryOpt = None,
    junit: JunitOpt = None,
    preflight: PreflightOpt = True,
    profile: ProfileOpt = None,
    jobs: JobsOpt = None,
    keep_going: KeepGoingOpt = None,
    if_changed: IfChangedOpt = None,
    no_deps: NoDepsOpt = False,
    pull: PullOpt = None,
) -> None:
    """Build the images in dependency order (and push them with --push)."""
    from buildkit_runner.commands import build as command

    def go() -> int:
        _check_trigger(trigger)
        flags = RunFlags(profile, jobs, keep_going, if_changed, no_deps, pull)
        options = _plan_options(images, push, load, platform, cache_export, offline, flags)
        outputs = command.Outputs(report, summary, junit, preflight)
        return command.run(ctx.obj, options, trigger, outputs)

    _dispatch(go)


@app.command()
def validate(
    ctx: typer.Context,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            envvar="BKRUN_OFFLINE",
            help="Skip the builder check (can it use the configured cache backends?); "
            "the config and this commit's tags are still checked.",
        ),
    ] = False,
) -> None:
    """Check the config and this commit's tags; report every problem plan would, at once."""
    from buildkit_runner.commands import validate as command

    _dispatch(lambda: command.run(ctx.obj, offline))


@app.command()
def doctor(ctx: typer.Context, json_output: JsonOpt = False) -> None:
    """Check this machine can build the project; each problem comes with its fix."""
    from buildkit_runner.commands import doctor as command

    _dispatch(lambda: command.run(ctx.obj, json_output))


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIRECTORY",
            help="The project to describe (default: the current directory).",
            show_default=False,
        ),
    ] = Path(),
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            envvar="BKRUN_INIT_FROM",
            metavar="FILE",
            help="Translate this build script (docker build/buildx build/push lines) or "
            "compose file instead of scanning for Dockerfiles.",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            envvar="BKRUN_INIT_REGISTRY",
            metavar="HOST[/NAMESPACE]",
            help="Registry for images whose repository names no host, with an optional "
            "namespace: ghcr.io/acme puts app at ghcr.io/acme/app (a scheme is ignored).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            envvar="BKRUN_INIT_OUTPUT",
            metavar="PATH",
            help="Where to write (default: DIRECTORY/bkrun.toml; - for stdout).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", envvar="BKRUN_INIT_FORCE", help="Overwrite an existing file."),
    ] = False,
) -> None:
    """Write a commented bkrun.toml from Dockerfiles, a build script or a compose file."""
    from buildkit_runner.commands import init as command

    _dispatch(lambda: command.run(ctx.obj, directory, source, registry, output, force))


export_app = typer.Typer(help="Write the project in another tool's format.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("bake")
def export_bake(
    ctx: typer.Context,
    images: ExportImagesArg = None,
    push: PushOpt = False,
    platform: PlatformOpt = None,
    trigger: TriggerOpt = None,
    cache_export: CacheExportOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            envvar="BKRUN_EXPORT_OUTPUT",
            metavar="PATH",
            help="Where to write (default: docker-bake.json next to the config; - for stdout).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", envvar="BKRUN_EXPORT_FORCE", help="Overwrite an existing file."),
    ] = False,
) -> None:
    """Write an equivalent docker-bake.json, to build with plain docker buildx bake."""
    from buildkit_runner.commands import export as command

    def go() -> int:
        _check_trigger(trigger)
        options = _plan_options(images, push, False, platform, cache_export)
        return command.run(ctx.obj, options, trigger, output, force)

    _dispatch(go)


@app.command()
def schema() -> None:
    """Print the JSON Schema of bkrun.toml (for editors and CI linters)."""
    from buildkit_runner.commands import schema as command

    _dispatch(command.run)


@app.command()
def login(ctx: typer.Context) -> None:
    """Log in to every configured registry (password on stdin, never on argv)."""
    from buildkit_runner.commands import login as command

    _dispatch(lambda: command.run(ctx.obj))


@app.command()
def gc(
    ctx: typer.Context,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", envvar="BKRUN_GC_YES", help="Delete (default: only list what is stale)."
        ),
    ] = False,
    trigger: TriggerOpt = None,
) -> None:
    """List, or with --yes delete, stale cache refs and tags ([gc] rules)."""
    from buildkit_runner.commands import gc as command

    _dispatch(lambda: command.run(ctx.obj, yes, trigger))


@app.command()
def prune(
    ctx: typer.Context,
    keep_storage: Annotated[
        str | None,
        typer.Option(
            envvar="BKRUN_KEEP_STORAGE",
            metavar="SIZE",
            help="Cache to keep, e.g. 10GB or 512MB (default: [prune] keep-storage, else 10GB).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            envvar="BKRUN_PRUNE_UNTIL",
            metavar="DURATION",
            help="Only cache unused for this long, a Go duration: 24h, 30m, 168h "
            "(default: [prune] until).",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            envvar="BKRUN_PRUNE_YES",
            help="Prune (default: only show the cache usage and the command it would run).",
        ),
    ] = False,
) -> None:
    """Show, or with --yes prune, the builder's local build cache ([prune] keep-storage)."""
    from buildkit_runner.commands import prune as command

    _dispatch(lambda: command.run(ctx.obj, keep_storage, until, yes))


def _json_errors() -> bool:
    # Under --log-format json, stderr holds JSON objects only, errors included. The option
    # is read by the callback, which has not run when the command line itself is wrong.
    return _ERROR_FORMAT.get("format", os.environ.get("BKRUN_LOG_FORMAT")) == "json"


_ERROR_FORMAT: dict[str, str] = {}


def _print_error(title: str, message: str, details: Sequence[str] = ()) -> None:
    if _json_errors():
        event: dict[str, Any] = {
            "level": "error",
            "event": "bkrun_error",
            "title": title,
            "message": message,
        }
        if details:
            event["details"] = list(details)
        print(json.dumps(event), file=sys.stderr)
        return
    print(f"bkrun: {title}: {message}", file=sys.stderr)
    for line in details:
        print(f"  {line}", file=sys.stderr)


def _fail(exc: BkrunError) -> None:
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            _print_error("error", problem)
    else:
        _print_error(exc.title, exc.message, exc.details)
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
    from buildkit_runner.redact import REDACTOR

    # Known secret values are masked here too: an exception message can quote anything.
    if os.environ.get("BKRUN_DEBUG"):
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        print(REDACTOR.text(text), file=sys.stderr, end="")
    message = REDACTOR.text(f"{type(exc).__name__}: {exc}")
    print(
        f"bkrun: internal error: {message} "
        "(a bug in bkrun; set BKRUN_DEBUG=1 for the traceback and report it)",
        file=sys.stderr,
    )
    raise typer.Exit(INTERNAL_ERROR_EXIT_CODE)


def _terminated(signum: int, frame: object) -> None:
    # SIGTERM (a CI job cancelled, systemd stopping a timer's unit) takes the same path as
    # Ctrl-C: stop the builds, report what was published, exit 130.
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = app(prog_name="bkrun", standalone_mode=False)
    except typer.TyperException as exc:
        code = _usage_error(exc)
    except typer.Abort:
        code = INTERRUPTED_EXIT_CODE
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: Any) -> int:
    """A command line click rejected, as one line (the help only when nothing was given)."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        print(exc.format_message())
        return int(exc.exit_code)
    message = exc.format_message().rstrip(".")
    if "valid boolean" in message:
        message += " (expected true or false, 1 or 0, yes or no)"
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "bkrun"
    _print_error("error", f"{message}; see '{command} --help'")
    return int(exc.exit_code)
