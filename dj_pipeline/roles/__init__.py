"""Drum role pools (issue 6): assign CORE / ACCENT / MOTION / FILL / TEXTURE to one-shot samples.

Pipeline per sample: ``preprocess_oneshot`` (mono, 16 kHz / 48 kHz, trimmed, peak-normalised,
<= 2 s) -> ``oneshot_features`` (all in [0, 1]) -> ``rule_probabilities`` (weighted linear scores,
softmax) and optionally ``clap_probabilities`` (zero-shot, prompts in ``roles.yaml``) -> fusion ->
guard rails -> role and top-2-margin confidence. ``build_pools`` turns the per-sample table into
size-limited pools; ``track_drum_profile`` runs the same assigner on a track's drum hits.
All parameters come from ``dj_pipeline/config/roles.yaml`` (``load_roles_config``).
"""

from dj_pipeline.config.roles import ROLES, RolesConfig, load_roles_config
from dj_pipeline.roles.assign import ROLE_COLUMNS, assign_folder, assign_roles, sample_id, score_clips
from dj_pipeline.roles.clap_scores import clap_probabilities, fuse
from dj_pipeline.roles.features import FEATURE_NAMES, oneshot_features
from dj_pipeline.roles.guards import apply_guards, role_allowed
from dj_pipeline.roles.pools import POOL_COLUMNS, build_pools
from dj_pipeline.roles.preprocess import OneShot, load_oneshot, preprocess_oneshot
from dj_pipeline.roles.profile import track_drum_profile
from dj_pipeline.roles.rules import rule_probabilities

__all__ = [
    "FEATURE_NAMES", "POOL_COLUMNS", "ROLES", "ROLE_COLUMNS", "OneShot", "RolesConfig", "apply_guards", "assign_folder",
    "assign_roles", "build_pools", "clap_probabilities", "fuse", "load_oneshot", "load_roles_config", "oneshot_features",
    "preprocess_oneshot", "role_allowed", "rule_probabilities", "sample_id", "score_clips", "track_drum_profile",
]
