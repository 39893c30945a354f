"""Dynamic-programming beat tracking (Ellis 2007) on an onset envelope with a tempo curve.

The same tracker as ``librosa.beat.beat_track(onset_envelope=..., bpm=<curve>, tightness=...,
trim=...)``, frame for frame, written here for one reason: importing ``librosa.beat`` compiles one
of its numba kernels afresh in every process (it is declared ``cache=False``), about 4 CPU s per
ingest worker. These kernels are compiled once per machine into the package's numba cache.

The method: a *local score* (the onset envelope, normalised by its standard deviation and
smoothed by a Gaussian one beat wide) rewards a beat on an onset; a dynamic program gives every
frame the best cumulative score of a beat sequence ending there, each beat reached from one
``round(period / 2)`` to ``2 x period`` frames earlier at a cost of ``tightness x log(gap /
period)^2``. The last beat is the last local maximum of the cumulative score above half their
median; the backlinks give the rest. Beats before the first and after the last frame whose
local score reaches half the RMS of the beats' smoothed scores are dropped (``trim``).
"""

from __future__ import annotations

import numba
import numpy as np

GAUSSIAN_WIDTH = 32.0  # the local score's window: exp(-0.5 (k * 32 / period)^2), k = -period..period


def local_score(onset: np.ndarray, frames_per_beat: np.ndarray) -> np.ndarray:
    """The onset envelope over its standard deviation (in its own dtype), smoothed by a one-beat
    Gaussian whose width follows the tempo curve; float64, same length."""
    onset = np.asarray(onset)
    normalised = onset / (onset.std(ddof=1) + np.finfo(onset.dtype).tiny)
    fpb = np.asarray(frames_per_beat, dtype=np.float64)
    return _smooth(normalised.astype(np.float64), fpb if fpb.size == onset.size else np.full(onset.size, fpb[0]))


@numba.njit(cache=True)
def _smooth(o: np.ndarray, frames_per_beat: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    """Each frame's Gaussian-weighted sum of the onsets within one beat of it, summed in the order
    librosa sums (which never reaches the very first frame), so the two agree bit for bit."""
    n = o.size
    out = np.zeros(n)
    for i in range(n):
        period = frames_per_beat[i]
        width = 2 * int(period) + 1
        for k in range(max(0, i + width // 2 - n + 1), min(i + width // 2, width)):
            out[i] += np.exp(-0.5 * ((k - period) * GAUSSIAN_WIDTH / period) ** 2) * o[i + width // 2 - k]
    return out


@numba.njit(cache=True)
def _dp(score: np.ndarray, frames_per_beat: np.ndarray, tightness: float) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    """Backlinks and cumulative scores of the beat dynamic program."""
    n = score.size
    backlink = np.full(n, -1, dtype=np.int64)
    cumscore = np.zeros(n, dtype=np.float64)
    threshold = 0.01 * score.max()
    first_beat = True
    varying = frames_per_beat.size > 1
    for i in range(n):
        period = frames_per_beat[i] if varying else frames_per_beat[0]
        best, where = -np.inf, -1
        loc = i - int(np.round(period / 2.0))
        stop = i - 2 * int(period) - 1
        while loc > stop and loc >= 0:
            s = cumscore[loc] - tightness * (np.log(i - loc) - np.log(period)) ** 2
            if s > best:
                best, where = s, loc
            loc -= 1
        cumscore[i] = score[i] + best if where >= 0 else score[i]
        if first_beat and score[i] < threshold:
            backlink[i] = -1
        else:
            backlink[i] = where
            first_beat = False
    return backlink, cumscore


def last_beat(cumscore: np.ndarray) -> int:
    """The last local maximum of the cumulative score that reaches half the median of all of them."""
    peak = np.zeros(cumscore.size, dtype=bool)
    if cumscore.size > 2:
        peak[1:-1] = (cumscore[1:-1] > cumscore[:-2]) & (cumscore[1:-1] >= cumscore[2:])
    if cumscore.size > 1:
        peak[-1] = cumscore[-1] > cumscore[-2]
    if not peak.any():
        return cumscore.size - 1
    threshold = 0.5 * float(np.median(cumscore[peak]))
    ok = np.flatnonzero(peak & (cumscore >= threshold))
    return int(ok[-1]) if ok.size else cumscore.size - 1


def trim_beats(score: np.ndarray, beats: np.ndarray, trim: bool) -> np.ndarray:
    """``beats`` (bool per frame) without those before the first / after the last frame whose
    local score exceeds half the RMS of the beats' smoothed scores (0 when ``trim`` is off)."""
    out = beats.copy()
    threshold = 0.0
    if trim:
        smooth = np.convolve(score[beats], np.hanning(5))[2 : score.size + 2]
        threshold = 0.5 * float(np.sqrt(np.mean(smooth**2))) if smooth.size else 0.0
    above = np.flatnonzero(score > threshold)
    if above.size == 0:
        return np.zeros_like(out)
    out[: above[0]] = False
    out[above[-1] + 1 :] = False
    return out


def beat_frames(onset: np.ndarray, fps: float, bpm: float | np.ndarray, tightness: float, trim: bool = True) -> np.ndarray:
    """Beat positions (frame indices, ascending) of ``onset`` at ``fps`` frames per second, following
    ``bpm`` (one tempo, or one per frame); empty when the envelope is all zeros."""
    onset = np.asarray(onset)
    bpm = np.atleast_1d(np.asarray(bpm, dtype=np.float64))
    if onset.size == 0 or not onset.any():
        return np.zeros(0, dtype=np.int64)
    if np.any(bpm <= 0) or tightness <= 0:
        raise ValueError("bpm and tightness must be positive")
    frames_per_beat = np.round(fps * 60.0 / bpm)
    score = local_score(onset, frames_per_beat)
    backlink, cumscore = _dp(score, frames_per_beat, float(np.float32(tightness)))
    beats = np.zeros(onset.size, dtype=bool)
    n = last_beat(cumscore)
    while n >= 0:
        beats[n] = True
        n = backlink[n]
    return np.flatnonzero(trim_beats(score, beats, trim))
