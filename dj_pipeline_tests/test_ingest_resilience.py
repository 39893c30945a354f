"""Issue 18 end to end: a DJ's analysis survives unplugged drives, typos, edits and kills.

Each test drives the real ``run_ingest`` (Dagster assets, dsp embedder) on a few generated tracks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dj_pipeline.errors import UserError
from dj_pipeline.storage import DataPaths
from dj_pipeline_tests.test_pipeline_ingest import _copy_tracks, _ingest, _sql


def _count(data: Path, query: str) -> int:
    return int(_sql(data, query)[0][0])


@pytest.fixture()
def unplug_during_decoding(monkeypatch: pytest.MonkeyPatch):
    """``unplug(folder, away)``: the next ingest moves ``folder`` to ``away`` once its scan is done."""
    import dj_pipeline.assets.batches as batches

    real = batches.windows_for_batch

    def unplug(folder: Path, away: Path) -> None:
        def decode_after_unplug(*args, **kwargs):
            if folder.exists():
                shutil.move(folder, away)
            return real(*args, **kwargs)

        monkeypatch.setattr(batches, "windows_for_batch", decode_after_unplug)

    yield unplug
    monkeypatch.setattr(batches, "windows_for_batch", real)


# --- case 1: a transient failure is retried, a typo records nothing -----------------------------
def test_a_folder_unplugged_mid_ingest_is_retried_once_it_is_back(small_library: Path, tmp_path: Path, unplug_during_decoding) -> None:
    lib, data, away = tmp_path / "lib", tmp_path / "data", tmp_path / "away"
    crate = _copy_tracks(small_library, lib / "crate", 3)
    unplug_during_decoding(crate, away)
    _ingest(lib, data)  # the files vanish between the scan and the decoding
    assert _sql(data, "SELECT DISTINCT error, transient, retries FROM ingest_errors") == [("file does not exist", True, 0)]
    assert _count(data, "SELECT count(*) FROM ingest_errors") == 3
    assert _count(data, "SELECT count(*) FROM track_features") == 0
    with pytest.raises(UserError, match="holds no audio files.*nothing changed"):
        _ingest(lib, data)  # still unplugged: the scan stops instead of deleting the catalog
    shutil.move(away, crate)
    unplug_during_decoding(crate, away)  # back, but it drops out again mid-run: counted as a second try
    assert _ingest(lib, data).scan["retried"] == 3
    assert {r[0] for r in _sql(data, "SELECT retries FROM ingest_errors")} == {1}
    shutil.move(away, crate)
    unplug_during_decoding(tmp_path / "nothing", away)
    report = _ingest(lib, data)
    assert report.scan["retried"] == 3 and len(report.batches_processed) == 1
    assert _count(data, "SELECT count(DISTINCT track_id) FROM track_features") == 3
    assert _count(data, "SELECT count(*) FROM ingest_errors") == 0


def test_a_bad_profile_backend_or_yaml_stops_before_anything_is_recorded(
    small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import dj_pipeline.config as config_pkg
    from dj_pipeline.cli import main

    lib, data = _copy_tracks(small_library, tmp_path / "lib", 1), tmp_path / "data"
    assert main(["ingest", "--library", str(lib), "--data", str(data), "--profile", "banana"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown sampling profile 'banana'" in err
    with pytest.raises(UserError, match="unknown sampling profile"):
        _ingest(lib, data, sampling_profile="banana")
    with pytest.raises(UserError, match="unknown embedding backend"):
        run_with_backend(lib, data, "banana")
    broken = tmp_path / "config"
    shutil.copytree(config_pkg.CONFIG_DIR, broken)
    (broken / "windows.yaml").write_text("profiles: [unclosed\n", encoding="utf-8")
    monkeypatch.setattr(config_pkg, "CONFIG_DIR", broken)
    with pytest.raises(UserError, match=r"windows.yaml is not valid YAML at line \d"):
        _ingest(lib, data)
    assert not data.exists(), "nothing may be written before the configuration is known to be good"


def run_with_backend(lib: Path, data: Path, backend: str) -> object:
    from dj_pipeline.pipeline import run_ingest

    return run_ingest(lib, data, embedding_backend=backend, show_progress=False, echo=lambda s: None)


# --- case 2: missing is not deleted --------------------------------------------------------------
def test_missing_tracks_keep_their_analysis_and_deletion_is_deliberate(small_library: Path, tmp_path: Path) -> None:
    lib, data, away = tmp_path / "lib", tmp_path / "data", tmp_path / "away"
    _copy_tracks(small_library, lib, 3)
    _ingest(lib, data)
    victim = sorted(lib.iterdir())[0]
    victim_id = _sql(data, f"SELECT track_id FROM tracks WHERE path = '{victim}'")[0][0]
    catalog_file = DataPaths(data).asset_dir("track_catalog") / "catalog.parquet"
    away.mkdir()
    shutil.move(victim, away / victim.name)
    report = _ingest(lib, data)
    assert report.scan["missing"] == 1 and report.scan["deleted"] == 0
    assert _sql(data, f"SELECT missing FROM tracks WHERE track_id = '{victim_id}'") == [(True,)]
    assert _count(data, f"SELECT count(*) FROM track_features WHERE track_id = '{victim_id}'") == 1, "analysis kept"

    for f in sorted(lib.iterdir()):
        shutil.move(f, away / f.name)  # the mount point is empty now
    before = catalog_file.read_bytes()
    with pytest.raises(UserError, match="holds no audio files"):
        _ingest(lib, data)
    assert catalog_file.read_bytes() == before, "an empty library root changes nothing"

    for f in sorted(away.iterdir()):
        shutil.move(f, lib / f.name)  # plugged in again: every track is back, none analysed again
    report = _ingest(lib, data)
    assert report.scan["returned"] == 1 and report.batches_processed == []
    assert _sql(data, f"SELECT missing FROM tracks WHERE track_id = '{victim_id}'") == [(False,)]

    victim.unlink()
    report = _ingest(lib, data, allow_deletions=True)
    assert report.scan["deleted"] == 1
    assert _count(data, f"SELECT count(*) FROM track_features WHERE track_id = '{victim_id}'") == 0


# --- case 3: edits are caught, --force re-analyses ----------------------------------------------
def test_a_same_size_gain_change_is_reanalysed_and_force_redoes_a_file(small_library: Path, tmp_path: Path) -> None:
    lib, data = tmp_path / "lib", tmp_path / "data"
    src = next(f for f in sorted((small_library / "tracks").rglob("*.wav")))
    target = lib / src.name
    lib.mkdir()
    shutil.copy2(src, target)
    _ingest(lib, data)
    (tid, lufs), = _sql(data, "SELECT track_id, loudness_lufs FROM track_features")
    size = target.stat().st_size
    quieter_middle(target, 0.25)  # -12 dB in the middle: same size, head and tail, new mtime
    assert target.stat().st_size == size
    report = _ingest(lib, data)
    assert report.scan["changed"] == 1 and len(report.batches_processed) == 1
    (tid2, lufs2), = _sql(data, "SELECT track_id, loudness_lufs FROM track_features")
    assert tid2 == tid and lufs2 < lufs - 3, "the stored loudness follows the edit"
    assert _ingest(lib, data).batches_processed == []
    forced = _ingest(lib, data, force_paths=[target.name])  # relative to the library
    assert forced.scan["changed"] == 1 and len(forced.batches_processed) == 1


def quieter_middle(path: Path, gain: float) -> None:
    """Scale the middle half of a 16-bit WAV's samples in place, as an editor's gain change would."""
    assert sf.info(path).subtype == "PCM_16"
    raw = bytearray(path.read_bytes())
    start = raw.index(b"data") + 8
    n = (len(raw) - start) // 2
    pcm = np.frombuffer(bytes(raw[start : start + 2 * n]), dtype="<i2").astype(np.float32)
    pcm[n // 4 : 3 * n // 4] *= gain
    raw[start : start + 2 * n] = pcm.astype("<i2").tobytes()
    path.write_bytes(bytes(raw))
