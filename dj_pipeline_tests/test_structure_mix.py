"""Mix points in the recommender: intro/outro windows at mix_in/mix_out, and the mix-length fit term."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from dj_pipeline.config.windows import load_windows_config
from dj_pipeline.structure.mix import MIX_POINT_COLUMNS, UNKNOWN_FIT, mix_length_fit, mix_points, with_mix_points
from dj_pipeline.windows.mix import place_mix_windows

WINDOWS = pd.DataFrame(
    {"track_id": ["a", "a", "a", "b", "b"], "window": ["intro", "outro", "main", "intro", "outro"],
     "start_s": [0.0, 170.0, 20.0, 0.0, 90.0], "end_s": [30.0, 200.0, 110.0, 30.0, 120.0],
     "duration_s": [30.0, 30.0, 90.0, 30.0, 30.0]}
)  # fmt: skip
CUES = pd.DataFrame(
    {"track_id": ["a", "a", "a", "b", "b"], "type": ["mix_in", "mix_out", "end", "mix_in", "mix_out"],
     "time_s": [4.0, 150.0, 196.0, None, 115.0], "length_bars": [16, 32, None, None, 16]}
)  # fmt: skip


def test_mix_windows_move_intro_and_outro_to_the_cues_when_enabled() -> None:
    on = replace(load_windows_config(), mix_point_windows=True)
    out = place_mix_windows(WINDOWS, CUES, on).set_index(["track_id", "window"])
    assert tuple(out.loc[("a", "intro"), ["start_s", "end_s"]]) == (4.0, 34.0)
    assert tuple(out.loc[("a", "outro"), ["start_s", "end_s"]]) == (150.0, 180.0)
    assert tuple(out.loc[("a", "main"), ["start_s", "end_s"]]) == (20.0, 110.0), "other windows stay"
    assert tuple(out.loc[("b", "intro"), ["start_s", "end_s"]]) == (0.0, 30.0), "a NULL cue keeps the fixed window"
    assert tuple(out.loc[("b", "outro"), ["start_s", "end_s"]]) == (90.0, 120.0), "5 s to the end is too short a span"
    off = place_mix_windows(WINDOWS, CUES, replace(on, mix_point_windows=False))
    assert off.equals(WINDOWS)


def test_mix_length_fit() -> None:
    feats = with_mix_points(pd.DataFrame({"track_id": ["a", "b", "c"], "bpm": [120.0, 122.0, 124.0]}), CUES)
    assert list(feats["mix_in_bars"].fillna(-1)) == [16.0, -1.0, -1.0] and list(feats["mix_out_bars"].fillna(-1)) == [32.0, 16.0, -1.0]
    current = {"mix_out_bars": 32.0}
    fit = mix_length_fit(current, {"mix_in_bars": np.array([32.0, 16.0, np.nan]), "bpm": np.zeros(3)})
    assert fit == pytest.approx([1.0, 0.5, UNKNOWN_FIT])
    assert mix_length_fit({"mix_out_bars": None}, {"mix_in_bars": np.array([8.0])}) == pytest.approx([UNKNOWN_FIT])
    assert list(with_mix_points(pd.DataFrame({"track_id": ["a"]}), pd.DataFrame())["mix_in_bars"].isna()) == [True]
    assert mix_length_fit(current, {"bpm": np.zeros(3)}) is None, "no mix lengths in the library: no term"


def test_mix_points_give_time_bar_and_length_of_both_cues_per_track() -> None:
    cues = CUES.assign(bar=[2, 75, 98, None, 60])
    points = mix_points(cues).set_index("track_id")
    assert list(points.columns) == list(MIX_POINT_COLUMNS) and sorted(points.index) == ["a", "b"]
    assert tuple(points.loc["a"]) == (4.0, 2.0, 16.0, 150.0, 75.0, 32.0)
    assert np.isnan(points.loc["b", "mix_in_s"]) and points.loc["b", "mix_out_s"] == 115.0, "a NULL cue stays NaN"
    assert mix_points(None).empty and mix_points(pd.DataFrame()).empty, "no cues: no rows"
    assert mix_points(CUES)["mix_in_bar"].isna().all(), "cues without bars: times and lengths, bars NaN"
