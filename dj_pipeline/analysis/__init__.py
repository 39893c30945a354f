"""DSP analysis of a track's sampled windows: tempo, key, loudness/energy, low end, mixability.

Public API: :func:`analyze_segments` (the pipeline's entry point), :func:`analyze_file` (``dj
analyze`` and Python), :data:`FEATURE_COLUMNS` / :data:`FEATURES_SCHEMA` (the ``track_features``
columns), :func:`library_stats` and :func:`zscore` (library-wide scales), and the configuration
(:func:`load_analysis_config`, :data:`ANALYSIS_SR`, the rate the windows are decoded at).
"""

from dj_pipeline.analysis.core import analyze_file, analyze_segments
from dj_pipeline.analysis.schema import FEATURE_COLUMNS, FEATURE_DTYPES, FEATURES_SCHEMA, features_frame
from dj_pipeline.analysis.stats import library_stats, zscore
from dj_pipeline.config.analysis import AnalysisConfig, load_analysis_config

ANALYSIS_SR: int = load_analysis_config().sr

__all__ = [
    "ANALYSIS_SR",
    "AnalysisConfig",
    "FEATURES_SCHEMA",
    "FEATURE_COLUMNS",
    "FEATURE_DTYPES",
    "analyze_file",
    "analyze_segments",
    "features_frame",
    "library_stats",
    "load_analysis_config",
    "zscore",
]
