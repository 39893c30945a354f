"""Recommendations judged on real crates: the real dev set (``bench/realset.py``), ours vs the k-NN baseline.

Ingest the real set once (dsp backend), e.g. ``dj ingest --library /work/realset/audio --data
/tmp/reco_real/data --backend dsp``, then

    python bench/recommend_real.py --data /tmp/reco_real/data [--realset /work/realset]

For every track as the current track (goal maintain, top 10), by the human/chart labels, never
the analysed values: BPM-compatible share (chart/annotated tempo, the recommender's tolerance and
half/double rule) over the queries that have such a candidate; key-compatible share (annotated
keys, Camelot distance <= 1) likewise; genre@10 on GTZAN (share of the top 10 in the current
clip's genre); then goal direction per goal (analysed levels: the set has no energy labels),
self-match rate (excerpts and re-encodes of library tracks given as the current track: is the
original in the top 10? must be 0), repeats in walked sessions, latency. Nothing is tuned on it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realset import add_realset_argument, load_truth, realset_dir  # noqa: E402
from recommend_goals import goal_rows, summary  # noqa: E402

from dj_pipeline.music.keys import camelot_code, camelot_distance  # noqa: E402
from dj_pipeline.query import Recommender  # noqa: E402
from dj_pipeline.recommend import SimilarityBundle, bpm_compatible  # noqa: E402


def truth_table(rec: Recommender, root: Path) -> pd.DataFrame:
    """Truth rows indexed by library track id (joined on the absolute path)."""
    truth = load_truth(root)
    truth["camelot"] = [camelot_code(int(r), m) if m is not None and r == r else None for r, m in zip(truth["key_root"], truth["key_mode"])]
    paths = rec.engine.table["path"].astype(str)
    ids = pd.DataFrame({"track_id": paths.index.astype(str), "path": [str(Path(p).resolve()) for p in paths]})
    truth["path"] = [str(Path(p).resolve()) for p in truth["path"]]
    return ids.merge(truth, on="path", how="inner").set_index("track_id")


def judge(rec: Recommender, truth: pd.DataFrame, cur: str, picks: list[str]) -> dict[str, float]:
    cfg = rec.config
    others = [t for t in truth.index if t != cur]
    bpm = truth["bpm"].astype(float)
    bpm_ok_all = pd.Series(bpm_compatible(float(bpm[cur]), bpm[others].to_numpy(), cfg.bpm), index=others)
    cam = truth["camelot"]
    key_ok_all = pd.Series([isinstance(cam[cur], str) and isinstance(cam[o], str) and camelot_distance(cam[cur], cam[o]) <= cfg.key.max_distance for o in others], index=others)
    keyed = [p for p in picks if isinstance(cam.get(p), str)] if isinstance(cam[cur], str) else []
    row = {
        "bpm": float(np.mean([bpm_ok_all.get(p, False) for p in picks])) if picks and bpm_ok_all.any() else np.nan,
        "key": float(np.mean([key_ok_all.get(p, False) for p in keyed])) if keyed and key_ok_all.any() else np.nan,
        "both": float(np.mean([bpm_ok_all.get(p, False) and key_ok_all.get(p, False) for p in picks])) if picks and (bpm_ok_all & key_ok_all).any() else np.nan,
    }
    if bool(truth.at[cur, "is_gtzan"]):
        row["genre@10"] = float(np.mean([truth["genre"].get(p) == truth.at[cur, "genre"] for p in picks])) if picks else np.nan
    return row


def quality(rec: Recommender, truth: pd.DataFrame, k: int) -> tuple[pd.DataFrame, list[float]]:
    features = rec.engine.table.reset_index()
    bundle = SimilarityBundle(rec.config.similarity).fit(features)
    rows, latency = [], []
    for cur in truth.index:
        t0 = time.perf_counter()
        ours = [r["track_id"] for r in rec.recommend(cur, goal="maintain", top_k=k)]
        latency.append(time.perf_counter() - t0)
        base = [t for t, _ in bundle.neighbors(features, cur, k=k)]
        rows.append({"method": "ours", **judge(rec, truth, cur, ours)})
        rows.append({"method": "baseline", **judge(rec, truth, cur, base)})
    return pd.DataFrame(rows), latency


def fingerprint_index(rec: Recommender, cache: Path):  # noqa: ANN201
    """The library's fingerprints: the data dir's track_fingerprints asset, else computed once
    into ``cache`` (a Parquet file)."""
    from dj_pipeline.config.fingerprint import load_fingerprint_config
    from dj_pipeline.fingerprint import fingerprint_file
    from dj_pipeline.fingerprint.stage import index_from_rows
    from dj_pipeline.storage import read_asset

    rows = read_asset(rec.paths, "track_fingerprints")
    if rows.empty and cache.exists():
        rows = pd.read_parquet(cache)
    if rows.empty:
        cfg = load_fingerprint_config()
        paths = rec.engine.table["path"]
        fps = [fingerprint_file(p, cfg) for p in paths]
        rows = pd.DataFrame({"track_id": paths.index.astype(str), "fp_hashes": [h for h, _ in fps], "fp_times": [t for _, t in fps]})
        rows.to_parquet(cache)
    return index_from_rows(rows)


def self_match(rec_fp: Recommender, rec_plain: Recommender, truth: pd.DataFrame, n: int, k: int) -> dict[str, float]:
    """Excerpts (20 s of a GTZAN clip, 90 s of a game song) and full Ogg re-encodes of library
    tracks as the current track: how often the original comes back in the top ``k``, with
    fingerprints (ours) and without (the file analysed as an outside track, the old path)."""
    picks = list(truth[truth["is_gtzan"]].index[: n // 2]) + list(truth[~truth["is_gtzan"]].index[: n - n // 2])
    out = {"queries": 0, "identified": 0, "self_in_top_k_fp": 0, "self_in_top_k_plain": 0, "self_top1_plain": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for i, tid in enumerate(picks):
            src = rec_fp.engine.table.at[tid, "path"]
            start, length = (5, 20) if truth.at[tid, "is_gtzan"] else (30, 90)
            for name, args in ((f"ex{i}.mp3", ["-ss", str(start), "-t", str(length), "-b:a", "128k"]), (f"re{i}.ogg", ["-c:a", "libvorbis", "-q:a", "4"])):
                q = str(Path(tmp) / name)
                subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", src, *args, q], check=True)
                out["queries"] += 1
                ids = [r["track_id"] for r in rec_fp.recommend(q, top_k=k)]
                out["identified"] += rec_fp.identified.get(str(Path(q).resolve())) == tid
                out["self_in_top_k_fp"] += tid in ids
                plain = [r["track_id"] for r in rec_plain.recommend(q, top_k=k)]
                out["self_in_top_k_plain"] += tid in plain
                out["self_top1_plain"] += bool(plain) and plain[0] == tid
    return out


def sessions(rec: Recommender, n_sessions: int, steps: int) -> int:
    """Repeats over walked sessions (top pick each step, goals cycling up/peak/down/maintain)."""
    ids = list(rec.engine.table.index)
    repeats = 0
    for start in ids[:: max(1, len(ids) // n_sessions)][:n_sessions]:
        played = [start]
        for step in range(steps):
            res = rec.recommend(played[-1], goal=("up", "peak", "down", "maintain")[step % 4], top_k=1, history=played)
            if not res:
                break
            played.append(res[0]["track_id"])
        repeats += len(played) - len(set(played))
    return repeats


def report(data: str, realset: str | None, top_k: int = 10, self_match_tracks: int = 12) -> None:
    """Print every real-set figure (see module docstring)."""
    root = realset_dir(realset)
    if root is None:
        raise SystemExit("error: the real dev set is not extracted (--realset DIR or $DJ_REALSET)")
    t0 = time.perf_counter()
    rec = Recommender(data)
    truth = truth_table(rec, root)
    print(f"real dev set: {len(truth)} tracks ({int(truth['is_gtzan'].sum())} GTZAN clips), levels "
          f"{'from track_features' if rec.engine.energy_levels_given else 'by library rank'}; nothing tuned on it")  # fmt: skip
    q, latency = quality(rec, truth, top_k)
    print(f"\ntop-{top_k} by the labels (mean over the queries that have such a candidate; count = those queries)")
    print(q.groupby("method").agg(["mean", "count"]).to_string(float_format=lambda x: f"{x:.3f}"))
    print(f"latency p50 {1000 * np.percentile(latency, 50):.1f} ms, p95 {1000 * np.percentile(latency, 95):.1f} ms")
    print("\ngoal direction of the top pick (analysed levels)")
    print(summary(goal_rows(rec.engine)).to_string(float_format=lambda x: f"{x:.2f}"))
    print(f"\nrepeats in 20 walked sessions of 12 steps: {sessions(rec, 20, 12)}")
    index = fingerprint_index(rec, Path(data).parent / "fingerprints.parquet")
    dups = duplicate_pairs(index)
    print(f"library tracks recognised as another library track's recording: {len(dups)} {dups[:5]}")
    rec_fp = Recommender(data, fingerprints=index)
    print(f"self-match: {self_match(rec_fp, rec_fp_plain(data), truth, self_match_tracks, top_k)}")
    print(f"(ran in {time.perf_counter() - t0:.0f} s)")


def duplicate_pairs(index) -> list[tuple[str, str]]:  # noqa: ANN001
    """Library tracks whose own landmarks match another library track (false duplicates unless
    the set really holds a recording twice)."""
    out = []
    for i, tid in enumerate(index.track_ids):
        mine = index._owner == i
        hits = index.match(index._hash[mine], index._time[mine], exclude=[tid])
        out += [(tid, hits[0].track_id)] if hits else []
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/tmp/reco_real/data", help="data dir the real set was ingested into")
    add_realset_argument(ap)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--self-match-tracks", type=int, default=12)
    args = ap.parse_args()
    report(args.data, args.realset, args.top_k, args.self_match_tracks)


def rec_fp_plain(data: str) -> Recommender:
    """A recommender that does not recognise recordings (the path before fingerprints)."""
    from dj_pipeline.fingerprint import FingerprintIndex
    from dj_pipeline.config.fingerprint import load_fingerprint_config

    return Recommender(data, fingerprints=FingerprintIndex([], [], [], load_fingerprint_config()))


if __name__ == "__main__":
    main()
