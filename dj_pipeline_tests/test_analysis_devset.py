"""The analysis on labelled real recordings (../shared/devset): tempo loops and the keyed pieces."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dj_pipeline.analysis import analyze_file
from dj_pipeline.analysis.metrics import tempo_accuracy1, tempo_accuracy2
from dj_pipeline.music.keys import parse_key

DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"
pytestmark = pytest.mark.skipif(not (DEVSET / "labels.csv").exists(), reason="../shared/devset is not available")


def _labels(kind: str) -> pd.DataFrame:
    labels = pd.read_csv(DEVSET / "labels.csv")
    return labels[labels["kind"] == kind]


def test_tempo_loops() -> None:
    """Real loops of 1.4-7 s: MIREX Accuracy1 well above plain librosa beat_track (0.34 here)."""
    rows = _labels("tempo").dropna(subset=["bpm"])
    acc1, acc2 = [], []
    for r in rows.itertuples():
        f = analyze_file(DEVSET / r.file)
        acc1.append(tempo_accuracy1(f["bpm"], float(r.bpm)))
        acc2.append(tempo_accuracy2(f["bpm"], float(r.bpm)))
    assert len(rows) >= 20
    assert sum(acc1) / len(acc1) >= 0.65
    assert sum(acc2) / len(acc2) >= 0.75


def test_keyed_recording() -> None:
    """The string-orchestra Hungarian Dance No. 5 is in G minor."""
    row = _labels("key").dropna(subset=["key"]).iloc[0]
    f = analyze_file(DEVSET / row.file)
    assert (f["key_root"], f["key_mode"]) == parse_key(row.key)
    assert f["bpm"] is None or 70 <= f["bpm"] <= 180
