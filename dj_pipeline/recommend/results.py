"""Result dicts of one recommendation: every number kept (``--json``), plus what a DJ reads.

Each result carries ``components`` (the raw terms), ``contributions`` (weight x term, summing to
``score``), ``lift`` (each contribution minus its mean over every scored candidate: what set this
track apart; a term that is large for everyone explains nothing), ``relaxed`` (the filters, rules
or goal it breaks), its ``energy_level``, the 0-100 ``match`` in rank order, ``reasons`` in
words (:mod:`dj_pipeline.recommend.explain`) and where to mix: the candidate's ``mix_in_*`` and
the current track's ``current_mix_out_*`` cue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.recommend import RecommendConfig, Weights
from dj_pipeline.recommend.explain import match_scores, reasons, score_bounds
from dj_pipeline.recommend.pairs import scalar
from dj_pipeline.recommend.tiers import Checks, broken


def build_results(
    cand_ids: list[str],
    candidates: Mapping[str, np.ndarray],
    pairs: pd.DataFrame,
    comps: Mapping[str, np.ndarray],
    terms: Mapping[str, np.ndarray],
    scores: np.ndarray,
    order: list[tuple[int, int]],
    pool_means: Mapping[str, float],
    checks: Checks,
    current: Mapping[str, Any],
    weights: Weights,
    config: RecommendConfig,
) -> list[dict[str, Any]]:
    """JSON-friendly result dicts (str/float/int/None/list/dict) for the chosen ``(index, level)``."""
    out = []
    for i, level in order:
        item = {
            "track_id": cand_ids[i],
            "path": text(candidates["path"][i]),
            "artist": text(candidates["artist"][i]),
            "title": text(candidates["title"][i]),
            "score": float(scores[i]),
            "bpm": num(candidates["bpm"][i]),
            "key": text(candidates["key"][i]),
            "camelot": text(candidates["camelot"][i]),
            "energy": num(candidates["energy"][i]),
            "energy_level": int(candidates["energy_level"][i]),
            "loudness_lufs": num(candidates["loudness_lufs"][i]) if "loudness_lufs" in candidates else None,
            "duration_s": num(candidates["duration_s"][i]),
            **mix_fields(candidates, i, current),
            "components": {name: float(v[i]) for name, v in comps.items()},
            "contributions": {name: float(v[i]) for name, v in terms.items()},
            "lift": {name: float(v[i]) - pool_means[name] for name, v in terms.items()},
            "relaxed": broken(checks, i, config.rules.stay_in_style),
            "level": level,
        }
        context_item = {
            **item,
            "same_style": bool(checks.same_style[i]) if checks.same_style is not None else False,
            "camelot_distance": int(pairs["camelot_distance"].iat[i]),
            "key_clarity_min": float(pairs["key_clarity_min"].iat[i]),
            "bpm_ratio": float(pairs["bpm_ratio"].iat[i]),
        }
        item["reasons"] = reasons(context_item, reason_context(current, config), config.match.reasons)
        out.append(item)
    bounds = score_bounds(weights.as_dict(), list(comps))
    matches = match_scores([r["score"] for r in out], [r["level"] for r in out], [len(r["relaxed"]) for r in out], bounds, config.match)
    for r, m in zip(out, matches):
        r["match"] = round(m, 1)
    return out


def mix_fields(candidates: Mapping[str, np.ndarray], i: int, current: Mapping[str, Any]) -> dict[str, float | None]:
    """Where to mix (``track_cues``, issue 16): the candidate's ``mix_in`` (time, bar, length in
    bars) and the current track's ``mix_out``; ``None`` where the cue is NULL or the library has none."""
    def at(values: Any) -> float | None:
        return num(values[i]) if values is not None else None

    return {
        "mix_in_s": at(candidates.get("mix_in_s")),
        "mix_in_bar": at(candidates.get("mix_in_bar")),
        "mix_in_bars": at(candidates.get("mix_in_bars")),
        "current_mix_out_s": num(current.get("mix_out_s")),
        "current_mix_out_bar": num(current.get("mix_out_bar")),
        "current_mix_out_bars": num(current.get("mix_out_bars")),
    }


def reason_context(current: Mapping[str, Any], config: RecommendConfig) -> dict[str, Any]:
    """What the reasons compare a pick with: the current track's key, tempo and energy level."""
    level = current.get("energy_level")
    return {
        "camelot": text(current.get("camelot")),
        "bpm": num(current.get("bpm")),
        "energy_level": int(level) if level is not None and np.isfinite(scalar(level)) else None,
        "min_clarity": config.key.min_clarity,
    }


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def num(value: Any) -> float | None:
    v = scalar(value)
    return v if np.isfinite(v) else None
