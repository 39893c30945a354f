"""Read the audio of chosen windows, decoding each needed span once."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from dj_pipeline.audio.decode_cache import memoized
from dj_pipeline.audio.io import decode_span, resample
from dj_pipeline.windows.select import Window

# uncompressed files: reading a span again costs about what the cache's copy would (and as much disk)
PCM_EXTENSIONS = frozenset({".wav", ".wave", ".aif", ".aiff"})


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
    spans is read with seeking, then each window is sliced out of its span. Inside an ingest the
    span is decoded once for all the stages that read it (features at the analysis rate, the
    embedder at its own): the first saves the span at the file's rate in the ingest's scratch cache
    (:func:`~dj_pipeline.audio.decode_cache.memoized`; compressed files only), and each resamples
    it. The samples are those of a decode without the cache, so features never depend on a cache
    hit or on the executor (Ray workers on other nodes have no cache). Spans are not cut out of the
    whole-file blocks of the cache: a span resampled on its own differs in the last bits from the
    same span of a block.
    """
    out: dict[str, np.ndarray] = {}
    for span_start, span_end in merge_spans(windows):
        y = resample(*_native_span(path, span_start, span_end - span_start), sr)
        for w in windows:
            if span_start <= w.start_s and w.end_s <= span_end + 1e-6:
                a = int(round((w.start_s - span_start) * sr))
                b = int(round((w.end_s - span_start) * sr))
                out[w.name] = y[a:b]
    return out


def _native_span(path: str | os.PathLike, offset_s: float, duration_s: float) -> tuple[np.ndarray, int]:
    def decode() -> dict[str, np.ndarray]:
        y, native_sr = decode_span(path, offset_s, duration_s)
        return {"y": y, "sr": np.array(native_sr)}

    if os.path.splitext(path)[1].lower() in PCM_EXTENSIONS:
        return decode_span(path, offset_s, duration_s)
    saved = memoized(path, f"span:{offset_s!r}:{duration_s!r}", decode)
    return saved["y"], int(saved["sr"])
