"""Self-healing data (issue 15 item 6): damaged Parquet outputs are found, set aside and redone; a
damaged catalog is rebuilt from a rescan without re-analysis; readers skip a damaged batch with a
warning naming it; a full disk or a permission error ends the ingest with one line naming the path.
"""

from __future__ import annotations

import errno
import logging
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dj_pipeline.cli import EXIT_USER_ERROR, main
from dj_pipeline.ingest_heal import heal_catalog, heal_data_dir
from dj_pipeline.storage import DataPaths, read_asset, write_parquet_atomic
from dj_pipeline.storage.health import find_damaged, read_suspects
from dj_pipeline.storage.parquet import DamagedTableError
from dj_pipeline.storage.tables import BATCH_ASSETS, CATALOG_ASSET, CATALOG_FILE, read_catalog, write_batch


def truncate(path: Path, keep: float = 0.5) -> None:
    """Cut a file short, as a bad copy or a full disk outside our atomic writes would."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def two_batch_data_dir(root: Path) -> DataPaths:
    """A hand-made data dir: 4 tracks in batches b1 and b2, every batch asset written for both."""
    paths = DataPaths(root).ensure()
    catalog = pd.DataFrame({"track_id": ["t1", "t2", "t3", "t4"], "batch": ["b1", "b1", "b2", "b2"]})
    catalog["path"] = "/lib/" + catalog["track_id"] + ".wav"
    write_parquet_atomic(catalog, paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE)
    for asset in BATCH_ASSETS:
        for batch, ids in (("b1", ["t1", "t2"]), ("b2", ["t3", "t4"])):
            write_batch(paths, asset, batch, pd.DataFrame({"track_id": ids, "bpm": [120.0, 128.0]}))
    return paths


class FakeInstance:
    """Stands in for the Dagster instance: no recorded materializations."""

    def fetch_materializations(self, *args: object, **kwargs: object) -> object:
        return type("Page", (), {"records": [], "has_more": False, "cursor": None})()


def test_find_damaged_reads_footers_and_row_counts(tmp_path: Path) -> None:
    paths = two_batch_data_dir(tmp_path / "data")
    features = paths.batch_file("track_features", "b2")
    assert find_damaged(paths, BATCH_ASSETS) == []
    truncate(features)
    (paths.batch_file("track_windows", "b1")).write_bytes(b"")
    recorded = {("track_embeddings", "b1"): 2, ("track_embeddings", "b2"): 5}
    found = {(d.asset, d.batch): d.reason for d in find_damaged(paths, BATCH_ASSETS, recorded)}
    assert set(found) == {("track_features", "b2"), ("track_windows", "b1"), ("track_embeddings", "b2")}
    assert found[("track_features", "b2")].startswith("unreadable")
    assert found[("track_embeddings", "b2")] == "2 rows where 5 were written"


def test_readers_skip_a_damaged_batch_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    paths = two_batch_data_dir(tmp_path / "data")
    damaged = paths.batch_file("track_features", "b2")
    truncate(damaged)
    with caplog.at_level(logging.WARNING):
        rows = read_asset(paths, "track_features")
    assert sorted(rows["track_id"]) == ["t1", "t2"]
    assert any(str(damaged) in r.getMessage() and "damaged" in r.getMessage() for r in caplog.records)
    assert read_suspects(paths.root) == [damaged], "the next ingest is told to check it in full"


def test_damaged_catalog_is_one_line_for_readers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = two_batch_data_dir(tmp_path / "data")
    catalog = paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE
    truncate(catalog)
    with pytest.raises(DamagedTableError):
        read_catalog(paths)
    code = main(["export", "rekordbox", "--out", str(tmp_path / "x.xml"), "--data", str(paths.root)])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR and len(err.strip().splitlines()) == 1 and str(catalog) in err and "dj ingest" in err


def test_heal_sets_damaged_batches_aside_so_they_are_redone(tmp_path: Path) -> None:
    from dj_pipeline.pipeline import load_state, pending_batches

    paths = two_batch_data_dir(tmp_path / "data")
    truncate(paths.batch_file("track_features", "b2"))
    said: list[str] = []
    assert heal_data_dir(paths, FakeInstance(), tmp_path, said.append) is True
    assert pending_batches(paths) == {"b2": ["track_features"]}
    assert len(said) == 1 and "batch=b2.parquet" in said[0] and "batch b2 is processed again" in said[0]
    assert list((paths.root / "damaged" / "track_features").iterdir()), "the damaged file is kept aside, not deleted"
    assert load_state(paths)["library_refresh_pending"] is True


def test_a_file_a_reader_skipped_is_checked_in_full(tmp_path: Path) -> None:
    """Damage inside a file whose footer survived: the reader's report makes the ingest look closer."""
    from dj_pipeline.pipeline import pending_batches

    paths = two_batch_data_dir(tmp_path / "data")
    f = paths.batch_file("track_embeddings", "b1")
    data = bytearray(f.read_bytes())
    data[4:40] = b"\xff" * 36  # the first data page, behind the magic bytes
    f.write_bytes(bytes(data))
    assert find_damaged(paths, BATCH_ASSETS) == [], "the footer alone does not show this"
    read_asset(paths, "track_embeddings")
    heal_data_dir(paths, FakeInstance(), tmp_path, lambda s: None)
    assert pending_batches(paths) == {"b1": ["track_embeddings"]}


def test_damaged_catalog_is_rebuilt_from_a_rescan_keeping_batches(small_library: Path, tmp_path: Path) -> None:
    from dj_pipeline.catalog import scan_library
    from dj_pipeline.config.ingest import load_ingest_config

    paths = DataPaths(tmp_path / "data").ensure()
    library = small_library / "tracks"
    catalog = scan_library(library, pd.DataFrame(), pd.DataFrame(), load_ingest_config()).catalog
    analysed = catalog["track_id"].tolist()[:-1]  # the last track was never processed
    write_batch(paths, "track_windows", "old-1", pd.DataFrame({"track_id": analysed, "window": "intro"}))
    write_parquet_atomic(catalog, paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE)
    truncate(paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE, keep=0.3)

    message = heal_catalog(paths, library)
    healed = read_catalog(paths).set_index("track_id")
    assert message is not None and f"{len(analysed)} of them keep their analysis" in message
    assert sorted(healed.index) == sorted(catalog["track_id"])
    assert (healed.loc[analysed, "batch"] == "old-1").all()
    assert healed.loc[catalog["track_id"].iloc[-1], "batch"] != "old-1"
    assert heal_catalog(paths, library) is None, "a sound catalog is left alone"


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "permission denied")])
def test_disk_full_or_permission_error_is_one_line_naming_the_path(
    small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], code: int, words: str
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, "simulated")

    monkeypatch.setattr(pq, "write_table", fail)
    data = tmp_path / "data"
    rc = main(["ingest", "--library", str(small_library / "tracks"), "--data", str(data), "--quiet", "--backend", "dsp"])
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert words in err and str(data) in err and ".parquet" in err


@pytest.mark.slow
def test_ingest_redoes_a_truncated_batch_and_rebuilds_a_damaged_catalog(ingested: Path, small_library: Path, tmp_path: Path) -> None:
    from dj_pipeline.pipeline import run_ingest

    data = tmp_path / "data"
    shutil.copytree(ingested, data)
    paths = DataPaths(data)
    features = next(paths.asset_dir("track_features").glob("batch=*.parquet"))
    before = pq.read_table(features).num_rows
    truncate(features)
    truncate(paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE)
    said: list[str] = []
    report = run_ingest(small_library / "tracks", data, samples_dir=small_library / "samples", embedding_backend="dsp",
                        show_progress=False, echo=said.append)  # fmt: skip
    assert any("track catalog" in s and "rebuilt" in s for s in said), said
    assert report.batches_processed == [features.stem.removeprefix("batch=")]
    assert pq.read_table(features).num_rows == before
    assert len(read_asset(paths, "track_features")) == before
