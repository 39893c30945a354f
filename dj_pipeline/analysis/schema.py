"""Columns of the ``track_features`` table (besides ``track_id``), in order, with their types.

Every column is nullable: a value the analysis cannot measure (the BPM of silence, the key of white
noise) is NULL, and ``analysis_warnings`` says why. No column ever holds NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

# name -> (arrow type, description)
FEATURE_SPEC: dict[str, tuple[pa.DataType, str]] = {
    "bpm": (pa.float64(), "tempo in the DJ range (half/double time resolved)"),
    "bpm_confidence": (pa.float64(), "pulse clarity 0..1 at the chosen tempo"),
    "bpm_std": (pa.float64(), "tempo stability: std (BPM) of local tempi over the sampled windows"),
    "first_downbeat_s": (pa.float64(), "beat grid: time of the first downbeat (s from track start)"),
    "key": (pa.string(), 'key name, e.g. "A minor"'),
    "key_root": (pa.int8(), "tonic pitch class, C=0 .. B=11"),
    "key_mode": (pa.string(), '"major" or "minor"'),
    "key_clarity": (pa.float64(), "how strongly the best key wins, 0..1"),
    "key_consensus": (pa.float64(), "weight share of sections agreeing with the key, 0..1"),
    "camelot": (pa.string(), 'Camelot code, e.g. "8A"'),
    "tuning_cents": (pa.float64(), "deviation from A440 equal temperament, cents"),
    "energy": (pa.float64(), "energy 0..1 on a fixed calibrated scale (comparable across libraries)"),
    "energy_level": (pa.int8(), "energy level 1..10 as DJs know it from Mixed In Key (ceil of 10 x energy)"),
    "energy_intro": (pa.float64(), "energy 0..1 of the intro window"),
    "energy_main": (pa.float64(), "energy 0..1 of the main window"),
    "energy_outro": (pa.float64(), "energy 0..1 of the outro window"),
    "loudness_lufs": (pa.float64(), "ITU-R BS.1770 integrated loudness of the sampled windows"),
    "crest_db": (pa.float64(), "peak-to-RMS ratio, dB"),
    "sub": (pa.float64(), "share of power 20-60 Hz"),
    "bass": (pa.float64(), "share of power 60-150 Hz"),
    "lowmid": (pa.float64(), "share of power 150-400 Hz"),
    "onset_density": (pa.float64(), "onsets per second"),
    "percussive_ratio": (pa.float64(), "percussive share of the HPSS split, 0..1"),
    "brightness": (pa.float64(), "spectral centroid, Hz"),
    "vocal_presence": (pa.float64(), "cheap voice proxy 0..1"),
    "danceability": (pa.float64(), "steady clear pulse, drums, dance tempo: 0..1"),
    "intro_mix": (pa.float64(), "how easy the intro is to blend, 0..1"),
    "outro_mix": (pa.float64(), "how easy the outro is to blend, 0..1"),
    "analysed_s": (pa.float64(), "seconds of audio the track-level features come from"),
    "analysis_sr": (pa.int32(), "analysis sample rate, Hz"),
    "tag_conflict": (pa.string(), 'the file\'s BPM/key tags disagree with the audio: "bpm", "key", "bpm,key"; NULL when they agree or are absent'),
    "analysis_warnings": (pa.string(), "why values are NULL or suspect; NULL when all is well"),
}

FEATURE_COLUMNS: list[str] = list(FEATURE_SPEC)
FEATURE_DTYPES: dict[str, str] = {c: str(t) for c, (t, _) in FEATURE_SPEC.items()}
FEATURES_SCHEMA: pa.Schema = pa.schema(
    [pa.field("track_id", pa.string(), nullable=False)]
    + [pa.field(c, t, nullable=True, metadata={"description": d}) for c, (t, d) in FEATURE_SPEC.items()]
)
_INT_COLUMNS = {c for c, (t, _) in FEATURE_SPEC.items() if pa.types.is_integer(t)}
_TEXT_COLUMNS = {c for c, (t, _) in FEATURE_SPEC.items() if pa.types.is_string(t)}


def clean_row(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """All FEATURE_COLUMNS in order; non-finite numbers become ``None`` (returned as warnings)."""
    row: dict[str, Any] = {}
    bad: list[str] = []
    for col in FEATURE_COLUMNS:
        v = values.get(col)
        if v is None or col in _TEXT_COLUMNS:
            row[col] = v
        elif col in _INT_COLUMNS:
            row[col] = int(v)
        else:
            f = float(v)
            if math.isfinite(f):
                row[col] = f
            else:
                row[col] = None
                bad.append(col)
    return row, bad


def features_frame(rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (with ``track_id``) as a DataFrame with nullable dtypes matching FEATURES_SCHEMA."""
    df = pd.DataFrame(list(rows), columns=["track_id", *FEATURE_COLUMNS])
    for col in FEATURE_COLUMNS:
        if col in _INT_COLUMNS:
            df[col] = df[col].astype("Int32" if col == "analysis_sr" else "Int8")
        elif col in _TEXT_COLUMNS:
            df[col] = df[col].astype("string")
        else:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Float64")
    return df
