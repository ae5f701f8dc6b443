"""bkrun's own events: stderr only, one format per choice, never local variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog

from buildkit_runner import log
from buildkit_runner.commands import validate
from tests.conftest import Invoke

CANARY = "canary-3f9d-local-value"


def crash(*_args: object) -> int:
    registry_password = CANARY  # a local a traceback renderer with locals would print
    raise RuntimeError(f"boom ({len(registry_password)} chars)")


@pytest.mark.parametrize("fmt", ["console", "logfmt", "json"])
def test_exception_events_never_show_locals(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    log.configure(0, fmt)
    try:
        crash()
    except RuntimeError:
        log.get().exception("command_crashed")

    out, err = capsys.readouterr()
    assert out == ""
    assert "RuntimeError: boom" in err
    assert CANARY not in err


@pytest.mark.parametrize("fmt", ["console", "logfmt", "json"])
def test_internal_error_traceback_never_shows_locals(
    fmt: str, project: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validate, "run", crash)
    monkeypatch.setenv("BKRUN_DEBUG", "1")

    result = cli("--log-format", fmt, "validate")

    assert result.exit_code == 70
    assert "Traceback" in result.stderr and "in crash" in result.stderr
    assert CANARY not in result.stdout + result.stderr


def test_json_events_are_one_object_per_line_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log.configure(0, "json")
    structlog.contextvars.bind_contextvars(image="web")
    try:
        log.get().info("build_started", step="1/2")
    finally:
        structlog.contextvars.clear_contextvars()

    out, err = capsys.readouterr()
    assert out == ""
    assert json.loads(err) == {
        "image": "web",
        "step": "1/2",
        "level": "info",
        "event": "build_started",
    }


def test_auto_is_logfmt_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure(0, "auto")
    log.get().info("plan_resolved", images="a,b")

    assert capsys.readouterr().err == "level=info event=plan_resolved images=a,b\n"


def test_verbosity_filters(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure(-1, "logfmt")
    log.get().info("hidden")
    log.get().warning("shown")

    assert capsys.readouterr().err == "level=warning event=shown\n"
