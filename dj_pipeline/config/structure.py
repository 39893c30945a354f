"""Typed configuration of the structure layer (``structure.yaml``): grid, sections, labels, cues."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge


@dataclass(frozen=True)
class GridConfig:
    beats_per_bar: int = 4
    phrase_bars: tuple[int, ...] = (8, 16, 32)
    hypermeter_bars: int = 4
    refine_period_pct: float = 1.0
    refine_steps: int = 41
    refine_phase_beats: float = 0.125
    coarse_phase_beats: float = 0.5
    fit_window_bars: int = 4
    phase_steps: int = 16
    pulse_min_contrast: float = 1.3
    fit_tolerance_beats: float = 0.125
    fit_min_ratio: float = 0.75
    fit_min_share: float = 0.6
    min_bars: int = 8
    min_bpm_confidence: float = 0.05
    extend_beats: bool = True
    tempo_fallback: bool = True
    fallback_phase_beats: float = 0.5


@dataclass(frozen=True)
class SectionsConfig:
    novelty_half_width_bars: int = 4
    level_scale_db: float = 6.0
    onset_scale: float = 0.5
    min_novelty: float = 0.6
    min_section_bars: int = 8
    hypermeter_bonus: float = 1.25
    silence_db: float = -60.0
    min_audible_share: float = 0.1


@dataclass(frozen=True)
class LabelsConfig:
    high_level_db: float = -2.0
    low_present_db: float = -6.0
    breakdown_level_db: float = -4.0


@dataclass(frozen=True)
class CuesConfig:
    min_mix_bars: int = 8
    max_mix_bars: int = 32
    default_outro_bars: int = 32
    min_beat_share: float = 0.5


@dataclass(frozen=True)
class RekordboxCuesConfig:
    hot_cues: tuple[str, ...] = ("mix_in", "drop", "breakdown", "mix_out")
    memory_cues: tuple[str, ...] = ("mix_in", "drop", "breakdown", "mix_out", "end")
    colours: dict[str, tuple[int, int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class StructureConfig:
    grid: GridConfig = field(default_factory=GridConfig)
    sections: SectionsConfig = field(default_factory=SectionsConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    cues: CuesConfig = field(default_factory=CuesConfig)
    rekordbox: RekordboxCuesConfig = field(default_factory=RekordboxCuesConfig)


def load_structure_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> StructureConfig:
    """Load ``structure.yaml`` (or a user copy at ``path``) with optional overrides; validates it."""
    raw = merge(load_yaml("structure", path), overrides)
    cfg = from_dict(StructureConfig, raw)
    grid = GridConfig(**{**cfg.grid.__dict__, "phrase_bars": tuple(int(b) for b in cfg.grid.phrase_bars)})
    rb = cfg.rekordbox
    rekordbox = RekordboxCuesConfig(
        tuple(rb.hot_cues), tuple(rb.memory_cues), {k: tuple(int(c) for c in v) for k, v in (rb.colours or {}).items()}
    )
    if len(rekordbox.hot_cues) > 8:
        raise ValueError(f"rekordbox.hot_cues: at most 8 hot cues (A-H), got {len(rekordbox.hot_cues)}")
    if grid.beats_per_bar < 1 or grid.min_bars < 1 or not grid.phrase_bars:
        raise ValueError("grid: beats_per_bar, min_bars and phrase_bars must be positive")
    return StructureConfig(grid, cfg.sections, cfg.labels, cfg.cues, rekordbox)
