"""Structure layer (issue 16): section boundaries, mix points, downbeats and phrases, bad input, cost.

1. Generated demo library (its truth.csv knows the arrangement): section-boundary F-measure
   within +-1 bar, mix_in on the intro's start and mix_out on the outro's start (+-1 bar), the drop
   (+-1 bar); side by side with ``librosa.segment.agglomerative`` (given the true section count).
2. Real music, GTZAN excerpts of the real dev set (``--realset``): downbeat F-measure (+-70 ms)
   against the annotated downbeats, for our grid (refined and as ``track_features`` gives it) and
   for librosa's beat tracker with every 4th beat called a downbeat; phrase starts (proxy: every
   8th annotated downbeat from the first) hit within +-70 ms by our every-8th-bar grid, and
   within +-1 bar by our section boundaries and by librosa.segment (the same count as the proxy).
   The onset delay (a quarter FFT window) was chosen on one half (``holdout_split`` fold 1);
   figures are printed for all clips and for the held-out half.
3. Bad input (silence, a 2-hour mix, an ambient track with no beat, a tempo change, a 10-s loop):
   no crash, cues NULL with a reason where nothing is reliable; peak memory of the 2-hour pass.
4. Cost: the structure pass's time against the rest of a track's ingest (windows + features +
   DSP embeddings), same run, same tracks.

    python bench/structure_accuracy.py --tracks 16 [--realset DIR] [--gtzan-limit N] [--no-long]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realset import add_realset_argument, downbeats, holdout_split, load_truth, realset_dir  # noqa: E402

from dj_pipeline.analysis import analyze_file  # noqa: E402
from dj_pipeline.structure import analyze_structure, grid_from_tempo, section_rows  # noqa: E402
from dj_pipeline.config.structure import load_structure_config  # noqa: E402

DOWNBEAT_TOL_S = 0.07
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def hits(truth: np.ndarray, pred: np.ndarray, tol_s: float) -> int:
    """Greedy one-to-one matches of ``pred`` to ``truth`` within ``tol_s``."""
    used = np.zeros(len(pred), dtype=bool)
    n = 0
    for t in truth:
        d = np.where(used, np.inf, np.abs(np.asarray(pred) - t))
        if d.size and d.min() <= tol_s:
            used[int(np.argmin(d))] = True
            n += 1
    return n


def f_measure(n_hit: int, n_truth: int, n_pred: int) -> dict:
    p = n_hit / n_pred if n_pred else 0.0
    r = n_hit / n_truth if n_truth else 0.0
    return {"f": round(2 * p * r / (p + r), 3) if p + r else 0.0, "precision": round(p, 3), "recall": round(r, 3)}


def librosa_boundaries(path: str, k: int) -> np.ndarray:
    """``librosa.segment.agglomerative`` on beat-synchronous chroma + MFCC: ``k`` segments' starts (s), the first dropped.

    ``tuning=0.0``: librosa's tuning estimate (numba ``piptrack``) crashes this interpreter.
    """
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    _, beats = librosa.beat.beat_track(y=y, sr=sr)
    feats = np.vstack([librosa.feature.chroma_stft(y=y, sr=sr, tuning=0.0), librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)])
    sync = librosa.util.sync(feats, beats)
    bounds = librosa.segment.agglomerative(sync, min(max(k, 2), sync.shape[1]))
    frames = librosa.util.fix_frames(beats, x_max=feats.shape[1])[bounds]
    return librosa.frames_to_time(frames, sr=sr)[1:]


def librosa_downbeats(path: str) -> np.ndarray:
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    _, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return np.asarray(beats)[::4]


def demo_part(lib: Path, n_tracks: int, seed: int) -> dict:
    from dj_pipeline.demo import generate_library
    from dj_pipeline.embeddings import get_embedder
    from dj_pipeline.windows import read_windows, select_windows

    truth_file = lib / "truth.csv"
    if not truth_file.exists() or len(pd.read_csv(truth_file)) != n_tracks:
        generate_library(lib, n_tracks=n_tracks, n_samples=0, seed=seed)
    truth = pd.read_csv(truth_file)
    embedder = get_embedder("dsp")
    b = {"ours": [0, 0, 0], "librosa": [0, 0, 0]}
    right = {"mix_in": 0, "mix_out": 0, "drop": 0, "drop_n": 0}
    cost = {"ingest_s": 0.0, "structure_s": 0.0}
    per_track = []
    for t in truth.itertuples():
        path = str(lib / t.path)
        t0 = time.perf_counter()
        feats = analyze_file(path)
        segs = read_windows(path, select_windows(path, track_id=feats["track_id"]), embedder.sr)
        embedder.embed(list(segs.values()), sr=embedder.sr)
        t1 = time.perf_counter()
        s = analyze_structure(path, feats["bpm"], feats["first_downbeat_s"], feats["bpm_confidence"])
        cost["ingest_s"] += t1 - t0
        cost["structure_s"] += time.perf_counter() - t1
        starts = np.array([float(x) for x in str(t.section_start_s).split()])
        bar_s = float(t.bar_s)
        true_b = starts[1:]
        pred_b = np.array([r["start_s"] for r in section_rows("x", s)][1:])
        lib_b = librosa_boundaries(path, len(starts))
        for name, pred in (("ours", pred_b), ("librosa", lib_b)):
            b[name][0] += hits(true_b, pred, bar_s)
            b[name][1] += len(true_b)
            b[name][2] += len(pred)
        names = [x.split(":")[0] for x in str(t.sections).split()]
        outro_s = starts[names.index("outro")] if "outro" in names else None
        cue = {c.type: c.time_s for c in s.cues}
        ok_in = cue["mix_in"] is not None and abs(cue["mix_in"] - starts[0]) <= bar_s
        ok_out = outro_s is not None and cue["mix_out"] is not None and abs(cue["mix_out"] - outro_s) <= bar_s
        right["mix_in"] += ok_in
        right["mix_out"] += ok_out
        if not pd.isna(t.drop_s):
            right["drop_n"] += 1
            right["drop"] += cue["drop"] is not None and abs(cue["drop"] - float(t.drop_s)) <= bar_s
        per_track.append({"style": t.style, "truth": t.sections, "pred": " ".join(f"{x.label}:{x.n_bars}" for x in s.sections), "mix_in": ok_in, "mix_out": ok_out})
    n = len(truth)
    return {
        "tracks": n,
        "boundaries_ours": f_measure(*b["ours"]),
        "boundaries_librosa_segment_true_k": f_measure(*b["librosa"]),
        "mix_in_right_phrase": round(right["mix_in"] / n, 3),
        "mix_out_right_phrase": round(right["mix_out"] / n, 3),
        "drop_within_1_bar": round(right["drop"] / max(right["drop_n"], 1), 3),
        "cost": {**{k: round(v, 1) for k, v in cost.items()}, "structure_over_ingest": round(cost["structure_s"] / cost["ingest_s"], 3)},
        "per_track": per_track,
    }


def gtzan_part(root: Path, limit: int | None) -> dict:
    cfg = load_structure_config()
    truth = load_truth(root)
    truth = truth[truth["is_gtzan"] & truth["beats_path"].notna()]
    if limit:
        truth = truth.head(limit)
    names = ("down_refined", "down_features", "down_librosa", "phrase_grid", "phrase_sections", "phrase_librosa")
    acc = {k: [0, 0, 0] for k in names}
    held = {k: [0, 0, 0] for k in names}  # holdout_split fold 0: the onset delay was chosen on the other half
    truth = truth.assign(held_out=holdout_split(truth["file"]))
    for t in truth.itertuples():
        true_down = downbeats(t.beats_path)
        if true_down.size < 2:
            continue
        bar_s = float(np.median(np.diff(true_down)))
        true_phr = true_down[::8]
        feats = analyze_file(t.path)
        s = analyze_structure(t.path, feats["bpm"], feats["first_downbeat_s"], feats["bpm_confidence"])
        refined = s.grid.downbeats_s if s.grid is not None else np.zeros(0)
        plain = np.zeros(0)
        if feats["bpm"] and feats["first_downbeat_s"] is not None:
            plain = grid_from_tempo(feats["bpm"], feats["first_downbeat_s"], float(t.duration_s), cfg.grid).downbeats_s
        sections = np.array([r["start_s"] for r in section_rows("x", s)])
        preds = {
            "down_refined": (true_down, refined, DOWNBEAT_TOL_S),
            "down_features": (true_down, plain, DOWNBEAT_TOL_S),
            "down_librosa": (true_down, librosa_downbeats(t.path), DOWNBEAT_TOL_S),
            "phrase_grid": (true_phr, refined[::8], DOWNBEAT_TOL_S),
            "phrase_sections": (true_phr, sections, bar_s),
            "phrase_librosa": (true_phr, np.concatenate([[0.0], librosa_boundaries(t.path, len(true_phr))]), bar_s),
        }
        for k, (tr, pr, tol) in preds.items():
            for table in (acc, held) if t.held_out else (acc,):
                table[k][0] += hits(tr, pr, tol)
                table[k][1] += len(tr)
                table[k][2] += len(pr)
    return {
        "clips": len(truth),
        "held_out_clips": int(truth["held_out"].sum()),
        "all": {k: f_measure(*v) for k, v in acc.items()},
        "held_out": {k: f_measure(*v) for k, v in held.items()},
    }


def write_wav_blocks(path: Path, blocks, sr: int) -> Path:  # noqa: ANN001 - an iterable of float arrays
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as fh:
        for b in blocks:
            fh.write(np.asarray(b, dtype=np.float32))
    return path


def bad_inputs(tmp: Path, long_mix: bool) -> dict:
    """Make each bad input cheaply, run features + structure, report cues or reasons (and crashes)."""
    from dj_pipeline.demo.track import TrackSpec, render_track

    sr = 22050
    rng = np.random.default_rng(0)

    def track(bpm: float, dur: float, seed: int) -> np.ndarray:
        return render_track(TrackSpec("house", bpm, 0, "minor", dur, sr, seed, False, 0.6)).audio

    t = np.arange(int(120 * sr)) / sr
    pad = sum(np.sin(2 * np.pi * f * t) for f in (110.0, 164.8, 220.5, 277.2)) * (0.5 + 0.5 * np.sin(2 * np.pi * t / 23.0))
    pad = 0.05 * pad + 0.01 * np.convolve(rng.standard_normal(t.size), np.ones(64) / 64, mode="same")
    files = {
        "silence": write_wav_blocks(tmp / "silence.wav", [np.zeros(60 * sr)], sr),
        "ambient_no_beat": write_wav_blocks(tmp / "ambient.wav", [pad], sr),
        "tempo_change_120_to_135": write_wav_blocks(tmp / "tempo_change.wav", [track(120.0, 100.0, 1), track(135.0, 100.0, 2)], sr),
        "loop_10s": write_wav_blocks(tmp / "loop10.wav", [track(128.0, 60.0, 3)[20 * sr : 30 * sr]], sr),
    }
    out = {name: run_one(p) for name, p in files.items()}
    if long_mix:
        parts = [track(bpm, 240.0, i) for i, bpm in enumerate((122.0, 125.0, 128.0))]
        mix = tmp / "mix_2h.wav"
        if not mix.exists():
            write_wav_blocks(mix, (parts[i % 3] for i in range(30)), sr)  # 30 x 4 min = 2 h
        code = f"import json,resource,sys; sys.path.insert(0,{str(Path(__file__).parent)!r}); import structure_accuracy as b; r=b.run_one({str(mix)!r}); r['peak_rss_mb']=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024; print(json.dumps(r))"
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        out["mix_2h"] = json.loads(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else {"crash": res.stderr[-500:]}
    return out


def run_one(path: str | os.PathLike) -> dict:
    t0 = time.perf_counter()
    try:
        feats = analyze_file(path)
        s = analyze_structure(path, feats["bpm"], feats["first_downbeat_s"], feats["bpm_confidence"])
    except Exception as exc:  # noqa: BLE001 - the bench reports a crash instead of stopping
        return {"crash": f"{type(exc).__name__}: {exc}"}
    return {
        "bpm": feats["bpm"],
        "seconds": round(time.perf_counter() - t0, 1),
        "sections": " ".join(f"{x.label}:{x.n_bars}" for x in s.sections),
        "grid_fit": s.fit_share,
        "reason": s.reason,
        "cues": {c.type: (c.time_s, c.reason) for c in s.cues},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=16)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--lib", default="/tmp/structure/demo_lib")
    ap.add_argument("--gtzan-limit", type=int, default=None)
    ap.add_argument("--no-long", action="store_true", help="skip the 2-hour mix")
    ap.add_argument("--parts", default="demo,gtzan,bad", help="comma-separated: demo, gtzan, bad")
    add_realset_argument(ap)
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    res: dict = {"load": os.getloadavg()}
    if "demo" in parts:
        res["demo"] = demo_part(Path(args.lib), args.tracks, args.seed)
        print(json.dumps({k: v for k, v in res["demo"].items() if k != "per_track"}, indent=1), flush=True)
    root = realset_dir(args.realset)
    if "gtzan" in parts and root is not None:
        res["gtzan"] = gtzan_part(root, args.gtzan_limit)
        print(json.dumps(res["gtzan"], indent=1), flush=True)
    if "bad" in parts:
        res["bad_input"] = bad_inputs(Path("/tmp/structure/bad"), not args.no_long)
        print(json.dumps(res["bad_input"], indent=1, default=str), flush=True)
    res["load_after"] = os.getloadavg()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"structure_accuracy_{'_'.join(sorted(parts))}.json"
    out.write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
