"""Rule scores: weighted linear combinations of the [0, 1] features, softmax -> p_rule.

The weights live in ``roles.yaml`` under ``rules.weights``, one entry per rule with a ``bias`` term.
A rule is named after its role (``CORE``) or after its role and a sound family (``ACCENT/clap``,
``MOTION/cymbal``): a role made of distinct families (snares and claps) gets one linear rule per
family, and its probability is the sum of its rules' softmax shares. A penalty on TEXTURE rules for
sharp, short sounds keeps a click or a hat from being called an atmosphere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dj_pipeline.config.roles import ROLES, RolesConfig, RulesConfig
from dj_pipeline.roles.features import FEATURE_NAMES


def feature_matrix(features: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Rows of feature dicts -> ``[n, len(FEATURE_NAMES)]`` float array (missing names count 0)."""
    return np.array([[float(f.get(name, 0.0)) for name in FEATURE_NAMES] for f in features], dtype=np.float64).reshape(
        len(features), len(FEATURE_NAMES)
    )


def rule_role(name: str) -> str:
    """The role a rule belongs to: ``"ACCENT/clap" -> "ACCENT"``."""
    return name.split("/", 1)[0]


def weight_matrix(rules: RulesConfig) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(W [rules, features], b [rules], rule names)`` from the YAML weights; unknown names raise."""
    index = {name: i for i, name in enumerate(FEATURE_NAMES)}
    names = list(rules.weights)
    w = np.zeros((len(names), len(FEATURE_NAMES)))
    b = np.zeros(len(names))
    for r, rule in enumerate(names):
        if rule_role(rule) not in ROLES:
            raise ValueError(f"roles.yaml rules.weights: rule {rule!r} does not start with a role ({', '.join(ROLES)})")
        for name, value in rules.weights[rule].items():
            if name == "bias":
                b[r] = float(value)
            elif name in index:
                w[r, index[name]] = float(value)
            else:
                raise ValueError(f"roles.yaml rules.weights.{rule}: unknown feature {name!r}; known: {', '.join(FEATURE_NAMES)}")
    return w, b, names


def role_membership(rule_names: Sequence[str]) -> np.ndarray:
    """``[rules, roles]`` 0/1 matrix: which role each rule adds its probability to."""
    m = np.zeros((len(rule_names), len(ROLES)))
    for i, name in enumerate(rule_names):
        m[i, ROLES.index(rule_role(name))] = 1.0
    return m


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature`` (numerically stable)."""
    z = np.asarray(scores, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def texture_penalty(x: np.ndarray, rules: RulesConfig) -> np.ndarray:
    """Score penalty on TEXTURE: ``amount * sharp_part * short_part`` (both ramps in [0, 1])."""
    tp = rules.texture_penalty
    sharp = np.clip((x[:, FEATURE_NAMES.index("sharpness")] - tp.sharpness_from) / max(1.0 - tp.sharpness_from, 1e-9), 0, 1)
    short = np.clip((tp.duration_below - x[:, FEATURE_NAMES.index("duration")]) / max(tp.duration_below, 1e-9), 0, 1)
    return tp.amount * sharp * short


def rule_scores(x: np.ndarray, config: RolesConfig) -> tuple[np.ndarray, list[str]]:
    """Linear scores ``[n, rules]`` including the TEXTURE penalty (before the softmax), and the rule names."""
    w, b, names = weight_matrix(config.rules)
    x = np.atleast_2d(x)
    scores = x @ w.T + b
    penalty = texture_penalty(x, config.rules)
    for r, name in enumerate(names):
        if rule_role(name) == "TEXTURE":
            scores[:, r] -= penalty
    return scores, names


def rule_probabilities(features: Sequence[Mapping[str, float]] | np.ndarray, config: RolesConfig) -> np.ndarray:
    """p_rule ``[n, roles]`` (columns in ``ROLES`` order) for feature dicts or a feature matrix."""
    x = features if isinstance(features, np.ndarray) else feature_matrix(features)
    if x.shape[0] == 0:
        return np.zeros((0, len(ROLES)))
    scores, names = rule_scores(x, config)
    return softmax(scores, config.rules.temperature) @ role_membership(names)
