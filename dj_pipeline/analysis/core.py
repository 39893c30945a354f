"""One code path for the pipeline and ``dj analyze``: windows in, one flat row of features out.

``analyze_segments`` takes the decoded windows of a track (``main`` and ``tail_*`` are the sampled
windows the track-level features come from; ``intro`` and ``outro`` give the mixability and the
energy curve) and returns every ``track_features`` column. Each window is cleaned (finite, mono,
DC removed, resampled to the analysis rate once if needed, centre-cropped to a bounded length),
transformed once (:func:`compute_spectra`), and every feature reads that shared transform.

Bad input never raises: silence, a pure tone, noise, a 3-second file, clipping, DC offset or an
odd sample rate give finite values, or ``None`` with the reason in ``analysis_warnings``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from dj_pipeline.analysis.frontend import EPS, Spectra, compute_spectra
from dj_pipeline.analysis.key import estimate_key
from dj_pipeline.analysis.energy import energy_level, energy_score
from dj_pipeline.analysis.loudness import crest_db, loudness_of
from dj_pipeline.analysis.mixability import danceability, mix_score
from dj_pipeline.analysis.schema import FEATURE_COLUMNS, clean_row
from dj_pipeline.analysis.spectral import band_shares, brightness_hz, onset_density, percussive_ratio, vocal_presence
from dj_pipeline.analysis.beatgrid import first_downbeat_s
from dj_pipeline.analysis.tags import apply_tags
from dj_pipeline.analysis.tempo import bpm_range_for, estimate_tempo
from dj_pipeline.audio import resample
from dj_pipeline.config.analysis import AnalysisConfig, load_analysis_config


def prepare_segment(y: Any, sr: int, name: str, cfg: AnalysisConfig, warnings: list[str]) -> np.ndarray | None:
    """A window as clean mono float32 at ``cfg.sr``, or ``None`` (with a warning) when unusable."""
    x = np.asarray(y, dtype=np.float32)
    if x.ndim == 2:  # (channels, n) or (n, channels): average the shorter axis
        x = x.mean(axis=0 if x.shape[0] <= x.shape[1] else 1).astype(np.float32)
    if x.ndim != 1:
        warnings.append(f"{name}: not a 1-D or 2-D signal, ignored")
        return None
    if not np.all(np.isfinite(x)):
        warnings.append(f"{name}: non-finite samples replaced by 0")
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if x.size < cfg.guards.min_segment_s * sr:
        warnings.append(f"{name}: shorter than {cfg.guards.min_segment_s:g} s, ignored")
        return None
    max_n = int(cfg.guards.max_segment_s * sr)
    if x.size > max_n:
        start = (x.size - max_n) // 2
        x = x[start : start + max_n]
        warnings.append(f"{name}: longer than {cfg.guards.max_segment_s:g} s, centre {cfg.guards.max_segment_s:g} s analysed")
    clipped = float(np.mean(np.abs(x) >= cfg.guards.clip_level))
    if clipped > cfg.guards.clip_warn_share:
        warnings.append(f"{name}: clipping ({100 * clipped:.1f} % of samples at full scale)")
    dc = float(x.mean())
    if abs(dc) > cfg.guards.dc_warn_level:
        warnings.append(f"{name}: DC offset {dc:+.3f} removed")
    x = x - np.float32(dc)
    if sr != cfg.sr:
        x = resample(x, sr, cfg.sr)
    return x


def _rms_dbfs(ys: list[np.ndarray]) -> float:
    n = sum(y.size for y in ys)
    if n == 0:
        return -np.inf
    ms = sum(float(np.dot(y.astype(np.float64), y)) for y in ys) / n
    return 10.0 * np.log10(ms) if ms > EPS * EPS else -np.inf


def _segment_energy(spec: Spectra | None, cfg: AnalysisConfig) -> float | None:
    """Energy 0..1 of one window (for the intro/main/outro curve)."""
    if spec is None:
        return None
    return energy_score(
        loudness_of([spec.y], spec.sr, cfg.loudness), onset_density([spec], cfg.onsets),
        brightness_hz([spec]), percussive_ratio([spec]), crest_db([spec.y]), cfg.energy,
    )  # fmt: skip


@contextmanager
def _stage(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    """Add the CPU seconds of the block to ``timings[name]`` (no-op without ``timings``)."""
    if timings is None:
        yield
        return
    t0 = time.process_time()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.process_time() - t0


def analyze_segments(
    segments: Mapping[str, np.ndarray],
    sr: int,
    duration_s: float,
    config: AnalysisConfig | None = None,
    timings: dict[str, float] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Features of a track from its decoded windows (see the module docstring).

    ``segments``: window name -> mono float audio at ``sr`` (any subset of intro, outro, main,
    tail_1, tail_2, ...). ``duration_s``: the full track's length (used for warnings only).
    ``timings``: when given, CPU seconds per stage are added to it (prepare, spectra, tempo,
    beatgrid, key, loudness, spectral, mix).
    ``tags``: the file's own ``genre``, ``tag_bpm`` and ``tag_key`` (catalog columns), weighed
    against the analysis by :func:`dj_pipeline.analysis.tags.apply_tags` (``tag_conflict``).
    Returns a dict with every column of :data:`FEATURE_COLUMNS`, ``None`` where not measurable.
    """
    cfg = config or load_analysis_config()
    warnings: list[str] = []
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, got {sr}")
    with _stage(timings, "prepare"):
        clean = {n: y for n, y in ((n, prepare_segment(y, sr, n, cfg, warnings)) for n, y in segments.items()) if y is not None}
    track_names = [n for n in clean if n in cfg.track_windows]
    if not track_names and clean:
        track_names = list(clean)
        warnings.append(f"no sampled windows ({', '.join(cfg.track_windows[:2])}...): used {', '.join(track_names)}")
    values: dict[str, Any] = {"analysis_sr": cfg.sr, "analysed_s": 0.0}
    if not track_names:
        warnings.append("no usable audio" + (f" (track is {duration_s:.1f} s)" if duration_s else ""))
        return _finish(values, warnings)
    track_y = [clean[n] for n in track_names]
    values["analysed_s"] = round(sum(y.size for y in track_y) / cfg.sr, 3)
    level = _rms_dbfs(track_y)
    if level < cfg.guards.silence_dbfs:
        warnings.append(f"silent: RMS {level:.0f} dBFS is below {cfg.guards.silence_dbfs:g} dBFS")
        values.update(energy=0.0, energy_level=energy_level(0.0, cfg.energy.levels), onset_density=0.0)
        return _finish(values, warnings)

    with _stage(timings, "spectra"):
        spectra = {n: compute_spectra(y, cfg.sr, cfg) for n, y in clean.items()}
    track = [spectra[n] for n in track_names]
    with _stage(timings, "tempo"):
        values["onset_density"] = onset_density(track, cfg.onsets)
        values.update(_tempo_features(track, values["onset_density"], cfg, warnings, (tags or {}).get("genre")))
    with _stage(timings, "beatgrid"):
        values["first_downbeat_s"] = _downbeat(values.get("bpm"), spectra.get(cfg.intro_window), cfg, warnings)
    with _stage(timings, "key"):
        values.update(_key_features(track_y, cfg, warnings))
        apply_tags(values, tags, cfg.tags, warnings)
    with _stage(timings, "loudness"):
        values.update(_loudness_features(track_y, cfg, warnings))
    with _stage(timings, "spectral"):
        values.update(_spectral_features(track, spectra, values.get("loudness_lufs"), values.get("crest_db"), cfg))
    with _stage(timings, "mix"):
        values["danceability"] = danceability(
            values.get("bpm"), values.get("bpm_confidence") or 0.0, values.get("bpm_std"), values.get("percussive_ratio"), cfg.dance
        )
        for name, col in ((cfg.intro_window, "intro_mix"), (cfg.outro_window, "outro_mix")):
            values[col] = mix_score(spectra[name], cfg.mix) if name in spectra else None
            if name not in spectra:
                warnings.append(f"no {name} window: {col} NULL")
    return _finish(values, warnings)


def _tempo_features(
    track: list[Spectra], onset_rate_per_s: float, cfg: AnalysisConfig, warnings: list[str], genre: str | None = None
) -> dict[str, Any]:
    tempo = estimate_tempo(track, cfg.tempo, onset_rate_per_s, cfg.onsets.min_flux_db, bpm_range_for(genre, cfg.tempo))
    if tempo.reason:
        warnings.append(tempo.reason)
    return {"bpm": tempo.bpm, "bpm_confidence": tempo.confidence, "bpm_std": tempo.bpm_std}


def _downbeat(bpm: float | None, intro: Spectra | None, cfg: AnalysisConfig, warnings: list[str]) -> float | None:
    if bpm is None:
        return None
    if intro is None:
        warnings.append(f"no {cfg.intro_window} window: first_downbeat_s NULL")
        return None
    t = first_downbeat_s(intro, bpm, cfg.tempo)
    if t is None:
        warnings.append("first downbeat not found in the intro")
    return t


def _key_features(track_y: list[np.ndarray], cfg: AnalysisConfig, warnings: list[str]) -> dict[str, Any]:
    key = estimate_key(track_y, cfg.sr, cfg.key)
    if key.reason:
        warnings.append(key.reason)
    return {
        "key": key.name, "key_root": key.root, "key_mode": key.mode, "key_clarity": key.clarity,
        "key_consensus": key.consensus, "camelot": key.camelot, "tuning_cents": key.tuning_cents,
    }  # fmt: skip


def _loudness_features(track_y: list[np.ndarray], cfg: AnalysisConfig, warnings: list[str]) -> dict[str, Any]:
    lufs = loudness_of(track_y, cfg.sr, cfg.loudness)
    if lufs is None:
        warnings.append("loudness: every block below the absolute gate (or shorter than one block)")
    return {"loudness_lufs": lufs, "crest_db": crest_db(track_y)}


def _spectral_features(
    track: list[Spectra], spectra: Mapping[str, Spectra], lufs: float | None, crest: float | None, cfg: AnalysisConfig
) -> dict[str, Any]:
    shares = band_shares(track, cfg.bands) or {}
    out: dict[str, Any] = {
        "percussive_ratio": percussive_ratio(track),
        "brightness": brightness_hz(track),
        "vocal_presence": vocal_presence(track, cfg.vocal),
        **{k: shares.get(k) for k in ("sub", "bass", "lowmid")},
    }
    out["energy"] = energy_score(lufs, onset_density(track, cfg.onsets), out["brightness"], out["percussive_ratio"], crest, cfg.energy)
    out["energy_level"] = energy_level(out["energy"], cfg.energy.levels)
    out["energy_intro"] = _segment_energy(spectra.get(cfg.intro_window), cfg)
    out["energy_main"] = _segment_energy(spectra.get("main"), cfg)
    out["energy_outro"] = _segment_energy(spectra.get(cfg.outro_window), cfg)
    return out


def _finish(values: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    row, bad = clean_row(values)
    if bad:
        warnings.append("non-finite values set NULL: " + ", ".join(bad))
    row["analysis_warnings"] = "; ".join(dict.fromkeys(warnings)) or None
    return {c: row[c] for c in FEATURE_COLUMNS}


def analyze_file(path: str | os.PathLike, profile: str | None = None, config: AnalysisConfig | None = None) -> dict[str, Any]:
    """Analyse one audio file exactly as the pipeline does: choose windows, read them, analyse.

    Returns ``{"track_id": ..., **features}`` (the keys of a ``track_features`` row). Raises
    :class:`dj_pipeline.audio.AudioDecodeError` when the file cannot be decoded.
    """
    from dj_pipeline.audio import probe
    from dj_pipeline.catalog.hashing import content_id
    from dj_pipeline.catalog.tags import read_tags
    from dj_pipeline.config.ingest import load_ingest_config
    from dj_pipeline.windows import read_windows, select_windows

    cfg = config or load_analysis_config()
    info = probe(path)
    track_id = content_id(path, load_ingest_config().hash_chunk_bytes)  # the catalog's id
    windows = select_windows(path, profile=profile, track_id=track_id)
    segments = read_windows(path, windows, cfg.sr)
    tags = read_tags(path)
    return {"track_id": track_id, **analyze_segments(segments, cfg.sr, info.duration_s, cfg, tags=tags)}
