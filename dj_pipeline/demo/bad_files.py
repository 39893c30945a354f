"""Broken and awkward inputs for ingest error tests, each with the defect it is meant to have."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from dj_pipeline.demo.track import default_config, generate_track
from dj_pipeline.demo.writer import write_audio

BAD_FILE_COLUMNS = ("path", "kind", "should_fail", "expected_reason")
NON_ASCII_NAME = "Beyoncé – Ça va ☃.flac"


def write_bad_files(out_dir: str | os.PathLike) -> pd.DataFrame:
    """Write the bad-input set into ``out_dir``; returns path (absolute), kind, should_fail, reason.

    Failing inputs: zero-byte WAV, truncated WAV and FLAC (header promises more than the data),
    text named .mp3, silent 20 s WAV, 3 s WAV (shorter than 5 s), a directory named ``folder.wav``.
    One good file with a non-ASCII name (real music) must be ingested, not rejected.
    """
    cfg = default_config().bad_files
    sr = cfg.sample_rate
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    music = generate_track("house", 124.0, 9, "minor", cfg.good_s, sr, seed=4242, stereo=False)
    rows = []

    def add(name: str, kind: str, should_fail: bool, reason: str) -> None:
        rows.append({"path": str(out / name), "kind": kind, "should_fail": should_fail, "expected_reason": reason})

    (out / "empty.wav").write_bytes(b"")
    add("empty.wav", "zero_bytes", True, "empty file")

    for fmt in ("wav", "flac"):
        whole = write_audio(out / f".whole.{fmt}", music, sr, fmt)
        data = whole.read_bytes()
        (out / f"truncated.{fmt}").write_bytes(data[: len(data) // 2])
        whole.unlink()
        add(f"truncated.{fmt}", f"truncated_{fmt}", True, "truncated: header says longer than the data")

    (out / "not_audio.mp3").write_text("this is a text file, not audio\n" * 20, encoding="utf-8")
    add("not_audio.mp3", "not_audio", True, "not audio / unrecognised format")

    write_audio(out / "silent.wav", np.zeros(int(cfg.silent_s * sr), dtype=np.float32), sr, "wav")
    add("silent.wav", "silent", True, "silent (no signal)")

    write_audio(out / "short.wav", music[: int(cfg.short_s * sr)], sr, "wav")
    add("short.wav", "too_short", True, "shorter than the minimum duration (5 s)")

    (out / "folder.wav").mkdir(exist_ok=True)
    add("folder.wav", "directory", True, "a directory, not a file")

    write_audio(out / NON_ASCII_NAME, music, sr, "flac", {"title": "Ça va", "artist": "Beyoncé", "genre": "House"})
    add(NON_ASCII_NAME, "non_ascii_name", False, "")
    return pd.DataFrame(rows, columns=list(BAD_FILE_COLUMNS))
