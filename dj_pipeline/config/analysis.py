"""Typed configuration of the DSP analysis (``analysis.yaml``): rates, tempo, key, loudness, proxies.

Every number the analysis uses comes from here, so a user can tune it with a copy of the YAML file
(``load_analysis_config(path)``) or a few overrides (``load_analysis_config(overrides={...})``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge


@dataclass(frozen=True)
class GuardsConfig:
    min_segment_s: float = 1.0
    max_segment_s: float = 300.0
    silence_dbfs: float = -60.0
    clip_level: float = 0.999
    clip_warn_share: float = 0.001
    dc_warn_level: float = 0.01


@dataclass(frozen=True)
class TempoConfig:
    min_bpm: float = 70.0
    max_bpm: float = 180.0
    search_min_bpm: float = 35.0
    search_max_bpm: float = 360.0
    grid_per_octave: int = 240
    comb_harmonics: int = 4
    prior_center_bpm: float = 125.0
    prior_sigma_octaves: float = 1.0
    density_per_beat: float = 2.0
    density_sigma_octaves: float = 0.6
    local_window_s: float = 12.0
    local_hop_s: float = 6.0
    local_search_pct: float = 8.0
    min_onset_frames: int = 8
    min_confidence: float = 0.01
    weak_confidence: float = 0.05
    beat_max_hz: float = 2000.0
    downbeat_low_hz: float = 150.0
    sound_start_db: float = -45.0
    downbeat_first_beat_bonus: float = 0.25
    bpm_range: str = "auto"
    genre_ranges: tuple[tuple[str, str], ...] = ()
    octave_comb_weight: float = 0.0
    octave_spectrum_weight: float = 0.0
    density_weight: float = 1.0
    ternary_comb_ratio: float = 1.35
    ternary_spectrum_ratio: float = 1.0
    ternary_search_pct: float = 2.0
    octave_model: str = "off"
    octave_model_min_bpm: float = 60.0
    octave_model_max_bpm: float = 200.0


@dataclass(frozen=True)
class TagsConfig:
    trust_tags: str = "when_unclear"
    bpm_tolerance_pct: float = 4.0
    unclear_bpm_confidence: float = 0.15
    unclear_key_clarity: float = 0.5


@dataclass(frozen=True)
class BeatsConfig:
    n_fft: int = 512
    hop_length: int = 128
    n_mels: int = 80
    fmin_hz: float = 30.0
    floor_db: float = -100.0
    low_max_hz: float = 150.0
    n_change_bands: int = 12
    change_decimation: int = 4
    block_s: float = 60.0
    tightness: float = 400.0
    trim: bool = True
    local_window_s: float = 8.0
    local_hop_s: float = 2.0
    local_search_pct: float = 6.0
    local_min_clarity: float = 0.1
    local_median_windows: int = 5
    offset_s: float = 0.0
    beats_per_bar: int = 4
    downbeat_reach_s: float = 0.05
    downbeat_low_weight: float = 1.0
    downbeat_onset_weight: float = -0.5
    downbeat_change_weight: float = 1.0
    downbeat_change_span_beats: int = 2
    downbeat_chroma_weight: float = 1.0
    downbeat_chroma_span_beats: int = 1
    chroma_compression: float = 100.0
    fallback_tempo: bool = True
    fallback_min_clarity: float = 0.02


@dataclass(frozen=True)
class KeyConfig:
    profile: str = "learned"
    n_fft: int = 8192
    hop_length: int = 2048
    fmin_hz: float = 55.0
    fmax_hz: float = 3520.0
    peak_only: bool = True
    salient_ratio: float = 2.0
    peak_context_hz: float = 40.0
    guard_salient_ratio: float = 4.0
    salient_only: bool = True
    min_salient_peaks_per_s: float = 0.3
    log_gamma: float = 100.0
    overtone_weight: float = 0.5
    tuning_min_hz: float = 100.0
    section_s: float = 15.0
    section_weight_power: float = 0.5
    vote_weight: float = 0.5
    clarity_scale: float = 0.06
    learned_clarity_scale: float = 0.72
    learned_vote_weight: float = 0.25
    min_chroma_peak_ratio: float = 1.05


@dataclass(frozen=True)
class LoudnessConfig:
    block_s: float = 0.4
    block_overlap: float = 0.75
    absolute_gate_lufs: float = -70.0
    relative_gate_lu: float = -10.0
    downmix_gain_db: float = 3.01


@dataclass(frozen=True)
class EnergyWeights:
    loudness: float = 0.2683
    brightness: float = 0.0956
    percussive: float = 0.0631
    onset: float = 0.2811
    density: float = 0.2918


@dataclass(frozen=True)
class EnergyConfig:
    lufs_ref: float = -14.0
    lufs_scale_lu: float = 6.0
    brightness_ref_hz: float = 1500.0
    percussive_ref: float = 0.4
    percussive_scale: float = 0.15
    onset_ref_per_s: float = 6.0
    min_onset_per_s: float = 0.25
    crest_ref_db: float = 14.0
    crest_scale_db: float = 3.0
    term_clip: float = 4.0
    weights: EnergyWeights = field(default_factory=EnergyWeights)
    center: float = -0.1181
    width: float = 0.2683
    levels: int = 10


@dataclass(frozen=True)
class BandsConfig:
    total_min_hz: float = 20.0
    sub: tuple[float, float] = (20.0, 60.0)
    bass: tuple[float, float] = (60.0, 150.0)
    lowmid: tuple[float, float] = (150.0, 400.0)


@dataclass(frozen=True)
class HpssConfig:
    harmonic_kernel_frames: int = 17
    percussive_kernel_bands: int = 9
    mask_power: float = 2.0


@dataclass(frozen=True)
class OnsetsConfig:
    min_gap_s: float = 0.05
    min_flux_db: float = 0.2
    threshold_std: float = 0.0
    local_mean_s: float = 0.25
    min_rel_local_max: float = 0.1
    local_max_s: float = 1.0


@dataclass(frozen=True)
class VocalConfig:
    band_hz: tuple[float, float] = (300.0, 3400.0)
    peaks_per_frame: int = 3
    peak_ratio: float = 10.0
    motion_cents: tuple[float, float] = (3.0, 60.0)
    max_level_step_db: float = 1.5
    motion_ref: float = 0.1


@dataclass(frozen=True)
class MixWeights:
    percussive: float = 0.6
    stability: float = 0.4


@dataclass(frozen=True)
class MixConfig:
    percussive_ref: float = 0.5
    rms_frame_s: float = 1.0
    rms_std_ref_db: float = 6.0
    weights: MixWeights = field(default_factory=MixWeights)


@dataclass(frozen=True)
class DanceWeights:
    pulse: float = 0.6
    percussive: float = 0.2
    tempo_fit: float = 0.2


@dataclass(frozen=True)
class DanceConfig:
    stability_ref_bpm: float = 2.0
    percussive_ref: float = 0.5
    center_bpm: float = 122.0
    sigma_octaves: float = 0.6
    weights: DanceWeights = field(default_factory=DanceWeights)


@dataclass(frozen=True)
class AnalysisConfig:
    sr: int = 11025
    n_fft: int = 2048
    hop_length: int = 256
    n_mels: int = 64
    mel_fmin_hz: float = 20.0
    onset_n_fft: int = 512
    onset_n_mels: int = 40
    onset_fmin_hz: float = 60.0
    track_windows: tuple[str, ...] = ("main", "tail_1", "tail_2", "tail_3", "tail_4")
    intro_window: str = "intro"
    outro_window: str = "outro"
    guards: GuardsConfig = field(default_factory=GuardsConfig)
    tempo: TempoConfig = field(default_factory=TempoConfig)
    beats: BeatsConfig = field(default_factory=BeatsConfig)
    tags: TagsConfig = field(default_factory=TagsConfig)
    key: KeyConfig = field(default_factory=KeyConfig)
    loudness: LoudnessConfig = field(default_factory=LoudnessConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    bands: BandsConfig = field(default_factory=BandsConfig)
    hpss: HpssConfig = field(default_factory=HpssConfig)
    onsets: OnsetsConfig = field(default_factory=OnsetsConfig)
    vocal: VocalConfig = field(default_factory=VocalConfig)
    mix: MixConfig = field(default_factory=MixConfig)
    dance: DanceConfig = field(default_factory=DanceConfig)
    zscore_columns: tuple[str, ...] = (
        "energy", "onset_density", "brightness", "vocal_presence", "percussive_ratio",
    )  # fmt: skip

    @property
    def frames_per_s(self) -> float:
        """Frame rate of the shared STFT (frames per second)."""
        return self.sr / self.hop_length


def _tuples(data: Any) -> Any:
    """YAML lists -> tuples, recursively, so configs stay immutable and hashable."""
    if isinstance(data, dict):
        return {k: _tuples(v) for k, v in data.items()}
    if isinstance(data, list):
        return tuple(_tuples(v) for v in data)
    return data


def load_analysis_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> AnalysisConfig:
    """Load ``analysis.yaml`` (or a user copy at ``path``) with optional deep-merged overrides."""
    cfg = from_dict(AnalysisConfig, _tuples(merge(load_yaml("analysis", path), overrides)))
    if cfg.sr <= 0 or cfg.hop_length <= 0 or cfg.n_fft < cfg.hop_length:
        raise ValueError("analysis config: need sr > 0 and n_fft >= hop_length > 0")
    e = cfg.energy
    if min(e.lufs_scale_lu, e.percussive_scale, e.crest_scale_db, e.width, e.brightness_ref_hz, e.onset_ref_per_s, e.min_onset_per_s) <= 0 or e.levels < 2:
        raise ValueError("analysis config: energy scales, references and width must be > 0 and levels >= 2")
    if not cfg.tempo.min_bpm < cfg.tempo.max_bpm or cfg.tempo.max_bpm < 2 * cfg.tempo.min_bpm * 0.999:
        raise ValueError("analysis config: tempo range must span an octave (max_bpm >= 2 * min_bpm)")
    if cfg.tempo.octave_model not in ("off", "learned"):
        raise ValueError(f"analysis config: tempo.octave_model must be off or learned, got {cfg.tempo.octave_model!r}")
    t = cfg.tempo
    if not (t.ternary_comb_ratio == 0 or t.ternary_comb_ratio > 1) or t.ternary_spectrum_ratio < 0 or t.ternary_search_pct <= 0:
        raise ValueError("analysis config: tempo.ternary_comb_ratio must be 0 (off) or > 1, ternary_spectrum_ratio >= 0, ternary_search_pct > 0")
    if cfg.tags.trust_tags not in ("never", "when_unclear", "always"):
        raise ValueError(f"analysis config: tags.trust_tags must be never, when_unclear or always, got {cfg.tags.trust_tags!r}")
    for rng in (cfg.tempo.bpm_range, *(r for _, r in cfg.tempo.genre_ranges)):
        if not re.fullmatch(r"auto|\d+(\.\d+)?\s*-\s*\d+(\.\d+)?", str(rng).strip().lower()):
            raise ValueError(f"analysis config: a bpm range must be 'auto' or 'LO-HI' (e.g. 88-175), got {rng!r}")
    return cfg


ANALYSIS_SR: int = AnalysisConfig().sr
