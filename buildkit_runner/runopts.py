"""The options ``plan`` and ``build`` share for scheduling, change detection and profiles.

Each one that a profile can set defaults to None ("unset"), so commands/common.py can tell
a flag from its absence: flag or BKRUN_* variable, then the profile, then the built-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

ProfileOpt = Annotated[
    str | None,
    typer.Option(
        envvar="BKRUN_PROFILE",
        metavar="NAME",
        help="Apply [profiles.NAME] from the config (e.g. nightly).",
    ),
]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        envvar="BKRUN_JOBS",
        min=1,
        metavar="N",
        show_default=False,
        help="Build up to N independent images at once (default: the profile's, else 1).",
    ),
]
KeepGoingOpt = Annotated[
    bool | None,
    typer.Option(
        "--keep-going/--fail-fast",
        envvar="BKRUN_KEEP_GOING",
        show_default=False,
        help="After a failure, build (and publish) everything that does not depend on it; "
        "default fail-fast: start nothing new and publish nothing.",
    ),
]
IfChangedOpt = Annotated[
    bool | None,
    typer.Option(
        "--if-changed/--always",
        envvar="BKRUN_IF_CHANGED",
        show_default=False,
        help="Skip images whose input digest matches the registry's; they only get this "
        "commit's tags (default: the profile's, else always build).",
    ),
]
NoDepsOpt = Annotated[
    bool,
    typer.Option(
        "--no-deps",
        envvar="BKRUN_NO_DEPS",
        help="Build only the named images, on their dependencies' published digests.",
    ),
]
PullOpt = Annotated[
    bool | None,
    typer.Option(
        "--pull/--no-pull",
        envvar="BKRUN_PULL",
        show_default=False,
        help="Always fetch the newest base images (default: the config's pull).",
    ),
]


@dataclass(frozen=True)
class RunFlags:
    profile: str | None = None
    jobs: int | None = None
    keep_going: bool | None = None
    if_changed: bool | None = None
    no_deps: bool = False
    pull: bool | None = None
