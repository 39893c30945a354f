"""Pre-processing and DSP features of one-shots, on numpy-synthesised drum sounds.

The synthesis helpers here (kick, snare, hat, tom, noise drone, pad, bad files) are shared by the
other ``test_roles_*`` files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfilt

from dj_pipeline.config.roles import load_roles_config
from dj_pipeline.roles import FEATURE_NAMES, oneshot_features, preprocess_oneshot
from dj_pipeline.roles.features import log_unit
from dj_pipeline.roles.preprocess import STATUS_LONG, STATUS_OK, STATUS_SILENT, load_oneshot

SR = 44100


def _t(duration_s: float, sr: int = SR) -> np.ndarray:
    return np.arange(int(duration_s * sr)) / sr


def _band(x: np.ndarray, lo_hz: float, hi_hz: float | None, sr: int = SR) -> np.ndarray:
    sos = butter(4, [lo_hz, hi_hz] if hi_hz else lo_hz, btype="band" if hi_hz else "high", fs=sr, output="sos")
    y = sosfilt(sos, x)
    return y / np.abs(y).max()


def swept_sine(start_hz: float, end_hz: float, sweep_s: float, decay_s: float, duration_s: float, sr: int = SR) -> np.ndarray:
    """A sine gliding exponentially from ``start_hz`` to ``end_hz`` with an exponential decay (a drum body)."""
    t = _t(duration_s, sr)
    freq = end_hz + (start_hz - end_hz) * np.exp(-t / sweep_s)
    return (np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / decay_s)).astype(np.float32)


def kick(sr: int = SR) -> np.ndarray:
    """Sine sweeping 150 -> 50 Hz, 150 ms decay."""
    return swept_sine(150.0, 50.0, 0.03, 0.15, 0.5, sr)


def snare(sr: int = SR, seed: int = 0) -> np.ndarray:
    """190 Hz body plus 0.3-5 kHz noise."""
    t = _t(0.3, sr)
    noise = _band(np.random.default_rng(seed).standard_normal(t.size), 300, 5000, sr) * np.exp(-t / 0.08)
    return (0.6 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05) + 0.5 * noise).astype(np.float32)


def hat(sr: int = SR, seed: int = 1) -> np.ndarray:
    """Noise above 7 kHz, 30 ms decay."""
    t = _t(0.12, sr)
    return (_band(np.random.default_rng(seed).standard_normal(t.size), 7000, None, sr) * np.exp(-t / 0.03)).astype(np.float32)


def tom(sr: int = SR) -> np.ndarray:
    """140 -> 110 Hz sine, 200 ms decay."""
    return swept_sine(140.0, 110.0, 0.05, 0.2, 0.6, sr)


def drone(sr: int = SR, seed: int = 2) -> np.ndarray:
    """4 s of 0.2-6 kHz noise fading in over 2 s (sustained noise, no drum decay)."""
    t = _t(4.0, sr)
    noise = _band(np.random.default_rng(seed).standard_normal(t.size), 200, 6000, sr)
    return (0.3 * noise * np.minimum(t / 2.0, 1.0)).astype(np.float32)


def pad(sr: int = SR) -> np.ndarray:
    """3 s two-tone pad with a 1 s fade-in."""
    t = _t(3.0, sr)
    return (0.4 * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 330 * t)) * np.minimum(t, 1.0)).astype(np.float32)


def write(path: Path, y: np.ndarray, sr: int = SR) -> str:
    sf.write(path, np.asarray(y).T if np.ndim(y) > 1 else y, sr)
    return str(path)


@pytest.fixture(scope="module")
def cfg():
    return load_roles_config()


def features_of(y: np.ndarray, cfg, sr: int = SR) -> dict[str, float]:
    clip = preprocess_oneshot(y, sr, cfg.preprocess)
    return oneshot_features(clip.y, clip.sr, cfg.features, clip.active_s)


def test_preprocess_trims_normalises_resamples_and_caps(cfg) -> None:
    y = np.concatenate([np.zeros(SR // 2, np.float32), 0.25 * pad()])  # 0.5 s silence, then 3 s
    clip = preprocess_oneshot(np.stack([y, y]), SR, cfg.preprocess)  # stereo in
    assert clip.sr == 16000 and clip.y.ndim == 1
    assert clip.y.size == int(cfg.preprocess.max_duration_s * 16000)  # capped at 2 s
    assert np.max(np.abs(clip.y)) == pytest.approx(1.0, abs=1e-6)  # peak-normalised
    assert np.abs(clip.y[:160]).max() > 1e-3  # leading silence trimmed: sound starts within 10 ms
    assert clip.active_s == pytest.approx(3.0, abs=0.15)  # audible length measured before the cap
    assert clip.peak_dbfs == pytest.approx(20 * np.log10(0.25 * 0.4 * 1.5), abs=0.6)  # pad peaks near 0.6
    assert clip.status == STATUS_OK and clip.reason is None


def test_preprocess_flags_silence_and_loops(cfg) -> None:
    silent = preprocess_oneshot(np.zeros(SR, np.float32), SR, cfg.preprocess)
    assert silent.status == STATUS_SILENT and "silent" in silent.reason and not np.any(silent.y)
    quiet = preprocess_oneshot(1e-5 * kick(), SR, cfg.preprocess)  # -100 dBFS peak
    assert quiet.status == STATUS_SILENT
    loop = preprocess_oneshot(kick(), SR, cfg.preprocess, source_duration_s=30.0)
    assert loop.status == STATUS_LONG and "30.0 s" in loop.reason


def test_load_oneshot_stereo_96k_and_clap_rate(tmp_path: Path, cfg) -> None:
    y = snare(96000)
    path = write(tmp_path / "stereo96.wav", np.stack([y, 0.5 * y]), 96000)
    rule, clap = load_oneshot(path, cfg.preprocess, with_clap=True)
    assert (rule.sr, clap.sr) == (16000, 48000)
    assert rule.y.size / rule.sr == pytest.approx(clap.y.size / clap.sr, abs=0.002)
    assert rule.source_duration_s == pytest.approx(0.3, abs=1e-3)


def test_features_in_unit_range_and_ordered(cfg) -> None:
    sounds = {"kick": kick, "snare": snare, "hat": hat, "tom": tom, "drone": drone}
    f = {name: features_of(sig(), cfg) for name, sig in sounds.items()}
    for feats in f.values():
        assert set(feats) == set(FEATURE_NAMES)
        assert all(0.0 <= v <= 1.0 and np.isfinite(v) for v in feats.values())
    assert f["kick"]["low_ratio"] > 0.8 and f["kick"]["sub_ratio"] > f["tom"]["sub_ratio"]
    assert f["kick"]["pitch_drop"] > f["tom"]["pitch_drop"]  # the kick's sweep
    assert f["hat"]["high_ratio"] > 0.9 and f["hat"]["zcr"] > f["snare"]["zcr"] > f["kick"]["zcr"]
    assert f["snare"]["mid_ratio"] > f["kick"]["mid_ratio"]
    assert f["drone"]["flatness"] > f["tom"]["flatness"]
    assert f["drone"]["attack"] > 0.9 and f["kick"]["attack"] < 0.5  # 2 s fade-in vs instant hit
    assert f["drone"]["temporal_centroid"] > 0.5 > f["kick"]["temporal_centroid"]
    assert f["kick"]["decay_fit"] > 0.9 > f["drone"]["decay_fit"]  # exponential decay vs swell
    assert f["drone"]["duration"] > f["kick"]["duration"] > f["hat"]["duration"]
    assert f["kick"]["sharpness"] > f["drone"]["sharpness"]


def test_silence_gives_zero_features(cfg) -> None:
    feats = oneshot_features(np.zeros(1600, np.float32), 16000, cfg.features)
    assert feats == {name: 0.0 for name in FEATURE_NAMES}


def test_log_unit_mapping() -> None:
    assert log_unit(0.001, 0.001, 0.2) == 0.0
    assert log_unit(0.2, 0.001, 0.2) == 1.0
    assert log_unit(np.sqrt(0.001 * 0.2), 0.001, 0.2) == pytest.approx(0.5)
    assert log_unit(5.0, 0.001, 0.2) == 1.0 and log_unit(0.0, 0.001, 0.2) == 0.0


@pytest.mark.parametrize("name", ["dc", "impulse", "ten_samples", "nan_inf", "near_nyquist", "empty"])
def test_odd_signals_give_finite_unit_features(name: str, cfg) -> None:
    rng = np.random.default_rng(5)
    y = {
        "dc": np.full(4000, 0.5), "impulse": np.eye(1, 4000, 100)[0], "ten_samples": rng.standard_normal(10),
        "nan_inf": np.r_[rng.standard_normal(2000), [np.nan, np.inf, -np.inf]],
        "near_nyquist": np.sin(2 * np.pi * 7900 * np.arange(16000) / 16000), "empty": np.array([]),
    }[name].astype(np.float32)
    clip = preprocess_oneshot(y, 16000, cfg.preprocess)
    feats = oneshot_features(clip.y, clip.sr, cfg.features, clip.active_s)
    assert all(np.isfinite(v) and 0.0 <= v <= 1.0 for v in feats.values())
    assert clip.status == (STATUS_SILENT if name == "empty" else STATUS_OK)
