"""Error classes; each owns the exit code the CLI returns for it.

The table is repeated in docs/cli.md, and a test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence


class BkrunError(Exception):
    """An expected failure: printed as one line (plus details), never as a traceback."""

    exit_code = 1
    title = "error"

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)


class BuildFailed(BkrunError):
    """An image failed to build."""

    exit_code = 1
    title = "build failed"


class ConfigError(BkrunError):
    """The config file, an option or an environment variable is wrong.

    ``problems`` holds one line per problem, each already naming its file and key path.
    """

    exit_code = 2
    title = "config error"

    def __init__(self, problems: Sequence[str]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in the configuration", problems)
        self.problems = tuple(problems)


class UsageError(BkrunError):
    """The command line asks for something impossible (e.g. --load with several platforms)."""

    exit_code = 2
    title = "usage error"


class NothingToBuild(BkrunError):
    """Nothing to build: the config defines no image (or init found none)."""

    exit_code = 3
    title = "nothing to build"


class EngineUnavailable(BkrunError):
    """docker, buildx or the engine cannot be reached."""

    exit_code = 4
    title = "engine unavailable"


class PushFailed(BkrunError):
    """An image was built but could not be pushed to its registry."""

    exit_code = 5
    title = "push failed"


class NotReady(BkrunError):
    """The machine cannot run the build: found by ``bkrun doctor`` or the build's preflight.

    A platform without an emulator, a builder that cannot export cache, an unreachable
    registry: each ``details`` line names one problem and its fix.
    """

    exit_code = 6
    title = "machine not ready"


class RegistryError(BkrunError):
    """A registry could not be reached or refused a request (login, gc, a probe)."""

    exit_code = 7
    title = "registry error"


class Locked(BkrunError):
    """Another build of the project holds its lock (lock = "fail", or a wait timed out)."""

    exit_code = 8
    title = "project locked"


INTERRUPTED_EXIT_CODE = 130


class Interrupted(BkrunError):
    """Ctrl-C or SIGTERM during a run: the builds were stopped, nothing more is published."""

    exit_code = INTERRUPTED_EXIT_CODE
    title = "interrupted"


# A bug in bkrun itself (EX_SOFTWARE in sysexits.h), never bad input.
INTERNAL_ERROR_EXIT_CODE = 70

EXIT_CODES: dict[int, str] = {
    0: "success",
    BuildFailed.exit_code: "an image failed to build",
    ConfigError.exit_code: "invalid configuration, option or environment variable "
    "(an unknown image name included)",
    NothingToBuild.exit_code: "nothing to build: the config (or init's search) has no image",
    EngineUnavailable.exit_code: "docker, buildx or the engine is unavailable",
    PushFailed.exit_code: "an image was built but pushing it failed",
    RegistryError.exit_code: "a registry could not be reached or refused a request",
    NotReady.exit_code: "a doctor or preflight check failed: the machine cannot run the build",
    Locked.exit_code: "another build of the project holds its lock",
    INTERNAL_ERROR_EXIT_CODE: "internal error: a bug in bkrun",
    INTERRUPTED_EXIT_CODE: "interrupted (Ctrl-C or SIGTERM)",
}
