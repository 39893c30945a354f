"""Demo generator benchmark: generation speed and how clearly the truth is audible.

    python bench/demo_library.py [--tracks 24] [--seed 0] [--scale 1.0] [--out DIR] [--no-check]

Reports generation time (total and per minute of audio) and, per track, two sanity checks with
plain librosa (not the project's estimators): the rank of the truth tonic in the mean chroma
(0 = strongest pitch class) and librosa's tempo estimate against the truth BPM (octave errors
counted separately), and whether a plain Krumhansl-Schmuckler estimate finds the exact key.
Writes bench/results/demo_library.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dj_pipeline.audio import load_audio  # noqa: E402
from dj_pipeline.demo import generate_library  # noqa: E402

ANALYSIS_SR = 22050
# Krumhansl-Kessler key profiles (C major / C minor), for a plain Krumhansl-Schmuckler reference
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def krumhansl_key(chroma: np.ndarray) -> tuple[int, str]:
    """(root, mode) whose rotated Krumhansl-Kessler profile correlates best with ``chroma``."""
    scores = [(np.corrcoef(chroma, np.roll(prof, root))[0, 1], root, mode)
              for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR)) for root in range(12)]
    _, root, mode = max(scores)
    return root, mode
TEMPO_TOL = 0.04  # relative tolerance of a tempo match


def check_track(path: Path, key_root: int, key_mode: str, bpm: float) -> dict:
    """Tonic rank in mean chroma and librosa's tempo (exact / octave / wrong) for one file."""
    import librosa

    y, sr = load_audio(path, sr=ANALYSIS_SR, mono=True)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr).mean(axis=1)
    rank = int((chroma > chroma[key_root]).sum())
    ks_root, ks_mode = krumhansl_key(chroma)
    tempo = float(librosa.feature.tempo(onset_envelope=librosa.onset.onset_strength(y=y, sr=sr), sr=sr)[0])
    ratio = tempo / bpm
    if abs(ratio - 1) <= TEMPO_TOL:
        verdict = "exact"
    elif any(abs(ratio - r) <= TEMPO_TOL * r for r in (0.5, 2.0, 1 / 3, 3.0, 2 / 3, 1.5)):
        verdict = "octave"
    else:
        verdict = "wrong"
    return {"tonic_rank": rank, "ks_key_ok": bool(ks_root == key_root and ks_mode == key_mode), "librosa_bpm": round(tempo, 2), "tempo": verdict}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=24)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="duration_scale")
    ap.add_argument("--out", type=Path, default=None, help="library folder (default: a temporary one)")
    ap.add_argument("--no-check", action="store_true", help="time generation only")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "lib"
        t0 = time.perf_counter()
        truth = generate_library(out, n_tracks=args.tracks, n_samples=args.samples, seed=args.seed, duration_scale=args.scale)
        gen_s = time.perf_counter() - t0
        audio_min = float(truth["duration_s"].sum()) / 60.0
        print(f"generated {len(truth)} tracks ({audio_min:.1f} min of audio) + {args.samples} one-shots in {gen_s:.1f} s "
              f"= {gen_s / max(audio_min, 1e-9) * 2:.2f} s per 2-minute track (incl. encoding)")
        rows = []
        if not args.no_check:
            print(f"\n{'style':14s} {'fmt':4s} {'sr':>5s} {'bpm':>5s} {'est':>6s} {'tempo':6s} {'key':9s} tonic_rank ks_key_ok")
            for r in truth.itertuples():
                res = check_track(out / r.path, int(r.key_root), str(r.key_mode), float(r.bpm))
                rows.append({"path": r.path, "style": r.style, "bpm": r.bpm, "key": r.key, **res})
                print(f"{r.style:14s} {r.format:4s} {r.sample_rate:5d} {r.bpm:5.0f} {res['librosa_bpm']:6.1f} {res['tempo']:6s} {r.key:9s} {res['tonic_rank']:10d} {res['ks_key_ok']}")
            ranks = np.array([x["tonic_rank"] for x in rows])
            tempos = [x["tempo"] for x in rows]
            print(f"plain Krumhansl-Schmuckler on mean chroma gets the exact key: {np.mean([x['ks_key_ok'] for x in rows]):.0%}")
            print(f"\ntonic strongest in chroma: {np.mean(ranks == 0):.0%}, in top 2: {np.mean(ranks <= 1):.0%}")
            print(f"librosa tempo exact: {tempos.count('exact') / len(rows):.0%}, octave: {tempos.count('octave') / len(rows):.0%}, wrong: {tempos.count('wrong') / len(rows):.0%}")
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    report = {"tracks": len(truth), "seed": args.seed, "scale": args.scale, "generate_s": gen_s, "audio_min": audio_min, "checks": rows}
    (results / "demo_library.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
