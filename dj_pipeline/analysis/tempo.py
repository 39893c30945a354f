"""Tempo in the DJ range, its confidence and stability, and the beat grid's first downbeat.

Method (one onset envelope per window, shared with the other features):

1. Periodicity: the onset envelope (local mean removed) is autocorrelated (ACF, unbiased, FFT).
   A beat period ``L`` is scored by the mean ACF at its first ``comb_harmonics`` multiples
   (``L, 2L, 3L ...``): a true beat repeats at all of them, while a double-time candidate ``L/2``
   also needs the off-beats. ACFs of the sampled windows are averaged, weighted by length.
2. Metrical level: the ACF cannot tell a beat from half-time (everything periodic in ``L`` is
   periodic in ``2L``), the onset spectrum can: a beat at ``T`` puts energy at ``T/60`` Hz, a
   half-time candidate's frequency is weak when alternate beats look alike. The salience of ``T``
   is ``ACF-comb(T) x spectrum(T)``.
3. DJ range: the tempo class (tempo modulo octaves) is the best octave-folded salience; when two of
   its octaves fit ``[min_bpm, max_bpm]`` (87 vs 174), a broad log-normal prior around
   ``prior_center_bpm`` and the onsets-per-beat count (about two: eighth notes) decide.
3'. Ternary feel: in a shuffle or 12/8 (slow blues, some rock and metal) the onsets fall on a
   triplet grid, and the pick above can land on 3/2 of the beat (two swung triplet steps). When the
   ACF comb at 2/3 of the pick beats the pick's own by ``ternary_comb_ratio`` and the onset
   spectrum agrees (``ternary_spectrum_ratio``), the beat is 2/3 of the pick (its octave chosen as in 3,
   but not doubled unless the range demands it: every other beat of the double falls off the triplet grid).
4. Confidence = the ACF-comb value at the chosen period (pulse clarity: 1 = metronomic, ~0 = noise);
   stability = std of local tempi (12 s windows) searched within a few percent of the global tempo.

The beat grid (first downbeat) is in :mod:`dj_pipeline.analysis.beatgrid`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dj_pipeline.analysis.frontend import EPS, Spectra
from dj_pipeline.analysis.spectral import percussive_ratio
from dj_pipeline.analysis.tempo_octave import OctaveEvidence, OctaveModel, choose_learned, load_octave_model
from dj_pipeline.config.analysis import TempoConfig


@dataclass(frozen=True)
class TempoResult:
    """``bpm`` (``None``: no beat), pulse ``confidence`` (ACF-comb clarity), ``bpm_std`` (tempo
    stability) and ``reason``: why the BPM is ``None``, or the caveat on a weak one."""

    bpm: float | None
    confidence: float
    bpm_std: float | None
    reason: str | None = None


def detrended_onset(onset: np.ndarray, fps: float, window_s: float = 1.0) -> np.ndarray:
    """Onset envelope minus its running mean (so the ACF sees pulses, not loudness changes)."""
    o = np.asarray(onset, dtype=np.float64)
    w = max(3, int(round(window_s * fps)) | 1)
    if o.size <= w:
        return o - o.mean() if o.size else o
    kernel = np.ones(w) / w
    return o - np.convolve(np.pad(o, w // 2, mode="edge"), kernel, mode="valid")


def onset_acf(o: np.ndarray, max_lag: int) -> np.ndarray:
    """Unbiased autocorrelation of ``o`` for lags ``0..max_lag``, normalised so ``acf[0] == 1``."""
    n = o.size
    max_lag = int(min(max_lag, n - 1))
    if n < 2 or max_lag < 1:
        return np.zeros(max(max_lag + 1, 1))
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(o, nfft)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2, nfft)[: max_lag + 1]
    acf = acf / (n - np.arange(max_lag + 1))
    return acf / acf[0] if acf[0] > EPS else np.zeros_like(acf)


def tempo_grid(cfg: TempoConfig) -> np.ndarray:
    """Log-spaced tempo grid over the search range (BPM)."""
    octaves = np.log2(cfg.search_max_bpm / cfg.search_min_bpm)
    n = int(np.ceil(octaves * cfg.grid_per_octave)) + 1
    return cfg.search_min_bpm * 2.0 ** (np.arange(n) / cfg.grid_per_octave)


def comb_salience(acf: np.ndarray, fps: float, grid_bpm: np.ndarray, harmonics: int) -> np.ndarray:
    """Mean ACF at the first ``harmonics`` multiples of each grid period (linear interpolation)."""
    lags = 60.0 * fps / grid_bpm
    total = np.zeros_like(grid_bpm)
    count = np.zeros_like(grid_bpm)
    idx = np.arange(acf.size)
    for k in range(1, harmonics + 1):
        lk = k * lags
        ok = lk <= acf.size - 1
        total[ok] += np.interp(lk[ok], idx, acf)
        count[ok] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def spectral_salience(o: np.ndarray, fps: float, grid_bpm: np.ndarray) -> np.ndarray:
    """Magnitude of the onset envelope's spectrum at each grid tempo, scaled to max 1."""
    if o.size < 4:
        return np.zeros_like(grid_bpm)
    nfft = max(1 << int(np.ceil(np.log2(o.size))), 4096)
    mag = np.abs(np.fft.rfft(o * np.hanning(o.size), nfft))
    freqs = np.fft.rfftfreq(nfft, d=1.0 / fps) * 60.0
    out = np.interp(grid_bpm, freqs, mag)
    return out / out.max() if out.max() > EPS else out


def estimate_tempo(
    track: Sequence[Spectra],
    cfg: TempoConfig,
    onset_rate_per_s: float,
    min_flux_db: float,
    bpm_range: tuple[float, float] | None = None,
    octave_model: OctaveModel | None = None,
) -> TempoResult:
    """Global tempo of a track from its sampled windows (see the module docstring).

    ``bpm_range``: the DJ range the tempo is folded into (default: :func:`bpm_range_for` without a
    genre tag, i.e. the library's ``bpm_range`` setting).

    ``onset_rate_per_s`` (onsets per second over the same windows) decides between two octaves
    that both fit the DJ range: music has about ``density_per_beat`` onsets per beat. Windows with
    fewer than ``min_onset_frames`` frames of onset strength above ``min_flux_db`` are skipped.
    ``octave_model``: a learned candidate choice (:mod:`dj_pipeline.analysis.tempo_octave`); default:
    the shipped model when ``cfg.octave_model`` is ``learned``, else the hand-made rule.
    """
    usable = [s for s in track if np.count_nonzero(s.onset > min_flux_db) >= cfg.min_onset_frames]
    if not usable:
        return TempoResult(None, 0.0, None, "no beat: too few onsets")
    if octave_model is None and cfg.octave_model == "learned":
        octave_model = load_octave_model()
    ev = tempo_evidence(usable, cfg, onset_rate_per_s, bands=octave_model is not None)
    if (np.maximum(ev.comb, 0.0) * ev.spec).max() <= EPS:
        return TempoResult(None, 0.0, None, "no beat: no periodicity in the onsets")
    rng = bpm_range or bpm_range_for(None, cfg)
    bpm = choose_octave(ev.grid, ev.comb, ev.spec, onset_rate_per_s, cfg, rng if octave_model is None else rule_range(rng, cfg))
    if octave_model is not None:
        folded = octave_folded(ev.grid, np.maximum(ev.comb, 0.0) * ev.spec, cfg.grid_per_octave)
        bpm = choose_learned(ev, folded, cfg.min_bpm, rng, bpm, octave_model)
    confidence = float(np.clip(np.interp(bpm, ev.grid, ev.comb), 0.0, 1.0))
    if confidence < cfg.min_confidence:
        return TempoResult(None, confidence, None, f"no clear beat (pulse clarity {confidence:.2f})")
    weak = f"weak pulse (clarity {confidence:.2f}): BPM uncertain" if confidence < cfg.weak_confidence else None
    return TempoResult(round(bpm, 2), round(confidence, 4), local_tempo_std(usable, bpm, cfg), weak)


def tempo_evidence(usable: Sequence[Spectra], cfg: TempoConfig, onset_rate_per_s: float, bands: bool = True) -> OctaveEvidence:
    """Length-weighted mean ACF-comb and onset-spectrum curves of the windows on the tempo grid.

    ``bands``: also the ACF combs of the body and low-band (kick) onset envelopes (the learned
    octave choice uses them; zeros otherwise).
    """
    fps = usable[0].fps
    grid = tempo_grid(cfg)
    max_lag = int(np.ceil(60.0 * fps / cfg.search_min_bpm * cfg.comb_harmonics)) + 2
    curves = np.zeros((4, grid.size))
    weight = 0.0
    for s in usable:
        o = detrended_onset(s.onset, fps)
        w = float(s.onset.size)
        curves[0] += w * comb_salience(onset_acf(o, max_lag), fps, grid, cfg.comb_harmonics)
        curves[1] += w * spectral_salience(o, fps, grid)
        if bands:
            for row, env in ((2, s.onset_body), (3, s.onset_low)):
                curves[row] += w * comb_salience(onset_acf(detrended_onset(env, fps), max_lag), fps, grid, cfg.comb_harmonics)
        weight += w
    curves /= weight
    perc = percussive_ratio(usable) if bands else None
    return OctaveEvidence(grid, curves[0], curves[1], curves[2], curves[3], onset_rate_per_s, 0.5 if perc is None else perc)


def octave_folded(grid: np.ndarray, salience: np.ndarray, per_octave: int) -> np.ndarray:
    """``sum_k salience(t * 2**k)`` for every grid tempo ``t`` (grid is log-spaced, ``per_octave``)."""
    out = salience.copy()
    for shift in range(per_octave, grid.size, per_octave):
        out[:-shift] += salience[shift:]
        out[shift:] += salience[:-shift]
    return out


def parse_bpm_range(text: str) -> tuple[float, float] | None:
    """``"70-140"`` -> ``(70.0, 140.0)``; ``"auto"`` -> ``None``. Raises ``ValueError`` otherwise.

    A range must span about an octave (``hi >= 1.9 * lo``) so that every tempo has a place in it.
    """
    text = str(text).strip().lower()
    if text == "auto":
        return None
    try:
        lo, hi = (float(x) for x in text.replace("–", "-").split("-"))
    except ValueError:
        raise ValueError(f"bpm_range must be 'auto' or 'LO-HI' (e.g. 88-175), got {text!r}") from None
    if not (0 < lo and hi >= 1.9 * lo):
        raise ValueError(f"bpm_range {text!r} must span an octave (HI >= 1.9 * LO)")
    return lo, hi


def bpm_range_for(genre: str | None, cfg: TempoConfig) -> tuple[float, float]:
    """The range the tempo is folded into: the first ``genre_ranges`` pattern the genre tag matches,
    else the library's ``bpm_range`` (``auto``: :func:`auto_range`, where the evidence picks the octave)."""
    if genre:
        for pattern, rng in cfg.genre_ranges:
            if re.search(pattern, genre, flags=re.IGNORECASE):
                return parse_bpm_range(rng) or auto_range(cfg)
    return parse_bpm_range(cfg.bpm_range) or auto_range(cfg)


def rule_range(bpm_range: tuple[float, float], cfg: TempoConfig) -> tuple[float, float]:
    """With the learned model on, the range the hand-made rule's pick (one of its features) is folded
    into: ``bpm_range`` clipped to ``[min_bpm, max_bpm]`` where that still spans an octave (the
    model's wider ``auto`` range is not the rule's). Without the model the rule uses ``bpm_range``."""
    lo, hi = max(bpm_range[0], cfg.min_bpm), min(bpm_range[1], cfg.max_bpm)
    return (lo, hi) if hi >= 1.9 * lo else bpm_range


def auto_range(cfg: TempoConfig) -> tuple[float, float]:
    """The ``auto`` range: ``[min_bpm, max_bpm]``, or the learned octave model's wider candidate range."""
    if cfg.octave_model == "learned":
        return cfg.octave_model_min_bpm, cfg.octave_model_max_bpm
    return cfg.min_bpm, cfg.max_bpm


def octave_candidates(base_bpm: float, bpm_range: tuple[float, float], slack: float = 0.005) -> list[float]:
    """The octaves ``base * 2**k`` of a tempo class inside ``bpm_range`` (the nearest one if none fits)."""
    lo, hi = bpm_range
    octaves = [base_bpm * 2.0**k for k in range(-4, 5)]
    inside = [t for t in octaves if lo * (1 - slack) <= t <= hi * (1 + slack)]
    return inside or [min(octaves, key=lambda t: abs(np.log2(t / np.sqrt(lo * hi))))]


def choose_octave(
    grid: np.ndarray, comb: np.ndarray, spec: np.ndarray, onset_rate_per_s: float, cfg: TempoConfig, bpm_range: tuple[float, float]
) -> float:
    """Tempo class from the octave-folded salience, then its octave inside ``bpm_range``.

    The class (tempo modulo octaves) is the best octave-folded salience ``comb x spectrum`` in
    ``[min_bpm, 2*min_bpm)``. Each of its octaves in the range is scored by the log ACF-comb and
    log onset-spectrum values at it (``octave_*_weight``), a broad log-normal tempo prior around
    ``prior_center_bpm`` and a preference for ``density_per_beat`` onsets per beat. A pick at the
    triplet level of a ternary track (:func:`is_ternary_level`) moves to 2/3 of it (or its half),
    doubled only when the range leaves no other choice: a doubled ternary beat is off the triplet grid.
    """
    salience = np.maximum(comb, 0.0) * spec
    folded = octave_folded(grid, salience, cfg.grid_per_octave)
    band = (grid >= cfg.min_bpm) & (grid < 2.0 * cfg.min_bpm)
    base = float(grid[band][int(np.argmax(folded[band]))])

    def log_score(t: float) -> float:
        at_comb = max(float(np.interp(t, grid, comb)), 1e-3)
        at_spec = max(float(np.interp(t, grid, spec)), 1e-3)
        prior = (np.log2(t / cfg.prior_center_bpm) / cfg.prior_sigma_octaves) ** 2
        per_beat = max(onset_rate_per_s, EPS) * 60.0 / t
        density = (np.log2(per_beat / cfg.density_per_beat) / cfg.density_sigma_octaves) ** 2
        evidence = cfg.octave_comb_weight * np.log(at_comb) + cfg.octave_spectrum_weight * np.log(at_spec)
        return float(evidence - 0.5 * (prior + cfg.density_weight * density))

    bpm = refine_peak(grid, salience, max(octave_candidates(base, bpm_range), key=log_score))
    if is_ternary_level(grid, comb, spec, bpm, cfg):
        beat = bpm * 2.0 / 3.0  # three triplet steps; its double (1.5 steps) is off the triplet grid
        levels = octave_candidates(beat, bpm_range)
        bpm = refine_peak(grid, salience, max([t for t in levels if t <= beat * 1.005] or levels, key=log_score))
    return bpm


def _peak_near(curve: np.ndarray, grid: np.ndarray, bpm: float, width_pct: float) -> float:
    """Largest value of ``curve`` within ``width_pct`` of ``bpm`` (the value at ``bpm`` if the band is empty)."""
    near = (grid >= bpm * (1 - width_pct / 100)) & (grid <= bpm * (1 + width_pct / 100))
    return float(curve[near].max()) if near.any() else float(np.interp(bpm, grid, curve))


def ternary_ratios(grid: np.ndarray, comb: np.ndarray, spec: np.ndarray, bpm: float, width_pct: float) -> tuple[float, float]:
    """``(comb ratio, spectrum ratio)``: the ACF comb's and the onset spectrum's peak near 2/3 of ``bpm``
    over their peak near ``bpm`` (peaks within ``width_pct``)."""
    two_thirds = bpm * 2.0 / 3.0
    comb_ratio = _peak_near(comb, grid, two_thirds, width_pct) / max(_peak_near(comb, grid, bpm, width_pct), EPS)
    spec_ratio = _peak_near(spec, grid, two_thirds, width_pct) / max(_peak_near(spec, grid, bpm, width_pct), EPS)
    return comb_ratio, spec_ratio


def is_ternary_level(grid: np.ndarray, comb: np.ndarray, spec: np.ndarray, bpm: float, cfg: TempoConfig) -> bool:
    """True when ``bpm`` looks like 3/2 of the beat of a ternary (shuffle, 12/8) track (step 3').

    A straight track's onsets repeat at the beat, so the ACF comb at 2/3 of it (where every other
    comb tooth falls between beats) is lower than at the beat; a shuffle's onsets repeat at 2/3 of
    the triplet-level pick, and its onset spectrum has energy there too.
    """
    if cfg.ternary_comb_ratio <= 0:
        return False
    comb_ratio, spec_ratio = ternary_ratios(grid, comb, spec, bpm, cfg.ternary_search_pct)
    return comb_ratio >= cfg.ternary_comb_ratio and spec_ratio >= cfg.ternary_spectrum_ratio


def refine_peak(grid: np.ndarray, salience: np.ndarray, bpm: float, width_pct: float = 3.0) -> float:
    """Local maximum of ``salience`` within ``width_pct`` of ``bpm`` (parabolic interpolation)."""
    lo, hi = np.searchsorted(grid, [bpm * (1 - width_pct / 100), bpm * (1 + width_pct / 100)])
    lo, hi = max(lo, 0), min(hi, grid.size)
    if hi - lo < 3:
        return bpm
    i = lo + int(np.argmax(salience[lo:hi]))
    if 0 < i < grid.size - 1:
        a, b, c = salience[i - 1], salience[i], salience[i + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if abs(denom) > EPS else 0.0
        return float(grid[i] * 2.0 ** (np.clip(shift, -0.5, 0.5) * np.log2(grid[1] / grid[0])))
    return float(grid[i])


def local_tempo_std(track: Sequence[Spectra], bpm: float, cfg: TempoConfig) -> float | None:
    """Std (BPM) of local tempi in ``local_window_s`` windows, each searched near ``bpm``."""
    fps = track[0].fps
    win = int(round(cfg.local_window_s * fps))
    hop = max(1, int(round(cfg.local_hop_s * fps)))
    lo, hi = bpm * (1 - cfg.local_search_pct / 100), bpm * (1 + cfg.local_search_pct / 100)
    grid = np.geomspace(lo, hi, 65)
    max_lag = int(np.ceil(60.0 * fps / lo * 2)) + 2
    local: list[float] = []
    for s in track:
        o = detrended_onset(s.onset, fps)
        if o.size < win:
            continue
        for start in range(0, o.size - win + 1, hop):
            acf = onset_acf(o[start : start + win], max_lag)
            sal = comb_salience(acf, fps, grid, 2)
            if sal.max() > cfg.min_confidence:
                local.append(refine_peak(grid, sal, float(grid[int(np.argmax(sal))]), 100.0))
    if len(local) < 2:
        return None
    return round(float(np.std(local)), 3)
