"""Drum one-shots with drum-class and role truth (the fixture for the drum-role classifier)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from dj_pipeline.demo.instruments import ONESHOT_RECIPES
from dj_pipeline.demo.track import default_config
from dj_pipeline.demo.writer import write_audio

ONESHOT_COLUMNS = ("path", "drum_class", "role", "variant", "sample_rate", "channels", "duration_s", "seed")
_SUBTYPES = ("PCM_16", "PCM_24", "PCM_16", "PCM_32")  # not FLOAT: its PEAK chunk holds a timestamp


def generate_oneshots(out_dir: str | os.PathLike, n: int, seed: int) -> pd.DataFrame:
    """Write ``n`` one-shots as ``out_dir/<drum_class>_<NN>.wav``; returns their truth.

    Classes cycle through the configured order (so 16 samples cover every role), sample rates
    and WAV sample formats cycle too, every third sample is stereo, and each sample's sound is
    drawn from its own seed. ``path`` in the frame is relative to ``out_dir``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    cfg = default_config().oneshots
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        variant = cfg.order[i % len(cfg.order)]
        drum_class = cfg.drum_class[variant]
        sr = int(cfg.sample_rates[i % len(cfg.sample_rates)])
        ss = np.random.SeedSequence([int(seed), 2, i])
        rng = np.random.default_rng(ss)
        mono = ONESHOT_RECIPES[variant](sr, rng) * np.float32(rng.uniform(0.5, 0.95))
        stereo = i % 3 == 2
        audio = np.stack([mono, mono * np.float32(rng.uniform(0.8, 1.0))]) if stereo else mono
        name = f"{drum_class}_{i:02d}.wav"
        write_audio(out / name, audio, sr, "wav", subtype=_SUBTYPES[i % len(_SUBTYPES)])
        rows.append(
            {
                "path": name,
                "drum_class": drum_class,
                "role": cfg.role[drum_class],
                "variant": variant,
                "sample_rate": sr,
                "channels": 2 if stereo else 1,
                "duration_s": len(mono) / sr,
                "seed": int(ss.generate_state(1)[0]),
            }
        )
    return pd.DataFrame(rows, columns=list(ONESHOT_COLUMNS))
