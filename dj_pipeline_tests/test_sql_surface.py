"""The sealed SQL surface (issue 15 item 4) and the movable data directory (issue 18 item 4).

``dj sql`` and :func:`connect_readonly` cannot write files, read outside the data directory, load
extensions or change settings; each refused statement is one clear line. A data directory that is
moved or copied answers queries from its own files.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dj_pipeline.cli import EXIT_USER_ERROR, main
from dj_pipeline.storage import DataPaths, write_parquet_atomic
from dj_pipeline.storage.duckdb_catalog import built_for, connect_readonly, publish_duckdb
from dj_pipeline.storage.parquet import default_file_mode
from dj_pipeline.storage.tables import CATALOG_ASSET, CATALOG_FILE, write_batch


def make_data_dir(root: Path, n_tracks: int = 3) -> DataPaths:
    """A data directory with a catalog and one ``track_features`` batch, published to ``dj.duckdb``."""
    paths = DataPaths(root).ensure()
    ids = [f"t{i}" for i in range(n_tracks)]
    catalog = pd.DataFrame({"track_id": ids, "batch": "b1", "path": [f"/lib/{t}.wav" for t in ids]})
    write_parquet_atomic(catalog, paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE)
    write_batch(paths, "track_features", "b1", pd.DataFrame({"track_id": ids, "bpm": [120.0 + i for i in range(n_tracks)]}))
    publish_duckdb(paths)
    return paths


@pytest.fixture()
def data(tmp_path: Path) -> DataPaths:
    return make_data_dir(tmp_path / "data")


def _sql(capsys: pytest.CaptureFixture[str], paths: DataPaths, query: str, *extra: str) -> tuple[int, str, str]:
    code = main(["sql", query, "--data", str(paths.root), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _assert_refused(code: int, err: str, expected: str) -> None:
    assert code == EXIT_USER_ERROR
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert expected in err, err


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("COPY (SELECT 1) TO '{outside}/x.csv'", "COPY writes or reads files"),
        ("COPY (SELECT 1) TO '{data}/x.csv'", "COPY writes or reads files"),
        ("COPY track_features FROM '{data}/parquet/track_features/batch=b1.parquet'", "COPY writes or reads files"),
        ("EXPORT DATABASE '{outside}/exported'", "EXPORT DATABASE writes files"),
        ("ATTACH '{outside}/other.duckdb' AS other", "ATTACH opens other databases"),
        ("INSTALL httpfs", "INSTALL/LOAD add extensions"),
        ("LOAD httpfs", "INSTALL/LOAD add extensions"),
        ("SET enable_external_access = true", "settings are locked"),
        ("DELETE FROM tracks", "read-only"),
        ("CREATE TABLE x (a INT)", "read-only"),
        ("DROP VIEW tracks", "read-only"),
        ("INSERT INTO tracks VALUES (1)", "read-only"),
        ("SELECT 1; COPY (SELECT 1) TO '{data}/y.csv'", "COPY writes or reads files"),
        ("SELECT * FROM read_csv('/etc/passwd')", "reads only files inside the data directory"),
        ("SELECT * FROM read_parquet('{outside}/*.parquet')", "reads only files inside the data directory"),
        ("SELECT * FROM read_text('{data}/../secret.txt')", "reads only files inside the data directory"),
        ("SELECT * FROM glob('/*')", "reads only files inside the data directory"),
        ("", "empty query"),
        ("  ;  ", "empty query"),
    ],
)
def test_statement_is_refused_in_one_line(capsys: pytest.CaptureFixture[str], data: DataPaths, tmp_path: Path, statement: str, expected: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write_parquet_atomic(pd.DataFrame({"x": [1]}), outside / "o.parquet")
    (tmp_path / "secret.txt").write_text("secret")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, out, err = _sql(capsys, data, statement.format(outside=outside, data=data.root))
    _assert_refused(code, err, expected)
    assert "secret" not in out and "root:" not in out
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, "a refused statement wrote a file"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT count(*) AS n FROM tracks", [{"n": 3}]),
        ("SELECT bpm FROM track_features ORDER BY bpm LIMIT 1", [{"bpm": 120.0}]),
        ("SELECT count(*) AS n FROM read_parquet('{data}/parquet/track_features/*.parquet')", [{"n": 3}]),
        ("FROM (SHOW TABLES) SELECT count(*) > 0 AS ok", [{"ok": True}]),
    ],
)
def test_queries_inside_the_data_dir_run(capsys: pytest.CaptureFixture[str], data: DataPaths, statement: str, expected: list[dict]) -> None:
    code, out, err = _sql(capsys, data, statement.format(data=data.root), "--json")
    assert code == 0, err
    assert json.loads(out) == expected


def test_table_output_and_max_rows(capsys: pytest.CaptureFixture[str], data: DataPaths) -> None:
    code, out, _ = _sql(capsys, data, "SELECT track_id, bpm FROM track_features ORDER BY track_id", "--max-rows", "2")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["track_id", "bpm"] and lines[1].split() == ["t0", "120"]
    assert len(lines) == 4 and "only the first 2" in lines[3]
    code, out, _ = _sql(capsys, data, "SELECT track_id FROM track_features", "--max-rows", "0")
    assert code == 0 and len(out.splitlines()) == 4


def test_python_connection_is_sealed(data: DataPaths, tmp_path: Path) -> None:
    con = connect_readonly(data)
    try:
        assert con.execute("SELECT count(*) FROM tracks").fetchone() == (3,)
        for statement in ("SET enable_external_access = true", "SET lock_configuration = false", "SET allowed_directories = ['/']"):
            with pytest.raises(duckdb.Error, match="locked"):
                con.execute(statement)
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"COPY (SELECT 1) TO '{tmp_path}/out.csv'")
    finally:
        con.close()
    assert not (tmp_path / "out.csv").exists()


def test_moved_and_copied_data_dirs_each_read_their_own_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    original = make_data_dir(tmp_path / "original", n_tracks=3)
    copy = DataPaths(tmp_path / "copy")
    shutil.copytree(original.root, copy.root)
    # the copy diverges: one track fewer in its catalog; the original must not see it and vice versa
    catalog = pd.read_parquet(copy.asset_dir(CATALOG_ASSET) / CATALOG_FILE).head(2)
    write_parquet_atomic(catalog, copy.asset_dir(CATALOG_ASSET) / CATALOG_FILE)
    query = "SELECT count(*) AS n FROM track_features"
    assert json.loads(_sql(capsys, copy, query, "--json")[1]) == [{"n": 2}]
    assert json.loads(_sql(capsys, original, query, "--json")[1]) == [{"n": 3}]
    assert built_for(copy) == str(copy.root), "the copy's dj.duckdb is rebuilt for the copy"

    moved = DataPaths(tmp_path / "moved" / "data")
    moved.root.parent.mkdir()
    original.root.rename(moved.root)
    code, out, err = _sql(capsys, moved, query, "--json")
    assert code == 0 and json.loads(out) == [{"n": 3}], err
    # after that open, a plain duckdb connection (the README's recipe) works from the new place too
    con = duckdb.connect(str(moved.duckdb_path), read_only=True)
    assert con.execute(query).fetchone() == (3,)
    con.close()


def test_catalog_from_before_the_info_view_is_rebuilt(capsys: pytest.CaptureFixture[str], data: DataPaths) -> None:
    con = duckdb.connect(str(data.duckdb_path))
    con.execute("DROP VIEW dj_catalog_info")
    con.close()
    assert built_for(data) is None
    code, out, _ = _sql(capsys, data, "SELECT count(*) AS n FROM tracks", "--json")
    assert code == 0 and json.loads(out) == [{"n": 3}] and built_for(data) == str(data.root)


def test_written_files_have_the_usual_mode(data: DataPaths) -> None:
    """Not 0600 (mkstemp's mode): other users and backup tools can read a library's tables."""
    wanted = default_file_mode()
    for f in [*data.parquet_dir.rglob("*.parquet"), data.duckdb_path]:
        assert stat.S_IMODE(f.stat().st_mode) == wanted, f


def test_damaged_catalog_database_is_rebuilt_on_open(capsys: pytest.CaptureFixture[str], data: DataPaths) -> None:
    data.duckdb_path.write_bytes(b"not a database at all")
    code, out, err = _sql(capsys, data, "SELECT count(*) AS n FROM tracks", "--json")
    assert code == 0 and json.loads(out) == [{"n": 3}], err
