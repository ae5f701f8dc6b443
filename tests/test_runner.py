"""runner: digest substitution, the state directory, secret values to mask."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit_runner.errors import BuildFailed
from buildkit_runner.runner import prepare_state_dir, substitute

DIGEST = "sha256:" + "b" * 64


def test_substitute_fills_known_digests() -> None:
    argv = ("--build-context", "base=docker-image://h.io/base@${base.digest}", "app")

    assert substitute(argv, {"base": DIGEST}) == [
        "--build-context",
        f"base=docker-image://h.io/base@{DIGEST}",
        "app",
    ]


def test_substitute_refuses_to_pass_an_unknown_digest_to_buildx() -> None:
    argv = ("--build-context", "base2=oci-layout://.bkrun/oci/base2@${base2.digest}")

    with pytest.raises(BuildFailed, match="the digest of 'base2' is unknown"):
        substitute(argv, {"base": DIGEST})


def test_state_dir_is_created_and_ignored_by_git(tmp_path: Path) -> None:
    prepare_state_dir(str(tmp_path), ".bkrun")
    assert (tmp_path / ".bkrun" / "metadata").is_dir()
    assert (tmp_path / ".bkrun" / ".gitignore").read_text() == "*\n"
    (tmp_path / ".bkrun" / ".gitignore").write_text("# mine\n")
    prepare_state_dir(str(tmp_path), ".bkrun")  # idempotent, keeps an existing file
    assert (tmp_path / ".bkrun" / ".gitignore").read_text() == "# mine\n"
