"""Loudness against pyloudnorm (BS.1770), library statistics and z-scores, MIREX metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dj_pipeline.analysis import library_stats, load_analysis_config, zscore
from dj_pipeline.analysis.loudness import crest_db, loudness_of
from dj_pipeline.analysis.metrics import key_relation, key_weighted_score, tempo_accuracy1, tempo_accuracy2
from dj_pipeline.analysis.testsignals import synth_track
from dj_pipeline.audio import resample

CFG = load_analysis_config()


@pytest.mark.parametrize("gain", [1.0, 0.1])
def test_loudness_matches_pyloudnorm(gain: float) -> None:
    """Our K-weighting + gating at the analysis rate vs pyloudnorm on the 48 kHz stereo original."""
    pyln = pytest.importorskip("pyloudnorm")
    sr = 48000
    y = gain * synth_track(124, 9, "minor", 20, sr, seed=2).astype(np.float64)
    stereo = np.stack([y, y], axis=1)  # centred: L = R
    reference = pyln.Meter(sr).integrated_loudness(stereo)
    ours_native = loudness_of([y], sr, CFG.loudness)
    ours_analysis_rate = loudness_of([resample(y.astype(np.float32), sr, CFG.sr)], CFG.sr, CFG.loudness)
    assert ours_native == pytest.approx(reference, abs=0.1)
    assert ours_analysis_rate == pytest.approx(reference, abs=1.0)  # content above 5.5 kHz is lost


def test_gating_ignores_silence_between_windows() -> None:
    y = synth_track(124, 9, "minor", 10, CFG.sr)
    with_gap = loudness_of([y, np.zeros(10 * CFG.sr, np.float32)], CFG.sr, CFG.loudness)
    assert with_gap == pytest.approx(loudness_of([y], CFG.sr, CFG.loudness), abs=0.05)
    assert loudness_of([np.zeros(CFG.sr, np.float32)], CFG.sr, CFG.loudness) is None
    assert loudness_of([np.ones(100, np.float32)], CFG.sr, CFG.loudness) is None  # shorter than a block


def test_crest_factor_of_sine_and_square() -> None:
    t = np.arange(CFG.sr) / CFG.sr
    sine = np.sin(2 * np.pi * 100 * t).astype(np.float32)
    assert crest_db([sine]) == pytest.approx(3.01, abs=0.05)
    assert crest_db([np.sign(sine)]) == pytest.approx(0.0, abs=0.05)
    assert crest_db([np.zeros(10, np.float32)]) is None


def test_library_stats_and_zscore() -> None:
    df = pd.DataFrame(
        {
            "track_id": ["a", "b", "c", "d"],
            "energy": [0.2, 0.4, 0.6, None],
            "onset_density": [1.0, 2.0, 3.0, 4.0],
            "brightness": [1000.0, 1000.0, 1000.0, 1000.0],
            "vocal_presence": [np.nan, np.nan, np.nan, np.nan],
            "percussive_ratio": [0.1, 0.2, 0.3, 0.4],
        }
    )
    stats = library_stats(df)
    assert set(stats) == set(CFG.zscore_columns)
    assert stats["energy"]["mean"] == pytest.approx(0.4) and stats["energy"]["count"] == 3
    assert stats["vocal_presence"] == {"mean": 0.0, "std": 1.0, "count": 0}
    z = zscore(df, stats)
    assert z["z_energy"].iloc[0] == pytest.approx((0.2 - 0.4) / np.std([0.2, 0.4, 0.6]))
    assert pd.isna(z["z_energy"].iloc[3])  # NULL stays NULL, never NaN-as-number
    assert (z["z_brightness"] == 0).all()  # constant column: everyone is average
    assert z["z_onset_density"].mean() == pytest.approx(0.0)
    for col in ("z_energy", "z_onset_density", "z_brightness", "z_vocal_presence", "z_percussive_ratio"):
        assert col in z


def test_mirex_tempo_accuracy() -> None:
    assert tempo_accuracy1(124.0 * 1.039, 124.0) and not tempo_accuracy1(124.0 * 1.041, 124.0)
    assert not tempo_accuracy1(62.0, 124.0) and tempo_accuracy2(62.0, 124.0)
    assert tempo_accuracy2(372.0, 124.0) and tempo_accuracy2(124.0 / 3, 124.0)
    assert not tempo_accuracy2(124.0 * 1.5, 124.0)
    assert not tempo_accuracy1(None, 124.0) and not tempo_accuracy2(float("nan"), 124.0)


def test_mirex_key_score() -> None:
    assert key_weighted_score(9, "minor", 9, "minor") == 1.0  # A minor
    assert key_weighted_score(4, "minor", 9, "minor") == 0.5  # E minor: a fifth above
    assert key_weighted_score(2, "minor", 9, "minor") == 0.0  # D minor: a fifth below is not credited
    assert key_weighted_score(0, "major", 9, "minor") == 0.3  # C major: relative
    assert key_weighted_score(9, "minor", 0, "major") == 0.3
    assert key_weighted_score(9, "major", 9, "minor") == 0.2  # parallel
    assert key_weighted_score(None, None, 9, "minor") == 0.0
    assert key_relation(1, "major", 9, "minor") == "other"
