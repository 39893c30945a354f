"""Bad input never crashes and never yields NaN: finite values, or NULL with a reason.

Silence, a pure tone, white noise, a 3-second file, a 2-hour file, clipping, DC offset, mono and
stereo, 8 kHz and 192 kHz, NaN samples, empty input.
"""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dj_pipeline.analysis import FEATURE_COLUMNS, analyze_file, analyze_segments, load_analysis_config
from dj_pipeline.analysis.testsignals import synth_track
from dj_pipeline.audio import AudioDecodeError

CFG = load_analysis_config()
SR = CFG.sr


def assert_clean(f: dict) -> None:
    """Every column present; numbers finite; ranges respected."""
    assert list(f)[-len(FEATURE_COLUMNS) :] == FEATURE_COLUMNS
    for col, v in f.items():
        if isinstance(v, float):
            assert math.isfinite(v), col
    if f["bpm"] is not None:
        assert CFG.tempo.min_bpm <= f["bpm"] <= CFG.tempo.max_bpm


def test_silence_is_null_with_reason() -> None:
    f = analyze_segments({"main": np.zeros(30 * SR, np.float32)}, SR, 30.0, CFG)
    assert_clean(f)
    assert f["bpm"] is None and f["key"] is None and f["loudness_lufs"] is None
    assert f["energy"] == 0.0
    assert "silent" in f["analysis_warnings"]


def test_pure_tone_has_no_beat_but_a_pitch() -> None:
    t = np.arange(30 * SR) / SR
    f = analyze_segments({"main": (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)}, SR, 30.0, CFG)
    assert_clean(f)
    assert f["bpm"] is None and "no beat" in f["analysis_warnings"]
    assert f["key_root"] == 9  # A: the only pitch class present
    assert f["onset_density"] == 0.0
    assert f["percussive_ratio"] < 0.05


def test_white_noise_has_no_key_and_no_clear_beat() -> None:
    y = (0.3 * np.random.default_rng(0).standard_normal(30 * SR)).astype(np.float32)
    f = analyze_segments({"main": y}, SR, 30.0, CFG)
    assert_clean(f)
    assert f["key"] is None and "no key" in f["analysis_warnings"]
    assert f["bpm"] is None or f["bpm_confidence"] < 0.2
    assert f["loudness_lufs"] is not None and f["energy"] > 0.5


def test_three_seconds_gives_a_tempo() -> None:
    f = analyze_segments({"main": synth_track(124, 9, "minor", 3, SR)}, SR, 3.0, CFG)
    assert_clean(f)
    assert f["bpm"] == pytest.approx(124, rel=0.02)


def test_shorter_than_a_second_is_null() -> None:
    f = analyze_segments({"main": np.ones(100, np.float32)}, SR, 0.01, CFG)
    assert_clean(f)
    assert f["bpm"] is None and f["energy"] is None and "no usable audio" in f["analysis_warnings"]
    f = analyze_segments({}, SR, 0.0, CFG)
    assert "no usable audio" in f["analysis_warnings"]


def test_clipping_is_flagged_and_tempo_survives() -> None:
    y = np.clip(8.0 * synth_track(124, 9, "minor", 30, SR), -1.0, 1.0)
    f = analyze_segments({"main": y}, SR, 30.0, CFG)
    assert_clean(f)
    assert "clipping" in f["analysis_warnings"]
    assert f["bpm"] == pytest.approx(124, rel=0.01)
    assert f["crest_db"] < 6.0


def test_dc_offset_is_removed() -> None:
    y = synth_track(124, 9, "minor", 30, SR)
    clean = analyze_segments({"main": y}, SR, 30.0, CFG)
    shifted = analyze_segments({"main": 0.5 * y + 0.4}, SR, 30.0, CFG)
    assert_clean(shifted)
    assert "DC offset" in shifted["analysis_warnings"]
    assert shifted["bpm"] == pytest.approx(clean["bpm"], rel=0.01)
    assert shifted["key"] == clean["key"]
    assert shifted["loudness_lufs"] == pytest.approx(clean["loudness_lufs"] - 6.0, abs=0.5)
    assert shifted["sub"] == pytest.approx(clean["sub"], abs=0.02)  # no DC in the sub band


def test_nan_samples_and_stereo_arrays() -> None:
    y = synth_track(124, 9, "minor", 30, SR)
    holes = y.copy()
    holes[::997] = np.nan
    f = analyze_segments({"main": holes}, SR, 30.0, CFG)
    assert_clean(f)
    assert "non-finite" in f["analysis_warnings"] and f["bpm"] == pytest.approx(124, rel=0.01)
    stereo = analyze_segments({"main": np.stack([y, y])}, SR, 30.0, CFG)
    assert stereo["bpm"] == pytest.approx(124, rel=0.01) and stereo["key"] == "A minor"


@pytest.mark.parametrize("rate", [8000, 192000])
def test_odd_sample_rates_are_resampled(rate: int) -> None:
    y = synth_track(124, 9, "minor", 20, rate)
    f = analyze_segments({"main": y}, rate, 20.0, CFG)
    assert_clean(f)
    assert f["bpm"] == pytest.approx(124, rel=0.01) and f["key"] == "A minor"
    assert f["analysis_sr"] == SR and f["analysed_s"] == pytest.approx(20.0, abs=0.05)


def test_bad_sample_rate_raises() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        analyze_segments({"main": np.zeros(100, np.float32)}, 0, 1.0, CFG)


def test_overlong_window_is_cropped() -> None:
    cfg = load_analysis_config(overrides={"guards": {"max_segment_s": 20.0}})
    f = analyze_segments({"main": synth_track(124, 9, "minor", 45, SR)}, SR, 45.0, cfg)
    assert f["analysed_s"] == pytest.approx(20.0, abs=0.01)
    assert "centre 20 s analysed" in f["analysis_warnings"]


@pytest.mark.parametrize(("rate", "channels", "seconds"), [(8000, 1, 40), (44100, 2, 40), (192000, 2, 12), (22050, 1, 3)])
def test_analyze_file_formats(tmp_path: Path, rate: int, channels: int, seconds: float) -> None:
    y = synth_track(124, 9, "minor", seconds, rate)
    data = np.stack([y, 0.8 * y], axis=1) if channels == 2 else y
    path = tmp_path / f"t_{rate}_{channels}.wav"
    sf.write(path, data, rate)
    f = analyze_file(path)
    assert_clean(f)
    assert len(f["track_id"]) == 20
    assert f["bpm"] == pytest.approx(124, rel=0.02)
    if seconds >= 12:
        assert f["key"] == "A minor"


def test_analyze_file_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "not_audio.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00garbage" * 10)
    with pytest.raises(AudioDecodeError):
        analyze_file(path)


def _write_long(path: Path, minutes: float, rate: int = 8000) -> None:
    """A long mono file written in blocks (a 2-hour mix never sits in memory here either)."""
    bar = synth_track(124, 9, "minor", 60, rate)
    pcm = (bar * 20000).astype(np.int16)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as fh:
        for _ in range(int(minutes)):
            fh.write(pcm)


def _peak_mib(path: Path) -> tuple[float, dict]:
    tracemalloc.start()
    f = analyze_file(path)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak, f


def test_peak_memory_does_not_grow_with_track_length(tmp_path: Path) -> None:
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    _write_long(short, 4)
    _write_long(long, 16)
    peak_short, f_short = _peak_mib(short)
    peak_long, f_long = _peak_mib(long)
    assert f_long["bpm"] == pytest.approx(124, rel=0.01)
    assert peak_long < 1.3 * peak_short + 8.0, (peak_short, peak_long)


@pytest.mark.slow
def test_two_hour_file(tmp_path: Path) -> None:
    path = tmp_path / "mix.wav"
    _write_long(path, 120)
    peak, f = _peak_mib(path)
    assert_clean(f)
    assert f["bpm"] == pytest.approx(124, rel=0.01)
    assert peak < 400.0  # 2 h of float64 at 8 kHz alone would be 440 MiB
