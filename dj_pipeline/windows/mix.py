"""Intro and outro windows at the mix points (issue 16) instead of the first/last ``intro_s`` seconds.

A DJ blends the next track in from its ``mix_in`` cue and the current one out from its ``mix_out``
cue, so the embeddings the recommender compares (current outro vs candidate intro) should hear
those spans: ``intro`` becomes ``[mix_in, mix_in + intro_s)`` and ``outro`` ``[mix_out, mix_out + outro_s)``,
clipped to the track's ``end`` cue. A track without a placed cue, or whose span would be shorter
than ``min_mix_window_s``, keeps its fixed window. Off unless ``windows.yaml: mix_point_windows``.
"""

from __future__ import annotations

import pandas as pd

from dj_pipeline.config.windows import WindowsConfig, load_windows_config


def place_mix_windows(windows: pd.DataFrame, cues: pd.DataFrame, config: WindowsConfig | None = None) -> pd.DataFrame:
    """``track_windows`` rows with the intro/outro spans moved to the mix points (see the module docstring)."""
    config = config or load_windows_config()
    if not config.mix_point_windows or windows.empty or cues is None or cues.empty or "time_s" not in cues:
        return windows
    at = cues.dropna(subset=["time_s"]).drop_duplicates(["track_id", "type"], keep="last").set_index(["track_id", "type"])["time_s"]
    out = windows.copy()
    for i, w in out[out["window"].isin(["intro", "outro"])].iterrows():
        cue, length = ("mix_in", config.intro_s) if w["window"] == "intro" else ("mix_out", config.outro_s)
        start = at.get((w["track_id"], cue))
        if start is None:
            continue
        track_end = out.loc[out["track_id"] == w["track_id"], "end_s"].max()
        end = min(float(start) + length, float(at.get((w["track_id"], "end"), track_end)), float(track_end))
        if end - float(start) >= config.min_mix_window_s:
            out.loc[i, ["start_s", "end_s"]] = [round(float(start), 3), round(end, 3)]
            if "duration_s" in out:
                out.loc[i, "duration_s"] = round(end - float(start), 3)
    return out
