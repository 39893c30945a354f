"""Window sampling rules (club_hifi_150s and friends) on synthetic envelopes and real decoded audio."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dj_pipeline.config.windows import load_windows_config
from dj_pipeline.windows import Window, choose_windows, merge_spans, read_windows, select_windows
from dj_pipeline.windows.envelope import TrackEnvelope

CONFIG = load_windows_config()
FPS = 20.0


def _envelope(duration_s: float, quiet_until_s: float = 0.0, changes_s: tuple[float, ...] = (), seed: int = 0) -> TrackEnvelope:
    """Beats every 0.5 s (strong after ``quiet_until_s``), section changes in loudness at ``changes_s``."""
    n = int(duration_s * FPS)
    t = np.arange(n) / FPS
    rng = np.random.default_rng(seed)
    onset = 0.05 * rng.random(n)
    beats = (np.round(t * FPS) % (0.5 * FPS)) == 0
    onset[beats] = np.where(t[beats] >= quiet_until_s, 5.0, 0.3)
    rms_db = np.where(t >= quiet_until_s, -12.0, -40.0)
    for i, c in enumerate(changes_s):
        rms_db = np.where(t >= c, rms_db + (6.0 if i % 2 else -6.0), rms_db)
    return TrackEnvelope(onset.astype(np.float32), rms_db.astype(np.float32), FPS, duration_s)


def _by_name(windows: list[Window]) -> dict[str, Window]:
    return {w.name: w for w in windows}


def test_club_profile_on_a_full_track() -> None:
    _, prof = CONFIG.profile("club_hifi_150s")
    w = _by_name(choose_windows(_envelope(300.0, quiet_until_s=24.0, changes_s=(220.0, 262.0)), 300.0, prof, CONFIG, seed=1))
    assert (w["intro"].start_s, w["intro"].end_s) == (0.0, 30.0)
    assert (w["outro"].start_s, w["outro"].end_s) == (270.0, 300.0)
    # main starts on the first strong, loud onset after 10 s: the groove entering at 24 s
    assert w["main"].start_s == pytest.approx(24.0, abs=0.1)
    assert w["main"].duration_s == pytest.approx(90.0)
    tails = sorted([w["tail_1"], w["tail_2"]], key=lambda x: x.start_s)
    assert all(t.start_s >= 0.7 * 300 and t.end_s <= 300 for t in tails)
    assert any(t.start_s >= 300 - 60 for t in tails), "one tail must be forced into the last 60 s"
    assert tails[1].start_s - tails[0].start_s >= 10.0


def test_main_falls_back_to_10s_without_strong_onsets() -> None:
    _, prof = CONFIG.profile("club_hifi_150s")
    env = TrackEnvelope(np.zeros(6000, np.float32), np.full(6000, -20.0, np.float32), FPS, 300.0)
    w = _by_name(choose_windows(env, 300.0, prof, CONFIG, seed=3))
    assert w["main"].start_s == 10.0


def test_windows_are_deterministic_per_track_and_vary_across_tracks() -> None:
    _, prof = CONFIG.profile("club_hifi_150s")
    env = TrackEnvelope(np.zeros(6000, np.float32), np.full(6000, -20.0, np.float32), FPS, 300.0)
    a = choose_windows(env, 300.0, prof, CONFIG, seed=11)
    assert a == choose_windows(env, 300.0, prof, CONFIG, seed=11)
    assert a != choose_windows(env, 300.0, prof, CONFIG, seed=12)  # no peaks: tails are seeded draws


@pytest.mark.parametrize("duration_s", [6.0, 40.0, 95.0, 120.0])
def test_short_tracks_degrade_gracefully(duration_s: float) -> None:
    _, prof = CONFIG.profile("club_hifi_150s")
    windows = choose_windows(_envelope(duration_s, quiet_until_s=1.0), duration_s, prof, CONFIG, seed=5)
    w = _by_name(windows)
    for win in windows:
        assert 0.0 <= win.start_s < win.end_s <= duration_s + 1e-6
    assert w["main"].duration_s == pytest.approx(min(90.0, duration_s))
    assert len([x for x in windows if x.name.startswith("tail")]) <= (2 if duration_s >= 100 else 1)


def test_adaptive_profile_budget_grows_with_novelty() -> None:
    _, prof = CONFIG.profile("adaptive")
    calm = _by_name(choose_windows(_envelope(360.0, quiet_until_s=12.0), 360.0, prof, CONFIG, seed=2))
    busy_changes = tuple(float(x) for x in range(20, 350, 12))
    busy = _by_name(choose_windows(_envelope(360.0, quiet_until_s=12.0, changes_s=busy_changes), 360.0, prof, CONFIG, seed=2))
    assert calm["main"].duration_s == pytest.approx(60.0)  # 120 s budget - 2 tails
    assert busy["main"].duration_s == pytest.approx(90.0)  # 150 s budget


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown sampling profile"):
        CONFIG.profile("nope")


def test_merge_spans() -> None:
    spans = merge_spans([Window("a", 0, 30), Window("b", 20, 110), Window("c", 200, 230)])
    assert spans == [(0, 110), (200, 230)]


def test_select_and_read_windows_on_real_audio(tmp_path: Path) -> None:
    sr = 22050
    t = np.arange(int(200 * sr)) / sr
    kick = ((t % 0.5) < 0.03) * np.sin(2 * np.pi * 55 * t) * (t >= 16.0)
    y = (0.05 * np.sin(2 * np.pi * 220 * t) + 0.6 * kick).astype(np.float32)
    path = tmp_path / "groove.flac"
    sf.write(path, y, sr)
    windows = select_windows(path, track_id="abc")
    w = _by_name(windows)
    assert w["main"].start_s == pytest.approx(16.0, abs=0.1)
    audio = read_windows(path, windows, sr=11025)
    assert set(audio) == set(w)
    for name, win in w.items():
        assert audio[name].size == pytest.approx(win.duration_s * 11025, abs=2)
    assert select_windows(path, track_id="abc") == windows


def test_a_short_last_block_gets_a_fitting_fft_and_no_warning() -> None:
    import warnings

    from dj_pipeline.windows.envelope import envelope_of_block

    rng = np.random.default_rng(0)
    y = rng.normal(scale=0.1, size=1110).astype(np.float32)  # the tail of a 60 s block stream
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        onset, rms_db = envelope_of_block(y, 11025, 512)
    assert onset.shape == rms_db.shape == (3,)
    assert np.all(np.isfinite(onset)) and np.all(rms_db > -40.0)
