"""The beat tracker's dynamic program (analysis/beat_dp.py) gives librosa's beats frame for frame,
without importing librosa.beat (whose kernel is compiled afresh in every process)."""

import subprocess
import sys

import librosa
import numpy as np
import pytest

from dj_pipeline.analysis.beat_dp import beat_frames

FPS = 11025 / 128


def _pulses(seconds: float, bpm_at, seed: int) -> np.ndarray:
    """An onset envelope: decaying pulses on the beats of a tempo curve, plus noise and off-beats."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FPS)
    onset = 0.2 * rng.random(n).astype(np.float32)
    t = 2.0
    while t < seconds - 1:
        i = int(t * FPS)
        onset[i] += 1.0 + rng.random()
        onset[min(n - 1, i + int(30 / bpm_at(t) * FPS))] += 0.4 * rng.random()  # an off-beat hat
        t += 60.0 / bpm_at(t)
    onset[: int(1.5 * FPS)] = 0.0  # a silent intro: the first beat must not start in it
    return onset


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("trim", [True, False])
def test_same_beats_as_librosa(seed, trim):
    steady = _pulses(40.0, lambda t: 124.0, seed)
    change = _pulses(60.0, lambda t: 120.0 if t < 30 else 132.0, seed)
    curve = np.where(np.arange(change.size) / FPS < 30, 120.0, 132.0)
    for onset, bpm in [(steady, 124.0), (steady, np.full(steady.size, 124.0)), (change, curve), (steady, 62.0)]:
        _, want = librosa.beat.beat_track(onset_envelope=onset, sr=FPS * 128, hop_length=128, bpm=bpm, tightness=400.0, trim=trim)
        got = beat_frames(onset, FPS, bpm, 400.0, trim)
        assert want.size > 20 and np.array_equal(got, want)
    gaps = np.diff(beat_frames(change, FPS, curve, 400.0, trim)) / FPS
    assert abs(np.median(gaps[:20]) - 0.5) < 0.02 and abs(np.median(gaps[-20:]) - 60 / 132) < 0.02


def test_no_onsets_no_beats_and_bad_tempo_refused():
    assert beat_frames(np.zeros(1000, np.float32), FPS, 120.0, 400.0).size == 0
    with pytest.raises(ValueError):
        beat_frames(np.ones(1000, np.float32), FPS, 0.0, 400.0)


def test_the_beat_pass_does_not_import_librosa_beat():
    code = (
        "import sys, numpy as np\n"
        "from dj_pipeline.analysis import load_analysis_config\n"
        "from dj_pipeline.analysis.beats import beat_envelope, track_beats\n"
        "cfg = load_analysis_config(); sr = cfg.sr; y = np.zeros(20 * sr, np.float32)\n"
        "y[(np.arange(0, 20, 0.5) * sr).astype(int)] = 1.0\n"
        "grid = track_beats(beat_envelope(y, sr, cfg.beats), None, cfg.beats)  # no tempo: the fallback estimate too\n"
        "print(grid.beats_s.size, 'librosa.beat' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) > 30 and out[1] == "False"
