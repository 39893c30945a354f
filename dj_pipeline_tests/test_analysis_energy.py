"""The fixed energy scale: bounded and monotonic, spread over generated music, the 1..10 level, real music."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from dj_pipeline.analysis import analyze_segments, load_analysis_config
from dj_pipeline.analysis.energy import energy_level, energy_score, energy_terms, raw_energy
from dj_pipeline.demo.track import generate_track

CFG = load_analysis_config()
E = CFG.energy


def test_energy_score_is_monotonic_and_bounded() -> None:
    assert energy_score(None, 5.0, 3000.0, 0.5, 8.0, E) == 0.0  # silence
    quiet = energy_score(-30.0, 1.0, 800.0, 0.1, 20.0, E)
    loud = energy_score(-7.0, 9.0, 2500.0, 0.6, 9.0, E)
    assert 0.0 < quiet < 0.2 and 0.8 < loud < 1.0
    base = dict(lufs=-14.0, onset_density=6.0, brightness_hz=1500.0, percussive_ratio=0.4, crest_db=14.0)
    for key, louder in (("lufs", -8.0), ("onset_density", 10.0), ("brightness_hz", 3000.0), ("percussive_ratio", 0.7), ("crest_db", 9.0)):
        assert energy_score(**{**base, key: louder}, cfg=E) > energy_score(**base, cfg=E), key
    extreme = energy_score(30.0, 1e4, 1e5, 1.0, -50.0, E)
    assert 0.9 < extreme <= 1.0  # terms are clipped: no overflow, still bounded


def test_missing_measurements_count_as_the_reference() -> None:
    terms = energy_terms(-14.0, None, None, None, None, E)
    assert all(v == 0.0 for v in terms.values())
    assert raw_energy(terms, E) == 0.0


def test_energy_level_is_one_to_ten() -> None:
    assert [energy_level(v) for v in (0.0, 0.05, 0.1, 0.11, 0.35, 0.5, 0.95, 1.0)] == [1, 1, 1, 2, 4, 5, 10, 10]
    assert energy_level(None) is None and energy_level(float("nan")) is None
    assert energy_level(0.5, levels=5) == 3


def test_energy_config_guards() -> None:
    with pytest.raises(ValueError, match="energy"):
        load_analysis_config(overrides={"energy": {"width": 0.0}})
    with pytest.raises(ValueError, match="energy"):
        load_analysis_config(overrides={"energy": {"levels": 1}})


def _analyse(y: np.ndarray, sr: int) -> dict:
    return analyze_segments({"main": y, "intro": y[: 15 * sr], "outro": y[-15 * sr :]}, sr, y.size / sr, CFG)


def test_generated_music_spreads_over_the_scale() -> None:
    """Low-energy ambient to peak-energy techno (the generator's truth 0.1 .. 0.9) use most of the scale."""
    sr = CFG.sr
    cases = [("ambient", 80, 0.1), ("hip_hop", 90, 0.45), ("house", 124, 0.65), ("techno", 134, 0.9)]
    rows = [_analyse(generate_track(style, bpm, 9, "minor", 30.0, sr, seed=3, stereo=False, energy=e), sr) for style, bpm, e in cases]
    energies = [r["energy"] for r in rows]
    levels = [r["energy_level"] for r in rows]
    assert energies == sorted(energies), energies
    assert energies[-1] - energies[0] >= 0.5, energies
    assert levels == [energy_level(e) for e in energies]
    assert levels[0] <= 3 and levels[-1] >= 7, levels


def test_silence_is_level_one() -> None:
    row = _analyse(np.zeros(40 * CFG.sr, np.float32), CFG.sr)
    assert row["energy"] == 0.0 and row["energy_level"] == 1


REALSET = Path(os.environ.get("DJ_REALSET", "/work/realset"))


@pytest.mark.skipif(not (REALSET / "truth.csv").is_file(), reason="real dev set not extracted (DJ_REALSET)")
def test_real_metal_and_hiphop_above_classical_and_jazz() -> None:
    """GTZAN: the medians of a few loud-genre clips sit above those of quiet-genre clips."""
    from dj_pipeline.audio import load_audio

    def median_energy(genre: str) -> float:
        out = []
        for i in range(3):
            y, sr = load_audio(REALSET / "audio" / "gtzan_mini" / f"{genre}.{i:05d}.wav", sr=CFG.sr)
            out.append(_analyse(y, sr)["energy"])
        return float(np.median(out))

    high = min(median_energy(g) for g in ("metal", "hiphop"))
    low = max(median_energy(g) for g in ("classical", "jazz"))
    assert high > low + 0.2, (high, low)
