"""Trained recommenders: the feature k-NN baseline and the feedback-trained transition ranker.

- :class:`SimilarityBundle` (scikit-learn): median-imputed DJ features -> ``StandardScaler``
  (z-scores) -> cosine ``NearestNeighbors``. It is the plain baseline "cosine k-NN on z-scored
  features" the quality benchmark compares the engine against.
- :class:`TransitionRanker` (CatBoost): P(a DJ takes this transition) from the pair features of
  :mod:`dj_pipeline.recommend.pairs`. Trained only with at least ``min_feedback`` chosen
  transitions and ``min_negatives`` shown-but-skipped candidates; otherwise ``fit`` reports why
  and leaves the ranker untrained.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # scikit-learn is imported where a bundle is fitted or loaded: `dj recommend` never needs it
    from sklearn.neighbors import NearestNeighbors
    from sklearn.preprocessing import StandardScaler

from dj_pipeline.config.recommend import RankerConfig, SimilarityConfig
from dj_pipeline.recommend.pairs import PAIR_FEATURES


class SimilarityBundle:
    """Cosine k-NN over z-scored DJ features (fit / kneighbors / save / load)."""

    def __init__(self, config: SimilarityConfig | None = None) -> None:
        from dj_pipeline.config.recommend import load_recommend_config

        self.config = config or load_recommend_config().similarity
        self.columns: list[str] = list(self.config.feature_columns)
        self.medians: dict[str, float] = {}
        self.scaler: StandardScaler | None = None
        self.nn: NearestNeighbors | None = None
        self.track_ids: list[str] = []

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        cols = {c: pd.to_numeric(features[c], errors="coerce") if c in features else pd.Series(np.nan, index=features.index) for c in self.columns}
        return pd.DataFrame(cols).fillna(self.medians).fillna(0.0).to_numpy(dtype=np.float64)

    def fit(self, features: pd.DataFrame) -> "SimilarityBundle":
        """Fit on ``track_features`` rows (needs a ``track_id`` column and at least 2 tracks)."""
        if "track_id" not in features or len(features) < 2:
            raise ValueError("SimilarityBundle needs at least 2 analysed tracks with a track_id")
        features = features.drop_duplicates("track_id", keep="last")
        present = [c for c in self.columns if c in features and pd.to_numeric(features[c], errors="coerce").notna().any()]
        if not present:
            raise ValueError(f"none of the feature columns {self.columns} has values")
        self.columns = present
        self.medians = {c: float(pd.to_numeric(features[c], errors="coerce").median()) for c in present}
        from sklearn.neighbors import NearestNeighbors
        from sklearn.preprocessing import StandardScaler

        self.scaler = StandardScaler().fit(self._matrix(features))
        z = self.scaler.transform(self._matrix(features))
        self.nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(z)
        self.track_ids = features["track_id"].astype(str).tolist()
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """The z-scored feature matrix of ``features`` rows."""
        if self.scaler is None:
            raise RuntimeError("SimilarityBundle is not fitted")
        return self.scaler.transform(self._matrix(features))

    def kneighbors(self, features: pd.DataFrame, k: int | None = None) -> tuple[np.ndarray, list[list[str]]]:
        """Cosine similarities (1 - distance) and ids of the ``k`` nearest library tracks per row."""
        if self.nn is None:
            raise RuntimeError("SimilarityBundle is not fitted")
        k = min(int(k or self.config.n_neighbors), len(self.track_ids))
        dist, idx = self.nn.kneighbors(self.transform(features), n_neighbors=k)
        return 1.0 - dist, [[self.track_ids[j] for j in row] for row in idx]

    def neighbors(self, features: pd.DataFrame, track_id: str, k: int | None = None, exclude: Sequence[str] = ()) -> list[tuple[str, float]]:
        """Nearest library tracks to library track ``track_id``, itself and ``exclude`` left out."""
        row = features[features["track_id"].astype(str) == str(track_id)]
        if row.empty:
            raise KeyError(f"unknown track {track_id!r}")
        drop = set(exclude) | {str(track_id)}
        want = int(k or self.config.n_neighbors)
        sims, ids = self.kneighbors(row.iloc[:1], want + len(drop))
        return [(t, float(s)) for t, s in zip(ids[0], sims[0]) if t not in drop][:want]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        import joblib

        joblib.dump(self, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SimilarityBundle":
        import joblib

        obj = joblib.load(Path(path))
        if not isinstance(obj, cls):
            raise TypeError(f"{path} does not hold a SimilarityBundle")
        return obj


@dataclass
class FitStatus:
    """What :meth:`TransitionRanker.fit` did: trained or not, and why."""

    trained: bool
    reason: str
    n_positive: int
    n_negative: int
    metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TransitionRanker:
    """CatBoost classifier of transitions a DJ took (1) vs candidates shown but skipped (0)."""

    def __init__(self, config: RankerConfig | None = None) -> None:
        from dj_pipeline.config.recommend import load_recommend_config

        self.config = config or load_recommend_config().ranker
        self.model: Any | None = None
        self.features: list[str] = list(PAIR_FEATURES)

    @property
    def is_trained(self) -> bool:
        return self.model is not None

    def fit(self, pairs: pd.DataFrame, labels: Sequence[int] | np.ndarray) -> FitStatus:
        """Train on pair-feature rows and 0/1 labels; with too little feedback, do not train."""
        y = np.asarray(labels, dtype=np.int64)
        if len(y) != len(pairs):
            raise ValueError(f"{len(pairs)} pair rows but {len(y)} labels")
        n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
        cfg = self.config
        if n_pos < cfg.min_feedback or n_neg < cfg.min_negatives:
            reason = (
                f"not trained: {n_pos} chosen transitions and {n_neg} skipped candidates; "
                f"need at least {cfg.min_feedback} and {cfg.min_negatives} (ranker.min_feedback / min_negatives)"
            )
            return FitStatus(False, reason, n_pos, n_neg)
        from catboost import CatBoostClassifier

        model = CatBoostClassifier(
            iterations=cfg.iterations,
            depth=cfg.depth,
            learning_rate=cfg.learning_rate,
            random_seed=cfg.random_seed,
            loss_function="Logloss",
            verbose=False,
            allow_writing_files=False,
            thread_count=2,
        )
        x = self._x(pairs)
        model.fit(x, y)
        self.model = model
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(y, model.predict_proba(x)[:, 1]))
        return FitStatus(True, f"trained on {n_pos} chosen and {n_neg} skipped transitions", n_pos, n_neg, {"train_auc": auc})

    def _x(self, pairs: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features if c not in pairs]
        if missing:
            raise ValueError(f"pair features missing: {', '.join(missing)}")
        return pairs[self.features].astype("float64")

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """P(transition is taken) for each pair row."""
        if self.model is None:
            raise RuntimeError("TransitionRanker is not trained")
        if len(pairs) == 0:
            return np.zeros(0)
        return self.model.predict_proba(self._x(pairs))[:, 1]

    def save(self, path: str | Path) -> Path:
        """Write the CatBoost model (``.cbm``) and a ``.json`` sidecar with the feature names."""
        if self.model is None:
            raise RuntimeError("refusing to save an untrained TransitionRanker")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{path.name}")
        self.model.save_model(str(tmp))
        tmp.replace(path)
        path.with_suffix(".json").write_text(json.dumps({"features": self.features}), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path, config: RankerConfig | None = None) -> "TransitionRanker":
        from catboost import CatBoostClassifier

        path = Path(path)
        ranker = cls(config)
        model = CatBoostClassifier()
        model.load_model(str(path))
        ranker.model = model
        meta = path.with_suffix(".json")
        if meta.exists():
            ranker.features = list(json.loads(meta.read_text(encoding="utf-8"))["features"])
        return ranker
