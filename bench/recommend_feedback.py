"""How many DJ picks does the feedback-trained ranker need to beat the untrained recommender?

A simulated DJ (the one of ``test_recommend_models``) always plays the most vocal of the shown
candidates, a taste the engine's terms do not have. For growing amounts of feedback (picks),
sessions of that DJ are logged, the TransitionRanker is trained on them, and on held-out
currents (other start tracks, another seed) we ask: is the DJ's choice among the untrained
recommender's top 8 the first of those 8 for (a) the untrained and (b) the trained recommender?

    python bench/recommend_feedback.py [--tracks 300] [--picks 20,40,80,160,320]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dj_pipeline.config.recommend import load_recommend_config  # noqa: E402
from dj_pipeline.query import Recommender, SessionRecommender  # noqa: E402
from dj_pipeline.recommend import train_transition_ranker  # noqa: E402
from dj_pipeline.recommend.loader import load_ranker  # noqa: E402
from dj_pipeline.recommend.synthetic import clustered_library  # noqa: E402
from dj_pipeline.storage import DataPaths  # noqa: E402

SHOWN = 8
STEPS = 8


def simulate(rec: Recommender, picks: int, seed: int) -> None:
    """Log ``picks`` choices of the vocal-loving DJ into ``rec``'s data dir."""
    rng = np.random.default_rng(seed)
    vocal = rec.engine.table["vocal_presence"]
    done, s = 0, 0
    while done < picks:
        session = SessionRecommender(session=f"sim{seed}_{s}", recommender=rec)
        recs = session.next(current=rec.engine.table.index[rng.integers(len(rec.engine.table))], top_k=SHOWN)
        for _ in range(min(STEPS, picks - done)):
            chosen = max((r["track_id"] for r in recs), key=lambda t: vocal[t])
            session.add_played(chosen)
            done += 1
            recs = session.next(top_k=SHOWN)
        s += 1


def hit_rates(plain: Recommender, trained: Recommender, currents: list[str]) -> tuple[float, float]:
    vocal = plain.engine.table["vocal_presence"]
    base, learned = [], []
    for cur in currents:
        shown = [r["track_id"] for r in plain.recommend(cur, top_k=SHOWN)]
        choice = max(shown, key=lambda t: vocal[t])
        order = [r["track_id"] for r in trained.recommend(cur, top_k=60) if r["track_id"] in shown]
        base.append(shown[0] == choice)
        learned.append(bool(order) and order[0] == choice)
    return float(np.mean(base)), float(np.mean(learned))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks", type=int, default=300)
    ap.add_argument("--picks", default="20,40,80,160,320")
    ap.add_argument("--heldout", type=int, default=60, help="held-out current tracks")
    args = ap.parse_args()
    lib = clustered_library(args.tracks, seed=21)
    config = load_recommend_config()
    currents = [str(t) for t in lib.features["track_id"].iloc[1::max(1, args.tracks // args.heldout)]][: args.heldout]
    print(f"simulated DJ (plays the most vocal of {SHOWN} shown), {args.tracks}-track generated library, {len(currents)} held-out currents")
    print(f"{'picks':>6} {'trained':>8} {'untrained hit@1':>16} {'trained hit@1':>14}")
    for picks in [int(p) for p in args.picks.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            rec = Recommender(data_dir=tmp, engine=lib.engine(config))
            simulate(rec, picks, seed=2)
            status = train_transition_ranker(tmp, config, engine=rec.engine)
            ranker = load_ranker(DataPaths(tmp), config)
            plain = Recommender(data_dir=Path(tmp) / "plain", engine=lib.engine(config))
            trained = Recommender(data_dir=Path(tmp) / "trained", engine=lib.engine(config, ranker=ranker)) if ranker else plain
            base, learned = hit_rates(plain, trained, currents)
            print(f"{picks:>6} {str(status.trained):>8} {base:>16.2f} {learned:>14.2f}")


if __name__ == "__main__":
    main()
