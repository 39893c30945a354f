"""Structure layer: bar grid, sections, cues and their guards, on synthetic envelopes and generated audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dj_pipeline.config.structure import load_structure_config
from dj_pipeline.structure import CUE_TYPES, analyze_structure, grid_from_beats, grid_from_tempo, structure_of_envelope
from dj_pipeline.structure.grid import beat_phase_fit, phrase_starts
from dj_pipeline.windows.envelope import TrackEnvelope

CFG = load_structure_config()
FPS = 11025 / 512
BPM = 125.0
BAR_S = 4 * 60.0 / BPM
# (label, bars, level dB, low band dB): the form the synthetic envelope is built from
FORM = [("intro", 16, -20.0, -10.0), ("drop", 32, -11.0, -2.0), ("breakdown", 16, -24.0, -30.0), ("drop", 32, -11.0, -2.0), ("outro", 16, -19.0, -10.0)]


def synthetic_envelope(form=FORM, bpm: float = BPM, start_s: float = 0.5, tail_s: float = 4.0, tempo_after_s: float | None = None) -> TrackEnvelope:
    """Frame curves of a track with ``form``: a pulse on every beat (x3 on downbeats), levels per section."""
    bar_s = 4 * 60.0 / bpm
    n_bars = sum(f[1] for f in form)
    duration_s = start_s + n_bars * bar_s + tail_s
    n = int(duration_s * FPS)
    t = np.arange(n) / FPS
    level = np.full(n, -100.0)
    low = np.full(n, -100.0)
    bar = 0
    for _, bars, lv, lw in form:
        a, b = start_s + bar * bar_s, start_s + (bar + bars) * bar_s
        sel = (t >= a) & (t < b)
        level[sel], low[sel] = lv, lw
        bar += bars
    period = 60.0 / bpm
    beats = start_s + period * np.arange(n_bars * 4)
    if tempo_after_s is not None:  # the tempo jumps by 8 % after tempo_after_s
        late = beats > tempo_after_s
        beats[late] = tempo_after_s + (beats[late] - tempo_after_s) / 1.08
    onset = np.zeros(n)
    for k, b in enumerate(beats):
        i = int(round(b * FPS))
        if i < n and level[i] > -90:
            onset[i] += 3.0 if k % 4 == 0 else 1.0
    return TrackEnvelope(onset.astype(np.float32), level.astype(np.float32), FPS, duration_s, low.astype(np.float32))


def test_grid_from_tempo_extends_back_to_the_start_and_keeps_bars() -> None:
    g = grid_from_tempo(120.0, 4.25, 60.0, CFG.grid)
    assert g.downbeats_s[0] == pytest.approx(0.25) and g.bar_s == pytest.approx(2.0)
    assert np.allclose(np.diff(g.beats_s), 0.5) and g.beats_s[-1] < 60.0
    assert list(phrase_starts(40, 2, 8)) == [2, 10, 18, 26, 34]


def test_refinement_recovers_a_slightly_wrong_tempo() -> None:
    env = synthetic_envelope()
    g = grid_from_tempo(BPM * 1.002, 0.5, env.duration_s, CFG.grid, env.onset, env.fps)
    assert g.bpm == pytest.approx(BPM, abs=0.06)
    last_true = 0.5 + (g.n_bars - 1) * BAR_S
    assert g.downbeats_s[-1] == pytest.approx(last_true, abs=0.05), "a 0.2 % tempo error must not drift the late bars"


def test_refinement_recovers_a_downbeat_given_half_a_beat_off() -> None:
    from dataclasses import replace

    env = synthetic_envelope()
    off = 0.5 + 0.5 * 60.0 / BPM  # an off-beat given as the downbeat (the demo's syncopated styles did this)
    wide = replace(CFG.grid, coarse_phase_beats=0.5)  # off by default (see structure.yaml)
    g = grid_from_tempo(BPM, off, env.duration_s, wide, env.onset, env.fps)
    beat_s = 60.0 / BPM
    assert abs(((g.downbeats_s[0] - 0.5) / beat_s + 0.5) % 1.0 - 0.5) * beat_s < 0.03, "the grid lands on the beats"
    fit, _, _ = beat_phase_fit(env.onset, env.fps, g, wide)
    assert fit >= CFG.grid.fit_min_share
    narrow = replace(CFG.grid, coarse_phase_beats=0.0)
    g0 = grid_from_tempo(BPM, off, env.duration_s, narrow, env.onset, env.fps)
    assert beat_phase_fit(env.onset, env.fps, g0, narrow)[0] < CFG.grid.fit_min_share, "without the coarse phase search it stays off"


def test_grid_from_beats_uses_given_downbeats() -> None:
    beats = np.arange(0.3, 60.0, 0.5)
    g = grid_from_beats(beats, CFG.grid, downbeats_s=beats[1::4])
    assert g.source == "beats" and g.bpm == pytest.approx(120.0) and g.downbeats_s[0] == pytest.approx(0.8)


def test_sections_and_cues_of_a_known_form() -> None:
    s = structure_of_envelope(synthetic_envelope(), BPM, 0.5, CFG, bpm_confidence=0.9)
    assert [(x.label, x.start_bar, x.n_bars) for x in s.sections] == [
        ("intro", 0, 16), ("drop", 16, 32), ("breakdown", 48, 16), ("drop", 64, 32), ("outro", 96, 16),
    ]  # fmt: skip
    cue = {c.type: c for c in s.cues}
    assert [c.type for c in s.cues] == list(CUE_TYPES)
    assert (cue["mix_in"].bar, cue["mix_in"].length_bars) == (0, 16)
    assert cue["drop"].bar == 64 and cue["breakdown"].bar == 48
    assert (cue["mix_out"].bar, cue["mix_out"].length_bars) == (96, 16)
    assert cue["end"].bar == 112
    assert cue["drop"].time_s == pytest.approx(0.5 + 64 * BAR_S, abs=0.05)
    assert all(0.0 <= c.confidence <= 1.0 for c in s.cues) and s.reason is None


def test_a_track_that_ends_on_its_drop_gets_a_phrase_before_the_end() -> None:
    s = structure_of_envelope(synthetic_envelope(FORM[:4]), BPM, 0.5, CFG)
    out = s.cue("mix_out")
    assert out.time_s is not None and out.reason and out.length_bars == 32 and out.bar == 96 - 32


@pytest.mark.parametrize(
    ("env", "bpm", "reason"),
    [
        (TrackEnvelope(np.zeros(2000, np.float32), np.full(2000, -120.0, np.float32), FPS, 2000 / FPS), 120.0, "silent"),
        (synthetic_envelope(), None, "no tempo"),
        (synthetic_envelope([("intro", 5, -12.0, -3.0)], tail_s=0.0), BPM, "too short"),
        (synthetic_envelope(tempo_after_s=60.0), BPM, "tempo change"),
    ],
    ids=["silence", "no_beat", "ten_second_loop", "tempo_change"],
)
def test_unreliable_input_gives_null_cues_with_a_reason(env: TrackEnvelope, bpm: float | None, reason: str) -> None:
    s = structure_of_envelope(env, bpm, 0.5 if bpm else None, CFG)
    assert [c.type for c in s.cues] == list(CUE_TYPES)
    assert all(c.time_s is None and c.bar is None and reason in (c.reason or "") for c in s.cues)


def test_beat_phase_fit_is_high_on_a_steady_track_and_low_after_a_tempo_change() -> None:
    steady = synthetic_envelope()
    g = grid_from_tempo(BPM, 0.5, steady.duration_s, CFG.grid)
    assert beat_phase_fit(steady.onset, FPS, g, CFG.grid)[0] > 0.95
    changed = synthetic_envelope(tempo_after_s=30.0)
    assert beat_phase_fit(changed.onset, FPS, g, CFG.grid)[0] < CFG.grid.fit_min_share


def test_generated_track_boundaries_and_mix_points(tmp_path: Path) -> None:
    """Real generated audio through the file path (streamed envelope + analysis tempo)."""
    from dj_pipeline.analysis import analyze_file
    from dj_pipeline.demo.library import section_truth
    from dj_pipeline.demo.track import TrackSpec, render_track
    from dj_pipeline.demo.writer import write_audio

    rendered = render_track(TrackSpec("techno", 130.0, 9, "minor", 180.0, 22050, 11, False, 0.75))
    path = write_audio(tmp_path / "t.flac", rendered.audio, 22050, "flac")
    truth = section_truth(rendered.sections, 130.0)
    starts = np.array([float(x) for x in truth["section_start_s"].split()])
    features = analyze_file(path)
    s = analyze_structure(path, features["bpm"], features["first_downbeat_s"], features["bpm_confidence"])
    bar_s = truth["bar_s"]
    found = [x.start_bar for x in s.sections[1:]]
    pred = np.array([s.grid.downbeats_s[b] for b in found])
    hits = sum(bool(np.any(np.abs(pred - t) <= bar_s)) for t in starts[1:])
    assert hits >= len(starts) - 2 and len(pred) <= len(starts), f"truth {starts}, found {pred}"
    names = [x.name for x in rendered.sections]
    assert abs(s.cue("mix_in").time_s - starts[0]) <= bar_s
    assert abs(s.cue("mix_out").time_s - starts[names.index("outro")]) <= bar_s


def test_a_tracked_beat_array_is_used_when_given() -> None:
    """Issue 13's track_beats: the structure follows the tracked beats (here at a tempo the bpm does not give)."""
    from dj_pipeline.structure.batch import beat_arrays

    env = synthetic_envelope()
    beats = 0.5 + 60.0 / BPM * np.arange(int((env.duration_s - 0.5) * BPM / 60.0))
    rows = pd.DataFrame({"track_id": "a", "time_s": beats, "bar_pos": np.arange(beats.size) % 4 + 1})
    times, downs = beat_arrays(pd.Series(["a", "b"]), rows)
    assert downs[1] is None and downs[0][1] == pytest.approx(0.5 + BAR_S)
    s = structure_of_envelope(env, 99.0, 3.0, CFG, beats_s=times[0], downbeats_s=downs[0])
    assert s.grid.source == "beats" and s.cue("drop").bar == 64 and s.cue("mix_out").bar == 96


def test_grid_from_beats_runs_on_to_the_track_ends_counting_bars() -> None:
    beats = np.arange(4.48, 50.0, 0.5)  # a tracker that trimmed a quiet intro and outro; the beat before 0.48 s is at -0.02 s
    g = grid_from_beats(beats, CFG.grid, downbeats_s=beats[1::4], duration_s=60.0)
    assert g.beats_s[0] == pytest.approx(0.0) and g.beats_s[1] == pytest.approx(0.48), "a beat just before 0 s sits at 0 s"
    assert g.beats_s[-1] < 60.0 and g.beats_s[-1] > 59.4
    assert g.downbeats_s[0] == pytest.approx(0.98) and np.allclose(np.diff(g.downbeats_s), 2.0), "bars counted on across the ends"
    assert set(np.round(beats[1::4], 4)) <= set(np.round(g.downbeats_s, 4))
    from dataclasses import replace

    plain = grid_from_beats(beats, replace(CFG.grid, extend_beats=False), downbeats_s=beats[1::4], duration_s=60.0)
    assert plain.beats_s[0] == pytest.approx(4.48), "extend_beats off: the tracked beats as they are"


def test_an_off_beat_louder_than_the_kick_still_fits_but_a_grid_between_does_not() -> None:
    from dataclasses import replace

    env = synthetic_envelope()
    period = 60.0 / BPM
    shift = int(round(0.5 * period * FPS))
    onset = env.onset + 2.0 * np.roll((env.onset > 0).astype(np.float32), shift)  # hats/bass on every off-beat, louder than the beats
    env = replace(env, onset=onset)
    on = grid_from_tempo(BPM, 0.5, env.duration_s, CFG.grid)
    assert beat_phase_fit(env.onset, env.fps, on, CFG.grid)[0] >= 0.8
    strict = replace(CFG.grid, fit_min_ratio=1.0)
    assert beat_phase_fit(env.onset, env.fps, on, strict)[0] < CFG.grid.fit_min_share, "the off-beat rule is what makes it fit"
    between = grid_from_tempo(BPM, 0.5 + 0.25 * period, env.duration_s, CFG.grid)
    assert beat_phase_fit(env.onset, env.fps, between, CFG.grid)[0] < CFG.grid.fit_min_share


def test_tracked_beats_that_slip_fall_back_to_the_tempo_grid() -> None:
    from dataclasses import replace

    env = synthetic_envelope()
    period = 60.0 / BPM
    beats = 0.5 + period * np.arange(int((env.duration_s - 0.5) / period))
    slipped = np.where(beats > 40.0, beats + 0.4 * period, beats)  # the tracker slid 0.4 beat off after 40 s
    s = structure_of_envelope(env, BPM, None, CFG, 0.9, slipped, slipped[::4])
    assert s.grid.source == "tempo" and "tracked beats do not follow" in (s.reason or "")
    assert s.cue("mix_out").bar == 96 and s.cue("mix_out").time_s == pytest.approx(0.5 + 96 * BAR_S, abs=0.05)
    off = replace(CFG, grid=replace(CFG.grid, tempo_fallback=False))
    s0 = structure_of_envelope(env, BPM, None, off, 0.9, slipped, slipped[::4])
    assert s0.grid.source == "beats" and s0.cue("mix_out").time_s is None, "without the fallback the slipped grid gives NULL cues"
    good = structure_of_envelope(env, BPM, None, CFG, 0.9, beats, beats[::4])
    assert good.grid.source == "beats" and good.reason is None, "tracked beats that fit are kept"


def test_dj_analyze_structures_a_file_on_its_tracked_beats_as_an_ingest_does(tmp_path: Path) -> None:
    import soundfile as sf

    from dj_pipeline.analysis import analyze_file
    from dj_pipeline.demo.track import TrackSpec, render_track
    from dj_pipeline.structure.report import structure_of_features

    sr = 22050
    path = tmp_path / "house.wav"
    sf.write(path, render_track(TrackSpec("house", 124.0, 0, "minor", 40.0, sr, 7, False, 0.6)).audio, sr)
    s = structure_of_features(path, analyze_file(path))
    assert s.grid is not None and s.grid.source == "beats", "the track_beats grid, not bpm + first downbeat"
    assert s.grid.bpm == pytest.approx(124.0, rel=0.01) and s.grid.n_bars >= 18
