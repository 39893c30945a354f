"""A small learned key model: 24-way softmax over the rotations of one log-chroma, 25 parameters.

Every key is scored the same way after rotating the chroma so that its tonic sits at index 0
(a key model must not care which of the 12 tonics it looks at):

    x = zscore(log(chroma / sum(chroma) + log_eps))
    logit(root, major) = W_major . roll(x, -root)
    logit(root, minor) = W_minor . roll(x, -root) + minor_bias

so the model is a pair of key profiles (``W_major``, ``W_minor``) matched against a log-compressed
chroma, plus a prior on the mode; with softmax over the 24 logits it gives each key a probability.
It is fitted by multinomial logistic regression (L2 towards zero) on labelled track chromas
(:func:`fit_key_model`); the shipped weights and the data they were fitted on are in
:mod:`dj_pipeline.analysis.profiles` (``LEARNED_MODELS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

N_KEYS = 24


@dataclass(frozen=True)
class KeyModel:
    major: np.ndarray  # (12,) weights, tonic at index 0
    minor: np.ndarray  # (12,)
    minor_bias: float
    log_eps: float


def chroma_features(chroma12: np.ndarray, log_eps: float) -> np.ndarray:
    """``zscore(log(c / sum(c) + log_eps))`` of each row of ``chroma12`` (n, 12) -> (n, 12)."""
    c = np.atleast_2d(np.asarray(chroma12, dtype=np.float64))
    total = c.sum(axis=1, keepdims=True)
    z = np.log(c / np.where(total > 0, total, 1.0) + log_eps)
    sd = z.std(axis=1, keepdims=True)
    return (z - z.mean(axis=1, keepdims=True)) / np.where(sd > 1e-12, sd, 1.0)


def rotations(x: np.ndarray) -> np.ndarray:
    """(n, 12) features -> (n, 12, 12): ``[i, root]`` is row ``i`` rolled so ``root`` sits at 0."""
    idx = (np.arange(12)[None, :] + np.arange(12)[:, None]) % 12  # [root, k] -> (root + k) % 12
    return np.atleast_2d(x)[:, idx]


def key_logits(chroma12: np.ndarray, model: KeyModel) -> np.ndarray:
    """(n, 24) logits (C..B major, C..B minor) of each chroma row."""
    r = rotations(chroma_features(chroma12, model.log_eps))
    return np.concatenate([r @ model.major, r @ model.minor + model.minor_bias], axis=1)


def key_probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax over the 24 keys of each row of ``logits``."""
    z = np.atleast_2d(logits) - np.max(logits, axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def fit_key_model(chromas: Sequence[np.ndarray], labels: Sequence[int], l2: float, log_eps: float) -> KeyModel:
    """Multinomial logistic regression of key labels (0..11 major, 12..23 minor) on track chromas."""
    r = rotations(chroma_features(np.stack(chromas), log_eps))  # (n, 12 roots, 12)
    y = np.asarray(labels, dtype=np.int64)
    n = len(y)
    onehot = np.zeros((n, N_KEYS))
    onehot[np.arange(n), y] = 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w_major, w_minor, bias = theta[:12], theta[12:24], theta[24]
        logits = np.concatenate([r @ w_major, r @ w_minor + bias], axis=1)
        p = key_probabilities(logits)
        nll = -float(np.mean(np.log(p[np.arange(n), y] + 1e-300)))
        g = (p - onehot) / n  # d nll / d logits
        grad = np.concatenate([np.einsum("nr,nrk->k", g[:, :12], r), np.einsum("nr,nrk->k", g[:, 12:], r), [g[:, 12:].sum()]])
        w = theta[:24]
        return nll + l2 * float(w @ w), grad + np.concatenate([2.0 * l2 * w, [0.0]])

    theta = minimize(loss, np.zeros(25), jac=True, method="L-BFGS-B").x
    return KeyModel(theta[:12], theta[12:24], float(theta[24]), log_eps)
