"""SimilarityBundle baseline and the feedback-trained TransitionRanker."""

import numpy as np
import pandas as pd
import pytest

from dj_pipeline.config.recommend import load_recommend_config
from dj_pipeline.query import Recommender, SessionRecommender
from dj_pipeline.recommend import PAIR_FEATURES, SimilarityBundle, TransitionRanker, train_transition_ranker
from dj_pipeline.recommend.loader import load_ranker
from dj_pipeline.recommend.pairs import pair_features
from dj_pipeline.recommend.session import training_pairs
from dj_pipeline.recommend.synthetic import clustered_library
from dj_pipeline.storage import DataPaths

CFG = load_recommend_config()


@pytest.fixture(scope="module")
def library():
    return clustered_library(300, seed=21)


def test_similarity_bundle_neighbours_share_tempo_and_energy(library, tmp_path):
    feats = library.features
    bundle = SimilarityBundle(CFG.similarity).fit(feats)
    sims, ids = bundle.kneighbors(feats.iloc[:50], k=6)
    assert sims.shape == (50, 6) and np.all(sims[:, 0] >= sims[:, -1])
    by_id = feats.set_index("track_id")
    near = np.array([abs(by_id.loc[row[1:], "energy"].to_numpy() - by_id.loc[row[0], "energy"]).mean() for row in ids])
    rand = np.abs(feats["energy"].to_numpy()[:, None] - feats["energy"].to_numpy()[None, :]).mean()
    assert near.mean() < 0.5 * rand  # feature neighbours are far closer in energy than random pairs
    nb = bundle.neighbors(feats, "t00000", k=5, exclude=["t00001"])
    assert len(nb) == 5 and all(t not in ("t00000", "t00001") for t, _ in nb)
    loaded = SimilarityBundle.load(bundle.save(tmp_path / "m" / "sim.joblib"))
    again, ids2 = loaded.kneighbors(feats.iloc[:50], k=6)
    assert ids2 == ids and np.allclose(again, sims)


def test_similarity_bundle_guards(library):
    with pytest.raises(ValueError, match="at least 2"):
        SimilarityBundle(CFG.similarity).fit(library.features.iloc[:1])
    with pytest.raises(RuntimeError, match="not fitted"):
        SimilarityBundle(CFG.similarity).kneighbors(library.features)
    # missing values are imputed, not propagated
    feats = library.features.copy()
    feats.loc[:10, "energy"] = np.nan
    sims, _ = SimilarityBundle(CFG.similarity).fit(feats).kneighbors(feats.iloc[:12], k=3)
    assert np.isfinite(sims).all()


def _simulate(rec, n_sessions, steps, seed, top_k=8):
    """A DJ who always plays the most vocal of the shown candidates (a taste the engine lacks)."""
    rng = np.random.default_rng(seed)
    vocal = rec.engine.table["vocal_presence"]
    events = []
    for s in range(n_sessions):
        session = SessionRecommender(session=f"sim{seed}_{s}", recommender=rec)
        current = rec.engine.table.index[rng.integers(len(rec.engine.table))]
        recs = session.next(current=current, top_k=top_k)
        for _ in range(steps):
            shown = [r["track_id"] for r in recs]
            chosen = max(shown, key=lambda t: vocal[t])
            events.append((session.played[-1]["track_id"], shown, chosen))
            session.add_played(chosen)
            recs = session.next(top_k=top_k)
    return events


def test_ranker_refuses_to_train_on_too_little_feedback(library, tmp_path):
    rec = Recommender(data_dir=tmp_path, engine=library.engine())
    _simulate(rec, n_sessions=2, steps=3, seed=1)
    status = train_transition_ranker(tmp_path, engine=rec.engine)
    assert not status.trained and "need at least 20" in status.reason
    assert status.n_positive == 6
    assert load_ranker(DataPaths(tmp_path), CFG) is None  # no model file written
    ranker = TransitionRanker(CFG.ranker)
    assert not ranker.fit(pd.DataFrame(columns=list(PAIR_FEATURES)), []).trained
    with pytest.raises(RuntimeError, match="not trained"):
        ranker.predict(pd.DataFrame(columns=list(PAIR_FEATURES)))
    with pytest.raises(RuntimeError, match="untrained"):
        ranker.save(tmp_path / "x.cbm")


def test_ranker_learns_the_djs_taste_from_simulated_feedback(library, tmp_path):
    rec = Recommender(data_dir=tmp_path, engine=library.engine())
    _simulate(rec, n_sessions=20, steps=8, seed=2)
    light = load_recommend_config(overrides={"ranker": {"iterations": 150}})
    status = train_transition_ranker(tmp_path, config=light, engine=rec.engine)
    assert status.trained and status.n_positive >= 80 and status.n_negative > status.n_positive
    ranker = load_ranker(DataPaths(tmp_path), CFG)
    assert ranker is not None and ranker.is_trained

    # held-out choices: the learned probability should put the DJ's pick first far above chance
    fresh = Recommender(data_dir=tmp_path / "heldout", engine=library.engine())
    hits = []
    for from_id, shown, chosen in _simulate(fresh, n_sessions=6, steps=6, seed=3):
        cur = library.engine().current_from_library(from_id)
        cands = fresh.engine.table.loc[shown]
        probs = ranker.predict(pair_features(cur.features, cands, np.zeros(len(shown)), CFG))
        hits.append(shown[int(np.argmax(probs))] == chosen)
    assert np.mean(hits) > 0.5  # chance is 1/8

    # a Recommender over an engine with the ranker adds the "learned" component
    with_ranker = Recommender(data_dir=tmp_path, engine=library.engine(ranker=ranker))
    res = with_ranker.recommend("t00010", top_k=5)
    assert all(0.0 <= r["components"]["learned"] <= 1.0 for r in res)
    # and its weight is large enough to move the picks towards the taste it learned
    vocal = fresh.engine.table["vocal_presence"]
    currents = [t for t in fresh.engine.table.index[::7]][:12]
    plain = Recommender(data_dir=tmp_path / "plain", engine=library.engine())
    mean_vocal = {name: np.mean([vocal[r["track_id"]] for c in currents for r in rec_.recommend(c, top_k=3)]) for name, rec_ in (("with", with_ranker), ("without", plain))}
    assert mean_vocal["with"] > mean_vocal["without"] + 0.05


def test_training_pairs_from_sequences_and_feedback():
    seqs = [["a", "b", "c"], ["c", "a"]]
    feedback = [{"from": "a", "shown": ["b", "d", "e"], "chosen": "b"}, {"from": "c", "shown": ["a", "x"], "chosen": "a"}]
    pairs = set(training_pairs(seqs, feedback))
    assert {("a", "b", 1), ("b", "c", 1), ("c", "a", 1)} <= pairs
    assert {("a", "d", 0), ("a", "e", 0), ("c", "x", 0)} <= pairs
    assert ("c", "a", 0) not in pairs and len(pairs) == 6
