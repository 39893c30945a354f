"""Which audio files ingest refuses to analyse (too short, silent), as one rule for every entry point.

The scan refuses a file shorter than ``ingest.yaml: min_duration_s`` and the windows stage one whose
loudest envelope frame is below ``silence_peak_dbfs``. A file given as the current track from
outside the library is held to the same rules (:func:`refusal`), so ``dj recommend --current`` does
not recommend after a silent or 3-second file that ingest would have listed in ``ingest_errors``.
"""

from __future__ import annotations

import os

import numpy as np

from dj_pipeline.config.ingest import IngestConfig, load_ingest_config


def too_short(duration_s: float, config: IngestConfig) -> str | None:
    """The reason a track of ``duration_s`` is refused, ``None`` when it is long enough."""
    if duration_s < config.min_duration_s:
        return f"too short: {duration_s:.2f}s (minimum {config.min_duration_s:g}s)"
    return None


def silent(peak_dbfs: float, config: IngestConfig) -> str | None:
    """The reason a track whose loudest envelope frame is ``peak_dbfs`` is refused, ``None`` if audible."""
    if not np.isfinite(peak_dbfs) or peak_dbfs < config.silence_peak_dbfs:
        return f"silent: loudest frame {peak_dbfs:.0f} dBFS (threshold {config.silence_peak_dbfs:g})"
    return None


def refusal(path: str | os.PathLike, config: IngestConfig | None = None) -> str | None:
    """Why ingest would not analyse ``path`` (decode errors raise :class:`AudioDecodeError`), or ``None``.

    Costs a header read and, for a long-enough file, one streamed envelope pass.
    """
    from dj_pipeline.audio import probe
    from dj_pipeline.config.windows import load_windows_config
    from dj_pipeline.windows.envelope import compute_envelope

    config = config or load_ingest_config()
    reason = too_short(probe(path).duration_s, config)
    if reason is not None:
        return reason
    env = compute_envelope(path, load_windows_config().envelope)
    return silent(float(env.rms_db.max()) if env.rms_db.size else -np.inf, config)
