"""End-to-end incremental ingest through the real Dagster assets on generated audio."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dj_pipeline.pipeline import run_ingest
from dj_pipeline.storage import DataPaths, read_asset

WINDOW_NAMES = {"intro", "outro", "main", "tail_1", "tail_2"}


def _ingest(lib: Path, data: Path, **kw) -> object:
    return run_ingest(lib, data, embedding_backend="dsp", show_progress=False, echo=lambda s: None, **kw)


def _sql(data: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(DataPaths(data).duckdb_path), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_full_ingest_fills_every_table(ingested: Path, small_library: Path) -> None:
    truth = pd.read_csv(small_library / "truth.csv")
    n = len(truth)
    assert _sql(ingested, "SELECT count(*) FROM tracks") == [(n,)]
    assert _sql(ingested, "SELECT count(DISTINCT track_id) FROM track_features") == [(n,)]
    windows = read_asset(ingested, "track_windows")
    assert set(windows["window"]) <= WINDOW_NAMES and {"intro", "outro", "main"} <= set(windows["window"])
    emb = read_asset(ingested, "track_embeddings")
    assert set(emb["backend"]) == {"dsp"} and set(emb["window"]) >= {"intro", "outro", "track"}
    assert _sql(ingested, "SELECT count(*) FROM ingest_errors") == [(0,)] if _has_view(ingested, "ingest_errors") else True
    assert _sql(ingested, "SELECT count(*) FROM sample_roles")[0][0] > 0
    assert {r[0] for r in _sql(ingested, "SELECT DISTINCT role FROM role_pools")} >= {"CORE", "ACCENT", "MOTION"}
    index_files = list(DataPaths(ingested).index_dir.iterdir())
    assert index_files, "faiss_index wrote nothing"


def _copy_tracks(small_library: Path, dest: Path, n: int) -> Path:
    """Copy the first ``n`` generated tracks (by path) into ``dest``: enough for pipeline mechanics."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted((small_library / "tracks").rglob("*.*"))[:n]:
        shutil.copy2(f, dest / f.name)
    return dest


def _has_view(data: Path, name: str) -> bool:
    return bool(_sql(data, f"SELECT 1 FROM duckdb_views() WHERE view_name = '{name}'"))


@pytest.fixture()
def copy_of(small_library: Path, ingested: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the ingested library and data dir, for tests that change files."""
    lib, data = _copy_tracks(small_library, tmp_path / "lib", 3), tmp_path / "data"
    _ingest(lib, data)
    return lib, data


def test_rescan_without_changes_reads_no_audio(copy_of: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    lib, data = copy_of
    import soundfile

    def no_audio(*a, **k):
        raise AssertionError("audio was decoded on an unchanged rescan")

    monkeypatch.setattr(soundfile, "SoundFile", no_audio)
    monkeypatch.setattr(soundfile, "info", no_audio)
    for f in lib.rglob("*.*"):
        os.utime(f)  # touched, not changed
    report = _ingest(lib, data)
    assert report.batches_processed == [] and not report.library_refreshed
    assert report.scan["unchanged"] == report.scan["tracks"]


def test_failed_library_refresh_is_redone_by_the_next_ingest(copy_of: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dj_pipeline.demo import generate_library
    from dj_pipeline.recommend import SimilarityBundle

    lib, data = copy_of
    generate_library(tmp_path / "extra", n_tracks=1, n_samples=0, seed=98, duration_scale=0.3)
    for f in (tmp_path / "extra" / "tracks").rglob("*.*"):
        shutil.copy2(f, lib / f.name)
    model = DataPaths(data).models_dir / "similarity_model.joblib"
    mtime = model.stat().st_mtime_ns

    def broken_fit(self, features):
        raise RuntimeError("disk full")

    monkeypatch.setattr(SimilarityBundle, "fit", broken_fit)
    with pytest.raises(Exception, match="disk full"):
        _ingest(lib, data)  # the new batch is written, then the library refresh fails
    monkeypatch.undo()
    report = _ingest(lib, data)  # no file changed since, but the refresh is still owed
    assert report.batches_processed == [] and report.library_refreshed
    assert model.stat().st_mtime_ns != mtime
    assert len(SimilarityBundle.load(model).track_ids) == _sql(data, "SELECT count(*) FROM tracks")[0][0] == 4
    assert not _ingest(lib, data).library_refreshed  # and once done, it is not redone


def test_add_three_then_delete_one(copy_of: tuple[Path, Path], tmp_path: Path) -> None:
    from dj_pipeline.demo import generate_library

    lib, data = copy_of
    extra = tmp_path / "extra"
    generate_library(extra, n_tracks=3, n_samples=0, seed=99, duration_scale=0.3)
    before = _sql(data, "SELECT count(*) FROM tracks")[0][0]
    for f in (extra / "tracks").rglob("*.*"):
        dest = lib / "added" / f.name
        dest.parent.mkdir(exist_ok=True)
        shutil.copy2(f, dest)
    report = _ingest(lib, data)
    assert len(report.batches_processed) == 1
    batch = report.batches_processed[0]
    assert _sql(data, f"SELECT count(*) FROM track_features WHERE batch = '{batch}'") == [(3,)]
    assert _sql(data, "SELECT count(*) FROM tracks")[0][0] == before + 3

    victim = sorted((lib / "added").iterdir())[0]
    victim_id = _sql(data, f"SELECT track_id FROM tracks WHERE path = '{victim}'")[0][0]
    victim.unlink()
    report = _ingest(lib, data, allow_deletions=True)  # without the flag it is kept, marked missing
    assert report.batches_processed == [] and report.library_refreshed
    for view in ("tracks", "track_features", "track_windows", "track_embeddings"):
        assert _sql(data, f"SELECT count(*) FROM {view} WHERE track_id = '{victim_id}'") == [(0,)], view
    from dj_pipeline.index import VectorIndex

    assert victim_id not in VectorIndex.load(DataPaths(data).index_dir, "track").ids


def test_bad_files_are_listed_and_good_ones_ingested(small_library: Path, tmp_path: Path) -> None:
    from dj_pipeline.demo import write_bad_files

    lib, data = _copy_tracks(small_library, tmp_path / "lib", 2), tmp_path / "data"
    bad = write_bad_files(lib / "bad")
    samples = tmp_path / "samples"
    samples.mkdir()
    for f in sorted((small_library / "samples").glob("*.wav"))[:3]:
        shutil.copy2(f, samples / f.name)
    (samples / "empty_hit.wav").write_bytes(b"")
    _ingest(lib, data, samples_dir=samples)
    errors = read_asset(data, "ingest_errors")
    roles_errors = errors[errors["stage"] == "roles"]
    assert [Path(p).name for p in roles_errors["path"]] == ["empty_hit.wav"]
    assert _sql(data, "SELECT count(*) FROM ingest_errors WHERE stage = 'roles'") == [(1,)]
    listed = {Path(p).name: e for p, e in zip(errors["path"], errors["error"])}
    should_fail = {Path(p).name for p, fail in zip(bad["path"], bad["should_fail"]) if fail}
    assert should_fail <= set(listed), f"missing from ingest_errors: {should_fail - set(listed)}"
    assert all(listed[name] for name in should_fail)
    good_names = {Path(p).name for p, fail in zip(bad["path"], bad["should_fail"]) if not fail}
    tracks = {Path(p).name for p in read_asset(data, "tracks")["path"]}
    assert good_names <= tracks, "the non-ASCII good file must be ingested"
    # bad files are not retried while unchanged
    report = _ingest(lib, data, samples_dir=samples)
    assert report.batches_processed == []
    # an ingest without --samples keeps the drum-role tables of the last one
    roles_before = read_asset(data, "sample_roles")
    next(p for p in sorted(lib.iterdir()) if p.is_file()).unlink()  # a deletion forces a library refresh
    assert _ingest(lib, data).library_refreshed
    assert len(read_asset(data, "sample_roles")) == len(roles_before) > 0


def test_sigkill_midway_then_rerun_finishes(small_library: Path, tmp_path: Path) -> None:
    lib, data = _copy_tracks(small_library, tmp_path / "lib", 3), tmp_path / "data"
    cmd = [sys.executable, "-m", "dj_pipeline", "ingest", "--library", str(lib), "--data", str(data), "--backend", "dsp", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    # kill once features are written: the embedding step (which holds a concurrency-pool slot) is next
    features_dir = DataPaths(data).asset_dir("track_features")
    deadline = time.time() + 120
    while time.time() < deadline and not list(features_dir.glob("batch=*.parquet")) and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # the rerun must release the dead run's pool slot and finish (a subprocess, so a hang fails the test)
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "released the pool slots of run" in rerun.stdout  # the killed run was mid-way: it is failed, its slots freed
    n = len(list(lib.rglob("*.*")))
    assert _sql(data, "SELECT count(DISTINCT track_id) FROM track_features")[0][0] == n
    assert _sql(data, "SELECT count(DISTINCT track_id) FROM track_embeddings")[0][0] == n
    for f in DataPaths(data).parquet_dir.rglob("*.parquet"):
        pd.read_parquet(f)  # every finished file is readable; temp files of the killed run are ignored


def test_drum_profiles_are_opt_in(copy_of: tuple[Path, Path]) -> None:
    lib, data = copy_of
    assert not _has_view(data, "track_drum_profiles")
    report = _ingest(lib, data, drum_profiles=True)
    assert len(report.batches_processed) == 1 and report.library_refreshed
    rows = _sql(data, "SELECT n_hits, share_core + share_accent + share_motion + share_fill + share_texture FROM track_drum_profiles")
    n_tracks = _sql(data, "SELECT count(*) FROM tracks")[0][0]
    assert len(rows) == n_tracks
    for n_hits, total in rows:
        assert n_hits > 0 and abs(total - 1.0) < 1e-6, "the generated tracks all have drums"
    assert _ingest(lib, data, drum_profiles=True).batches_processed == []
