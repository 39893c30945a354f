"""Embedding throughput per backend: windows/s and audio-seconds/s, batch 1 vs batch N.

``dsp``: the offline embedder on 30 s windows at its rate (22.05 kHz) and on whole tracks of the
pipeline's 5 windows (2 x 30 s + 90 s + 2 x 30 s). ``clap``: the FULL-SIZE CLAP architecture
(``ClapConfig()`` defaults = clap-htsat-unfused size, random weights, so no download) saved to a temp
dir and loaded through ``get_embedder`` like real weights; 10 s windows at 48 kHz. For CLAP the
feature-extraction (CPU, NumPy mel) share of the time is reported separately from the model.

    python bench/embedding_throughput.py [--backend dsp|clap|both] [--device cpu|cuda] [--threads 1]
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

from dj_pipeline.embeddings import get_embedder  # noqa: E402


def _audio(seconds: float, sr: int, seed: int) -> np.ndarray:
    """Noise bursts on a beat grid over a tone: cheap, non-trivial test audio."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    beat = (np.sin(2 * np.pi * 2.0 * t) > 0.95).astype(np.float32)
    return (0.2 * np.sin(2 * np.pi * 110 * t) + 0.2 * beat * rng.standard_normal(t.size)).astype(np.float32)


def _rate(fn, n_windows: int, audio_s: float, repeats: int = 1) -> dict:
    fn()  # warm-up (allocations, lazy init, cudnn autotune)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    dt = (time.perf_counter() - t0) / repeats
    return {"seconds": dt, "windows_per_s": n_windows / dt, "audio_s_per_s": audio_s / dt}


def bench_dsp(args: argparse.Namespace) -> dict:
    emb = get_embedder("dsp")
    wins = [_audio(30.0, emb.sr, i) for i in range(8)]
    track = [_audio(d, emb.sr, 10 + i) for i, d in enumerate((30.0, 30.0, 90.0, 30.0, 30.0))]
    out = {
        "batch_1": _rate(lambda: [emb.embed([w], emb.sr) for w in wins], len(wins), 30.0 * len(wins)),
        "batch_8": _rate(lambda: emb.embed(wins, emb.sr), len(wins), 30.0 * len(wins)),
        "track_5_windows": _rate(lambda: emb.embed(track, emb.sr), 5, 210.0, repeats=2),
    }
    print(f"\ndsp {emb.model} ({emb.dim}-d), 30 s windows at {emb.sr} Hz, 1 process")
    for k, v in out.items():
        print(f"  {k:<16} {v['windows_per_s']:8.2f} windows/s  {v['audio_s_per_s']:8.0f} audio-s/s ({v['audio_s_per_s']:.0f}x real time)")
    return out


def save_full_size_clap(out: Path) -> Path:
    """Full-size (htsat-unfused) CLAP with random weights plus a processor with a tiny tokenizer."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    torch.manual_seed(0)
    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + list("abcdefghijklmnopqrstuvwxyz") + ["Ġ"])}
    ClapModel(ClapConfig()).save_pretrained(out)
    fe = ClapFeatureExtractor(truncation="rand_trunc")
    ClapProcessor(feature_extractor=fe, tokenizer=RobertaTokenizer(vocab=vocab, merges=[])).save_pretrained(out)
    return out


def bench_clap(args: argparse.Namespace) -> dict:
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="clap_full_") as d:
        t0 = time.perf_counter()
        emb = get_embedder("clap", model=save_full_size_clap(Path(d)), device=args.device)
        load_s = time.perf_counter() - t0
    n = args.clap_windows
    wins = [_audio(10.0, emb.sr, i) for i in range(n)]
    n_params = sum(p.numel() for p in emb.model_obj.parameters())
    dtype = str(emb.dtype).replace("torch.", "")
    print(f"\nclap full-size random weights ({n_params / 1e6:.0f} M params) on {emb.device} ({dtype}), "
          f"{n} x 10 s windows at {emb.sr} Hz, torch threads {torch.get_num_threads()}; build+save+load {load_s:.1f} s")  # fmt: skip
    out: dict = {"device": emb.device, "dtype": dtype, "params_m": n_params / 1e6, "windows": n}
    m = min(n, 8)
    emb._features(wins[:m])
    t0 = time.perf_counter()
    emb._features(wins[:m])
    out["mel_torch_ms_per_window"] = (time.perf_counter() - t0) / m * 1000
    t0 = time.perf_counter()
    emb.processor.feature_extractor(wins[:m], sampling_rate=emb.sr, truncation=emb.truncation, return_tensors="pt")
    out["mel_processor_ms_per_window"] = (time.perf_counter() - t0) / m * 1000
    for bs in args.batches:
        emb.batch_size = bs
        r = _rate(lambda: emb.embed(wins, emb.sr), n, 10.0 * n)
        out[f"batch_{bs}"] = r
        print(f"  batch {bs:<4} {r['windows_per_s']:8.2f} windows/s  {r['audio_s_per_s']:8.0f} audio-s/s  ({r['seconds'] / n * 1000:.1f} ms/window)")
    print(f"  log-mel alone: torch on {emb.device} {out['mel_torch_ms_per_window']:.1f} ms/window, "
          f"ClapProcessor (NumPy, CPU) {out['mel_processor_ms_per_window']:.1f} ms/window")  # fmt: skip
    texts = ["deep house groove with warm pads"] * 32
    out["text_per_s"] = _rate(lambda: emb.embed_text(texts), 32, 0.0)["windows_per_s"]
    print(f"  text tower: {out['text_per_s']:.0f} prompts/s (batch 32)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["dsp", "clap", "both"], default="both")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for clap on CPU (0 = torch default)")
    ap.add_argument("--clap-windows", type=int, default=8)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--json", default="bench/results/embedding_throughput.json")
    args = ap.parse_args()
    report = {}
    if args.backend in ("dsp", "both"):
        report["dsp"] = bench_dsp(args)
    if args.backend in ("clap", "both"):
        report["clap"] = bench_clap(args)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
