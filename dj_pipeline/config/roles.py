"""Typed configuration of the drum-role assigner, loaded from ``roles.yaml`` (issue 6).

Every threshold, weight, prompt and pool size of ``dj_pipeline.roles`` lives in that one YAML file;
this module turns it into frozen dataclasses and checks that the role names it uses are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge

ROLES: tuple[str, ...] = ("CORE", "ACCENT", "MOTION", "FILL", "TEXTURE")


@dataclass(frozen=True)
class PreprocessConfig:
    rule_sr: int = 16000
    clap_sr: int = 48000
    max_duration_s: float = 2.0
    read_duration_s: float = 8.0
    active_db: float = 30.0
    trim_top_db: float = 50.0
    trim_frame_s: float = 0.002
    silence_dbfs: float = -70.0
    max_oneshot_duration_s: float = 12.0


@dataclass(frozen=True)
class FeaturesConfig:
    n_fft: int = 1024
    hop_length: int = 128
    envelope_frame_s: float = 0.001
    envelope_smooth_s: float = 0.005
    flux_n_fft: int = 256
    flux_hop_length: int = 64
    flux_ref: float = 0.5
    onset_rel: float = 0.1
    attack_rel: float = 0.9
    decay_rel: float = 0.3
    length_rel: float = 0.05
    attack_floor_s: float = 0.001
    attack_ceil_s: float = 0.2
    decay_floor_s: float = 0.01
    decay_ceil_s: float = 2.0
    energy_scale: float = 1.0
    low_hz: tuple[float, float] = (20.0, 150.0)
    mid_hz: tuple[float, float] = (150.0, 2000.0)
    high_hz: tuple[float, float] = (2000.0, 8000.0)
    sub_hz: float = 80.0
    flatness_power: float = 0.5
    zcr_gate_rel: float = 0.01
    zcr_max: float = 0.5
    tonal_peak_bins: int = 5
    pitch_track_db: float = 30.0
    pitch_drop_octaves: float = 2.0
    duration_floor_s: float = 0.02
    duration_ceil_s: float = 8.0
    burst_smooth_s: float = 0.005
    burst_scale_db: float = 20.0
    sweep_scale_octaves: float = 1.0
    shape_floor_db: float = 40.0
    sustain_db: float = 12.0
    pitch_floor_hz: float = 30.0
    pitch_ceil_hz: float = 6000.0


@dataclass(frozen=True)
class TexturePenalty:
    """Rule-level penalty on TEXTURE for sharp, short sounds: amount * sharp_part * short_part."""

    amount: float = 2.0
    sharpness_from: float = 0.5
    duration_below: float = 0.4


@dataclass(frozen=True)
class RulesConfig:
    temperature: float = 1.0
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    texture_penalty: TexturePenalty = field(default_factory=TexturePenalty)


@dataclass(frozen=True)
class ClapConfig:
    tau: float = 0.05
    prompts: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class FusionConfig:
    alpha: float = 0.9
    alpha_without_clap: float = 1.0
    role_bias: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TextureSuppress:
    enabled: bool = True
    sharpness_min: float = 0.9
    duration_max: float = 0.15
    factor: float = 0.3


@dataclass(frozen=True)
class SustainedNoiseSuppress:
    enabled: bool = True
    flatness_min: float = 0.3
    duration_min: float = 0.6
    temporal_centroid_min: float = 0.4
    decay_fit_max: float = 0.3
    roles: tuple[str, ...] = ("ACCENT", "MOTION")
    factor: float = 0.05


@dataclass(frozen=True)
class MotionMinimum:
    enabled: bool = True
    high_ratio_min: float = 0.2
    zcr_min: float = 0.3
    factor: float = 0.1


@dataclass(frozen=True)
class ConservativeFill:
    enabled: bool = True
    min_prob: float = 0.4
    min_margin: float = 0.05
    demote_ratio: float = 0.9


@dataclass(frozen=True)
class LowConfidenceTexture:
    enabled: bool = True
    margin_max: float = 0.03
    factor: float = 0.5


@dataclass(frozen=True)
class GuardsConfig:
    texture_suppress: TextureSuppress = field(default_factory=TextureSuppress)
    sustained_noise_suppress: SustainedNoiseSuppress = field(default_factory=SustainedNoiseSuppress)
    motion_minimum: MotionMinimum = field(default_factory=MotionMinimum)
    conservative_fill: ConservativeFill = field(default_factory=ConservativeFill)
    low_confidence_texture: LowConfidenceTexture = field(default_factory=LowConfidenceTexture)


@dataclass(frozen=True)
class PoolsConfig:
    required: tuple[str, ...] = ("CORE", "ACCENT", "MOTION")
    max_size: dict[str, int | None] = field(default_factory=dict)
    rebalance_margin: float = 0.15


@dataclass(frozen=True)
class ProfileConfig:
    sr: int = 16000
    max_duration_s: float = 120.0
    hop_length: int = 256
    min_gap_s: float = 0.05
    max_slice_s: float = 0.15
    min_slice_s: float = 0.03
    onset_delta: float = 0.03
    pre_roll_s: float = 0.02
    trim_top_db: float = 20.0
    max_slices: int = 400


@dataclass(frozen=True)
class TuningConfig:
    l2_c: float = 30.0
    by_family: bool = True
    balanced: bool = True
    max_iter: int = 5000
    decimals: int = 2
    folds: int = 5
    seed: int = 0


@dataclass(frozen=True)
class RolesConfig:
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    clap: ClapConfig = field(default_factory=ClapConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    guards: GuardsConfig = field(default_factory=GuardsConfig)
    pools: PoolsConfig = field(default_factory=PoolsConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    low_confidence: float = 0.1


def _tuples(value: Any) -> Any:
    """YAML lists -> tuples, recursively, so the frozen dataclasses stay immutable."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _check_roles(cfg: RolesConfig) -> None:
    named = {
        "rules.weights": {rule.split("/", 1)[0] for rule in cfg.rules.weights}, "clap.prompts": set(cfg.clap.prompts),
        "fusion.role_bias": set(cfg.fusion.role_bias), "pools.max_size": set(cfg.pools.max_size),
        "pools.required": set(cfg.pools.required),
        "guards.sustained_noise_suppress.roles": set(cfg.guards.sustained_noise_suppress.roles),
    }
    for where, names in named.items():
        unknown = names - set(ROLES)
        if unknown:
            raise ValueError(f"roles.yaml {where}: unknown role(s) {', '.join(sorted(unknown))}; known: {', '.join(ROLES)}")
    from dj_pipeline.roles.features import FEATURE_NAMES  # noqa: PLC0415 - the features module imports this one

    for role, weights in cfg.rules.weights.items():
        bad = set(weights) - set(FEATURE_NAMES) - {"bias"}
        if bad:
            raise ValueError(f"roles.yaml rules.weights.{role}: unknown feature(s) {', '.join(sorted(bad))}")
    missing = set(ROLES) - {rule.split("/", 1)[0] for rule in cfg.rules.weights}
    if missing:
        raise ValueError(f"roles.yaml rules.weights: no weights for {', '.join(sorted(missing))}")
    if not 0.0 <= cfg.fusion.alpha <= 1.0 or cfg.clap.tau <= 0 or cfg.rules.temperature <= 0:
        raise ValueError("roles.yaml: fusion.alpha must be in [0, 1]; clap.tau and rules.temperature > 0")


def load_roles_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RolesConfig:
    """Load ``roles.yaml`` (or a user copy at ``path``) with optional deep-merged ``overrides``."""
    raw = _tuples(merge(load_yaml("roles", path), overrides))
    raw["rules"] = {**raw.get("rules", {}), "weights": {r: dict(w) for r, w in raw.get("rules", {}).get("weights", {}).items()}}
    cfg = from_dict(RolesConfig, raw)
    _check_roles(cfg)
    return cfg
