"""Spectral features from the shared :class:`Spectra`: low-end shares, brightness, onsets, HPSS, voice.

All functions take the windows' spectra and pool them (sums of power, counts over total time), so a
track's value is the value of its sampled windows taken together.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import find_peaks

from dj_pipeline.analysis.frontend import EPS, Spectra
from dj_pipeline.config.analysis import BandsConfig, OnsetsConfig, VocalConfig


def band_shares(spectra: Sequence[Spectra], cfg: BandsConfig) -> dict[str, float] | None:
    """Share of the power (``total_min_hz`` .. Nyquist) in the sub, bass and low-mid bands."""
    freqs = spectra[0].freqs_hz
    spectrum = sum(s.power.sum(axis=1, dtype=np.float64) for s in spectra)
    total = float(spectrum[freqs >= cfg.total_min_hz].sum())
    if total <= EPS:
        return None
    out = {}
    for name in ("sub", "bass", "lowmid"):
        lo, hi = getattr(cfg, name)
        out[name] = float(spectrum[(freqs >= lo) & (freqs < hi)].sum() / total)
    return out


def brightness_hz(spectra: Sequence[Spectra]) -> float | None:
    """Spectral centroid (Hz) of the magnitude spectrum, averaged over frames weighted by level."""
    num = den = 0.0
    for s in spectra:
        mag = np.sqrt(s.power)
        frame_sum = mag.sum(axis=0)
        ok = frame_sum > EPS
        if not ok.all():  # silent frames carry no centroid (and no weight)
            if not ok.any():
                continue
            mag, frame_sum, power = mag[:, ok], frame_sum[ok], s.power[:, ok]
        else:
            power = s.power  # no copy: the common case
        centroid = (s.freqs_hz.astype(np.float32) @ mag) / frame_sum  # float32 matrix-vector product
        weight = np.sqrt(power.sum(axis=0))
        num += float(centroid @ weight)
        den += float(weight.sum())
    return num / den if den > EPS else None


def onset_times(onset: np.ndarray, fps: float, cfg: OnsetsConfig) -> np.ndarray:
    """Frames of onset peaks: ``min_gap_s`` apart, above ``min_flux_db`` and the running mean (+
    ``threshold_std`` x std), and at least ``min_rel_local_max`` of the strongest within ``local_max_s``."""
    if onset.size < 3 or float(onset.max()) <= EPS:
        return np.zeros(0, dtype=np.int64)
    o = onset.astype(np.float64)
    local_mean = uniform_filter1d(o, max(3, int(round(cfg.local_mean_s * fps)) | 1), mode="nearest")
    local_max = maximum_filter1d(o, max(3, int(round(cfg.local_max_s * fps)) | 1), mode="nearest")
    peaks, _ = find_peaks(o, distance=max(1, int(round(cfg.min_gap_s * fps))))
    height = np.maximum(local_mean[peaks] + cfg.threshold_std * float(o.std()), cfg.min_flux_db)
    keep = (o[peaks] > height) & (o[peaks] >= cfg.min_rel_local_max * local_max[peaks])
    return peaks[keep]


def onset_density(spectra: Sequence[Spectra], cfg: OnsetsConfig) -> float:
    """Onsets per second over the windows."""
    count = sum(onset_times(s.onset, s.fps, cfg).size for s in spectra)
    seconds = sum(s.duration_s for s in spectra)
    return float(count / seconds) if seconds > 0 else 0.0


def percussive_ratio(spectra: Sequence[Spectra]) -> float | None:
    """Percussive share of the HPSS-split mel power (0 = pads only, 1 = drums only)."""
    p = sum(float(s.percussive.sum()) for s in spectra)
    h = sum(float(s.harmonic.sum()) for s in spectra)
    return p / (p + h) if p + h > EPS else None


def strongest_rows(x: np.ndarray, k: int) -> np.ndarray:
    """Row indices ``(k, columns)`` of each column's ``k`` largest values, largest first (ties: the
    lower row). ``k`` passes of ``argmax`` down the columns: ~4x faster than ``np.argpartition`` for
    the few peaks per frame taken here."""
    work = np.array(x, dtype=np.float64 if x.dtype == np.float64 else np.float32)  # a copy, in x's memory order
    cols = np.arange(x.shape[1])
    out = np.empty((min(k, x.shape[0]), x.shape[1]), dtype=np.intp)
    for i in range(out.shape[0]):
        out[i] = np.argmax(work, axis=0)
        work[out[i], cols] = -np.inf
    return out


def pitch_motion(spec: Spectra, cfg: VocalConfig) -> tuple[int, int]:
    """(moving, matched): strong voice-band peaks that glide by a few cents from the last frame.

    The ``peaks_per_frame`` strongest bins of the voice band (each ``peak_ratio`` above the band's
    mean, and mostly harmonic in the HPSS split) are refined by parabolic interpolation and matched
    to the nearest peak of the previous frame within a semitone. A match that moved by ``motion_cents`` (vibrato, glides, portamento)
    counts as moving; held synth notes move by ~0 cents, drum hiss does not match.
    """
    lo, hi = cfg.band_hz
    band = np.flatnonzero((spec.freqs_hz >= lo) & (spec.freqs_hz < hi))
    if band.size < 8 or spec.n_frames < 2:
        return 0, 0
    p = spec.power[band[0] - 1 : band[-1] + 2]  # float32; only the values it reads become float64
    centre = p[1:-1]
    k = strongest_rows(centre, cfg.peaks_per_frame)  # (K, frames)
    t = np.arange(spec.n_frames)[None, :]
    a, b, c = (np.log(p[rows, t].astype(np.float64) + EPS) for rows in (k, k + 1, k + 2))
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > EPS, 0.5 * (a - c) / np.where(np.abs(denom) > EPS, denom, 1.0), 0.0)
    hz = (band[0] + k + np.clip(shift, -0.5, 0.5)) * spec.freqs_hz[1]
    mel_band = np.clip(np.searchsorted(spec.mel_freqs_hz, hz), 0, spec.mel_freqs_hz.size - 1)
    harmonic_share = spec.harmonic[mel_band, t] / (spec.mel[mel_band, t] + EPS)  # kick sweeps are percussive
    is_peak = (b > a) & (b >= c) & (centre[k, t].astype(np.float64) > cfg.peak_ratio * centre.mean(axis=0, dtype=np.float64, keepdims=True)) & (harmonic_share >= 0.5)
    cents = 1200.0 * np.log2(np.maximum(hz, EPS))
    cents = np.where(is_peak, cents, np.nan)
    diff = np.abs(cents[:, None, 1:] - cents[None, :, :-1])  # (K now, K before, frames - 1)
    diff = np.where(np.isfinite(diff), diff, np.inf)
    j = np.argmin(diff, axis=1)  # (K, frames - 1): the previous frame's peak each one continues
    nearest = np.take_along_axis(diff, j[:, None, :], axis=1)[:, 0, :]
    level_step_db = 10.0 / np.log(10.0) * np.abs(b[:, 1:] - np.take_along_axis(b[:, :-1], j, axis=0))
    matched = nearest < 100.0
    lo_c, hi_c = cfg.motion_cents
    # a glide keeps its level; the interpolated peak of two beating (detuned) partials jumps
    # while their sum dips, so a level step over max_level_step_db is not counted as motion
    moving = matched & (nearest >= lo_c) & (nearest <= hi_c) & (level_step_db <= cfg.max_level_step_db)
    return int(moving.sum()), int(matched.sum())


def vocal_presence(spectra: Sequence[Spectra], cfg: VocalConfig) -> float | None:
    """Cheap voice proxy 0..1 (no pitch tracking): gliding harmonic partials in the voice band.

    A voice is harmonic and its partials glide (vibrato, portamento), unlike a held synth note or
    a pad; drums are percussive. Score = the saturating share of voice-band peaks that glide
    (:func:`pitch_motion`, ``motion_ref`` gives 0.5) x the harmonic share of the voice band.
    """
    lo, hi = cfg.band_hz
    moving = matched = 0
    harm = perc = 0.0
    for s in spectra:
        m, n = pitch_motion(s, cfg)
        moving, matched = moving + m, matched + n
        band = (s.mel_freqs_hz >= lo) & (s.mel_freqs_hz < hi)
        harm += float(s.harmonic[band].sum())
        perc += float(s.percussive[band].sum())
    if matched == 0 or harm + perc <= EPS:
        return None if harm + perc <= EPS else 0.0
    share = moving / matched
    return float(share / (share + cfg.motion_ref) * harm / (harm + perc))
