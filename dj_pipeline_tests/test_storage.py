"""Atomic Parquet writes and current-row reads."""

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dj_pipeline.storage import DataPaths, list_batch_files, read_asset, write_parquet_atomic
from dj_pipeline.storage.tables import CATALOG_ASSET, CATALOG_FILE, write_batch, write_batch_errors


def assert_a_failed_write_keeps_the_old_file(target, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001 - a Path or a TablePath
    """A writer that dies mid-write leaves the previous file as it was and no temp file beside it
    (shared by the local and the object-store tests)."""
    from dj_pipeline.storage.fs import read_arrow_table

    write_parquet_atomic(pd.DataFrame({"x": [1, 2, 3]}), target)

    def boom(*args, **kwargs):
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(RuntimeError):
        write_parquet_atomic(pd.DataFrame({"x": [9]}), target)
    monkeypatch.undo()
    assert read_arrow_table(target).to_pandas()["x"].tolist() == [1, 2, 3]
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_atomic_write_keeps_old_file_when_writer_dies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_a_failed_write_keeps_the_old_file(tmp_path / "asset" / "batch=a.parquet", monkeypatch)


def test_leftover_temp_files_are_not_read(tmp_path: Path) -> None:
    d = tmp_path / "asset"
    write_parquet_atomic(pd.DataFrame({"x": [1]}), d / "batch=a.parquet")
    (d / ".tmp-abc.partial").write_bytes(b"PAR1 half a file")
    assert [p.name for p in list_batch_files(d)] == ["batch=a.parquet"]


def _catalog(paths: DataPaths, rows: list[tuple[str, str]]) -> None:
    df = pd.DataFrame([{"track_id": t, "batch": b, "path": f"/lib/{t}.wav"} for t, b in rows])
    write_parquet_atomic(df, paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE)


def test_read_asset_drops_deleted_tracks_and_stale_batches(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path).ensure()
    write_batch(paths, "track_features", "b1", pd.DataFrame({"track_id": ["t1", "t2", "t3"], "bpm": [120.0, 124.0, 128.0]}))
    write_batch(paths, "track_features", "b2", pd.DataFrame({"track_id": ["t3"], "bpm": [130.0]}))
    # t2 was deleted; t3 was deleted and re-added, so its current batch is b2
    _catalog(paths, [("t1", "b1"), ("t3", "b2")])
    got = read_asset(paths, "track_features").sort_values("track_id")
    assert got["track_id"].tolist() == ["t1", "t3"]
    assert got["bpm"].tolist() == [120.0, 130.0]


def test_tracks_view_excludes_tracks_that_failed_decoding(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path).ensure()
    _catalog(paths, [("t1", "b1"), ("t2", "b1")])
    errors = pd.DataFrame([{"path": "/lib/t2.wav", "error": "truncated", "track_id": "t2"}])
    write_batch_errors(paths, "windows", "b1", errors)
    assert read_asset(paths, "tracks")["track_id"].tolist() == ["t1"]
    errs = read_asset(paths, "ingest_errors")
    assert errs[["track_id", "stage", "error"]].values.tolist() == [["t2", "windows", "truncated"]]
