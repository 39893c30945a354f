"""Audio fingerprints: an excerpt, a re-encode and another format of a recording are recognised;
another recording is not; duplicates point at the full-length original."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from dj_pipeline.config.fingerprint import load_fingerprint_config
from dj_pipeline.fingerprint import FingerprintIndex, find_duplicates, fingerprint_file
from dj_pipeline.fingerprint.stage import add_duplicate_of

CFG = load_fingerprint_config()
SR = 22050


def _song(seed: int, seconds: float = 60.0) -> np.ndarray:
    """A melody of decaying random notes over a kick pattern: peaks a fingerprint can anchor on."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = np.zeros(n, dtype=np.float64)
    t = np.arange(int(0.4 * SR)) / SR
    for start in rng.uniform(0, seconds - 0.5, int(8 * seconds)):
        f = 110.0 * 2 ** (rng.integers(0, 48) / 12)
        note = np.sin(2 * np.pi * f * t) * np.exp(-t * rng.uniform(4, 12)) * rng.uniform(0.1, 0.4)
        i = int(start * SR)
        y[i : i + len(note)] += note
    kick = np.sin(2 * np.pi * 55 * t[: SR // 8]) * np.exp(-t[: SR // 8] * 30)
    for i in range(0, n - len(kick), SR // 2):
        y[i : i + len(kick)] += 0.5 * kick
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    out = tmp_path_factory.mktemp("fp")
    paths = []
    for seed in range(3):
        p = out / f"song{seed}.wav"
        sf.write(p, _song(seed), SR)
        paths.append(p)
    return out, paths


def _index(paths):
    fps = [fingerprint_file(p, CFG) for p in paths]
    return FingerprintIndex([p.name for p in paths], [h for h, _ in fps], [t for _, t in fps], CFG)


def test_an_excerpt_is_found_at_its_offset_and_another_song_is_not(songs):
    out, paths = songs
    y, _ = sf.read(paths[1], dtype="float32")
    excerpt = out / "excerpt.flac"
    sf.write(excerpt, y[int(17.3 * SR) : int(47.3 * SR)], SR)  # 30 s from 17.3 s: off the frame grid
    index = _index([paths[0], paths[1]])
    hits = index.match(*fingerprint_file(excerpt, CFG))
    assert [h.track_id for h in hits] == ["song1.wav"]
    assert hits[0].share >= CFG.min_aligned_share and hits[0].offset_s == pytest.approx(17.3, abs=0.1)
    assert index.match(*fingerprint_file(paths[2], CFG)) == []  # a different recording


def test_an_excluded_track_is_left_out_and_the_rest_is_unchanged(songs):
    out, paths = songs
    y, _ = sf.read(paths[1], dtype="float32")
    copy = out / "copy.wav"
    sf.write(copy, y, SR)  # song1 twice in the index: the query matches both
    index = _index([paths[0], paths[1], copy])
    query = fingerprint_file(paths[1], CFG)
    both = index.match(*query)
    assert sorted(h.track_id for h in both) == ["copy.wav", "song1.wav"]
    assert index.match(*query, exclude=["song1.wav"]) == [h for h in both if h.track_id != "song1.wav"]
    assert index.match(*query, exclude=["song1.wav", "copy.wav"]) == []


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
@pytest.mark.parametrize("codec", [["-c:a", "libmp3lame", "-b:a", "128k", "x.mp3"], ["-c:a", "libvorbis", "-q:a", "3", "x.ogg"]])
def test_a_reencode_in_another_format_is_recognised(songs, codec):
    out, paths = songs
    target = out / codec[-1]
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(paths[2]), "-ar", "44100", *codec[:-1], str(target)], check=True)
    hits = _index(paths).match(*fingerprint_file(target, CFG))
    assert hits and hits[0].track_id == "song2.wav" and hits[0].share >= 0.4


def test_duplicates_point_at_the_full_length_original(songs):
    out, paths = songs
    y, _ = sf.read(paths[0], dtype="float32")
    short = out / "short.wav"
    sf.write(short, y[5 * SR : 35 * SR], SR)
    fps = {p.name: fingerprint_file(p, CFG) for p in (short, paths[0], paths[1])}
    ids = list(fps)
    durations = [30.0, 60.0, 60.0]
    empty = FingerprintIndex([], [], [], CFG)
    dups = find_duplicates(ids, [fps[i][0] for i in ids], [fps[i][1] for i in ids], durations, empty)
    assert dups == {"short.wav": "song0.wav"}
    # against an existing library: the new full track is the copy of the track already there
    existing = FingerprintIndex(["short.wav"], [fps["short.wav"][0]], [fps["short.wav"][1]], CFG)
    assert find_duplicates(["song0.wav"], [fps["song0.wav"][0]], [fps["song0.wav"][1]], [60.0], existing) == {"song0.wav": "short.wav"}


def test_duplicate_of_drops_when_the_original_left_the_library():
    import pandas as pd

    tracks = pd.DataFrame({"track_id": ["a", "b", "c"]})
    fps = pd.DataFrame({"track_id": ["a", "b", "c"], "duplicate_of": [None, "a", "gone"]})
    assert [None if pd.isna(v) else v for v in add_duplicate_of(tracks, fps)["duplicate_of"]] == [None, "a", None]
    assert add_duplicate_of(tracks, pd.DataFrame())["duplicate_of"].isna().all()


def test_a_hash_repeated_thousands_of_times_casts_no_vote(songs):
    """A steady tone repeats one landmark hash all through the file; unbounded, the votes of such a
    track against itself were n x n pairs (the bad-file ingest reached 24 GB). Above
    ``max_hits_per_hash`` a hash is ignored, so the tone matches nothing and a real song still does."""
    n = 4 * CFG.max_hits_per_hash
    tone_hashes, tone_times = np.full(n, 12345, dtype=np.int32), np.arange(n, dtype=np.int32)
    _, paths = songs
    song_hashes, song_times = fingerprint_file(paths[0], CFG)
    index = FingerprintIndex(["tone", "song"], [tone_hashes, song_hashes], [tone_times, song_times], CFG)
    assert index.match(tone_hashes, tone_times) == []
    assert [m.track_id for m in index.match(song_hashes, song_times)] == ["song"]
    with pytest.raises(ValueError, match="max_hits_per_hash"):
        load_fingerprint_config(overrides={"max_hits_per_hash": 0})


def _landmarks_by_loop(freq, frame, cfg):
    """The landmark definition spelled out as the obvious double loop (the reference)."""
    hashes, times = [], []
    for i in range(len(freq)):
        taken = 0
        for j in range(i + 1, len(freq)):
            dt, df = frame[j] - frame[i], freq[j] - freq[i]
            if dt > cfg.max_dt_frames:
                break
            if dt < 1 or abs(df) > cfg.max_df_bins:
                continue
            hashes.append((int(freq[i]) << 13) | ((int(df) + 64) << 6) | int(dt))
            times.append(int(frame[i]))
            taken += 1
            if taken == cfg.fan_out:
                break
    return np.asarray(hashes, dtype=np.int32), np.asarray(times, dtype=np.int32)


@pytest.mark.parametrize("seed", [0, 1])
def test_vectorised_landmarks_equal_the_double_loop(seed, monkeypatch):
    """Same hashes in the same order, also across the row blocks that bound its memory."""
    from dj_pipeline.fingerprint import landmarks as lm

    spec = lm.log_spectrogram(_song(seed, 20.0)[:: SR // CFG.sr], CFG)
    freq, frame = lm.find_peaks(spec, CFG)
    rng = np.random.default_rng(seed)  # plus a dense random cloud: many same-frame and far-bin pairs
    extra_frame = np.sort(rng.integers(0, 400, 3000))
    cases = [(freq, frame), (rng.integers(0, 512, 3000), extra_frame)]
    monkeypatch.setattr(lm, "LANDMARK_BLOCK_CELLS", 97)  # many small blocks
    for f, t in cases:
        want = _landmarks_by_loop(f, t, CFG)
        got = lm.landmarks(f, t, CFG)
        assert len(want[0]) > 100
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_digital_silence_has_no_peaks(tmp_path):
    """A flat -120 dB spectrogram ties everywhere; without a level floor every bin was a 'peak' (a
    2-s silent tail gave 34,000 landmarks and most of a track's fingerprint time)."""
    y = np.concatenate([_song(0, 10.0), np.zeros(3 * SR, np.float32)])
    sf.write(tmp_path / "tail.wav", y, SR)
    sf.write(tmp_path / "song.wav", y[: 10 * SR], SR)
    from dj_pipeline.fingerprint.landmarks import find_peaks, log_spectrogram

    assert find_peaks(log_spectrogram(np.zeros(CFG.sr * 2, np.float32), CFG), CFG)[0].size == 0
    with_tail, _ = fingerprint_file(tmp_path / "tail.wav", CFG)
    alone, _ = fingerprint_file(tmp_path / "song.wav", CFG)
    assert 0 < len(with_tail) <= len(alone) + 10


@pytest.mark.parametrize("size", [1, 3, 21, 31, 64])
def test_running_max_equals_scipy(size):
    """The doubling running maximum is exactly scipy's constant(-inf)-edge maximum filter, ties
    and arrays shorter than the window included (the peak test is ``spec == local max``)."""
    from scipy.ndimage import maximum_filter1d

    from dj_pipeline.fingerprint.landmarks import running_max

    rng = np.random.default_rng(size)
    for shape in [(50, 40), (3, 7), (1, 1)]:
        x = rng.integers(0, 6, shape).astype(np.float32)  # few levels: many ties
        for axis in (0, 1):
            want = maximum_filter1d(x, size | 1, axis=axis, mode="constant", cval=-np.inf)
            assert np.array_equal(running_max(x, size, axis), want)
