"""Role assignment for one-shot files: decode -> features -> p_rule (+ p_clap) -> fusion -> guards.

``assign_roles`` returns the ``sample_roles`` rows (INTERFACE.md columns, the features, the fusion
alpha and a ``reason``) and error rows for files that cannot be decoded; bad input never raises.
``assign_folder`` does the same for every audio file under a folder and builds the pools.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.audio.io import AudioDecodeError
from dj_pipeline.config.roles import ROLES, RolesConfig, load_roles_config
from dj_pipeline.roles.clap_scores import clap_probabilities, fuse
from dj_pipeline.roles.features import FEATURE_NAMES, oneshot_features
from dj_pipeline.roles.guards import apply_guards, top_two
from dj_pipeline.roles.preprocess import STATUS_OK, OneShot, load_oneshot
from dj_pipeline.roles.rules import rule_probabilities

ERROR_COLUMNS = ["path", "stage", "error"]
PROB_PREFIXES = ("p_rule_", "p_clap_", "p_final_")


def prob_columns(prefix: str) -> list[str]:
    """``p_rule_core`` ... in ``ROLES`` order for one of ``PROB_PREFIXES``."""
    return [f"{prefix}{r.lower()}" for r in ROLES]


ROLE_COLUMNS = [
    "sample_id", "path", "role", "confidence", "runner_up", "low_confidence", "eligible", "status", "reason",
    "fusion_alpha", *[c for p in PROB_PREFIXES for c in prob_columns(p)], "source_duration_s", *FEATURE_NAMES,
]


@dataclass
class ScoredClips:
    """Per-clip outputs of :func:`score_clips` (row i belongs to clip i)."""

    features: list[dict[str, float]]
    p_rule: np.ndarray
    p_clap: np.ndarray | None
    p_final: np.ndarray
    alpha: float
    reasons: list[list[str]]


def score_clips(clips: Sequence[OneShot], config: RolesConfig, clap: Any = None,
                clips_48k: Sequence[np.ndarray] | None = None) -> ScoredClips:
    """Features, rule/CLAP/fused probabilities and guard reasons for pre-processed clips.

    Shared by the one-shot assigner and the per-track drum profile. ``clips_48k`` (the same clips at
    ``clap_sr``) is needed only with ``clap``.
    """
    if clap is not None and (clips_48k is None or len(clips_48k) != len(clips)):
        raise ValueError("score_clips: with clap, pass clips_48k (the same clips at clap_sr), one per clip")
    feats = [oneshot_features(c.y, c.sr, config.features, c.active_s) for c in clips]
    p_rule = rule_probabilities(feats, config)
    p_clap, clap_note = None, None
    if clap is not None and len(clips):
        try:
            p_clap = clap_probabilities(list(clips_48k), clap, config)
        except Exception as exc:  # noqa: BLE001 - a failing model must not lose the rule-based roles
            clap_note = f"CLAP failed, rules alone: {type(exc).__name__}: {exc}"[:200]
    p_fused, alpha = fuse(p_rule, p_clap, config)
    guarded = [apply_guards(p, f, config.guards) for p, f in zip(p_fused, feats)]
    p_final = np.array([g[0] for g in guarded]).reshape(len(clips), len(ROLES))
    reasons = [([clap_note] if clap_note else []) + g[1] for g in guarded]
    return ScoredClips(feats, p_rule, p_clap, p_final, alpha, reasons)


def _decode(samples: Sequence[tuple[str, str]], config: RolesConfig, with_clap: bool):
    ok, errors = [], []
    for sid, path in samples:
        try:
            rule, clap_clip = load_oneshot(path, config.preprocess, with_clap=with_clap)
        except AudioDecodeError as exc:
            errors.append({"path": str(path), "stage": "roles", "error": str(exc)})
            continue
        except Exception as exc:  # noqa: BLE001 - a bad file must become an error row, never a crash
            errors.append({"path": str(path), "stage": "roles", "error": f"unexpected {type(exc).__name__}: {exc}"[:300]})
            continue
        ok.append((str(sid), str(path), rule, clap_clip))
    return ok, errors


def assign_roles(samples: list[tuple[str, str]], config: RolesConfig, clap: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roles for ``(sample_id, path)`` pairs -> ``(sample_roles rows, error rows)``.

    Silent files and loops (longer than ``max_oneshot_duration_s``) are not errors: they get role
    TEXTURE, confidence 0, ``eligible=False`` and a reason. p_clap_* are NULL without CLAP.
    """
    decoded, errors = _decode(samples, config, with_clap=clap is not None)
    scored = score_clips([d[2] for d in decoded], config, clap, [d[3].y for d in decoded] if clap is not None else None)
    rows = []
    for i, (sid, path, clip, _) in enumerate(decoded):
        rows.append(_row(sid, path, clip, scored, i, config))
    roles = pd.DataFrame(rows, columns=ROLE_COLUMNS)
    roles = _typed(roles)
    return roles, pd.DataFrame(errors, columns=ERROR_COLUMNS)


def decide(clip: OneShot, p_final: np.ndarray) -> tuple[str, str, float]:
    """``(role, runner_up, confidence)`` of one clip: the arg-max and top-2 margin of ``p_final``,
    except that silent clips and loops are TEXTURE with confidence 0."""
    best, second, margin = top_two(p_final)
    if clip.status != STATUS_OK:
        return "TEXTURE", ROLES[best], 0.0
    return ROLES[best], ROLES[second], margin


def _row(sid: str, path: str, clip: OneShot, scored: ScoredClips, i: int, config: RolesConfig) -> dict[str, Any]:
    role, runner_up, margin = decide(clip, scored.p_final[i])
    reasons = list(scored.reasons[i])
    eligible = clip.status == STATUS_OK
    if not eligible:
        reasons.insert(0, clip.reason or clip.status)
    row: dict[str, Any] = {
        "sample_id": sid, "path": path, "role": role, "confidence": round(margin, 6), "runner_up": runner_up,
        "low_confidence": margin < config.low_confidence, "eligible": eligible, "status": clip.status,
        "reason": "; ".join(reasons) if reasons else None, "fusion_alpha": scored.alpha,
        "source_duration_s": clip.source_duration_s,
    }
    for prefix, probs in zip(PROB_PREFIXES, (scored.p_rule, scored.p_clap, scored.p_final)):
        for col, r in zip(prob_columns(prefix), range(len(ROLES))):
            row[col] = float(probs[i, r]) if probs is not None else None
    row.update(scored.features[i])
    return row


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Stable dtypes (also for an empty frame): strings, bools, floats; p_clap_* nullable."""
    out = df.copy()
    for col in ("sample_id", "path", "role", "runner_up", "status", "reason"):
        out[col] = out[col].astype("string")
    for col in ("low_confidence", "eligible"):
        out[col] = out[col].astype(bool)
    floats = ["confidence", "fusion_alpha", "source_duration_s", *prob_columns("p_rule_"), *prob_columns("p_final_")]
    for col in [*floats, *FEATURE_NAMES]:
        out[col] = out[col].astype("float64")
    for col in prob_columns("p_clap_"):
        out[col] = out[col].astype("Float64")
    return out


def sample_id(path: str | os.PathLike) -> str:
    """Stable id of a one-shot: the catalog's content id (sha1 of the bytes if that is unavailable).

    Empty files get ``empty:<name>`` (their content id would be the same for all of them).
    """
    p = Path(path)
    if p.stat().st_size == 0:
        return f"empty:{p.name}"
    try:
        from dj_pipeline.catalog.hashing import content_id  # noqa: PLC0415 - lead-owned, optional at import time
    except ImportError:  # pragma: no cover - the catalog ships with the package
        return hashlib.sha1(p.read_bytes()).hexdigest()[:20]
    return content_id(p)


def assign_folder(samples_dir: str | os.PathLike, config: RolesConfig | None = None,
                  clap: Any = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Roles, pools and errors for every one-shot under ``samples_dir`` (for ``dj roles``).

    Files with the same content are assigned once (the first path wins).
    """
    from dj_pipeline.roles.pools import build_pools  # noqa: PLC0415 - pools imports this module's columns

    config = config or load_roles_config()
    seen: dict[str, str] = {}
    errors: list[dict[str, str]] = []
    from dj_pipeline.catalog.scan import find_audio_paths  # noqa: PLC0415 - same discovery as the sample catalog

    files, odd_dirs = find_audio_paths(samples_dir)
    errors += [{"path": str(d), "stage": "roles", "error": "is a directory, not an audio file"} for d in odd_dirs]
    for path in files:
        try:
            sid = sample_id(path)
        except OSError as exc:
            errors.append({"path": str(path), "stage": "roles", "error": f"cannot read file: {exc.strerror or exc}"})
            continue
        seen.setdefault(sid, str(path))
    roles, decode_errors = assign_roles([(sid, p) for sid, p in seen.items()], config, clap=clap)
    all_errors = pd.concat([pd.DataFrame(errors, columns=ERROR_COLUMNS), decode_errors], ignore_index=True)
    return roles, build_pools(roles, config), all_errors
