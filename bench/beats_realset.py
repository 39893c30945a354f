"""Beat and downbeat F-measure on the real dev set's GTZAN clips: dj_pipeline vs librosa (and cached peers).

    python bench/beats_realset.py [--realset /work/realset] [--peers-out DIR] [--split holdout|tune|all]

Scores the beat grid the ``track_beats`` table gets (tempo from ``analyze_segments`` on the sampled
windows, as the pipeline does, then :func:`dj_pipeline.analysis.beats.file_beats`, the streamed
whole-track pass) against the GTZAN beat annotations (genres with a beat: classical left out),
side by side with plain ``librosa.beat.beat_track`` run here on the same files (22050 Hz, as
``bench/peers/run_beats.py --peer librosa``), and any ``<peer>_beats.csv`` cached in ``--peers-out``
(madmom, essentia). mir_eval F-measure, +-70 ms, first 5 s trimmed (``realset_scores.f_measure``).
Split: ``bench/realset.py`` ``holdout_split`` (fold 0 = holdout, reported; fold 1 = tune, what the
beat settings were tuned on). Writes ``bench/results/beats_realset.json`` (figures only, no beats).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from realset import add_realset_argument, holdout_split, load_truth, read_beats, realset_dir  # noqa: E402
from realset_scores import f_measure, peer_row, read_peer_tables  # noqa: E402

from dj_pipeline.analysis import analyze_segments, load_analysis_config  # noqa: E402
from dj_pipeline.analysis.beats import file_beats  # noqa: E402
from dj_pipeline.catalog.hashing import content_id  # noqa: E402
from dj_pipeline.windows import read_windows, select_windows  # noqa: E402

NO_BEAT_GENRES = ("classical",)


def ours(path: str, duration_s: float, cfg) -> tuple[np.ndarray, np.ndarray, float]:
    """dj_pipeline's beats and downbeats of one file and the CPU seconds of the beat pass alone."""
    segments = read_windows(path, select_windows(path, track_id=content_id(path)), cfg.sr)
    bpm = analyze_segments(segments, cfg.sr, duration_s, cfg)["bpm"]
    t0 = time.process_time()
    grid = file_beats(path, bpm, cfg)
    return grid.beats_s, grid.downbeats_s, time.process_time() - t0


def librosa_beats(path: str) -> np.ndarray:
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    return librosa.beat.beat_track(y=y, sr=sr, units="time")[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_realset_argument(ap)
    ap.add_argument("--peers-out", type=Path, default=None, help="cached <peer>_beats.csv files (bench/peers/run_beats.py)")
    ap.add_argument("--split", choices=("holdout", "tune", "all"), default="all")
    args = ap.parse_args()
    root = realset_dir(args.realset)
    if root is None:
        sys.exit("real dev set not found (no truth.csv): extract ../shared/realset first")
    cfg = load_analysis_config()
    truth = load_truth(root)
    truth = truth[truth["is_gtzan"] & truth["beats_path"].notna() & ~truth["genre"].isin(NO_BEAT_GENRES)].copy()
    truth["split"] = np.where(holdout_split(truth["file"]), "holdout", "tune")
    if args.split != "all":
        truth = truth[truth["split"] == args.split]
    peers = {p: t for p, t in (read_peer_tables(args.peers_out) if args.peers_out else {}).items() if "beats_text" in t}
    rows = []
    for i, t in enumerate(truth.itertuples(), 1):
        ref, pos = read_beats(t.beats_path)
        b, d, cpu_s = ours(t.path, float(t.duration_s), cfg)
        row = {"file": t.file, "genre": t.genre, "split": t.split, "beats_cpu_s": cpu_s,
               "dj_pipeline beat_f": f_measure(b, ref), "dj_pipeline downbeat_f": f_measure(d, ref[pos == 1]),
               "librosa beat_f": f_measure(librosa_beats(t.path), ref)}  # fmt: skip
        for peer, table in peers.items():
            r = peer_row(peer, table, t.file)
            if "beats" in r:
                row[f"{peer} beat_f"] = f_measure(r["beats"], ref)
                row[f"{peer} downbeat_f"] = f_measure(r["downbeats"], ref[pos == 1]) if r["downbeats"] is not None else None
        rows.append(row)
        if i % 10 == 0:
            print(f"  ... {i}/{len(truth)}", flush=True)
    df = pd.DataFrame(rows)
    cols = [c for c in df if c.endswith("_f")]
    table = df.groupby("split")[cols].mean()
    table.loc["all"] = df[cols].mean()
    print(table.T.to_string(float_format=lambda x: f"{x:.3f}"))
    print(f"\nbeat pass: {df['beats_cpu_s'].mean():.2f} CPU s per 30 s clip")
    out = ROOT / "bench" / "results" / "beats_realset.json"
    out.write_text(json.dumps({"realset": str(root), "split": "holdout_split(n_folds=2, fold=0) = holdout",
                               "table": table.to_dict(orient="index"), "rows": df.to_dict(orient="records")}, indent=1, default=str))  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
