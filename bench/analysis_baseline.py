"""The plain librosa pipeline the analysis is compared with: beat_track + chroma_cqt + Krumhansl.

What a first attempt would use: ``librosa.beat.beat_track`` for the tempo (its default prior,
no DJ-range folding), the mean ``librosa.feature.chroma_cqt`` correlated with the 24 rotated
Krumhansl-Kessler profiles for the key. Run on the same audio as the project's analysis.
"""

from __future__ import annotations

import time

import librosa
import numpy as np

BASELINE_SR = 22050
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def krumhansl_key(chroma_mean: np.ndarray) -> tuple[int, str]:
    """(root, mode) of the rotated Krumhansl-Kessler profile best correlated with ``chroma_mean``."""
    best = (-2.0, 0, "major")
    for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for root in range(12):
            r = float(np.corrcoef(chroma_mean, np.roll(prof, root))[0, 1])
            if np.isfinite(r) and r > best[0]:
                best = (r, root, mode)
    return best[1], best[2]


def baseline_tempo(y: np.ndarray, sr: int) -> float | None:
    """``librosa.beat.beat_track`` tempo (BPM), ``None`` when it finds none."""
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    t = float(np.atleast_1d(tempo)[0])
    return t if np.isfinite(t) and t > 0 else None


def baseline_key(y: np.ndarray, sr: int) -> tuple[int, str]:
    """Key from the mean ``chroma_cqt`` and Krumhansl-Kessler profiles."""
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr).mean(axis=1)
    return krumhansl_key(chroma)


def baseline_analysis(y: np.ndarray, sr: int) -> dict:
    """Tempo, key and the CPU seconds of each stage, on mono audio at ``sr``."""
    t0 = time.process_time()
    bpm = baseline_tempo(y, sr)
    t1 = time.process_time()
    root, mode = baseline_key(y, sr)
    t2 = time.process_time()
    return {"bpm": bpm, "key_root": root, "key_mode": mode, "tempo_cpu_s": t1 - t0, "key_cpu_s": t2 - t1}
