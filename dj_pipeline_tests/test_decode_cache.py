"""The per-batch decode cache: later passes read the first pass's samples (identical blocks, no
second decode), windows are read as without it, damage and a full budget fall back to decoding."""

import os
import threading

import numpy as np
import pytest
import soundfile as sf

import dj_pipeline.audio.io as audio_io
from dj_pipeline.audio import AudioDecodeError, iter_blocks
from dj_pipeline.audio.decode_cache import FOLDER_PREFIX, TRASH_MARK, active_cache, decode_cache, remove_in_background
from dj_pipeline.windows import Window, read_windows

SR = 11025
BLOCK_S = 4.0
WINDOWS = [Window("main", 2.0, 6.0), Window("outro", 8.5, 10.5)]


@pytest.fixture()
def track(tmp_path):
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal(int(SR * 10.5))).astype(np.float32)  # 2 full blocks and a short one
    path = tmp_path / "t.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    return path, y


def _blocks(path):
    return [(s, b.copy()) for s, b in iter_blocks(path, SR, block_s=BLOCK_S)]


def _count_decodes(monkeypatch):
    calls = []
    real = audio_io.load_audio

    def counting(*a, **k):
        calls.append(a[0])
        return real(*a, **k)

    monkeypatch.setattr(audio_io, "load_audio", counting)
    return calls


def test_the_second_pass_reads_the_first_pass_samples(track, tmp_path, monkeypatch):
    path, y = track
    plain = _blocks(path)
    calls = _count_decodes(monkeypatch)
    with decode_cache(tmp_path / "scratch", SR, max_mb=64) as folder:
        first = _blocks(path)
        n_first = len(calls)
        second = _blocks(path)
        assert len(calls) == n_first == 3  # one decode per block, by the first pass only
        windows = read_windows(path, WINDOWS, SR)
    assert [s for s, _ in first] == [s for s, _ in second] == [0.0, 4.0, 8.0]
    for (_, a), (_, b), (_, c) in zip(plain, first, second):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    plain_windows = read_windows(path, WINDOWS, SR)  # features must not depend on the cache
    assert all(np.array_equal(windows[k], plain_windows[k]) for k in plain_windows)
    assert np.allclose(windows["main"], y[2 * SR : 6 * SR]) and windows["outro"].size == 2 * SR
    assert not folder.exists() and active_cache(SR) is None  # removed, environment restored


def test_other_rates_and_no_cache_decode_as_before(track, tmp_path, monkeypatch):
    path, _ = track
    calls = _count_decodes(monkeypatch)
    with decode_cache(tmp_path / "scratch", SR, max_mb=64):
        list(iter_blocks(path, 22050, block_s=BLOCK_S))
        list(iter_blocks(path, 22050, block_s=BLOCK_S))
    assert len(calls) == 6
    with decode_cache(tmp_path / "scratch", SR, max_mb=0) as folder:
        assert folder is None and active_cache(SR) is None


def test_a_damaged_entry_is_decoded_again(track, tmp_path, monkeypatch):
    path, _ = track
    plain = _blocks(path)
    with decode_cache(tmp_path / "scratch", SR, max_mb=64) as folder:
        _blocks(path)
        entry = next(p for p in folder.iterdir() if p.suffix == "")
        with open(entry, "r+b") as fh:
            fh.truncate(1000)  # bit rot, a full disk mid-write
        calls = _count_decodes(monkeypatch)
        again = _blocks(path)
        assert len(calls) == 3
    for (_, a), (_, b) in zip(plain, again):
        assert np.array_equal(a, b)


def test_past_the_budget_files_are_decoded_each_time(track, tmp_path, monkeypatch):
    path, _ = track
    with decode_cache(tmp_path / "scratch", SR, max_mb=1e-6) as folder:
        _blocks(path)  # the first entry fills the (tiny) budget
        other = tmp_path / "u.wav"
        sf.write(other, np.zeros(SR * 6, np.float32) + 0.1, SR)
        calls = _count_decodes(monkeypatch)
        _blocks(other)
        _blocks(other)
        assert len(calls) == 4  # 2 blocks, decoded by both passes
        assert len([p for p in folder.iterdir() if p.suffix == ""]) == 1


def test_a_truncated_file_fails_every_pass_and_is_not_cached(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, np.zeros(SR * 10, np.float32) + 0.1, SR, subtype="PCM_16")
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)
    with decode_cache(tmp_path / "scratch", SR, max_mb=64) as folder:
        for _ in range(2):
            with pytest.raises(AudioDecodeError, match="truncated"):
                _blocks(path)
        assert not [p for p in folder.iterdir() if p.suffix == ""]


def test_the_folder_of_a_killed_ingest_is_removed(tmp_path):
    scratch = tmp_path / "scratch"
    dead = scratch / f"{FOLDER_PREFIX}999999999"
    half_removed = scratch / f"{FOLDER_PREFIX}999999999{TRASH_MARK}0"  # killed while its thread removed it
    alive = scratch / f"{FOLDER_PREFIX}{os.getpid()}{TRASH_MARK}7"  # this process's own, being removed
    for d in (dead, half_removed, alive):
        d.mkdir(parents=True)
        (d / "x").write_bytes(b"0" * 10)
    with decode_cache(scratch, SR, max_mb=64) as folder:
        assert folder.is_dir() and not dead.exists() and not half_removed.exists() and alive.is_dir()


def test_a_finished_cache_is_removed_on_a_thread(track, tmp_path, monkeypatch):
    path, _ = track
    scratch = tmp_path / "scratch"
    with decode_cache(scratch, SR, max_mb=64) as folder:
        _blocks(path)
        assert any(folder.iterdir())
    assert not folder.exists()  # renamed at once: the next batch's cache starts empty
    cleaners = [t for t in threading.enumerate() if t.name == "dj-decode-cache-cleanup"]
    for t in cleaners:
        t.join(timeout=30)
    assert not list(scratch.iterdir())
    blocked = tmp_path / "blocked" / "decoded-1"  # a folder that cannot be renamed is removed in place
    (blocked / "sub").mkdir(parents=True)

    def no_rename(self, target):  # noqa: ANN001, ANN202
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(blocked), "rename", no_rename)
    assert remove_in_background(blocked) is None and not blocked.exists()


def test_an_envelope_is_computed_once_per_ingest_and_identical(track, tmp_path, monkeypatch):
    """The windows and the structure stage both take a file's envelope: inside the cache the
    second gets the first one's arrays (bit for bit, no decode); a damaged entry is recomputed."""
    import dj_pipeline.windows.envelope as envelope
    from dj_pipeline.config.windows import EnvelopeConfig

    path, _ = track
    config = EnvelopeConfig(sr=SR, block_s=BLOCK_S)
    plain = envelope.compute_envelope(path, config)
    computed = []
    real = envelope._envelope_curves
    monkeypatch.setattr(envelope, "_envelope_curves", lambda *a: computed.append(1) or real(*a))
    with decode_cache(tmp_path / "scratch", SR, max_mb=64) as folder:
        first = envelope.compute_envelope(path, config)
        second = envelope.compute_envelope(path, config)
        assert len(computed) == 1
        other = envelope.compute_envelope(path, EnvelopeConfig(sr=SR, block_s=BLOCK_S, hop_length=256))  # other settings: own entry
        assert len(computed) == 2 and other.onset.size > 1.9 * first.onset.size
        for entry in folder.glob("*.memo"):
            entry.write_bytes(b"damaged")
        third = envelope.compute_envelope(path, config)
        assert len(computed) == 3
    for env in (first, second, third):
        assert env.duration_s == plain.duration_s and env.fps == plain.fps
        assert all(np.array_equal(getattr(env, k), getattr(plain, k)) for k in ("onset", "rms_db", "low_db"))
    envelope.compute_envelope(path, config)  # outside an ingest: always computed
    assert len(computed) == 4


def test_windows_are_decoded_once_for_every_rate_and_equal_a_plain_read(track, tmp_path, monkeypatch):
    """The features (analysis rate) and the embedder (its own rate) read the same windows: inside an
    ingest the spans are decoded once at the file's rate, and each rate gets the samples a read
    without the cache gives, bit for bit; past the budget nothing is saved; damage is decoded again."""
    import dj_pipeline.windows.read as window_read

    path = track[0].with_suffix(".flac")  # compressed: worth a cache entry (a WAV span is simply read again)
    sf.write(path, track[1], SR)
    plain = {sr: read_windows(path, WINDOWS, sr) for sr in (SR, 22050, 8000)}
    calls = []
    real = window_read.decode_span
    monkeypatch.setattr(window_read, "decode_span", lambda *a, **k: calls.append(a[1:]) or real(*a, **k))
    with decode_cache(tmp_path / "scratch", SR, max_mb=64) as folder:
        cached = {sr: read_windows(path, WINDOWS, sr) for sr in (SR, 22050, 8000)}
        assert sorted(calls) == [(2.0, 4.0), (8.5, 2.0)]  # two spans, once each
        for entry in folder.glob("*.memo"):
            with open(entry, "r+b") as fh:
                fh.truncate(entry.stat().st_size // 2)  # a full disk mid-write, a killed copy
        again = read_windows(path, WINDOWS, 22050)
        assert len(calls) == 4
    for sr, windows in plain.items():
        assert windows.keys() == cached[sr].keys() and all(np.array_equal(windows[k], cached[sr][k]) for k in windows)
        assert windows["main"].size == 4 * sr
    assert all(np.array_equal(plain[22050][k], again[k]) for k in again)
    with decode_cache(tmp_path / "scratch", SR, max_mb=1e-6) as folder:
        _blocks(path)  # the samples fill the (tiny) budget: spans are decoded by every reader
        read_windows(path, WINDOWS, SR)
        read_windows(path, WINDOWS, 22050)
        assert len(calls) == 8 and not list(folder.glob("*.memo"))
    with decode_cache(tmp_path / "scratch", SR, max_mb=64) as folder:
        read_windows(track[0], WINDOWS, SR)  # a WAV: read again by each reader, nothing saved
        assert len(calls) == 10 and not list(folder.glob("*.memo"))


def test_a_file_that_cannot_be_read_is_computed_and_not_saved(tmp_path):
    """A file unplugged mid-ingest: no cache entry can be named for it, so the computation runs
    (and raises what it raises) instead of the cache failing on its own."""
    from dj_pipeline.audio.decode_cache import memoized

    gone = tmp_path / "gone.flac"
    with decode_cache(tmp_path / "scratch", SR, max_mb=64) as folder:
        assert memoized(gone, "tag", lambda: {"x": np.arange(3)})["x"].tolist() == [0, 1, 2]
        with pytest.raises(AudioDecodeError, match="does not exist"):
            read_windows(gone, WINDOWS, SR)
        assert not any(folder.iterdir())


def test_the_cache_takes_at_most_half_the_free_space(tmp_path, monkeypatch):
    """A large budget on a small disk: the cache keeps half the free space for the ingest's outputs,
    and on a nearly full disk there is no cache at all (files are decoded by each pass)."""
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**12, 0, 1000 * 10**6))  # 1 GB free
    with decode_cache(tmp_path / "scratch", SR, max_mb=4096) as folder:
        assert folder is not None and active_cache(SR).max_bytes == 500 * 10**6
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**12, 0, 100 * 10**6))  # 100 MB free
    with decode_cache(tmp_path / "scratch", SR, max_mb=4096) as folder:
        assert folder is None and active_cache(SR) is None
