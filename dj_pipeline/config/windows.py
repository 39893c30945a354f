"""Typed configuration of the window sampler, loaded from ``windows.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge


@dataclass(frozen=True)
class EnvelopeConfig:
    sr: int = 11025
    hop_length: int = 512
    block_s: float = 60.0
    novelty_half_width_s: float = 4.0
    novelty_level_scale_db: float = 6.0
    novelty_min_prominence: float = 0.5
    strong_onset_quantile: float = 0.90
    min_rms_rel_db: float = -20.0
    low_band_max_hz: float = 150.0


@dataclass(frozen=True)
class SamplingProfile:
    main_s: float = 90.0
    main_search_start_s: float = 10.0
    tail_s: float = 30.0
    n_tails: int = 2
    tail_region_start_frac: float = 0.70
    tail_min_gap_s: float = 10.0
    force_last_s: float = 60.0
    adaptive_budgets_s: tuple[float, ...] = ()
    adaptive_peaks_per_min: tuple[float, ...] = ()

    @property
    def is_adaptive(self) -> bool:
        return bool(self.adaptive_budgets_s)

    @property
    def budget_s(self) -> float:
        return self.main_s + self.n_tails * self.tail_s


@dataclass(frozen=True)
class WindowsConfig:
    default_profile: str = "club_hifi_150s"
    intro_s: float = 30.0
    outro_s: float = 30.0
    mix_point_windows: bool = False
    min_mix_window_s: float = 10.0
    envelope: EnvelopeConfig = field(default_factory=EnvelopeConfig)
    profiles: dict[str, SamplingProfile] = field(default_factory=dict)

    def profile(self, name: str | None = None) -> tuple[str, SamplingProfile]:
        """The named profile (default when ``None``); unknown names raise ``ValueError``."""
        key = name or self.default_profile
        if key not in self.profiles:
            raise ValueError(f"unknown sampling profile {key!r}; known: {', '.join(sorted(self.profiles))}")
        return key, self.profiles[key]


def load_windows_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> WindowsConfig:
    """Load ``windows.yaml`` (or a user copy at ``path``) with optional overrides."""
    raw = merge(load_yaml("windows", path), overrides)
    profiles = {
        name: SamplingProfile(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})
        for name, spec in raw.pop("profiles", {}).items()
    }
    cfg = from_dict(WindowsConfig, raw)
    return replace(cfg, profiles=profiles)
