"""Issue 16 item 4 end to end: an ingest with ``mix_point_windows`` on embeds intro/outro at the cues,
and the recommender scores the mix-length fit from ``track_cues`` (slow: a whole ingest, ~1 min)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import dj_pipeline.assets.batches as batches
import dj_pipeline.windows.mix as mix
from dj_pipeline.config.recommend import load_recommend_config
from dj_pipeline.config.windows import load_windows_config
from dj_pipeline.storage import read_asset


@pytest.mark.slow
def test_ingest_with_mix_point_windows_on(small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dj_pipeline.pipeline import run_ingest
    from dj_pipeline.query import Recommender

    on = replace(load_windows_config(), mix_point_windows=True)
    monkeypatch.setattr(mix, "load_windows_config", lambda *a, **k: on)  # what windows.yaml mix_point_windows: true gives
    seen: list[pd.DataFrame] = []
    real = batches.embeddings_for_batch

    def spy(tracks: pd.DataFrame, windows: pd.DataFrame, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - pass-through
        seen.append(windows.copy())
        return real(tracks, windows, *args, **kwargs)

    monkeypatch.setattr(batches, "embeddings_for_batch", spy)
    monkeypatch.setenv("DAGSTER_HOME", os.environ.get("DAGSTER_HOME") or str(tmp_path / "dagster_home"))
    data = tmp_path / "data"
    run_ingest(small_library / "tracks", data, embedding_backend="dsp", show_progress=False, echo=lambda s: None)

    embedded = pd.concat(seen).set_index(["track_id", "window"])
    cues = read_asset(data, "track_cues").dropna(subset=["time_s"]).set_index(["track_id", "type"])["time_s"]
    windows = read_asset(data, "track_windows").set_index(["track_id", "window"])
    moved = 0
    for tid in read_asset(data, "tracks")["track_id"]:
        for window, cue in (("intro", "mix_in"), ("outro", "mix_out")):
            if (tid, cue) in cues.index and (tid, window) in embedded.index:
                span = embedded.loc[(tid, window)]
                if float(span["start_s"]) == pytest.approx(round(float(cues[(tid, cue)]), 3), abs=1e-3):
                    moved += 1
                    assert float(span["end_s"]) - float(span["start_s"]) >= on.min_mix_window_s
                else:  # kept its fixed window: only when the span at the cue would be too short
                    assert tuple(span[["start_s", "end_s"]]) == tuple(windows.loc[(tid, window), ["start_s", "end_s"]])
    assert moved >= 6, f"only {moved} intro/outro windows sit at their cues"
    assert not embedded.loc[(slice(None), "outro"), "start_s"].equals(windows.loc[(slice(None), "outro"), "start_s"])

    rec = Recommender(data)
    rec.config = rec.engine.config = load_recommend_config(overrides={"weights": {"mix_length": 1.0}})
    tid = str(read_asset(data, "track_cues").dropna(subset=["length_bars"]).query("type == 'mix_out'")["track_id"].iloc[0])
    results = rec.recommend(tid, goal="maintain", top_k=3)
    assert results
    for r in results:
        assert 0.0 < r["components"]["mix_length"] <= 1.0
    lengths = rec.engine.table[["mix_in_bars", "mix_out_bars"]]
    assert lengths.notna().any().all(), "the recommender sees the mix lengths"
    cur_out = float(lengths.loc[tid, "mix_out_bars"])
    for r in results:
        cand_in = lengths.loc[r["track_id"], "mix_in_bars"]
        if pd.notna(cand_in) and cur_out > 0 and cand_in > 0:
            assert r["components"]["mix_length"] == pytest.approx(min(cur_out, cand_in) / max(cur_out, cand_in))
