"""Choose the sampled windows of a track: intro, outro, a main window and tail windows.

Rules (``club_hifi_150s``; other profiles change the numbers, see ``windows.yaml``):

* ``intro`` = ``[0, intro_s)``, ``outro`` = ``[duration - outro_s, duration)``, clipped to the track.
* ``main`` (``main_s`` long) starts at the first *strong* onset after ``main_search_start_s``: onset
  strength in the track's top decile while the loudness is within ``min_rms_rel_db`` of the loud
  part, so it lands on a downbeat of the groove, not on a quiet intro tick. No such onset: it starts
  at ``main_search_start_s``. A track too short for that gets the main window centred, or the whole
  track when shorter than ``main_s``.
* tails (``n_tails`` × ``tail_s``) sit in the last 30% of the track at its highest section-novelty
  peaks (drops, breakdown returns), at least ``tail_min_gap_s`` apart; one is forced into the last
  ``force_last_s`` seconds when it fits. Without peaks, positions are drawn from a generator seeded
  by the track id. Tracks whose last 30% cannot hold a tail get at most one tail (the last
  ``tail_s`` seconds, when that does not fall inside the main window), else none.
* ``adaptive`` picks a budget of 120/135/150 s from novelty peaks per minute and shrinks ``main_s``.

Everything is deterministic for a given file and track id, so reruns reproduce the same windows.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace

import numpy as np

from dj_pipeline.audio import probe
from dj_pipeline.config.windows import SamplingProfile, WindowsConfig, load_windows_config
from dj_pipeline.windows.envelope import TrackEnvelope, compute_envelope, section_novelty


@dataclass(frozen=True)
class Window:
    """A span of a track, in seconds from its start."""

    name: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def seed_from_track_id(track_id: str | None, path: str | os.PathLike | None = None) -> int:
    """A 64-bit seed from the track id (or the path when no id is known)."""
    text = track_id if track_id else str(path)
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "little")


def select_windows(
    path: str | os.PathLike,
    profile: str | None = None,
    track_id: str | None = None,
    config: WindowsConfig | None = None,
) -> list[Window]:
    """Read a track's envelope (streamed) and choose its windows. See the module docstring."""
    config = config or load_windows_config()
    _, prof = config.profile(profile)
    duration_s = probe(path).duration_s
    env = compute_envelope(path, config.envelope)
    return choose_windows(env, duration_s, prof, config, seed_from_track_id(track_id, path))


def choose_windows(
    env: TrackEnvelope, duration_s: float, prof: SamplingProfile, config: WindowsConfig, seed: int
) -> list[Window]:
    """Pure window choice from a precomputed envelope (the testable core of :func:`select_windows`)."""
    from scipy.signal import find_peaks  # here, not at import: a no-op ingest loads this module but never runs it

    rng = np.random.default_rng(seed)
    novelty, _ = section_novelty(env, config.envelope.novelty_half_width_s, config.envelope.novelty_level_scale_db)
    peaks, _ = find_peaks(
        novelty, distance=max(1, int(prof.tail_min_gap_s)), prominence=config.envelope.novelty_min_prominence
    )
    if prof.is_adaptive:
        prof = adapt_profile(prof, peaks.size, duration_s)
    windows = [
        Window("intro", 0.0, min(config.intro_s, duration_s)),
        Window("outro", max(0.0, duration_s - config.outro_s), duration_s),
    ]
    main = _main_window(env, duration_s, prof, config)
    windows.append(main)
    windows.extend(_tail_windows(novelty, peaks, duration_s, main, prof, rng))
    return [Window(w.name, round(float(w.start_s), 3), round(float(w.end_s), 3)) for w in windows]


def adapt_profile(prof: SamplingProfile, n_peaks: int, duration_s: float) -> SamplingProfile:
    """Adaptive profile: more novelty peaks per minute -> a bigger sampling budget."""
    per_min = n_peaks / max(duration_s / 60.0, 1e-6)
    level = int(np.searchsorted(np.asarray(prof.adaptive_peaks_per_min), per_min, side="right"))
    budget = prof.adaptive_budgets_s[min(level, len(prof.adaptive_budgets_s) - 1)]
    return replace(prof, main_s=max(prof.tail_s, budget - prof.n_tails * prof.tail_s))


def _main_window(env: TrackEnvelope, duration_s: float, prof: SamplingProfile, config: WindowsConfig) -> Window:
    if duration_s <= prof.main_s:
        return Window("main", 0.0, duration_s)
    latest_start = duration_s - prof.main_s
    if latest_start < prof.main_search_start_s:
        start = latest_start / 2.0
        return Window("main", start, start + prof.main_s)
    start = first_strong_onset_s(env, prof.main_search_start_s, latest_start, config)
    if start is None:
        start = prof.main_search_start_s
    return Window("main", start, start + prof.main_s)


def first_strong_onset_s(env: TrackEnvelope, from_s: float, to_s: float, config: WindowsConfig) -> float | None:
    """Time of the first strong, loud onset peak in ``[from_s, to_s]``, or ``None``."""
    if env.onset.size == 0:
        return None
    cfg = config.envelope
    thr = float(np.quantile(env.onset, cfg.strong_onset_quantile))
    loud = env.rms_db >= float(np.quantile(env.rms_db, 0.95)) + cfg.min_rms_rel_db
    lo, hi = int(from_s * env.fps), min(int(to_s * env.fps) + 1, env.onset.size)
    if thr <= 0 or hi <= lo:
        return None
    seg = env.onset[lo:hi]
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(seg, height=thr)
    peaks = [p for p in peaks if loud[lo + p]]
    return (lo + peaks[0]) / env.fps if peaks else None


def _tail_windows(
    novelty: np.ndarray, peaks: np.ndarray, duration_s: float, main: Window, prof: SamplingProfile, rng: np.random.Generator
) -> list[Window]:
    if prof.n_tails <= 0:
        return []
    region_lo = prof.tail_region_start_frac * duration_s
    region_hi = duration_s - prof.tail_s  # latest start
    if region_hi < region_lo:
        # Too short for a tail region: at most one tail, the very end, when it adds new material.
        start = max(0.0, duration_s - prof.tail_s)
        if start >= main.end_s - prof.tail_s / 2 and start > main.start_s:
            return [Window("tail_1", start, duration_s)]
        return []
    candidates = [float(p) for p in peaks if region_lo <= p <= region_hi]
    candidates.sort(key=lambda s: -float(novelty[int(s)]))
    starts: list[float] = []
    forced_lo = max(region_lo, duration_s - prof.force_last_s)
    if forced_lo <= region_hi:  # forcing into the last force_last_s seconds is feasible
        in_last = [s for s in candidates if s >= forced_lo]
        starts.append(in_last[0] if in_last else float(rng.uniform(forced_lo, region_hi)))
    for gap in (prof.tail_s + prof.tail_min_gap_s, prof.tail_min_gap_s):  # prefer disjoint windows
        for s in candidates:
            if len(starts) >= prof.n_tails:
                break
            if all(abs(s - o) >= gap for o in starts):
                starts.append(s)
        if len(starts) >= prof.n_tails:
            break
    tries = 0
    while len(starts) < prof.n_tails and tries < 64:  # no usable peaks: seeded draws
        s = float(rng.uniform(region_lo, region_hi))
        tries += 1
        if all(abs(s - o) >= prof.tail_min_gap_s for o in starts):
            starts.append(s)
    starts.sort()
    return [Window(f"tail_{i + 1}", s, s + prof.tail_s) for i, s in enumerate(starts)]
