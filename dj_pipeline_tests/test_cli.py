"""The ``dj`` command line: user errors are one line and exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dj_pipeline.cli import EXIT_USER_ERROR, main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "--library", "/no/such/folder", "--quiet"], "library folder not found"),
        (["analyze", "/no/such/file.wav"], "file not found"),
        (["roles", "--samples", "/no/such/folder"], "samples folder not found"),
    ],
)
def test_user_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str) -> None:
    code, _, err = _run(capsys, *argv, *(["--data", str(tmp_path)] if argv[0] == "ingest" else []))
    assert code == EXIT_USER_ERROR
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_sql_before_ingest_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys, "sql", "SELECT 1", "--data", str(tmp_path))
    assert code == EXIT_USER_ERROR and "run `dj ingest` first" in err


def test_analyze_non_audio_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("not audio at all")
    code, _, err = _run(capsys, "analyze", str(bogus))
    assert code == EXIT_USER_ERROR and "cannot analyse" in err


def test_sql_over_ingested_data(capsys: pytest.CaptureFixture[str], ingested: Path) -> None:
    code, out, _ = _run(capsys, "sql", "SELECT count(*) AS n FROM tracks", "--data", str(ingested), "--json")
    assert code == 0 and json.loads(out)[0]["n"] > 0
    code, _, err = _run(capsys, "sql", "SELEC nonsense", "--data", str(ingested))
    assert code == EXIT_USER_ERROR and err.startswith("dj sql: error: SQL error")
    code, _, err = _run(capsys, "sql", "CREATE TABLE x (a INT)", "--data", str(ingested))
    assert code == EXIT_USER_ERROR, "the SQL surface must be read-only"
