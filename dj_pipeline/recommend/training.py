"""Training the recommenders from a data directory (the lead's Dagster assets call these).

- :func:`fit_similarity_model`: the :class:`SimilarityBundle` baseline over ``track_features``.
- :func:`train_transition_ranker`: the :class:`TransitionRanker` from session history and the
  feedback log; too little feedback gives an untrained status and writes no model file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.recommend import RecommendConfig, load_recommend_config
from dj_pipeline.recommend.engine import RecommendationEngine
from dj_pipeline.recommend.errors import RecommendError
from dj_pipeline.recommend.models import FitStatus, SimilarityBundle, TransitionRanker
from dj_pipeline.recommend.pairs import PAIR_FEATURES, pair_features
from dj_pipeline.recommend.session import SessionStore, training_pairs
from dj_pipeline.recommend.vectors import VectorTable
from dj_pipeline.storage import DataPaths, read_asset


def transition_frame(engine: RecommendationEngine, pairs: Sequence[tuple[str, str, int]]) -> tuple[pd.DataFrame, np.ndarray]:
    """Pair features and labels for (from, to, label) transitions between library tracks.

    Pairs whose tracks are no longer in the library are dropped. The embedding similarity is
    cosine(from outro, to intro), as at recommendation time.
    """
    intro = VectorTable.from_any(engine.intro_index)
    frames, labels = [], []
    by_from: dict[str, list[tuple[str, int]]] = {}
    for a, b, y in pairs:
        if engine.has_track(a) and engine.has_track(b):
            by_from.setdefault(a, []).append((b, int(y)))
    for a, rows in by_from.items():
        cur = engine.current_from_library(a)
        to_ids = [b for b, _ in rows]
        try:
            query = cur.query_vector().astype(np.float64)
            sims = np.nan_to_num(intro.take(to_ids) @ query, nan=0.0)
        except RecommendError:
            sims = np.zeros(len(to_ids))
        frames.append(pair_features(cur.features, engine.table.loc[to_ids], sims, engine.config))
        labels.extend(y for _, y in rows)
    if not frames:
        return pd.DataFrame(columns=list(PAIR_FEATURES)), np.zeros(0, dtype=np.int64)
    return pd.concat(frames, ignore_index=True), np.asarray(labels, dtype=np.int64)


def train_transition_ranker(
    data_dir: str | os.PathLike | DataPaths | None = None,
    config: RecommendConfig | None = None,
    engine: RecommendationEngine | None = None,
) -> FitStatus:
    """Train the TransitionRanker on all sessions' feedback and save it to ``models/``.

    Returns the :class:`FitStatus`; with too little feedback nothing is written (an existing
    model from earlier feedback stays in place).
    """
    from dj_pipeline.recommend.loader import load_engine, ranker_path

    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    config = config or load_recommend_config()
    store = SessionStore(paths.sessions_dir, config.session.feedback_file)
    signature = store.signature()
    pairs = training_pairs(store.played_sequences(), store.read_feedback(), store.read_events(), config.ranker.min_played_s)
    if not pairs:
        status = FitStatus(False, "not trained: no session history or feedback yet", 0, 0)
    else:
        engine = engine or load_engine(paths, config, use_ranker=False)
        x, y = transition_frame(engine, pairs)
        ranker = TransitionRanker(config.ranker)
        status = ranker.fit(x, y)
        if status.trained:
            ranker.save(ranker_path(paths, config))
    _write_state(paths, config, signature, status)
    return status


def _state_path(paths: DataPaths, config: RecommendConfig) -> Path:
    return Path(paths.models_dir) / config.ranker.state_file


def _write_state(paths: DataPaths, config: RecommendConfig, signature: dict[str, int], status: FitStatus) -> None:
    path = _state_path(paths, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"signature": signature, "trained": status.trained, "reason": status.reason}), encoding="utf-8")


def feedback_grew(data_dir: str | os.PathLike | DataPaths | None = None, config: RecommendConfig | None = None) -> bool:
    """True when the feedback (log lines, tracks played in sessions) differs from what the ranker
    last saw, so an ingest with no file change still retrains it (``dj ingest`` calls this)."""
    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    config = config or load_recommend_config()
    current = SessionStore(paths.sessions_dir, config.session.feedback_file).signature()
    try:
        seen = json.loads(_state_path(paths, config).read_text(encoding="utf-8")).get("signature")
    except (OSError, ValueError):
        seen = None
    if seen is None:
        return current["feedback_bytes"] > 0 or current["played"] > 0
    return seen != current


def fit_similarity_model(data_dir: str | os.PathLike | DataPaths | None = None, config: RecommendConfig | None = None) -> dict[str, Any]:
    """Fit the SimilarityBundle on the current ``track_features`` and save it to ``models/``."""
    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    config = config or load_recommend_config()
    features = read_asset(paths, "track_features")
    if len(features) < 2:
        return {"fitted": False, "reason": f"need at least 2 analysed tracks, have {len(features)}", "n_tracks": len(features)}
    bundle = SimilarityBundle(config.similarity).fit(features)
    out = bundle.save(paths.models_dir / config.similarity.file)
    return {"fitted": True, "n_tracks": len(bundle.track_ids), "columns": bundle.columns, "path": str(out)}
