"""analyze_segments on generated tracks with known truth: tempo (octave resolved), key, the row shape."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dj_pipeline.analysis import FEATURE_COLUMNS, FEATURES_SCHEMA, analyze_segments, features_frame, load_analysis_config
from dj_pipeline.analysis.testsignals import synth_track
from dj_pipeline.music.keys import camelot_code

CFG = load_analysis_config()
SR = CFG.sr


def _windows(y: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """intro / main / tail / outro cut from a 60 s signal like the window sampler would."""
    s = lambda a, b: y[int(a * sr) : int(b * sr)]  # noqa: E731
    return {"intro": s(0, 20), "main": s(10, 40), "tail_1": s(40, 55), "outro": s(45, 60)}


@pytest.mark.parametrize(
    ("bpm", "root", "mode", "style"),
    [
        (124, 9, "minor", "four_on_floor"),  # house: 124, not 62 or 248
        (128, 7, "major", "four_on_floor"),
        (174, 2, "minor", "two_step"),  # drum & bass: 174, not 87
        (140, 5, "minor", "half_time"),  # half-time feel: 140, not 70
        (90, 0, "major", "boom_bap"),  # hip-hop: 90, not 180
    ],
)
def test_tempo_and_key_of_generated_tracks(bpm: float, root: int, mode: str, style: str) -> None:
    y = synth_track(bpm, root, mode, 60, SR, style, seed=bpm)
    f = analyze_segments(_windows(y, SR), SR, 60.0, CFG)
    assert f["bpm"] == pytest.approx(bpm, rel=0.01)
    assert 0.2 < f["bpm_confidence"] <= 1.0
    assert f["bpm_std"] is not None and f["bpm_std"] < 1.0
    assert (f["key_root"], f["key_mode"]) == (root, mode)
    assert f["camelot"] == camelot_code(root, mode)
    assert f["key_clarity"] > 0.5 and f["key_consensus"] > 0.5
    assert f["first_downbeat_s"] == pytest.approx(0.0, abs=0.05)  # the bar starts at t = 0
    assert f["analysis_warnings"] is None


def test_key_is_tuning_robust() -> None:
    """A track mastered 40 cents sharp keeps its key and reports the tuning."""
    y = synth_track(124, 4, "minor", 40, SR, seed=3, tuning_cents=40.0)
    f = analyze_segments({"main": y}, SR, 40.0, CFG)
    assert (f["key_root"], f["key_mode"]) == (4, "minor")
    assert f["tuning_cents"] == pytest.approx(40.0, abs=8.0)


def test_breakdown_in_relative_major_does_not_flip_the_key() -> None:
    """Three sections in A minor and a quieter breakdown in C major: the consensus keeps A minor."""
    minor = synth_track(124, 9, "minor", 45, SR, seed=1)
    breakdown = 0.5 * synth_track(124, 0, "major", 15, SR, seed=2)
    f = analyze_segments({"main": np.concatenate([minor[: 30 * SR], breakdown]), "tail_1": minor[30 * SR :]}, SR, 60.0, CFG)
    assert f["key"] == "A minor"
    assert f["key_consensus"] < 1.0  # the breakdown section disagreed


def test_row_has_every_column_and_no_nan() -> None:
    y = synth_track(126, 2, "major", 60, SR, seed=4)
    f = analyze_segments(_windows(y, SR), SR, 60.0, CFG)
    assert list(f) == FEATURE_COLUMNS
    assert f["analysis_warnings"] is None  # nothing to report on a clean full track
    for col, v in f.items():
        assert v is not None or col in ("analysis_warnings", "tag_conflict"), col  # NULL: all well, no tag conflict
        if isinstance(v, float):
            assert math.isfinite(v), col
    for col in ("energy", "energy_intro", "energy_main", "energy_outro", "sub", "bass", "lowmid", "percussive_ratio",
                "vocal_presence", "danceability", "intro_mix", "outro_mix", "key_clarity"):  # fmt: skip
        assert 0.0 <= f[col] <= 1.0, col
    assert f["sub"] + f["bass"] + f["lowmid"] <= 1.0
    assert -30.0 < f["loudness_lufs"] < 0.0
    assert f["analysed_s"] == pytest.approx(45.0, abs=0.1)  # main + tail_1
    table = features_frame([{"track_id": "t1", **f}])
    import pyarrow as pa

    assert pa.Table.from_pandas(table, schema=FEATURES_SCHEMA, preserve_index=False).num_rows == 1


def test_only_main_window_is_enough() -> None:
    y = synth_track(132, 11, "minor", 40, SR, seed=5)
    f = analyze_segments({"main": y}, SR, 40.0, CFG)
    assert f["bpm"] == pytest.approx(132, rel=0.01)
    assert f["key"] == "B minor"
    assert f["intro_mix"] is None and f["outro_mix"] is None and f["first_downbeat_s"] is None
    assert "no intro window" in f["analysis_warnings"]


def test_energy_orders_loud_busy_above_quiet_sparse() -> None:
    loud = synth_track(128, 0, "major", 30, SR, seed=6)
    quiet = 0.05 * synth_track(128, 0, "major", 30, SR, style="half_time", seed=6)
    f_loud = analyze_segments({"main": loud}, SR, 30.0, CFG)
    f_quiet = analyze_segments({"main": quiet}, SR, 30.0, CFG)
    assert f_loud["energy"] > f_quiet["energy"] + 0.1
    assert f_loud["loudness_lufs"] == pytest.approx(f_quiet["loudness_lufs"] + 26.0, abs=3.0)


def test_intro_mix_prefers_drums_over_a_pad_swell() -> None:
    from dj_pipeline.analysis.testsignals import chord_track, drum_track

    drums = drum_track(124, 20, SR).astype(np.float32) * 0.5
    swell = (chord_track(5, "minor", 124, 20, SR) * np.linspace(0.01, 1.0, 20 * SR)).astype(np.float32)
    main = synth_track(124, 5, "minor", 30, SR)
    f = analyze_segments({"intro": drums, "main": main, "outro": swell}, SR, 70.0, CFG)
    assert f["intro_mix"] > f["outro_mix"] + 0.2


def test_low_end_shares_follow_the_spectrum() -> None:
    t = np.arange(20 * SR) / SR
    sub = analyze_segments({"main": (0.5 * np.sin(2 * np.pi * 45 * t)).astype(np.float32)}, SR, 20.0, CFG)
    mid = analyze_segments({"main": (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)}, SR, 20.0, CFG)
    assert sub["sub"] > 0.9 and sub["lowmid"] < 0.05
    assert mid["lowmid"] > 0.9 and mid["sub"] < 0.05
    assert sub["brightness"] < mid["brightness"]


def test_config_overrides_change_the_tempo_range() -> None:
    from dj_pipeline.config.analysis import load_analysis_config as load

    y = synth_track(174, 2, "minor", 30, SR, "two_step")
    half = load(overrides={"tempo": {"min_bpm": 60.0, "max_bpm": 120.0}})
    assert analyze_segments({"main": y}, SR, 30.0, half)["bpm"] == pytest.approx(87, rel=0.01)
    with pytest.raises(ValueError, match="octave"):
        load(overrides={"tempo": {"min_bpm": 100.0, "max_bpm": 150.0}})
    with pytest.raises(ValueError, match="unknown"):
        load(overrides={"tempo": {"min_bmp": 60.0}})


def test_vocal_presence_rises_with_a_sung_line() -> None:
    from dj_pipeline.analysis.testsignals import chord_track, drum_track, sung_line

    backing = (0.5 * drum_track(124, 30, SR) + chord_track(9, "minor", 124, 30, SR)).astype(np.float32)
    plain = analyze_segments({"main": backing}, SR, 30.0, CFG)["vocal_presence"]
    sung = analyze_segments({"main": backing + 0.5 * sung_line(30, SR)}, SR, 30.0, CFG)["vocal_presence"]
    drums = analyze_segments({"main": drum_track(124, 30, SR).astype(np.float32)}, SR, 30.0, CFG)["vocal_presence"]
    assert sung > 2 * plain and sung > plain + 0.08
    assert drums < 0.02 and plain < 0.1


def test_strongest_rows_are_each_columns_largest_values_largest_first() -> None:
    from dj_pipeline.analysis.spectral import strongest_rows

    rng = np.random.default_rng(1)
    x = np.asfortranarray(rng.random((200, 50)).astype(np.float32))  # power spectra are bins x frames, frame-major
    x[:, 7] = 0.5  # a flat frame: ties, the lower rows first
    before = x.copy()
    rows = strongest_rows(x, 3)
    assert rows.shape == (3, 50)
    expected = np.argsort(-x, axis=0, kind="stable")[:3]
    assert np.array_equal(rows, expected) and rows[:, 7].tolist() == [0, 1, 2]
    assert np.array_equal(x, before)  # the input is left as it was
    assert strongest_rows(x[:2], 3).shape == (2, 50)  # fewer rows than asked: all of them
