"""Sections from bar-level curves: boundaries at bar novelty peaks, labels from level and low band.

Every curve is summarised per bar (between two downbeats), so boundaries can only fall on
downbeats. The novelty of a boundary before bar ``b`` compares the ``novelty_half_width_bars``
bars after it with the ones before (loudness and low band in units of ``level_scale_db``, onset
activity in units of ``onset_scale`` x its mean) — the O(n) cousin of a checkerboard kernel on a
self-similarity matrix. Dance music changes on 4/8-bar units, so novelty on the best 4-bar phase
gets ``hypermeter_bonus``. Labels (intro, build, drop, breakdown, outro) come from each section's
loudness and kick/bass level relative to the track's loudest section and its place in the track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dj_pipeline.config.structure import LabelsConfig, SectionsConfig

_EPS = 1e-10
LABELS: tuple[str, ...] = ("intro", "build", "drop", "breakdown", "outro")


@dataclass(frozen=True)
class BarCurves:
    """One value per bar: loudness (dB), low band (dB), onset activity (x the track mean), grid fit."""

    level_db: np.ndarray
    low_db: np.ndarray
    onset: np.ndarray
    pulse: np.ndarray  # the bar has a beat (see grid.beat_phase_fit)
    audible: np.ndarray  # louder than silence_db, on more than a stray frame


@dataclass(frozen=True)
class Section:
    label: str
    start_bar: int
    n_bars: int
    level_db: float
    low_db: float
    novelty: float  # novelty of the boundary the section starts at (0 for the first)
    beat_share: float  # share of its bars with a pulse


def bar_curves(
    rms_db: np.ndarray,
    low_db: np.ndarray,
    onset: np.ndarray,
    fps: float,
    downbeats_s: np.ndarray,
    bar_s: float,
    pulse: np.ndarray,
    cfg: SectionsConfig,
) -> BarCurves:
    """Per-bar power-mean loudness and low band (dB), mean onset strength relative to the track,
    and whether the bar is audible (above ``silence_db`` on at least ``min_audible_share`` of its frames)."""
    n = int(min(rms_db.size, low_db.size, onset.size))
    edges = np.append(downbeats_s, downbeats_s[-1] + bar_s) if downbeats_s.size else np.zeros(1)
    lo = np.clip(np.round(edges[:-1] * fps).astype(int), 0, n)
    hi = np.clip(np.round(edges[1:] * fps).astype(int), 0, n)

    def per_bar(x: np.ndarray) -> np.ndarray:
        csum = np.concatenate([[0.0], np.cumsum(x[:n], dtype=np.float64)])
        return (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)

    level = 10.0 * np.log10(np.maximum(per_bar(10.0 ** (rms_db / 10.0)), _EPS))
    low = 10.0 * np.log10(np.maximum(per_bar(10.0 ** (low_db / 10.0)), _EPS))
    audible = (level > cfg.silence_db) & (per_bar((rms_db > cfg.silence_db).astype(np.float64)) >= cfg.min_audible_share)
    act = per_bar(onset)
    act = act / (float(np.mean(onset[:n])) + _EPS) if n else act
    empty = hi <= lo
    level[empty], low[empty], act[empty], audible[empty] = -120.0, -120.0, 0.0, False
    return BarCurves(level, low, act, np.asarray(pulse, dtype=bool), audible)


def audible_span(curves: BarCurves, cfg: SectionsConfig) -> tuple[int, int]:
    """``[first, last)`` audible bars (lead-in and tail silence cut off)."""
    loud = np.flatnonzero(curves.audible)
    return (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, 0)


def bar_novelty(curves: BarCurves, span: tuple[int, int], cfg: SectionsConfig) -> np.ndarray:
    """Novelty of a boundary before each bar (index ``b``: between bar ``b-1`` and bar ``b``).

    Only bars inside ``span`` (the audible bars) are compared, so the music's own start and end
    are not boundaries; outside it the novelty is 0.
    """
    first, last = span
    feats = np.stack(
        [curves.level_db / cfg.level_scale_db, np.maximum(curves.low_db, -90.0) / cfg.level_scale_db, curves.onset / cfg.onset_scale]
    )
    csum = np.concatenate([np.zeros((3, 1)), np.cumsum(feats, axis=1)], axis=1)
    w = cfg.novelty_half_width_bars
    out = np.zeros(feats.shape[1])
    for b in range(first + 1, last):
        wb, wa = min(w, b - first), min(w, last - b)
        before = (csum[:, b] - csum[:, b - wb]) / wb
        after = (csum[:, b + wa] - csum[:, b]) / wa
        out[b] = float(np.abs(after - before).sum()) * min(wb, wa, 2) / 2.0  # one-bar edges count half
    return out


def pick_boundaries(novelty: np.ndarray, span: tuple[int, int], hyper_bars: int, cfg: SectionsConfig) -> tuple[list[int], int]:
    """Boundary bars inside ``span`` (greedy by weighted novelty, ``min_section_bars`` apart).

    Returns the boundaries (sorted) and the hypermeter phase (bar index mod ``hyper_bars``) whose
    novelty peaks are highest in sum; novelty on that phase is weighted by ``hypermeter_bonus``.
    """
    first, last = span
    nov = novelty
    peaks = np.flatnonzero((nov[1:-1] >= nov[:-2]) & (nov[1:-1] > nov[2:])) + 1 if nov.size > 2 else np.zeros(0, int)
    phase = int(np.argmax([nov[peaks[peaks % hyper_bars == p]].sum() for p in range(hyper_bars)])) if hyper_bars > 1 else 0
    weighted = nov.copy()
    weighted[phase::hyper_bars] *= cfg.hypermeter_bonus
    chosen: list[int] = []
    for b in np.argsort(-weighted, kind="stable"):
        if weighted[b] < cfg.min_novelty:
            break
        if b - first < cfg.min_section_bars or last - b < cfg.min_section_bars:
            continue
        if all(abs(int(b) - c) >= cfg.min_section_bars for c in chosen):
            chosen.append(int(b))
    return sorted(chosen), phase


def make_sections(curves: BarCurves, boundaries: list[int], span: tuple[int, int], novelty: np.ndarray, labels: LabelsConfig) -> list[Section]:
    """Sections between ``span`` edges and ``boundaries``, labelled (see :func:`label_sections`)."""
    first, last = span
    edges = [first, *boundaries, last]
    raw = []
    for a, b in zip(edges[:-1], edges[1:]):
        lv = float(10.0 * np.log10(np.mean(10.0 ** (curves.level_db[a:b] / 10.0)) + _EPS))
        lw = float(10.0 * np.log10(np.mean(10.0 ** (curves.low_db[a:b] / 10.0)) + _EPS))
        raw.append((a, b - a, lv, lw, float(novelty[a]) if a > first else 0.0, float(curves.pulse[a:b].mean())))
    names = label_sections([r[2] for r in raw], [r[3] for r in raw], labels)
    return [Section(name, a, n, round(lv, 2), round(lw, 2), round(nv, 3), round(bs, 3)) for name, (a, n, lv, lw, nv, bs) in zip(names, raw)]


def label_sections(level_db: list[float], low_db: list[float], cfg: LabelsConfig) -> list[str]:
    """Intro/build/drop/breakdown/outro for sections in track order.

    Within ``high_level_db`` of the loudest section with the low band present: ``drop``. The
    sections before the first drop are the ``intro``, those after the last drop the ``outro``
    (a track that ends on a drop has none). Between drops: ``breakdown`` when clearly quieter
    (``breakdown_level_db``) or without the low band, else ``build``.
    """
    n = len(level_db)
    if n == 0:
        return []
    lv = np.asarray(level_db) - max(level_db)
    lw = np.asarray(low_db) - max(low_db)
    high = np.flatnonzero((lv >= cfg.high_level_db) & (lw >= cfg.low_present_db))
    first, last = (int(high[0]), int(high[-1])) if high.size else (n, -1)
    out = []
    for i in range(n):
        if i in high:
            out.append("drop")
        elif i < first:
            out.append("intro")
        elif i > last:
            out.append("outro")
        elif lv[i] <= cfg.breakdown_level_db or lw[i] < cfg.low_present_db:
            out.append("breakdown")
        else:
            out.append("build")
    return out
