"""Synthetic in-memory libraries for exercising the engine without audio (tests, benchmarks).

:func:`library_from_rows` turns a few hand-written feature rows into a library (every feature
not given takes a plain club-track default). :func:`clustered_library` draws a larger one whose
embeddings form style clusters, as real embeddings do, with tempo, key and energy tied to the
style -- uniform random vectors would make every neighbour search meaningless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.recommend import RecommendConfig
from dj_pipeline.music.keys import camelot_code, key_name
from dj_pipeline.recommend.engine import RecommendationEngine
from dj_pipeline.recommend.vectors import ArrayIndex

DEFAULT_FEATURES: dict[str, Any] = {
    "bpm": 124.0,
    "bpm_confidence": 0.9,
    "key_root": 9,
    "key_mode": "minor",
    "key_clarity": 0.9,
    "energy": 0.5,
    "loudness_lufs": -9.0,
    "sub": 0.3,
    "bass": 0.4,
    "lowmid": 0.3,
    "onset_density": 4.0,
    "percussive_ratio": 0.5,
    "brightness": 2000.0,
    "vocal_presence": 0.3,
    "intro_mix": 0.7,
    "outro_mix": 0.7,
}


@dataclass
class SyntheticLibrary:
    features: pd.DataFrame
    tracks: pd.DataFrame
    intro: ArrayIndex
    outro: ArrayIndex
    track: ArrayIndex
    style: np.ndarray | None = None  # style label of each track (clustered_library), for tests

    def engine(self, config: RecommendConfig | None = None, ranker: Any | None = None, style_vectors: Any | None = None) -> RecommendationEngine:
        return RecommendationEngine(
            self.features, self.intro, self.outro, self.track, config, tracks=self.tracks, ranker=ranker, style_vectors=style_vectors
        )


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _with_keys(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows with ``key`` and ``camelot`` derived from key_root/key_mode unless a row sets them."""
    out = []
    for r in rows:
        derived = {"key": key_name(r["key_root"], r["key_mode"]), "camelot": camelot_code(r["key_root"], r["key_mode"])}
        out.append({**derived, **r})
    return pd.DataFrame(out)


def _tracks(ids: Sequence[str], duration_s: np.ndarray | float = 360.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_id": list(ids),
            "path": [f"/music/{t}.mp3" for t in ids],
            "artist": [f"Artist {t}" for t in ids],
            "title": [f"Title {t}" for t in ids],
            "duration_s": np.broadcast_to(np.asarray(duration_s, dtype=float), (len(ids),)).copy(),
        }
    )


def library_from_rows(rows: Sequence[dict[str, Any]], dim: int = 16, seed: int = 0, same_vectors: bool = False) -> SyntheticLibrary:
    """A library of the given rows (each needs ``track_id``; other features default).

    ``same_vectors``: every track gets the same embedding, so the embedding terms tie and the
    ranking shows the effect of the feature terms alone.
    """
    rng = np.random.default_rng(seed)
    full = [{**DEFAULT_FEATURES, **r} for r in rows]
    df = _with_keys(full)
    ids = df["track_id"].astype(str).tolist()
    n = len(ids)
    if same_vectors:
        base = _unit(rng.normal(size=(1, dim)))
        intro = outro = track = np.repeat(base, n, axis=0)
    else:
        intro, outro = _unit(rng.normal(size=(n, dim))), _unit(rng.normal(size=(n, dim)))
        track = _unit(intro + outro)
    return SyntheticLibrary(df, _tracks(ids), ArrayIndex(ids, intro), ArrayIndex(ids, outro), ArrayIndex(ids, track))


def clustered_library(n_tracks: int, dim: int = 32, n_styles: int = 8, seed: int = 0) -> SyntheticLibrary:
    """``n_tracks`` tracks in ``n_styles`` styles: embeddings around a style centre, tempo near
    the style's BPM (a few in half time), keys near the style's Camelot region, style energy."""
    rng = np.random.default_rng(seed)
    style = rng.integers(0, n_styles, n_tracks)
    centres = _unit(rng.normal(size=(n_styles, dim)))
    style_bpm = rng.choice([118.0, 122.0, 124.0, 126.0, 128.0, 132.0, 140.0, 174.0], n_styles)
    style_energy = rng.uniform(0.2, 0.9, n_styles)
    style_root = rng.integers(0, 12, n_styles)
    bpm = style_bpm[style] + rng.normal(0.0, 1.0, n_tracks)
    half = rng.random(n_tracks) < 0.05
    bpm[half] /= 2.0
    roots = (style_root[style] + rng.choice([0, 0, 5, 7], n_tracks)) % 12
    modes = rng.choice(["minor", "major"], n_tracks, p=[0.7, 0.3])
    energy = np.clip(style_energy[style] + rng.normal(0.0, 0.08, n_tracks), 0.0, 1.0)
    rows = [
        {
            **DEFAULT_FEATURES,
            "track_id": f"t{i:05d}",
            "bpm": float(bpm[i]),
            "key_root": int(roots[i]),
            "key_mode": str(modes[i]),
            "key_clarity": float(rng.uniform(0.2, 1.0)),
            "energy": float(energy[i]),
            "loudness_lufs": float(-14.0 + 8.0 * energy[i] + rng.normal(0.0, 0.5)),
            "sub": float(rng.uniform(0.1, 0.5)),
            "bass": float(rng.uniform(0.2, 0.6)),
            "lowmid": float(rng.uniform(0.1, 0.4)),
            "onset_density": float(2.0 + 6.0 * energy[i] + rng.normal(0.0, 0.5)),
            "percussive_ratio": float(np.clip(0.3 + 0.5 * energy[i] + rng.normal(0.0, 0.05), 0.0, 1.0)),
            "brightness": float(rng.uniform(1000.0, 4000.0)),
            "vocal_presence": float(rng.uniform(0.0, 1.0)),
            "intro_mix": float(rng.uniform(0.3, 1.0)),
            "outro_mix": float(rng.uniform(0.3, 1.0)),
        }
        for i in range(n_tracks)
    ]
    df = _with_keys(rows)
    ids = df["track_id"].tolist()
    body = centres[style] + rng.normal(0.0, 0.35, (n_tracks, dim))
    intro = _unit(body + rng.normal(0.0, 0.2, (n_tracks, dim)))
    outro = _unit(body + rng.normal(0.0, 0.2, (n_tracks, dim)))
    track = _unit(body)
    durations = rng.uniform(240.0, 480.0, n_tracks)
    return SyntheticLibrary(df, _tracks(ids, durations), ArrayIndex(ids, intro), ArrayIndex(ids, outro), ArrayIndex(ids, track), style)
