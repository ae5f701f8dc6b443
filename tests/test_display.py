"""How a build shows itself: colour choice, CI folding, JSON lines, the live display."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from buildkit_runner import display
from tests.conftest import Invoke
from tests.fakes import FakeDocker


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("choice", "env", "tty", "expected"),
    [
        ("always", {"NO_COLOR": "1"}, False, True),
        ("never", {"FORCE_COLOR": "1"}, True, False),
        ("auto", {}, True, True),
        ("auto", {}, False, False),
        ("auto", {"NO_COLOR": "1"}, True, False),
        ("auto", {"NO_COLOR": ""}, True, True),  # set but empty does not count
        ("auto", {"FORCE_COLOR": "1"}, False, True),
        ("auto", {"TERM": "dumb"}, True, False),
    ],
)
def test_color_choice(choice: str, env: dict[str, str], tty: bool, expected: bool) -> None:
    stream = Tty() if tty else io.StringIO()

    assert display.color_enabled(choice, stream, env) is expected


def test_live_display_only_on_a_terminal_outside_ci() -> None:
    assert display.live_wanted(Tty(), {}, "auto")
    assert not display.live_wanted(io.StringIO(), {}, "auto")
    assert not display.live_wanted(Tty(), {"CI": "true"}, "auto")
    assert not display.live_wanted(Tty(), {"GITLAB_CI": "true"}, "auto")
    assert not display.live_wanted(Tty(), {"TERM": "dumb"}, "auto")
    assert not display.live_wanted(Tty(), {}, "json")


def test_github_actions_folds_each_image_and_annotates_the_failure(
    project: Path, cli: Invoke, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    fake_docker.script("app", 1, "ERROR: boom")

    result = cli("build")

    lines = result.stderr.splitlines()
    assert lines.count("::endgroup::") == 2
    assert "::group::base (1/2)" in lines and "::group::app (2/2)" in lines
    opened = lines.index("::group::base (1/2)")
    assert lines[opened + 1].startswith("level=info event=build_started image=base")
    assert any(line.startswith("::error title=bkrun: app::image 'app' failed") for line in lines)


@pytest.mark.parametrize("marker", ["GITEA_ACTIONS", "FORGEJO_ACTIONS"])
def test_gitea_and_forgejo_fold_like_github(
    marker: str,
    project: Path,
    cli: Invoke,
    fake_docker: FakeDocker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(marker, "true")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    assert "::group::base (1/2)" in cli("build").stderr


def test_gitlab_uses_collapsible_sections(
    project: Path, cli: Invoke, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_CI", "true")

    stderr = cli("build").stderr

    assert "\x1b[0Ksection_start:" in stderr
    assert ":bkrun_base[collapsed=true]\r\x1b[0Kbase (1/2)" in stderr
    assert ":bkrun_app\r\x1b[0K" in stderr and "section_end:" in stderr


def test_json_log_format_wraps_build_output(
    project: Path, cli: Invoke, fake_docker: FakeDocker
) -> None:
    result = cli("--log-format", "json", "build", "base")

    events = [json.loads(line) for line in result.stderr.splitlines()]
    outputs = [e for e in events if e["event"] == "build_output"]
    assert outputs and all(e["image"] == "base" for e in outputs)
    assert any(e["line"].startswith("#2 [1/1] RUN") for e in outputs)
    assert result.stdout.startswith("\nbkrun summary")


def _run_in_pty(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    main, child = pty.openpty()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=child, stdout=child, stderr=child)
    os.close(child)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(main)
    return process.wait(timeout=10), b"".join(chunks).decode("utf-8", "replace")


def test_live_display_in_a_pseudo_terminal(project: Path, fake_docker: FakeDocker) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm-256color"

    code, screen = _run_in_pty([sys.executable, "-m", "buildkit_runner", "build"], project, env)

    assert code == 0, screen
    # The display: a header and one row per image, redrawn in place with cursor movement.
    assert "image" in screen and "cache hits" in screen and "elapsed" in screen
    assert "\x1b[1A" in screen or "\x1b[2K" in screen
    assert "\x1b[32mbuilt" in screen  # coloured state on a terminal
    assert "0/1" in screen  # cache hits: none of the one step
    # BuildKit's lines are not printed one by one under the display (only with -v).
    assert "[base] #1" not in screen
    assert "bkrun summary" in screen
