"""The learned tempo octave choice (analysis/tempo_octave.py): fitting, candidates, the shipped file, the setting."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import yaml

from dj_pipeline.analysis import load_analysis_config
from dj_pipeline.analysis.frontend import compute_spectra
from dj_pipeline.analysis.spectral import onset_density
from dj_pipeline.analysis.tempo import auto_range, bpm_range_for, estimate_tempo, rule_range, tempo_evidence
from dj_pipeline.analysis.tempo_octave import (
    FEATURE_NAMES, MODEL_FILE, candidate_features, candidate_logits, class_peaks, fit_octave_model, load_octave_model, model_to_dict,
)  # fmt: skip
from dj_pipeline.analysis.testsignals import synth_track

CFG = load_analysis_config()
SR = CFG.sr


def test_fit_learns_which_feature_marks_the_right_candidate() -> None:
    """Feature 0 is high on the correct candidate (the position varies), the rest is noise: the fit finds it."""
    rng = np.random.default_rng(0)
    d = len(FEATURE_NAMES)
    tracks = []
    for _ in range(60):
        x = rng.normal(size=(4, d))
        right = int(rng.integers(4))
        x[:, 0] = rng.normal(scale=0.3, size=4)
        x[right, 0] += 2.0
        tracks.append((x, np.arange(4) == right))
    tracks.append((rng.normal(size=(3, d)), np.zeros(3, bool)))  # no right candidate: skipped, not an error
    model = fit_octave_model(tracks, l2=0.01, ratios=(1.0,), n_classes=1)
    assert int(np.argmax(np.abs(model.coef))) == 0 and model.coef[0] > 0
    hits = [bool(c[int(np.argmax(candidate_logits(x, model)))]) for x, c in tracks[:-1]]
    assert np.mean(hits) > 0.9


def test_class_peaks_finds_the_strongest_classes_on_the_folded_band() -> None:
    grid = 60.0 * 2.0 ** (np.arange(480) / 240.0)  # 60..240, 240 per octave
    folded = np.exp(-0.5 * (np.log2(grid / 90.0) / 0.02) ** 2) + 0.5 * np.exp(-0.5 * (np.log2(grid / 75.0) / 0.02) ** 2)
    peaks = class_peaks(grid, folded, 70.0, 2)
    assert peaks[0] == pytest.approx(90.0, rel=0.01) and peaks[1] == pytest.approx(75.0, rel=0.01)


def test_ranges_for_the_learned_model_and_the_rule() -> None:
    learned = replace(CFG.tempo, octave_model="learned", octave_model_min_bpm=60.0, octave_model_max_bpm=200.0)
    assert auto_range(learned) == (60.0, 200.0) and auto_range(replace(learned, octave_model="off")) == (CFG.tempo.min_bpm, CFG.tempo.max_bpm)
    assert bpm_range_for(None, replace(learned, bpm_range="88-175")) == (88.0, 175.0)  # a fixed DJ range stays fixed
    assert rule_range((60.0, 200.0), learned) == (CFG.tempo.min_bpm, CFG.tempo.max_bpm)  # the rule keeps its own range
    assert rule_range((98.0, 195.0), learned) == (98.0, 195.0)  # clipping would not span an octave


def test_octave_model_setting_is_validated() -> None:
    assert load_analysis_config().tempo.octave_model in ("off", "learned")
    with pytest.raises(ValueError, match="octave_model"):
        load_analysis_config(overrides={"tempo": {"octave_model": "maybe"}})


def test_shipped_model_file_loads_and_a_mismatched_one_is_refused(tmp_path) -> None:
    model = load_octave_model()
    assert model.coef.shape == (len(FEATURE_NAMES),) and np.all(model.scale > 0)
    doc = {"model": {**model_to_dict(model), "feature_names": list(reversed(FEATURE_NAMES))}}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(ValueError, match="feature names"):
        load_octave_model(str(bad))
    assert yaml.safe_load(MODEL_FILE.read_text())["training"]["real_tune_half"] > 0  # its training data is documented


def test_learned_choice_on_a_generated_house_track() -> None:
    """A clear four-on-the-floor track at 124 keeps its tempo with the shipped model; the candidate features are finite."""
    y = synth_track(124, 9, "minor", 40, SR, "four_on_floor", seed=124)
    track = [compute_spectra(y[: 30 * SR], SR, CFG), compute_spectra(y[30 * SR :], SR, CFG)]
    cfg = replace(CFG.tempo, octave_model="learned")
    rate = onset_density(track, CFG.onsets)
    got = estimate_tempo(track, cfg, rate, CFG.onsets.min_flux_db, bpm_range_for(None, cfg))
    assert got.bpm == pytest.approx(124, rel=0.01) and got.confidence > 0.2
    ev = tempo_evidence(track, cfg, rate)
    x = candidate_features(124.0, ev, (60.0, 200.0), 124.0)
    assert x.shape == (len(FEATURE_NAMES),) and np.all(np.isfinite(x)) and x[-1] == 1.0


def test_genre_ranges_slow_band_music_and_first_match_wins() -> None:
    """Rock/pop/country/... tags fold into 65-130 (slow band music); an earlier pattern wins (soulful house is house)."""
    assert bpm_range_for("Rock", CFG.tempo) == (65.0, 130.0) and bpm_range_for("country", CFG.tempo) == (65.0, 130.0)
    assert bpm_range_for("Soulful House", CFG.tempo) == (88.0, 175.0)
    assert bpm_range_for("Hip-Hop", CFG.tempo) == (70.0, 140.0)
    assert bpm_range_for("Ambient", CFG.tempo) == (CFG.tempo.min_bpm, CFG.tempo.max_bpm)  # no pattern: the library's range


def test_without_the_model_a_wide_user_range_is_not_clipped() -> None:
    """A 190 track in a user range 50-200 stays 190 with the model off (clipped to 70-180 it would read 95)."""
    y = synth_track(190, 2, "minor", 30, SR, "two_step", seed=190)
    track = [compute_spectra(y, SR, CFG)]
    cfg = replace(CFG.tempo, bpm_range="50-200")
    got = estimate_tempo(track, cfg, onset_density(track, CFG.onsets), CFG.onsets.min_flux_db, bpm_range_for(None, cfg))
    assert got.bpm == pytest.approx(190, rel=0.01)
