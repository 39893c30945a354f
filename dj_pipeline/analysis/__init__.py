"""DSP analysis of a track's sampled windows: tempo, key, loudness/energy, low end, mixability.

Public API: :func:`analyze_segments` (the pipeline's entry point), :func:`analyze_file` (``dj
analyze`` and Python), :data:`FEATURE_COLUMNS` / :data:`FEATURES_SCHEMA` (the ``track_features``
columns), :func:`library_stats` and :func:`zscore` (library-wide scales), and the configuration
(:func:`load_analysis_config`, :data:`ANALYSIS_SR`, the rate the windows are decoded at).

The names load on first use (PEP 562): the process that orchestrates an ingest asks only for the
columns and the configuration, and would otherwise import the whole DSP stack (scipy.signal,
librosa, the key model: ~1.5 s) while its workers wait for their next stage.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dj_pipeline.analysis.core import analyze_file, analyze_segments
    from dj_pipeline.analysis.schema import FEATURE_COLUMNS, FEATURE_DTYPES, FEATURES_SCHEMA, features_frame
    from dj_pipeline.analysis.stats import library_stats, zscore
    from dj_pipeline.config.analysis import AnalysisConfig, load_analysis_config

_WHERE = {
    "analyze_file": "dj_pipeline.analysis.core",
    "analyze_segments": "dj_pipeline.analysis.core",
    "FEATURE_COLUMNS": "dj_pipeline.analysis.schema",
    "FEATURE_DTYPES": "dj_pipeline.analysis.schema",
    "FEATURES_SCHEMA": "dj_pipeline.analysis.schema",
    "features_frame": "dj_pipeline.analysis.schema",
    "library_stats": "dj_pipeline.analysis.stats",
    "zscore": "dj_pipeline.analysis.stats",
    "AnalysisConfig": "dj_pipeline.config.analysis",
    "load_analysis_config": "dj_pipeline.config.analysis",
}

__all__ = ["ANALYSIS_SR", *_WHERE]


def __getattr__(name: str) -> Any:
    if name == "ANALYSIS_SR":
        value: Any = importlib.import_module("dj_pipeline.config.analysis").load_analysis_config().sr
    elif name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
