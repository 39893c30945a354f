"""Read the audio of chosen windows, decoding each needed span once."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from dj_pipeline.audio import load_audio
from dj_pipeline.windows.select import Window


def merge_spans(windows: Sequence[Window]) -> list[tuple[float, float]]:
    """Union of the windows' spans as sorted, non-overlapping ``(start_s, end_s)`` pairs."""
    spans = sorted((w.start_s, w.end_s) for w in windows)
    merged: list[list[float]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def read_windows(path: str | os.PathLike, windows: Sequence[Window], sr: int) -> dict[str, np.ndarray]:
    """Mono float32 audio at ``sr`` for each window, keyed by window name.

    Overlapping windows (intro and main on a short track, say) are decoded once: the union of the
    spans is read with seeking, then each window is sliced out of its span. Not from the ingest's
    decode cache: a span resampled on its own differs in the last bits from the same span cut out of
    the whole-file blocks, and features must not depend on whether a file was cached (or on the
    executor: Ray workers on other nodes have no cache).
    """
    out: dict[str, np.ndarray] = {}
    for span_start, span_end in merge_spans(windows):
        y, _ = load_audio(path, sr=sr, mono=True, offset_s=span_start, duration_s=span_end - span_start)
        for w in windows:
            if span_start <= w.start_s and w.end_s <= span_end + 1e-6:
                a = int(round((w.start_s - span_start) * sr))
                b = int(round((w.end_s - span_start) * sr))
                out[w.name] = y[a:b]
    return out
