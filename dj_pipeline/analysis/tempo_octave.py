"""A learned choice of the tempo's metrical level among a few candidates (experimental, ``tempo.octave_model``).

The hand-made octave rule of :func:`dj_pipeline.analysis.tempo.choose_octave` doubles slow rock,
pop and country and halves fast disco and metal on real music. This module scores a short list of
candidate tempi per track with a conditional logit (a softmax over the track's candidates):

* Candidates: the ``n_classes`` best tempo classes (octave-folded salience peaks), each times
  ``ratios`` (1, 3/2, 2/3: the ternary confusions), at every octave inside the DJ range; the
  hand-made rule's own choice is always one of them.
* Features per candidate (:data:`FEATURE_NAMES`): log ACF-comb of the full-band, body (< 2 kHz)
  and low-band (kick) onset envelopes at the candidate and at its half/double, the onset
  spectrum at the candidate and its half/double, the salience relative to the track's best, the
  log tempo and its square (a learned tempo prior), the distance to the DJ range's centre (the
  ``bpm_range`` / genre-range prior), onsets per beat (and its square), the percussive share times
  the log tempo, and whether the hand-made rule chose it.
* Model: ``logit = coef . (x - mean) / scale``; the candidate with the largest logit wins. Fitted
  by :func:`fit_octave_model` (L2-penalised softmax likelihood of the candidates within 4 % of the
  annotated tempo) in ``bench/tempo_octave_tune.py --train``; the weights, the data they were fitted
  on and their held-out figures are in ``config/tempo_octave.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import minimize

from dj_pipeline.analysis.frontend import EPS

FEATURE_NAMES: tuple[str, ...] = (
    "log_comb", "log_comb_x2", "log_comb_half", "log_spec", "log_spec_x2", "log_spec_half",
    "log_comb_body", "log_comb_low", "log_comb_low_half", "rel_salience", "log2_tempo", "log2_tempo_sq",
    "range_dev_sq", "per_beat", "per_beat_sq", "perc_x_tempo", "rule_choice",
)  # fmt: skip
MODEL_FILE = Path(__file__).resolve().parents[1] / "config" / "tempo_octave.yaml"
REFERENCE_BPM = 120.0  # centre of the log-tempo features (any fixed value; the model learns its own prior)
LOG_FLOOR = 1e-3  # comb/spectrum values are floored here before the log


@dataclass(frozen=True)
class OctaveEvidence:
    """Per-track periodicity curves on the tempo grid and the scalars the candidate features need."""

    grid: np.ndarray  # tempo grid (BPM), log-spaced
    comb: np.ndarray  # full-band ACF comb salience
    spec: np.ndarray  # onset spectrum, max 1
    comb_body: np.ndarray  # ACF comb of the body (< tempo.beat_max_hz) onsets
    comb_low: np.ndarray  # ACF comb of the low-band (kick) onsets
    onset_rate_per_s: float
    percussive_share: float  # 0..1 (0.5 when unknown)


@dataclass(frozen=True)
class OctaveModel:
    feature_names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    ratios: tuple[float, ...]
    n_classes: int


def _at(curve: np.ndarray, grid: np.ndarray, bpm: float) -> float:
    return float(np.interp(bpm, grid, curve))


def _log_at(curve: np.ndarray, grid: np.ndarray, bpm: float) -> float:
    return float(np.log(max(_at(curve, grid, bpm), LOG_FLOOR)))


def candidate_features(bpm: float, ev: OctaveEvidence, bpm_range: tuple[float, float], rule_bpm: float) -> np.ndarray:
    """The :data:`FEATURE_NAMES` vector of one candidate tempo ``bpm``."""
    g = ev.grid
    salience = np.maximum(ev.comb, 0.0) * ev.spec
    rel = _at(salience, g, bpm) / max(float(salience.max()), EPS)
    lt = float(np.log2(bpm / REFERENCE_BPM))
    centre = float(np.sqrt(bpm_range[0] * bpm_range[1]))
    per_beat = float(np.log2(max(ev.onset_rate_per_s, EPS) * 60.0 / bpm / 2.0))
    return np.array([
        _log_at(ev.comb, g, bpm), _log_at(ev.comb, g, 2 * bpm), _log_at(ev.comb, g, bpm / 2),
        _log_at(ev.spec, g, bpm), _log_at(ev.spec, g, 2 * bpm), _log_at(ev.spec, g, bpm / 2),
        _log_at(ev.comb_body, g, bpm), _log_at(ev.comb_low, g, bpm), _log_at(ev.comb_low, g, bpm / 2),
        rel, lt, lt * lt, float(np.log2(bpm / centre)) ** 2, per_beat, per_beat * per_beat,
        (ev.percussive_share - 0.5) * lt, float(abs(bpm / rule_bpm - 1.0) < 0.02),
    ])  # fmt: skip


def class_peaks(grid: np.ndarray, folded: np.ndarray, lo_bpm: float, n: int) -> list[float]:
    """The ``n`` strongest local maxima of the octave-folded salience in ``[lo_bpm, 2 lo_bpm)``."""
    band = np.flatnonzero((grid >= lo_bpm) & (grid < 2.0 * lo_bpm))
    f = folded[band]
    wrap = np.concatenate([[f[-1]], f, [f[0]]])  # the band is one octave: its ends are neighbours
    peaks = np.flatnonzero((wrap[1:-1] >= wrap[:-2]) & (wrap[1:-1] >= wrap[2:]))
    best = peaks[np.argsort(f[peaks])[::-1][:n]] if peaks.size else np.array([int(np.argmax(f))])
    return [float(grid[band[i]]) for i in best]


def candidate_tempi(
    ev: OctaveEvidence, folded: np.ndarray, lo_bpm: float, bpm_range: tuple[float, float], rule_bpm: float, model: OctaveModel
) -> list[float]:
    """Candidate tempi inside ``bpm_range`` (see the module docstring), the rule's choice first, 2 % apart."""
    from dj_pipeline.analysis.tempo import octave_candidates, refine_peak

    salience = np.maximum(ev.comb, 0.0) * ev.spec
    out = [rule_bpm]
    for base in class_peaks(ev.grid, folded, lo_bpm, model.n_classes):
        for ratio in model.ratios:
            for t in octave_candidates(base * ratio, bpm_range):
                t = refine_peak(ev.grid, salience, t)
                if all(abs(t / c - 1.0) > 0.02 for c in out):
                    out.append(t)
    return out


def candidate_logits(features: np.ndarray, model: OctaveModel) -> np.ndarray:
    return ((np.atleast_2d(features) - model.mean) / model.scale) @ model.coef


def choose_learned(
    ev: OctaveEvidence, folded: np.ndarray, lo_bpm: float, bpm_range: tuple[float, float], rule_bpm: float, model: OctaveModel
) -> float:
    """The candidate tempo with the largest model logit."""
    cands = candidate_tempi(ev, folded, lo_bpm, bpm_range, rule_bpm, model)
    x = np.stack([candidate_features(t, ev, bpm_range, rule_bpm) for t in cands])
    return cands[int(np.argmax(candidate_logits(x, model)))]


def fit_octave_model(
    tracks: Sequence[tuple[np.ndarray, np.ndarray]], l2: float, ratios: tuple[float, ...], n_classes: int
) -> OctaveModel:
    """Softmax (conditional logit) over each track's candidates; ``tracks``: ``(features (n, d), correct (n,) bool)``.

    Tracks without a correct candidate carry no information on the choice and are skipped. The loss
    is the mean negative log of the probability mass on the correct candidates plus ``l2 |coef|^2``.
    """
    used = [(x, c.astype(bool)) for x, c in tracks if c.any() and len(c) > 1]
    allx = np.concatenate([x for x, _ in used])
    mean, scale = allx.mean(axis=0), allx.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    zs = [((x - mean) / scale, c) for x, c in used]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for z, c in zs:
            logit = z @ w
            p = np.exp(logit - logit.max())
            p /= p.sum()
            pc = p[c].sum()
            total -= np.log(pc + 1e-300)
            q = np.where(c, p / max(pc, 1e-300), 0.0)  # posterior over the correct candidates
            grad -= z.T @ (q - p)
        n = len(zs)
        return total / n + l2 * float(w @ w), grad / n + 2.0 * l2 * w

    res = minimize(loss, np.zeros(allx.shape[1]), jac=True, method="L-BFGS-B")
    return OctaveModel(FEATURE_NAMES, mean, scale, res.x, tuple(ratios), n_classes)


def model_to_dict(model: OctaveModel) -> dict:
    return {"feature_names": list(model.feature_names), "mean": [round(float(v), 6) for v in model.mean],
            "scale": [round(float(v), 6) for v in model.scale], "coef": [round(float(v), 6) for v in model.coef],
            "ratios": [round(float(r), 6) for r in model.ratios], "n_classes": int(model.n_classes)}  # fmt: skip


@lru_cache(maxsize=4)
def load_octave_model(path: str | None = None) -> OctaveModel:
    """The model in ``path`` (default: ``config/tempo_octave.yaml``); its feature names must match this module's."""
    data = yaml.safe_load(Path(path or MODEL_FILE).read_text())["model"]
    if tuple(data["feature_names"]) != FEATURE_NAMES:
        raise ValueError("tempo octave model: its feature names do not match this version of tempo_octave.py")
    arr = lambda k: np.asarray(data[k], dtype=np.float64)  # noqa: E731
    return OctaveModel(FEATURE_NAMES, arr("mean"), arr("scale"), arr("coef"), tuple(float(r) for r in data["ratios"]), int(data["n_classes"]))
