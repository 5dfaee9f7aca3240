"""Commands that only read the hub's database refuse one it never wrote,
naming where they looked, rather than create an empty one and report on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub import cli


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["coverage", "--as-of", "2020-11-07"],
        ["publish", "--out", "site"],
        ["feed"],
        ["check"],
    ],
    ids=lambda command: command[0],
)
def test_a_reading_command_refuses_a_database_never_written(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "data" / "hub.sqlite"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUB_DATABASE_URL", "sqlite:///data/hub.sqlite")  # relative
    monkeypatch.setenv("HUB_GEO_DIR", str(tmp_path / "geo"))
    monkeypatch.setattr("sys.argv", ["hub", *command])

    with pytest.raises(SystemExit) as stopped:
        cli.main()

    assert stopped.value.code != 0
    said = " ".join(capsys.readouterr().err.split())  # as the console wrapped it
    assert f"no database at {missing}: run `hub run` first" in said
    assert not missing.exists()
