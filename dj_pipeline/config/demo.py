"""Typed configuration of the demo library generator, loaded from ``demo.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge


@dataclass(frozen=True)
class StyleConfig:
    """One musical style: tempo range, patterns, harmony and loudness design."""

    genre: str
    bpm: tuple[float, float]
    minor_share: float
    energy: tuple[float, float]
    drums: dict[str, str]
    dense_hat: str
    bass: str
    chords: dict[str, str]
    lead: dict[str, Any]
    progressions: dict[str, list[str]]
    sidechain: bool = False
    swing: dict[str, float] = field(default_factory=dict)
    layer_scale: dict[str, float] = field(default_factory=dict)

    def modes(self) -> tuple[str, ...]:
        """The modes this style has progressions for."""
        return tuple(m for m in ("major", "minor") if self.progressions.get(m))


@dataclass(frozen=True)
class SectionConfig:
    name: str
    weight: float
    layers: dict[str, Any]


@dataclass(frozen=True)
class ArrangementConfig:
    phrase_bars: int
    sections: tuple[SectionConfig, ...]


@dataclass(frozen=True)
class HumanizeConfig:
    timing_jitter_ms: float
    velocity_jitter: float
    velocities: dict[str, float]


@dataclass(frozen=True)
class MixConfig:
    target_rms_db: tuple[float, float]
    ceiling: float
    sidechain_depth: float
    sidechain_release_s: float
    tail_s: float
    pan: dict[str, float]
    haas_ms: float
    layer_gain: dict[str, float]
    registers: dict[str, int]
    kick_tune_midi: int
    crash_sections: tuple[str, ...]
    riser_max_bars: int
    dense_hat_energy: float


@dataclass(frozen=True)
class LibraryConfig:
    style_order: tuple[str, ...]
    duration_s: tuple[float, float]
    min_duration_s: float
    formats: tuple[tuple[str, int, int], ...]
    mp3_compression_level: float
    album: str
    artist_words: tuple[str, ...]
    artist_suffixes: tuple[str, ...]
    title_words: tuple[str, ...]


@dataclass(frozen=True)
class OneshotConfig:
    order: tuple[str, ...]
    sample_rates: tuple[int, ...]
    drum_class: dict[str, str]
    role: dict[str, str]


@dataclass(frozen=True)
class BadFilesConfig:
    sample_rate: int
    silent_s: float
    short_s: float
    good_s: float


@dataclass(frozen=True)
class DemoConfig:
    library: LibraryConfig
    arrangement: ArrangementConfig
    humanize: HumanizeConfig
    mix: MixConfig
    styles: dict[str, StyleConfig]
    oneshots: OneshotConfig
    bad_files: BadFilesConfig


def _tuples(mapping: dict[str, Any]) -> dict[str, Any]:
    """YAML lists become tuples (hashable, immutable) except lists of strings kept for progressions."""
    return {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v for k, v in mapping.items()}


def load_demo_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> DemoConfig:
    """Load ``demo.yaml`` (or a user copy at ``path``) with optional overrides; validates styles."""
    raw = merge(load_yaml("demo", path), overrides)
    styles = {name: from_dict(StyleConfig, _style_fields(spec)) for name, spec in raw["styles"].items()}
    for name, style in styles.items():
        if not style.modes():
            raise ValueError(f"style {name!r} has no progressions")
    arr = raw["arrangement"]
    arrangement = ArrangementConfig(int(arr["phrase_bars"]), tuple(from_dict(SectionConfig, s) for s in arr["sections"]))
    library = from_dict(LibraryConfig, _tuples(raw["library"]))
    unknown = set(library.style_order) - set(styles)
    if unknown:
        raise ValueError(f"library.style_order names unknown style(s): {', '.join(sorted(unknown))}")
    return DemoConfig(
        library=library,
        arrangement=arrangement,
        humanize=from_dict(HumanizeConfig, raw["humanize"]),
        mix=from_dict(MixConfig, _tuples(raw["mix"])),
        styles=styles,
        oneshots=from_dict(OneshotConfig, _tuples(raw["oneshots"])),
        bad_files=from_dict(BadFilesConfig, raw["bad_files"]),
    )


def _style_fields(spec: dict[str, Any]) -> dict[str, Any]:
    out = dict(spec)
    out["bpm"] = tuple(spec["bpm"])
    out["energy"] = tuple(spec["energy"])
    return out
