"""Speed of the DSP analysis per track and per stage, side by side with the plain librosa pipeline.

    python bench/analysis_speed.py [--library /tmp/demo240] [--tracks 24] [--long-minutes 0]

For each of ``--tracks`` demo tracks (spread over styles) it times, in CPU seconds of this process
(one thread: BLAS/FFT thread pools are pinned to 1, so figures are per core):

* ``windows``: the window sampler's streamed envelope pass (the lead's windows stage, reported
  for context), ``decode``: reading the windows' spans at the file's native rate, ``resample``:
  soxr to the analysis rate (decode + resample = what ``read_windows`` does);
* every stage of ``analyze_segments`` (prepare, spectra = the shared STFTs/mel/onsets/HPSS, tempo,
  beatgrid, key, loudness, spectral, mix);
* the beat grid (``track_beats``): the streamed whole-track beat pass, and the per-track total with
  and without it in the same run (issue 13's speed budget: at most 1.5x), decoding the file itself
  and reading it from a decode cache as an ingest does (the windows pass decoded it already);
* the plain librosa pipeline on the same sampled windows at 22050 Hz: beat_track, chroma_cqt +
  Krumhansl (decode + resample to 22050 timed too).

Speed = seconds of audio analysed per CPU second ("x real time"); the sampled windows are main +
tails (the audio the track features come from) and all windows incl. intro/outro (what is
actually transformed). Peak memory (tracemalloc) of reading + analysing each track is reported;
``--long-minutes N`` adds an N-minute file to show it does not grow with the track length.
Writes ``bench/results/analysis_speed.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from analysis_baseline import BASELINE_SR, baseline_key, baseline_tempo  # noqa: E402

from dj_pipeline.analysis import analyze_segments, load_analysis_config  # noqa: E402
from dj_pipeline.analysis.beats import file_beats  # noqa: E402
from dj_pipeline.audio import iter_blocks, load_audio, resample  # noqa: E402
from dj_pipeline.audio.decode_cache import decode_cache  # noqa: E402
from dj_pipeline.catalog.hashing import content_id  # noqa: E402
from dj_pipeline.windows import merge_spans, read_windows, select_windows  # noqa: E402


def cpu(fn, *args, **kwargs):
    """``(result, cpu_seconds)`` of one call."""
    t0 = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - t0


def decode_and_resample(path: Path, windows, sr: int) -> tuple[dict[str, np.ndarray], float, float]:
    """What ``read_windows`` does, with decode and resample timed apart."""
    out: dict[str, np.ndarray] = {}
    t_dec = t_res = 0.0
    for a, b in merge_spans(windows):
        (y, native), dt = cpu(load_audio, path, None, True, a, b - a)
        t_dec += dt
        y, dt = cpu(resample, y, native, sr)
        t_res += dt
        for w in windows:
            if a <= w.start_s and w.end_s <= b + 1e-6:
                out[w.name] = y[int(round((w.start_s - a) * sr)) : int(round((w.end_s - a) * sr))]
    return out, t_dec, t_res


def time_track(path: Path, cfg) -> dict:
    windows, t_win = cpu(select_windows, path, None, content_id(path))
    segments, t_dec, t_res = decode_and_resample(path, windows, cfg.sr)
    stages: dict[str, float] = {}
    feats, t_feat = cpu(analyze_segments, segments, cfg.sr, 0.0, cfg, stages)
    _, t_beats = cpu(file_beats, path, feats["bpm"], cfg)  # issue 13: the streamed whole-track beat grid
    with tempfile.TemporaryDirectory() as scratch, decode_cache(scratch, cfg.sr, max_mb=4096):
        for _ in iter_blocks(path, cfg.sr, block_s=cfg.beats.block_s):  # an ingest's first whole-file pass decodes
            pass
        _, t_beats_cached = cpu(file_beats, path, feats["bpm"], cfg)  # ...the beat pass reads those samples
    track_s = sum(segments[w.name].size for w in windows if w.name in cfg.track_windows) / cfg.sr
    all_s = sum(y.size for y in segments.values()) / cfg.sr
    track_windows = [w for w in windows if w.name in cfg.track_windows]
    (b_seg, _), t_bdec = cpu(lambda: (read_windows(path, track_windows, BASELINE_SR), None))
    y = np.concatenate([b_seg[w.name] for w in track_windows])
    _, t_btempo = cpu(baseline_tempo, y, BASELINE_SR)
    _, t_bkey = cpu(baseline_key, y, BASELINE_SR)
    tracemalloc.start()
    analyze_segments(read_windows(path, windows, cfg.sr), cfg.sr, 0.0, cfg)
    peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    tracemalloc.start()
    file_beats(path, feats["bpm"], cfg)
    beats_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "file": path.name, "track_window_s": track_s, "all_window_s": all_s, "windows_cpu_s": t_win,
        "decode_cpu_s": t_dec, "resample_cpu_s": t_res, "features_cpu_s": t_feat,
        **{f"stage_{k}_cpu_s": v for k, v in stages.items()},
        "librosa_decode_cpu_s": t_bdec, "librosa_tempo_cpu_s": t_btempo, "librosa_key_cpu_s": t_bkey,
        "peak_mib": peak_mib, "beats_cpu_s": t_beats, "beats_cached_cpu_s": t_beats_cached, "beats_peak_mib": beats_peak_mib,
    }  # fmt: skip


def long_file_memory(minutes: float, cfg) -> dict:
    """Peak memory of windows + read + analysis for a generated ``minutes``-long mono file."""
    import soundfile as sf

    from dj_pipeline.analysis.testsignals import synth_track

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.flac"
        minute = (synth_track(124, 9, "minor", 60, 44100) * 20000).astype(np.int16)
        with sf.SoundFile(path, "w", 44100, 1, subtype="PCM_16") as fh:
            for _ in range(int(minutes)):
                fh.write(minute)
        tracemalloc.start()
        t0 = time.process_time()
        windows = select_windows(path)
        f = analyze_segments(read_windows(path, windows, cfg.sr), cfg.sr, minutes * 60, cfg)
        file_beats(path, f["bpm"], cfg)
        cpu_s = time.process_time() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {"minutes": minutes, "peak_mib": peak, "cpu_s": cpu_s, "float64_whole_track_mib": minutes * 60 * 44100 * 8 / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", type=Path, default=Path("/tmp/demo240"))
    ap.add_argument("--tracks", type=int, default=24)
    ap.add_argument("--long-minutes", type=float, default=0.0)
    args = ap.parse_args()
    cfg = load_analysis_config()
    if not (args.library / "truth.csv").exists():
        from dj_pipeline.demo import generate_library

        generate_library(args.library, n_tracks=max(args.tracks, 8), n_samples=0, seed=0)
    truth = pd.read_csv(args.library / "truth.csv")
    truth = truth.groupby("style", group_keys=False).head(max(1, args.tracks // truth["style"].nunique() + 1)).head(args.tracks)
    analyze_segments({"main": np.zeros(cfg.sr * 2, np.float32)}, cfg.sr, 2.0, cfg)  # warm caches (mel bases, FFT plans)
    rows = [time_track(args.library / p, cfg) for p in truth["path"]]
    df = pd.DataFrame(rows)
    sums = df.sum(numeric_only=True)
    track_s, all_s = sums["track_window_s"], sums["all_window_s"]
    print(f"{len(df)} demo tracks, {track_s:.0f} s of sampled windows (main+tails), {all_s:.0f} s incl. intro/outro; "
          f"analysis rate {cfg.sr} Hz; CPU seconds of one thread\n")  # fmt: skip
    print(f"{'stage':28s} {'cpu s/track':>11s} {'x real time':>12s}  (of main+tails)")
    stage_cols = [c for c in df if c.startswith("stage_")]
    lines = [("windows (envelope pass)", "windows_cpu_s"), ("decode", "decode_cpu_s"), ("resample", "resample_cpu_s")]
    lines += [(c[len("stage_") : -len("_cpu_s")], c) for c in stage_cols]
    lines += [("= all features", "features_cpu_s")]
    for label, col in lines:
        print(f"{label:28s} {sums[col] / len(df):11.3f} {track_s / max(sums[col], 1e-9):12.0f}")
    ours_total = sums["decode_cpu_s"] + sums["resample_cpu_s"] + sums["features_cpu_s"]
    base_total = sums["librosa_decode_cpu_s"] + sums["librosa_tempo_cpu_s"] + sums["librosa_key_cpu_s"]
    print(f"{'= decode+resample+features':28s} {ours_total / len(df):11.3f} {track_s / ours_total:12.0f}")
    print(f"\nplain librosa on the same windows @ {BASELINE_SR} Hz:")
    for label, col in (("decode+resample", "librosa_decode_cpu_s"), ("beat_track", "librosa_tempo_cpu_s"), ("chroma_cqt + Krumhansl", "librosa_key_cpu_s")):
        print(f"{label:28s} {sums[col] / len(df):11.3f} {track_s / max(sums[col], 1e-9):12.0f}")
    print(f"{'= tempo + key only':28s} {(sums['librosa_tempo_cpu_s'] + sums['librosa_key_cpu_s']) / len(df):11.3f} "
          f"{track_s / (sums['librosa_tempo_cpu_s'] + sums['librosa_key_cpu_s']):12.0f}")  # fmt: skip
    print(f"{'= with decode':28s} {base_total / len(df):11.3f} {track_s / base_total:12.0f}")
    print(f"\nfull feature set: {track_s / sums['features_cpu_s']:.0f}x real time per core on main+tails, "
          f"{all_s / sums['features_cpu_s']:.0f}x on all windows transformed")  # fmt: skip
    print(f"per-track peak memory (read + analyse): median {df['peak_mib'].median():.0f} MiB, max {df['peak_mib'].max():.0f} MiB")
    before = sums["windows_cpu_s"] + ours_total  # per track before issue 13: envelope pass + windows read + features
    print(f"\nbeat grid (streamed whole-track pass, track_beats): {sums['beats_cpu_s'] / len(df):.3f} CPU s/track, "
          f"peak {df['beats_peak_mib'].max():.0f} MiB; per-track total with it / without it = "
          f"{(before + sums['beats_cpu_s']) / before:.2f}x (same run)")  # fmt: skip
    print(f"  as an ingest runs it (audio from the batch's decode cache): {sums['beats_cached_cpu_s'] / len(df):.3f} CPU s/track, "
          f"with it / without it = {(before + sums['beats_cached_cpu_s']) / before:.2f}x")  # fmt: skip
    report = {"per_track": rows, "totals": sums.to_dict()}
    if args.long_minutes > 0:
        lf = long_file_memory(args.long_minutes, cfg)
        print(f"{lf['minutes']:.0f}-minute file: peak {lf['peak_mib']:.0f} MiB (whole track as float64 would be "
              f"{lf['float64_whole_track_mib']:.0f} MiB), {lf['cpu_s']:.1f} CPU s incl. the streamed envelope pass")  # fmt: skip
        report["long_file"] = lf
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "analysis_speed.json").write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
