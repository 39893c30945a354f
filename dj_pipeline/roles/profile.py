"""Per-track drum profile: slice the percussive component at its onsets and assign a role to each hit.

The slices go through the same pre-processing, features, fusion and guards as one-shot files, so a
track's role shares (how much of its percussion is kick, snare, hats, toms, fx) are comparable with
the sample pools.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import librosa
import numpy as np

from dj_pipeline.audio.io import resample, to_mono
from dj_pipeline.config.roles import ROLES, RolesConfig
from dj_pipeline.roles.assign import score_clips
from dj_pipeline.roles.preprocess import STATUS_OK, preprocess_oneshot


def onset_slices(y: np.ndarray, sr: int, config: RolesConfig) -> list[tuple[int, int]]:
    """``(start, end)`` sample spans, one per onset of the percussive component of ``y`` at ``sr``."""
    pc = config.profile
    if y.size < pc.hop_length * 4 or not np.any(y):
        return []
    envelope = librosa.onset.onset_strength(y=y, sr=sr, hop_length=pc.hop_length)
    wait = max(1, int(round(pc.min_gap_s * sr / pc.hop_length)))
    frames = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=pc.hop_length, units="frames",
                                        delta=pc.onset_delta, wait=wait, backtrack=False)
    starts = np.maximum(librosa.frames_to_samples(frames, hop_length=pc.hop_length) - int(pc.pre_roll_s * sr), 0)
    if starts.size > pc.max_slices:
        starts = starts[np.linspace(0, starts.size - 1, pc.max_slices).round().astype(int)]
    ends = np.append(starts[1:], y.size)
    ends = np.minimum(ends, starts + int(pc.max_slice_s * sr))
    keep = (ends - starts) >= int(pc.min_slice_s * sr)
    return [(int(s), int(e)) for s, e in zip(starts[keep], ends[keep])]


def track_drum_profile(y: np.ndarray, sr: int, config: RolesConfig, clap: Any = None) -> dict[str, Any]:
    """Role shares of a track's drum hits: ``{"n_hits", "share_core", ..., "mean_confidence", "fusion_alpha"}``.

    Shares are the fraction of hits assigned to each role (0 for every role when no hit is found).
    Only the first ``profile.max_duration_s`` seconds are analysed.
    """
    pc = config.profile
    y = to_mono(np.asarray(y, dtype=np.float32))[: int(pc.max_duration_s * sr)]
    y = resample(y, sr, pc.sr) if sr != pc.sr else y
    y = np.nan_to_num(y)
    percussive = librosa.effects.percussive(y) if y.size >= 4096 else y
    spans = onset_slices(percussive, pc.sr, config)
    slice_pre = dataclasses.replace(config.preprocess, trim_top_db=pc.trim_top_db)
    clips = [preprocess_oneshot(percussive[s:e], pc.sr, slice_pre) for s, e in spans]
    clips = [c for c in clips if c.status == STATUS_OK]
    shares = {f"share_{r.lower()}": 0.0 for r in ROLES}
    alpha = config.fusion.alpha if clap is not None else config.fusion.alpha_without_clap
    if not clips:
        return {"n_hits": 0, **shares, "mean_confidence": 0.0, "fusion_alpha": alpha}
    clips_48k = None
    if clap is not None:
        clips_48k = [resample(c.y, c.sr, config.preprocess.clap_sr) for c in clips]
    scored = score_clips(clips, config, clap, clips_48k)
    best = scored.p_final.argmax(axis=1)
    sorted_p = np.sort(scored.p_final, axis=1)
    for i, r in enumerate(ROLES):
        shares[f"share_{r.lower()}"] = float(np.mean(best == i))
    return {"n_hits": len(clips), **shares, "mean_confidence": float(np.mean(sorted_p[:, -1] - sorted_p[:, -2])),
            "fusion_alpha": scored.alpha}
