"""The generated audio is music with the truth it claims: tonic in the chroma, beat period, form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from dj_pipeline.demo import TrackSpec, generate_track, render_track

SR = 22050


@pytest.mark.parametrize(
    ("style", "bpm", "root", "mode"),
    [("house", 124, 9, "minor"), ("trance", 136, 2, "major"), ("hip_hop", 90, 6, "minor"), ("ambient", 80, 0, "major"), ("techno", 130, 7, "minor")],
)
def test_tonic_dominates_mean_chroma(style: str, bpm: int, root: int, mode: str) -> None:
    import librosa

    y = generate_track(style, bpm, root, mode, 40.0, SR, seed=11, stereo=False)
    chroma = librosa.feature.chroma_stft(y=y, sr=SR).mean(axis=1)
    assert int(np.argmax(chroma)) == root
    shifted = generate_track(style, bpm, (root + 5) % 12, mode, 40.0, SR, seed=11, stereo=False)
    chroma_shifted = librosa.feature.chroma_stft(y=shifted, sr=SR).mean(axis=1)
    assert int(np.argmax(chroma_shifted)) == (root + 5) % 12  # the key really drives the audio


def _beat_bpm(y: np.ndarray, lo_bpm: float, hi_bpm: float, hop: int = 256) -> float:
    """Tempo from the strongest onset-autocorrelation peak between ``lo_bpm`` and ``hi_bpm``."""
    import librosa

    env = librosa.onset.onset_strength(y=y, sr=SR, hop_length=hop)
    ac = librosa.autocorrelate(env - env.mean())
    fps = SR / hop
    lags = np.arange(int(fps * 60 / hi_bpm), int(fps * 60 / lo_bpm) + 1)
    best = lags[np.argmax(ac[lags])]
    # parabolic interpolation around the peak for sub-frame precision
    a, b, c = ac[best - 1], ac[best], ac[best + 1]
    frac = 0.5 * (a - c) / (a - 2 * b + c)
    return 60.0 * fps / (best + frac)


@pytest.mark.parametrize("bpm", [121.0, 127.0])
def test_house_beat_period_matches_truth(bpm: float) -> None:
    y = generate_track("house", bpm, 4, "major", 60.0, SR, seed=2, stereo=False)
    assert _beat_bpm(y, 90, 180) == pytest.approx(bpm, rel=0.01)


def test_shapes_lengths_and_determinism() -> None:
    mono = generate_track("disco", 118, 5, "major", 31.3, 32000, seed=9, stereo=False)
    stereo = generate_track("disco", 118, 5, "major", 31.3, 32000, seed=9, stereo=True)
    assert mono.shape == (round(31.3 * 32000),) and stereo.shape == (2, round(31.3 * 32000))
    assert mono.dtype == np.float32 and stereo.dtype == np.float32
    assert np.isfinite(stereo).all() and np.max(np.abs(stereo)) <= 1.0
    assert not np.allclose(stereo[0], stereo[1])  # panned hats / wide pads
    assert np.array_equal(mono, generate_track("disco", 118, 5, "major", 31.3, 32000, seed=9, stereo=False))
    assert not np.array_equal(mono, generate_track("disco", 118, 5, "major", 31.3, 32000, seed=10, stereo=False))


def test_energy_sets_loudness() -> None:
    quiet = generate_track("house", 124, 0, "major", 40.0, SR, seed=1, stereo=False, energy=0.1)
    loud = generate_track("house", 124, 0, "major", 40.0, SR, seed=1, stereo=False, energy=0.9)
    rms_db = [20 * np.log10(np.sqrt(np.mean(x**2))) for x in (quiet, loud)]
    assert rms_db[1] - rms_db[0] > 6.0


def test_breakdown_has_no_kick_and_intro_no_chords() -> None:
    bpm = 125.0
    r = render_track(TrackSpec("house", bpm, 9, "minor", 180.0, SR, seed=4, stereo=False, energy=0.6))
    names = [s.name for s in r.sections]
    assert names == ["intro", "groove", "breakdown", "drop", "outro"]
    bar_n = 4 * 60.0 / bpm * SR
    low = signal.sosfilt(signal.butter(4, 90.0, "lowpass", fs=SR, output="sos"), r.audio)
    mid = signal.sosfilt(signal.butter(4, [300.0, 2000.0], "bandpass", fs=SR, output="sos"), r.audio)

    def rms(x: np.ndarray, name: str) -> float:
        sec = r.sections[names.index(name)]
        return float(np.sqrt(np.mean(x[int(sec.start_bar * bar_n) : int((sec.start_bar + sec.n_bars) * bar_n)] ** 2)))

    assert rms(low, "breakdown") < 0.3 * rms(low, "drop")  # no kick in the breakdown
    assert rms(mid, "intro") < 0.5 * rms(mid, "drop")  # drums only in the intro


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="unknown style"):
        generate_track("polka", 120, 0, "major", 30.0, SR, 0, False)
    with pytest.raises(ValueError, match="no 'major'"):
        generate_track("techno", 130, 0, "major", 30.0, SR, 0, False)
    with pytest.raises(ValueError, match="key_root"):
        generate_track("house", 120, 12, "major", 30.0, SR, 0, False)
    with pytest.raises(ValueError, match="bpm"):
        generate_track("house", float("nan"), 0, "major", 30.0, SR, 0, False)
    with pytest.raises(ValueError, match="duration_s"):
        generate_track("house", 120, 0, "major", 2.0, SR, 0, False)
