"""Fitting the rule weights from labelled one-shots, and the accuracy figures used to judge them.

The rule scores are linear in the features with a softmax on top, which is exactly a multinomial
logistic regression; :class:`RuleWeightFitter` fits one (L2-regularised, classes balanced) and hands
back the weights in the ``roles.yaml`` layout, rounded so they stay readable. Nothing is fitted per
file: one weight per (role, feature) and one bias per role.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dj_pipeline.config.roles import ROLES, TuningConfig
from dj_pipeline.roles.features import FEATURE_NAMES
from dj_pipeline.roles.rules import role_membership, rule_role, softmax


# How the devset's drum classes map onto roles (percussion is mixed and not scored).
DRUM_CLASS_ROLES: dict[str, str] = {
    "kick": "CORE", "snare": "ACCENT", "clap": "ACCENT", "hihat": "MOTION", "cymbal": "MOTION",
    "tom": "FILL", "fx": "TEXTURE",
}


def devset_oneshots(devset_dir: str | os.PathLike) -> list[tuple[Path, str, str]]:
    """``(path, drum_class, role)`` for every ``kind=oneshot`` row of ``labels.csv`` (role "" = not scored)."""
    root = Path(devset_dir)
    with (root / "labels.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "oneshot"]
    return [(root / r["file"], r["drum_class"], DRUM_CLASS_ROLES.get(r["drum_class"], "")) for r in rows]


def rule_label(drum_class: str, role: str, by_family: bool = True) -> str:
    """Training label of a one-shot: ``"ROLE/drum_class"`` (one rule per sound family) or just the role."""
    return f"{role}/{drum_class}" if by_family and drum_class else role


class RuleWeightFitter:
    """Fit ``rules.weights`` (per rule: bias + one weight per feature) from a feature matrix and rule labels.

    Labels are rule names (``"CORE/kick"``, ``"ACCENT/clap"`` or plain ``"TEXTURE"``); each role
    needs at least one labelled example.
    """

    def __init__(self, config: TuningConfig) -> None:
        self.config = config
        self.rules_: list[str] = []
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None

    def fit(self, x: np.ndarray, labels: Sequence[str]) -> RuleWeightFitter:
        """Fit on ``x [n, len(FEATURE_NAMES)]`` and one rule name per row."""
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - only needed when tuning

        missing = set(ROLES) - {rule_role(label) for label in labels}
        if missing:
            raise ValueError(f"cannot fit rule weights: no examples of {', '.join(sorted(missing))}")
        self.rules_ = sorted(set(labels), key=lambda n: (ROLES.index(rule_role(n)), n))
        y = np.array([self.rules_.index(label) for label in labels])
        model = LogisticRegression(C=self.config.l2_c, class_weight="balanced" if self.config.balanced else None,
                                   max_iter=self.config.max_iter)
        model.fit(np.asarray(x, dtype=np.float64), y)
        coef = model.coef_ - model.coef_.mean(axis=0, keepdims=True)  # softmax is shift-invariant: centre per feature
        bias = model.intercept_ - model.intercept_.mean()
        self.coef_ = np.round(coef, self.config.decimals)
        self.intercept_ = np.round(bias, self.config.decimals)
        return self

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.coef_ is None or self.intercept_ is None:
            raise RuntimeError("RuleWeightFitter.fit has not been called")
        return self.coef_, self.intercept_

    def weights(self) -> dict[str, dict[str, float]]:
        """``{rule: {"bias": b, feature: w, ...}}`` without zero weights, ready for ``roles.yaml``."""
        coef, bias = self._fitted()
        out = {}
        for r, rule in enumerate(self.rules_):
            w = {"bias": float(bias[r])}
            w.update({f: float(v) for f, v in zip(FEATURE_NAMES, coef[r]) if v != 0.0})
            out[rule] = w
        return out

    def predict(self, x: np.ndarray) -> list[str]:
        """Role with the largest summed softmax share of its rules (no penalty, no guards)."""
        coef, bias = self._fitted()
        p = softmax(np.asarray(x, dtype=np.float64) @ coef.T + bias) @ role_membership(self.rules_)
        return [ROLES[i] for i in p.argmax(axis=1)]

    def to_yaml(self) -> str:
        """The ``weights:`` block as flow-style YAML lines, to paste under ``rules:``."""
        lines = ["  weights:"]
        for rule, w in self.weights().items():
            body = ", ".join(f"{k}: {v:g}" for k, v in w.items())
            lines.append(f"    {rule}: {{{body}}}")
        return "\n".join(lines)


def stratified_folds(roles: Sequence[str], n_folds: int, seed: int) -> np.ndarray:
    """Fold index per item, each role spread evenly over the folds (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(roles), dtype=int)
    for role in sorted(set(roles)):
        idx = np.flatnonzero(np.asarray(roles) == role)
        rng.shuffle(idx)
        folds[idx] = np.arange(idx.size) % n_folds
    return folds


def role_report(truth: Sequence[str], predicted: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """``(per-role precision/recall/F1/support, confusion matrix [truth x predicted], macro-F1)``.

    Macro-F1 averages the roles that occur in the truth.
    """
    truth, predicted = list(truth), list(predicted)
    conf = pd.DataFrame(0, index=list(ROLES), columns=list(ROLES), dtype=int)
    for t, p in zip(truth, predicted):
        conf.loc[t, p] += 1
    rows = []
    for role in ROLES:
        tp = int(conf.loc[role, role])
        n_pred, n_true = int(conf[role].sum()), int(conf.loc[role].sum())
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"role": role, "precision": precision, "recall": recall, "f1": f1, "support": n_true})
    per_role = pd.DataFrame(rows).set_index("role")
    present = per_role[per_role["support"] > 0]
    return per_role, conf, float(present["f1"].mean()) if len(present) else 0.0
