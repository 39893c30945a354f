"""Parquet tables outside the data dir (issue 17): a file:// folder and an object store (fsspec memory://)."""

from pathlib import Path
from uuid import uuid4

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from dj_pipeline.storage import DataPaths, list_batch_files, read_asset, write_parquet_atomic
from dj_pipeline.storage.duckdb_catalog import connect_readonly, publish_duckdb
from dj_pipeline.storage.fs import TablePath, read_arrow_table, resolve_parquet_dir
from dj_pipeline.storage.health import find_damaged, set_aside_all
from dj_pipeline.storage.parquet import clean_stale_temp_files
from dj_pipeline.storage.tables import CATALOG_ASSET, CATALOG_FILE, write_batch
from dj_pipeline_tests.test_storage import assert_a_failed_write_keeps_the_old_file

fsspec = pytest.importorskip("fsspec")


def _library(paths: DataPaths) -> None:
    """Two batches of features; t2 was deleted and t3 re-added, so b2 is its current batch."""
    write_batch(paths, "track_features", "b1", pd.DataFrame({"track_id": ["t1", "t2", "t3"], "bpm": [120.0, 124.0, 128.0]}))
    write_batch(paths, "track_features", "b2", pd.DataFrame({"track_id": ["t3"], "bpm": [130.0]}))
    catalog = pd.DataFrame([{"track_id": t, "batch": b, "path": f"/lib/{t}.wav"} for t, b in [("t1", "b1"), ("t3", "b2")]])
    write_parquet_atomic(catalog, paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE)


@pytest.fixture()
def memory_paths(tmp_path: Path):
    uri = f"memory://dj-test-{uuid4().hex}/tables"
    yield DataPaths(tmp_path / "data", parquet_uri=uri).ensure()
    fsspec.filesystem("memory").rm(uri.split("://", 1)[1].split("/")[0], recursive=True)


def test_uri_kinds_resolve(tmp_path: Path) -> None:
    default = tmp_path / "data" / "parquet"
    assert resolve_parquet_dir("", default) == default
    assert resolve_parquet_dir(f"file://{tmp_path}/shared", default) == tmp_path / "shared"
    assert resolve_parquet_dir(str(tmp_path / "shared"), default) == tmp_path / "shared"
    remote = resolve_parquet_dir("memory://bucket/prefix", default)
    assert isinstance(remote, TablePath) and remote.name == "prefix"
    with pytest.raises(ValueError):  # a scheme fsspec does not know
        resolve_parquet_dir("nosuchscheme://x/y", default)


def test_parquet_uri_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_PARQUET_URI", f"file://{tmp_path}/shared")
    assert DataPaths(tmp_path / "data").parquet_dir == tmp_path / "shared"
    monkeypatch.delenv("DJ_PARQUET_URI")
    assert DataPaths(tmp_path / "data").parquet_dir == tmp_path / "data" / "parquet"


def test_file_uri_in_another_folder_reads_writes_and_stays_sealed(tmp_path: Path) -> None:
    shared = tmp_path / "nfs" / "tables"
    paths = DataPaths(tmp_path / "data", parquet_uri=f"file://{shared}").ensure()
    _library(paths)
    assert (shared / "track_features" / "batch=b1.parquet").exists()
    assert not (tmp_path / "data" / "parquet").exists()
    assert read_asset(paths, "track_features").sort_values("track_id")["bpm"].tolist() == [120.0, 130.0]
    counts = publish_duckdb(paths)
    assert counts["track_features"] == 2
    con = connect_readonly(paths)
    assert sorted(r[0] for r in con.execute("SELECT track_id FROM track_features").fetchall()) == ["t1", "t3"]
    outside = tmp_path / "elsewhere.parquet"
    pq.write_table(pq.read_table(shared / "track_features" / "batch=b1.parquet"), outside)
    with pytest.raises(duckdb.PermissionException):  # still sealed: only the data dir and the tables' folder
        con.execute(f"SELECT * FROM read_parquet('{outside}')").fetchall()
    con.close()


def test_object_store_write_is_temp_key_then_move_and_temp_keys_are_ignored(memory_paths: DataPaths) -> None:
    target = memory_paths.batch_file("track_features", "b1")
    write_parquet_atomic(pd.DataFrame({"track_id": ["t1"], "x": [1]}), target)
    assert [p.name for p in target.parent.iterdir()] == ["batch=b1.parquet"]  # no temp key left
    (target.parent / ".tmp-dead.partial").fs.open_output_stream((target.parent / ".tmp-dead.partial").fs_path).close()
    assert [p.name for p in list_batch_files(target.parent)] == ["batch=b1.parquet"]
    assert read_arrow_table(target).to_pandas()["x"].tolist() == [1]
    assert clean_stale_temp_files(memory_paths.parquet_dir, older_than_s=-1.0) == 0  # the store tells no age: kept


def test_stale_temp_keys_are_removed_where_the_store_tells_their_age(tmp_path: Path) -> None:
    import pyarrow.fs as pafs

    root = TablePath(pafs.LocalFileSystem(), str(tmp_path), "local")
    write_parquet_atomic(pd.DataFrame({"x": [1]}), root / "a" / "batch=b1.parquet")
    (tmp_path / "a" / ".tmp-dead.partial").write_bytes(b"half")
    assert clean_stale_temp_files(root, older_than_s=3600.0) == 0  # young: a writer may still be at it
    assert clean_stale_temp_files(root, older_than_s=-1.0) == 1
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["batch=b1.parquet"]


def test_object_store_failed_write_keeps_the_old_object(memory_paths: DataPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_a_failed_write_keeps_the_old_file(memory_paths.batch_file("track_features", "b1"), monkeypatch)


def test_object_store_reads_and_duckdb_views_from_the_mirror(memory_paths: DataPaths) -> None:
    _library(memory_paths)
    assert not (memory_paths.root / "parquet").exists()
    got = read_asset(memory_paths, "track_features").sort_values("track_id")
    assert got["bpm"].tolist() == [120.0, 130.0]
    assert publish_duckdb(memory_paths)["track_features"] == 2
    mirror = memory_paths.parquet_mirror_dir
    assert (mirror / "track_features" / "batch=b2.parquet").exists()
    con = connect_readonly(memory_paths)
    assert con.execute("SELECT bpm FROM track_features WHERE track_id = 't3'").fetchall() == [(130.0,)]
    con.close()
    # the store changes: b2 is rewritten, b1 deleted; the next publish follows both
    write_batch(memory_paths, "track_features", "b2", pd.DataFrame({"track_id": ["t3"], "bpm": [131.0]}))
    memory_paths.batch_file("track_features", "b1").unlink()
    publish_duckdb(memory_paths)
    assert not (mirror / "track_features" / "batch=b1.parquet").exists()
    con = connect_readonly(memory_paths)
    assert con.execute("SELECT track_id, bpm FROM track_features").fetchall() == [("t3", 131.0)]
    con.close()


def test_damaged_object_is_set_aside_into_the_local_data_dir(memory_paths: DataPaths) -> None:
    _library(memory_paths)
    bad = memory_paths.batch_file("track_features", "b1")
    with bad.fs.open_output_stream(bad.fs_path) as out:
        out.write(b"PAR1 not a parquet file")
    damaged = set_aside_all(memory_paths, find_damaged(memory_paths, ["track_features"]))
    assert [(d.batch, d.path.name) for d in damaged] == [("b1", "batch=b1.parquet")]
    assert not bad.exists()
    assert damaged[0].moved_to.read_bytes() == b"PAR1 not a parquet file"
    assert damaged[0].moved_to.is_relative_to(memory_paths.root / "damaged")


@pytest.mark.slow  # a second full ingest of the demo library: ~20 s on this machine
def test_ingest_with_tables_in_another_folder_matches_a_default_ingest(
    small_library: Path, ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole ``dj ingest`` with ``$DJ_PARQUET_URI=file://<other folder>``: same rows, same SQL answers."""
    from dj_pipeline.pipeline import run_ingest

    shared = tmp_path / "shared_tables"
    monkeypatch.setenv("DJ_PARQUET_URI", f"file://{shared}")
    data = tmp_path / "data"
    run_ingest(small_library, data, embedding_backend="dsp", show_progress=False, echo=lambda s: None)
    assert not (data / "parquet").exists() and (shared / "track_catalog" / "catalog.parquet").exists()
    cols = ["track_id", "bpm"]
    got = read_asset(DataPaths(data), "track_features", cols).sort_values("track_id")[cols].reset_index(drop=True)
    monkeypatch.delenv("DJ_PARQUET_URI")
    want = read_asset(DataPaths(ingested), "track_features", cols).sort_values("track_id")[cols].reset_index(drop=True)
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, want)
    monkeypatch.setenv("DJ_PARQUET_URI", f"file://{shared}")
    con = connect_readonly(DataPaths(data))
    assert con.execute("SELECT count(*) FROM tracks").fetchone()[0] == len(want)
    con.close()
