"""The process entry point: command-line mistakes are one line, in the chosen log format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _bkrun(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildkit_runner", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_unknown_option_is_one_line_with_where_to_look(tmp_path: Path) -> None:
    result = _bkrun("plan", "--bogus", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "bkrun: error: No such option: --bogus (Possible options: --jobs, --push); "
        "see 'bkrun plan --help'"
    ]


def test_bad_boolean_variable_says_what_is_valid(tmp_path: Path) -> None:
    # Once printed click's three-line usage block without the accepted values.
    result = _bkrun("plan", cwd=tmp_path, BKRUN_PUSH="maybe")

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "(env var: 'BKRUN_PUSH')" in line
    assert "(expected true or false, 1 or 0, yes or no)" in line


def test_json_log_format_keeps_errors_json(tmp_path: Path) -> None:
    usage = _bkrun("plan", "--bogus", cwd=tmp_path, BKRUN_LOG_FORMAT="json")
    config = _bkrun("--log-format", "json", "validate", cwd=tmp_path)

    for result in (usage, config):
        [line] = result.stderr.splitlines()
        event = json.loads(line)
        assert (event["level"], event["event"]) == ("error", "bkrun_error")
    assert config.returncode == 2
    assert "no bkrun.toml" in json.loads(config.stderr)["message"]


def test_no_arguments_shows_the_help(tmp_path: Path) -> None:
    result = _bkrun(cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout.startswith("Usage: bkrun [OPTIONS] COMMAND [ARGS]...")
    assert result.stderr == ""


def test_version(tmp_path: Path) -> None:
    result = _bkrun("--version", cwd=tmp_path)

    assert (result.returncode, result.stdout.split()[0]) == (0, "bkrun")
