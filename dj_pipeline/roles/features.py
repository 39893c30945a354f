"""DSP features of a pre-processed one-shot, each mapped into [0, 1] so rule weights are comparable.

Times (attack, decay, sustain length) span milliseconds to seconds, so they are log-mapped between
a floor and a ceiling; spectral shape is given as energy ratios of three bands (kick body, snare/tom
body, hat/cymbal sizzle) plus flatness, zero-crossing rate and centroid.
"""

from __future__ import annotations

import numpy as np

from dj_pipeline.config.roles import FeaturesConfig

FEATURE_NAMES: tuple[str, ...] = (
    "energy", "sharpness", "attack", "decay", "low_ratio", "mid_ratio", "high_ratio",
    "flatness", "zcr", "centroid", "length", "sub_ratio", "tonality", "pitch_drop",
    "pitch", "noise_mid", "duration", "burstiness", "sweep", "decay_fit", "temporal_centroid", "sustain",
)


def log_unit(value_s: float, floor_s: float, ceil_s: float) -> float:
    """Map a duration onto [0, 1] logarithmically: ``floor_s`` -> 0, ``ceil_s`` -> 1 (clipped)."""
    v = max(float(value_s), floor_s)
    return float(np.clip(np.log(v / floor_s) / np.log(ceil_s / floor_s), 0.0, 1.0))


def amplitude_envelope(y: np.ndarray, sr: int, frame_s: float, smooth_s: float) -> np.ndarray:
    """Hilbert magnitude, smoothed over ``smooth_s`` and sampled every ``frame_s``.

    The analytic-signal magnitude does not ripple with the waveform the way a short-frame RMS does on
    a 50 Hz kick, so a 1-2 ms attack and the decay of a low sine are both measured correctly.
    """
    n_fft = 1 << int(np.ceil(np.log2(max(y.size, 2))))
    spectrum = np.fft.fft(y, n_fft)
    gain = np.zeros(n_fft)
    gain[0] = 1.0
    gain[1: n_fft // 2] = 2.0
    gain[n_fft // 2] = 1.0
    mag = np.abs(np.fft.ifft(spectrum * gain))[: y.size]
    width = max(1, int(round(smooth_s * sr)))
    smooth = np.convolve(mag, np.ones(width) / width, mode="same")
    step = max(1, int(round(frame_s * sr)))
    return smooth[::step]


def attack_decay_s(env: np.ndarray, frame_s: float, onset_rel: float, attack_rel: float, decay_rel: float) -> tuple[float, float]:
    """Attack (onset -> ``attack_rel`` of peak) and decay (peak -> first drop under ``decay_rel``).

    A sound that never decays below ``decay_rel`` within the clip gets the time to the clip's end.
    """
    if env.size == 0 or float(env.max()) <= 0:
        return 0.0, 0.0
    peak_i = int(np.argmax(env))
    peak = float(env[peak_i])
    onset_i = int(np.flatnonzero(env >= onset_rel * peak)[0])
    reach_i = int(np.flatnonzero(env >= attack_rel * peak)[0])
    below = np.flatnonzero(env[peak_i:] < decay_rel * peak)
    decay_frames = int(below[0]) if below.size else env.size - peak_i
    return max(reach_i - onset_i, 0) * frame_s, decay_frames * frame_s


def _spectrogram(y: np.ndarray, n_fft: int, hop: int, pre_roll: int) -> np.ndarray:
    """Power spectrogram (freq x frames), Hann window, with ``pre_roll`` zeros so the onset is a rise."""
    x = np.concatenate([np.zeros(pre_roll, np.float64), y.astype(np.float64), np.zeros(n_fft, np.float64)])
    n_frames = 1 + max(0, (x.size - n_fft) // hop)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = x[idx] * np.hanning(n_fft)[None, :]
    return (np.abs(np.fft.rfft(frames, axis=1)) ** 2).T


def _band(power: np.ndarray, freqs: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    return float(power[(freqs >= lo_hz) & (freqs < hi_hz)].sum())


def oneshot_features(y: np.ndarray, sr: int, config: FeaturesConfig, active_s: float | None = None) -> dict[str, float]:
    """The rule features of a pre-processed one-shot (mono, trimmed, peak-normalised), all in [0, 1].

    ``active_s`` is the audible length measured on the whole read (see ``preprocess``); without it
    the length of ``y`` is used. Keys are ``FEATURE_NAMES``, in that order.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0 or not np.any(y):
        return {name: 0.0 for name in FEATURE_NAMES}
    length_s = y.size / sr if active_s is None else active_s
    feats = {**_temporal_features(y, sr, config, length_s), **_spectral_features(y, sr, config)}
    return {name: float(np.clip(feats[name], 0.0, 1.0)) for name in FEATURE_NAMES}


def _temporal_features(y: np.ndarray, sr: int, c: FeaturesConfig, active_s: float) -> dict[str, float]:
    """Level contour: energy, onset sharpness, attack, decay, lengths, re-rises, envelope shape."""
    env = amplitude_envelope(y, sr, c.envelope_frame_s, c.envelope_smooth_s)
    attack_s, decay_s = attack_decay_s(env, c.envelope_frame_s, c.onset_rel, c.attack_rel, c.decay_rel)
    length_s = (np.flatnonzero(env >= c.length_rel * env.max()).max() + 1) * c.envelope_frame_s
    return {
        "energy": float(env.max() * c.energy_scale),
        "sharpness": _flux_peak(y, sr, c),
        "attack": log_unit(attack_s, c.attack_floor_s, c.attack_ceil_s),
        "decay": log_unit(decay_s, c.decay_floor_s, c.decay_ceil_s),
        "length": log_unit(length_s, c.decay_floor_s, c.decay_ceil_s),
        "duration": log_unit(active_s, c.duration_floor_s, c.duration_ceil_s),
        "burstiness": _burstiness(env, c.envelope_frame_s, c.burst_smooth_s, c.burst_scale_db),
        **_envelope_shape(env, c),
    }


def _spectral_features(y: np.ndarray, sr: int, c: FeaturesConfig) -> dict[str, float]:
    """Spectral shape: band ratios, flatness, zero crossings, centroid, tonality, pitch and its movement."""
    spec = _spectrogram(y, c.n_fft, c.hop_length, c.n_fft)
    freqs = np.fft.rfftfreq(c.n_fft, 1.0 / sr)
    in_range = (freqs >= c.low_hz[0]) & (freqs < c.high_hz[1])
    frame_energy = spec[in_range].sum(axis=0)
    weights = frame_energy / max(float(frame_energy.sum()), 1e-20)  # loud frames count more
    total_power = spec.sum(axis=1)
    total = max(_band(total_power, freqs, c.low_hz[0], c.high_hz[1]), 1e-20)
    centroid = (freqs[in_range, None] * spec[in_range]).sum(axis=0) / np.maximum(frame_energy, 1e-20)
    crossings = np.abs(np.diff(np.signbit(y).astype(np.int8)))
    active = (np.abs(y) >= c.zcr_gate_rel)[1:]
    zcr = float(crossings[active].mean()) if np.any(active) else 0.0
    return {
        "low_ratio": _band(total_power, freqs, *c.low_hz) / total,
        "mid_ratio": _band(total_power, freqs, *c.mid_hz) / total,
        "high_ratio": _band(total_power, freqs, *c.high_hz) / total,
        "sub_ratio": _band(total_power, freqs, c.low_hz[0], c.sub_hz) / total,
        "flatness": _band_flatness(spec, freqs, weights, (c.low_hz[0], c.high_hz[1]), c.flatness_power),
        "noise_mid": _band_flatness(spec, freqs, weights, c.mid_hz, c.flatness_power),
        "zcr": zcr / c.zcr_max,
        "centroid": float(np.sum(weights * centroid) / c.high_hz[1]),
        "tonality": _tonality(spec[in_range], weights, c.tonal_peak_bins),
        "pitch_drop": _pitch_drop(spec, freqs, c),
        "pitch": _dominant_pitch(spec[in_range], freqs[in_range], weights, c),
        "sweep": _sweep(centroid, weights, c.sweep_scale_octaves),
    }


def _flux_peak(y: np.ndarray, sr: int, c: FeaturesConfig) -> float:
    """Largest one-hop rise of the short-time magnitude spectrum, relative to the loudest frame.

    A short window (``flux_n_fft``) and a silent pre-roll make an instant onset one big rise and a
    swell many small ones; ``flux_ref`` (the value of an ideal step onset) maps it onto [0, 1].
    """
    spec = np.sqrt(_spectrogram(y, c.flux_n_fft, c.flux_hop_length, c.flux_n_fft))
    freqs = np.fft.rfftfreq(c.flux_n_fft, 1.0 / sr)
    mag = spec[(freqs >= c.low_hz[0]) & (freqs < c.high_hz[1])]
    flux = np.maximum(np.diff(mag, axis=1), 0.0).sum(axis=0)
    peak = max(float(mag.sum(axis=0).max()), 1e-20)
    return float(np.clip(flux.max() / peak / c.flux_ref, 0.0, 1.0)) if flux.size else 0.0


def _burstiness(env: np.ndarray, frame_s: float, smooth_s: float, scale_db: float) -> float:
    """Largest re-rise of the envelope after a dip, past its peak, in dB / ``scale_db``.

    A clap's second and third bursts, a flam or a stutter rise again after the first hit; a drum's
    plain decay does not. The envelope is averaged over ``smooth_s`` first so noise ripple is ignored.
    """
    step = max(1, int(round(smooth_s / frame_s)))
    n = env.size // step
    if n < 3:
        return 0.0
    coarse = env[: n * step].reshape(n, step).mean(axis=1)
    peak_i = int(np.argmax(coarse))
    db = 20.0 * np.log10(np.maximum(coarse[peak_i:], 1e-20) / max(float(coarse[peak_i]), 1e-20))
    rise = db - np.minimum.accumulate(db)
    return float(np.clip(rise.max() / scale_db, 0.0, 1.0))


def _envelope_shape(env: np.ndarray, c: FeaturesConfig) -> dict[str, float]:
    """How drum-like the level contour is.

    ``decay_fit``: R^2 of a straight line through the dB envelope after the peak (down to
    ``shape_floor_db``); a struck drum decays exponentially (1.0), a swell, wobble or gated sound does
    not. ``temporal_centroid``: energy-weighted mean time over the clip length (early = hit).
    ``sustain``: share of the audible span (within ``shape_floor_db``) spent within ``sustain_db`` of the peak.
    """
    peak_i = int(np.argmax(env))
    peak = max(float(env[peak_i]), 1e-20)
    db = 20.0 * np.log10(np.maximum(env[peak_i:] / peak, 1e-10))
    audible = np.flatnonzero(db > -c.shape_floor_db)
    tail = db[: max(int(audible[-1]) + 1 if audible.size else 0, 3)]
    t = np.arange(tail.size, dtype=np.float64)
    ss = float(np.sum((tail - tail.mean()) ** 2))
    if ss > 0:
        slope, intercept = np.polyfit(t, tail, 1)
        fit = 1.0 - float(np.sum((tail - (slope * t + intercept)) ** 2)) / ss
    else:
        fit = 1.0
    e2 = env**2
    centroid = float(np.sum(np.arange(env.size) * e2) / max(float(e2.sum()), 1e-20) / env.size)
    loud = np.flatnonzero(env >= peak * 10.0 ** (-c.shape_floor_db / 20.0))
    span = env[loud[0]: loud[-1] + 1]
    sustain = float(np.mean(span >= peak * 10.0 ** (-c.sustain_db / 20.0)))
    return {"decay_fit": float(np.clip(fit, 0.0, 1.0)), "temporal_centroid": float(np.clip(centroid, 0.0, 1.0)),
            "sustain": float(np.clip(sustain, 0.0, 1.0))}


def _sweep(centroid_hz: np.ndarray, weights: np.ndarray, scale_octaves: float) -> float:
    """Energy-weighted spread of the spectral centroid over time, in octaves / ``scale_octaves``."""
    log_c = np.log2(np.maximum(centroid_hz, 1.0))
    mean = float(np.sum(weights * log_c))
    return float(np.clip(np.sqrt(np.sum(weights * (log_c - mean) ** 2)) / scale_octaves, 0.0, 1.0))


def _dominant_pitch(power: np.ndarray, freqs: np.ndarray, weights: np.ndarray, c: FeaturesConfig) -> float:
    """Frequency of each frame's strongest bin, energy-weighted in log space, log-mapped onto [0, 1]."""
    peak_hz = np.maximum(freqs[np.argmax(power, axis=0)], c.pitch_floor_hz)
    mean_log = float(np.sum(weights * np.log(peak_hz)))
    return float(np.clip(np.log(np.exp(mean_log) / c.pitch_floor_hz) / np.log(c.pitch_ceil_hz / c.pitch_floor_hz), 0.0, 1.0))


def _band_flatness(spec: np.ndarray, freqs: np.ndarray, weights: np.ndarray, band_hz: tuple[float, float], power: float) -> float:
    """Spectral flatness inside one band (noise there -> high), energy-weighted over frames."""
    band = spec[(freqs >= band_hz[0]) & (freqs < band_hz[1])]
    flat = np.exp(np.mean(np.log(band + 1e-20), axis=0)) / np.maximum(band.mean(axis=0), 1e-20)
    return float(np.clip(np.sum(weights * flat) ** power, 0.0, 1.0))


def _tonality(power: np.ndarray, weights: np.ndarray, peak_bins: int) -> float:
    """Energy share of the strongest few bins per frame (a sine -> ~1, white noise -> small)."""
    top = np.sort(power, axis=0)[-peak_bins:].sum(axis=0)
    share = top / np.maximum(power.sum(axis=0), 1e-20)
    return float(np.clip(np.sum(weights * share), 0.0, 1.0))


def _pitch_drop(spec: np.ndarray, freqs: np.ndarray, c: FeaturesConfig) -> float:
    """How far the low-band centroid falls after the loudest frame (a kick's sweep), in octaves / ``pitch_drop_octaves``.

    Scaled by the low band's share of the energy, so the random centroid of a hat's faint low
    band does not count as a sweep.
    """
    band = (freqs >= c.low_hz[0]) & (freqs < c.mid_hz[1] / 4)
    low = spec[band]
    e = low.sum(axis=0)
    if e.max() <= 0:
        return 0.0
    keep = e >= e.max() * 10 ** (-c.pitch_track_db / 10.0)
    cent = (freqs[band, None] * low).sum(axis=0) / np.maximum(e, 1e-20)
    idx = np.flatnonzero(keep)
    start = int(np.argmax(e))
    tail = idx[idx >= start]
    if tail.size < 2:
        return 0.0
    drop_oct = np.log2(max(cent[start], 1.0) / max(float(np.min(cent[tail])), 1.0))
    low_share = float(e.sum() / max(float(spec.sum()), 1e-20))
    return float(np.clip(low_share * drop_oct / c.pitch_drop_octaves, 0.0, 1.0))
