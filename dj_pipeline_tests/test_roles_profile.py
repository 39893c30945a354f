"""Per-track drum profile: onset slices of synthesised drum patterns go through the same assigner."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from dj_pipeline.config.roles import load_roles_config
from dj_pipeline.roles import track_drum_profile
from dj_pipeline.roles.profile import onset_slices
from dj_pipeline_tests.test_roles_signals import SR, hat, kick, snare

BEAT_S = 0.5


def pattern(hits: list[tuple[float, Callable[[], np.ndarray], float]], n_beats: int = 16) -> np.ndarray:
    """``(offset in beats, sound, gain)`` repeated on every beat of a 120 BPM bar sequence."""
    beat = int(BEAT_S * SR)
    y = np.zeros(beat * n_beats + SR, np.float32)
    for b in range(n_beats):
        for offset, sound, gain in hits:
            start = b * beat + int(offset * beat)
            x = sound()
            y[start:start + x.size] += gain * x
    return y


@pytest.fixture(scope="module")
def cfg():
    return load_roles_config()


def test_single_instrument_tracks(cfg) -> None:
    kicks = track_drum_profile(pattern([(0.0, kick, 1.0)]), SR, cfg)
    assert kicks["n_hits"] == 16 and kicks["share_core"] >= 0.9
    hats = track_drum_profile(pattern([(0.0, hat, 0.5)]), SR, cfg)
    assert hats["share_motion"] >= 0.9
    snares = track_drum_profile(pattern([(0.0, snare, 0.8)]), SR, cfg)
    assert snares["share_accent"] >= 0.8
    assert kicks["fusion_alpha"] == 1.0


def test_kick_and_offbeat_hats_split_evenly(cfg) -> None:
    prof = track_drum_profile(pattern([(0.0, kick, 1.0), (0.5, hat, 0.5)]), SR, cfg)
    assert prof["n_hits"] == 32
    assert prof["share_core"] == pytest.approx(0.5, abs=0.1) and prof["share_motion"] == pytest.approx(0.5, abs=0.1)
    shares = [v for k, v in prof.items() if k.startswith("share_")]
    assert sum(shares) == pytest.approx(1.0) and len(shares) == 5
    assert 0.0 < prof["mean_confidence"] <= 1.0


def test_stereo_other_rate_and_silence(cfg) -> None:
    y = pattern([(0.0, kick, 1.0)], n_beats=8)
    stereo = np.stack([y, y])
    prof = track_drum_profile(stereo[:, ::2], SR // 2, cfg)  # 22.05 kHz stereo
    assert prof["n_hits"] == 8 and prof["share_core"] >= 0.9
    quiet = track_drum_profile(np.zeros(3 * SR, np.float32), SR, cfg)
    assert quiet["n_hits"] == 0 and quiet["share_core"] == 0.0 and quiet["mean_confidence"] == 0.0


def test_slices_are_bounded(cfg) -> None:
    y = pattern([(0.0, kick, 1.0)], n_beats=4)
    spans = onset_slices(y, SR, cfg)
    assert len(spans) == 4
    assert all(0 < e - s <= int(cfg.profile.max_slice_s * SR) for s, e in spans)
    capped = load_roles_config(overrides={"profile": {"max_slices": 2}})
    assert len(onset_slices(y, SR, capped)) == 2
