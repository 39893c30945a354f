"""Next-track recommendation: filters, scoring, relaxation, sessions and trained recommenders.

The engine (:class:`RecommendationEngine`) is pure and in-memory; :mod:`dj_pipeline.query` loads
it from a data directory. Tunables live in ``dj_pipeline/config/recommend.yaml``.
"""

from dj_pipeline.recommend.engine import CurrentTrack, RecommendationEngine
from dj_pipeline.recommend.errors import EmptyLibraryError, RecommendError, UnknownTrackError
from dj_pipeline.recommend.filters import bpm_compatible, bpm_match, key_compatible
from dj_pipeline.recommend.models import FitStatus, SimilarityBundle, TransitionRanker
from dj_pipeline.recommend.output import format_table, m3u8_text, results_to_json, write_m3u8
from dj_pipeline.recommend.pairs import PAIR_FEATURES, pair_features
from dj_pipeline.recommend.plan import SetPlan, parse_set_plan
from dj_pipeline.recommend.training import fit_similarity_model, train_transition_ranker
from dj_pipeline.recommend.vectors import ArrayIndex, VectorTable

__all__ = [
    "PAIR_FEATURES",
    "ArrayIndex",
    "CurrentTrack",
    "EmptyLibraryError",
    "FitStatus",
    "RecommendError",
    "RecommendationEngine",
    "SetPlan",
    "SimilarityBundle",
    "TransitionRanker",
    "UnknownTrackError",
    "VectorTable",
    "bpm_compatible",
    "bpm_match",
    "fit_similarity_model",
    "format_table",
    "key_compatible",
    "m3u8_text",
    "pair_features",
    "parse_set_plan",
    "results_to_json",
    "train_transition_ranker",
    "write_m3u8",
]
