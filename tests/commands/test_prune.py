"""bkrun prune: a dry run by default, --yes prunes; sizes and durations checked first."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit_runner import capabilities
from tests.conftest import Invoke
from tests.fakes import write_project

TOML = '[images.web]\nrepository = "127.0.0.1:5000/x/web"\ncontext = "web"\n'


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    (tmp_path / ".git").mkdir()
    write_project(tmp_path, TOML + '\n[prune]\nuntil = "72h"\n', ("web",))
    monkeypatch.chdir(tmp_path)
    made: list[tuple[str, str | None]] = []

    def prune(keep: str, until: str | None) -> str:
        made.append((keep, until))
        return "Total: 1.2GB"

    monkeypatch.setattr(capabilities, "prune", prune)
    monkeypatch.setattr(capabilities, "disk_usage", lambda: {"Total": "12GB", "Reclaimable": "9GB"})
    return made


def test_prune_is_a_dry_run_by_default(calls: list[object], cli: Invoke) -> None:
    result = cli("prune")
    assert result.exit_code == 0, result.output
    assert calls == []
    assert result.stdout.splitlines() == [
        "builder cache now: 12GB in total, 9GB reclaimable (docker buildx du)",
        "would prune cache unused for 72h or more, down to 10GB kept: "
        "docker buildx prune --force --keep-storage 10GB --filter until=72h",
        "run bkrun prune --yes to prune (BKRUN_PRUNE_YES=1)",
    ]


def test_prune_yes_prunes(calls: list[object], cli: Invoke) -> None:
    result = cli("prune", "--yes", "--keep-storage", "512MB", "--until", "30m")
    assert result.exit_code == 0, result.output
    assert calls == [("512MB", "30m")]
    assert "builder cache kept at or below 512MB" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--until", "3d"),
            "bkrun: error: --until: '3d' is not a duration: expected a Go duration like 24h, "
            "30m or 168h (units: ns, us, ms, s, m, h) (days are not a unit: 7 days is 168h)",
        ),
        (
            ("--keep-storage", "abc"),
            "bkrun: error: --keep-storage: 'abc' is not a size: expected a size like 10GB or "
            "512MB (units: B, KB, MB, GB, TB)",
        ),
    ],
)
def test_bad_options_are_usage_errors(
    calls: list[object], cli: Invoke, args: tuple[str, ...], message: str
) -> None:
    result = cli("prune", "--yes", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]
    assert calls == []


def test_prune_table_values_are_checked_with_a_human_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Invoke
) -> None:
    (tmp_path / ".git").mkdir()
    write_project(tmp_path, TOML + '\n[prune]\nkeep-storage = "abc"\nuntil = "1 day"\n', ("web",))
    monkeypatch.chdir(tmp_path)
    result = cli("validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "bkrun: error: bkrun.toml: prune.keep-storage: 'abc' is not a size: expected a size "
        "like 10GB or 512MB (units: B, KB, MB, GB, TB)",
        "bkrun: error: bkrun.toml: prune.until: '1 day' is not a duration: expected a Go "
        "duration like 24h, 30m or 168h (units: ns, us, ms, s, m, h)",
    ]


@pytest.mark.parametrize("value", ["24h", "30m", "168h", "1h30m", "1.5h", "0", "500ms"])
def test_go_durations_are_accepted(value: str) -> None:
    from buildkit_runner.units import duration_problem

    assert duration_problem(value) is None
