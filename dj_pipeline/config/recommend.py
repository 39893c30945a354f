"""Typed configuration of next-track recommendation, loaded from ``recommend.yaml``."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge


@dataclass(frozen=True)
class BpmConfig:
    tolerance_bpm: float = 4.0
    tolerance_pct: float = 6.0
    half_double: bool = True
    # a half/double-time move only where the faster track's tempo lies in this band (D&B <-> half-time
    # hip-hop); an empty band allows it at any tempo (``--half-double``: when the DJ asks for it)
    half_double_band_bpm: tuple[float, ...] = (155.0, 185.0)


@dataclass(frozen=True)
class KeyConfig:
    min_clarity: float = 0.5
    max_distance: int = 1
    energy_boost: bool = False
    boost_steps: tuple[int, ...] = (2, 7)
    distance_scores: tuple[float, ...] = (1.0, 0.8, 0.35, 0.15)
    boost_score: float = 0.6
    neutral_score: float = 0.5


@dataclass(frozen=True)
class RelaxStep:
    """One relaxation step: which hard filters it drops or widens (cumulative with earlier steps)."""

    name: str
    drop_key: bool = False
    bpm_tolerance_scale: float = 1.0
    drop_bpm: bool = False


@dataclass(frozen=True)
class GoalSpec:
    energy_delta: float = 0.0
    hype_sign: float = 0.0
    energy_width_z: float | None = None  # overrides scoring.energy_width_z for this goal
    weights: dict[str, float] = field(default_factory=dict)  # overrides of the re-ranking weights for this goal
    direction: int = 0  # +1 up / -1 down: the energy must move this way; 0: stay within maintain_levels
    bpm_direction: int = 0  # -1 (down): the tempo may not rise beyond the BPM tolerance, and preferably not at all
    energy_shape: str = "target"  # "target": closeness to energy_delta; "max": the higher the better (peak)


@dataclass(frozen=True)
class EnergyConfig:
    """Energy levels and the direction rules of the goals (:mod:`dj_pipeline.recommend.energy`)."""

    levels: int = 10
    column: str = "energy_level"  # the analysis' calibrated level, used when track_features has it
    min_step_z: float = 0.1  # up/down: the goal energy must move at least this much (library z)
    maintain_levels: int = 1  # maintain: within this many levels


@dataclass(frozen=True)
class RulesConfig:
    """DJ rules applied with the hard filters (a pick that breaks one is marked and ranked after)."""

    artist_window: int = 1  # no track by an artist among the last N played (the current included); 0: off
    stay_in_style: bool = False  # only tracks of the current track's style (genre tag, else style neighbours)
    style_neighbors: int = 10  # "same style" without genre tags: among the current track's N nearest style vectors
    min_style_cosine: float = 0.9  # ... or a style-vector cosine at least this


@dataclass(frozen=True)
class MatchConfig:
    """The 0-100 match score shown to the DJ (:mod:`dj_pipeline.recommend.explain`)."""

    penalty_per_rule: float = 15.0  # points off for each broken filter, rule or missed goal
    reasons: int = 3  # reasons in words per pick


@dataclass(frozen=True)
class Weights:
    similarity: float = 1.0
    style: float = 0.0
    tempo: float = 0.0
    energy_goal: float = 1.0
    low_end: float = 0.5
    mixability: float = 0.3
    key: float = 0.6
    hype: float = 0.4
    diversity: float = 0.5
    variation: float = 0.2
    learned: float = 0.8
    mix_length: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    def with_overrides(self, overrides: dict[str, float]) -> Weights:
        """These weights with some replaced (unknown names raise ``ValueError``)."""
        unknown = set(overrides) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown weight(s) {', '.join(sorted(unknown))}; known: {', '.join(self.as_dict())}")
        return replace(self, **{k: float(v) for k, v in overrides.items()})


@dataclass(frozen=True)
class ScoringConfig:
    energy_width_z: float = 0.5
    tempo_width_pct: float = 3.0
    half_double_score: float = 0.5
    low_end_columns: tuple[str, ...] = ("sub", "bass", "lowmid")
    low_end_width_z: float = 1.5
    hype_columns: dict[str, float] = field(default_factory=lambda: {"energy": 1.0, "onset_density": 1.0, "percussive_ratio": 1.0})
    energy_columns: dict[str, float] = field(default_factory=lambda: {"energy": 1.0})
    hype_scale_z: float = 1.5
    diversity_last_n: int = 8
    diversity_floor: float = 0.0
    variation_columns: tuple[str, ...] = ("vocal_presence", "brightness", "bass")
    variation_target_z: float = 0.5
    variation_width_z: float = 0.75


@dataclass(frozen=True)
class PlanPhase:
    name: str
    goal: str
    minutes: float | None = None


@dataclass(frozen=True)
class SessionConfig:
    default_name: str = "default"
    feedback_file: str = "feedback.jsonl"


@dataclass(frozen=True)
class RankerConfig:
    min_feedback: int = 20
    min_negatives: int = 20
    iterations: int = 300
    depth: int = 4
    learning_rate: float = 0.08
    random_seed: int = 0
    file: str = "transition_ranker.cbm"
    min_played_s: float = 30.0  # a pick played for less than this counts as skipped
    state_file: str = "transition_ranker.state.json"  # the feedback the ranker last saw (retrain when it grows)


@dataclass(frozen=True)
class SimilarityConfig:
    feature_columns: tuple[str, ...] = ()
    n_neighbors: int = 10
    file: str = "similarity_model.joblib"


@dataclass(frozen=True)
class RecommendConfig:
    candidate_k: int = 200
    min_strict_candidates: int = 50
    top_k: int = 10
    bpm: BpmConfig = field(default_factory=BpmConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    key: KeyConfig = field(default_factory=KeyConfig)
    relaxation: tuple[RelaxStep, ...] = ()
    goals: dict[str, GoalSpec] = field(default_factory=dict)
    default_goal: str = "maintain"
    weights: Weights = field(default_factory=Weights)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    plans: dict[str, tuple[PlanPhase, ...]] = field(default_factory=dict)
    phase_goals: dict[str, str] = field(default_factory=dict)
    default_track_minutes: float = 6.0
    default_phase_minutes: float = 30.0
    session: SessionConfig = field(default_factory=SessionConfig)
    ranker: RankerConfig = field(default_factory=RankerConfig)
    similarity: SimilarityConfig = field(default_factory=SimilarityConfig)

    def goal(self, name: str) -> GoalSpec:
        """The named energy goal; unknown names raise ``ValueError`` listing the known ones."""
        if name not in self.goals:
            raise ValueError(f"unknown goal {name!r}; known: {', '.join(self.goals)}")
        return self.goals[name]

    def weights_for(self, goal: str) -> Weights:
        """The re-ranking weights with the goal's own overrides applied."""
        return self.weights.with_overrides(self.goal(goal).weights)


def _tuples(mapping: dict[str, Any]) -> dict[str, Any]:
    """YAML lists -> tuples, so the frozen dataclasses stay hashable and immutable."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in mapping.items()}


# options an older recommend.yaml may still set: (section, key) -> what replaced it
RETIRED_OPTIONS: dict[tuple[str, str], str] = {
    ("scoring", "style_expansion_k"): "the style index (index.style in embeddings.yaml) replaced the per-query neighbourhood",
}


def _drop_retired(raw: dict[str, Any]) -> None:
    """Remove retired options with a warning instead of refusing the whole file."""
    for (section, key), why in RETIRED_OPTIONS.items():
        part = raw.get(section)
        if isinstance(part, dict) and key in part:
            part.pop(key)
            warnings.warn(f"recommend config: {section}.{key} is no longer used ({why}); remove it", DeprecationWarning, stacklevel=3)


def load_recommend_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RecommendConfig:
    """Load ``recommend.yaml`` (or a user copy at ``path``) with optional overrides."""
    raw = merge(load_yaml("recommend", path), overrides)
    _drop_retired(raw)
    relaxation = tuple(RelaxStep(**step) for step in raw.pop("relaxation", []))
    goals = {name: GoalSpec(**spec) for name, spec in raw.pop("goals", {}).items()}
    plans = {name: tuple(PlanPhase(**p) for p in phases) for name, phases in raw.pop("plans", {}).items()}
    nested = {
        "bpm": BpmConfig,
        "energy": EnergyConfig,
        "rules": RulesConfig,
        "match": MatchConfig,
        "key": KeyConfig,
        "weights": Weights,
        "scoring": ScoringConfig,
        "session": SessionConfig,
        "ranker": RankerConfig,
        "similarity": SimilarityConfig,
    }
    parts = {name: from_dict(cls, _tuples(raw.pop(name, {}))) for name, cls in nested.items()}
    cfg = from_dict(RecommendConfig, {**raw, **parts, "relaxation": relaxation, "goals": goals, "plans": plans})
    if cfg.default_goal not in cfg.goals:
        raise ValueError(f"default_goal {cfg.default_goal!r} is not one of the goals: {', '.join(cfg.goals)}")
    unknown = {p.goal for phases in cfg.plans.values() for p in phases} | set(cfg.phase_goals.values())
    unknown -= set(cfg.goals)
    if unknown:
        raise ValueError(f"set plans use unknown goal(s): {', '.join(sorted(unknown))}")
    for name, spec in cfg.goals.items():
        if spec.energy_shape not in ("target", "max") or spec.direction not in (-1, 0, 1) or spec.bpm_direction not in (-1, 0, 1):
            raise ValueError(f"goal {name!r}: energy_shape is target|max, direction and bpm_direction are -1, 0 or 1")
        cfg.weights_for(name)  # an unknown weight name in a goal fails at load, not mid-set
    return cfg
