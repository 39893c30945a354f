"""What a DJ reads: a 0-100 match score in rank order and two or three reasons in words.

**Match.** The weighted score rescaled by the least and the most any candidate could score with
these weights (every component at the bottom or the top of its range), so 100 is a perfect fit
on every term and the scale is the same for every query; minus ``match.penalty_per_rule`` points
for each filter, rule or goal a pick breaks; and never above the pick ranked just before it (one
point below it when the pick comes from a lower level), so the column reads in rank order and a
relaxed pick always shows a lower match than every strict one.

**Reasons.** The energy move and the key relation always come first when they hold ("energy +1",
"same key 8A"); the rest are the terms that lifted the pick most above the other candidates, in
words ("same style", "intro mixes well", "same tempo", "you often play this next").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dj_pipeline.config.recommend import MatchConfig

# (low, high) of each component (scoring.py); unknown components count 0..1
COMPONENT_RANGE: dict[str, tuple[float, float]] = {"similarity": (-1.0, 1.0), "style": (-1.0, 1.0), "hype": (-1.0, 1.0), "diversity": (-1.0, 0.0)}
MIXES_WELL = 0.7  # intro_mix from which "intro mixes well" is said
OFTEN_PICKED = 0.6  # learned probability from which "you often play this next" is said
SAME_TEMPO_BPM = 0.5
HALF_DOUBLE_SAY_PCT = 6.0  # "half-time"/"double-time" is said only when the aligned tempos are this close


def score_bounds(weights: Mapping[str, float], components: Sequence[str]) -> tuple[float, float]:
    """Least and most a weighted sum over ``components`` can reach."""
    lo = hi = 0.0
    for name in components:
        w = float(weights.get(name, 0.0))
        a, b = COMPONENT_RANGE.get(name, (0.0, 1.0))
        lo += min(w * a, w * b)
        hi += max(w * a, w * b)
    return lo, hi


def match_scores(scores: Sequence[float], levels: Sequence[int], n_broken: Sequence[int], bounds: tuple[float, float], config: MatchConfig) -> list[float]:
    """0-100 match of results already in rank order (see module docstring)."""
    lo, hi = bounds
    out: list[float] = []
    prev_level = 0
    for score, level, nb in zip(scores, levels, n_broken):
        raw = 100.0 * (float(score) - lo) / max(hi - lo, 1e-9) - config.penalty_per_rule * nb
        if out:
            raw = min(raw, out[-1] - (1.0 if level > prev_level else 0.0))
        out.append(float(np.clip(raw, 0.0, 100.0)))
        prev_level = level
    return out


def energy_phrase(level_delta: int) -> str:
    return "same energy" if level_delta == 0 else f"energy {level_delta:+d}"


def key_phrase(current_camelot: str | None, camelot: str | None, distance: int, clarity_min: float, min_clarity: float) -> str | None:
    """"same key 8A", "relative key 8B", "key 8A -> 9A"; ``None`` when a key is unknown or unclear."""
    if not current_camelot or not camelot or distance < 0 or clarity_min < min_clarity:
        return None
    if distance == 0:
        return f"same key {camelot}"
    if distance == 1 and current_camelot[:-1] == camelot[:-1]:
        return f"relative key {camelot}"
    if distance == 1:
        return f"key {current_camelot} -> {camelot}"
    return None


def tempo_phrase(current_bpm: float | None, bpm: float | None, ratio: float) -> str | None:
    if current_bpm is None or bpm is None or not np.isfinite(ratio):
        return None
    if abs(bpm * ratio - current_bpm) > HALF_DOUBLE_SAY_PCT / 100.0 * current_bpm:
        return None  # no tempo in common to speak of
    if ratio == 0.5:
        return f"double-time {bpm:.0f}"
    if ratio == 2.0:
        return f"half-time {bpm:.0f}"
    diff = bpm - current_bpm
    return "same tempo" if abs(diff) < SAME_TEMPO_BPM else None


def reasons(item: Mapping[str, Any], context: Mapping[str, Any], n: int) -> list[str]:
    """Up to ``n`` reasons in words for one result (``item``: its fields; ``context``: the
    current track's camelot/bpm/level and the key clarity rule)."""
    words: list[str] = []
    if item.get("energy_level") is not None and context.get("energy_level") is not None:
        words.append(energy_phrase(int(item["energy_level"]) - int(context["energy_level"])))
    key = key_phrase(context.get("camelot"), item.get("camelot"), int(item.get("camelot_distance", -1)), float(item.get("key_clarity_min", 0.0)), float(context["min_clarity"]))
    if key:
        words.append(key)
    comps, lift = item.get("components", {}), item.get("lift", {})
    optional = {
        "style": "same style" if item.get("same_style") else None,
        "mixability": "intro mixes well" if comps.get("mixability", 0.0) >= MIXES_WELL else None,
        "tempo": tempo_phrase(context.get("bpm"), item.get("bpm"), float(item.get("bpm_ratio", np.nan))),
        "learned": "you often play this next" if comps.get("learned", 0.0) >= OFTEN_PICKED else None,
    }
    for name in sorted(optional, key=lambda c: -lift.get(c, 0.0)):
        if optional[name] and len(words) < n:
            words.append(optional[name])
    return words[:n]
