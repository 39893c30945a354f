"""Per-batch stages: per-track error isolation and identical results with a worker pool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from dj_pipeline.catalog import content_id
from dj_pipeline.config.ingest import load_ingest_config
from dj_pipeline.config.windows import load_windows_config
from dj_pipeline.stages import windows_for_batch
from dj_pipeline.stages.common import run_per_track


def _tracks(tmp_path: Path) -> pd.DataFrame:
    sr = 22050
    rows = []
    for i, (kind, dur) in enumerate([("beat", 40.0), ("beat", 36.0), ("silent", 20.0), ("beat", 44.0)]):
        t = np.arange(int(dur * sr)) / sr
        y = np.zeros_like(t) if kind == "silent" else 0.5 * ((t % (60 / (120 + 4 * i))) < 0.03) * np.sin(2 * np.pi * 60 * t)
        path = tmp_path / f"{i}_{kind}.wav"
        sf.write(path, y.astype(np.float32), sr)
        rows.append({"track_id": content_id(path), "path": str(path), "duration_s": dur, "batch": "b"})
    return pd.DataFrame(rows)


def test_worker_pool_gives_the_same_rows_and_errors(tmp_path: Path) -> None:
    tracks = _tracks(tmp_path)
    serial = windows_for_batch(tracks, load_windows_config(), load_ingest_config(overrides={"workers": 1}), show_progress=False)
    pooled = windows_for_batch(
        tracks, load_windows_config(), load_ingest_config(overrides={"workers": 2, "min_tracks_per_worker": 1}), show_progress=False
    )
    pd.testing.assert_frame_equal(serial.rows, pooled.rows)
    assert serial.errors["path"].tolist() == pooled.errors["path"].tolist() == [str(tmp_path / "2_silent.wav")]
    assert pooled.errors["error"].iloc[0].startswith("silent")
    assert serial.n_ok == 3


def _explode(track):  # noqa: ANN001, ANN202 - a deliberately buggy stage function
    if track.track_id == "bad":
        raise KeyError("boom")
    return [{"track_id": track.track_id}]


def test_an_unexpected_error_is_recorded_not_raised() -> None:
    tracks = pd.DataFrame({"track_id": ["ok", "bad"], "path": ["/a.wav", "/b.wav"]})
    out = run_per_track(tracks, _explode, "demo", ["track_id"], show_progress=False)
    assert out.rows["track_id"].tolist() == ["ok"]
    assert out.errors["error"].tolist() == ["internal error: KeyError: 'boom'"]
