"""CLAP zero-shot role scores: cosine similarity of audio embeddings with role prompt embeddings.

``clap`` is any object with ``embed(list_of_48k_mono_arrays, sr=48000) -> [n, d]`` and
``embed_text(list[str]) -> [n, d]`` (both L2-normalised), e.g. ``get_embedder(backend="clap")``.
The prompts of a role are averaged into one direction; the text embeddings are cached per embedder
and prompt set, so a folder of one-shots costs one text pass.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from dj_pipeline.config.roles import ROLES, RolesConfig
from dj_pipeline.roles.rules import softmax

_TEXT_CACHE: "weakref.WeakKeyDictionary[Any, dict[tuple, np.ndarray]]" = weakref.WeakKeyDictionary()


def _unit_rows(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def role_text_embeddings(clap: Any, config: RolesConfig) -> np.ndarray:
    """``[roles, d]``: per role, the normalised mean of its prompts' text embeddings (cached)."""
    prompts = config.clap.prompts
    missing = [r for r in ROLES if not prompts.get(r)]
    if missing:
        raise ValueError(f"roles.yaml clap.prompts: no prompts for {', '.join(missing)}")
    key = tuple((r, tuple(prompts[r])) for r in ROLES)
    try:
        per_clap = _TEXT_CACHE.setdefault(clap, {})
    except TypeError:  # not weak-referenceable: no caching
        per_clap = {}
    if key not in per_clap:
        texts = [t for r in ROLES for t in prompts[r]]
        emb = _unit_rows(np.asarray(clap.embed_text(list(texts))))
        rows, start = [], 0
        for r in ROLES:
            n = len(prompts[r])
            rows.append(emb[start:start + n].mean(axis=0))
            start += n
        per_clap[key] = _unit_rows(np.stack(rows))
    return per_clap[key]


def clap_probabilities(audio_48k: Sequence[np.ndarray], clap: Any, config: RolesConfig) -> np.ndarray:
    """p_clap ``[n, roles]``: softmax over roles of cosine similarity / ``clap.tau``."""
    if len(audio_48k) == 0:
        return np.zeros((0, len(ROLES)))
    text = role_text_embeddings(clap, config)
    audio = _unit_rows(np.asarray(clap.embed(list(audio_48k), sr=config.preprocess.clap_sr)))
    if audio.shape != (len(audio_48k), text.shape[1]):
        raise ValueError(f"CLAP returned audio embeddings of shape {audio.shape}, expected ({len(audio_48k)}, {text.shape[1]})")
    return softmax(audio @ text.T, config.clap.tau)


def fuse(p_rule: np.ndarray, p_clap: np.ndarray | None, config: RolesConfig) -> tuple[np.ndarray, float]:
    """``alpha * p_rule + (1 - alpha) * p_clap`` with the optional role bias; returns ``(p, alpha)``.

    Without CLAP scores alpha is ``fusion.alpha_without_clap`` (1.0: rules alone). The role bias is
    added in log space (``p * exp(bias)``, renormalised), so 0 means no change.
    """
    alpha = config.fusion.alpha if p_clap is not None else config.fusion.alpha_without_clap
    p = alpha * p_rule + (1.0 - alpha) * (p_clap if p_clap is not None else p_rule)
    bias = np.array([config.fusion.role_bias.get(r, 0.0) for r in ROLES])
    if np.any(bias):
        p = p * np.exp(bias)
        p = p / p.sum(axis=-1, keepdims=True)
    return p, float(alpha)
